"""Instruments in a real browser: the demo coordinator signs in on the site's page, uploads a new version
of the demo form (a question removed), reads what it breaks, changes a proposed role, ticks "I understand"
and adds it; the list, confirmation and detail pages are photographed at 1280 and 360 px in vi and en.

Each language adds its own version to the shared demo site, compared with the one added before it: each
removes, and marks personal, a question of its own."""

from __future__ import annotations

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations
from tests.browser.test_sign_in import fill_sign_in_form
from tests.workspace.test_instruments_pages import demo_form_v2
from voicescount.accounts.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

STUDY = "/workspace/studies/vn-cgd-2022/instruments/"
WORDS = {
    "en": {
        "read": "Read the form",
        "add": "Add this form",
        "breaks": "This version breaks earlier submissions",
    },
    "vi": {
        "read": "Đọc biểu mẫu",
        "add": "Thêm biểu mẫu này",
        "breaks": "Phiên bản này làm hỏng các phiếu đã thu",
    },
}
VERSIONS = {"vi": "2022.7", "en": "2022.8"}
REMOVED = {"vi": "lgbt", "en": "bribe"}
MADE_PERSONAL = {"vi": "monthly_earnings", "en": "hours_week"}  # sensitive: kept encrypted like names


def shoot(page, artifacts, name: str, lang: str, axe_script: str) -> None:
    """Full-page screenshots at 1280 and 360 px; nothing may stick out sideways, no serious axe violation."""
    assert serious_violations(page, axe_script) == {}, name
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"instruments-{name}-{lang}-{width}px.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the {name} page is {overflow} px wider than a {width} px screen"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_coordinator_uploads_a_new_version_and_confirms_its_roles(
    page, js_errors, artifacts, axe_script, tmp_path, lang
):
    words = WORDS[lang]
    form = tmp_path / f"vn_cgd_2022_{VERSIONS[lang]}.xlsx"
    form.write_bytes(demo_form_v2(remove=("lgbt", REMOVED[lang]), retype=(), version=VERSIONS[lang]))
    page.goto(f"/{lang}/accounts/sign-in/?next=/{lang}{STUDY}")
    fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
    page.wait_for_url(f"**/{lang}{STUDY}")
    expect(page.locator("table.instruments")).to_contain_text("vn_cgd_2022")
    shoot(page, artifacts, "list", lang, axe_script)

    page.locator("input[type=file]").set_input_files(str(form))
    page.get_by_role("button", name=words["read"]).click()
    page.wait_for_url(f"**/{lang}{STUDY}confirm/")
    breaking = page.locator(".breaking")
    expect(breaking).to_contain_text(words["breaks"])
    expect(breaking).to_contain_text(f"'{REMOVED[lang]}'")
    role = page.locator(f"select[name='role:{MADE_PERSONAL[lang]}']")
    expect(role).to_have_value("")
    role.select_option("personal")
    shoot(page, artifacts, "confirm", lang, axe_script)
    # Without "I understand" the browser does not send the form; with it, the version is added.
    page.get_by_role("button", name=words["add"]).click()
    assert page.url.endswith(f"{STUDY}confirm/")
    breaking.locator("input[name=accept_breaking]").check()
    page.get_by_role("button", name=words["add"]).click()
    page.wait_for_url(f"**/{lang}{STUDY}*/")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(VERSIONS[lang])
    earnings = page.locator("table.questions tr", has=page.locator("code", has_text=MADE_PERSONAL[lang]))
    expect(earnings).to_contain_text({"en": "Personal data", "vi": "Dữ liệu cá nhân"}[lang])
    shoot(page, artifacts, "detail", lang, axe_script)
    page.goto(f"/{lang}{STUDY}")
    expect(page.locator("table.instruments")).to_contain_text(VERSIONS[lang])
    assert [e for e in js_errors if not e.endswith("/favicon.ico)")] == []
