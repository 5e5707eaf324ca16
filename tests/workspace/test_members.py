"""An organisation's members and roles, and its audit log, through the workspace's pages: a coordinator
signed in through the site's page invites a new person (who sets a password from the mailed link, signs in
and finds the study), changes a role, cannot remove the last coordinator; others are refused."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tests.workspace.conftest import sign_in
from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.accounts.permissions import Action, has_permission
from voicescount.collection.models import AuditEntry
from voicescount.demo import load as demo_load

pytestmark = pytest.mark.django_db

ORG = demo_load.ORGANISATION
NEW_PASSWORD = "a-long-new-passphrase-71"


def members_url(lang: str, org: str = ORG) -> str:
    return f"/{lang}/workspace/organisations/{org}/members/"


def audit_url(lang: str, org: str = ORG) -> str:
    return f"/{lang}/workspace/organisations/{org}/audit/"


def membership(username: str, role: str = "") -> Membership:
    found = Membership.objects.filter(user__username=username, organisation__slug=ORG)
    return found.get(role=role) if role else found.get()


def invitation_link(message) -> str:
    match = re.search(r"http://testserver(/\S+/accounts/password/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_an_invited_person_sets_a_password_signs_in_and_finds_the_study(signed_in, demo_study, lang):
    client = signed_in("coordinator", lang)
    page = client.get(members_url(lang))
    assert page.status_code == 200 and 'name="csrfmiddlewaretoken"' in page.content.decode()
    added = client.post(
        members_url(lang),
        {"email": "An.Nguyen@Example.ORG", "name": "Nguyễn Văn An", "role": "analyst"},
        follow=True,
    )
    assert added.redirect_chain == [(members_url(lang), 302)]
    html = added.content.decode()
    sent = {"vi": "Thư mời chọn mật khẩu đã được gửi", "en": "An invitation to choose a password was sent"}
    assert sent[lang] in html and "an.nguyen" in html
    user = get_user_model().objects.get(email="An.Nguyen@example.org")
    assert user.username == "an.nguyen" and user.first_name == "Nguyễn Văn An"
    assert not user.has_usable_password()
    assert membership("an.nguyen").role == Role.ANALYST

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["An.Nguyen@example.org"]
    subject = {"vi": "Lời mời tham gia VoicesCount", "en": "You are invited to VoicesCount"}
    assert message.subject.startswith(subject[lang])
    assert "an.nguyen" in message.body and "coordinator" in message.body
    names = {"vi": "Trung tâm Phát triển Cộng đồng (demo)", "en": "Community Development Centre (demo)"}
    assert names[lang] in message.subject and names[lang] in message.body
    assert "Nguyễn Văn An" in message.body  # greeted by the name given
    link = invitation_link(message)
    assert link.startswith(f"/{lang}/")

    newcomer = Client()
    form_page = newcomer.get(link, follow=True)
    assert 'name="new_password1"' in form_page.content.decode()
    done = newcomer.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == f"/{lang}/accounts/password/reset/done/"
    sign_in(newcomer, "an.nguyen", lang, password=NEW_PASSWORD)
    workspace = newcomer.get(f"/{lang}/workspace/").content.decode()
    assert f'href="/{lang}/workspace/studies/{demo_study.slug}/"' in workspace
    # The link worked once.
    assert 'name="new_password1"' not in Client().get(link, follow=True).content.decode()


def test_an_existing_account_gets_the_role_without_an_invitation(signed_in, demo_study):
    client = signed_in("coordinator", "en")
    response = client.post(
        members_url("en"), {"email": "ANALYST@example.ORG", "name": "", "role": "enumerator"}
    )
    assert response.status_code == 302
    assert mail.outbox == []
    assert set(Membership.objects.filter(user__username="analyst").values_list("role", flat=True)) == {
        "analyst",
        "enumerator",
    }
    assert "analyst is now Enumerator." in client.get(members_url("en")).content.decode()


def test_a_promoted_analyst_may_publish(signed_in, demo_study):
    client = signed_in("coordinator", "en")
    analyst = membership("analyst")
    organisation = analyst.organisation
    assert not has_permission(analyst.user, Action.PUBLISH, organisation)
    response = client.post(f"{members_url('en')}{analyst.pk}/role/", {"role": "coordinator"}, follow=True)
    assert "analyst: Analyst → Organisation coordinator." in response.content.decode()
    assert has_permission(analyst.user, Action.PUBLISH, organisation)
    assert has_permission(analyst.user, Action.MANAGE_MEMBERS, organisation)
    entry = AuditEntry.objects.get(action="role_changed")
    assert entry.organisation == organisation and entry.actor.username == "coordinator"
    assert entry.details == {
        "user": analyst.user.pk,
        "username": "analyst",
        "from": "analyst",
        "to": "coordinator",
    }


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_last_coordinator_is_neither_removed_nor_demoted(signed_in, demo_study, lang):
    client = signed_in("coordinator", lang)
    mine = membership("coordinator")
    confirm = client.get(f"{members_url(lang)}{mine.pk}/remove/")
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    refused = client.post(f"{members_url(lang)}{mine.pk}/remove/", follow=True)
    last = {"vi": "Bạn là điều phối viên cuối cùng", "en": "You are the last coordinator"}
    assert last[lang] in refused.content.decode()
    refused = client.post(f"{members_url(lang)}{mine.pk}/role/", {"role": "analyst"}, follow=True)
    assert last[lang] in refused.content.decode()
    assert membership("coordinator").role == Role.COORDINATOR
    assert not AuditEntry.objects.filter(action__in=["member_removed", "role_changed"]).exists()


def test_a_member_is_removed_after_confirming(signed_in, demo_study):
    client = signed_in("coordinator", "en")
    enumerator = membership("enumerator")
    confirm = client.get(f"{members_url('en')}{enumerator.pk}/remove/").content.decode()
    assert "Do you want to take the role <strong>Enumerator</strong>" in confirm
    assert Membership.objects.filter(pk=enumerator.pk).exists()  # asking changes nothing
    done = client.post(f"{members_url('en')}{enumerator.pk}/remove/", follow=True).content.decode()
    assert "enumerator no longer holds the role Enumerator." in done
    assert not Membership.objects.filter(pk=enumerator.pk).exists()
    assert get_user_model().objects.filter(username="enumerator").exists()  # the account stays
    assert AuditEntry.objects.get(action="member_removed").details["role"] == "enumerator"


def test_a_coordinator_is_not_offered_the_coalition_admin_role(signed_in, demo_study):
    client = signed_in("coordinator", "en")
    html = client.get(members_url("en")).content.decode()
    assert 'value="coalition_admin"' not in html
    assert "Only a coalition administrator changes this role." in html  # the admin's own row
    refused = client.post(members_url("en"), {"email": "x@example.org", "role": "coalition_admin"})
    assert refused.status_code == 200 and 'role="alert"' in refused.content.decode()
    assert not get_user_model().objects.filter(email="x@example.org").exists()
    admin = membership("admin")
    page = client.post(f"{members_url('en')}{admin.pk}/remove/", follow=True).content.decode()
    assert "Only a coalition administrator or a site administrator grants or takes away" in page
    assert Membership.objects.filter(pk=admin.pk).exists()


def test_the_site_administrator_grants_coalition_admin(signed_in, demo_study):
    client = signed_in("admin", "en")
    assert 'value="coalition_admin"' in client.get(members_url("en")).content.decode()
    coordinator = membership("coordinator")
    # With a second coordinator, the first may become coalition administrator (only an admin grants it).
    client.post(members_url("en"), {"email": "analyst@example.org", "role": "coordinator"})
    client.post(f"{members_url('en')}{coordinator.pk}/role/", {"role": "coalition_admin"})
    assert Membership.objects.get(pk=coordinator.pk).role == Role.COALITION_ADMIN


def test_a_bad_address_is_refused_on_the_form(signed_in, demo_study):
    client = signed_in("coordinator", "vi")
    response = client.post(members_url("vi"), {"email": "not an address", "role": "analyst"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    # A rule of the service is shown on its field too.
    html = client.post(
        members_url("vi"), {"email": "analyst@example.org", "role": "analyst"}
    ).content.decode()
    assert "analyst đã là Cán bộ phân tích trong tổ chức này." in html and 'aria-invalid="true"' in html
    assert Membership.objects.filter(organisation__slug=ORG).count() == 5


@pytest.mark.parametrize("username", ["analyst", "enumerator", "nso-reviewer"])
def test_other_roles_of_the_organisation_are_refused(signed_in, demo_study, username):
    client = signed_in(username, "en")
    assert client.get(members_url("en")).status_code == 403
    assert client.get(audit_url("en")).status_code == 403
    enumerator = membership("enumerator")
    assert client.post(f"{members_url('en')}{enumerator.pk}/remove/").status_code == 403
    assert (
        client.post(f"{members_url('en')}{enumerator.pk}/role/", {"role": "coordinator"}).status_code == 403
    )
    assert client.post(members_url("en"), {"email": "x@example.org", "role": "analyst"}).status_code == 403
    assert Membership.objects.get(pk=enumerator.pk).role == Role.ENUMERATOR
    home = client.get("/en/workspace/").content.decode()
    assert f'href="{members_url("en")}"' not in home and f'href="{audit_url("en")}"' not in home


def test_another_organisations_coordinator_finds_nothing(signed_in, demo_study):
    client = signed_in("youth-coordinator", "en")
    assert client.get(members_url("en")).status_code == 404
    assert client.get(audit_url("en")).status_code == 404
    enumerator = membership("enumerator")
    assert client.post(f"{members_url('en')}{enumerator.pk}/remove/").status_code == 404
    # Their own organisation's page does not reach a membership of another one either.
    own = members_url("en", "youth-network")
    assert client.get(own).status_code == 200
    assert client.post(f"{own}{enumerator.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=enumerator.pk).exists()


def test_the_pages_ask_to_sign_in(client: Client, demo_accounts):
    for url in (members_url("en"), audit_url("en")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/en/accounts/sign-in/")


def test_the_workspace_home_links_the_members_and_audit_pages(signed_in, demo_study):
    html = signed_in("coordinator", "en").get("/en/workspace/").content.decode()
    assert f'href="{members_url("en")}"' in html and f'href="{audit_url("en")}"' in html


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_audit_log_shows_member_changes_without_addresses(signed_in, demo_study, lang):
    client = signed_in("coordinator", lang)
    client.post(
        members_url(lang), {"email": "binh.tran@example.org", "name": "Trần Thị Bình", "role": "enumerator"}
    )
    new = membership("binh.tran")
    client.post(f"{members_url(lang)}{new.pk}/role/", {"role": "analyst"})
    client.post(f"{members_url(lang)}{new.pk}/remove/")
    member_actions = ["member_added", "role_changed", "member_removed"]
    entries = AuditEntry.objects.filter(action__in=member_actions).order_by("at", "pk")
    assert [e.action for e in entries] == member_actions
    for entry in entries:
        assert "@" not in str(entry.details) and "Bình" not in str(entry.details)
        assert entry.details["username"] == "binh.tran" and entry.actor.username == "coordinator"
    html = client.get(audit_url(lang)).content.decode()
    expected = {
        "vi": [
            "Đã thêm binh.tran với vai trò Điều tra viên",
            "Đã đổi vai trò của binh.tran từ Điều tra viên sang Cán bộ phân tích",
            "Đã gỡ vai trò Cán bộ phân tích của binh.tran",
        ],
        "en": [
            "Added binh.tran as Enumerator",
            "Changed the role of binh.tran from Enumerator to Analyst",
            "Removed binh.tran from the role Analyst",
        ],
    }
    positions = [html.index(text) for text in expected[lang]]
    assert positions == sorted(positions, reverse=True)  # newest first
    assert "binh.tran@example.org" not in html


def test_the_audit_log_has_the_studies_entries_filters_and_pages(signed_in, demo_study):
    organisation = Organisation.objects.get(slug=ORG)
    coordinator = get_user_model().objects.get(username="coordinator")
    other = Organisation.objects.get(slug="youth-network")
    AuditEntry.objects.all().delete()  # the study package's own (its form added): counted below from none
    AuditEntry.objects.create(
        actor=coordinator,
        study=demo_study,
        action="import",
        details={
            "received": 30,
            "accepted": 25,
            "quarantined": 3,
            "duplicates": 2,
            "batch": 1,
        },
    )
    AuditEntry.objects.create(actor=None, study=demo_study, action="something_new", details={})
    AuditEntry.objects.create(actor=coordinator, organisation=other, action="member_added", details={})
    for n in range(55):
        AuditEntry.objects.create(
            actor=coordinator,
            organisation=organisation,
            action="member_added",
            details={"user": n, "username": f"person-{n:02d}", "role": "enumerator", "invited": False},
        )
    client = signed_in("coordinator", "en")
    first = client.get(audit_url("en")).content.decode()
    assert "57 entries · page 1 of 2" in first
    assert first.count('data-action="member_added"') == 50
    assert "person-54" in first and "person-04" not in first
    second = client.get(audit_url("en") + "?page=2").content.decode()
    assert "Imported 30 records: 25 accepted, 3 held in quarantine, 2 duplicates" in second
    assert "something_new" in second and "person-04" in second
    only_study = client.get(audit_url("en") + f"?study={demo_study.slug}").content.decode()
    assert "2 entries" in only_study and 'data-action="member_added"' not in only_study
    only_imports = client.get(audit_url("en") + "?action=import").content.decode()
    assert "1 entry" in only_imports and 'data-action="import"' in only_imports
    assert '<option value="import" selected>' in only_imports
    assert client.get(audit_url("en") + "?page=99").status_code == 200
