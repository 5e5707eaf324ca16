"""Sources, excerpts, consent and the review: stored encrypted, checked, audited, rights enforced."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from tests.voices.conftest import TRANSCRIPT, span
from voicescount.collection.models import AuditEntry
from voicescount.geography.models import Area
from voicescount.voices import services
from voicescount.voices.models import Excerpt, Redaction, Source
from voicescount.voices.services import VoicesError

pytestmark = pytest.mark.django_db


def test_source_text_is_stored_encrypted(source):
    stored = Source.objects.get(pk=source.pk)
    assert stored.text == TRANSCRIPT.strip("\n")
    assert "Nguyễn".encode() not in bytes(stored.text_encrypted)
    assert stored.participant_groups == {"WOMEN": 8, "EM": 5}
    entry = AuditEntry.objects.get(action="voice_source_added")
    assert "Nguyễn" not in str(entry.details) and entry.organisation == source.study.organisation


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"participant_groups": {"NAMES": 3}}, "participant_groups"),
        ({"participant_groups": {"WOMEN": -1}}, "participant_groups"),
        ({"method": "survey"}, "method"),
        ({"title": " "}, "title"),
        ({"default_consent": "maybe"}, "default_consent"),
    ],
)
def test_bad_source_refused_and_nothing_stored(study, users, change, field):
    fields = dict(
        title="KII 1",
        method="key_informant",
        held_on=dt.date(2026, 5, 1),
        language="en",
        text="Some words.",
        default_consent="verbatim",
    )
    with pytest.raises(VoicesError) as refused:
        services.create_source(users["analyst"], study, **(fields | change))
    assert refused.value.field == field
    assert not Source.objects.exists()


def test_place_is_a_province_or_region_never_finer(study, users):
    country = Area.objects.get(code="VN")
    with pytest.raises(VoicesError, match="province or a region"):
        services.create_source(
            users["analyst"],
            study,
            title="t",
            method="story",
            held_on=dt.date(2026, 1, 1),
            language="vi",
            text="x",
            default_consent="verbatim",
            place=country,
        )
    province = Area.objects.filter(level=Area.Level.PROVINCE, country_code="VN").first()
    made = services.create_source(
        users["analyst"],
        study,
        title="t",
        method="story",
        held_on=dt.date(2026, 1, 1),
        language="vi",
        text="x",
        default_consent="verbatim",
        place=province,
    )
    assert made.place == province


def test_enumerator_and_other_organisation_may_not_add(study, users):
    for name in ("enumerator", "youth-coordinator"):
        with pytest.raises(PermissionDenied):
            services.create_source(
                users[name],
                study,
                title="t",
                method="story",
                held_on=dt.date(2026, 1, 1),
                language="vi",
                text="x",
                default_consent="verbatim",
            )


def test_excerpt_gets_consent_of_source_and_proposals(source, users):
    start, end = span(source.text, "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm")
    excerpt = services.create_excerpt(users["analyst"], source, start - 1, end + 1)  # spaces trimmed
    assert (excerpt.start, excerpt.end) == (start, end)
    assert excerpt.consent == "verbatim" and excerpt.status == "draft"
    proposed = {(r.entity, source.text[r.start : r.end]) for r in excerpt.redactions.all()}
    assert proposed == {("PERSON", "Nguyễn Thị Lan"), ("AGE", "45 tuổi"), ("LOCATION", "thôn Đồng Tâm")}
    assert all(r.decision == "proposed" and r.proposed_by == "detector" for r in excerpt.redactions.all())


def test_empty_or_outside_selection_refused(source, users):
    for start, end in ((5, 5), (-1, 4), (0, len(source.text) + 1), (35, 36)):  # 35-36 is a line end
        with pytest.raises(VoicesError):
            services.create_excerpt(users["analyst"], source, start, end)
    assert not Excerpt.objects.exists()


def test_withdrawal_withholds_at_once_and_is_audited_without_text(source, users):
    excerpt = services.create_excerpt(users["analyst"], source, *span(source.text, "Nhiều chị em nói"))
    services.mark_reviewed(users["coordinator"], excerpt)
    services.set_consent(users["analyst"], excerpt, "do_not_publish")
    excerpt.refresh_from_db()
    assert excerpt.status == "withheld" and excerpt.reviewed_by is None
    entry = AuditEntry.objects.get(action="excerpt_consent_changed")
    assert entry.details == {
        "excerpt": excerpt.pk,
        "source": source.pk,
        "before": "verbatim",
        "after": "do_not_publish",
    }
    assert entry.actor == users["analyst"] and entry.organisation == source.study.organisation
    with pytest.raises(VoicesError, match="did not consent"):
        services.mark_reviewed(users["coordinator"], excerpt)


def test_paraphrase_consent_needs_the_paraphrase(source, users):
    excerpt = services.create_excerpt(users["analyst"], source, *span(source.text, "Nhiều chị em nói"))
    with pytest.raises(VoicesError, match="write the paraphrase"):
        services.set_consent(users["analyst"], excerpt, "paraphrase", "")
    assert Excerpt.objects.get(pk=excerpt.pk).consent == "verbatim"
    assert not AuditEntry.objects.filter(action="excerpt_consent_changed").exists()


def test_review_needs_every_proposal_decided_and_publish_right(source, users):
    excerpt = services.create_excerpt(
        users["analyst"], source, *span(source.text, "Chị Nguyễn Thị Lan, 45 tuổi")
    )
    with pytest.raises(PermissionDenied):
        services.mark_reviewed(users["analyst"], excerpt)
    with pytest.raises(VoicesError, match="2 proposed redaction"):
        services.mark_reviewed(users["coordinator"], excerpt)
    name, age = excerpt.redactions.order_by("start")
    services.decide_redaction(users["analyst"], name, "accepted")
    services.decide_redaction(users["analyst"], age, "rejected")
    services.mark_reviewed(users["coordinator"], excerpt)
    assert Excerpt.objects.get(pk=excerpt.pk).status == "reviewed"
    # A later change takes the review back.
    services.decide_redaction(users["analyst"], age, "edited", replacement="[age group]")
    assert Excerpt.objects.get(pk=excerpt.pk).status == "draft"


def test_edited_redaction_stays_inside_the_excerpt(source, users):
    excerpt = services.create_excerpt(users["analyst"], source, *span(source.text, "Chị Nguyễn Thị Lan"))
    redaction = excerpt.redactions.get()
    with pytest.raises(VoicesError, match="within its excerpt"):
        services.decide_redaction(
            users["analyst"], redaction, "edited", start=excerpt.start, end=excerpt.end + 5
        )
    assert Redaction.objects.get(pk=redaction.pk).decision == "proposed"
    added = services.add_redaction(users["analyst"], excerpt, excerpt.start, excerpt.start + 3, "OTHER", "")
    assert (added.decision, added.proposed_by, added.replacement) == ("accepted", "person", "[…]")
