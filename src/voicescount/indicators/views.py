"""The coordinators' indicators page of a study: its definitions and derived variables, the latest run of
each, and the action that computes them (only what changed, or everything)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from voicescount.accounts.permissions import Action, has_permission
from voicescount.collection.models import Study
from voicescount.indicators.compute import compute_study, latest_run


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def study_indicators(request, slug: str):
    study = Study.objects.visible_to(request.user).select_related("organisation").filter(slug=slug).first()
    if study is None:
        raise Http404(_("No study has the short name %(slug)s.") % {"slug": slug})
    if not has_permission(request.user, Action.COMPUTE, study.organisation):
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
    }
    status = 400 if outcome and outcome["errors"] else 200
    return render(request, "indicators/study_indicators.html", context, status=status)
