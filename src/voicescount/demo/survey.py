"""The demo questionnaire (an XLSForm) and its synthetic submissions in KoboToolbox's API v2 JSON shape.

The data are **synthetic**: drawn from a seeded ``numpy.random.default_rng`` so that the same seed always
gives the same records. They resemble the 2022 household/community survey of a coalition of Vietnamese
CSOs — three macro-regions, six strata (region × urban/rural), communes as primary sampling units with
about twenty interviews each, oversampled youth, people with disabilities, ethnic minorities and
children 11–15 — but describe no real person. Outcomes depend on circumstances (rural residence, ethnic
minority, disability, sex, age) so that "leave no one behind" analysis finds groups that are behind.
About 1% of the records lack consent and about 0.5% are children without guardian consent or assent:
the import must quarantine them.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import numpy as np
from openpyxl import Workbook

FORM_ID = "vn_cgd_2022"
FORM_VERSION = "2022.1"
FORM_TITLE_EN = "Citizen-generated data survey on the SDGs, Viet Nam 2022"
FORM_TITLE_VI = "Khảo sát dữ liệu do người dân tạo ra về các Mục tiêu Phát triển Bền vững, Việt Nam 2022"
EN = "English (en)"
VI = "Tiếng Việt (vi)"
DEFAULT_LANGUAGE = VI
FORMHUB_UUID = uuid.uuid5(uuid.NAMESPACE_URL, "https://voicescount.example/demo/vn_cgd_2022").hex

ADULT = "${age} >= 16"
CHILD = "${age} <= 15"

# --- choice lists ---------------------------------------------------------------------------------------

DK = ("dk", "Don't know", "Không biết")
REFUSED = ("refused", "Prefer not to say", "Không muốn trả lời")

# GSO codes and 2022 names of the provinces in the sample, by survey region.
PROVINCES: dict[str, list[tuple[str, str, str]]] = {
    "north": [
        ("01", "Ha Noi", "Thành phố Hà Nội"),
        ("02", "Ha Giang", "Tỉnh Hà Giang"),
        ("14", "Son La", "Tỉnh Sơn La"),
        ("20", "Lang Son", "Tỉnh Lạng Sơn"),
        ("31", "Hai Phong", "Thành phố Hải Phòng"),
        ("36", "Nam Dinh", "Tỉnh Nam Định"),
    ],
    "central": [
        ("38", "Thanh Hoa", "Tỉnh Thanh Hóa"),
        ("40", "Nghe An", "Tỉnh Nghệ An"),
        ("46", "Thua Thien Hue", "Tỉnh Thừa Thiên Huế"),
        ("48", "Da Nang", "Thành phố Đà Nẵng"),
        ("64", "Gia Lai", "Tỉnh Gia Lai"),
        ("66", "Dak Lak", "Tỉnh Đắk Lắk"),
    ],
    "south": [
        ("79", "Ho Chi Minh City", "Thành phố Hồ Chí Minh"),
        ("75", "Dong Nai", "Tỉnh Đồng Nai"),
        ("84", "Tra Vinh", "Tỉnh Trà Vinh"),
        ("89", "An Giang", "Tỉnh An Giang"),
        ("92", "Can Tho", "Thành phố Cần Thơ"),
        ("94", "Soc Trang", "Tỉnh Sóc Trăng"),
    ],
}

CHOICES: dict[str, list[tuple[str, str, str]]] = {
    "yes_no": [("yes", "Yes", "Có"), ("no", "No", "Không")],
    "yes_no_dk": [("yes", "Yes", "Có"), ("no", "No", "Không"), DK],
    "yes_no_refused": [("yes", "Yes", "Có"), ("no", "No", "Không"), REFUSED],
    "region": [
        ("north", "North", "Miền Bắc"),
        ("central", "Central and Central Highlands", "Miền Trung và Tây Nguyên"),
        ("south", "South", "Miền Nam"),
    ],
    "province": [p for region in PROVINCES.values() for p in region],
    "urban_rural": [
        ("urban", "Urban (ward or township)", "Thành thị (phường, thị trấn)"),
        ("rural", "Rural (commune)", "Nông thôn (xã)"),
    ],
    "sex": [("female", "Female", "Nữ"), ("male", "Male", "Nam"), ("other", "Other", "Khác")],
    "ethnicity": [
        ("kinh_hoa", "Kinh or Hoa", "Kinh hoặc Hoa"),
        ("tay", "Tày", "Tày"),
        ("thai", "Thái", "Thái"),
        ("muong", "Mường", "Mường"),
        ("khmer", "Khmer", "Khmer"),
        ("hmong", "H'Mông", "H'Mông"),
        ("other_em", "Other ethnic minority", "Dân tộc thiểu số khác"),
    ],
    "lgbt": [
        ("yes", "Yes", "Có"),
        ("no", "No", "Không"),
        ("prefer_not", "Prefer not to say", "Không muốn trả lời"),
    ],
    "wg": [
        ("1", "No difficulty", "Không khó khăn"),
        ("2", "Some difficulty", "Có khó khăn một chút"),
        ("3", "A lot of difficulty", "Rất khó khăn"),
        ("4", "Cannot do at all", "Hoàn toàn không thể"),
        ("8", "Don't know", "Không biết"),
        ("9", "Refused", "Từ chối trả lời"),
    ],
    "marital": [
        ("never_married", "Never married", "Chưa kết hôn"),
        ("married", "Married", "Đã kết hôn"),
        ("cohabiting", "Living together as a couple", "Sống chung như vợ chồng"),
        ("separated", "Separated or divorced", "Ly thân hoặc ly hôn"),
        ("widowed", "Widowed", "Góa"),
    ],
    "education": [
        ("none", "No schooling", "Chưa từng đi học"),
        ("primary", "Primary", "Tiểu học"),
        ("lower_secondary", "Lower secondary", "Trung học cơ sở"),
        ("upper_secondary", "Upper secondary", "Trung học phổ thông"),
        ("vocational", "Vocational college", "Trung cấp hoặc cao đẳng nghề"),
        ("tertiary", "University or higher", "Đại học trở lên"),
    ],
    "work_type": [
        ("employee", "Employee (wage or salary)", "Làm công ăn lương"),
        ("own_account", "Own-account or household business", "Tự làm hoặc kinh doanh hộ gia đình"),
        ("family_farm", "Farming on the family's land", "Làm nông nghiệp trên đất của gia đình"),
        ("employer", "Employer", "Chủ cơ sở có thuê lao động"),
    ],
    "poor_list": [
        ("poor", "Poor household", "Hộ nghèo"),
        ("near_poor", "Near-poor household", "Hộ cận nghèo"),
        ("no", "Neither", "Không thuộc diện nào"),
        DK,
    ],
    "benefits": [
        ("social_pension", "Social allowance for older persons", "Trợ cấp xã hội cho người cao tuổi"),
        ("disability_allowance", "Disability allowance", "Trợ cấp cho người khuyết tật"),
        ("poor_support", "Support for poor households", "Hỗ trợ hộ nghèo"),
        ("free_health_insurance", "Free health insurance card", "Thẻ bảo hiểm y tế miễn phí"),
        ("unemployment", "Unemployment benefit", "Trợ cấp thất nghiệp"),
        ("covid_support", "COVID-19 support package", "Gói hỗ trợ do đại dịch COVID-19"),
        ("none", "None of these", "Không nhận khoản nào"),
        DK,
    ],
    "shocks": [
        ("flood_storm", "Flood or storm", "Lũ lụt hoặc bão"),
        ("drought_saltwater", "Drought or saltwater intrusion", "Hạn hán hoặc xâm nhập mặn"),
        ("landslide", "Landslide or flash flood", "Sạt lở đất hoặc lũ quét"),
        ("illness", "Serious illness or death of an earner", "Người lao động chính ốm nặng hoặc qua đời"),
        ("job_loss", "Loss of job or income", "Mất việc làm hoặc thu nhập"),
        ("none", "None of these", "Không gặp sự cố nào"),
    ],
    "awareness": [
        ("know_well", "Heard of it and can explain it", "Đã nghe và có thể giải thích"),
        ("heard", "Heard of it only", "Chỉ mới nghe nói"),
        ("never", "Never heard of it", "Chưa bao giờ nghe"),
    ],
    "violence": [
        ("physical", "Physical violence (hit, kicked, beaten)", "Bạo lực thể chất (bị đánh, đá)"),
        ("psychological", "Threats, insults or humiliation", "Bị đe dọa, lăng mạ hoặc làm nhục"),
        ("sexual", "Sexual violence or harassment", "Bạo lực hoặc quấy rối tình dục"),
        ("none", "None of these", "Không gặp điều nào"),
        REFUSED,
    ],
    "grounds": [
        ("ethnicity", "Ethnicity", "Dân tộc"),
        ("disability", "Disability", "Khuyết tật"),
        ("sex", "Being a woman or a man", "Giới tính"),
        ("sogi", "Sexual orientation or gender identity", "Xu hướng tính dục hoặc bản dạng giới"),
        ("age", "Age", "Tuổi tác"),
        ("poverty", "Being poor", "Hoàn cảnh nghèo"),
        ("religion", "Religion", "Tôn giáo"),
        ("none", "Not discriminated against", "Không bị phân biệt đối xử"),
        REFUSED,
    ],
    "included": [
        ("a_lot", "A lot", "Rất nhiều"),
        ("some", "Some", "Một phần"),
        ("little", "Very little", "Rất ít"),
        ("not_at_all", "Not at all", "Hoàn toàn không"),
        DK,
    ],
    "safety": [
        ("very_safe", "Very safe", "Rất an toàn"),
        ("safe", "Fairly safe", "Khá an toàn"),
        ("unsafe", "Fairly unsafe", "Khá không an toàn"),
        ("very_unsafe", "Very unsafe", "Rất không an toàn"),
        ("never_alone", "Never walk alone after dark", "Không bao giờ đi một mình khi trời tối"),
        DK,
    ],
    "service": [
        (
            "admin",
            "Administrative procedure (papers, certificates)",
            "Thủ tục hành chính (giấy tờ, chứng nhận)",
        ),
        ("health", "Public health facility", "Cơ sở y tế công lập"),
        ("education", "Public school", "Trường công lập"),
        ("none", "None in the last 12 months", "Không sử dụng dịch vụ nào trong 12 tháng qua"),
    ],
    "satisfaction": [
        ("very_satisfied", "Very satisfied", "Rất hài lòng"),
        ("satisfied", "Satisfied", "Hài lòng"),
        ("dissatisfied", "Dissatisfied", "Không hài lòng"),
        ("very_dissatisfied", "Very dissatisfied", "Rất không hài lòng"),
    ],
    "bribe": [
        ("paid", "Yes, paid", "Có, đã đưa"),
        ("asked_not_paid", "Was asked but did not pay", "Bị gợi ý hoặc đòi nhưng không đưa"),
        ("no", "No", "Không"),
        REFUSED,
    ],
    "registered": [
        ("all", "Yes, all of them", "Có, tất cả các cháu"),
        ("some", "Some of them", "Một số cháu"),
        ("none", "None of them", "Không cháu nào"),
        DK,
    ],
}
PROVINCE_REGION = {code: region for region, rows in PROVINCES.items() for code, _, _ in rows}

# --- questions ------------------------------------------------------------------------------------------

WG_DOMAINS = {
    "wg_seeing": (
        "Do you have difficulty seeing, even if wearing glasses?",
        "Anh/chị có khó khăn khi nhìn, kể cả khi đeo kính không?",
    ),
    "wg_hearing": (
        "Do you have difficulty hearing, even if using a hearing aid?",
        "Anh/chị có khó khăn khi nghe, kể cả khi dùng máy trợ thính không?",
    ),
    "wg_walking": (
        "Do you have difficulty walking or climbing steps?",
        "Anh/chị có khó khăn khi đi bộ hoặc leo bậc thang không?",
    ),
    "wg_cognition": (
        "Do you have difficulty remembering or concentrating?",
        "Anh/chị có khó khăn khi ghi nhớ hoặc tập trung không?",
    ),
    "wg_selfcare": (
        "Do you have difficulty with self-care, such as washing all over or dressing?",
        "Anh/chị có khó khăn khi tự chăm sóc bản thân như tắm rửa hoặc mặc quần áo không?",
    ),
    "wg_communication": (
        "Using your usual language, do you have difficulty communicating, for example understanding or "
        "being understood?",
        "Khi dùng ngôn ngữ thường ngày, anh/chị có khó khăn khi giao tiếp, ví dụ hiểu người khác hoặc "
        "được người khác hiểu không?",
    ),
}


def _q(type_: str, name: str, en: str, vi: str, **extra: str) -> dict[str, str]:
    return {"type": type_, "name": name, "en": en, "vi": vi, **extra}


QUESTIONS: list[dict[str, str]] = [
    _q("start", "start", "", ""),
    _q("end", "end", "", ""),
    _q(
        "select_one yes_no",
        "consent",
        "The interviewer has read the information sheet aloud. Do you agree to take part in this survey?",
        "Điều tra viên đã đọc to phiếu thông tin. Anh/chị có đồng ý tham gia khảo sát này không?",
        required="yes",
    ),
    _q(
        "text",
        "respondent_name",
        "Respondent's full name (stored separately and encrypted)",
        "Họ và tên người trả lời (được lưu riêng và mã hóa)",
    ),
    _q("select_one region", "region", "Survey region", "Vùng khảo sát", required="yes"),
    _q(
        "select_one province",
        "province",
        "Province",
        "Tỉnh/thành phố",
        required="yes",
        choice_filter="region=${region}",
    ),
    _q("select_one urban_rural", "urban_rural", "Urban or rural area", "Khu vực", required="yes"),
    _q(
        "text",
        "commune",
        "Commune code (sampling unit)",
        "Mã xã/phường (đơn vị mẫu)",
        required="yes",
        constraint="regex(., '^[0-9]{2}-[0-9]{3}$')",
        constraint_en="Format: province code, dash, three digits (e.g. 01-004)",
        constraint_vi="Định dạng: mã tỉnh, gạch ngang, ba chữ số (ví dụ 01-004)",
    ),
    _q(
        "text",
        "respondent_id",
        "Questionnaire code (commune code, dash, interview number)",
        "Mã phiếu (mã xã, gạch ngang, số thứ tự phỏng vấn)",
        required="yes",
        constraint="regex(., '^[0-9]{2}-[0-9]{3}-[0-9]{3}$')",
    ),
    _q(
        "calculate",
        "stratum",
        "",
        "",
        calculation="concat(${region}, '_', ${urban_rural})",
    ),
    _q(
        "decimal",
        "weight",
        "Design weight (filled in by the survey team)",
        "Trọng số thiết kế (do nhóm khảo sát điền)",
        constraint=". > 0",
    ),
    _q("select_one sex", "sex", "Sex", "Giới tính", required="yes"),
    _q(
        "integer",
        "age",
        "Age in completed years",
        "Tuổi tròn",
        required="yes",
        constraint=". >= 11 and . <= 110",
        constraint_en="The survey interviews people aged 11 and over",
        constraint_vi="Khảo sát chỉ phỏng vấn người từ 11 tuổi trở lên",
    ),
    _q(
        "select_one yes_no",
        "guardian_consent",
        "Has a parent or guardian agreed that the child may take part?",
        "Cha mẹ hoặc người giám hộ có đồng ý cho trẻ tham gia không?",
        required="yes",
        relevant=CHILD,
    ),
    _q(
        "select_one yes_no",
        "child_assent",
        "Does the child agree to take part, after the interviewer explained the survey in simple words?",
        "Sau khi điều tra viên giải thích bằng lời dễ hiểu, em có đồng ý tham gia không?",
        required="yes",
        relevant=CHILD + " and ${guardian_consent} = 'yes'",
    ),
    _q(
        "text",
        "phone",
        "Phone number (for a quality-control call back only)",
        "Số điện thoại (chỉ dùng để gọi lại kiểm tra chất lượng)",
        relevant=ADULT,
    ),
    _q("select_one ethnicity", "ethnicity", "Ethnic group", "Dân tộc", required="yes"),
    _q(
        "select_one lgbt",
        "lgbt",
        "Do you identify as lesbian, gay, bisexual, transgender or another sexual or gender minority?",
        "Anh/chị có xác định mình là người đồng tính, song tính, chuyển giới hoặc thuộc nhóm thiểu số "
        "về giới khác không?",
        required="yes",
        relevant=ADULT,
    ),
    *[_q("select_one wg", name, en, vi, required="yes") for name, (en, vi) in WG_DOMAINS.items()],
    _q(
        "integer",
        "hh_size",
        "How many people live in your household, including you?",
        "Hộ gia đình anh/chị có bao nhiêu người, kể cả anh/chị?",
        required="yes",
        constraint=". >= 1 and . <= 30",
    ),
    _q(
        "select_one yes_no",
        "internet_3m",
        "In the last 3 months, have you used the Internet, anywhere and on any device?",
        "Trong 3 tháng qua, anh/chị có sử dụng Internet ở bất kỳ đâu, trên bất kỳ thiết bị nào không?",
        required="yes",
    ),
    _q(
        "select_one yes_no",
        "owns_cellphone",
        "Do you own a mobile phone?",
        "Anh/chị có điện thoại di động riêng không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one marital",
        "marital",
        "Marital status",
        "Tình trạng hôn nhân",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one education",
        "education",
        "Highest level of education completed",
        "Trình độ học vấn cao nhất đã hoàn thành",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one yes_no",
        "studying",
        "Are you currently in school, university or vocational training?",
        "Hiện anh/chị có đang đi học hoặc học nghề không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one yes_no",
        "worked_7d",
        "In the last 7 days, did you work for at least one hour for pay, profit or the family business?",
        "Trong 7 ngày qua, anh/chị có làm việc ít nhất một giờ để có tiền công, lợi nhuận hoặc cho hoạt "
        "động kinh doanh của gia đình không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one yes_no",
        "looked_for_work",
        "In the last 4 weeks, did you look for work and could you start within two weeks?",
        "Trong 4 tuần qua, anh/chị có tìm việc và có thể bắt đầu làm trong vòng hai tuần không?",
        required="yes",
        relevant=ADULT + " and ${worked_7d} = 'no'",
    ),
    _q(
        "select_one work_type",
        "work_type",
        "In your main job, are you…",
        "Trong công việc chính, anh/chị là…",
        required="yes",
        relevant="${worked_7d} = 'yes'",
    ),
    _q(
        "integer",
        "hours_week",
        "Hours worked in the last 7 days, all jobs",
        "Số giờ làm việc trong 7 ngày qua, tất cả các công việc",
        required="yes",
        relevant="${worked_7d} = 'yes'",
        constraint=". >= 1 and . <= 112",
    ),
    _q(
        "integer",
        "monthly_earnings",
        "Earnings from your main job last month, in thousand dong (leave blank if you prefer not to say)",
        "Thu nhập từ công việc chính tháng trước, nghìn đồng (để trống nếu không muốn trả lời)",
        relevant="${work_type} = 'employee'",
        constraint=". >= 0 and . <= 200000",
    ),
    _q(
        "select_one yes_no_dk",
        "has_account",
        "Do you have an account at a bank or another financial institution, or a mobile-money account?",
        "Anh/chị có tài khoản ngân hàng, tổ chức tài chính khác hoặc tài khoản tiền di động không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one poor_list",
        "poor_list",
        "Is your household on the commune's list of poor or near-poor households?",
        "Hộ gia đình anh/chị có trong danh sách hộ nghèo hoặc cận nghèo của xã không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_multiple benefits",
        "sp_benefit",
        "In the last 12 months, did you receive any of these?",
        "Trong 12 tháng qua, anh/chị có nhận được khoản hỗ trợ nào sau đây không?",
        required="yes",
        relevant=ADULT,
        constraint="not((selected(., 'none') or selected(., 'dk')) and count-selected(.) > 1)",
        constraint_en="'None' and 'Don't know' cannot be combined with other answers",
        constraint_vi="Không thể chọn 'Không nhận khoản nào' hoặc 'Không biết' cùng với phương án khác",
    ),
    _q(
        "select_multiple shocks",
        "shocks",
        "In the last 12 months, was your household directly affected by any of these?",
        "Trong 12 tháng qua, hộ gia đình anh/chị có bị ảnh hưởng trực tiếp bởi sự cố nào sau đây không?",
        required="yes",
        relevant=ADULT,
        constraint="not(selected(., 'none') and count-selected(.) > 1)",
    ),
    _q(
        "select_one awareness",
        "climate_awareness",
        "Have you heard of climate change?",
        "Anh/chị đã từng nghe về biến đổi khí hậu chưa?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_multiple violence",
        "violence_12m",
        "In the last 12 months, has anyone done any of these to you?",
        "Trong 12 tháng qua, anh/chị có bị ai đối xử theo những cách sau đây không?",
        required="yes",
        relevant=ADULT,
        constraint="not((selected(., 'none') or selected(., 'refused')) and count-selected(.) > 1)",
    ),
    _q(
        "select_one yes_no_refused",
        "partner_violence",
        "In the last 12 months, has a husband or partner hit, threatened or forced you to do something?",
        "Trong 12 tháng qua, chồng hoặc bạn đời có đánh, đe dọa hoặc ép buộc chị làm điều gì không?",
        required="yes",
        relevant=ADULT + " and ${sex} = 'female' and ${marital} != 'never_married'",
    ),
    _q(
        "select_multiple grounds",
        "discrimination",
        "In the last 12 months, have you felt discriminated against or harassed because of…",
        "Trong 12 tháng qua, anh/chị có cảm thấy bị phân biệt đối xử hoặc quấy rối vì…",
        required="yes",
        relevant=ADULT,
        constraint="not((selected(., 'none') or selected(., 'refused')) and count-selected(.) > 1)",
    ),
    _q(
        "select_one included",
        "feel_included",
        "How much do you feel that people like you have a say in what the commune authorities do?",
        "Anh/chị cảm thấy những người như anh/chị có tiếng nói thế nào đối với việc chính quyền xã làm?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one yes_no",
        "spoke_meeting",
        "In the last 12 months, did you speak or make a proposal at a village or commune meeting?",
        "Trong 12 tháng qua, anh/chị có phát biểu hoặc đưa ra đề xuất tại cuộc họp thôn hoặc xã không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one safety",
        "safe_night",
        "How safe do you feel walking alone in your area after dark?",
        "Anh/chị cảm thấy an toàn thế nào khi đi bộ một mình quanh nơi ở sau khi trời tối?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one service",
        "last_service",
        "Which public service did you use most recently in the last 12 months?",
        "Trong 12 tháng qua, dịch vụ công nào anh/chị sử dụng gần đây nhất?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one satisfaction",
        "service_satisfaction",
        "How satisfied were you with that service?",
        "Anh/chị hài lòng thế nào với dịch vụ đó?",
        required="yes",
        relevant=ADULT + " and ${last_service} != 'none'",
    ),
    _q(
        "select_one yes_no",
        "official_contact",
        "In the last 12 months, did you have contact with a public official?",
        "Trong 12 tháng qua, anh/chị có tiếp xúc với cán bộ, công chức nhà nước không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "select_one bribe",
        "bribe",
        "Did an official ask you for, or did you give, money, a gift or a favour beyond the official fee?",
        "Cán bộ có gợi ý hoặc anh/chị có đưa tiền, quà hay ân huệ ngoài lệ phí chính thức không?",
        required="yes",
        relevant="${official_contact} = 'yes'",
    ),
    _q(
        "select_one yes_no",
        "knows_report_corruption",
        "Do you know where to report a request for a bribe?",
        "Anh/chị có biết báo cáo việc bị đòi hối lộ ở đâu không?",
        required="yes",
        relevant=ADULT,
    ),
    _q(
        "integer",
        "hh_children_u5",
        "How many children under 5 live in your household?",
        "Hộ gia đình anh/chị có bao nhiêu trẻ em dưới 5 tuổi?",
        required="yes",
        relevant=ADULT,
        constraint=". >= 0 and . <= 10",
    ),
    _q(
        "select_one registered",
        "u5_registered",
        "Do all of them have a birth certificate?",
        "Tất cả các cháu đã có giấy khai sinh chưa?",
        required="yes",
        relevant="${hh_children_u5} > 0",
    ),
    _q(
        "select_one yes_no",
        "child_in_school",
        "Do you go to school this school year?",
        "Năm học này em có đi học không?",
        required="yes",
        relevant=CHILD,
    ),
    _q(
        "select_one yes_no_dk",
        "child_school_accessible",
        "Can a pupil who uses a wheelchair get into the classrooms and toilets of your school?",
        "Học sinh đi xe lăn có thể vào lớp học và nhà vệ sinh ở trường em không?",
        required="yes",
        relevant=CHILD + " and ${child_in_school} = 'yes'",
    ),
    _q(
        "select_one yes_no_refused",
        "child_punished",
        "In the past month, did an adult at home hit you or shout at you to punish you?",
        "Trong tháng qua, có người lớn nào trong nhà đánh hoặc quát mắng để phạt em không?",
        required="yes",
        relevant=CHILD,
    ),
]
QUESTION_BY_NAME = {q["name"]: q for q in QUESTIONS}


def choice_codes(name: str) -> frozenset[str] | None:
    """The choice codes of a select question (``None`` for other questions)."""
    kind = QUESTION_BY_NAME[name]["type"].split()
    if kind[0] not in ("select_one", "select_multiple"):
        return None
    return frozenset(code for code, _, _ in CHOICES[kind[1]])


# --- the XLSForm ----------------------------------------------------------------------------------------

SURVEY_COLUMNS = [
    ("type", "type"),
    ("name", "name"),
    (f"label::{EN}", "en"),
    (f"label::{VI}", "vi"),
    ("required", "required"),
    ("relevant", "relevant"),
    ("constraint", "constraint"),
    (f"constraint_message::{EN}", "constraint_en"),
    (f"constraint_message::{VI}", "constraint_vi"),
    ("calculation", "calculation"),
    ("choice_filter", "choice_filter"),
]


def build_xlsform() -> bytes:
    """The questionnaire as an XLSForm workbook (.xlsx bytes) with English and Vietnamese labels."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append([header for header, _ in SURVEY_COLUMNS])
    for question in QUESTIONS:
        survey.append([question.get(key, "") for _, key in SURVEY_COLUMNS])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", f"label::{EN}", f"label::{VI}", "region"])
    for list_name, items in CHOICES.items():
        for code, en, vi in items:
            region = PROVINCE_REGION.get(code, "") if list_name == "province" else ""
            choices.append([list_name, code, en, vi, region])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language", "instance_name"])
    settings.append(
        [FORM_TITLE_VI, FORM_ID, FORM_VERSION, DEFAULT_LANGUAGE, "concat(${commune}, '-', ${age})"]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the sample design ----------------------------------------------------------------------------------

# (region, urban/rural, population aged 11+ in millions, communes sampled for n = 3,000)
STRATA: list[tuple[str, str, float, int]] = [
    ("north", "urban", 10.0, 25),
    ("north", "rural", 17.0, 30),
    ("central", "urban", 5.5, 20),
    ("central", "rural", 14.0, 30),
    ("south", "urban", 11.5, 20),
    ("south", "rural", 14.0, 25),
]
# Relative chance that a sampled commune of a stratum lies in each province (ethnic-minority provinces
# are oversampled in rural strata).
PROVINCE_WEIGHTS: dict[tuple[str, str], dict[str, float]] = {
    ("north", "urban"): {"01": 5, "31": 2, "36": 1, "14": 0.6, "02": 0.4, "20": 0.6},
    ("north", "rural"): {"01": 2, "31": 1, "36": 2, "14": 2, "02": 1.8, "20": 1.6},
    ("central", "urban"): {"38": 1.5, "40": 1.5, "46": 1.5, "48": 3, "64": 1, "66": 1.2},
    ("central", "rural"): {"38": 2.5, "40": 2.5, "46": 1, "48": 0.3, "64": 2, "66": 2},
    ("south", "urban"): {"79": 5, "75": 1.5, "92": 2, "89": 1, "84": 0.6, "94": 0.7},
    ("south", "rural"): {"79": 0.8, "75": 1.5, "92": 1, "89": 2, "84": 1.8, "94": 2},
}
ETHNICITIES = [code for code, _, _ in CHOICES["ethnicity"]]
# Ethnic composition of the sample in rural communes of each province; urban communes have a third of
# the minority share.
ETHNIC_MIX: dict[str, dict[str, float]] = {
    "01": {"kinh_hoa": 0.97, "muong": 0.02, "tay": 0.01},
    "02": {"hmong": 0.45, "tay": 0.2, "other_em": 0.2, "kinh_hoa": 0.15},
    "14": {"thai": 0.5, "hmong": 0.2, "kinh_hoa": 0.2, "muong": 0.05, "other_em": 0.05},
    "20": {"tay": 0.4, "other_em": 0.35, "kinh_hoa": 0.25},
    "31": {"kinh_hoa": 0.99, "other_em": 0.01},
    "36": {"kinh_hoa": 1.0},
    "38": {"kinh_hoa": 0.7, "muong": 0.15, "thai": 0.13, "other_em": 0.02},
    "40": {"kinh_hoa": 0.82, "thai": 0.12, "hmong": 0.04, "other_em": 0.02},
    "46": {"kinh_hoa": 0.93, "other_em": 0.07},
    "48": {"kinh_hoa": 0.99, "other_em": 0.01},
    "64": {"kinh_hoa": 0.45, "other_em": 0.55},
    "66": {"kinh_hoa": 0.6, "other_em": 0.3, "tay": 0.05, "hmong": 0.05},
    "79": {"kinh_hoa": 0.98, "khmer": 0.01, "other_em": 0.01},
    "75": {"kinh_hoa": 0.93, "other_em": 0.05, "tay": 0.02},
    "84": {"kinh_hoa": 0.67, "khmer": 0.33},
    "89": {"kinh_hoa": 0.9, "khmer": 0.1},
    "92": {"kinh_hoa": 0.97, "khmer": 0.03},
    "94": {"kinh_hoa": 0.6, "khmer": 0.4},
}
MOUNTAIN_PROVINCES = frozenset({"02", "14", "20"})
HIGHLAND_PROVINCES = frozenset({"64", "66"})
MEKONG_COAST_PROVINCES = frozenset({"84", "94"})
# Sample shares of the age groups (children 11–15, youth 16–30, 31–59, 60+) and their population shares
# among people aged 11 and over: the ratio is the oversampling the weights undo.
AGE_GROUPS = [(11, 15), (16, 30), (31, 59), (60, 95)]
AGE_SAMPLE_SHARE = np.array([0.12, 0.35, 0.39, 0.14])
AGE_POPULATION_SHARE = np.array([0.09, 0.27, 0.44, 0.20])
MAX_COMMUNES_FACTOR = 20  # communes per stratum at most 20 times those sampled for n = 3,000
MAX_N = 1_000_000  # beyond this, communes would need four-digit interview numbers
FIELDWORK_START = dt.date(2022, 3, 7)
FIELDWORK_DAYS = 100  # the last commune is visited by mid-June; uploads follow within two days
KOBO_ID_BASE = 182_400_000
VIETNAM = dt.timezone(dt.timedelta(hours=7))

# --- fake names and phone numbers -----------------------------------------------------------------------

_KINH_FAMILY = (
    ["Nguyễn"] * 38 + ["Trần"] * 11 + ["Lê"] * 9 + ["Phạm"] * 7 + ["Hoàng"] * 5 + ["Huỳnh"] * 4
    + ["Phan"] * 4 + ["Vũ"] * 4 + ["Võ"] * 3 + ["Đặng"] * 2 + ["Bùi"] * 2 + ["Đỗ"] * 2 + ["Hồ"] * 2
    + ["Ngô", "Dương", "Lý", "Đinh", "Trương", "Tạ", "Mai", "Cao", "Lương", "Chu"]
)  # fmt: skip
_FAMILY = {
    "kinh_hoa": _KINH_FAMILY,
    "tay": ["Hoàng", "Nông", "Lục", "Ma", "Hà", "Lương", "Triệu"],
    "thai": ["Lò", "Lường", "Quàng", "Cầm", "Tòng", "Vì", "Hà"],
    "muong": ["Bùi", "Đinh", "Quách", "Hà", "Xa"],
    "khmer": ["Thạch", "Sơn", "Kim", "Danh", "Lâm", "Châu"],
    "hmong": ["Giàng", "Vàng", "Sùng", "Thào", "Lầu", "Mua", "Hờ"],
    "other_em": ["Rơ Châm", "Siu", "Ksor", "Rmah", "Niê", "Nông", "Triệu", "Bàn"],
}
_MIDDLE = {
    "female": ["Thị"] * 6 + ["Ngọc", "Thu", "Thanh", "Minh", "Kim", "Phương", "Bảo", "Hồng"],
    "male": ["Văn"] * 6 + ["Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Trung", "Gia"],
}
_MIDDLE_HMONG = {"female": ["Thị", "Mỷ"], "male": ["A", "Seo", "Chứ"]}
_GIVEN = {
    "female": ["Lan", "Hương", "Mai", "Hoa", "Linh", "Trang", "Thảo", "Hạnh", "Ngân", "Phương", "Nhung",
               "Yến", "Vy", "Anh", "Hằng", "Thủy", "Dung", "Hiền", "Nga", "Quyên", "Chi", "Hà", "My"],
    "male": ["Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Hải", "Long", "Sơn", "Thắng", "Cường", "Phúc",
             "Khoa", "Huy", "Bình", "Toàn", "Hiếu", "Khánh", "Tùng", "Quân", "Đạt", "Thịnh", "Lộc"],
}  # fmt: skip
_GIVEN_HMONG = {"female": ["Mai", "Pằng", "Dính", "Súa", "Chở"], "male": ["Páo", "Tủa", "Chư", "Sình", "Dế"]}
_MOBILE_PREFIXES = ["032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078",
                    "079", "081", "082", "083", "084", "085", "086", "088", "090", "091", "093", "094",
                    "096", "097", "098"]  # fmt: skip


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _fake_name(rng: np.random.Generator, ethnicity: str, sex: str) -> str:
    """A plausible Vietnamese full name assembled from syllable lists (not anyone's real name)."""
    gender = sex if sex in ("female", "male") else ("female" if rng.random() < 0.5 else "male")
    family = _pick(rng, _FAMILY[ethnicity])
    if ethnicity == "hmong":
        return f"{family} {_pick(rng, _MIDDLE_HMONG[gender])} {_pick(rng, _GIVEN_HMONG[gender])}"
    given = _pick(rng, _GIVEN[gender])
    if ethnicity == "khmer" and rng.random() < 0.5:  # many Khmer names have no middle name
        return f"{family} {given}"
    return f"{family} {_pick(rng, _MIDDLE[gender])} {given}"


def _fake_phone(rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, size=7))
    return _pick(rng, _MOBILE_PREFIXES) + digits


# --- generating submissions -----------------------------------------------------------------------------


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _draw(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    return rng.random(p.shape[0]) < p


def _categorical(rng: np.random.Generator, probs: np.ndarray, codes: list[str]) -> np.ndarray:
    """One code per row from row-wise probabilities (rows need not sum exactly to 1)."""
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    index = (rng.random(probs.shape[0])[:, None] > cumulative).sum(axis=1)
    return np.array(codes, dtype=object)[np.minimum(index, len(codes) - 1)]


def _multiple(chosen: dict[str, np.ndarray], empty: str) -> np.ndarray:
    """Space-separated codes (KoboToolbox's select_multiple format); ``empty`` when none was chosen."""
    n = next(iter(chosen.values())).shape[0]
    out = np.empty(n, dtype=object)
    for i in range(n):
        picked = [code for code, flags in chosen.items() if flags[i]]
        out[i] = " ".join(picked) if picked else empty
    return out


def _design(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Strata, communes (PSUs) and their provinces; exactly ``n`` interviews.

    About 20 interviews per commune up to ``n = 60,000``; beyond that the number of communes stays
    at 20 times the sample for ``n = 3,000`` (3,000 communes, as many as a province has at most
    three-digit codes for) and communes get more interviews each. Commune codes are the province
    code, a dash and three digits, the form's constraint (``01-004``).
    """
    psu_counts = [max(2, min(MAX_COMMUNES_FACTOR * k, round(k * n / 3000))) for *_, k in STRATA]
    total_psus = sum(psu_counts)
    minimum = min(10, n // total_psus)
    sizes = minimum + rng.multinomial(n - minimum * total_psus, rng.dirichlet(np.full(total_psus, 30.0)))
    if sizes.max() > 999:
        raise ValueError(f"n = {n:,} gives communes of more than 999 interviews; use at most {MAX_N:,}")
    psu_stratum = np.repeat(np.arange(len(STRATA)), psu_counts)
    psu_province = np.empty(total_psus, dtype=object)
    psu_code = np.empty(total_psus, dtype=object)
    used: dict[str, int] = {}
    for j, h in enumerate(psu_stratum):
        region, urban_rural, _, _ = STRATA[h]
        weights = PROVINCE_WEIGHTS[(region, urban_rural)]
        codes = list(weights)
        p = np.array([weights[c] for c in codes], dtype=float)
        province = codes[int(rng.choice(len(codes), p=p / p.sum()))]
        step = 1 + int(rng.integers(0, 3))  # not every commune is listed
        if used.get(province, 0) + step > 999:  # three digits: list the remaining ones without gaps
            step = 1
        used[province] = used.get(province, 0) + step
        if used[province] > 999:
            raise ValueError(f"more than 999 communes sampled in province {province}")
        psu_province[j] = province
        psu_code[j] = f"{province}-{used[province]:03d}"
    psu = np.repeat(np.arange(total_psus), sizes)
    interview = np.arange(psu.shape[0]) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    return {
        "psu": psu,
        "stratum": psu_stratum[psu],
        "province": psu_province[psu],
        "commune": psu_code[psu],
        "interview": interview,
        "psu_stratum": psu_stratum,
        "n_psu": np.array([total_psus]),
    }


def _people(rng: np.random.Generator, design: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Who was interviewed: region, area, sex, age, ethnicity, LGBT identity and WG-SS answers."""
    n = design["psu"].shape[0]
    h = design["stratum"]
    region = np.array([STRATA[s][0] for s in h], dtype=object)
    urban_rural = np.array([STRATA[s][1] for s in h], dtype=object)
    rural = urban_rural == "rural"
    group = rng.choice(4, size=n, p=AGE_SAMPLE_SHARE)
    low = np.array([a for a, _ in AGE_GROUPS])[group]
    high = np.array([b for _, b in AGE_GROUPS])[group]
    age = low + np.floor(rng.random(n) * (high - low + 1)).astype(int)
    older = group == 3
    age[older] = 60 + np.minimum(35, np.floor(rng.exponential(9.0, size=older.sum()))).astype(int)
    child = group == 0
    sex = np.where(rng.random(n) < np.where(child, 0.49, 0.54), "female", "male").astype(object)
    sex[~child & (rng.random(n) < 0.005)] = "other"
    ethnicity = np.empty(n, dtype=object)
    for i in range(n):
        mix = ETHNIC_MIX[design["province"][i]]
        p = np.array([mix.get(e, 0.0) for e in ETHNICITIES])
        if not rural[i]:
            p[1:] /= 3.0
        ethnicity[i] = ETHNICITIES[int(rng.choice(len(ETHNICITIES), p=p / p.sum()))]
    em = ethnicity != "kinh_hoa"
    # Washington Group Short Set: people with a lot of difficulty (or none possible) in some domain
    # are oversampled through disability organisations' lists; older people have more difficulties.
    p_disabled = np.array([0.04, 0.05, 0.09, 0.30])[group] + 0.02 * rural
    disabled = _draw(rng, p_disabled)
    some = np.array([0.04, 0.06, 0.12, 0.30])[group] + 0.15 * disabled
    domains = list(WG_DOMAINS)
    severe_p = np.array([0.2, 0.15, 0.3, 0.15, 0.1, 0.1])
    wg = {d: np.where(rng.random(n) < some, "2", "1").astype(object) for d in domains}
    for i in np.flatnonzero(disabled):
        k = 1 + int(rng.random() < 0.35)
        for d in rng.choice(len(domains), size=k, replace=False, p=severe_p):
            wg[domains[d]][i] = "4" if rng.random() < 0.3 else "3"
    for d in domains:
        u = rng.random(n)
        wg[d][u < 0.01] = "8"
        wg[d][u < 0.004] = "9"
    pwd = np.zeros(n, dtype=bool)
    for d in domains:
        pwd |= np.isin(wg[d], ["3", "4"])
    lgbt_p = np.array([0.0, 0.09, 0.04, 0.015])[group]
    u = rng.random(n)
    lgbt = np.where(u < lgbt_p, "yes", np.where(u < lgbt_p + 0.03, "prefer_not", "no")).astype(object)
    lgbt[sex == "other"] = "yes"
    lgbt[child] = None
    return {
        "region": region,
        "urban_rural": urban_rural,
        "rural": rural,
        "group": group,
        "age": age,
        "child": child,
        "adult": ~child,
        "youth": group == 1,
        "older": older,
        "sex": sex,
        "female": sex == "female",
        "ethnicity": ethnicity,
        "em": em,
        "pwd": pwd,
        "latent_disabled": disabled,
        "lgbt": lgbt,
        **wg,
    }


def _outcomes(rng: np.random.Generator, p: dict[str, np.ndarray], design: dict[str, np.ndarray]) -> dict:
    """Answers that depend plausibly on circumstances; ``None`` where a question is not asked."""
    n = p["age"].shape[0]
    age, adult, child = p["age"], p["adult"], p["child"]
    rural, em, pwd, female = (p[k].astype(float) for k in ("rural", "em", "pwd", "female"))
    youth, older = p["youth"].astype(float), p["older"].astype(float)
    urban = 1.0 - rural
    lgbt = (p["lgbt"] == "yes").astype(float)
    province = design["province"]
    out: dict[str, np.ndarray] = {}

    def only(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        result = np.asarray(values, dtype=object).copy()
        result[~mask] = None
        return result

    def yes_no(mask: np.ndarray, prob: np.ndarray) -> np.ndarray:
        return only(mask, np.where(_draw(rng, prob), "yes", "no"))

    hh_children = np.where(
        adult, np.minimum(4, rng.poisson(np.where((age >= 20) & (age <= 45), 0.6, 0.25))), 0
    )
    out["hh_size"] = np.maximum(1 + hh_children + (~adult), rng.poisson(2.6, size=n) + 1)
    out["internet_3m"] = yes_no(
        np.ones(n, dtype=bool),
        _logistic(1.5 - 0.6 * rural - 0.8 * em - 0.9 * pwd - 2.0 * older + 0.8 * youth + 0.4 * child),
    )
    out["owns_cellphone"] = yes_no(adult, _logistic(2.9 - 0.5 * rural - 0.8 * em - 1.0 * pwd - 1.4 * older))
    marital_p = np.column_stack(
        [
            np.where(age < 25, 0.75, np.where(age < 31, 0.35, 0.06)),
            np.where(age < 25, 0.22, np.where(age < 60, 0.8, 0.62)),
            np.full(n, 0.03),
            np.where(age < 31, 0.01, 0.05),
            np.where(age < 60, 0.01, 0.25),
        ]
    )
    out["marital"] = only(adult, _categorical(rng, marital_p, [c for c, _, _ in CHOICES["marital"]]))
    # Education: a latent attainment score, then the levels reachable at the respondent's age.
    score = rng.normal(np.select([youth == 1, older == 1], [0.9, -0.6], 0.2), 1.0) - 0.5 * rural - 0.8 * em
    score -= 0.9 * pwd
    level = np.digitize(score, [-2.0, -1.1, 0.0, 0.6, 1.0])
    level = np.minimum(level, np.where(age < 18, 2, np.where(age < 22, 4, 5)))
    out["education"] = only(adult, np.array([c for c, _, _ in CHOICES["education"]], dtype=object)[level])
    studying_base = np.select([age <= 18, age <= 24, age <= 30], [1.2, -0.6, -2.7], -4.5)
    studying = _draw(rng, _logistic(studying_base - 0.5 * rural - 0.6 * em - 0.7 * pwd)) & adult
    out["studying"] = only(adult, np.where(studying, "yes", "no"))
    work_logit = (
        1.7 - 0.45 * female - 1.4 * pwd - 2.4 * studying - 1.4 * older - 1.2 * (age >= 70) + 0.2 * rural
    )
    worked = _draw(rng, _logistic(work_logit)) & adult
    out["worked_7d"] = only(adult, np.where(worked, "yes", "no"))
    looking_p = np.where(studying | (age >= 60), 0.03, np.where(p["youth"], 0.2, 0.12))
    looking = _draw(rng, looking_p) & adult & ~worked
    out["looked_for_work"] = only(adult & ~worked, np.where(looking, "yes", "no"))
    work_p = np.column_stack(
        [
            0.62 - 0.24 * rural - 0.1 * em,
            0.28 - 0.06 * rural,
            0.05 + 0.33 * rural + 0.15 * em * rural,
            0.05 - 0.03 * rural,
        ]
    )
    work_type = _categorical(rng, work_p, [c for c, _, _ in CHOICES["work_type"]])
    out["work_type"] = only(worked, work_type)
    hours = np.where(work_type == "family_farm", rng.normal(38, 12, n), rng.normal(46, 9, n))
    out["hours_week"] = only(worked, np.clip(np.round(hours), 4, 84).astype(int))
    employee = worked & (work_type == "employee")
    median = np.where(rural == 1, 5800.0, 7500.0) * np.exp(
        -0.16 * female - 0.22 * pwd - 0.16 * em - 0.15 * youth
    )
    earnings = np.round(median * np.exp(rng.normal(0, 0.45, n)) / 100) * 100
    out["monthly_earnings"] = only(employee & (rng.random(n) > 0.06), earnings.astype(int))
    educated = np.isin(out["education"], ["upper_secondary", "vocational", "tertiary"]).astype(float)
    account_logit = 1.3 - 0.7 * rural - 0.9 * em - 0.6 * pwd - 0.2 * female + 0.5 * employee - 1.3 * older
    account = np.where(_draw(rng, _logistic(account_logit + 0.6 * educated)), "yes", "no").astype(object)
    account[rng.random(n) < 0.012] = "dk"
    out["has_account"] = only(adult, account)
    poor = _draw(rng, _logistic(-3.7 + 1.3 * rural + 1.6 * em + 0.8 * pwd + 0.3 * older))
    near_poor = ~poor & _draw(rng, _logistic(-2.9 + 0.5 * rural + 0.6 * em + 0.5 * pwd))
    poor_list = np.where(poor, "poor", np.where(near_poor, "near_poor", "no")).astype(object)
    poor_list[rng.random(n) < 0.012] = "dk"
    out["poor_list"] = only(adult, poor_list)

    # Shocks hit communes, not single households: a commune is hit or not, then its households.
    psu = design["psu"]
    n_psu = int(design["n_psu"][0])
    psu_region = np.empty(n_psu, dtype=object)
    psu_region[psu] = p["region"]
    psu_province = np.empty(n_psu, dtype=object)
    psu_province[psu] = province
    flood_hit = rng.random(n_psu) < np.select(
        [psu_region == "central", psu_region == "south"], [0.45, 0.2], 0.15
    )
    drought_hit = rng.random(n_psu) < np.where(
        np.isin(psu_province, list(MEKONG_COAST_PROVINCES | HIGHLAND_PROVINCES)), 0.5, 0.05
    )
    slide_hit = rng.random(n_psu) < np.where(np.isin(psu_province, list(MOUNTAIN_PROVINCES)), 0.4, 0.03)
    flood = _draw(rng, np.where(flood_hit[psu], 0.55, 0.03))
    drought = _draw(rng, np.where(drought_hit[psu], 0.5 * (1 + rural) / 2 + 0.1, 0.01))
    slide = _draw(rng, np.where(slide_hit[psu], 0.3, 0.004))
    job_loss = _draw(rng, 0.1 + 0.06 * urban)
    illness = _draw(rng, 0.06 + 0.03 * older)
    out["shocks"] = only(
        adult,
        _multiple(
            {"flood_storm": flood, "drought_saltwater": drought, "landslide": slide, "illness": illness,
             "job_loss": job_loss},
            "none",
        ),
    )  # fmt: skip
    disaster = (flood | drought | slide).astype(float)
    # Social protection: what each circumstance entitles to, taken up imperfectly.
    benefits = {
        "social_pension": _draw(rng, np.where(age >= 80, 0.85, np.where((age >= 60) & poor, 0.5, 0.0))),
        "disability_allowance": pwd.astype(bool) & _draw(rng, _logistic(0.0 - 0.5 * em - 0.3 * rural)),
        "poor_support": _draw(rng, np.where(poor, 0.75, np.where(near_poor, 0.2, 0.0))),
        "free_health_insurance": _draw(
            rng, np.where(poor, 0.85, np.where(near_poor, 0.6, np.where((em == 1) & (rural == 1), 0.7, 0.03)))
        ),
        "unemployment": looking & _draw(rng, np.full(n, 0.15)),
        "covid_support": _draw(rng, np.where(job_loss, 0.4, 0.04)),
    }
    sp = _multiple(benefits, "none")
    sp[rng.random(n) < 0.015] = "dk"
    out["sp_benefit"] = only(adult, sp)
    aware_logit = 0.1 - 0.6 * rural - 1.0 * em - 0.5 * older + 0.7 * educated + 0.6 * disaster
    knows = _draw(rng, _logistic(aware_logit))
    heard = ~knows & _draw(rng, np.full(n, 0.55))
    out["climate_awareness"] = only(adult, np.where(knows, "know_well", np.where(heard, "heard", "never")))
    violence = {
        "physical": _draw(rng, 0.03 + 0.03 * lgbt + 0.02 * pwd),
        "psychological": _draw(rng, 0.08 + 0.08 * lgbt + 0.05 * pwd + 0.03 * female),
        "sexual": _draw(rng, 0.004 + 0.012 * female + 0.03 * lgbt),
    }
    vio = _multiple(violence, "none")
    vio[rng.random(n) < 0.02] = "refused"
    out["violence_12m"] = only(adult, vio)
    partnered = adult & female.astype(bool) & (out["marital"] != "never_married")
    ipv = np.where(_draw(rng, 0.08 + 0.04 * rural + 0.05 * pwd + 0.03 * youth), "yes", "no").astype(object)
    ipv[rng.random(n) < 0.04] = "refused"
    out["partner_violence"] = only(partnered, ipv)
    grounds = {
        "ethnicity": _draw(rng, 0.14 * em + 0.003),
        "disability": _draw(rng, 0.22 * pwd + 0.003),
        "sex": _draw(rng, 0.05 * female + 0.01),
        "sogi": _draw(rng, 0.3 * lgbt),
        "age": _draw(rng, 0.06 * older + 0.04 * youth),
        "poverty": _draw(rng, 0.15 * poor + 0.01),
        "religion": _draw(rng, np.full(n, 0.008)),
    }
    disc = _multiple(grounds, "none")
    disc[rng.random(n) < 0.02] = "refused"
    out["discrimination"] = only(adult, disc)
    included = _logistic(0.2 - 0.4 * female - 0.6 * em - 0.7 * pwd - 0.5 * youth - 0.8 * lgbt + 0.3 * older)
    say = _draw(rng, included)
    feel = np.where(say, np.where(rng.random(n) < 0.35, "a_lot", "some"), "").astype(object)
    feel[~say] = np.where(rng.random((~say).sum()) < 0.6, "little", "not_at_all")
    feel[rng.random(n) < 0.05] = "dk"
    out["feel_included"] = only(adult, feel)
    spoke_logit = -0.6 - 0.7 * female - 0.5 * youth - 0.6 * pwd - 0.2 * em + 0.4 * older + 0.3 * rural
    out["spoke_meeting"] = yes_no(adult, _logistic(spoke_logit))
    safe = _draw(rng, _logistic(1.8 - 0.8 * female - 0.5 * urban - 0.5 * pwd - 0.6 * lgbt))
    night = np.where(safe, np.where(rng.random(n) < 0.4, "very_safe", "safe"), "").astype(object)
    night[~safe] = np.where(rng.random((~safe).sum()) < 0.7, "unsafe", "very_unsafe")
    night[rng.random(n) < 0.03 + 0.05 * older + 0.07 * pwd] = "never_alone"
    night[rng.random(n) < 0.01] = "dk"
    out["safe_night"] = only(adult, night)
    service = _categorical(
        rng, np.tile([0.4, 0.35, 0.12, 0.13], (n, 1)), [c for c, _, _ in CHOICES["service"]]
    )
    out["last_service"] = only(adult, service)
    satisfied = _draw(rng, _logistic(1.6 - 0.3 * em - 0.5 * pwd - 0.3 * rural - 0.3 * (service == "health")))
    sat = np.where(
        satisfied,
        np.where(rng.random(n) < 0.3, "very_satisfied", "satisfied"),
        np.where(rng.random(n) < 0.75, "dissatisfied", "very_dissatisfied"),
    )
    out["service_satisfaction"] = only(adult & (service != "none"), sat)
    contact = _draw(rng, 0.33 + 0.1 * urban) & adult
    out["official_contact"] = only(adult, np.where(contact, "yes", "no"))
    u = rng.random(n)
    paid_p = 0.04 + 0.02 * urban
    bribe = np.select(
        [u < paid_p, u < paid_p + 0.04, u < paid_p + 0.07], ["paid", "asked_not_paid", "refused"], "no"
    )
    out["bribe"] = only(contact, bribe)
    report_logit = -0.3 + 0.5 * urban - 0.8 * em + 0.6 * educated - 0.4 * female
    out["knows_report_corruption"] = yes_no(adult, _logistic(report_logit))
    out["hh_children_u5"] = only(adult, hh_children)
    registered = _draw(rng, _logistic(3.4 - 1.3 * em - 0.8 * rural - 0.6 * pwd))
    reg = np.where(registered, "all", np.where(rng.random(n) < 0.6, "some", "none")).astype(object)
    reg[rng.random(n) < 0.01] = "dk"
    out["u5_registered"] = only(adult & (hh_children > 0), reg)
    school_logit = 3.3 - 0.8 * rural - 1.2 * em - 1.9 * pwd - 0.4 * (age == 15)
    in_school = _draw(rng, _logistic(school_logit))
    out["child_in_school"] = only(child, np.where(in_school, "yes", "no"))
    access = np.where(_draw(rng, _logistic(-0.4 + 0.9 * urban - 0.5 * em)), "yes", "no").astype(object)
    access[rng.random(n) < 0.2] = "dk"
    out["child_school_accessible"] = only(child & in_school, access)
    punished = np.where(_draw(rng, 0.3 + 0.08 * rural), "yes", "no").astype(object)
    punished[rng.random(n) < 0.04] = "refused"
    out["child_punished"] = only(child, punished)
    return out


def _weights(rng: np.random.Generator, p: dict[str, np.ndarray], design: dict[str, np.ndarray]) -> np.ndarray:
    """Design weights: inverse inclusion probabilities within each stratum, undoing the oversampling of
    age groups, people with disabilities and rural ethnic minorities, with non-response adjustment noise;
    each stratum's weights add up to its population aged 11 and over."""
    h = design["stratum"]
    factor = AGE_POPULATION_SHARE[p["group"]] / AGE_SAMPLE_SHARE[p["group"]]
    factor = factor * np.where(p["latent_disabled"], 0.55, 1.0)
    factor = factor * np.where(p["em"] & p["rural"] & (p["region"] != "south"), 0.6, 1.0)
    raw = factor * np.exp(rng.normal(0.0, 0.12, h.shape[0]))
    population = np.array([pop * 1e6 for _, _, pop, _ in STRATA])
    totals = np.bincount(h, weights=raw, minlength=len(STRATA))
    return np.round(raw * population[h] / totals[h], 2)


def _timestamps(rng: np.random.Generator, design: dict[str, np.ndarray]) -> tuple[list, list, list]:
    """Interview start and end (local time) and upload time (UTC, as KoboToolbox reports it)."""
    n_psu = int(design["n_psu"][0])
    visit = rng.integers(0, FIELDWORK_DAYS, size=n_psu)
    psu = design["psu"]
    n = psu.shape[0]
    day = visit[psu] + (rng.random(n) < 0.3)  # a commune takes one or two days
    minutes = rng.integers(7 * 60 + 30, 18 * 60, size=n)
    duration = np.clip(rng.normal(38, 9, n), 18, 80)
    upload = rng.integers(5, 48 * 60, size=n)
    starts, ends, submitted = [], [], []
    for i in range(n):
        start = dt.datetime.combine(FIELDWORK_START, dt.time(), VIETNAM) + dt.timedelta(
            days=int(day[i]), minutes=int(minutes[i]), seconds=int(rng.integers(60))
        )
        end = start + dt.timedelta(minutes=float(duration[i]))
        sent = (end + dt.timedelta(minutes=int(upload[i]))).astimezone(dt.UTC).replace(tzinfo=None)
        starts.append(start.isoformat(timespec="milliseconds"))
        ends.append(end.isoformat(timespec="milliseconds"))
        submitted.append(sent.isoformat(timespec="seconds"))
    return starts, ends, submitted


def _answer(value: Any) -> str | None:
    """KoboToolbox reports every answer as text."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return f"{float(value):.2f}"
    return str(value)


def generate_submissions(n: int = 3000, seed: int = 2022) -> list[dict[str, Any]]:
    """``n`` synthetic submissions in the KoboToolbox API v2 JSON shape, the same for the same seed.

    Each record holds the answers by question name (text, as KoboToolbox reports them; unanswered
    questions are absent; select_multiple answers are space-separated codes) and KoboToolbox's own
    fields: ``_id``, ``_uuid``, ``meta/instanceID`` ("uuid:…"), ``_submission_time`` (UTC, March–June
    2022), ``__version__``, ``formhub/uuid``, ``_xform_id_string``, ``_submitted_by``, ``_status``,
    ``_attachments``, ``_geolocation``, ``_tags``, ``_notes``, ``_validation_status``. Records are in
    submission order.
    """
    if not isinstance(n, int) or n < 200:
        raise ValueError(f"n must be an integer of at least 200 (two communes per stratum), got {n!r}")
    if n > MAX_N:
        raise ValueError(f"n must be at most {MAX_N:,} (three-digit interview numbers), got {n:,}")
    rng = np.random.default_rng(seed)
    design = _design(rng, n)
    people = _people(rng, design)
    answers = _outcomes(rng, people, design)
    weights = _weights(rng, people, design)
    starts, ends, submitted = _timestamps(rng, design)
    # About 1% of the interviews were sent without consent, and about 0.5% of all records are children
    # whose guardian did not agree or who did not assent: the import must hold them back.
    consent = np.where(rng.random(n) < 0.01, "no", "yes").astype(object)
    children = np.flatnonzero(people["child"])
    lacking = rng.choice(children, size=max(2, round(0.005 * n)), replace=False)
    guardian = np.where(people["child"], "yes", None).astype(object)
    assent = guardian.copy()
    guardian[lacking[::2]] = "no"
    assent[lacking[::2]] = None
    assent[lacking[1::2]] = "no"
    uuids = rng.bytes(16 * n)
    enumerator = rng.integers(1, 41, size=int(design["n_psu"][0]))[design["psu"]]
    order = sorted(range(n), key=lambda i: (submitted[i], i))
    records: list[dict[str, Any]] = []
    for rank, i in enumerate(order):
        instance = str(uuid.UUID(bytes=uuids[16 * i : 16 * i + 16], version=4))
        ethnicity, sex = people["ethnicity"][i], people["sex"][i]
        values: dict[str, Any] = {
            "start": starts[i],
            "end": ends[i],
            "consent": consent[i],
            "respondent_name": _fake_name(rng, ethnicity, sex),
            "region": people["region"][i],
            "province": design["province"][i],
            "urban_rural": people["urban_rural"][i],
            "commune": design["commune"][i],
            "respondent_id": f"{design['commune'][i]}-{int(design['interview'][i]):03d}",
            "stratum": f"{people['region'][i]}_{people['urban_rural'][i]}",
            "weight": weights[i],
            "sex": sex,
            "age": people["age"][i],
            "guardian_consent": guardian[i],
            "child_assent": assent[i],
            "phone": _fake_phone(rng) if people["adult"][i] and rng.random() < 0.92 else None,
            "ethnicity": ethnicity,
            "lgbt": people["lgbt"][i],
            **{name: people[name][i] for name in WG_DOMAINS},
            **{name: answers[name][i] for name in QUESTION_BY_NAME if name in answers},
        }
        record = {name: _answer(values[name]) for name in QUESTION_BY_NAME if _answer(values.get(name))}
        record.update(
            {
                "__version__": FORM_VERSION,
                "formhub/uuid": FORMHUB_UUID,
                "meta/instanceID": f"uuid:{instance}",
                "_id": KOBO_ID_BASE + rank,
                "_uuid": instance,
                "_submission_time": submitted[i],
                "_xform_id_string": FORM_ID,
                "_submitted_by": f"vn_cgd_enum{int(enumerator[i]):02d}",
                "_status": "submitted_via_web",
                "_attachments": [],
                "_geolocation": [None, None],
                "_tags": [],
                "_notes": [],
                "_validation_status": {},
            }
        )
        records.append(record)
    return records


def kobo_page(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of KoboToolbox's ``/api/v2/assets/{uid}/data/`` answer holding ``records``."""
    return {"count": len(records), "next": None, "previous": None, "results": list(records)}
