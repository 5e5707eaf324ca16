"""Labels of disaggregation codes: the code list's where it has the code, else the age code's pattern."""

import pytest

from voicescount.framework.labels import age_label, code_labels
from voicescount.framework.models import Code, CodeList

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "en", "vi"),
    [
        ("Y25T59", "25 to 59 years old", "25–59 tuổi"),
        ("Y0T4", "0 to 4 years old", "0–4 tuổi"),
        ("Y_GE70", "70 years old and over", "Từ 70 tuổi trở lên"),
        ("Y_GT80", "Over 80 years old", "Trên 80 tuổi"),
        ("Y_LT5", "Under 5 years old", "Dưới 5 tuổi"),
        ("Y_LT1", "Under 1 year old", "Dưới 1 tuổi"),
        ("Y_LE24", "24 years old and under", "Từ 24 tuổi trở xuống"),
        ("Y18", "18 years old", "18 tuổi"),
        ("Y1", "1 year old", "1 tuổi"),
    ],
)
def test_age_label_from_the_code_pattern(code, en, vi):
    assert age_label(code) == (en, vi)


@pytest.mark.parametrize("code", ["_T", "_X", "Y", "Y15T", "YT24", "Y_GE", "y15t24", "M0T11", "Y15T24X"])
def test_a_code_of_no_age_pattern_has_no_generated_label(code):
    assert age_label(code) is None


def test_an_official_age_code_keeps_its_official_label():
    labels = code_labels(["AGE"])
    assert labels.bilingual("AGE", "Y15T24") == ("15 to 24 years old", "15–24 tuổi")
    assert labels.label("AGE", "Y_GE60") == "60 years old and over"
    assert labels.label("AGE", "Y_GE60", "vi") == "Từ 60 tuổi trở lên"


def test_an_age_code_missing_from_the_list_gets_the_generated_label():
    labels = code_labels(["AGE"])
    assert not Code.objects.filter(code_list__code="AGE", code="Y25T59").exists()
    assert labels.label("AGE", "Y25T59") == "25 to 59 years old"
    assert labels.label("AGE", "Y25T59", "vi") == "25–59 tuổi"
    assert labels.name("AGE") == "Age group" and labels.name("AGE", "vi") == "Nhóm tuổi"


def test_only_age_codes_are_generated_and_an_unknown_code_stays_a_code():
    labels = code_labels(["SEX", "ETHNICITY"])
    assert labels.label("SEX", "F", "vi") == "Nữ"
    assert labels.label("SEX", "Y25T59") == "Y25T59"
    assert labels.label("ETHNICITY", "NOPE", "vi") == "NOPE"
    assert labels.name("NO_SUCH_LIST", "vi") == "NO_SUCH_LIST"


def test_a_listed_age_code_without_vietnamese_takes_the_pattern_vietnamese():
    age = CodeList.objects.get(code="AGE")
    Code.objects.create(code_list=age, code="Y30T39", name_en="30 to 39 years old", name_vi="")
    Code.objects.create(code_list=age, code="_X", name_en="Not available", name_vi="")
    labels = code_labels(["AGE"])
    assert labels.bilingual("AGE", "Y30T39") == ("30 to 39 years old", "30–39 tuổi")
    assert labels.bilingual("AGE", "_X") == ("Not available", "Not available")


def test_generated_age_labels_are_worded_as_the_listed_ones():
    """Every listed age bin: the label its code would be given if the list lacked it is the list's own,
    so a generated bin reads like its neighbours in a table ("25 to 59 years old" beside "15 to 24
    years old"; "25–59 tuổi" beside "15–24 tuổi")."""
    listed = (
        Code.objects.filter(code_list__code="AGE")
        .exclude(code="_T")
        .values_list("code", "name_en", "name_vi")
    )
    assert len(listed) >= 10
    for code, en, vi in listed:
        assert age_label(code) == (en, vi), code


def test_every_code_list_when_none_is_named():
    labels = code_labels()
    assert labels.label("SEX", "F") == "Female" and labels.label("AGE", "Y25T59", "vi") == "25–59 tuổi"
    assert labels.name("DISABILITY_STATUS", "vi") == "Tình trạng khuyết tật"


def test_labels_inside_a_sentence_are_lower_case_but_places_keep_their_names():
    labels = code_labels(["SEX", "AGE", "AREA"])
    assert labels.in_sentence("SEX", "F") == "female" and labels.in_sentence("SEX", "F", "vi") == "nữ"
    assert labels.in_sentence("AGE", "Y_GE60", "vi") == "từ 60 tuổi trở lên"
    assert labels.in_sentence("AGE", "Y25T59") == "25 to 59 years old"  # generated
    assert labels.in_sentence("AREA", "VN-01", "vi") == "Thành phố Hà Nội"


def test_areas_are_the_codes_of_the_place_lists_asked_for():
    places = code_labels(["REGION", "AREA", "COUNTRY"])
    assert places.label("AREA", "VN-01", "vi") == "Thành phố Hà Nội"
    assert places.label("COUNTRY", "VN") == "Viet Nam" and places.label("COUNTRY", "VN", "vi") == "Việt Nam"
    assert places.label("REGION", "VN-R3-N") != "VN-R3-N"
    assert code_labels(["SEX"]).label("AREA", "VN-01") == "VN-01"  # not asked for
    assert code_labels().label("AREA", "VN-01") == places.label("AREA", "VN-01")  # every list
