"""The coordinators' indicators page of a study: its definitions and derived variables, the latest run of
each, and the action that computes them (only what changed, or everything); and the download of a
definition's reproduction pack (``indicators.reproduction``) for those who may reproduce it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from voicescount.accounts.permissions import Action, actions_for, has_permission
from voicescount.collection.models import Study
from voicescount.indicators.compute import compute_study, latest_run
from voicescount.indicators.reproduction import ReproductionError, build_pack, latest_pack_run, pack_filename


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def study_indicators(request, slug: str):
    study = Study.objects.visible_to(request.user).select_related("organisation").filter(slug=slug).first()
    if study is None:
        raise Http404(_("No study has the short name %(slug)s.") % {"slug": slug})
    may_compute = has_permission(request.user, Action.COMPUTE, study.organisation)
    may_reproduce = has_permission(request.user, Action.REPRODUCE, study.organisation)
    # NSO reviewers may not compute but come here for the reproduction packs: the page, without its form
    if not may_compute and not (may_reproduce and request.method in ("GET", "HEAD")):
        raise PermissionDenied(
            _("You may not compute indicators for %(org)s.") % {"org": study.organisation.name}
        )
    outcome = None
    if request.method == "POST":
        errors: list[dict[str, str]] = []
        runs = compute_study(
            study,
            force=request.POST.get("force") == "1",
            user=request.user,
            on_error=lambda definition, exc: errors.append({"code": definition.code, "message": str(exc)}),
        )
        outcome = {
            "computed": sorted(code for code, run in runs.items() if run is not None),
            "unchanged": sorted(code for code, run in runs.items() if run is None),
            "errors": errors,
        }
    definitions = [
        {"definition": d, "run": latest_run(d)}
        for d in study.indicator_definitions.select_related("indicator").order_by("code")
    ]
    context = {
        "study": study,
        "definitions": definitions,
        "derived": study.derived_variables.all(),
        "outcome": outcome,
        "may_compute": may_compute,
        "may_reproduce": may_reproduce,
    }
    status = 400 if outcome and outcome["errors"] else 200
    return render(request, "indicators/study_indicators.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD"])
def reproduction_pack(request, slug: str, code: str):
    """The reproduction pack (a zip of microdata, never public) of the latest run of a definition: for
    members who may reproduce the study's estimates; another organisation's study is not found (404)."""
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
        run = latest_pack_run(study, code)
        content = build_pack(run)
    except ReproductionError as exc:  # not computed, or its inputs changed since: compute again
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack_filename(run)}"'
    response["Cache-Control"] = "private, no-store"
    return response
