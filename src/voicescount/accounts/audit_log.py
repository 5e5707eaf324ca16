"""Reading an organisation's audit log: who did what, when, to its members and its studies' data.

An entry belongs to the organisation when it names the organisation (member changes) or one of its
studies (imports, quarantine, consent, definitions, runs…). Each is described in plain words in the
active language; an action this module does not know is shown by its stored name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from voicescount.accounts.members import role_label
from voicescount.accounts.models import Organisation
from voicescount.collection.models import AuditEntry, Study

PER_PAGE = 50

# action → (what was done, in plain words; the same with the entry's details, or None). The detailed text
# is used when every detail it names is in the entry.
DESCRIPTIONS: dict[str, tuple[str, str | None]] = {
    "member_added": (_("Added a member"), _("Added %(username)s as %(role)s")),
    "role_changed": (
        _("Changed a member's role"),
        _("Changed the role of %(username)s from %(from)s to %(to)s"),
    ),
    "member_removed": (_("Removed a member"), _("Removed %(username)s from the role %(role)s")),
    "invitation_sent": (_("Sent an invitation again"), _("Sent %(username)s a new invitation")),
    "import": (
        _("Imported submissions"),
        _(
            "Imported %(received)s records: %(accepted)s accepted, %(quarantined)s held in quarantine, "
            "%(duplicates)s duplicates"
        ),
    ),
    "quarantine_accepted": (_("Accepted a record held in quarantine"), None),  # entries before the workspace
    "quarantine_fixed": (_("Fixed a record held in quarantine"), None),
    "quarantine_discarded": (_("Discarded a record held in quarantine"), None),
    "quarantine_revalidated": (
        _("Checked the records held in quarantine again"),
        _("Checked %(checked)s held records again: %(accepted)s accepted, %(held)s still held"),
    ),
    "consent_withdrawn": (
        _("Recorded that a respondent withdrew consent"),
        _("Recorded that a respondent withdrew consent (%(submissions)s submissions left the analysis)"),
    ),
    "study_consent_recorded": (_("Recorded how the study obtained consent"), None),
    "definition_saved": (
        _("Saved an indicator definition"),
        _("Saved the indicator definition %(code)s (version %(version)s)"),
    ),
    "run_published": (_("Published results"), _("Published the results of %(definition)s")),
    "run_unpublished": (
        _("Withdrew published results"),
        _("Withdrew the published results of %(definition)s"),
    ),
    "compute_queued": (_("Asked for the estimates to be computed"), None),
    "study_created": (_("Created the study"), None),
    "study_updated": (_("Changed the study's description"), None),
    "instrument_added": (
        _("Added a form"),
        _("Added the form %(form_id)s (version %(version)s)"),
    ),
    "voice_source_added": (_("Added a qualitative source"), None),
    "excerpt_consent_changed": (_("Changed what may be published of an excerpt"), None),
    "excerpt_reviewed": (_("Reviewed an excerpt for publication"), None),
    "server_connection_created": (_("Connected the study to a data collection server"), None),
    "server_connection_removed": (_("Removed a data collection server from the study"), None),
    "server_push_secret_made": (_("Made a new push secret for a KoboToolbox server"), None),
    "server_pull_requested": (_("Asked for a pull of new submissions from a server"), None),
    "official_imported": (
        _("Imported official statistics"),
        _("Imported %(rows)s rows of official statistics (%(skipped)s skipped)"),
    ),
}
ROLE_DETAILS = ("role", "from", "to")


@dataclass(frozen=True)
class LoggedAction:
    """One line of the audit log as the page shows it."""

    at: datetime
    actor: str  # username, or "" when the account is gone or a job acted
    action: str
    description: str
    study: Study | None


def entries_of(organisation: Organisation, *, action: str = "", study: Study | None = None) -> QuerySet:
    """The organisation's audit entries, newest first; only ``action``'s, only ``study``'s if given."""
    entries = AuditEntry.objects.filter(Q(organisation=organisation) | Q(study__organisation=organisation))
    if action:
        entries = entries.filter(action=action)
    if study is not None:
        entries = entries.filter(study=study)
    return entries.select_related("actor", "study").order_by("-at", "-pk")


def describe(entry: AuditEntry) -> str:
    """What the entry records, in plain words in the active language."""
    plain, detailed = DESCRIPTIONS.get(entry.action, (entry.action, None))
    details = entry.details if isinstance(entry.details, dict) else {}
    if detailed is not None:
        values = {k: role_label(v) if k in ROLE_DETAILS else v for k, v in details.items()}
        try:
            return str(detailed) % values
        except (KeyError, TypeError, ValueError):
            pass
    return str(plain)


def action_label(action: str) -> str:
    """The action's short plain name for the filter (its stored name if unknown)."""
    return str(DESCRIPTIONS.get(action, (action, None))[0])


def actions_in_log(organisation: Organisation) -> list[tuple[str, str]]:
    """(action, label) of every action the organisation's log holds, for the filter; by label."""
    names = set(entries_of(organisation).order_by().values_list("action", flat=True).distinct())
    return sorted(((name, action_label(name)) for name in names), key=lambda pair: pair[1].casefold())


def audit_page(
    organisation: Organisation, *, action: str = "", study: Study | None = None, page: object = 1
) -> Page:
    """One page (``PER_PAGE`` entries) of the log as :class:`LoggedAction`; a bad page number is the last
    or first page (Paginator.get_page)."""
    paginator = Paginator(entries_of(organisation, action=action, study=study), PER_PAGE)
    current = paginator.get_page(page)
    current.object_list = [
        LoggedAction(
            at=entry.at,
            actor=entry.actor.get_username() if entry.actor else "",
            action=entry.action,
            description=describe(entry),
            study=entry.study,
        )
        for entry in current.object_list
    ]
    return current
