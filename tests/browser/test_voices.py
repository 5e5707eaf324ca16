"""Voices in a real browser: the demo analyst signs in through the site's page, adds a focus group's
transcript by uploading a TXT file, makes an excerpt by selecting its words, and reviews the redactions the
detector proposed (accepts one, rejects one, accepts one with another replacement). Screenshots of each
page at 1280 and 360 px in vi and en; nothing sticks out of a phone screen, axe finds no serious violation."""

from __future__ import annotations

import re

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

STUDY = "vn-cgd-2022"
TRANSCRIPT = (
    "Thảo luận nhóm phụ nữ (dữ liệu tổng hợp, chỉ để thử).\n"
    "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm kể: năm ngoái con gái tôi phải nghỉ học vì trường xa.\n"
    "Nhiều chị em nói trạm y tế chỉ mở buổi sáng.\n"
)
EXCERPT = "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm kể: năm ngoái con gái tôi phải nghỉ học vì trường xa."
WORDS = {
    "en": {
        "voices": "Voices",
        "add": "Add a source",
        "make": "Make an excerpt of the selection",
        "accept": "Accept",
        "reject": "Reject: not personal",
        "accepted": "Accepted",
        "rejected": "Rejected",
    },
    "vi": {
        "voices": "Tiếng nói",
        "add": "Thêm nguồn",
        "make": "Tạo trích đoạn từ phần đã chọn",
        "accept": "Chấp nhận",
        "reject": "Từ chối: không phải thông tin cá nhân",
        "accepted": "Chấp nhận",
        "rejected": "Từ chối",
    },
}

SELECT = """words => {
    const container = document.getElementById('voices-text');
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(words);
        if (at >= 0) {
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + words.length);
            document.getSelection().removeAllRanges();
            document.getSelection().addRange(range);
            return true;
        }
    }
    return false;
}"""


def shoot(page, artifacts, name: str, lang: str, axe_script: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(artifacts / f"voices-{name}-{lang}-1280px.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / f"voices-{name}-{lang}-360px.png"), full_page=True)
    assert overflowing_elements(page) == [], f"elements stick out of a 360 px screen on the {name} page"
    page.set_viewport_size({"width": 1280, "height": 900})
    serious = serious_violations(page, axe_script)
    assert serious == {}, f"serious accessibility violations on the {name} page: {serious}"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_an_analyst_uploads_a_transcript_makes_an_excerpt_and_reviews_it(
    page, js_errors, artifacts, axe_script, lang
):
    words = WORDS[lang]
    page.goto(f"/{lang}/accounts/sign-in/?next=/{lang}/workspace/studies/{STUDY}/")
    fill_sign_in_form(page, lang, "analyst", DEMO_PASSWORD)
    page.wait_for_url(f"**/{lang}/workspace/studies/{STUDY}/")
    page.locator(".study-nav").get_by_role("link", name=words["voices"], exact=True).click()
    page.wait_for_url(f"**/{lang}/workspace/studies/{STUDY}/voices/")
    page.get_by_role("link", name=words["add"], exact=True).click()
    page.locator("#id_title").fill(f"FGD women, commune A ({lang})")
    page.locator("#id_method").select_option("focus_group")
    page.locator("#id_held_on").fill("2026-05-04")
    page.locator("#id_language").select_option("vi")
    page.locator("#id_group_WOMEN").fill("8")
    page.locator("#id_file").set_input_files(
        {"name": "fgd.txt", "mimeType": "text/plain", "buffer": TRANSCRIPT.encode()}
    )
    shoot(page, artifacts, "add", lang, axe_script)
    page.locator(".voices-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/voices/\d+/$"))
    expect(page.locator("#voices-text")).to_contain_text("Nguyễn Thị Lan")

    make = page.get_by_role("button", name=words["make"])
    expect(make).to_be_disabled()
    assert page.evaluate(SELECT, EXCERPT)
    expect(make).to_be_enabled()
    shoot(page, artifacts, "source", lang, axe_script)
    assert page.evaluate(SELECT, EXCERPT)  # the screenshots' resizing may drop the selection
    make.click()
    page.wait_for_url(re.compile(r".*/voices/excerpts/\d+/$"))
    marks = page.locator("#voices-text mark")
    expect(marks).to_have_text(["Nguyễn Thị Lan", "45 tuổi", "thôn Đồng Tâm"])
    shoot(page, artifacts, "review", lang, axe_script)

    items = page.locator(".voices-redactions > li")
    items.nth(0).get_by_role("button", name=words["accept"], exact=True).click()
    expect(items.nth(0)).to_contain_text(words["accepted"])
    items.nth(1).get_by_role("button", name=words["reject"]).click()
    expect(items.nth(1)).to_contain_text(words["rejected"])
    items.nth(2).locator("input[name=replacement]").fill("[a village]")
    items.nth(2).get_by_role("button", name=words["accept"], exact=True).click()
    expect(page.locator(".voices-shown")).to_have_text(
        "Chị [tên], 45 tuổi, ở [a village] kể: năm ngoái con gái tôi phải nghỉ học vì trường xa."
    )
    shoot(page, artifacts, "reviewed", lang, axe_script)
    assert js_errors == []
