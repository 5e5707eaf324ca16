"""The workspace's home (the user's organisations and studies) and a study's hub (its workflow)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from voicescount.accounts.models import Organisation
from voicescount.collection.models import QuarantinedRecord, Study
from voicescount.workspace.access import allowed, study_for, workspace_organisation_ids


@login_required
@require_safe
def home(request):
    ids = workspace_organisation_ids(request.user)
    organisations = [
        {
            "organisation": organisation,
            "can": allowed(request.user, organisation),
            "studies": Study.objects.filter(organisation=organisation).order_by("-period_start", "title_en"),
        }
        for organisation in Organisation.objects.filter(pk__in=ids)
        .select_related("coalition")
        .order_by("name")
    ]
    return render(request, "workspace/home.html", {"organisations": organisations})


@login_required
@require_safe
def study(request, slug: str):
    study = study_for(request.user, slug)
    can = allowed(request.user, study.organisation)
    context = {
        "study": study,
        "can": can,
        "instruments": study.instruments.all(),
        "accepted": study.submissions.in_analysis().count() if "view" in can else None,
        "quarantined": (
            study.quarantine.filter(status=QuarantinedRecord.Status.OPEN).count() if "view" in can else None
        ),
        "definitions": study.indicator_definitions.count(),
    }
    return render(request, "workspace/study.html", context)
