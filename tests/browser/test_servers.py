"""A study's collection servers in a real browser: the coordinator signs in on the site's page, connects the
demo study to a KoboToolbox server (a loopback stand-in paging 1,200 synthetic submissions of the demo's
form as KoboToolbox API v2 does), presses "Pull now" and watches the pull's page move (htmx, no reload)
through the server's pages to the batch report, which the demo's own worker made; then the history and a
push secret. In Vietnamese and English, at 1280 and 360 px, without a JavaScript error."""

from __future__ import annotations

import pytest

from tests.browser.conftest import missing_browser_requirement
from tests.browser.test_sign_in import fill_sign_in_form
from tests.collection.server_fakes import KOBO_TOKEN, serving
from voicescount.accounts.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

STUDY = "vn-cgd-2022"
SUBMISSIONS = 1200
WORDS = {
    "en": {"pull": "Pull now", "connect": "Connect", "done": "Done", "received": "Received: 1200",
           "secret": "Make a push secret", "history": " accepted · "},
    "vi": {"pull": "Kéo về ngay", "connect": "Kết nối", "done": "Hoàn tất", "received": ": 1200",
           "secret": "Tạo khóa bí mật đẩy dữ liệu", "history": " được nhận · "},
}  # fmt: skip


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def shoot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}-1280px.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 800})
    assert overflow(page) <= 0, f"{page.url} is {overflow(page)} px wider than a 360 px screen"
    page.screenshot(path=str(artifacts / f"{name}-360px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def kobo(lang):
    """A loopback KoboToolbox holding 1,200 submissions of the demo's form that the demo does not hold (other
    ones for each language's run), in pages of 500."""
    from voicescount.demo import survey

    with serving("kobo", survey.generate_submissions(n=SUBMISSIONS, seed={"vi": 31, "en": 32}[lang])) as fake:
        fake.page_size = 500
        yield fake


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_coordinator_connects_kobo_pulls_and_reads_the_report(
    chromium, demo_with_worker, kobo, artifacts, lang
):
    context = chromium.new_context(base_url=demo_with_worker, viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location.get('url')})"))
    words = WORDS[lang]
    servers = f"/{lang}/workspace/studies/{STUDY}/servers/"
    try:
        page.goto(f"/{lang}/accounts/sign-in/?next={servers}")
        fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
        page.wait_for_url(f"**{servers}")
        form = page.locator("form[data-server-form]")
        # The ODK Central fields are hidden while KoboToolbox is chosen, and shown for ODK Central.
        expect(form.locator("input[name=form_id]")).to_be_hidden()
        form.locator("select[name=kind]").select_option("odk_central")
        expect(form.locator("input[name=form_id]")).to_be_visible()
        expect(form.locator("input[name=asset_uid]")).to_be_hidden()
        form.locator("select[name=kind]").select_option("kobo")
        if lang == "vi":
            # An address that is not one is refused beside its field, and nothing is connected.
            form.locator("input[name=base_url]").fill("kf.kobotoolbox.org")
            form.locator("input[name=asset_uid]").fill("aTreesFixtureUid")
            form.locator("input[name=credential]").fill(KOBO_TOKEN)
            form.get_by_role("button", name=words["connect"]).click()
            expect(page.locator(".field.has-error")).to_contain_text("https://kf.kobotoolbox.org")
            shoot(page, artifacts, f"servers-error-{lang}")
            form = page.locator("form[data-server-form]")
        form.locator("input[name=base_url]").fill(kobo.base)
        form.locator("input[name=asset_uid]").fill("aTreesFixtureUid")
        form.locator("input[name=credential]").fill(KOBO_TOKEN)
        form.get_by_role("button", name=words["connect"]).click()
        page.wait_for_url(f"**{servers}")
        connection = page.locator("article.connection").last
        expect(connection).to_contain_text(kobo.base)
        shoot(page, artifacts, f"servers-connected-{lang}")

        connection.get_by_role("button", name=words["pull"]).click()
        page.wait_for_url(f"**{servers}pulls/*/")
        pull = page.locator("#server-pull")
        expect(pull.locator("progress")).to_be_visible()
        loaded = page.url
        # htmx swaps the fragment in place until the worker has pulled every page and stored the batch.
        expect(pull).to_have_attribute("data-status", "done", timeout=90_000)
        assert page.url == loaded
        expect(pull.locator("progress")).to_have_attribute("value", "100")
        expect(pull).to_contain_text(words["done"])
        expect(pull.locator(".report")).to_contain_text(words["received"])
        shoot(page, artifacts, f"servers-pull-done-{lang}")

        page.goto(servers)
        expect(page.locator("table.stacked")).to_contain_text(words["history"])
        page.locator("article.connection").last.get_by_role("button", name=words["secret"]).click()
        secret = page.locator("[data-secret]")
        expect(secret).to_contain_text("vcpush_")
        expect(page.locator(".servers-part")).to_contain_text("/kobo-submissions")
        shoot(page, artifacts, f"servers-secret-{lang}")
        # The refused form answers 400 on purpose (chromium logs it); the site has no /favicon.ico.
        expected = ("/favicon.ico)", f"status of 400 (Bad Request) ({demo_with_worker}{servers})")
        assert [e for e in errors if not e.endswith(expected)] == []
    finally:
        context.close()
