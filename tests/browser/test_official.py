"""Official series in a real browser: the coordinator signs in on the site's page, uploads a real SDMX file
(sdg-build's sample, series SI_POV_DAY1 that no table maps), maps the series on the mapping step, saves the
mapping and imports; then uses the saved mapping again. Screenshots of each step at 1280 and 360 px, in
Vietnamese and English, without a JavaScript error or a page wider than the phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import missing_browser_requirement
from tests.browser.test_sign_in import fill_sign_in_form
from voicescount.accounts.demo import DEMO_PASSWORD

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

SDMX = Path(__file__).parents[1] / "indicators" / "data" / "sdg-build_1-1-1_structure-specific.xml"
ORG = "community-dev-centre"
WORDS = {
    "en": {
        "continue": "Continue to the mapping",
        "import": "Import",
        "as it is": "Import with the saved mapping as it is",
        "imported": "6 rows imported",
        "source": "Published by",
    },
    "vi": {
        "continue": "Tiếp tục sang bước ánh xạ",
        "import": "Nhập",
        "as it is": "Nhập với bảng ánh xạ đã lưu, không sửa",
        "imported": "đã nhập 6 dòng",
        "source": "Cơ quan công bố",
    },
}


def shots(page, artifacts: Path, name: str) -> None:
    """The page at 1280 px and at 360 px (a phone), whole; the phone's page must not scroll sideways."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(artifacts / f"{name}-1280px.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / f"{name}-360px.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name}: the page is {width}px wide on a 360px phone"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_coordinator_uploads_maps_saves_and_imports(page, js_errors, artifacts, lang):
    words = WORDS[lang]
    official = f"/{lang}/workspace/organisations/{ORG}/official/"
    page.goto(f"/{lang}/accounts/sign-in/?next={official}")
    fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
    page.wait_for_url(f"**{official}")
    shots(page, artifacts, f"official-upload-{lang}")

    page.locator("input[type=file]").set_input_files(str(SDMX))
    page.get_by_label(words["source"]).fill(f"sdg-build test data ({lang})")
    page.get_by_role("button", name=words["continue"]).click()
    page.wait_for_url(f"**{official}mapping/")
    series = page.locator('input[name="series|SI_POV_DAY1"]')
    # no table knows SI_POV_DAY1 in a fresh demo; after the other language's run, its import suggests it
    assert series.input_value() in ("", "1.1.1")
    series.fill("1.1.1")
    page.locator("#save-as").fill(f"sdg-build UK {lang}")
    shots(page, artifacts, f"official-mapping-{lang}")

    page.get_by_role("button", name=words["import"], exact=True).click()
    page.wait_for_url(f"**{official}report/")
    assert words["imported"] in page.locator("main").inner_text()
    shots(page, artifacts, f"official-report-{lang}")

    # the saved mapping, chosen with a second upload, imports the file as it is
    page.goto(official)
    page.locator("input[type=file]").set_input_files(str(SDMX))
    page.get_by_label(words["source"]).fill(f"sdg-build test data ({lang}, again)")
    page.locator("select[name=saved]").select_option(label=f"sdg-build UK {lang}")
    page.get_by_role("button", name=words["as it is"]).click()
    page.wait_for_url(f"**{official}report/")
    assert words["imported"] in page.locator("main").inner_text()
    page.goto(official)
    assert f"sdg-build UK {lang}" in page.locator("main").inner_text()
    shots(page, artifacts, f"official-upload-after-{lang}")
    assert js_errors == []
