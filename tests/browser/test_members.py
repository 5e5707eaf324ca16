"""Members and roles in a real browser: the demo coordinator signs in through the site's page, goes from the
workspace to the organisation's members, adds a person by e-mail (invited), changes their role, removes
it after confirming, and finds the three changes in the audit log. Screenshots of the members and audit
pages at 1280 and 360 px in vi and en go to the artefacts directory; nothing sticks out of a phone screen
and axe finds no serious violation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import missing_browser_requirement, serious_violations
from tests.browser.test_sign_in import WIDTHS, fill_sign_in_form
from tests.browser.test_tracker import overflowing_elements
from voicescount.accounts.demo import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

ORG = "community-dev-centre"
WORDS = {
    "en": {
        "members": "Members and roles",
        "audit": "Audit log",
        "email": "E-mail address",
        "name": "Name",
        "role": "Role",
        "add": "Add the member",
        "change": "Change",
        "remove": "Remove",
        "confirm": "Yes, remove the role",
        "enumerator": "Enumerator",
        "analyst": "Analyst",
        "invited": "An invitation to choose a password was sent",
        "pending": "Invited: has not chosen a password yet",
        "added": "Added {u} as Enumerator",
        "changed": "Changed the role of {u} from Enumerator to Analyst",
        "removed": "Removed {u} from the role Analyst",
        "last": "You are the last coordinator",
    },
    "vi": {
        "members": "Thành viên và vai trò",
        "audit": "Nhật ký hoạt động",
        "email": "Địa chỉ e-mail",
        "name": "Tên",
        "role": "Vai trò",
        "add": "Thêm thành viên",
        "change": "Đổi",
        "remove": "Gỡ",
        "confirm": "Có, gỡ vai trò",
        "enumerator": "Điều tra viên",
        "analyst": "Cán bộ phân tích",
        "invited": "Thư mời chọn mật khẩu đã được gửi",
        "pending": "Đã mời: chưa chọn mật khẩu",
        "added": "Đã thêm {u} với vai trò Điều tra viên",
        "changed": "Đã đổi vai trò của {u} từ Điều tra viên sang Cán bộ phân tích",
        "removed": "Đã gỡ vai trò Cán bộ phân tích của {u}",
        "last": "Bạn là điều phối viên cuối cùng",
    },
}


def sign_in_to(page, lang: str, next_path: str) -> None:
    page.goto(f"/{lang}/accounts/sign-in/?next={next_path}")
    fill_sign_in_form(page, lang, "coordinator", DEMO_PASSWORD)
    page.wait_for_url(f"**{next_path}")


def member_row(page, username: str):
    return page.locator("table.members tbody tr").filter(
        has=page.locator("strong.username", has_text=username)
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_coordinator_adds_a_member_changes_the_role_and_reads_the_log(
    page, js_errors, axe_script, artifacts, lang
):
    words = WORDS[lang]
    username = f"member-test-{lang}"
    sign_in_to(page, lang, f"/{lang}/workspace/")
    page.locator("main").get_by_role("link", name=words["members"]).click()
    expect(page.locator("h1")).to_have_text(words["members"])
    # Adding: the address, a name, the role.
    page.get_by_label(words["email"]).fill(f"{username}@example.org")
    page.get_by_label(words["name"], exact=True).fill("Nguyễn Thị Thử")
    page.get_by_label(words["role"], exact=True).select_option(label=words["enumerator"])
    page.get_by_role("button", name=words["add"]).click()
    expect(page.locator(".messages")).to_contain_text(words["invited"])
    row = member_row(page, username)
    expect(row.locator("td.role")).to_have_text(words["enumerator"])
    expect(row).to_contain_text(words["pending"])
    # Changing the role in the member's row.
    row.locator("select[name=role]").select_option(label=words["analyst"])
    row.get_by_role("button", name=words["change"], exact=True).click()
    expect(page.locator(".messages")).to_contain_text("→")
    expect(member_row(page, username).locator("td.role")).to_have_text(words["analyst"])
    page.screenshot(path=artifacts / f"members-{lang}-after-change.png", full_page=True)
    # The coordinator's own role cannot go: they are the last coordinator.
    member_row(page, "coordinator").get_by_role("link", name=words["remove"]).click()
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.locator(".messages")).to_contain_text(words["last"])
    # Removing the new member's role, after confirming.
    member_row(page, username).get_by_role("link", name=words["remove"]).click()
    expect(page.locator("main strong").filter(has_text=username)).to_be_visible()
    page.screenshot(path=artifacts / f"members-remove-{lang}.png", full_page=True)
    assert serious_violations(page, axe_script) == {}
    page.get_by_role("button", name=words["confirm"]).click()
    expect(member_row(page, username)).to_have_count(0)
    # The audit log, newest first.
    page.locator("main").get_by_role("link", name=words["audit"]).click()
    expect(page.locator("h1")).to_have_text(words["audit"])
    cells = page.locator("table.audit tbody td:nth-child(3)")
    texts = cells.all_inner_texts()
    expected = [words[k].format(u=username) for k in ("removed", "changed", "added")]
    assert [texts.index(text) for text in expected] == sorted(texts.index(text) for text in expected)
    assert f"{username}@example.org" not in page.content()
    page.locator("#audit-action").select_option("member_added")
    page.locator(".audit-filters button").click()
    expect(page.locator("table.audit tbody tr[data-action]")).not_to_have_count(0)
    assert set(page.locator("table.audit tbody tr").evaluate_all("rs => rs.map(r => r.dataset.action)")) == {
        "member_added"
    }
    assert js_errors == []


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_members_and_audit_pages_read_well(chromium, demo_site, axe_script, artifacts, lang, width):
    context = chromium.new_context(base_url=demo_site, viewport=WIDTHS[width], is_mobile=width < 600)
    try:
        page = context.new_page()
        members = f"/{lang}/workspace/organisations/{ORG}/members/"
        sign_in_to(page, lang, members)
        expect(page.locator("table.members")).to_be_visible()
        page.screenshot(path=artifacts / f"members-{lang}-{width}px.png", full_page=True)
        assert overflowing_elements(page) == []
        assert serious_violations(page, axe_script) == {}
        # A refused form: the error summary and the field say what to fix.
        page.get_by_label(WORDS[lang]["email"]).fill("not an address")
        page.get_by_role("button", name=WORDS[lang]["add"]).click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.screenshot(path=artifacts / f"members-error-{lang}-{width}px.png", full_page=True)
        assert overflowing_elements(page) == []
        page.goto(f"/{lang}/workspace/organisations/{ORG}/audit/")
        expect(page.locator("table.audit")).to_be_visible()
        page.screenshot(path=artifacts / f"audit-{lang}-{width}px.png", full_page=True)
        page.screenshot(path=artifacts / f"audit-{lang}-{width}px-screen.png")  # 50 entries: the first screen
        assert overflowing_elements(page) == []
        assert serious_violations(page, axe_script) == {}
    finally:
        context.close()
