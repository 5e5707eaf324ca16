"""The rules of ``accounts.members`` called directly (as the CLI or another page would): who may change
members, the coalition administrator's role, the last coordinator, invitations and mail failures; each
refusal names its field and changes nothing."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.utils import translation

from voicescount.accounts import audit_log
from voicescount.accounts.members import (
    MemberChangeRefused,
    add_member,
    awaits_password,
    change_role,
    invite_again,
    remove_member,
    username_for,
)
from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.collection.models import AuditEntry

pytestmark = pytest.mark.django_db


class RefusingMailServer(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("no mail server")


@pytest.fixture
def org(demo_accounts):
    return Organisation.objects.get(slug="community-dev-centre")


def user(username: str):
    return get_user_model().objects.get(username=username)


def refused(call, field: str, code: str) -> MemberChangeRefused:
    with pytest.raises(MemberChangeRefused) as caught:
        call()
    assert caught.value.field == field and caught.value.code_name == code, str(caught.value)
    assert caught.value.message_dict == {field: [caught.value.message_text]}
    return caught.value


def snapshot():
    return (
        sorted(Membership.objects.values_list("user_id", "organisation_id", "role")),
        get_user_model().objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.mark.parametrize("username", ["analyst", "enumerator", "nso-reviewer", "youth-coordinator"])
def test_only_who_manages_members_changes_them(org, username):
    before = snapshot()
    by = user(username)
    enumerator = Membership.objects.get(user__username="enumerator", organisation=org)
    with pytest.raises(PermissionDenied, match="manage members"):
        add_member(org, email="new@example.org", role=Role.ANALYST, by=by)
    with pytest.raises(PermissionDenied):
        change_role(enumerator, Role.ANALYST, by)
    with pytest.raises(PermissionDenied):
        remove_member(enumerator, by)
    assert snapshot() == before and mail.outbox == []


def test_bad_input_names_the_field_and_changes_nothing(org):
    before = snapshot()
    by = user("coordinator")
    with translation.override("en"):
        error = refused(
            lambda: add_member(org, email="nobody", role="analyst", by=by), "email", "invalid_email"
        )
        assert "name@example.org" in error.message_text
        error = refused(
            lambda: add_member(org, email="a@example.org", role="boss", by=by), "role", "invalid_role"
        )
        assert "boss is not a role" in error.message_text and "Analyst" in error.message_text
        refused(
            lambda: add_member(org, email="a@example.org", role="analyst", by=by, name="x" * 151),
            "name",
            "name_too_long",
        )
        refused(
            lambda: add_member(org, email="Analyst@Example.org", role="analyst", by=by),
            "email",
            "already_member",
        )
        analyst = Membership.objects.get(user__username="analyst", organisation=org)
        refused(lambda: change_role(analyst, Role.ANALYST, by), "role", "same_role")
    assert snapshot() == before and mail.outbox == []


def test_the_coalition_admin_role_is_for_coalition_admins_to_give(org):
    coordinator = user("coordinator")
    admin_membership = Membership.objects.get(user__username="admin", organisation=org)
    before = snapshot()
    refused(
        lambda: add_member(org, email="boss@example.org", role=Role.COALITION_ADMIN, by=coordinator),
        "role",
        "coalition_admin_only",
    )
    refused(lambda: change_role(admin_membership, Role.ANALYST, coordinator), "role", "coalition_admin_only")
    refused(lambda: remove_member(admin_membership, coordinator), "role", "coalition_admin_only")
    assert snapshot() == before
    # The superuser (also the coalition's administrator) may.
    added = add_member(org, email="analyst@example.org", role=Role.COALITION_ADMIN, by=user("admin"))
    assert added.membership.role == Role.COALITION_ADMIN and not added.invited
    # And so may a coalition administrator who is no superuser, in another organisation of the coalition.
    other = Organisation.objects.get(slug="youth-network")
    promoted = user("analyst")
    assert not promoted.is_superuser
    add_member(other, email="enumerator@example.org", role=Role.COALITION_ADMIN, by=promoted)
    assert Membership.objects.filter(user__username="enumerator", organisation=other).exists()


def test_the_last_coordinator_stays_until_there_is_another(org):
    coordinator = user("coordinator")
    mine = Membership.objects.get(user=coordinator, organisation=org)
    with translation.override("en"):
        error = refused(lambda: remove_member(mine, coordinator), "membership", "last_coordinator")
        assert error.message_text.startswith("You are the last coordinator of")
        refused(lambda: change_role(mine, Role.ANALYST, coordinator), "role", "last_coordinator")
        # Someone else (the site administrator) is told whose role it is.
        error = refused(lambda: remove_member(mine, user("admin")), "membership", "last_coordinator")
        assert error.message_text.startswith("coordinator is the last coordinator of")
    analyst = Membership.objects.get(user__username="analyst", organisation=org)
    change_role(analyst, Role.COORDINATOR, coordinator)
    change_role(mine, Role.ANALYST, coordinator)  # no longer the last one
    assert Membership.objects.get(pk=mine.pk).role == Role.ANALYST
    refused(lambda: remove_member(analyst, user("admin")), "membership", "last_coordinator")


def test_an_invitation_that_cannot_be_mailed_leaves_no_account(org, settings):
    settings.EMAIL_BACKEND = "tests.workspace.test_members_rules.RefusingMailServer"
    before = snapshot()
    refused(
        lambda: add_member(org, email="lan@example.org", role=Role.ENUMERATOR, by=user("coordinator")),
        "email",
        "mail_failed",
    )
    assert snapshot() == before


def test_without_mail_a_new_person_is_not_invited(org, settings):
    settings.VOICESCOUNT_PASSWORD_RESET_BY_EMAIL = False
    before = snapshot()
    refused(
        lambda: add_member(org, email="lan@example.org", role=Role.ENUMERATOR, by=user("coordinator")),
        "email",
        "cannot_invite",
    )
    assert snapshot() == before
    # A person with an account is still added.
    assert not add_member(
        org, email="analyst@example.org", role=Role.ENUMERATOR, by=user("coordinator")
    ).invited


def test_usernames_come_from_the_address_and_stay_unique(org):
    assert username_for("lan.pham@example.org") == "lan.pham"
    first = add_member(org, email="lan.pham@example.org", role=Role.ENUMERATOR, by=user("coordinator"))
    second = add_member(org, email="Lan.Pham@other.example", role=Role.ENUMERATOR, by=user("coordinator"))
    assert first.membership.user.username == "lan.pham"
    assert second.membership.user.username == "lan.pham-2"  # Lan.Pham@…: lower case
    assert username_for("ng\u1ef5y\u00ean a@example.org") == "ng-y-n-a"
    assert username_for("...@example.org") == "member"


def test_two_accounts_with_one_address_are_not_guessed_between(org):
    get_user_model().objects.create(username="twin", email="ANALYST@example.org")
    refused(
        lambda: add_member(org, email="analyst@example.org", role=Role.ENUMERATOR, by=user("coordinator")),
        "email",
        "ambiguous_email",
    )


def test_an_invited_person_is_invited_again_until_they_choose_a_password(org, client):
    coordinator = user("coordinator")
    added = add_member(
        org, email="hoa@example.org", role=Role.ENUMERATOR, by=coordinator, site_url="https://vc.example"
    )
    assert added.invited and awaits_password(added.membership.user)
    assert "https://vc.example/" in mail.outbox[0].body
    invite_again(added.membership, coordinator)
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["hoa@example.org"]
    # Added to a second organisation before choosing a password: invited for that one too.
    other = Organisation.objects.get(slug="youth-network")
    assert add_member(other, email="hoa@example.org", role=Role.ANALYST, by=user("youth-coordinator")).invited
    person = added.membership.user
    person.set_password("chosen-passphrase-93")
    person.save()
    refused(lambda: invite_again(added.membership, coordinator), "membership", "not_pending")
    actions = list(AuditEntry.objects.filter(organisation=org).values_list("action", flat=True))
    assert sorted(actions) == ["invitation_sent", "member_added"]


def test_every_change_is_logged_and_described_without_personal_data(org):
    coordinator = user("coordinator")
    added = add_member(
        org, email="Mai.Vo@example.org", name="Võ Thị Mai", role=Role.ENUMERATOR, by=coordinator
    )
    change_role(added.membership, Role.ANALYST, coordinator)
    remove_member(added.membership, coordinator)
    entries = list(audit_log.entries_of(org))
    assert [e.action for e in entries[:3]] == ["member_removed", "role_changed", "member_added"]
    for entry in entries[:3]:
        assert "@" not in repr(entry.details) and "Võ" not in repr(entry.details)
        assert entry.actor == coordinator and entry.organisation == org
    with translation.override("en"):
        assert [audit_log.describe(e) for e in entries[:3]] == [
            "Removed mai.vo from the role Analyst",
            "Changed the role of mai.vo from Enumerator to Analyst",
            "Added mai.vo as Enumerator",
        ]
        # Details missing or of another shape: the plain description; an unknown action: its name.
        assert audit_log.describe(AuditEntry(action="member_added", details={})) == "Added a member"
        assert audit_log.describe(AuditEntry(action="import", details=[1, 2])) == "Imported submissions"
        assert (
            audit_log.describe(AuditEntry(action="quarantine_fixed")) == "Fixed a record held in quarantine"
        )
        assert audit_log.describe(AuditEntry(action="frobnicated")) == "frobnicated"
        published = AuditEntry(action="run_published", details={"definition": "sp-coverage", "run": 3})
        assert audit_log.describe(published) == "Published the results of sp-coverage"
    with translation.override("vi"):
        assert audit_log.describe(entries[2]) == "Đã thêm mai.vo với vai trò Điều tra viên"


def test_the_log_of_an_organisation_holds_its_studies_and_no_other(org, demo_study):
    other = Organisation.objects.get(slug="youth-network")
    mine = AuditEntry.objects.create(study=demo_study, action="run_published")
    AuditEntry.objects.create(organisation=other, action="member_added")
    AuditEntry.objects.create(action="import")  # neither organisation nor study
    assert mine in audit_log.entries_of(org)
    assert set(audit_log.entries_of(org).values_list("pk", flat=True)) == set(
        AuditEntry.objects.filter(study=demo_study).values_list("pk", flat=True)
    )
    assert list(audit_log.entries_of(org, action="run_published")) == [mine]
    with translation.override("en"):
        assert audit_log.actions_in_log(org) == [
            ("instrument_added", "Added a form"),
            ("run_published", "Published results"),
        ]


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_demoting_each_other_at_once_leave_one(demo_accounts):
    """Each sees the other still coordinator unless changes of an organisation's members wait for each other
    (row lock on the organisation). SQLite lets one writer at a time anyway; the race is PostgreSQL's."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by itself")
    org = Organisation.objects.get(slug="community-dev-centre")
    first, second = user("coordinator"), user("analyst")
    change_role(Membership.objects.get(user=second, organisation=org), Role.COORDINATOR, first)
    mine = Membership.objects.get(user=first, organisation=org)
    theirs = Membership.objects.get(user=second, organisation=org)
    changed, outcome = threading.Event(), {}

    def first_demotes_second():
        try:
            with transaction.atomic():
                change_role(theirs, Role.ANALYST, first)
                changed.set()
                time.sleep(1.0)  # still uncommitted while the second one tries
        finally:
            connection.close()

    def second_demotes_first():
        try:
            changed.wait(10)
            change_role(mine, Role.ANALYST, second)
            outcome["second"] = "done"
        except MemberChangeRefused as refused:
            outcome["second"] = refused.code_name
        finally:
            connection.close()

    threads = [threading.Thread(target=first_demotes_second), threading.Thread(target=second_demotes_first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == {"second": "last_coordinator"}
    coordinators = Membership.objects.filter(organisation=org, role=Role.COORDINATOR)
    assert list(coordinators.values_list("user__username", flat=True)) == ["coordinator"]
