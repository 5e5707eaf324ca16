"""Signing in through the site's own page in a real browser, as every demo role and in both languages: the
header's "Sign in" link, the form, back on the page with the user named in the header, the account page
naming organisation and role, and signing out. Screenshots of the sign-in and account pages at 1280 and
360 px in both languages go to the artefacts directory; neither page has a serious accessibility violation
nor sticks out of a phone screen."""

from __future__ import annotations

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations
from tests.browser.test_tracker import overflowing_elements
from voicescount.accounts.demo import DEMO_ORGANISATIONS, DEMO_PASSWORD, DEMO_USERS

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

WORDS = {
    "en": {"sign in": "Sign in", "sign out": "Sign out", "username": "Username", "password": "Password"},
    "vi": {
        "sign in": "Đăng nhập",
        "sign out": "Đăng xuất",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
    },
}
ROLE_LABELS = {
    "en": {
        "coalition_admin": "Coalition administrator",
        "coordinator": "Organisation coordinator",
        "analyst": "Analyst",
        "enumerator": "Enumerator",
        "nso_reviewer": "NSO reviewer",
    },
    "vi": {
        "coalition_admin": "Quản trị viên liên minh",
        "coordinator": "Điều phối viên tổ chức",
        "analyst": "Cán bộ phân tích",
        "enumerator": "Điều tra viên",
        "nso_reviewer": "Chuyên gia thẩm định của cơ quan thống kê",
    },
}
ORGANISATION_NAMES = {slug: {"vi": vi, "en": en} for slug, vi, en, _kind in DEMO_ORGANISATIONS}
WIDTHS = {1280: {"width": 1280, "height": 900}, 360: {"width": 360, "height": 740}}


def fill_sign_in_form(page, lang: str, username: str, password: str) -> None:
    words = WORDS[lang]
    page.get_by_label(words["username"]).fill(username)
    page.get_by_label(words["password"], exact=True).fill(password)
    page.locator("main").get_by_role("button", name=words["sign in"]).click()


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(("username", "org_slug", "role", "superuser"), DEMO_USERS)
def test_every_demo_role_signs_in_through_the_sites_page(
    page, js_errors, lang, username, org_slug, role, superuser
):
    words = WORDS[lang]
    page.goto(f"/{lang}/about/")
    page.locator("header").get_by_role("link", name=words["sign in"]).click()
    expect(page).to_have_url(
        f"{page.url.split('/' + lang + '/')[0]}/{lang}/accounts/sign-in/?next=/{lang}/about/"
    )
    fill_sign_in_form(page, lang, username, DEMO_PASSWORD)
    # Back on the page it came from, whose header names the user and offers to sign out.
    expect(page).to_have_url(f"{page.url.split('/' + lang + '/')[0]}/{lang}/about/")
    header = page.locator("header")
    expect(header.locator("a.who")).to_have_text(username)
    expect(header.get_by_role("button", name=words["sign out"])).to_be_visible()
    administration = header.get_by_role("link", name="Administration" if lang == "en" else "Quản trị")
    expect(administration).to_have_count(1 if superuser else 0)
    # The account page: who, in which organisation, with which role.
    header.locator("a.who").click()
    expect(page.locator(".signed-in-as strong")).to_have_text(username)
    roles = page.locator("ul.roles")
    expect(roles).to_contain_text(ROLE_LABELS[lang][role])
    expect(roles).to_contain_text(ORGANISATION_NAMES[org_slug][lang])
    # Signing out from the header.
    header.get_by_role("button", name=words["sign out"]).click()
    expect(page.locator("h1")).to_have_text("You have signed out" if lang == "en" else "Bạn đã đăng xuất")
    expect(page.locator("header").get_by_role("link", name=words["sign in"])).to_be_visible()
    assert js_errors == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_wrong_password_is_announced(page, artifacts, lang):
    page.goto(f"/{lang}/accounts/sign-in/")
    fill_sign_in_form(page, lang, "youth-coordinator", "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please enter a correct" if lang == "en" else "Vui lòng điền vào")
    page.screenshot(path=artifacts / f"sign-in-error-{lang}.png", full_page=True)
    expect(page).to_have_title(
        ("Error: " if lang == "en" else "Lỗi: ") + WORDS[lang]["sign in"] + " · VoicesCount"
    )
    # A right password afterwards forgets the failure (the demo site is shared by the browser tests).
    fill_sign_in_form(page, lang, "youth-coordinator", DEMO_PASSWORD)
    expect(page.locator(".signed-in-as strong")).to_have_text("youth-coordinator")


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_sign_in_and_account_pages_read_well(chromium, demo_site, axe_script, artifacts, lang, width):
    context = chromium.new_context(base_url=demo_site, viewport=WIDTHS[width], is_mobile=width < 600)
    try:
        page = context.new_page()
        page.goto(f"/{lang}/accounts/sign-in/")
        page.screenshot(path=artifacts / f"sign-in-{lang}-{width}px.png", full_page=True)
        assert overflowing_elements(page) == []
        assert serious_violations(page, axe_script) == {}
        fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
        expect(page.locator(".signed-in-as strong")).to_have_text("coordinator")
        page.screenshot(path=artifacts / f"account-{lang}-{width}px.png", full_page=True)
        assert overflowing_elements(page) == []
        assert serious_violations(page, axe_script) == {}
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_too_many_failures_show_the_lockout_page(page, axe_script, artifacts, lang):
    # A username of nobody, so that the lock (this username from this address) stops no other test.
    username = f"nobody-{lang}"
    page.goto(f"/{lang}/accounts/sign-in/")
    for _ in range(5):
        fill_sign_in_form(page, lang, username, "not-the-password")
    expect(page.locator("h1")).to_have_text(
        "Too many failed sign-ins" if lang == "en" else "Đăng nhập sai quá nhiều lần"
    )
    expect(page.get_by_role("alert")).to_contain_text("15")
    page.screenshot(path=artifacts / f"locked-out-{lang}.png", full_page=True)
    assert serious_violations(page, axe_script) == {}


def test_the_password_change_page_fits_a_phone(chromium, demo_site, axe_script, artifacts):
    context = chromium.new_context(base_url=demo_site, viewport=WIDTHS[360], is_mobile=True)
    try:
        page = context.new_page()
        page.goto("/vi/accounts/sign-in/?next=/vi/accounts/password/")
        fill_sign_in_form(page, "vi", "analyst", DEMO_PASSWORD)
        expect(page.locator("h1")).to_have_text("Đổi mật khẩu")
        page.locator("main").get_by_role("button").click()  # nothing filled in: the browser asks first
        page.get_by_label("Mật khẩu cũ").fill("not-the-password")
        page.get_by_label("Mật khẩu mới", exact=True).fill("12345678")
        page.get_by_label("Xác nhận mật khẩu mới").fill("12345678")
        page.locator("main").get_by_role("button").click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.screenshot(path=artifacts / "password-change-error-vi-360px.png", full_page=True)
        assert overflowing_elements(page) == []
        assert serious_violations(page, axe_script) == {}
    finally:
        context.close()
