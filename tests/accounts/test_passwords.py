"""Changing a password and resetting a forgotten one, through the real pages in both languages; the reset
mail (pytest-django's locmem backend stands in for the console) carries a link that works once."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.accounts.test_sign_in import WRONG, demo_accounts, fail, sign_in  # noqa: F401  (fixture)
from voicescount.accounts.demo import DEMO_PASSWORD, demo_email

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-longer-passphrase-42"


def test_a_signed_in_person_changes_their_password(client, demo_accounts):  # noqa: F811
    sign_in(client, "en", "analyst", DEMO_PASSWORD)
    account = client.get("/en/accounts/").content.decode()
    assert 'href="/en/accounts/password/"' in account
    refused = client.post(
        "/en/accounts/password/",
        {"old_password": WRONG, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert refused.status_code == 200
    assert "Your old password was entered incorrectly" in refused.content.decode()
    changed = client.post(
        "/en/accounts/password/",
        {"old_password": DEMO_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed["Location"] == "/en/accounts/password/changed/"
    assert "Password changed" in client.get(changed["Location"]).content.decode()
    assert client.get("/en/accounts/").status_code == 200  # still signed in
    client.post("/en/accounts/sign-out/")
    assert sign_in(client, "en", "analyst", DEMO_PASSWORD).status_code == 200  # the old one is refused
    assert sign_in(client, "en", "analyst", NEW_PASSWORD).status_code == 302


def test_a_weak_new_password_is_refused_with_the_rules_in_vietnamese(client, demo_accounts):  # noqa: F811
    sign_in(client, "vi", "enumerator", DEMO_PASSWORD)
    refused = client.post(
        "/vi/accounts/password/",
        {"old_password": DEMO_PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "Mật khẩu này hoàn toàn là số." in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html


def test_changing_a_password_needs_signing_in(client):
    response = client.get("/en/accounts/password/")
    assert response["Location"] == "/en/accounts/sign-in/?next=/en/accounts/password/"


def reset_link(message) -> str:
    match = re.search(r"http://testserver(/\S+/accounts/password/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.parametrize(
    ("lang", "subject", "greeting"),
    [
        ("en", "Reset your VoicesCount password", "Hello coordinator,"),
        ("vi", "Đặt lại mật khẩu VoicesCount", "Xin chào coordinator,"),
    ],
)
def test_a_forgotten_password_is_reset_from_the_mailed_link(client, demo_accounts, lang, subject, greeting):  # noqa: F811
    sign_in_page = client.get(f"/{lang}/accounts/sign-in/").content.decode()
    assert f'href="/{lang}/accounts/password/reset/"' in sign_in_page
    asked = client.post(f"/{lang}/accounts/password/reset/", {"email": demo_email("coordinator")})
    assert asked["Location"] == f"/{lang}/accounts/password/reset/sent/"
    assert client.get(asked["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["coordinator@example.org"] and message.subject == subject
    assert greeting in message.body
    link = reset_link(message)
    assert link.startswith(f"/{lang}/")
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and 'name="new_password1"' in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == f"/{lang}/accounts/password/reset/done/"
    assert sign_in(Client(), lang, "coordinator", NEW_PASSWORD).status_code == 302
    # The link works once.
    again = client.get(link, follow=True).content.decode()
    assert 'name="new_password1"' not in again and f'href="/{lang}/accounts/password/reset/"' in again


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, demo_accounts):  # noqa: F811
    asked = client.post("/en/accounts/password/reset/", {"email": "nobody@example.org"})
    assert asked["Location"] == "/en/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_the_sent_page_says_where_the_mail_is_in_development(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert "printed on the console" in client.get("/en/accounts/password/reset/sent/").content.decode()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert "printed on the console" not in client.get("/en/accounts/password/reset/sent/").content.decode()


def test_a_new_password_from_the_link_lifts_a_lockout(client, demo_accounts):  # noqa: F811
    from django.conf import settings

    fail(client, "nso-reviewer", settings.AXES_FAILURE_LIMIT)
    assert sign_in(client, "en", "nso-reviewer", DEMO_PASSWORD).status_code == 429
    client.post("/en/accounts/password/reset/", {"email": demo_email("nso-reviewer")})
    form_page = client.get(reset_link(mail.outbox[0]), follow=True)
    client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert sign_in(client, "en", "nso-reviewer", NEW_PASSWORD).status_code == 302


def test_without_mail_the_reset_page_says_whom_to_ask(client, demo_accounts, settings):  # noqa: F811
    settings.VOICESCOUNT_PASSWORD_RESET_BY_EMAIL = False
    page = client.get("/en/accounts/password/reset/").content.decode()
    assert "This site sends no e-mail" in page and 'name="email"' not in page
    client.post("/en/accounts/password/reset/", {"email": demo_email("coordinator")})
    assert mail.outbox == []
