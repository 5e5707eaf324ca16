"""The former indicators page of a study (now the workspace's results page, ``workspace.views_results``),
and the download of a definition's reproduction pack (``indicators.reproduction``) for those who may
reproduce it: the latest run for members who may compute, the published run for reviewers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from voicescount.accounts.permissions import Action, actions_for, has_permission
from voicescount.collection.models import Study
from voicescount.indicators.compute_jobs import enqueue_compute
from voicescount.indicators.reproduction import ReproductionError, build_pack, latest_pack_run, pack_filename


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def study_indicators(request, slug: str):
    """The former indicators page, which computed and so published at once: it now leads to the
    workspace's results page, where a computation makes drafts for a coordinator to publish. A POST (the
    old page's form) queues that computation and shows its job."""
    study = Study.objects.visible_to(request.user).select_related("organisation").filter(slug=slug).first()
    if study is None:
        raise Http404(_("No study has the short name %(slug)s.") % {"slug": slug})
    if request.method != "POST":
        return redirect("workspace:results", slug=study.slug)
    if not has_permission(request.user, Action.COMPUTE, study.organisation):
        raise PermissionDenied(
            _("You may not compute indicators for %(org)s.") % {"org": study.organisation.name}
        )
    job = enqueue_compute(study, request.user, force=request.POST.get("force") == "1")
    return redirect("workspace:compute-job", slug=study.slug, job_id=job.pk)


@login_required
@require_http_methods(["GET", "HEAD"])
def reproduction_pack(request, slug: str, code: str):
    """The reproduction pack (a zip of microdata, never public) of a definition's run: the latest for
    members who may compute (a draft can be checked before it is published), the published one for
    reviewers; for members who may reproduce the study's estimates; another organisation's study is not
    found (404)."""
    study = Study.objects.select_related("organisation").filter(slug=slug).first()
    if study is None or not actions_for(request.user, study.organisation):
        raise Http404(_("No study has the short name %(slug)s.") % {"slug": slug})
    if not has_permission(request.user, Action.REPRODUCE, study.organisation):
        raise PermissionDenied(
            _("You may not download reproduction packs of %(org)s.") % {"org": study.organisation.name}
        )
    if not study.indicator_definitions.filter(code=code).exists():
        raise Http404(_("The study has no indicator definition %(code)s.") % {"code": code})
    try:
        drafts = has_permission(request.user, Action.COMPUTE, study.organisation)
        run = latest_pack_run(study, code, drafts=drafts)
        content = build_pack(run)
    except ReproductionError as exc:  # not computed, or its inputs changed since: compute again
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack_filename(run)}"'
    response["Cache-Control"] = "private, no-store"
    return response
