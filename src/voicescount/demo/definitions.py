"""Indicator definitions, sampling design and study metadata of the demo study (see ``demo/survey.py``).

The source of the demo's study package, ``demo/package/`` (written by ``scripts/make_demo_package.py``;
a test checks that the committed package is what this module gives): the demo is loaded from the
package, and the tests that check the demo's definitions read them here.

Each definition names the UN global indicator it contributes to (codes of the framework after the 2025
comprehensive review, ``framework/data/global-framework.csv``), who is asked (``universe``) and what
counts (``numerator`` for a proportion, ``value`` for a mean) in the expression language of
``indicators/expressions.py`` over the questionnaire's question names. Citizen-generated data rarely
measure an indicator exactly as its UN metadata define it: ``notes_en``/``notes_vi`` say how each
definition differs, and ``direction`` whether a higher value is better or worse. The Vietnamese texts
are the project's own translation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from voicescount.demo.survey import FORM_ID, FORM_VERSION

# Which way each definition is good (``IndicatorDefinition.direction``): it decides who is furthest behind.
# Stated for every definition, though most equal their indicator's (framework/data/indicator_direction.csv):
# school attendance is higher-is-better where 4.5.1 itself (parity indices) is neutral.
HIGHER_BETTER, HIGHER_WORSE = "higher_better", "higher_worse"

# --- disaggregation dimensions ------------------------------------------------------------------------

SEX = {"code_list": "SEX", "source": "sex", "codes": {"female": "F", "male": "M"}}
# Age bins are [lowest, highest, code], both ends included; each code says the ages it holds (adults are
# 16 and over, so the youngest adults are Y16T24, not the SDG's Y15T24). Y16T24 and Y25T59 are not in the
# AGE code list: framework.labels words them from the code ("16 to 24 years old").
AGE_ADULTS = {
    "code_list": "AGE",
    "source": "age",
    "bins": [[16, 24, "Y16T24"], [25, 59, "Y25T59"], [60, 200, "Y_GE60"]],
}
AGE_ALL = {
    "code_list": "AGE",
    "source": "age",
    "bins": [[11, 15, "Y11T15"], [16, 24, "Y16T24"], [25, 59, "Y25T59"], [60, 200, "Y_GE60"]],
}
DISABILITY = {"code_list": "DISABILITY_STATUS", "source": "@wg_disability"}
URBANISATION = {"code_list": "URBANISATION", "source": "urban_rural", "codes": {"urban": "U", "rural": "R"}}
REGION = {
    "code_list": "REGION",
    "source": "region",
    "codes": {"north": "VN-R3-N", "central": "VN-R3-C", "south": "VN-R3-S"},
}
ETHNICITY = {
    "code_list": "ETHNICITY",
    "source": "ethnicity",
    "codes": {
        "kinh_hoa": "KINH_HOA",
        "tay": "EM",
        "thai": "EM",
        "muong": "EM",
        "khmer": "EM",
        "hmong": "EM",
        "other_em": "EM",
    },
}
# The respondent's province, as in 2022 (the 63 provinces): the indicator map follows the data's period.
# "@province_2025" would re-code it to the 34 provinces in force from 1 July 2025.
PROVINCE = {"code_list": "AREA", "source": "@province"}
ALL_ADULT_DIMENSIONS = [SEX, AGE_ADULTS, DISABILITY, URBANISATION, REGION, ETHNICITY, PROVINCE]
FULL_INTERSECTIONS = [
    ["SEX", "AGE"],
    ["REGION", "URBANISATION"],
    ["SEX", "DISABILITY_STATUS", "ETHNICITY"],
    ["REGION", "SEX", "AGE", "URBANISATION", "DISABILITY_STATUS"],
]
SMALL_INTERSECTIONS = [
    ["SEX", "URBANISATION"],
    ["REGION", "URBANISATION"],
    ["DISABILITY_STATUS", "ETHNICITY"],
]

# The WG-SS "disability 3" identifier (a lot of difficulty or cannot do at all in at least one domain),
# written in the expression language for universes restricted to persons with disabilities.
PWD = (
    "(wg_seeing in [3, 4] or wg_hearing in [3, 4] or wg_walking in [3, 4] or wg_cognition in [3, 4] "
    "or wg_selfcare in [3, 4] or wg_communication in [3, 4])"
)
ADULT = "age >= 16"
CASH_BENEFITS = (
    "selected(sp_benefit, 'social_pension') or selected(sp_benefit, 'disability_allowance') "
    "or selected(sp_benefit, 'poor_support') or selected(sp_benefit, 'unemployment')"
)


def _default_intersections(dimensions: list[dict[str, Any]] | None) -> list[list[str]]:
    """The full set; with the default dimensions also the provinces on their own (for the map)."""
    return FULL_INTERSECTIONS + [["AREA"]] if dimensions is None else FULL_INTERSECTIONS


def _proportion(
    code: str,
    indicator: str,
    title_en: str,
    title_vi: str,
    universe: str,
    numerator: str,
    notes_en: str,
    notes_vi: str,
    dimensions: list[dict[str, Any]] | None = None,
    intersections: list[list[str]] | None = None,
    *,
    direction: str,
) -> dict[str, Any]:
    return {
        "code": code,
        "indicator": indicator,
        "kind": "proportion",
        "title_en": title_en,
        "title_vi": title_vi,
        "universe": universe,
        "numerator": numerator,
        "unit": "PT",
        "dimensions": ALL_ADULT_DIMENSIONS if dimensions is None else dimensions,
        "intersections": _default_intersections(dimensions) if intersections is None else intersections,
        "notes_en": notes_en,
        "notes_vi": notes_vi,
        "direction": direction,
    }


DEFINITIONS: list[dict[str, Any]] = [
    _proportion(
        "sp-coverage",
        "1.3.1",
        "People aged 16+ receiving at least one social protection cash benefit",
        "Tỷ lệ người từ 16 tuổi trở lên nhận ít nhất một khoản trợ cấp bảo trợ xã hội bằng tiền",
        f"{ADULT} and not is_missing(sp_benefit) and not selected(sp_benefit, 'dk')",
        CASH_BENEFITS,
        "Self-reported receipt in the last 12 months of a social allowance for older persons, a disability "
        "allowance, support for poor households or an unemployment benefit. Free health insurance and "
        "one-off COVID-19 support are not counted. The UN indicator counts effective coverage from "
        "administrative records; this is the respondents' own account.",
        "Người trả lời tự khai đã nhận trong 12 tháng qua trợ cấp xã hội cho người cao tuổi, trợ cấp khuyết "
        "tật, hỗ trợ hộ nghèo hoặc trợ cấp thất nghiệp. Không tính thẻ bảo hiểm y tế miễn phí và hỗ trợ "
        "COVID-19 một lần. Chỉ tiêu của Liên Hợp Quốc dựa trên số liệu hành chính; đây là thông tin do "
        "người dân tự cung cấp.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "sp-disability-allowance",
        "1.3.1",
        "Persons with disabilities aged 16+ receiving a disability allowance",
        "Tỷ lệ người khuyết tật từ 16 tuổi trở lên nhận trợ cấp khuyết tật",
        f"{ADULT} and {PWD} and not is_missing(sp_benefit) and not selected(sp_benefit, 'dk')",
        "selected(sp_benefit, 'disability_allowance')",
        "Persons with disabilities are identified with the Washington Group Short Set (a lot of difficulty "
        "or cannot do at all in at least one domain). The 1.3.1 disaggregation 'persons with severe "
        "disabilities collecting disability benefits', as respondents report it.",
        "Người khuyết tật được xác định theo Bộ câu hỏi ngắn của Nhóm Washington (rất khó khăn hoặc hoàn "
        "toàn không thể ở ít nhất một lĩnh vực). Tương ứng với phân tổ 'người khuyết tật nặng nhận trợ cấp' "
        "của chỉ tiêu 1.3.1, theo lời kể của người trả lời.",
        dimensions=[SEX, AGE_ADULTS, URBANISATION, REGION, ETHNICITY],
        intersections=[["SEX", "URBANISATION"], ["REGION", "URBANISATION"]],
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "poor-household-list",
        "1.2.2",
        "People aged 16+ living in a household on the commune's poor or near-poor list",
        "Tỷ lệ người từ 16 tuổi trở lên sống trong hộ thuộc danh sách hộ nghèo hoặc cận nghèo của xã",
        f"{ADULT} and poor_list in ['poor', 'near_poor', 'no']",
        "poor_list in ['poor', 'near_poor']",
        "Viet Nam's poor and near-poor household lists apply the national multidimensional poverty "
        "standard for 2022–2025; here the respondent says whether the household is listed. Near-poor "
        "households are included, so the figure is above the national poverty rate.",
        "Danh sách hộ nghèo, cận nghèo áp dụng chuẩn nghèo đa chiều quốc gia giai đoạn 2022–2025; ở đây "
        "người trả lời cho biết hộ có trong danh sách hay không. Có tính cả hộ cận nghèo nên con số cao hơn "
        "tỷ lệ hộ nghèo quốc gia.",
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "disaster-affected",
        "1.5.1",
        "People aged 16+ whose household was directly affected by a disaster in the last 12 months",
        "Tỷ lệ người từ 16 tuổi trở lên có hộ gia đình bị ảnh hưởng trực tiếp bởi thiên tai trong 12 "
        "tháng qua",
        f"{ADULT} and not is_missing(shocks)",
        "selected(shocks, 'flood_storm') or selected(shocks, 'drought_saltwater') or selected(shocks, "
        "'landslide')",
        "Floods, storms, drought, saltwater intrusion, landslides and flash floods. The UN indicator "
        "(repeated "
        "as 13.1.1) counts directly affected persons per 100,000 population from disaster-loss databases; "
        "multiply the percentage by 1,000 for that unit.",
        "Gồm lũ lụt, bão, hạn hán, xâm nhập mặn, sạt lở đất và lũ quét. Chỉ tiêu của Liên Hợp Quốc (lặp "
        "lại ở "
        "13.1.1) tính số người bị ảnh hưởng trực tiếp trên 100.000 dân từ cơ sở dữ liệu thiệt hại do "
        "thiên tai; "
        "nhân tỷ lệ phần trăm với 1.000 để có đơn vị đó.",
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "climate-awareness",
        "13.3.1",
        "People aged 16+ who have heard of climate change and can explain it",
        "Tỷ lệ người từ 16 tuổi trở lên đã nghe về biến đổi khí hậu và có thể giải thích",
        f"{ADULT} and not is_missing(climate_awareness)",
        "climate_awareness == 'know_well'",
        "A complementary measure of target 13.3 (awareness of climate change). Indicator 13.3.1 itself "
        "measures how education policies and curricula mainstream sustainable development; it is linked "
        "here because it is the only indicator of the target.",
        "Thước đo bổ sung cho mục tiêu cụ thể 13.3 (nâng cao nhận thức về biến đổi khí hậu). Bản thân chỉ "
        "tiêu 13.3.1 đo mức độ lồng ghép giáo dục phát triển bền vững vào chính sách và chương trình giáo "
        "dục; được liên kết ở đây vì đó là chỉ tiêu duy nhất của mục tiêu cụ thể này.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "lower-secondary-completion",
        "4.1.2",
        "Young people aged 17–30 who completed lower secondary school",
        "Tỷ lệ thanh niên 17–30 tuổi đã hoàn thành trung học cơ sở",
        "age >= 17 and age <= 30 and not is_missing(education)",
        "education in ['lower_secondary', 'upper_secondary', 'vocational', 'tertiary']",
        "UNESCO computes the completion rate for the age group 3–5 years above the graduation age (17–19 "
        "in Viet Nam); the wider age band 17–30 gives enough respondents for breakdowns.",
        "UNESCO tính tỷ lệ hoàn thành cho nhóm tuổi cao hơn tuổi tốt nghiệp 3–5 năm (17–19 tuổi ở Việt "
        "Nam); nhóm tuổi rộng hơn 17–30 cho đủ số người trả lời để phân tổ.",
        dimensions=[SEX, DISABILITY, URBANISATION, REGION, ETHNICITY],
        intersections=[
            ["SEX", "URBANISATION"],
            ["REGION", "URBANISATION"],
            ["SEX", "DISABILITY_STATUS", "ETHNICITY"],
        ],
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "child-school-attendance",
        "4.5.1",
        "Children aged 11–15 attending school",
        "Tỷ lệ trẻ em 11–15 tuổi đang đi học",
        "age >= 11 and age <= 15 and not is_missing(child_in_school)",
        "child_in_school == 'yes'",
        "Attendance by sex, area, disability and ethnicity; the parity indices of 4.5.1 are ratios of "
        "these breakdowns (female/male, rural/urban, with/without disability).",
        "Tỷ lệ đi học theo giới tính, khu vực, khuyết tật và dân tộc; các chỉ số bình đẳng của chỉ tiêu "
        "4.5.1 "
        "là tỷ số giữa các phân tổ này (nữ/nam, nông thôn/thành thị, có/không khuyết tật).",
        dimensions=[SEX, DISABILITY, URBANISATION, REGION, ETHNICITY],
        intersections=SMALL_INTERSECTIONS,
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "school-wheelchair-access",
        "4.a.1",
        "Pupils aged 11–15 whose school a wheelchair user can use (classrooms and toilets)",
        "Tỷ lệ học sinh 11–15 tuổi có trường mà người đi xe lăn sử dụng được (lớp học và nhà vệ sinh)",
        "child_in_school == 'yes' and child_school_accessible in ['yes', 'no']",
        "child_school_accessible == 'yes'",
        "Pupils' reports of their own school, weighted by pupils rather than counted by school as in 4.a.1 "
        "('adapted infrastructure and materials for students with disabilities'); 'don't know' is excluded.",
        "Theo lời học sinh về trường của mình, tính theo số học sinh chứ không theo số trường như chỉ tiêu "
        "4.a.1 ('cơ sở hạ tầng và tài liệu phù hợp cho học sinh khuyết tật'); không tính câu trả lời 'không "
        "biết'.",
        dimensions=[SEX, URBANISATION, REGION, ETHNICITY],
        intersections=[["REGION", "URBANISATION"]],
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "violence-12m",
        "16.1.3",
        "People aged 16+ subjected to physical, psychological or sexual violence in the last 12 months",
        "Tỷ lệ người từ 16 tuổi trở lên bị bạo lực thể chất, tinh thần hoặc tình dục trong 12 tháng qua",
        f"{ADULT} and not is_missing(violence_12m) and not selected(violence_12m, 'refused')",
        "not selected(violence_12m, 'none')",
        "Respondents who preferred not to answer are excluded from the denominator.",
        "Không tính những người không muốn trả lời vào mẫu số.",
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "partner-violence",
        "5.2.1",
        "Ever-partnered women aged 16+ subjected to violence by a partner in the last 12 months",
        "Tỷ lệ phụ nữ từ 16 tuổi trở lên đã từng có chồng/bạn đời bị bạo lực bởi chồng/bạn đời trong 12 "
        "tháng qua",
        "sex == 'female' and age >= 16 and marital != 'never_married' and partner_violence in ['yes', 'no']",
        "partner_violence == 'yes'",
        "One question instead of the WHO multi-item module, asked in private by a female interviewer; it "
        "underestimates violence compared with dedicated surveys.",
        "Một câu hỏi thay cho bộ câu hỏi nhiều mục của WHO, do điều tra viên nữ hỏi riêng; con số thấp "
        "hơn so "
        "với các cuộc điều tra chuyên đề.",
        dimensions=[AGE_ADULTS, DISABILITY, URBANISATION, REGION, ETHNICITY],
        intersections=[
            ["AGE", "URBANISATION"],
            ["REGION", "URBANISATION"],
            ["DISABILITY_STATUS", "ETHNICITY"],
        ],
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "discrimination",
        "10.3.1",
        "People aged 16+ who felt discriminated against or harassed in the last 12 months",
        "Tỷ lệ người từ 16 tuổi trở lên cảm thấy bị phân biệt đối xử hoặc quấy rối trong 12 tháng qua",
        f"{ADULT} and not is_missing(discrimination) and not selected(discrimination, 'refused')",
        "not selected(discrimination, 'none')",
        "On any of the grounds listed (ethnicity, disability, sex, sexual orientation or gender "
        "identity, age, "
        "poverty, religion); the same measure serves 16.b.1.",
        "Vì bất kỳ lý do nào được liệt kê (dân tộc, khuyết tật, giới tính, xu hướng tính dục hoặc bản dạng "
        "giới, tuổi, nghèo, tôn giáo); cùng thước đo dùng cho chỉ tiêu 16.b.1.",
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "discrimination-sogi",
        "16.b.1",
        "LGBT people aged 16+ who felt discriminated against because of sexual orientation or gender "
        "identity",
        "Tỷ lệ người LGBT từ 16 tuổi trở lên cảm thấy bị phân biệt đối xử vì xu hướng tính dục hoặc bản "
        "dạng giới",
        f"{ADULT} and lgbt == 'yes' and not is_missing(discrimination) and not selected(discrimination, "
        "'refused')",
        "selected(discrimination, 'sogi')",
        "Only respondents who identify as LGBT; a small group, so most breakdowns are suppressed.",
        "Chỉ gồm người trả lời tự xác định là LGBT; nhóm nhỏ nên phần lớn các phân tổ bị ẩn.",
        dimensions=[AGE_ADULTS, URBANISATION, REGION],
        intersections=[],
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "decision-making-inclusive",
        "16.7.2",
        "People aged 16+ who feel that people like them have a say in what the commune authorities do",
        "Tỷ lệ người từ 16 tuổi trở lên cảm thấy những người như mình có tiếng nói đối với việc chính "
        "quyền xã làm",
        f"{ADULT} and feel_included in ['a_lot', 'some', 'little', 'not_at_all']",
        "feel_included in ['a_lot', 'some']",
        "The 'external political efficacy' question of 16.7.2, asked about the commune; 'don't know' "
        "excluded.",
        "Câu hỏi về 'hiệu quả chính trị bên ngoài' của chỉ tiêu 16.7.2, hỏi về cấp xã; không tính "
        "'không biết'.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "spoke-at-meeting",
        "5.5.1",
        "People aged 16+ who spoke or made a proposal at a village or commune meeting in the last 12 months",
        "Tỷ lệ người từ 16 tuổi trở lên đã phát biểu hoặc đề xuất tại cuộc họp thôn, xã trong 12 tháng qua",
        f"{ADULT} and not is_missing(spoke_meeting)",
        "spoke_meeting == 'yes'",
        "A complementary measure of women's participation in local decision-making (target 5.5); 5.5.1(b) "
        "counts women's seats in local government. The gap between women and men is the point.",
        "Thước đo bổ sung về sự tham gia của phụ nữ vào việc ra quyết định ở địa phương (mục tiêu cụ thể "
        "5.5); chỉ tiêu 5.5.1(b) tính tỷ lệ ghế của phụ nữ trong chính quyền địa phương. Điều quan trọng là "
        "khoảng cách giữa nữ và nam.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "youth-neet",
        "8.6.1",
        "Young people aged 16–24 not in education, employment or training",
        "Tỷ lệ thanh niên 16–24 tuổi không đi học, không có việc làm và không tham gia đào tạo",
        "age >= 16 and age <= 24 and not is_missing(studying) and not is_missing(worked_7d)",
        "studying == 'no' and worked_7d == 'no'",
        "The UN indicator covers ages 15–24; children under 16 answer a separate module.",
        "Chỉ tiêu của Liên Hợp Quốc tính cho nhóm 15–24 tuổi; trẻ dưới 16 tuổi trả lời phần câu hỏi riêng.",
        dimensions=[SEX, DISABILITY, URBANISATION, REGION, ETHNICITY],
        intersections=[
            ["SEX", "URBANISATION"],
            ["REGION", "URBANISATION"],
            ["SEX", "DISABILITY_STATUS", "ETHNICITY"],
        ],
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "unemployment-rate",
        "8.5.2",
        "Unemployment rate, people aged 16+",
        "Tỷ lệ thất nghiệp của người từ 16 tuổi trở lên",
        f"{ADULT} and (worked_7d == 'yes' or looked_for_work == 'yes')",
        "worked_7d == 'no'",
        "ILO definition simplified: employed = worked at least one hour in the last 7 days; unemployed = "
        "did not work, looked for work in the last 4 weeks and could start within two weeks.",
        "Định nghĩa của ILO được đơn giản hóa: có việc làm = làm ít nhất một giờ trong 7 ngày qua; thất "
        "nghiệp = không làm việc, có tìm việc trong 4 tuần qua và có thể bắt đầu làm trong vòng hai tuần.",
        direction=HIGHER_WORSE,
    ),
    {
        "code": "hourly-earnings",
        "indicator": "8.5.1",
        "kind": "mean",
        "title_en": "Average hourly earnings of employees (dong)",
        "title_vi": "Thu nhập bình quân một giờ của lao động làm công ăn lương (đồng)",
        "universe": "work_type == 'employee' and hours_week > 0 and not is_missing(monthly_earnings)",
        "value": "monthly_earnings * 1000 / (hours_week * 4.33)",
        "unit": "CUR_LCU",
        "dimensions": ALL_ADULT_DIMENSIONS,
        "intersections": [["SEX", "AGE"], ["REGION", "URBANISATION"], ["SEX", "DISABILITY_STATUS"]],
        "direction": HIGHER_BETTER,
        "notes_en": "Last month's earnings from the main job divided by the hours worked last week "
        "times 4.33; "
        "employees who preferred not to state their earnings are excluded.",
        "notes_vi": "Thu nhập tháng trước từ công việc chính chia cho số giờ làm tuần trước nhân 4,33; không "
        "tính những người không muốn cho biết thu nhập.",
    },
    _proportion(
        "financial-account",
        "8.10.2",
        "People aged 16+ with an account at a bank or other financial institution or with mobile money",
        "Tỷ lệ người từ 16 tuổi trở lên có tài khoản ngân hàng, tổ chức tài chính khác hoặc tiền di động",
        f"{ADULT} and has_account in ['yes', 'no']",
        "has_account == 'yes'",
        "The UN indicator covers adults aged 15+; 'don't know' excluded.",
        "Chỉ tiêu của Liên Hợp Quốc tính cho người từ 15 tuổi trở lên; không tính 'không biết'.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "safe-after-dark",
        "16.1.4",
        "People aged 16+ who feel safe walking alone in their area after dark",
        "Tỷ lệ người từ 16 tuổi trở lên cảm thấy an toàn khi đi bộ một mình quanh nơi ở sau khi trời tối",
        f"{ADULT} and safe_night in ['very_safe', 'safe', 'unsafe', 'very_unsafe', 'never_alone']",
        "safe_night in ['very_safe', 'safe']",
        "People who never walk alone after dark are counted as not feeling safe, as in the UNODC guidance; "
        "'don't know' excluded.",
        "Người không bao giờ đi một mình khi trời tối được tính là không cảm thấy an toàn, theo hướng dẫn "
        "của UNODC; không tính 'không biết'.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "public-service-satisfaction",
        "16.6.2",
        "People aged 16+ satisfied with the last public service they used",
        "Tỷ lệ người từ 16 tuổi trở lên hài lòng với dịch vụ công sử dụng gần đây nhất",
        f"{ADULT} and last_service != 'none' and not is_missing(service_satisfaction)",
        "service_satisfaction in ['very_satisfied', 'satisfied']",
        "One question on the most recent service (administrative procedure, public health facility or public "
        "school) instead of the attribute-by-attribute module of 16.6.2.",
        "Một câu hỏi về dịch vụ gần đây nhất (thủ tục hành chính, cơ sở y tế công lập hoặc trường công lập) "
        "thay cho bộ câu hỏi theo từng thuộc tính của chỉ tiêu 16.6.2.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "bribery",
        "16.5.1",
        "People aged 16+ in contact with a public official who paid or were asked for a bribe",
        "Tỷ lệ người từ 16 tuổi trở lên có tiếp xúc với cán bộ, công chức và đã đưa hoặc bị đòi hối lộ",
        "official_contact == 'yes' and bribe in ['paid', 'asked_not_paid', 'no']",
        "bribe in ['paid', 'asked_not_paid']",
        "Twelve-month reference period as in 16.5.1; respondents who preferred not to answer are excluded.",
        "Thời kỳ tham chiếu 12 tháng như chỉ tiêu 16.5.1; không tính những người không muốn trả lời.",
        direction=HIGHER_WORSE,
    ),
    _proportion(
        "birth-registration",
        "16.9.1",
        "People aged 16+ in households with children under 5 whose births are all registered",
        "Tỷ lệ người từ 16 tuổi trở lên trong hộ có trẻ dưới 5 tuổi mà tất cả các cháu đã được đăng ký "
        "khai sinh",
        "hh_children_u5 > 0 and u5_registered in ['all', 'some', 'none']",
        "u5_registered == 'all'",
        "Counted over respondents in households with children under 5, not over the children as in 16.9.1; "
        "close to the official measure when most households have one young child.",
        "Tính trên người trả lời trong hộ có trẻ dưới 5 tuổi chứ không tính trên số trẻ như chỉ tiêu 16.9.1; "
        "gần với thước đo chính thức khi phần lớn các hộ có một trẻ nhỏ.",
        dimensions=[URBANISATION, REGION, ETHNICITY],
        intersections=[["REGION", "URBANISATION"], ["ETHNICITY", "URBANISATION"]],
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "internet-use",
        "17.8.1",
        "People aged 11+ who used the Internet in the last 3 months",
        "Tỷ lệ người từ 11 tuổi trở lên sử dụng Internet trong 3 tháng qua",
        "age >= 11 and internet_3m in ['yes', 'no']",
        "internet_3m == 'yes'",
        "The only indicator here that includes the children's answers.",
        "Chỉ tiêu duy nhất ở đây có tính câu trả lời của trẻ em.",
        dimensions=[SEX, AGE_ALL, DISABILITY, URBANISATION, REGION, ETHNICITY],
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "mobile-phone-ownership",
        "5.b.1",
        "People aged 16+ who own a mobile phone",
        "Tỷ lệ người từ 16 tuổi trở lên có điện thoại di động riêng",
        f"{ADULT} and not is_missing(owns_cellphone)",
        "owns_cellphone == 'yes'",
        "The ITU indicator covers individuals aged 10+; children were not asked.",
        "Chỉ tiêu của ITU tính cho người từ 10 tuổi trở lên; trẻ em không được hỏi câu này.",
        direction=HIGHER_BETTER,
    ),
    _proportion(
        "child-violent-discipline",
        "16.2.1",
        "Children aged 11–15 hit or shouted at by an adult at home as punishment in the past month",
        "Tỷ lệ trẻ em 11–15 tuổi bị người lớn trong nhà đánh hoặc quát mắng để phạt trong tháng qua",
        "age >= 11 and age <= 15 and child_punished in ['yes', 'no']",
        "child_punished == 'yes'",
        "Asked to the children themselves (with guardian consent and the child's assent), not to the "
        "caregiver as in the MICS module behind 16.2.1; children who preferred not to answer are excluded.",
        "Hỏi trực tiếp trẻ em (có sự đồng ý của người giám hộ và của trẻ), không hỏi người chăm sóc như bộ "
        "câu hỏi MICS của chỉ tiêu 16.2.1; không tính trẻ không muốn trả lời.",
        dimensions=[SEX, DISABILITY, URBANISATION, REGION, ETHNICITY],
        intersections=SMALL_INTERSECTIONS,
        direction=HIGHER_WORSE,
    ),
]

# --- design, roles and study metadata -----------------------------------------------------------------

DESIGN = {"weight": "weight", "strata": "stratum", "psu": "commune"}

CONSENT_QUESTION = "consent"
AGE_QUESTION = "age"
GUARDIAN_CONSENT_QUESTION = "guardian_consent"
CHILD_ASSENT_QUESTION = "child_assent"
SPECIAL_QUESTIONS = {
    "consent": CONSENT_QUESTION,
    "age": AGE_QUESTION,
    "guardian_consent": GUARDIAN_CONSENT_QUESTION,
    "child_assent": CHILD_ASSENT_QUESTION,
}

QUESTION_ROLES: dict[str, str] = {
    "respondent_name": "personal",
    "phone": "personal",
    "respondent_id": "respondent_id",
    "weight": "weight",
    "stratum": "stratum",
    "commune": "psu",
    "sex": "dimension:SEX",
    "age": "dimension:AGE",
    "province": "dimension:AREA",
    "region": "dimension:REGION",
    "urban_rural": "dimension:URBANISATION",
    "ethnicity": "dimension:ETHNICITY",
    "wg_seeing": "dimension:DISABILITY",
    "wg_hearing": "dimension:DISABILITY",
    "wg_walking": "dimension:DISABILITY",
    "wg_cognition": "dimension:DISABILITY",
    "wg_selfcare": "dimension:DISABILITY",
    "wg_communication": "dimension:DISABILITY",
}

STUDY: dict[str, Any] = {
    "slug": "vn-cgd-2022",
    "title_en": "Voices of communities on the SDGs: citizen-generated data survey, Viet Nam 2022 (demo)",
    "title_vi": "Tiếng nói cộng đồng về các Mục tiêu Phát triển Bền vững: khảo sát dữ liệu do người dân "
    "tạo ra, Việt Nam 2022 (bản minh họa)",
    "summary_en": "A household and community survey of about 3,000 people aged 11 and over in the North, the "
    "Centre and Central Highlands, and the South of Viet Nam, run by a coalition of more than 40 "
    "civil-society "
    "organisations to show how young people, women, people with disabilities, children, LGBT people and "
    "ethnic minorities fare on SDGs 1, 4, 5, 8, 13 and 16. THIS DEMO USES SYNTHETIC DATA: the answers are "
    "generated by a seeded program and describe no real person.",
    "summary_vi": "Khảo sát hộ gia đình và cộng đồng với khoảng 3.000 người từ 11 tuổi trở lên ở miền "
    "Bắc, miền "
    "Trung và Tây Nguyên, miền Nam Việt Nam, do liên minh hơn 40 tổ chức xã hội thực hiện nhằm cho thấy tình "
    "hình của thanh niên, phụ nữ, người khuyết tật, trẻ em, người LGBT và người dân tộc thiểu số đối với các "
    "Mục tiêu 1, 4, 5, 8, 13 và 16. BẢN MINH HỌA NÀY DÙNG DỮ LIỆU GIẢ LẬP: các câu trả lời do chương "
    "trình tạo "
    "ra và không mô tả bất kỳ người thật nào.",
    "method": "household_survey",
    "period_start": dt.date(2022, 3, 1),
    "period_end": dt.date(2022, 6, 30),
    "target_groups": ["YOUTH", "WOMEN", "PWD", "CHILD", "LGBT", "EM"],
    "sampling_description_en": "Stratified two-stage sample. Six strata: three macro-regions (North; Central "
    "and Central Highlands; South) by urban and rural areas. About 150 communes (wards in towns) were "
    "drawn as "
    "primary sampling units, about 20 interviews in each. Young people aged 16–30, people with disabilities "
    "(reached also through disability organisations), ethnic minorities in the northern mountains and the "
    "Central Highlands, and children aged 11–15 were oversampled. Design weights are the inverse inclusion "
    "probabilities with a non-response adjustment; they add up to the population aged 11 and over of each "
    "stratum. Analysis uses the weights, strata and communes (Taylor linearisation).",
    "sampling_description_vi": "Mẫu phân tầng hai giai đoạn. Sáu tầng: ba vùng (miền Bắc; miền Trung và Tây "
    "Nguyên; miền Nam) chia theo thành thị và nông thôn. Khoảng 150 xã/phường được chọn làm đơn vị mẫu "
    "cấp một, "
    "mỗi xã phỏng vấn khoảng 20 người. Thanh niên 16–30 tuổi, người khuyết tật (tiếp cận thêm qua các "
    "tổ chức "
    "của người khuyết tật), người dân tộc thiểu số ở miền núi phía Bắc và Tây Nguyên, và trẻ em 11–15 "
    "tuổi được "
    "chọn mẫu nhiều hơn tỷ lệ dân số. Trọng số thiết kế là nghịch đảo xác suất chọn mẫu có hiệu chỉnh cho "
    "trường hợp không trả lời; tổng trọng số của mỗi tầng bằng dân số từ 11 tuổi trở lên của tầng đó. Phân "
    "tích sử dụng trọng số, tầng và xã (phương pháp tuyến tính hóa Taylor).",
    "consent_procedure": "guardian_assent",
    "consent_notes_en": "Every respondent heard the information sheet and gave oral consent, recorded by the "
    "interviewer. For children aged 11–15, a parent or guardian consented first and the child then gave "
    "assent after a simple explanation; a child could stop at any time. Names and phone numbers are kept "
    "encrypted and apart from the answers, and are deleted after the quality-control call-back.",
    "consent_notes_vi": "Mỗi người trả lời được nghe phiếu thông tin và đồng ý bằng lời, điều tra viên ghi "
    "nhận. Với trẻ em 11–15 tuổi, cha mẹ hoặc người giám hộ đồng ý trước, sau đó trẻ đồng ý sau khi "
    "được giải "
    "thích bằng lời dễ hiểu; trẻ có thể dừng bất cứ lúc nào. Họ tên và số điện thoại được mã hóa, lưu riêng "
    "với câu trả lời và bị xóa sau khi gọi lại kiểm tra chất lượng.",
    "partners": "A coalition of more than 40 Vietnamese civil-society organisations working with young "
    "people, "
    "women, people with disabilities, children, LGBT communities and ethnic minorities (this demo names "
    "none).",
    "planned_sample_size": 3000,
    "weight_variable": DESIGN["weight"],
    "strata_variable": DESIGN["strata"],
    "psu_variable": DESIGN["psu"],
    "form_id": FORM_ID,
    "form_version": FORM_VERSION,
}
