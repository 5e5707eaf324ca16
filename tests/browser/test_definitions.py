"""Writing an indicator definition in a real browser: the demo coordinator signs in on the site's page,
opens a new definition, types its expressions (a name is completed from the study's questions), sees the
live preview of the total with its interval and n change as the universe changes, sees a wrong name
named beside its field, and saves it as version 1; in English and Vietnamese, at 1280 and 360 px."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations
from tests.browser.test_sign_in import fill_sign_in_form
from voicescount.accounts.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

STUDY = "vn-cgd-2022"
WORDS = {
    "en": {
        "n": "n (respondents)",
        "unknown": "Unknown name(s): agee.",
        "saved": "Version 1",
        "interval": "95% interval",
    },
    "vi": {
        "n": "n (người trả lời)",
        "unknown": "Tên không có trong nghiên cứu: agee.",
        "saved": "Phiên bản 1",
        "interval": "Khoảng tin cậy 95%",
    },
}


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_a_coordinator_writes_a_definition_with_its_live_preview(
    page, js_errors, artifacts, axe_script, lang
):
    words = WORDS[lang]
    new_url = f"/{lang}/workspace/studies/{STUDY}/definitions/new/"
    page.goto(f"/{lang}/accounts/sign-in/?next={new_url}")
    fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
    page.wait_for_url(f"**{new_url}")

    page.locator("#id_indicator").fill("8.10.2")
    page.locator("#id_code").fill(f"account-youth-{lang}")
    page.locator("#id_title_en").fill("Young people aged 16 to 24 with an account")
    universe = page.locator("#id_universe")
    universe.press_sequentially("age >= 16 and age <= 24 and has_account in ['yes', 'no']")
    numerator = page.locator("#id_numerator")
    numerator.press_sequentially("has_acc")
    suggestions = page.locator("#suggestions-id_numerator")
    expect(suggestions).to_be_visible()
    expect(suggestions.locator("li").first).to_contain_text("has_account")
    numerator.press("Enter")  # takes the highlighted name
    expect(numerator).to_have_value("has_account")
    numerator.press_sequentially(" == 'yes'")

    result = page.locator("#preview-result")
    expect(result).to_contain_text(words["n"], timeout=15_000)
    expect(result).to_contain_text(words["interval"])
    expect(result.locator(".estimate dd")).to_have_text(re.compile(r"\d+[.,]\d\s%"))
    first = result.inner_text()
    page.locator(".expression-help summary").first.click()
    assert serious_violations(page, axe_script) == {}
    page.locator(".expression-help summary").first.click()
    page.screenshot(path=str(artifacts / f"definition-new-{lang}-1280px.png"), full_page=True)

    # a wider universe: the preview follows without a reload, with another n
    universe.fill("age >= 16 and age <= 30 and has_account in ['yes', 'no']")
    expect(result).not_to_have_text(first, timeout=15_000)
    expect(result).to_contain_text(words["n"])

    # a misspelt name is named beside its field; the preview waits
    universe.fill("agee >= 16")
    expect(page.locator("#errors-universe")).to_contain_text(words["unknown"], timeout=15_000)
    expect(result).not_to_contain_text(words["n"])
    universe.fill("age >= 16 and age <= 30 and has_account in ['yes', 'no']")
    expect(page.locator("#errors-universe")).to_have_text("", timeout=15_000)
    expect(result).to_contain_text(words["n"])

    page.set_viewport_size({"width": 360, "height": 800})
    page.locator(".expression-help summary").first.click()
    page.screenshot(path=str(artifacts / f"definition-new-{lang}-360px.png"), full_page=True)
    assert overflow(page) <= 0, f"the definition page is {overflow(page)} px wider than a 360 px screen"
    page.locator(".expression-help summary").first.click()
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator("form.definition-form button[type=submit]").click()
    page.wait_for_url(f"**/{lang}/workspace/studies/{STUDY}/definitions/account-youth-{lang}/edit/")
    expect(page.locator(".versions")).to_contain_text(words["saved"])
    expect(result).to_contain_text(words["n"], timeout=15_000)  # the saved definition's preview
    page.screenshot(path=str(artifacts / f"definition-edit-{lang}-1280px.png"), full_page=True)
    assert serious_violations(page, axe_script) == {}
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=str(artifacts / f"definition-edit-{lang}-360px.png"), full_page=True)
    assert overflow(page) <= 0

    page.goto(f"/{lang}/workspace/studies/{STUDY}/definitions/")
    expect(page.locator("table.definitions")).to_contain_text(f"account-youth-{lang}")
    page.screenshot(path=str(artifacts / f"definitions-{lang}-360px.png"), full_page=True)
    assert overflow(page) <= 0
    assert js_errors == []
