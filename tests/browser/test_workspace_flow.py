"""The coordinator's whole study workflow in Vietnamese, in a real browser, on ``voicescount demo`` (it serves
the site and runs its job worker), each step through the pages a coordinator uses — never the admin, the CLI
or the database:

sign in on the site's page → create a study (guided form) → upload its XLSForm and confirm the roles → upload
a KoboToolbox export (a background job: progress, then the report) → fix one quarantined record and discard
another → withdraw one respondent's consent → write an indicator definition with its live preview → compute
(a job) → preview the draft's public page → publish → find the estimate on the public indicator page.

Then the analyst (may compute, may not publish) and the enumerator (may do neither, sees no data). Each page
is photographed at 1280 and 360 px (``tests/browser/artifacts/flow-*.png``) and may not stick out of a phone.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import missing_browser_requirement
from tests.browser.test_sign_in import fill_sign_in_form
from voicescount.accounts.demo import DEMO_PASSWORD
from voicescount.demo.load import PACKAGE

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below with the reason
    expect = None

_MISSING = missing_browser_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]

LANG = "vi"
SLUG = "youth-finance-2026"
RESPONDENTS = 240
CODE = "tai-khoan-thanh-nien"
INDICATOR = "8.10.2"
WS = f"/{LANG}/workspace/studies/{SLUG}"


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def shoot(page, artifacts, name: str) -> None:
    """Screenshots at 1280 and 360 px; at 360 px nothing may stick out sideways."""
    for width, height in ((1280, 900), (360, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"flow-{name}-{LANG}-{width}px.png"), full_page=True)
    assert overflow(page) <= 0, f"the {name} page is {overflow(page)} px wider than a 360 px phone"
    page.set_viewport_size({"width": 1280, "height": 900})


def signed_in_tab(chromium, base_url: str, username: str, errors: list[str], next_url: str):
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico")
            and errors.append(f"{m.text} ({m.location.get('url')})")
        ),
    )
    page.goto(f"/{LANG}/accounts/sign-in/?next={next_url}")
    fill_sign_in_form(page, LANG, username, DEMO_PASSWORD)
    page.wait_for_url(f"**{next_url}")
    return context, page


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A KoboToolbox export of the demo questionnaire: some respondents without consent (quarantined)."""
    from voicescount.demo import survey

    generated = survey.generate_submissions(n=RESPONDENTS, seed=21)
    path = tmp_path_factory.mktemp("flow") / "kobo-export.json"
    path.write_text(json.dumps(survey.kobo_page(generated), ensure_ascii=False), encoding="utf-8")
    adult = next(r for r in generated if r["consent"] == "yes" and int(r["age"]) >= 16)
    return path, adult["respondent_id"]


def runs_on(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf"/indicators/{re.escape(INDICATOR)}/runs/(\d+)/", html)}


def test_a_coordinator_takes_a_study_from_nothing_to_the_public_page_in_vietnamese(
    chromium,
    demo_with_worker,
    artifacts,
    export,
):
    errors: list[str] = []
    export_path, questionnaire_code = export
    context, page = signed_in_tab(chromium, demo_with_worker, "coordinator", errors, f"/{LANG}/workspace/")
    try:
        # 1. A new study, with its methodology, from the workspace's "New study".
        shoot(page, artifacts, "workspace")
        page.locator("main").get_by_role("link", name="Nghiên cứu mới").first.click()
        page.wait_for_url("**/workspace/studies/new/**")
        page.locator("#id_title_vi").fill("Thanh niên và dịch vụ tài chính 2026")
        page.locator("#id_title_en").fill("Youth finance 2026")
        page.locator("#id_method").select_option("household_survey")
        page.locator("#id_period_start").fill("2026-01-05")
        page.locator("#id_period_end").fill("2026-02-27")
        page.locator("#id_areas_filter").fill("da nang")
        page.locator('input[name=areas][value="VN-2025-48"]').check()
        page.locator('input[name=target_groups][value="YOUTH"]').check()
        page.locator('input[name=consent_procedure][value="guardian_assent"]').check()
        page.locator("#id_weight_variable").fill("weight")
        page.locator("#id_strata_variable").fill("stratum")
        page.locator("#id_psu_variable").fill("commune")
        page.locator("#id_is_public").check()
        shoot(page, artifacts, "study-new")
        page.get_by_role("button", name="Tạo nghiên cứu").click()
        page.wait_for_url(f"**{WS}/")
        expect(page.locator(".messages")).to_contain_text("Đã tạo nghiên cứu")

        # 2. Its XLSForm: read, roles confirmed (the names are personal data), added.
        page.locator(".study-nav").get_by_role("link", name="Bảng hỏi", exact=True).click()
        page.wait_for_url(f"**{WS}/instruments/")
        page.locator("input[type=file]").set_input_files(str(PACKAGE / "forms" / "vn_cgd_2022.xlsx"))
        page.get_by_role("button", name="Đọc biểu mẫu").click()
        page.wait_for_url(f"**{WS}/instruments/confirm/")
        expect(page.locator("select[name='role:weight']")).to_have_value("weight")
        shoot(page, artifacts, "form-confirm")
        page.get_by_role("button", name="Thêm biểu mẫu này").click()
        page.wait_for_url(re.compile(rf".*{WS}/instruments/(\d+/)?$"))  # not back on confirm/
        expect(page.locator(".messages")).to_be_visible()
        shoot(page, artifacts, "form-added")

        # 3. A KoboToolbox export, imported by the worker while the job page shows its progress.
        page.locator(f".study-nav a[href='/{LANG}/studies/{SLUG}/import/']").click()
        page.wait_for_url(f"**/{LANG}/studies/{SLUG}/import/")
        page.locator("select[name=instrument]").select_option(index=1)
        page.locator("input[type=file]").set_input_files(str(export_path))
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/{LANG}/studies/{SLUG}/imports/jobs/*/")
        job = page.locator("#import-job")
        expect(job.locator("progress")).to_be_visible()
        expect(job).to_have_attribute("data-status", "done", timeout=120_000)
        expect(job.locator(".report")).to_contain_text(f": {RESPONDENTS}")
        shoot(page, artifacts, "import-report")

        # 4. Quarantine: one record fixed (the consent answer the enumerator forgot), another discarded.
        page.goto(f"{WS}/quarantine/")
        held = page.locator(".quarantine-list > li").filter(
            has=page.locator("code", has_text=re.compile(r"^consent$"))
        )
        before = held.count()
        assert before >= 2, "the export should hold back respondents without consent"
        shoot(page, artifacts, "quarantine")
        held.first.locator("a.locator").click()
        page.wait_for_url(re.compile(r".*/quarantine/\d+/$"))
        page.locator("select[name='a:consent']").select_option("yes")
        shoot(page, artifacts, "quarantine-record")
        page.get_by_role("button", name="Lưu và kiểm tra lại").click()
        page.wait_for_url(f"**{WS}/quarantine/")
        assert held.count() == before - 1
        held.first.locator("a.locator").click()
        page.wait_for_url(re.compile(r".*/quarantine/\d+/$"))
        page.locator("#discard-reason").fill("Phỏng vấn dừng ở câu hỏi đồng ý (ghi chú của nhóm điều tra).")
        page.locator(".quarantine-discard").get_by_role("button").click()
        page.wait_for_url(f"**{WS}/quarantine/")
        assert held.count() == before - 2

        # 5. One respondent withdraws consent: found by the questionnaire code, confirmed, withdrawn.
        page.locator(f".study-nav a[href='{WS}/consent/']").click()
        page.wait_for_url(f"**{WS}/consent/")
        page.locator("#consent-query").fill(questionnaire_code)
        page.locator(".consent-search").get_by_role("button").click()
        expect(page.locator("main")).to_contain_text("Không thể hoàn tác.")
        shoot(page, artifacts, "consent-confirm")
        page.get_by_role("button", name="Rút lại sự đồng ý").click()
        expect(page.locator(".consent-done")).to_contain_text("Đã rút lại sự đồng ý")

        # 6. An indicator definition, with the live preview of its total before it is saved.
        page.goto(f"{WS}/definitions/new/")
        page.locator("#id_indicator").fill(INDICATOR)
        page.locator("#id_code").fill(CODE)
        page.locator("#id_title_en").fill("Young people aged 16 to 30 with an account")
        page.locator("#id_title_vi").fill("Thanh niên 16–30 tuổi có tài khoản")
        page.locator("#id_universe").fill("age >= 16 and age <= 30 and has_account in ['yes', 'no']")
        page.locator("#id_numerator").fill("has_account == 'yes'")
        result = page.locator("#preview-result")
        expect(result).to_contain_text("n (người trả lời)", timeout=30_000)
        expect(result).to_contain_text("Khoảng tin cậy 95%")
        shoot(page, artifacts, "definition-preview")
        page.locator("form.definition-form button[type=submit]").click()
        page.wait_for_url(f"**{WS}/definitions/{CODE}/edit/")
        expect(page.locator(".versions")).to_contain_text("Phiên bản 1")

        # 7. Compute (a job), preview the draft's public page, publish it there.
        public = context.browser.new_context(base_url=demo_with_worker).new_page()
        page.goto(f"{WS}/results/")
        page.locator(".results-compute button[type=submit]").click()
        page.wait_for_url(f"**{WS}/results/jobs/*/")
        compute_job = page.locator("#compute-job")
        expect(compute_job).to_have_attribute("data-status", "done", timeout=120_000)
        shoot(page, artifacts, "compute-job")
        page.locator(f'.job-runs li:has-text("{CODE}") a').click()
        page.wait_for_url(re.compile(r".*/results/runs/\d+/preview/$"))
        draft = int(re.search(r"/runs/(\d+)/preview/", page.url).group(1))
        expect(page.locator(".preview-banner")).to_contain_text("Xem trước — chưa công khai")
        public.goto(f"/{LANG}/indicators/{INDICATOR}/")
        assert draft not in runs_on(public.content()), "a draft is on the public page before it is published"
        shoot(page, artifacts, "preview")
        page.locator(".preview-banner button[type=submit]").click()
        page.wait_for_url(f"**{WS}/results/")
        expect(page.locator(".messages")).to_contain_text("Đã công bố:")
        shoot(page, artifacts, "results")

        # 8. The public indicator page shows it, to a visitor who is not signed in.
        public.reload()
        assert draft in runs_on(public.content())
        expect(public.locator("main")).to_contain_text("Thanh niên và dịch vụ tài chính 2026")
        public.context.close()
        assert errors == []
    finally:
        context.close()


def test_the_analyst_computes_but_does_not_publish_and_the_enumerator_sees_no_data(
    chromium,
    demo_with_worker,
    artifacts,
):
    errors: list[str] = []
    study = "vn-cgd-2022"
    context, page = signed_in_tab(
        chromium, demo_with_worker, "analyst", errors, f"/{LANG}/workspace/studies/{study}/results/"
    )
    try:
        assert page.locator("form[action$='/publish/']").count() == 0  # no Publish button for an analyst
        page.locator(".results-compute input[name=force]").check()
        page.locator(".results-compute button[type=submit]").click()
        page.wait_for_url(f"**/workspace/studies/{study}/results/jobs/*/")
        expect(page.locator("#compute-job")).to_have_attribute("data-status", "done", timeout=120_000)
        page.locator(".job-runs li a").first.click()
        page.wait_for_url(re.compile(r".*/results/runs/\d+/preview/$"))
        assert page.locator(".preview-banner button[type=submit]").count() == 0
        shoot(page, artifacts, "analyst-preview")
        # Publishing by hand, with the page's own CSRF token, is refused.
        run_id = re.search(r"/runs/(\d+)/preview/", page.url).group(1)
        token = page.evaluate("document.cookie.match(/csrftoken=([^;]+)/)?.[1] ?? ''") or page.locator(
            "input[name=csrfmiddlewaretoken]"
        ).first.get_attribute("value")
        refused = page.request.post(
            f"/{LANG}/workspace/studies/{study}/results/runs/{run_id}/publish/",
            headers={"X-CSRFToken": token, "Referer": page.url},
        )
        assert refused.status == 403
    finally:
        context.close()

    context, page = signed_in_tab(
        chromium, demo_with_worker, "enumerator", errors, f"/{LANG}/workspace/studies/{study}/"
    )
    try:
        main = page.locator("main")
        expect(main).not_to_contain_text("Phiếu được chấp nhận")
        assert page.locator(f".study-nav a[href='/{LANG}/studies/{study}/import/']").count() == 0
        shoot(page, artifacts, "enumerator-hub")
        assert page.request.get(f"/{LANG}/studies/{study}/import/").status == 403
        assert page.request.get(f"/{LANG}/workspace/studies/{study}/quarantine/").status == 403
    finally:
        context.close()
    assert errors == []
