"""A study's results in the workspace: compute (a background job), review the drafts, preview the public
page, publish or unpublish.

Each definition is shown with its latest run (a draft until published) and the run the public sees
(``publishing.selectors``). Members who may view the organisation see the page and the previews;
analysts and coordinators (``Action.COMPUTE``) start a computation; only coordinators
(``Action.PUBLISH``) publish and unpublish (``indicators.publication``). The views are thin: the job is
``indicators.compute_jobs``, the rule of what is public ``publishing.selectors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from voicescount.accounts.permissions import Action
from voicescount.collection.models import Study
from voicescount.indicators import compute_jobs, publication
from voicescount.indicators.models import ComputeJob, Estimate, EstimateRun, IndicatorDefinition
from voicescount.publishing import evidence, selectors
from voicescount.publishing import views as public_views
from voicescount.workspace.access import allowed, study_for


@dataclass(frozen=True)
class ResultRow:
    """One definition on the results page: its latest run, the run published, their totals."""

    definition: IndicatorDefinition
    latest: EstimateRun | None
    latest_total: Estimate | None
    published: EstimateRun | None
    published_total: Estimate | None

    @property
    def percent(self) -> bool:
        return self.definition.kind == IndicatorDefinition.Kind.PROPORTION and self.definition.unit == "PT"

    @property
    def state(self) -> str:
        """The latest run's: "public" (the run published), "draft" (never published) or "not public"
        (published before, then unpublished or replaced by another run published after it)."""
        if self.latest is None:
            return ""
        if self.published is not None and self.latest.pk == self.published.pk:
            return "public"
        return "draft" if self.latest.published is None else "not public"

    @property
    def outdated(self) -> bool:
        """The latest run was computed from an earlier version of the definition: compute again."""
        return self.latest is not None and self.latest.definition_version != self.definition.version


def result_rows(study: Study) -> list[ResultRow]:
    """Every definition of ``study`` with its latest and its published run and their totals: three queries.

    The published run is shown while the definition is public, even if the study is not (yet): it is the
    one the public sees once the study is published."""
    latest = EstimateRun.objects.filter(definition=OuterRef("pk")).order_by("-started", "-pk")
    definitions = list(
        selectors.with_last_published_run_id(study.indicator_definitions.select_related("indicator", "study"))
        .annotate(latest_run_id=Subquery(latest.values("pk")[:1]))
        .order_by("code")
    )
    ids = {d.latest_run_id for d in definitions} | {d.last_published_run_id for d in definitions}
    ids.discard(None)
    runs = {
        r.pk: r for r in EstimateRun.objects.filter(pk__in=ids).select_related("published_by", "created_by")
    }
    totals = {e.run_id: e for e in Estimate.objects.filter(run_id__in=ids, key="_T")}
    rows = []
    for d in definitions:
        published = runs.get(d.last_published_run_id) if d.is_public else None
        latest_run = runs.get(d.latest_run_id)
        rows.append(
            ResultRow(
                d,
                latest_run,
                totals.get(d.latest_run_id),
                published,
                totals.get(published.pk) if published else None,
            )
        )
    return rows


@login_required
@require_safe
def results(request, slug: str):
    """The study's definitions with their latest (draft) and published runs, and the actions."""
    study = study_for(request.user, slug, Action.VIEW)
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "rows": result_rows(study),
        "jobs": study.compute_jobs.select_related("user")[:5],
    }
    return render(request, "workspace/results.html", context)


@login_required
@require_POST
def compute(request, slug: str):
    """Queue the computation of the study's definitions (what changed, or everything) and show the job."""
    study = study_for(request.user, slug, Action.COMPUTE)
    codes = [code for code in request.POST.getlist("code") if code] or None
    try:
        job = compute_jobs.enqueue_compute(study, request.user, codes, force=request.POST.get("force") == "1")
    except compute_jobs.UnknownDefinition as exc:
        messages.error(request, str(exc))
        return redirect("workspace:results", slug=study.slug)
    return redirect("workspace:compute-job", slug=study.slug, job_id=job.pk)


@login_required
@require_safe
def compute_job(request, slug: str, job_id: int):
    """A computation: its progress while it runs (htmx asks for the fragment every second), then its runs."""
    study = study_for(request.user, slug, Action.VIEW)
    job = get_object_or_404(ComputeJob.objects.select_related("user"), pk=job_id, study=study)
    status = compute_jobs.job_status(job)
    runs = (
        status.job.runs.select_related("definition").order_by("definition__code") if status.job.ended else []
    )
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "status": status,
        "job": status.job,
    }
    context["runs"] = runs
    template = (
        "workspace/_results_job.html" if request.headers.get("HX-Request") else "workspace/results_job.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def publish(request, slug: str, run_id: int):
    """Publish a run of the study (coordinators): the public pages show it from now on."""
    study = study_for(request.user, slug, Action.PUBLISH)
    run = get_object_or_404(
        EstimateRun.objects.select_related("definition__study"), pk=run_id, definition__study=study
    )
    try:
        publication.publish(run, request.user)
    except publication.PublicationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Published: %(definition)s. The public pages show this run now.")
            % {"definition": run.definition.code},
        )
    return redirect("workspace:results", slug=study.slug)


@login_required
@require_POST
def unpublish(request, slug: str, code: str):
    """Take a definition off the public site (coordinators); its runs are kept."""
    study = study_for(request.user, slug, Action.PUBLISH)
    definition = get_object_or_404(
        IndicatorDefinition.objects.select_related("study"), study=study, code=code
    )
    try:
        publication.unpublish(definition, request.user)
    except publication.PublicationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Unpublished: %(definition)s. The public pages no longer show it.")
            % {"definition": definition.code},
        )
    return redirect("workspace:results", slug=study.slug)


@login_required
@require_safe
def run_preview(request, slug: str, run_id: int):
    """The public indicator page as it will be once ``run`` is published, marked as a preview and never
    indexed: for members who may view the organisation's records. ``?by=`` gives another breakdown of
    the run (the page's picker, also as the htmx fragment)."""
    study = study_for(request.user, slug, Action.VIEW)
    run = get_object_or_404(
        EstimateRun.objects.select_related("definition__study__organisation", "definition__indicator"),
        pk=run_id,
        definition__study=study,
    )
    indicator = run.definition.indicator
    if "by" in request.GET:
        table = public_views.breakdown_table(run, request.GET["by"])
        if table is None:
            raise Http404(_("This breakdown is not available; choose one from the list."))
        if request.headers.get("HX-Request"):
            return _noindex(
                render(request, "publishing/_breakdown.html", {"table": table, "code": indicator.code})
            )
    else:
        table = None

    def preview_url(shown: EstimateRun) -> str:
        if shown.pk == run.pk:
            return request.path
        return reverse("publishing:breakdown", kwargs={"code": indicator.code, "run_id": shown.pk})

    context = public_views.indicator_page_context(
        indicator, evidence.evidence_for(indicator, draft=run), request.user, breakdown_url=preview_url
    )
    if table is not None:
        for block in context["blocks"]:
            if block["item"].run.pk == run.pk:
                block["table"] = table
    public = selectors.published_run(run.definition)
    context.update(
        {
            "preview": run,
            "study": study,
            "is_public_run": public is not None and public.pk == run.pk,
            "can": allowed(request.user, study.organisation),
        }
    )
    return _noindex(render(request, "workspace/results_preview.html", context))


def _noindex(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response
