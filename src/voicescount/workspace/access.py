"""The study (or organisation) a workspace page is about, found for the signed-in user.

Every workspace view starts here: a study the user may not see is a 404 (its existence is not
revealed), an action the user may not take is a 403 naming it (``accounts.permissions.require``).
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from voicescount.accounts.models import Organisation
from voicescount.accounts.permissions import Action, actions_for, require, visible_organisation_ids
from voicescount.collection.models import Study


def study_for(user, slug: str, action: Action | None = None) -> Study:
    """The study ``slug`` if ``user`` may see its organisation's records (and take ``action`` on it)."""
    study = (
        Study.objects.select_related("organisation")
        .filter(slug=slug, organisation_id__in=workspace_organisation_ids(user))
        .first()
    )
    if study is None:
        raise Http404(_("No study has the short name %(slug)s.") % {"slug": slug})
    if action is not None:
        require(user, action, study.organisation)
    return study


def organisation_for(user, slug: str, action: Action | None = None) -> Organisation:
    """The organisation ``slug`` if ``user`` holds a role in it (and may take ``action``)."""
    organisation = Organisation.objects.filter(slug=slug, pk__in=workspace_organisation_ids(user)).first()
    if organisation is None:
        raise Http404(_("No organisation has the short name %(slug)s.") % {"slug": slug})
    if action is not None:
        require(user, action, organisation)
    return organisation


def workspace_organisation_ids(user) -> set[int]:
    """Organisations where ``user`` may do anything: every role's, enumerators' included."""
    if user is None or not user.is_authenticated:
        return set()
    ids = visible_organisation_ids(user)
    ids |= set(user.memberships.values_list("organisation_id", flat=True))
    return ids


def allowed(user, organisation: Organisation) -> set[str]:
    """The names of the actions ``user`` may take there, for templates (``"publish" in can``)."""
    return {a.value for a in actions_for(user, organisation)}
