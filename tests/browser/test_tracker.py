"""The public SDG tracker in a real browser: navigation, language switch, the htmx disaggregation picker (also
by keyboard alone), suppressed cells, the CSV download, accessibility (axe-core), a 360 px phone screen, and
screenshots."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

INDICATOR = "1.3.1"
SUPPRESSED_REASON = "Suppressed: too few respondents"
PAGES = {
    "home": "/en/",
    "goal": "/en/goals/1/",
    "indicator": f"/en/indicators/{INDICATOR}/",
    "map": "/en/map/",
}
# Serious accessibility problems known but not yet fixed (page → rule ids), with the fix to make. A page
# showing only these is an expected failure; any other serious or critical violation fails. Empty: the
# goal tiles' contrast and the charts' nested menu / unlabelled SVG were fixed in site.css and charts.js.
KNOWN_VIOLATIONS: dict[str, set[str]] = {}
KNOWN_FIXES: dict[str, str] = {}
# Pages known to scroll sideways on a 360 px screen, with the fix to make (none at present).
KNOWN_NARROW_SCREEN_PROBLEMS: dict[str, str] = {}


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def wait_for_charts(page) -> None:
    """Vega draws the charts after the page has loaded; wait until every chart container holds its SVG."""
    page.wait_for_load_state("networkidle")
    for chart in page.locator(".vega-chart").all():
        expect(chart.locator("svg").first).to_be_attached()


def three_way_breakdown(select) -> tuple[str, str]:
    """The first option of a disaggregation picker that crosses three dimensions: (value, label)."""
    options = select.locator("option").evaluate_all("els => els.map(e => [e.value, e.textContent])")
    for value, label in options:
        if len(value.split(",")) == 3:
            return value, label
    raise AssertionError(f"the picker offers no three-dimension breakdown: {[v for v, _ in options]}")


def pick_three_way_breakdown(page):
    """Choose a three-dimension breakdown in the first picker; returns the swapped block and the label."""
    select = page.locator("form.picker select[name='by']").first
    value, label = three_way_breakdown(select)
    target = select.evaluate("el => el.form.getAttribute('hx-target')")
    with page.expect_response(
        lambda r: "/runs/" in r.url and f"by={value.replace(',', '%2C')}" in r.url
    ) as info:
        select.select_option(value)
    response = info.value
    assert response.ok, f"{response.url} answered {response.status}"
    assert response.request.headers.get("hx-request") == "true", "the picker should fetch through htmx"
    block = page.locator(target)
    expect(block.locator("caption")).to_contain_text(label)
    return block, label


def test_home_page_lists_the_17_goals(page, artifacts, js_errors):
    page.goto("/vi/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    tiles = page.locator("ul.goal-grid li.goal-tile")
    expect(tiles).to_have_count(17)
    assert [int(n) for n in tiles.locator(".goal-number").all_inner_texts()] == list(range(1, 18))
    page.screenshot(path=artifacts / "home-vi.png", full_page=True)
    assert js_errors == []


def test_language_link_switches_vietnamese_to_english(page):
    page.goto("/vi/goals/1/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    vietnamese_title = page.locator("h1").inner_text()
    page.locator("nav.lang a[hreflang='en']").click()
    page.wait_for_load_state()
    assert path_of(page.url) == "/en/goals/1/", "the language link should keep the reader on the same page"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav.lang [aria-current='true']")).to_have_text("EN")
    expect(page.locator("h1")).to_contain_text("No poverty", ignore_case=True)
    assert page.locator("h1").inner_text() != vietnamese_title
    expect(page.locator("main h2").first).to_have_text("Targets and indicators")


def test_goal_page_leads_to_the_indicator_and_its_estimate(page, js_errors):
    page.goto("/en/goals/1/")
    page.locator(f"a[href='/en/indicators/{INDICATOR}/']").click()
    page.wait_for_load_state()
    assert path_of(page.url) == f"/en/indicators/{INDICATOR}/"
    expect(page.locator("h1")).to_contain_text(INDICATOR)
    headline = page.locator("section.evidence .headline").first
    expect(headline.locator(".value")).to_have_text(re.compile(r"^\d+(\.\d+)?%$"))
    expect(headline.locator(".ci")).to_have_text(
        re.compile(r"95% confidence interval \d+(\.\d+)? – \d+(\.\d+)?")
    )
    expect(headline.locator(".n")).to_have_text(re.compile(r"^\d+ respondents$"))
    expect(page.locator("section.evidence table.data").first).to_be_visible()
    wait_for_charts(page)
    assert js_errors == []


def test_picker_swaps_the_table_without_a_page_load(page, artifacts, js_errors):
    page.goto(f"/en/indicators/{INDICATOR}/")
    wait_for_charts(page)
    page.evaluate("window.__sameDocument = true")
    loads = []
    page.on("load", lambda _: loads.append(page.url))
    block, label = pick_three_way_breakdown(page)
    assert loads == [], f"choosing a breakdown reloaded the page: {loads}"
    assert page.evaluate("window.__sameDocument") is True
    assert path_of(page.url) == f"/en/indicators/{INDICATOR}/"
    groups = block.locator("tbody th[scope='row']").all_inner_texts()
    assert len(groups) >= 8, f"a {label} table should have many groups, got {groups}"
    assert all(group.count(", ") == 2 for group in groups), f"groups should name three categories: {groups}"
    expect(block.locator(".vega-chart svg").first).to_be_attached()
    page.screenshot(path=artifacts / f"indicator-{INDICATOR}-three-way.png", full_page=True)
    assert js_errors == []


def test_keyboard_alone_skips_to_the_content_and_changes_the_breakdown(page, js_errors):
    """Tab reaches the skip link first, Enter moves focus to the main content, Tab reaches the picker, and
    the arrow keys change the breakdown (htmx swaps the table) without a mouse."""
    page.goto(f"/en/indicators/{INDICATOR}/")
    wait_for_charts(page)
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_class(re.compile(r"\bskip-link\b"))
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    select = page.locator("form.picker select[name='by']").first
    for _ in range(80):  # links of the definition and study notes come first
        page.keyboard.press("Tab")
        if select.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("the disaggregation picker cannot be reached with the Tab key")
    target = select.evaluate("el => el.form.getAttribute('hx-target')")
    before = page.locator(target).locator("caption").inner_text()
    with page.expect_response(lambda r: "/runs/" in r.url and "by=" in r.url) as info:
        page.keyboard.press("ArrowDown")
    assert info.value.ok
    expect(page.locator(target).locator("caption")).not_to_have_text(before)
    assert js_errors == []


def test_suppressed_cell_shows_its_reason(page):
    page.goto(f"/en/indicators/{INDICATOR}/")
    block, _ = pick_three_way_breakdown(page)
    suppressed = block.locator("tbody tr.suppressed")
    assert suppressed.count() >= 1, "400 respondents crossed three ways should leave some cells too small"
    row = suppressed.first
    cells = row.locator("td").all_inner_texts()
    assert cells[0].strip() == "suppressed", f"the estimate and interval should be replaced: {cells}"
    assert cells[-1].startswith(SUPPRESSED_REASON), f"the note should give the reason: {cells}"
    assert not re.search(r"\d+\.\d", cells[0]), "a suppressed row must not show an estimate"


def test_csv_download_has_the_header_and_flags(page):
    page.goto(f"/en/indicators/{INDICATOR}/")
    link = page.locator("p.downloads a", has_text=re.compile(r"^CSV$")).first
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert re.fullmatch(rf"voicescount-{re.escape(INDICATOR)}-[\w-]+\.csv", download.suggested_filename)
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    for column in ("indicator", "estimate", "ci_low", "ci_high", "n", "flag", "flag_reason"):
        assert column in header, f"CSV header lacks {column!r}: {header}"
    assert body, "the CSV has no data rows"
    assert all(len(row) == len(header) for row in body), "every CSV row should have one value per column"
    assert {row[header.index("indicator")] for row in body} == {INDICATOR}
    flags = {row[header.index("flag")] for row in body}
    assert "suppressed_small" in flags, f"the CSV should carry the suppression flag, got {flags}"
    for row in body:
        flag, reason = row[header.index("flag")], row[header.index("flag_reason")]
        if flag.startswith("suppressed"):
            assert row[header.index("estimate")] == "", f"a suppressed row publishes an estimate: {row}"
            assert reason.startswith("Suppressed"), f"a suppressed row gives no reason: {row}"
        if flag == "suppressed_small":
            assert reason.startswith(SUPPRESSED_REASON), row


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(page, axe_script, artifacts, name):
    page.goto(PAGES[name])
    wait_for_charts(page)
    page.screenshot(path=artifacts / f"{name}-en.png", full_page=True)
    serious = serious_violations(page, axe_script)
    known = KNOWN_VIOLATIONS.get(name, set())
    unexpected = {rule: targets for rule, targets in serious.items() if rule not in known}
    assert unexpected == {}, f"serious accessibility violations on {PAGES[name]}: {unexpected}"
    if serious:
        pytest.xfail(f"known violations on {PAGES[name]}: {sorted(serious)}; fix: {KNOWN_FIXES[name]}")


def overflowing_elements(page) -> list[str]:
    """Outermost elements whose right edge lies beyond the viewport (what makes a page scroll sideways)."""
    return page.evaluate(
        """() => {
            const edge = document.documentElement.clientWidth + 0.5;
            const sticksOut = e => e.getBoundingClientRect().right > edge;
            // Content in a container that scrolls sideways by itself (wide tables) does not move the page.
            const inScroller = e => {
                for (let p = e.parentElement; p; p = p.parentElement) {
                    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
                }
                return false;
            };
            return [...document.querySelectorAll('body *')]
                .filter(e => sticksOut(e) && !inScroller(e)
                    && !(e.parentElement && sticksOut(e.parentElement)))
                .map(e => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className
                    ? '.' + e.className.trim().split(/\\s+/).join('.') : ''));
        }"""
    )


@pytest.mark.parametrize("name", ["home", "indicator"])
def test_page_fits_a_360px_phone_screen(chromium, demo_site, artifacts, name):
    context = chromium.new_context(base_url=demo_site, viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(PAGES[name])
        wait_for_charts(page)
        page.screenshot(path=artifacts / f"{name}-360px.png", full_page=True)
        widths = page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth,"
            " client: document.documentElement.clientWidth})"
        )
        assert widths["client"] == 360
        wider = overflowing_elements(page)
        if name in KNOWN_NARROW_SCREEN_PROBLEMS and wider:
            pytest.xfail(
                f"{PAGES[name]} is {widths['scroll']} px wide at 360 px because of {wider}; "
                f"fix: {KNOWN_NARROW_SCREEN_PROBLEMS[name]}"
            )
        assert widths["scroll"] <= widths["client"], f"{PAGES[name]} scrolls sideways at 360 px: {widths}"
        assert wider == [], f"elements stick out of a 360 px screen on {PAGES[name]}: {wider}"
    finally:
        context.close()
