"""Adding XLSForm instruments to a study, and the checker imports use (with the geography's area codes)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.collection.forms.vi_form import build_vi_form
from voicescount.collection import batches, services
from voicescount.collection.checking import checker_for, known_area_codes
from voicescount.collection.errors import InstrumentError
from voicescount.collection.instruments import add_instrument
from voicescount.collection.models import AuditEntry, Instrument, Study, Submission
from voicescount.collection.records import RawRecord

pytestmark = pytest.mark.django_db

AREA_ROW = [["text", "tinh", "Province code", "Mã tỉnh"]]


@pytest.fixture
def study(org):
    return Study.objects.create(
        organisation=org,
        slug="hh",
        title_en="Household survey",
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
        consent_procedure=Study.Consent.GUARDIAN_AND_ASSENT,
    )


def record(n, **changes):
    values = {
        "consent": "yes",
        "ho_ten": "Nguyễn Thị Lan",
        "province": "01",
        "tinh": "VN-01",
        "age": "34",
        "sex": "2",
        "hh/hh_size": "2",
        "hh/member": [{"member_age": "34"}, {"member_age": "8", "wg_seeing": "1"}],
        "visit_date": "2025-06-01",
    }
    values.update(changes)
    return RawRecord(source="api", locator=f"record {n}", values=values, instance_id=f"uuid:{n}")


def test_adding_a_form_stores_definition_roles_and_consent_questions(study, coordinator):
    content = build_vi_form()
    instrument = add_instrument(study, "household.xlsx", content, user=coordinator)
    instrument.refresh_from_db()
    assert (instrument.form_id, instrument.version, instrument.title) == (
        "vc_household",
        "2025.1",
        "Khảo sát hộ gia đình",
    )
    assert bytes(instrument.source) == content
    assert instrument.filename == "household.xlsx"
    assert "<h:html" in instrument.xform and "xform" not in instrument.definition
    paths = [q["path"] for q in instrument.definition["questions"]]
    assert "hh/member/member_age" in paths
    assert instrument.roles["ho_ten"] == "personal" and instrument.roles["province"] == "dimension:AREA"
    assert (
        instrument.consent_question,
        instrument.age_question,
        instrument.guardian_consent_question,
        instrument.child_assent_question,
    ) == ("consent", "age", "guardian_consent", "child_assent")
    assert instrument.uploaded_by == coordinator
    assert AuditEntry.objects.filter(study=study, action="instrument_added").count() == 1


def test_same_version_again(study, coordinator):
    first = add_instrument(study, "household.xlsx", build_vi_form(), user=coordinator)
    assert add_instrument(study, "copy.xlsx", build_vi_form(), user=coordinator).pk == first.pk
    changed = build_vi_form(extra_rows=[["integer", "rooms", "Rooms", "Số phòng"]])
    with pytest.raises(InstrumentError, match="change 'version'"):
        add_instrument(study, "household.xlsx", changed, user=coordinator)
    bumped = add_instrument(
        study, "household.xlsx", build_vi_form("2025.2", extra_rows=AREA_ROW), user=coordinator
    )
    assert bumped.pk != first.pk
    assert Instrument.objects.filter(study=study).count() == 2


def test_the_same_form_saved_again_is_the_same_instrument(study, coordinator):
    """An .xlsx written again holds other timestamps: other bytes, the same form."""
    import io
    import zipfile

    original = build_vi_form()
    rewritten = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(rewritten, "w") as dst:
        for info in src.infolist():
            info.date_time = (2030, 1, 2, 3, 4, 6)
            dst.writestr(info, src.read(info.filename))
    assert rewritten.getvalue() != original
    first = add_instrument(study, "household.xlsx", original, user=coordinator)
    assert add_instrument(study, "household (1).xlsx", rewritten.getvalue(), user=coordinator).pk == first.pk


def test_permission_and_bad_files(study, django_user_model):
    outsider = django_user_model.objects.create_user("outsider", password="x")
    with pytest.raises(PermissionDenied):
        add_instrument(study, "household.xlsx", build_vi_form(), user=outsider)
    with pytest.raises(InstrumentError, match="not a valid .xlsx"):
        add_instrument(study, "broken.xlsx", b"PK\x03\x04 truncated", check_permission=False)
    assert not Instrument.objects.exists()
    assert (
        add_instrument(study, "household.xlsx", build_vi_form(), check_permission=False).uploaded_by is None
    )


def test_area_codes_come_from_the_geography(study):
    codes = known_area_codes()
    assert {"VN-01", "01", "VN-79", "79"} <= codes  # codes and statistical office codes


def test_checker_validates_with_roles_and_current_and_former_area_codes(study):
    instrument = add_instrument(
        study, "household.xlsx", build_vi_form(extra_rows=AREA_ROW), check_permission=False
    )
    check = checker_for(instrument, today=dt.date(2025, 6, 30))
    assert check(record(1)).issues == []
    assert check(record(2, tinh="01")).issues == []  # the GSO code is accepted as well
    assert [(i.field, i.code) for i in check(record(3, tinh="ZZ-99")).issues] == [("tinh", "unknown_area")]
    assert [(i.field, i.code) for i in check(record(4, age="abc")).issues] == [("age", "not_integer")]
    future = RawRecord(
        source="api",
        locator="record 5",
        values=record(5).values,
        submitted_at=timezone.now() + dt.timedelta(days=2),
    )
    assert [i.code for i in check(future).issues] == ["future_submission"]
    assert [(i.field, i.code) for i in check(record(6, extra="x")).issues] == [("extra", "unknown_field")]


def test_import_with_the_checker_quarantines_invalid_records_and_hides_personal_data(study, coordinator):
    instrument = add_instrument(study, "household.xlsx", build_vi_form(extra_rows=AREA_ROW), user=coordinator)
    records = [
        record(1),
        record(2, age="12", guardian_consent="yes", child_assent="yes"),
        record(3, age="12"),  # a minor without guardian consent and assent: required by the form
        record(4, sex="Nữ"),  # a label, mapped to its code
        record(5, visit_date="2999-01-01"),
    ]
    report = batches.import_records(
        instrument, records, checker=checker_for(instrument), source="api", user=coordinator
    )
    assert (report.accepted, report.quarantined) == (3, 2)
    reasons = {r["locator"]: {i["code"] for i in r["issues"]} for r in report.reasons}
    assert reasons["record 3"] >= {"required", "consent_missing"}
    assert reasons["record 5"] == {"future_date"}
    stored = Submission.objects.get(instance_id="uuid:4")
    assert stored.values["sex"] == "2" and stored.values["age"] == 34
    assert stored.values["ho_ten"] == services.PERSONAL_MARKER
    assert "Nguyễn Thị Lan" not in str(stored.raw) and stored.personal
