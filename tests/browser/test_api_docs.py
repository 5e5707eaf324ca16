"""The API documentation page, /api/docs, in a real browser: Swagger UI, served by the site itself, lists
every operation of the OpenAPI description and runs one, and the page asks no other host for anything (it
loaded Swagger UI from a CDN, and was blank offline)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import missing_browser_requirement

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]


@pytest.fixture
def requests_elsewhere(page, demo_site):
    """Requests of the page to any host but the demo site's, refused (as offline) and listed."""
    own = urlsplit(demo_site).netloc
    refused: list[str] = []

    def route(route):
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != own:
            refused.append(url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", route)
    return refused


def test_the_docs_list_every_operation_from_local_assets(
    page, demo_site, requests_elsewhere, js_errors, artifacts
):
    description = page.request.get(f"{demo_site}/api/openapi.json").json()
    operations = {
        (method.upper(), path) for path, methods in description["paths"].items() for method in methods
    }
    page.goto("/api/docs")
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    shown = {
        (
            block.locator(".opblock-summary-method").inner_text().strip(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    }
    assert shown == operations
    assert requests_elsewhere == []
    assert js_errors == []
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)


def test_an_operation_runs_from_the_docs(page, requests_elsewhere, js_errors):
    page.goto("/api/docs")
    goals = page.locator(".opblock").filter(has=page.locator('[data-path="/api/v1/goals"]'))
    goals.locator(".opblock-summary").click()
    goals.get_by_role("button", name="Try it out").click()
    goals.get_by_role("button", name="Execute").click()
    status = goals.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text("200")
    expect(goals.locator(".live-responses-table .microlight").first).to_contain_text('"number": 1')
    assert requests_elsewhere == []
    assert js_errors == []
