"""Study pages (methodology, coverage, consent) and the coordinators' import page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from voicescount.accounts.permissions import Action, has_permission
from voicescount.collection import batches, importing
from voicescount.collection.checking import checker_for
from voicescount.collection.errors import CollectionError
from voicescount.collection.models import Study
from voicescount.collection.uploads import UnnamedFileUploadHandler, UnnamedUploadedFile

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
    study = _visible_study(request, slug)
    if not has_permission(request.user, Action.IMPORT, study.organisation):
        raise PermissionDenied(_("You may not import data for %(org)s.") % {"org": study.organisation.name})
    form = ImportForm(request.POST or None, request.FILES or None, study=study)
    report = error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            error = _("The file is larger than 2 GB; import it with the command line instead.")
        else:
            report, error = _import_upload(request, form.cleaned_data, upload)
    status = 400 if error else 200
    context = {"study": study, "form": form, "report": report, "error": error}
    return render(request, "collection/import.html", context, status=status)


def _import_upload(request, data, upload: UnnamedUploadedFile):
    with upload:
        path = upload.readable_path()
        fmt = data["format"]
        try:
            if fmt == "auto":
                fmt = importing.detect_format(path, upload.name)
            questions = [q["path"] for q in data["instrument"].definition.get("questions", [])]
            records = importing.read_records(path, fmt, display_name=upload.name, questions=questions)
            report = batches.import_records(
                data["instrument"],
                records,
                checker=checker_for(data["instrument"]),
                source=fmt,
                filename=upload.name,
                file_sha256=upload.sha256,
                user=request.user,
                workers=batches.import_workers(),
                form_check=batches.form_check_for(data["instrument"], upload.name),
            )
        except CollectionError as exc:
            return None, str(exc)
    return report, None
