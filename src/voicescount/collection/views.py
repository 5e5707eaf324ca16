"""Study pages (methodology, coverage, consent) and the coordinators' import page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from voicescount.accounts.permissions import Action, has_permission
from voicescount.collection import importing, jobs
from voicescount.collection.models import ImportJob, Study
from voicescount.collection.uploads import UnnamedFileUploadHandler

MAX_UPLOAD_BYTES = 2 * 1024**3


def _visible_study(request, slug: str) -> Study:
    study = Study.objects.visible_to(request.user).select_related("organisation").filter(slug=slug).first()
    if study is None:
        raise Http404(_("No study has the short name %(slug)s.") % {"slug": slug})
    return study


@require_safe
def study_list(request):
    studies = Study.objects.visible_to(request.user).select_related("organisation").prefetch_related("areas")
    return render(request, "collection/study_list.html", {"studies": studies})


@require_safe
def study_detail(request, slug: str):
    study = _visible_study(request, slug)
    can_import = has_permission(request.user, Action.IMPORT, study.organisation)
    context = {
        "study": study,
        "instruments": study.instruments.all(),
        "can_import": can_import,
        "batches": study.batches.all()[:20] if can_import else [],
        "accepted": study.submissions.in_analysis().count(),
    }
    return render(request, "collection/study_detail.html", context)


class ImportForm(forms.Form):
    instrument = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Instrument (form version)"))
    format = forms.ChoiceField(
        choices=[("auto", gettext_lazy("Detect from the file")), *importing.FORMAT_CHOICES],
        label=gettext_lazy("Format"),
    )
    file = forms.FileField(label=gettext_lazy("Export file"))

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument"].queryset = study.instruments.all()


@csrf_exempt  # checked by _import_page: the upload handler must be in place before the form is read
def import_page(request, slug: str):
    """The coordinators' upload page; the file goes to an unnamed temporary file (``uploads``)."""
    request.upload_handlers = [UnnamedFileUploadHandler(request)]
    return _import_page(request, slug)


@csrf_protect
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def _import_page(request, slug: str):
    study = _importable_study(request, slug)
    form = ImportForm(request.POST or None, request.FILES or None, study=study)
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with upload:
            if upload.size > MAX_UPLOAD_BYTES:
                error = _("The file is larger than 2 GB; import it with the command line instead.")
            else:
                job = jobs.enqueue_import(
                    study, form.cleaned_data["instrument"], upload, form.cleaned_data["format"], request.user
                )
                return redirect("collection:import_job", slug=study.slug, job_id=job.pk)
    status = 400 if error else 200
    context = {"study": study, "form": form, "error": error, "jobs": study.import_jobs.all()[:10]}
    return render(request, "collection/import.html", context, status=status)


def _importable_study(request, slug: str) -> Study:
    study = _visible_study(request, slug)
    if not has_permission(request.user, Action.IMPORT, study.organisation):
        raise PermissionDenied(_("You may not import data for %(org)s.") % {"org": study.organisation.name})
    return study


def _job_context(request, slug: str, job_id: int) -> dict:
    study = _importable_study(request, slug)
    job = get_object_or_404(ImportJob.objects.select_related("batch"), pk=job_id, study=study)
    status = jobs.job_status(job)
    batch = status.job.batch
    return {"study": study, "status": status, "job": status.job, "report": batch.report if batch else None}


@login_required
@require_safe
def import_job_page(request, slug: str, job_id: int):
    """A background import: its progress while it runs (polled by htmx), then the batch report."""
    return render(request, "collection/import_job.html", _job_context(request, slug, job_id))


@login_required
@require_safe
def import_job_progress(request, slug: str, job_id: int):
    """The part of the job page that htmx fetches every second until the job has ended."""
    return render(request, "collection/_import_job_progress.html", _job_context(request, slug, job_id))
