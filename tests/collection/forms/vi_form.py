"""A bilingual (English/Vietnamese) household form built with openpyxl, as coalitions write them."""

from __future__ import annotations

import io

from openpyxl import Workbook

EN, VI = "English (en)", "Tiếng Việt (vi)"
SURVEY_HEADER = [
    "type", "name", f"label::{EN}", f"label::{VI}", f"hint::{EN}", "required", "relevant", "constraint",
    f"constraint_message::{EN}", f"constraint_message::{VI}", "calculation", "appearance",
]  # fmt: skip
SURVEY = [
    ["start", "start"],
    ["end", "end"],
    ["select_one yes_no", "consent", "Do you agree to take part?", "Anh/chị có đồng ý tham gia không?", "",
     "yes"],
    ["text", "ho_ten", "Full name", "Họ và tên", "", "yes", "${consent} = 'yes'"],
    ["text", "so_dien_thoai", "Phone number", "Số điện thoại", "", "", "${consent} = 'yes'",
     "regex(., '^0[0-9]{9}$')", "10 digits starting with 0", "10 chữ số, bắt đầu bằng 0"],
    ["select_one province", "province", "Province", "Tỉnh/thành phố", "", "yes"],
    ["integer", "age", "Age in years", "Tuổi", "completed years", "yes", "",
     ". >= 0 and . <= 120", "0 to 120", "Từ 0 đến 120"],
    ["select_one sex", "sex", "Sex", "Giới tính", "", "yes"],
    ["select_one yes_no", "guardian_consent", "Guardian agrees?", "Người giám hộ đồng ý?", "", "yes",
     "${age} < 16"],
    ["select_one yes_no", "child_assent", "Child agrees?", "Trẻ đồng ý?", "", "yes", "${age} < 16"],
    ["begin_group", "hh", "Household", "Hộ gia đình"],
    ["integer", "hh_size", "Household size", "Số người trong hộ", "", "yes", "", ". >= 1", "at least 1",
     "ít nhất 1"],
    ["begin_repeat", "member", "Member", "Thành viên"],
    ["integer", "member_age", "Member's age", "Tuổi thành viên", "", "yes", "", ". >= 0 and . <= 120"],
    ["select_one wg", "wg_seeing", "Difficulty seeing?", "Khó khăn khi nhìn?", "", "", "${member_age} >= 5"],
    ["end_repeat"],
    ["end_group"],
    ["select_multiple services", "services_used", "Services used", "Dịch vụ đã sử dụng"],
    ["date", "visit_date", "Date of visit", "Ngày thăm", "", "yes", "",
     ". >= date('2020-01-01') and . <= today()"],
    ["decimal", "income", "Monthly income (million VND)", "Thu nhập hằng tháng (triệu đồng)", "", "", "",
     ". >= 0"],
    ["geopoint", "gps", "Location", "Vị trí"],
    ["text", "comment", "Comment", "Ý kiến"],
    ["calculate", "adult", "", "", "", "", "", "", "", "", "if(${age} >= 18, 1, 0)"],
    ["note", "thanks", "Thank you", "Cảm ơn"],
]  # fmt: skip
CHOICES = [
    ["yes_no", "yes", "Yes", "Có"],
    ["yes_no", "no", "No", "Không"],
    ["province", "01", "Ha Noi", "Hà Nội"],
    ["province", "79", "Ho Chi Minh City", "Thành phố Hồ Chí Minh"],
    ["province", "02", "Ha Giang", "Hà Giang"],
    ["sex", "1", "Male", "Nam"],
    ["sex", "2", "Female", "Nữ"],
    ["wg", "1", "No difficulty", "Không khó khăn"],
    ["wg", "2", "Some difficulty", "Khó khăn một phần"],
    ["wg", "3", "A lot of difficulty", "Rất khó khăn"],
    ["wg", "4", "Cannot do at all", "Hoàn toàn không thể"],
    ["services", "health", "Health station", "Trạm y tế"],
    ["services", "school", "School", "Trường học"],
    ["services", "water", "Clean water", "Nước sạch"],
]


def build_vi_form(version: str = "2025.1", *, extra_rows: list[list[str]] | None = None) -> bytes:
    """The form as .xlsx bytes; ``extra_rows`` are appended to the survey sheet."""
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(SURVEY_HEADER)
    for row in SURVEY + (extra_rows or []):
        survey.append(row)
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", f"label::{EN}", f"label::{VI}"])
    for row in CHOICES:
        choices.append(row)
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "version", "form_title", "default_language"])
    settings.append(["vc_household", version, "Khảo sát hộ gia đình", EN])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
