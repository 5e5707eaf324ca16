"""Reading who a person is on the site: their memberships, worded for the page's language."""

from __future__ import annotations

from dataclasses import dataclass

from voicescount.accounts.models import Membership, Organisation, Role


@dataclass(frozen=True)
class HeldRole:
    """One role a person holds, as the account page names it."""

    organisation: str
    role: str
    coalition: str


def organisation_name(organisation: Organisation, language: str) -> str:
    """The organisation's name in ``language`` ('en' uses the English name when there is one)."""
    if language == "en" and organisation.name_en:
        return organisation.name_en
    return organisation.name


def roles_held(user, language: str) -> list[HeldRole]:
    """Every role ``user`` holds, organisation by organisation (alphabetical), in ``language``."""
    if user is None or not user.is_authenticated:
        return []
    memberships = Membership.objects.filter(user=user).select_related("organisation__coalition")
    held = [
        HeldRole(
            organisation=organisation_name(m.organisation, language),
            role=str(Role(m.role).label),
            coalition=m.organisation.coalition.name_en
            if language == "en" and m.organisation.coalition.name_en
            else m.organisation.coalition.name,
        )
        for m in memberships
    ]
    return sorted(held, key=lambda h: (h.organisation.casefold(), h.role))
