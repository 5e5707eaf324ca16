"""XLSForm parsing with pyxform: the question tree, languages, errors, unsafe files, proposed roles."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.collection.forms.vi_form import build_vi_form
from voicescount.collection.errors import InstrumentError
from voicescount.collection.xlsform import (
    detect_special_questions,
    numeric_range,
    parse_xlsform,
    suggest_roles,
)

FORMS = Path(__file__).parent / "forms"


def parse(name):
    return parse_xlsform(name, (FORMS / name).read_bytes())


def by_path(definition):
    return {q["path"]: q for q in definition["questions"]}


@pytest.mark.parametrize(
    ("name", "form_id", "paths"),
    [
        ("tutorial.xls", "tutorial", {"member", "member/name", "member/age_in_years", "member/pregnant"}),
        ("group.md", "group", {"family_name", "father", "father/phone_number", "father/age"}),
        ("specify_other.csv", "specify_other", {"sex"}),
        ("text_and_integer.md", "text_and_integer", {"your_name", "your_age"}),
        ("utf_csv.csv", "utf_csv", {"burger_toppings"}),
        ("yes_or_no_question.xlsx", "yes_or_no_question", {"good_day"}),
    ],
)
def test_parses_third_party_forms_in_every_format(name, form_id, paths):
    definition = parse(name)
    assert definition["form_id"] == form_id
    assert paths <= set(by_path(definition))
    assert "<h:html" in definition["xform"]
    json.dumps(definition)  # stored in a JSONField


def test_tutorial_keeps_repeat_types_and_expressions():
    q = by_path(parse("tutorial.xls"))
    assert q["member"]["type"] == "begin_repeat"
    age = q["member/age_in_years"]
    assert (age["type"], age["repeat"], age["group"]) == ("integer", "member", "member")
    assert age["relevant"] == "${older_than_five}='yes'"
    assert age["constraint"] == ". >= 5"
    sex = q["member/sex"]
    assert sex["type"] == "select_one" and sex["list_name"] == "sexes"
    assert [c["code"] for c in sex["choices"]] == ["male", "female"]


def test_bilingual_vietnamese_form():
    definition = parse_xlsform("household.xlsx", build_vi_form())
    assert (definition["form_id"], definition["version"]) == ("vc_household", "2025.1")
    assert definition["title"] == "Khảo sát hộ gia đình"
    assert definition["default_language"] == "en"
    assert {(lang["key"], lang["name"], lang["code"]) for lang in definition["languages"]} == {
        ("en", "English", "en"),
        ("vi", "Tiếng Việt", "vi"),
    }
    q = by_path(definition)
    assert q["age"]["labels"] == {"en": "Age in years", "vi": "Tuổi"}
    assert q["age"]["hints"] == {"en": "completed years"}
    assert q["age"]["required"] is True
    assert q["age"]["constraint_message"] == {"en": "0 to 120", "vi": "Từ 0 đến 120"}
    assert q["guardian_consent"]["relevant"] == "${age} < 16"
    assert q["hh/member/member_age"]["repeat"] == "hh/member"
    assert q["hh/member/member_age"]["group"] == "hh/member"
    assert q["hh/hh_size"]["group"] == "hh" and q["hh/hh_size"]["repeat"] == ""
    assert q["adult"]["calculation"] == "if(${age} >= 18, 1, 0)"
    assert q["province"]["choices"][1] == {
        "code": "79",
        "labels": {"en": "Ho Chi Minh City", "vi": "Thành phố Hồ Chí Minh"},
    }
    assert q["services_used"]["type"] == "select_multiple"
    assert q["thanks"]["type"] == "note"
    assert definition["meta"] == ["meta/instanceID"]


def test_roles_and_special_questions_of_the_vietnamese_form():
    definition = parse_xlsform("household.xlsx", build_vi_form())
    roles = suggest_roles(definition)
    assert roles["ho_ten"] == roles["so_dien_thoai"] == roles["gps"] == roles["comment"] == "personal"
    assert roles["province"] == "dimension:AREA"
    assert roles["age"] == "dimension:AGE" and roles["sex"] == "dimension:SEX"
    assert roles["wg_seeing"] == "dimension:DISABILITY"
    assert "consent" not in roles and "hh_size" not in roles and "thanks" not in roles
    assert detect_special_questions(definition) == {
        "consent": "consent",
        "age": "age",
        "guardian_consent": "guardian_consent",
        "child_assent": "child_assent",
    }


def test_roles_by_name_for_design_variables_and_dimensions():
    rows = [
        ["decimal", "weight", "w"],
        ["text", "stratum", "s"],
        ["text", "psu", "p"],
        ["integer", "fpc", "f"],
        ["text", "respondent_id", "r"],
        ["text", "ethnicity", "e"],
        ["text", "urban_rural", "u"],
        ["text", "population_group", "g"],
        ["text", "village_code", "v"],
        ["text", "email", "e"],
        ["text", "dia_chi", "a"],
    ]
    roles = suggest_roles(parse_xlsform("f.xlsx", build_vi_form(extra_rows=rows)))
    assert roles["weight"] == "weight" and roles["stratum"] == "stratum"
    assert roles["psu"] == "psu" and roles["fpc"] == "fpc"
    assert roles["respondent_id"] == "respondent_id"
    assert roles["ethnicity"] == "dimension:ETHNICITY"
    assert roles["urban_rural"] == "dimension:URBANISATION"
    assert roles["population_group"] == "dimension:POPULATION_GROUP"
    assert "village_code" not in roles  # free text, but clearly a code
    assert roles["email"] == roles["dia_chi"] == "personal"


def test_pyxform_errors_name_the_row():
    broken = b"| survey |\n| | type | name | label |\n| | integer | age | Age |\n| | begin group | g | G |\n"
    with pytest.raises(InstrumentError) as err:
        parse_xlsform("broken.md", broken)
    assert "broken.md" in str(err.value) and "row" in str(err.value).lower()


@pytest.mark.parametrize(
    ("filename", "content", "fragment"),
    [
        ("form.pdf", b"%PDF-1.4", "Unsupported file type"),
        ("form.xlsx", b"", "empty"),
        ("form.xlsx", b"not a zip at all", "not a valid .xlsx"),
        (
            "form.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le"),
            "password",
        ),
        ("form.csv", b"just,some,data\n1,2,3\n", "XLSForm"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(filename, content, fragment):
    with pytest.raises(InstrumentError) as err:
        parse_xlsform(filename, content)
    assert fragment in str(err.value)
    assert filename in str(err.value)


def test_zip_bomb_is_refused_before_reading():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (110 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1_000_000
    with pytest.raises(InstrumentError, match="expand"):
        parse_xlsform("bomb.xlsx", buffer.getvalue())


def test_xml_entity_expansion_is_refused():
    source = zipfile.ZipFile(io.BytesIO(build_vi_form()))
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE x [{entities}]>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = text.split("?>", 1)[1] if text.startswith("<?xml") else text
                text = text.replace("<t>consent</t>", "<t>&a9;</t>")  # a billion "lol"s if expanded
                assert "&a9;" in text
                data = (bomb + text).encode()
            archive.writestr(name, data)
    with pytest.raises(InstrumentError, match="could not be read"):
        parse_xlsform("bomb.xlsx", buffer.getvalue())


def test_numeric_ranges_are_read_from_simple_constraints():
    assert numeric_range(". >= 0 and . <= 120") == {
        "min": 0,
        "max": 120,
        "min_inclusive": True,
        "max_inclusive": True,
    }
    assert numeric_range(".>0.5") == {"min": 0.5, "min_inclusive": False}
    assert numeric_range(". >= 0 or . = -99") is None
    assert numeric_range("regex(., '^[0-9]+$')") is None
    q = by_path(parse_xlsform("household.xlsx", build_vi_form()))
    assert q["age"]["range"] == {"min": 0, "max": 120, "min_inclusive": True, "max_inclusive": True}
    assert "range" not in q["visit_date"]


def _instance_leaves(xform: str) -> set[str]:
    """Paths of the leaves of the XForm's primary instance, as pyxform wrote them (meta left out)."""
    from lxml import etree

    root = etree.fromstring(xform.encode())
    ns = {"x": "http://www.w3.org/2002/xforms"}
    data = root.find(".//x:model/x:instance", ns)[0]
    leaves = set()
    for element in data.iter():
        if len(element) == 0 and element is not data:
            chain = [element, *element.iterancestors()]
            names = [etree.QName(e).localname for e in chain[: chain.index(data)]]
            path = "/".join(reversed(names))
            if not path.startswith("meta/"):
                leaves.add(path)
    return leaves


def test_a_loop_over_a_choice_list_has_a_group_per_choice_as_in_the_xform():
    definition = parse("loop.md")
    questions = {
        q["path"] for q in definition["questions"] if q["type"] not in ("begin_group", "begin_repeat")
    }
    assert "loop_toilet_types/pit_latrine_with_slab/number" in questions
    assert "loop_toilet_types/number" not in questions
    assert questions == _instance_leaves(definition["xform"])
