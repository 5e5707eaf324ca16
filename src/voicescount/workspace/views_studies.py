"""Creating a study and editing its methodology: the guided form (``study_forms.StudyForm``) on one page.

The views only find the organisation or study (``workspace.access``), show the form and hand its input to
``collection.study_service``; a study another organisation owns is a 404, a role that may not edit a 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from voicescount.accounts.models import Organisation
from voicescount.accounts.permissions import Action, has_permission
from voicescount.collection import study_service
from voicescount.collection.models import Study
from voicescount.workspace.access import allowed, organisation_for, study_for, workspace_organisation_ids
from voicescount.workspace.study_forms import StudyForm


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def study_new(request):
    slug = request.GET.get("organisation", "")
    if slug:
        organisation = organisation_for(request.user, slug, Action.EDIT)
    else:
        editable = [
            organisation
            for organisation in Organisation.objects.filter(pk__in=workspace_organisation_ids(request.user))
            .select_related("coalition")
            .order_by("name")
            if has_permission(request.user, Action.EDIT, organisation)
        ]
        if not editable:
            raise PermissionDenied(_("You may not create studies in any organisation."))
        if len(editable) > 1:
            return render(request, "workspace/study_new_choose.html", {"organisations": editable})
        organisation = editable[0]
    form = StudyForm(
        request.POST if request.method == "POST" else None,
        instance=Study(organisation=organisation),
        organisation=organisation,
        user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            study = study_service.create_study(organisation, form.study_data(), by=request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("The study “%(title)s” is created.") % {"title": _title(study)})
            return redirect("workspace:study", slug=study.slug)
    return render(
        request,
        "workspace/study_form.html",
        {"form": form, "organisation": organisation, "can": allowed(request.user, organisation)},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def study_edit(request, slug: str):
    study = study_for(request.user, slug, Action.EDIT)
    # The form works on a copy: an invalid input must not show up as the study's title in the page's nav.
    form = StudyForm(
        request.POST if request.method == "POST" else None,
        instance=Study.objects.get(pk=study.pk),
        organisation=study.organisation,
        user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = study_service.update_study(study, form.study_data(), by=request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if changed:
                messages.success(
                    request,
                    _("Saved: %(fields)s.") % {"fields": ", ".join(study_service.changed_names(changed))},
                )
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("workspace:study", slug=study.slug)
    return render(
        request,
        "workspace/study_form.html",
        {
            "form": form,
            "study": study,
            "organisation": study.organisation,
            "can": allowed(request.user, study.organisation),
        },
    )


def _title(study: Study) -> str:
    return (study.title_vi if get_language() == "vi" else "") or study.title_en
