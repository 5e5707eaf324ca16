"""Compute, review and publish in a real browser: ``voicescount demo`` serves the site with its job worker;
the coordinator signs in on the site's page, opens the study's results, computes (the job's page shows its
progress and htmx turns it into the list of new drafts without a reload), previews the public page of a
draft (marked as a preview), publishes it there, and a visitor finds the new run on the public indicator
page; in English and Vietnamese, with screenshots at 1280 and 360 px."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import missing_browser_requirement
from tests.browser.test_sign_in import fill_sign_in_form
from voicescount.accounts.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

STUDY = "vn-cgd-2022"
CODE = "youth-neet"
INDICATOR = "8.6.1"
WORDS = {
    "en": {"compute": "Compute", "done": "Done", "banner": "Preview — not public", "published": "Published:"},
    "vi": {
        "compute": "Tính toán",
        "done": "Hoàn tất",
        "banner": "Xem trước — chưa công khai",
        "published": "Đã công bố:",
    },
}


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def runs_on(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf"/indicators/{re.escape(INDICATOR)}/runs/(\d+)/", html)}


def shoot(page, artifacts, name: str, lang: str) -> None:
    """Screenshots at 1280 and 360 px; nothing may stick out of a 360 px phone."""
    for width, height in ((1280, 900), (360, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"results-{name}-{lang}-{width}px.png"), full_page=True)
        page.screenshot(
            path=str(artifacts / f"results-{name}-{lang}-{width}px-top.png")
        )  # what one sees first
        if width == 360:
            assert overflow(page) <= 0, f"the {name} page is {overflow(page)} px wider than a 360 px screen"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_a_coordinator_computes_previews_and_publishes(chromium, demo_with_worker, artifacts, lang):
    words = WORDS[lang]
    context = chromium.new_context(base_url=demo_with_worker, viewport={"width": 1280, "height": 900})
    visitor = chromium.new_context(base_url=demo_with_worker)
    errors: list[str] = []
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location.get('url')})"))
    public = visitor.new_page()
    try:
        public.goto(f"/{lang}/indicators/{INDICATOR}/")
        before = runs_on(public.content())
        assert len(before) == 1  # the demo published its runs

        results_url = f"/{lang}/workspace/studies/{STUDY}/results/"
        page.goto(f"/{lang}/accounts/sign-in/?next={results_url}")
        fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
        page.wait_for_url(f"**{results_url}")
        expect(page.locator(f'section.result[data-code="{CODE}"]')).to_be_visible()
        shoot(page, artifacts, "page", lang)

        page.locator(".results-compute input[name=force]").check()
        page.locator(".results-compute button[type=submit]").click()
        page.wait_for_url(f"**{results_url}jobs/*/")
        job = page.locator("#compute-job")
        expect(job.locator("progress")).to_be_visible()
        loaded = page.url
        assert job.get_attribute("data-status") in ("queued", "running", "done")
        page.screenshot(path=str(artifacts / f"results-job-waiting-{lang}-1280px.png"), full_page=True)
        expect(job).to_have_attribute("data-status", "done", timeout=90_000)
        assert page.url == loaded  # htmx replaced the fragment in place
        expect(job.locator("progress")).to_have_attribute("value", "100")
        expect(job).to_contain_text(words["done"])
        shoot(page, artifacts, "job", lang)

        # the drafts change nothing public
        public.reload()
        assert runs_on(public.content()) == before

        page.locator(f'.job-runs li:has-text("{CODE}") a').click()
        page.wait_for_url(re.compile(r".*/results/runs/\d+/preview/$"))
        draft = int(re.search(r"/runs/(\d+)/preview/", page.url).group(1))
        assert draft not in before
        banner = page.locator(".preview-banner")
        expect(banner).to_contain_text(words["banner"])
        assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex, nofollow"
        assert draft in runs_on(page.content()) or page.locator(f"#breakdown-{draft}").count() == 1
        shoot(page, artifacts, "preview", lang)

        banner.locator("button[type=submit]").click()
        page.wait_for_url(f"**{results_url}")
        expect(page.locator(".messages")).to_contain_text(words["published"])
        expect(page.locator(f'section.result[data-code="{CODE}"] .state-public')).to_be_visible()
        expect(page.locator(".state-draft").first).to_be_visible()  # the other drafts wait for review
        shoot(page, artifacts, "page-after", lang)

        public.reload()
        assert runs_on(public.content()) == {draft}
        assert [e for e in errors if not e.endswith("/favicon.ico)")] == []
    finally:
        visitor.close()
        context.close()
