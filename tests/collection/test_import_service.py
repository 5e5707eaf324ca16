"""Import service: one batch, all or nothing; duplicates skipped; consent enforced; personal data hidden."""

import pytest
from django.core.exceptions import PermissionDenied

from voicescount.accounts.models import Membership, Role
from voicescount.collection import batches, services
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.errors import ImportFileError
from voicescount.collection.models import (
    AuditEntry,
    ConsentRecord,
    ImportBatch,
    QuarantinedRecord,
    Study,
    Submission,
)
from voicescount.collection.records import RawRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def instrument(make_instrument):
    return make_instrument(
        consent_procedure=Study.Consent.GUARDIAN_AND_ASSENT,
        roles={"name": "personal", "phone": "personal", "hh": "respondent_id"},
        consent_question="consent",
        age_question="age",
        guardian_consent_question="guardian_ok",
        child_assent_question="assent",
    )


def check_age(record: RawRecord) -> services.Checked:
    """A stand-in for instrument validation: ``age`` must be a whole number."""
    values = dict(record.values)
    issues = []
    try:
        values["age"] = int(values["age"])
    except (KeyError, ValueError):
        issues.append(services.Issue("age", "type", "age is not a whole number"))
    return services.Checked(values, issues)


def rec(i, **values):
    base = {"consent": "yes", "age": "30", "name": f"Nguyễn Văn {i}", "phone": "0901234567", "hh": f"hh{i}"}
    base.update(values)
    return RawRecord(
        source="kobo-json", locator=f"results[{i}]", values=base, instance_id=f"uuid:{i}", raw=base
    )


def run(instrument, records, user):
    return batches.import_records(instrument, records, checker=check_age, source="kobo-json", user=user)


def test_accepts_valid_records_and_encrypts_personal_fields(instrument, coordinator):
    report = run(instrument, [rec(1), rec(2)], coordinator)
    assert (report.received, report.accepted, report.duplicates, report.quarantined) == (2, 2, 0, 0)
    submission = Submission.objects.get(instance_id="uuid:1")
    assert submission.values["age"] == 30
    assert submission.values["name"] == services.PERSONAL_MARKER
    assert "Nguyễn" not in str(submission.raw) and "0901234567" not in str(submission.values)
    assert decrypt_json(submission.personal)["raw"] == {
        "name": "Nguyễn Văn 1",
        "phone": "0901234567",
        "hh": "hh1",
    }
    # Pseudonymous, stable, not the household id itself.
    assert submission.respondent.startswith("r-") and "hh1" not in submission.respondent
    assert submission.respondent == services.pseudonym(instrument.study, "hh1")


def test_an_instance_id_too_long_to_store_is_held_back_whole(instrument, coordinator):
    long_id = "uuid:" + "x" * 300  # e.g. a free-text column taken for the id
    record = RawRecord(source="csv", locator="row 2", values=rec(1).values, instance_id=long_id)
    report = run(instrument, [record], coordinator)
    assert (report.accepted, report.quarantined) == (0, 1)
    assert report.reasons[0]["issues"][0]["code"] == "instance_id_too_long"
    held = QuarantinedRecord.objects.get()
    assert held.instance_id is None and decrypt_json(held.payload)["instance_id"] == long_id
    assert run(instrument, [record], coordinator).duplicates == 1  # recognised again by its full id


def test_reimport_and_overlap_add_nothing_twice(instrument, coordinator):
    run(instrument, [rec(1), rec(2)], coordinator)
    report = run(instrument, [rec(2), rec(3), rec(3)], coordinator)
    assert (report.accepted, report.duplicates) == (1, 2)
    assert Submission.objects.count() == 3
    assert ImportBatch.objects.count() == 2


def test_records_without_instance_id_deduplicate_by_content_in_nfc(instrument, coordinator):
    nfc = RawRecord(source="csv", locator="row 2", values={"consent": "yes", "age": "20", "q": "Việt"})
    nfd = RawRecord(
        source="csv", locator="row 2", values={"consent": "yes", "age": "20", "q": "Vie\u0323\u0302t"}
    )
    assert run(instrument, [nfc], coordinator).accepted == 1
    assert run(instrument, [nfd], coordinator).duplicates == 1


def test_invalid_record_is_quarantined_whole_with_reason(instrument, coordinator):
    report = run(instrument, [rec(1, age="ba mươi")], coordinator)
    assert (report.accepted, report.quarantined) == (0, 1)
    held = QuarantinedRecord.objects.get()
    assert held.issues == [{"field": "age", "code": "type", "message": "age is not a whole number"}]
    assert decrypt_json(held.payload)["values"]["age"] == "ba mươi"  # kept unchanged, encrypted
    assert report.reasons[0]["locator"] == "results[1]"
    # The same broken record again is not held twice.
    assert run(instrument, [rec(1, age="ba mươi")], coordinator).duplicates == 1


def test_fixed_quarantined_record_is_accepted_on_revalidation(instrument, coordinator):
    run(instrument, [rec(1, age="?")], coordinator)
    held = QuarantinedRecord.objects.get()
    fixed = dict(services.quarantined_payload(held, coordinator)["values"], age="31")
    assert services.revalidate(held, fixed, checker=check_age, user=coordinator) == []
    held.refresh_from_db()
    assert held.status == QuarantinedRecord.Status.ACCEPTED
    assert held.submission.values["age"] == 31


def test_without_consent_nothing_enters_analysis(instrument, coordinator):
    report = run(instrument, [rec(1, consent="no"), rec(2, consent="")], coordinator)
    assert (report.accepted, report.quarantined) == (0, 2)
    assert all(i["code"] == "consent_missing" for r in report.reasons for i in r["issues"])


def test_children_need_guardian_consent_and_their_own_assent(instrument, coordinator):
    report = run(
        instrument,
        [
            rec(1, age="12", guardian_ok="yes", assent="yes"),
            rec(2, age="12", guardian_ok="yes", assent="no"),
            rec(3, age="13", assent="yes"),
            rec(4, age="17"),
        ],
        coordinator,
    )
    assert (report.accepted, report.quarantined) == (2, 2)
    assert set(Submission.objects.values_list("instance_id", flat=True)) == {"uuid:1", "uuid:4"}


def test_study_level_consent_when_the_form_has_no_question(instrument, coordinator):
    instrument.consent_question = ""
    instrument.save()
    assert run(instrument, [rec(1)], coordinator).quarantined == 1
    services.record_study_consent(instrument.study, user=coordinator, note="Signed sheets kept by the CSO")
    assert run(instrument, [rec(2)], coordinator).accepted == 1


def test_an_import_that_fails_half_way_leaves_nothing(instrument, coordinator):
    def broken_reader():
        for i in range(batches.CHUNK + 5):
            yield rec(i)
        raise ImportFileError("unexpected end of JSON", file="export.json", row=1006)

    with pytest.raises(ImportFileError, match="export.json"):
        run(instrument, broken_reader(), coordinator)
    assert Submission.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_only_members_with_import_rights_may_import(instrument, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", password="x")
    with pytest.raises(PermissionDenied):
        run(instrument, [rec(1)], stranger)
    enumerator = django_user_model.objects.create_user("enum", password="x")
    Membership.objects.create(
        user=enumerator, organisation=instrument.study.organisation, role=Role.ENUMERATOR
    )
    with pytest.raises(PermissionDenied):
        run(instrument, [rec(1)], enumerator)
    assert Submission.objects.count() == 0


def test_consent_withdrawal_erases_personal_data_and_excludes_from_analysis(instrument, coordinator):
    run(instrument, [rec(1), rec(2)], coordinator)
    respondent = Submission.objects.get(instance_id="uuid:1").respondent
    assert services.withdraw_consent(instrument.study, respondent, user=coordinator, note="phone call") == 1
    withdrawn = Submission.objects.get(instance_id="uuid:1")
    assert withdrawn.personal is None and withdrawn.values == {} and withdrawn.raw == {}
    assert list(Submission.objects.in_analysis().values_list("instance_id", flat=True)) == ["uuid:2"]
    assert ConsentRecord.objects.filter(kind=ConsentRecord.Kind.WITHDRAWN, respondent=respondent).exists()
    entry = AuditEntry.objects.get(action="consent_withdrawn")
    assert entry.actor == coordinator and entry.details["submissions"] == 1
    # A later re-import of the same export does not bring the record back.
    assert run(instrument, [rec(1)], coordinator).duplicates == 1


def test_consent_withdrawal_discards_the_respondents_held_back_records(instrument, coordinator):
    from voicescount.collection.crypto import decrypt_json
    from voicescount.collection.models import QuarantinedRecord

    # hh1 answered twice: once accepted, once held back (age unreadable); hh3 is held back too
    report = run(instrument, [rec(1), rec(5, hh="hh1", age="x"), rec(3, age="x")], coordinator)
    assert (report.accepted, report.quarantined) == (1, 2)
    respondent = Submission.objects.get(instance_id="uuid:1").respondent
    services.withdraw_consent(instrument.study, respondent, user=coordinator, note="by phone")
    gone = QuarantinedRecord.objects.get(instance_id="uuid:5")
    assert gone.status == QuarantinedRecord.Status.DISCARDED and decrypt_json(gone.payload) == {}
    assert gone.note == services.WITHDRAWN_NOTE
    kept = QuarantinedRecord.objects.get(instance_id="uuid:3")
    assert (
        kept.status == QuarantinedRecord.Status.OPEN and decrypt_json(kept.payload)["values"]["hh"] == "hh3"
    )
    entry = AuditEntry.objects.get(action="consent_withdrawn")
    assert entry.details["quarantined_discarded"] == 1


def test_reasons_and_audit_never_hold_personal_values(instrument, coordinator):
    report = run(instrument, [rec(1, age="x", name="Trần Thị Bí Mật")], coordinator)
    assert "Bí Mật" not in str(report.as_dict())
    assert "Bí Mật" not in str(list(AuditEntry.objects.values("details")))
    assert "Bí Mật" not in str(QuarantinedRecord.objects.values_list("issues", flat=True)[0])


def form_check():
    names = frozenset({"consent", "age", "name", "phone", "hh", "guardian_ok", "assent"})
    return batches.FormCheck(form_id="f", version="1", names=names, filename="export.json")


def run_checked(instrument, records, user):
    return batches.import_records(
        instrument, records, checker=check_age, source="kobo-json", user=user, form_check=form_check()
    )


def test_an_export_of_another_form_is_refused_whole(instrument, coordinator):
    other = [
        RawRecord(source="csv", locator=f"row {i}", values={"water_source": "well", "latrine": "yes"})
        for i in range(2, 5)
    ]
    with pytest.raises(ImportFileError, match="export.json, row 2: The columns do not match the form 'f'"):
        run_checked(instrument, other, coordinator)
    assert Submission.objects.count() == QuarantinedRecord.objects.count() == ImportBatch.objects.count() == 0


def test_another_version_of_the_form_is_refused_naming_row_and_field(instrument, coordinator):
    good = [rec(i) for i in range(3)]
    late = RawRecord(
        source="kobo-json",
        locator="results[3]",
        values=rec(3).values,
        instance_id="uuid:3",
        meta={"__version__": "2"},
    )
    with pytest.raises(ImportFileError, match=r"results\[3\], field '__version__': .*version '2'"):
        run_checked(instrument, [*good, late], coordinator)
    assert Submission.objects.count() == 0
    assert run_checked(instrument, good, coordinator).accepted == 3


@pytest.mark.parametrize("workers", [0, 2])
def test_a_later_record_of_a_withdrawn_respondent_keeps_only_a_trace(instrument, coordinator, workers):
    # A respondent withdrew; a later export brings a new interview of theirs (another instance id):
    # it is stored as the withdrawal leaves their earlier one — no answer, no personal field — and
    # stays out of every estimate. Other respondents of the same batch are stored as usual.
    run(instrument, [rec(1)], coordinator)
    respondent = Submission.objects.get(instance_id="uuid:1").respondent
    services.withdraw_consent(instrument.study, respondent, user=coordinator)
    later = RawRecord(
        source="kobo-json",
        locator="results[0]",
        values=rec(1).values,
        instance_id="uuid:1-again",
        raw=rec(1).values,
    )
    report = batches.import_records(
        instrument, [later, rec(2)], checker=check_age, source="kobo-json", user=coordinator, workers=workers
    )
    assert (report.accepted, report.quarantined, report.withdrawn_traces) == (2, 0, 1)
    assert [n["code"] for n in report.notes if n["code"] == "consent_withdrawn"] == ["consent_withdrawn"]
    trace = Submission.objects.get(instance_id="uuid:1-again")
    assert trace.consent_status == Submission.ConsentStatus.WITHDRAWN
    assert (trace.values, trace.raw, trace.meta, trace.personal) == ({}, {}, {}, None)
    in_analysis = Submission.objects.filter(study=instrument.study).in_analysis()
    assert set(in_analysis.values_list("instance_id", flat=True)) == {"uuid:2"}
