"""Who may do what: the one place where permissions are decided.

Rights come from memberships. A role held in an organisation grants its actions on that
organisation's records; ``coalition_admin`` grants every action on every organisation of the
coalition it is held in. Public records are readable by anyone (see ``OwnedQuerySet.visible_to``).
Superusers (Django admin) may do everything.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from voicescount.accounts.models import Membership, Organisation, Role


class Action(StrEnum):
    VIEW = "view"  # read the organisation's non-public records
    SUBMIT = "submit"  # send submissions (field work)
    IMPORT = "import"  # import files and batches of submissions
    EDIT = "edit"  # studies, instruments, indicator definitions
    COMPUTE = "compute"  # run estimates
    REVIEW = "review"  # comment on and endorse a study's methodology and quality
    PUBLISH = "publish"  # make records public
    VIEW_PERSONAL_DATA = "view_personal_data"  # decrypt personal fields of respondents
    REPRODUCE = "reproduce"  # download a definition's reproduction pack (microdata, no personal fields)
    MANAGE_MEMBERS = "manage_members"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.COALITION_ADMIN: frozenset(Action),
    Role.COORDINATOR: frozenset(Action),
    Role.ANALYST: frozenset({Action.VIEW, Action.IMPORT, Action.EDIT, Action.COMPUTE, Action.REPRODUCE}),
    Role.ENUMERATOR: frozenset({Action.SUBMIT}),
    Role.NSO_REVIEWER: frozenset({Action.VIEW, Action.REVIEW, Action.REPRODUCE}),
}


def _memberships(user):
    if user is None or not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("organisation")


def actions_for(user, organisation: Organisation | None) -> frozenset[Action]:
    """Every action ``user`` may take on records of ``organisation``."""
    if user is None or not user.is_authenticated or organisation is None:
        return frozenset()
    if user.is_superuser:
        return frozenset(Action)
    granted: set[Action] = set()
    for m in _memberships(user):
        if m.organisation_id == organisation.pk:
            granted |= ROLE_ACTIONS[m.role]
        elif m.role == Role.COALITION_ADMIN and m.organisation.coalition_id == organisation.coalition_id:
            granted |= ROLE_ACTIONS[m.role]
    return frozenset(granted)


def has_permission(user, action: Action, organisation: Organisation | None) -> bool:
    """True if ``user`` may take ``action`` on records owned by ``organisation``."""
    return action in actions_for(user, organisation)


def require(user, action: Action, organisation: Organisation | None) -> None:
    """Raise ``PermissionDenied`` naming the action unless ``user`` may take it."""
    if not has_permission(user, action, organisation):
        name = organisation.name if organisation else "this record"
        raise PermissionDenied(f"You may not {action.value.replace('_', ' ')} for {name}.")


def can_view_record(user, record) -> bool:
    """A record with ``organisation`` and ``is_public``: public, or the user may VIEW its owner's records."""
    if getattr(record, "is_public", False):
        return True
    return has_permission(user, Action.VIEW, getattr(record, "organisation", None))


def visible_organisation_ids(user) -> set[int]:
    """Organisations whose non-public records ``user`` may read."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Organisation.objects.values_list("pk", flat=True))
    ids: set[int] = set()
    admin_coalitions: set[int] = set()
    for m in _memberships(user):
        if Action.VIEW in ROLE_ACTIONS[m.role]:
            ids.add(m.organisation_id)
        if m.role == Role.COALITION_ADMIN:
            admin_coalitions.add(m.organisation.coalition_id)
    if admin_coalitions:
        ids |= set(
            Organisation.objects.filter(coalition_id__in=admin_coalitions).values_list("pk", flat=True)
        )
    return ids
