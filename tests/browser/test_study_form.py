"""Creating a study in a real browser: the demo coordinator signs in on the site's page, opens "New study"
from the workspace, finds provinces with the picker's filter box, fills in the guided form and lands on the
new study's hub; the edit page shows what was stored. Screenshots of the form at 1280 and 360 px in
Vietnamese and English; the form sticks out of no phone screen and has no serious accessibility violation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations
from tests.browser.test_sign_in import fill_sign_in_form
from tests.browser.test_tracker import overflowing_elements
from voicescount.accounts.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

WORDS = {
    "vi": {
        "new": "Nghiên cứu mới",
        "create": "Tạo nghiên cứu",
        "created": "Đã tạo nghiên cứu",
        "shown": "Đang hiện 1/34",
    },
    "en": {
        "new": "New study",
        "create": "Create the study",
        "created": "is created",
        "shown": "1 of 34 shown",
    },
}
DA_NANG, LAO_CAI = "VN-2025-48", "VN-2025-15"
LOCALES = {"vi": "vi-VN", "en": "en-GB"}  # date inputs show the dates as a person there reads them


def console_error(message, errors: list[str]) -> None:
    # The site has no /favicon.ico; chromium asks for it by itself, which is not an error of the page.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"console: {message.text} ({message.location.get('url')})")


@pytest.fixture
def page(chromium, demo_site, js_errors, lang):
    """A fresh tab whose browser speaks the page's language (the date inputs follow the browser's locale)."""
    context = chromium.new_context(
        base_url=demo_site, viewport={"width": 1280, "height": 900}, locale=LOCALES[lang]
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("pageerror", lambda error: js_errors.append(f"uncaught: {error}"))
    tab.on("console", lambda message: console_error(message, js_errors))
    try:
        yield tab
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_coordinator_creates_a_study_with_the_province_filter(page, js_errors, artifacts, axe_script, lang):
    words = WORDS[lang]
    page.goto(f"/{lang}/accounts/sign-in/?next=/{lang}/workspace/")
    fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
    page.wait_for_url(f"**/{lang}/workspace/")
    page.locator("main").get_by_role("link", name=words["new"]).first.click()
    page.wait_for_url(f"**/{lang}/workspace/studies/new/?organisation=community-dev-centre")
    page.screenshot(path=str(artifacts / f"study-form-new-{lang}-1280px.png"), full_page=True)

    page.locator("#id_title_vi").fill(f"Tiếng nói thanh niên ({lang})")
    page.locator("#id_title_en").fill(f"Young voices, browser test ({lang})")
    page.locator("#id_method").select_option("community_survey")
    page.locator("#id_period_start").fill("2026-03-01")
    page.locator("#id_period_end").fill("2026-04-30")
    # The filter box: accents and đ need not be typed; the list narrows, ticks stay.
    search = page.locator("#id_areas_filter")
    expect(search).to_be_visible()
    search.fill("da nang")
    expect(page.locator(".province-list li:visible")).to_have_count(1)
    expect(page.locator("[data-province-count]")).to_contain_text(words["shown"])
    page.locator(f'input[name=areas][value="{DA_NANG}"]').check()
    search.fill("lao")
    page.locator(f'input[name=areas][value="{LAO_CAI}"]').check()
    search.press("Enter")  # narrows the list; must not send the form
    assert "/studies/new/" in page.url
    search.fill("")
    expect(page.locator(".province-list li:visible")).to_have_count(34)
    page.locator('input[name=target_groups][value="YOUTH"]').check()
    page.locator('input[name=target_groups][value="CHILD"]').check()
    page.locator('input[name=consent_procedure][value="guardian_assent"]').check()
    page.locator("#id_psu_variable").fill("commune")
    page.locator("#id_min_cell_size").fill("15")
    page.screenshot(path=str(artifacts / f"study-form-filled-{lang}-1280px.png"), full_page=True)
    assert serious_violations(page, axe_script) == {}

    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / f"study-form-filled-{lang}-360px.png"), full_page=True)
    assert overflowing_elements(page) == []

    # A wrong end date: the form comes back with the error on the field, everything else as it was typed.
    page.locator("#id_period_end").fill("2026-02-01")
    page.get_by_role("button", name=words["create"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#id_period_end_error")).to_contain_text("2026-02-01")
    expect(page.locator(f'input[name=areas][value="{DA_NANG}"]')).to_be_checked()
    expect(page.locator("#id_psu_variable")).to_have_value("commune")
    page.screenshot(path=str(artifacts / f"study-form-error-{lang}-360px.png"), full_page=True)
    assert overflowing_elements(page) == []
    page.locator("#id_period_end").fill("2026-04-30")
    page.get_by_role("button", name=words["create"]).click()
    page.wait_for_url(f"**/{lang}/workspace/studies/young-voices-browser-test-{lang}/")
    expect(page.locator(".messages")).to_contain_text(words["created"])
    page.screenshot(path=str(artifacts / f"study-form-created-{lang}-360px.png"), full_page=True)

    page.goto(f"/{lang}/workspace/studies/young-voices-browser-test-{lang}/edit/")
    ticked = page.locator("input[name=areas]:checked")
    assert sorted(ticked.evaluate_all("els => els.map(e => e.value)")) == sorted([DA_NANG, LAO_CAI])
    expect(page.locator('input[name=consent_procedure][value="guardian_assent"]')).to_be_checked()
    expect(page.locator("#id_min_cell_size")).to_have_value("15")
    page.screenshot(path=str(artifacts / f"study-form-edit-{lang}-360px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(artifacts / f"study-form-edit-{lang}-1280px.png"), full_page=True)

    # The demo study has a form: its questions are offered for the design variables.
    page.goto(f"/{lang}/workspace/studies/vn-cgd-2022/edit/")
    expect(page.locator("#id_psu_variable")).to_have_value("commune")
    assert page.locator("#id_psu_variable").get_attribute("list") == "study-questions"
    assert page.locator('#study-questions option[value="weight"]').count() == 1
    page.locator("details.questions summary").click()
    page.locator("details.questions").screenshot(
        path=str(artifacts / f"study-form-questions-{lang}-1280px.png")
    )
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / f"study-form-demo-{lang}-360px.png"), full_page=True)
    assert overflowing_elements(page) == []
    assert js_errors == []
