"""The study pages and the about page in a real browser: reached from the home page, no serious
accessibility violation (axe-core), and readable on a 360 px phone screen."""

from __future__ import annotations

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations
from tests.browser.test_tracker import overflowing_elements

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

PAGES = {"studies": "/en/studies/", "study": "/en/studies/vn-cgd-2022/", "about": "/en/about/"}


def test_home_page_leads_to_the_study_and_its_indicators(page, js_errors):
    page.goto("/vi/")
    page.locator("#studies-heading + ul a").first.click()
    expect(page.locator("h1")).to_contain_text("Tiếng nói cộng đồng")
    expect(page.locator("#consent")).to_have_text("Sự đồng ý")
    page.locator("#results ~ ul a[href*='/indicators/1.3.1/']").first.click()
    expect(page.locator("h1")).to_contain_text("1.3.1")
    assert js_errors == []


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(page, axe_script, artifacts, name):
    page.goto(PAGES[name])
    page.screenshot(path=artifacts / f"{name}-en.png", full_page=True)
    serious = serious_violations(page, axe_script)
    assert serious == {}, f"serious accessibility violations on {PAGES[name]}: {serious}"


@pytest.mark.parametrize("name", ["study", "about"])
def test_page_fits_a_360px_phone_screen(chromium, demo_site, artifacts, name):
    context = chromium.new_context(base_url=demo_site, viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(PAGES[name])
        page.screenshot(path=artifacts / f"{name}-360px.png", full_page=True)
        assert overflowing_elements(page) == [], f"elements stick out of a 360 px screen on {PAGES[name]}"
    finally:
        context.close()
