"""Who belongs to an organisation, in which role: adding a person (inviting a new one by e-mail), changing a
role, removing a member. Each change is written to the audit log.

Rules, for every caller (workspace pages, CLI, tests):

* only someone who may ``MANAGE_MEMBERS`` on the organisation changes its members (``permissions.require``);
* the ``coalition_admin`` role extends to every organisation of the coalition, so it is granted, changed or
  taken away only by a coalition administrator of that coalition or a superuser;
* an organisation keeps at least one coordinator: its last one can be neither demoted nor removed (not even
  by themselves).

A refused change raises :class:`MemberChangeRefused` (a ``ValidationError`` naming the field to fix) and
changes nothing. Audit details hold user ids, usernames and roles, never an e-mail address or a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.accounts.permissions import Action, require
from voicescount.accounts.selectors import organisation_name
from voicescount.collection.models import AuditEntry

MEMBER_ADDED = "member_added"
ROLE_CHANGED = "role_changed"
MEMBER_REMOVED = "member_removed"
INVITATION_SENT = "invitation_sent"

USERNAME_MAX = 150  # Django's User.username
NAME_MAX = 150  # User.first_name, where the whole name is kept (see _new_user)


class MemberChangeRefused(ValidationError):
    """A change of members that breaks a rule; ``field`` is the form field the person should fix."""

    def __init__(self, field: str, message: str, code: str):
        super().__init__({field: [ValidationError(message, code=code)]})
        self.field = field
        self.message_text = message
        self.code_name = code

    def __str__(self) -> str:
        return f"{self.field}: {self.message_text}"


@dataclass(frozen=True)
class AddedMember:
    """The new membership, and whether an invitation to choose a password was sent (a new account)."""

    membership: Membership
    invited: bool


def role_label(role: str) -> str:
    """The role's name in the active language, or the stored value if it is no role any more."""
    return str(Role(role).label) if role in Role.values else role


def can_grant_coalition_admin(user, organisation: Organisation) -> bool:
    """A superuser, or a coalition administrator of the organisation's coalition."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, role=Role.COALITION_ADMIN, organisation__coalition_id=organisation.coalition_id
    ).exists()


def add_member(
    organisation: Organisation, *, email: str, role: str, by, name: str = "", site_url: str | None = None
) -> AddedMember:
    """Give the person with ``email`` the ``role`` in ``organisation``.

    A person with an account (e-mail compared case-insensitively) gets the role; anyone else gets a new
    account (username from the address, no usable password) and an e-mail with a one-time link to the
    site's set-password page (Django's password-reset token: valid ``PASSWORD_RESET_TIMEOUT``, once).
    ``site_url`` (``https://host``) starts that link; pages pass the request's, other callers get the
    site's first allowed host. A person invited before who has not chosen a password yet is invited
    again. A mail that cannot be sent rolls everything back."""
    require(by, Action.MANAGE_MEMBERS, organisation)
    email = _checked_email(email)
    _check_role(role, organisation, by)
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise MemberChangeRefused(
            "name", _("The name is longer than %(max)d characters.") % {"max": NAME_MAX}, "name_too_long"
        )
    with transaction.atomic():
        _lock(organisation)
        user = _user_with_email(email)
        can_mail = settings.VOICESCOUNT_PASSWORD_RESET_BY_EMAIL
        invited = user is None or (awaits_password(user) and can_mail)
        if user is None:
            _check_mail_can_be_sent()
            user = _new_user(email, name)
        elif Membership.objects.filter(user=user, organisation=organisation, role=role).exists():
            raise MemberChangeRefused(
                "email",
                _("%(username)s is already %(role)s in this organisation.")
                % {"username": user.get_username(), "role": role_label(role)},
                "already_member",
            )
        membership = Membership.objects.create(user=user, organisation=organisation, role=role)
        _audit(by, organisation, MEMBER_ADDED, user, role=role, invited=invited)
        if invited:
            _send_invitation(user, membership, by, site_url)
    return AddedMember(membership, invited)


def invite_again(membership: Membership, by, site_url: str | None = None) -> None:
    """A new invitation for a member who has not chosen a password (the first link expired or is lost)."""
    organisation = membership.organisation
    require(by, Action.MANAGE_MEMBERS, organisation)
    with transaction.atomic():
        membership = _current(membership)
        if not awaits_password(membership.user):
            raise MemberChangeRefused(
                "membership",
                _("%(username)s has chosen a password already: they can reset it from the sign-in page.")
                % {"username": membership.user.get_username()},
                "not_pending",
            )
        _check_mail_can_be_sent()
        _audit(by, organisation, INVITATION_SENT, membership.user, role=membership.role)
        _send_invitation(membership.user, membership, by, site_url)


def awaits_password(user) -> bool:
    """Invited and not yet in: no usable password and never signed in."""
    return not user.has_usable_password() and user.last_login is None


def change_role(membership: Membership, role: str, by) -> Membership:
    """Give the member ``role`` instead of the role this membership holds."""
    organisation = membership.organisation
    require(by, Action.MANAGE_MEMBERS, organisation)
    _check_role(role, organisation, by)
    with transaction.atomic():
        _lock(organisation)
        membership = _current(membership)
        old = membership.role
        if old == role:
            raise MemberChangeRefused(
                "role",
                _("%(username)s is already %(role)s.")
                % {"username": membership.user.get_username(), "role": role_label(role)},
                "same_role",
            )
        if old == Role.COALITION_ADMIN:
            _check_coalition_admin(organisation, by)
        if Membership.objects.filter(
            user_id=membership.user_id, organisation=organisation, role=role
        ).exists():
            raise MemberChangeRefused(
                "role",
                _("%(username)s already holds the role %(role)s here: remove this membership instead.")
                % {"username": membership.user.get_username(), "role": role_label(role)},
                "already_member",
            )
        _keep_a_coordinator(membership, by, "role")
        membership.role = role
        membership.save(update_fields=["role"])
        _audit(by, organisation, ROLE_CHANGED, membership.user, **{"from": old, "to": role})
    return membership


def remove_member(membership: Membership, by) -> None:
    """Take this role away from the member (their account and other roles stay)."""
    organisation = membership.organisation
    require(by, Action.MANAGE_MEMBERS, organisation)
    with transaction.atomic():
        _lock(organisation)
        membership = _current(membership)
        if membership.role == Role.COALITION_ADMIN:
            _check_coalition_admin(organisation, by)
        _keep_a_coordinator(membership, by, "membership")
        user, role = membership.user, membership.role
        membership.delete()
        _audit(by, organisation, MEMBER_REMOVED, user, role=role)


# --- rules ---------------------------------------------------------------------------------------------


def _checked_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise MemberChangeRefused(
            "email", _("Enter an e-mail address such as name@example.org."), "invalid_email"
        ) from None
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _check_mail_can_be_sent() -> None:
    if not settings.VOICESCOUNT_PASSWORD_RESET_BY_EMAIL:
        raise MemberChangeRefused(
            "email",
            _(
                "This site cannot send e-mail, so a person without an account cannot be invited. Ask an "
                "administrator to create the account and its password, then add it here."
            ),
            "cannot_invite",
        )


def _check_role(role: str, organisation: Organisation, by) -> None:
    if role not in Role.values:
        raise MemberChangeRefused(
            "role",
            _("%(role)s is not a role. Choose one of: %(roles)s.")
            % {"role": role or "''", "roles": ", ".join(str(label) for label in Role.labels)},
            "invalid_role",
        )
    if role == Role.COALITION_ADMIN:
        _check_coalition_admin(organisation, by)


def _check_coalition_admin(organisation: Organisation, by) -> None:
    if not can_grant_coalition_admin(by, organisation):
        raise MemberChangeRefused(
            "role",
            _(
                "Only a coalition administrator or a site administrator grants or takes away the role "
                "%(role)s: it gives rights in every organisation of the coalition."
            )
            % {"role": role_label(Role.COALITION_ADMIN)},
            "coalition_admin_only",
        )


def _keep_a_coordinator(membership: Membership, by, field: str) -> None:
    if membership.role != Role.COORDINATOR:
        return
    others = Membership.objects.filter(organisation_id=membership.organisation_id, role=Role.COORDINATOR)
    if others.exclude(pk=membership.pk).exists():
        return
    if membership.user_id == getattr(by, "pk", None):
        message = _(
            "You are the last coordinator of %(organisation)s: make someone else coordinator first."
        ) % {"organisation": organisation_name(membership.organisation, get_language())}
    else:
        message = _(
            "%(username)s is the last coordinator of %(organisation)s: make someone else coordinator first."
        ) % {
            "username": membership.user.get_username(),
            "organisation": organisation_name(membership.organisation, get_language()),
        }
    raise MemberChangeRefused(field, message, "last_coordinator")


def _lock(organisation: Organisation) -> None:
    # One change of an organisation's members at a time: two coordinators demoting each other at once
    # would otherwise both see the other one still coordinator (PostgreSQL; SQLite's writers wait anyway).
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


def _current(membership: Membership) -> Membership:
    current = Membership.objects.select_related("user", "organisation").filter(pk=membership.pk).first()
    if current is None:
        raise MemberChangeRefused(
            "membership", _("This membership does not exist any more (someone removed it)."), "gone"
        )
    return current


# --- accounts and mail ----------------------------------------------------------------------------------


def _user_with_email(email: str):
    users = list(get_user_model().objects.filter(email__iexact=email)[:2])
    if len(users) > 1:
        raise MemberChangeRefused(
            "email",
            _("Several accounts use this e-mail address: ask an administrator to add the right one."),
            "ambiguous_email",
        )
    return users[0] if users else None


def username_for(email: str) -> str:
    """A free username: the part of ``email`` before the @ in lower case (``an.nguyen``, ``an.nguyen-2``…)."""
    local = email.rpartition("@")[0].lower()  # phones capitalise the first letter typed; sign-in does not
    base = re.sub(r"[^\w.+-]+", "-", local, flags=re.ASCII).strip(".-+_")[: USERNAME_MAX - 6] or "member"
    User = get_user_model()
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _new_user(email: str, name: str):
    # The whole name in first_name: names are not split into given and family names (Vietnamese names
    # put the family name first), and get_full_name() then gives the name as it was typed.
    user = get_user_model()(username=username_for(email), email=email, first_name=name)
    user.set_unusable_password()
    user.save()
    return user


def _send_invitation(user, membership: Membership, by, site_url: str | None) -> None:
    path = reverse(
        "accounts:password-reset-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "organisation": organisation_name(membership.organisation, get_language()),
        "role": role_label(membership.role),
        "inviter": by.get_username(),
        "link": (site_url or default_site_url()).rstrip("/") + path,
        "days": max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400)),
    }
    subject = " ".join(render_to_string("accounts/invitation_subject.txt", context).split())
    body = render_to_string("accounts/invitation_email.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except OSError as exc:  # SMTP errors are OSErrors; the atomic block then undoes the account
        raise MemberChangeRefused(
            "email",
            _("The invitation could not be sent (%(reason)s); nothing was changed. Try again later.")
            % {"reason": exc.__class__.__name__},
            "mail_failed",
        ) from exc


def default_site_url() -> str:
    """The site's address for links in mails sent outside a request: its first named allowed host."""
    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
    host = hosts[0] if hosts else "localhost"
    return f"{'https' if settings.PRODUCTION else 'http'}://{host}"


def _audit(by, organisation: Organisation, action: str, user, **details) -> None:
    AuditEntry.objects.create(
        actor=by if getattr(by, "is_authenticated", False) else None,
        organisation=organisation,
        action=action,
        details={"user": user.pk, "username": user.get_username(), **details},
    )
