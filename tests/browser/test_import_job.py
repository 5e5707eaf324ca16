"""An upload as a background job in a real browser: ``voicescount demo`` serves the site with its own job
worker; the coordinator signs in on the site's page, uploads an export, lands on the job's page and watches
it move (htmx replaces the progress fragment every second, no reload) to the batch report, in English and
Vietnamese, without a JavaScript error."""

from __future__ import annotations

import json

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

WORDS = {
    "en": {"done": "Done", "received": "Received: 3000"},
    "vi": {"done": "Hoàn tất", "received": ": 3000"},
}


@pytest.fixture
def export(tmp_path):
    from voicescount.demo import survey

    path = tmp_path / "export.json"
    path.write_text(
        json.dumps(survey.kobo_page(survey.generate_submissions(n=3000, seed=9))), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_an_upload_runs_as_a_job_and_its_page_ends_with_the_report(
    chromium, demo_with_worker, export, lang, artifacts
):
    context = chromium.new_context(base_url=demo_with_worker, viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location.get('url')})"))
    try:
        page.goto(f"/{lang}/accounts/sign-in/?next=/{lang}/studies/vn-cgd-2022/import/")
        fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
        page.wait_for_url(f"**/{lang}/studies/vn-cgd-2022/import/")
        page.locator("select[name=instrument]").select_option(index=1)
        page.locator("input[type=file]").set_input_files(str(export))
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/{lang}/studies/vn-cgd-2022/imports/jobs/*/")
        job = page.locator("#import-job")
        expect(job.locator("progress")).to_be_visible()
        loaded = page.url
        assert job.get_attribute("data-status") in ("queued", "running")  # 3,000 records take a while
        page.screenshot(path=str(artifacts / f"import-job-waiting-{lang}-1280px.png"), full_page=True)
        # htmx swaps the fragment in place until the job is done: the same page, never reloaded.
        expect(job).to_have_attribute("data-status", "done", timeout=60_000)
        assert page.url == loaded
        expect(job.locator("progress")).to_have_attribute("value", "100")
        expect(job).to_contain_text(WORDS[lang]["done"])
        expect(job.locator(".report")).to_contain_text(WORDS[lang]["received"])
        page.screenshot(path=str(artifacts / f"import-job-done-{lang}-1280px.png"), full_page=True)
        # A refresh shows the same report, on a phone too.
        page.set_viewport_size({"width": 360, "height": 800})
        page.reload()
        expect(page.locator("#import-job .report")).to_contain_text(WORDS[lang]["received"])
        page.screenshot(path=str(artifacts / f"import-job-done-{lang}-360px.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the job page is {overflow} px wider than a 360 px screen"
        # The site has no /favicon.ico; chromium asks for it by itself, which is not an error of the page.
        assert [e for e in errors if not e.endswith("/favicon.ico)")] == []
    finally:
        context.close()
