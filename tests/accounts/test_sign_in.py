"""The site's own sign-in through the real pages (Django's test client, no force_login): every role of the
demo signs in from the "Sign in" link of a public page and lands on a page naming who they are, in both
languages; ?next= is honoured when safe; failed attempts are counted and lock a username out for a while
(django-axes), on the site's page and the admin login alike; signing out takes a POST with the CSRF token."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from voicescount.accounts.demo import DEMO_ORGANISATIONS, DEMO_PASSWORD, DEMO_USERS, create_demo_accounts
from voicescount.accounts.models import Role
from voicescount.accounts.services import create_api_token

pytestmark = pytest.mark.django_db

SIGN_IN_TEXT = {"en": "Sign in", "vi": "Đăng nhập"}
ROLE_LABELS = {
    "en": {
        Role.COALITION_ADMIN: "Coalition administrator",
        Role.COORDINATOR: "Organisation coordinator",
        Role.ANALYST: "Analyst",
        Role.ENUMERATOR: "Enumerator",
        Role.NSO_REVIEWER: "NSO reviewer",
    },
    "vi": {
        Role.COALITION_ADMIN: "Quản trị viên liên minh",
        Role.COORDINATOR: "Điều phối viên tổ chức",
        Role.ANALYST: "Cán bộ phân tích",
        Role.ENUMERATOR: "Điều tra viên",
        Role.NSO_REVIEWER: "Chuyên gia thẩm định của cơ quan thống kê",
    },
}
ORGANISATION_NAMES = {slug: {"vi": vi, "en": en} for slug, vi, en, _kind in DEMO_ORGANISATIONS}
WRONG = "not-the-password"


@pytest.fixture
def demo_accounts(settings):
    # A fast hasher: these tests check the pages, not the hashing (the browser test uses the real one).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return create_demo_accounts()


def sign_in_link(client: Client, lang: str, page: str = "about/") -> str:
    """The address of the "Sign in" link in the header of a public page."""
    html = client.get(f"/{lang}/{page}").content.decode()
    match = re.search(rf'<a href="([^"]+)">{SIGN_IN_TEXT[lang]}</a>', html)
    assert match, f"no '{SIGN_IN_TEXT[lang]}' link on /{lang}/{page}"
    return match.group(1).replace("&amp;", "&")


def sign_in(client: Client, lang: str, username: str, password: str, **extra):
    """Fill in the form behind the header's "Sign in" link, as a person would."""
    url = sign_in_link(client, lang)
    form = client.get(url)
    assert form.status_code == 200
    return client.post(url, {"username": username, "password": password, **extra})


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(("username", "org_slug", "role", "superuser"), DEMO_USERS)
def test_every_demo_role_signs_in_and_sees_who_they_are(
    client, demo_accounts, lang, username, org_slug, role, superuser
):
    # From the header of a public page: back on that page, which names the user in its header.
    response = sign_in(client, lang, username, DEMO_PASSWORD)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/{lang}/about/"
    html = client.get(response["Location"]).content.decode()
    account_link = re.search(rf'<a class="who" href="([^"]+)"[^>]*>{re.escape(username)}</a>', html)
    assert account_link and account_link.group(1) == f"/{lang}/accounts/"
    assert f'action="/{lang}/accounts/sign-out/"' in html
    assert (f'href="/{lang}/admin/"' in html) == superuser  # only staff see the administration link
    # The account page: username, organisation and role, in the page's language.
    page = client.get(account_link.group(1))
    assert page.status_code == 200
    assert page.wsgi_request.user.get_username() == username
    html = page.content.decode()
    assert f"<strong>{username}</strong>" in html
    roles = re.search(r'<ul class="roles">(.*?)</ul>', html, re.S).group(1)
    assert ROLE_LABELS[lang][role] in roles
    assert ORGANISATION_NAMES[org_slug][lang] in roles


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_without_a_next_page_signing_in_lands_on_the_account_page(client, demo_accounts, lang):
    url = sign_in_link(client, lang).split("?")[0]
    response = client.post(url, {"username": "youth-coordinator", "password": DEMO_PASSWORD})
    assert response["Location"] == f"/{lang}/accounts/"
    html = client.get(response["Location"]).content.decode()
    assert ORGANISATION_NAMES["youth-network"][lang] in html and ROLE_LABELS[lang][Role.COORDINATOR] in html


def test_a_page_that_needs_signing_in_sends_there_and_back(client, demo_accounts):
    response = client.get("/en/studies/vn-cgd-2022/import/")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/sign-in/?next=/en/studies/vn-cgd-2022/import/"
    page = client.get(response["Location"])
    assert 'name="next" value="/en/studies/vn-cgd-2022/import/"' in page.content.decode()
    signed_in = client.post(
        response["Location"],
        {"username": "coordinator", "password": DEMO_PASSWORD, "next": "/en/studies/vn-cgd-2022/import/"},
    )
    assert signed_in["Location"] == "/en/studies/vn-cgd-2022/import/"


def test_the_header_link_comes_back_to_the_page_it_was_on(client, demo_accounts):
    url = sign_in_link(client, "vi", "studies/")
    assert url == "/vi/accounts/sign-in/?next=/vi/studies/"
    response = client.post(url, {"username": "analyst", "password": DEMO_PASSWORD, "next": "/vi/studies/"})
    assert response["Location"] == "/vi/studies/"


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_an_unsafe_next_is_ignored(client, demo_accounts, unsafe):
    response = client.post(
        "/en/accounts/sign-in/?next=x", {"username": "enumerator", "password": DEMO_PASSWORD, "next": unsafe}
    )
    assert response.status_code == 302 and response["Location"] == "/en/accounts/"


def test_the_account_page_needs_signing_in(client):
    response = client.get("/vi/accounts/")
    assert response.status_code == 302 and response["Location"] == "/vi/accounts/sign-in/?next=/vi/accounts/"


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "Please enter a correct username and password"),
        ("vi", "Vui lòng điền vào Tên đăng nhập và mật khẩu chính xác"),
    ],
)
def test_a_wrong_password_is_refused_with_an_announced_error(client, demo_accounts, lang, message):
    response = sign_in(client, lang, "coordinator", WRONG)
    assert response.status_code == 200
    html = response.content.decode()
    summary = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert summary and message in summary.group(1)
    assert "<title>" + ("Error:" if lang == "en" else "Lỗi:") in html
    assert not response.wsgi_request.user.is_authenticated


def fail(client: Client, username: str, times: int, url: str = "/en/accounts/sign-in/") -> list[int]:
    return [client.post(url, {"username": username, "password": WRONG}).status_code for _ in range(times)]


def test_too_many_failures_lock_the_username_out_from_that_address(client, demo_accounts):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    assert fail(client, "coordinator", limit) == [200] * (limit - 1) + [429]
    locked = client.post("/en/accounts/sign-in/", {"username": "coordinator", "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed sign-ins" in html and "paused for 15 minutes" in html
    assert not locked.wsgi_request.user.is_authenticated
    # Another person on the same network and the same person elsewhere are not locked out.
    assert sign_in(client, "en", "analyst", DEMO_PASSWORD).status_code == 302
    elsewhere = Client(REMOTE_ADDR="203.0.113.7")
    assert sign_in(elsewhere, "en", "coordinator", DEMO_PASSWORD).status_code == 302


def test_changing_browsers_does_not_escape_the_count(demo_accounts):
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [
        Client(HTTP_USER_AGENT=f"browser {i}")
        .post("/en/accounts/sign-in/", {"username": "coordinator", "password": WRONG})
        .status_code
        for i in range(limit)
    ]
    assert statuses == [200] * (limit - 1) + [429]


def test_the_lockout_page_speaks_vietnamese(client, demo_accounts):
    fail(client, "analyst", settings.AXES_FAILURE_LIMIT - 1, url="/vi/accounts/sign-in/")
    locked = client.post("/vi/accounts/sign-in/", {"username": "analyst", "password": WRONG})
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Đăng nhập sai quá nhiều lần" in html and "15 phút" in html


def test_the_lock_lifts_after_the_cool_off_and_trying_meanwhile_does_not_prolong_it(client, demo_accounts):
    from axes.models import AccessAttempt  # here, so that the module also runs on code without axes

    def minutes_pass(minutes: int) -> None:
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=minutes))

    fail(client, "enumerator", settings.AXES_FAILURE_LIMIT)
    minutes_pass(10)
    assert sign_in(client, "en", "enumerator", DEMO_PASSWORD).status_code == 429
    assert fail(client, "enumerator", 1) == [429]
    minutes_pass(4)
    assert sign_in(client, "en", "enumerator", DEMO_PASSWORD).status_code == 429  # 14 minutes on
    minutes_pass(2)
    assert sign_in(client, "en", "enumerator", DEMO_PASSWORD).status_code == 302  # 16 minutes on


def test_an_administrator_unlocks_with_the_command(client, demo_accounts):
    fail(client, "nso-reviewer", settings.AXES_FAILURE_LIMIT)
    assert sign_in(client, "en", "nso-reviewer", DEMO_PASSWORD).status_code == 429
    call_command("axes_reset_username", "nso-reviewer")
    assert sign_in(client, "en", "nso-reviewer", DEMO_PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(client, demo_accounts):
    limit = settings.AXES_FAILURE_LIMIT
    fail(client, "analyst", limit - 1)
    assert sign_in(client, "en", "analyst", DEMO_PASSWORD).status_code == 302
    client.post("/en/accounts/sign-out/")
    assert fail(client, "analyst", limit - 1) == [200] * (limit - 1)


def test_the_admin_login_is_rate_limited_too(client, demo_accounts):
    limit = settings.AXES_FAILURE_LIMIT
    assert fail(client, "admin", limit, url="/en/admin/login/") == [200] * (limit - 1) + [429]
    # The lock holds on the site's own page as well: it is the same username from the same address.
    assert sign_in(client, "en", "admin", DEMO_PASSWORD).status_code == 429


def test_the_admin_login_still_works_for_staff_and_refuses_others(client, demo_accounts):
    admin = client.post("/en/admin/login/", {"username": "admin", "password": DEMO_PASSWORD})
    assert admin.status_code == 302
    other = Client().post("/en/admin/login/", {"username": "coordinator", "password": DEMO_PASSWORD})
    assert other.status_code == 200 and "staff account" in other.content.decode()


def test_an_api_token_still_authenticates_alongside_the_rate_limit(client, demo_accounts, django_user_model):
    coordinator = django_user_model.objects.get(username="coordinator")
    token, secret = create_api_token(coordinator, "sync")
    fail(client, "coordinator", settings.AXES_FAILURE_LIMIT)  # a locked-out password does not stop tokens
    url = "/api/v1/studies/no-such-study/instruments/form/submissions"
    response = Client().post(
        url, b"{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 404, response.content  # authenticated; the study does not exist
    assert Client().post(url, b"{}", content_type="application/json").status_code == 401
    token.refresh_from_db()
    assert token.last_used is not None


def test_signing_out_takes_a_post_with_the_csrf_token(demo_accounts):
    browser = Client(enforce_csrf_checks=True)
    url = sign_in_link(browser, "en")
    form = browser.get(url)
    token = form.context["csrf_token"]
    signed_in = browser.post(
        url, {"username": "analyst", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert signed_in.status_code == 302
    account = browser.get("/en/accounts/")
    assert browser.get("/en/accounts/sign-out/").status_code == 405  # a link cannot sign anyone out
    assert browser.post("/en/accounts/sign-out/").status_code == 403  # nor a form from another site
    assert browser.get("/en/accounts/").status_code == 200
    signed_out = browser.post(
        "/en/accounts/sign-out/", {"csrfmiddlewaretoken": account.context["csrf_token"]}
    )
    assert signed_out.status_code == 200 and "You have signed out" in signed_out.content.decode()
    assert browser.get("/en/accounts/").status_code == 302


def test_signing_out_in_vietnamese(client, demo_accounts):
    sign_in(client, "vi", "enumerator", DEMO_PASSWORD)
    page = client.post("/vi/accounts/sign-out/")
    assert "Bạn đã đăng xuất" in page.content.decode()


def test_a_signed_in_person_asking_for_the_sign_in_page_goes_to_their_account(client, demo_accounts):
    sign_in(client, "en", "analyst", DEMO_PASSWORD)
    assert client.get("/en/accounts/sign-in/")["Location"] == "/en/accounts/"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_head_answers_like_get_on_the_account_pages(client, demo_accounts, lang):
    """HEAD (link checkers, monitors) gets GET's status and no body, signed in or not."""
    for url in (f"/{lang}/accounts/sign-in/", f"/{lang}/accounts/password/reset/", f"/{lang}/accounts/"):
        head, get = client.head(url), client.get(url)
        assert (head.status_code, head.content) == (get.status_code, b""), url
    sign_in(client, lang, "analyst", DEMO_PASSWORD)
    for url in (f"/{lang}/accounts/", f"/{lang}/accounts/password/"):
        head, get = client.head(url), client.get(url)
        assert head.status_code == get.status_code == 200 and head.content == b"", url
