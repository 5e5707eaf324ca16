"""Labels of disaggregation codes: the code list's where it has the code, else the age code's pattern."""

import pytest

from voicescount.framework.labels import age_label, code_labels
from voicescount.framework.models import Code, CodeList

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "en", "vi"),
    [
        ("Y25T59", "25 to 59 years", "từ 25 đến 59 tuổi"),
        ("Y0T4", "0 to 4 years", "từ 0 đến 4 tuổi"),
        ("Y_GE70", "70 years and over", "từ 70 tuổi trở lên"),
        ("Y_GT80", "over 80 years", "trên 80 tuổi"),
        ("Y_LT5", "under 5 years", "dưới 5 tuổi"),
        ("Y_LT1", "under 1 year", "dưới 1 tuổi"),
        ("Y_LE24", "24 years and under", "từ 24 tuổi trở xuống"),
        ("Y18", "18 years", "18 tuổi"),
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
    assert labels.label("AGE", "Y25T59") == "25 to 59 years"
    assert labels.label("AGE", "Y25T59", "vi") == "từ 25 đến 59 tuổi"
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
    assert labels.bilingual("AGE", "Y30T39") == ("30 to 39 years old", "từ 30 đến 39 tuổi")
    assert labels.bilingual("AGE", "_X") == ("Not available", "Not available")
