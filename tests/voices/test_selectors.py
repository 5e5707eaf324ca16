"""The publishability rule: consent, every proposal decided, a person's review; the text shown."""

from __future__ import annotations

import pytest

from tests.voices.conftest import span
from voicescount.voices import services
from voicescount.voices.models import Excerpt, Redaction
from voicescount.voices.selectors import public_text, publishable_excerpts

pytestmark = pytest.mark.django_db

WORDS = "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm kể"


def reviewed_excerpt(source, users, words=WORDS):
    excerpt = services.create_excerpt(users["analyst"], source, *span(source.text, words))
    for r in excerpt.redactions.all():
        services.decide_redaction(users["analyst"], r, "accepted")
    return services.mark_reviewed(users["coordinator"], excerpt)


def test_reviewed_excerpt_shows_with_redactions_applied(source, users):
    excerpt = reviewed_excerpt(source, users)
    [shown] = publishable_excerpts()
    assert shown.pk == excerpt.pk and not shown.is_paraphrase
    assert shown.text == "Chị [tên], [tuổi], ở [địa danh] kể"
    assert (shown.language, shown.source_type, shown.study_id) == ("vi", "focus_group", source.study_id)


def test_rejected_and_edited_redactions(source, users):
    excerpt = services.create_excerpt(users["analyst"], source, *span(source.text, WORDS))
    name, age, place = excerpt.redactions.order_by("start")
    services.decide_redaction(users["analyst"], name, "edited", replacement="[a woman]")
    services.decide_redaction(users["analyst"], age, "rejected")
    start, end = span(source.text, "Đồng Tâm")
    services.decide_redaction(
        users["analyst"], place, "edited", start=start, end=end, replacement="[village]"
    )
    services.mark_reviewed(users["coordinator"], excerpt)
    assert [e.text for e in publishable_excerpts()] == ["Chị [a woman], 45 tuổi, ở thôn [village] kể"]


def test_withdrawn_undecided_and_unreviewed_are_not_publishable(source, users):
    withdrawn = reviewed_excerpt(source, users)
    services.set_consent(users["analyst"], withdrawn, "do_not_publish")
    undecided = services.create_excerpt(users["analyst"], source, *span(source.text, WORDS))
    assert undecided.redactions.filter(decision="proposed").exists()
    unreviewed = services.create_excerpt(users["analyst"], source, *span(source.text, "Nhiều chị em nói"))
    assert unreviewed.redactions.count() == 0
    assert publishable_excerpts() == []


def test_a_proposal_added_after_review_takes_it_out(source, users):
    excerpt = reviewed_excerpt(source, users)
    # Even written behind the services' back, an undecided proposal keeps the excerpt out.
    Redaction.objects.create(
        excerpt=excerpt, start=excerpt.start, end=excerpt.start + 3, entity="OTHER", proposed_by="detector"
    )
    assert publishable_excerpts() == []


def test_paraphrase_only_shows_the_paraphrase_never_the_words(source, users):
    excerpt = reviewed_excerpt(source, users)
    services.set_consent(users["analyst"], excerpt, "paraphrase", "A mother said her daughter left school.")
    assert publishable_excerpts() == []  # the change took the review back
    services.mark_reviewed(users["coordinator"], excerpt)
    [shown] = publishable_excerpts()
    assert shown.is_paraphrase and shown.text == "A mother said her daughter left school."


def test_public_text_cuts_redactions_at_the_excerpt_ends(source, users):
    excerpt = services.create_excerpt(users["analyst"], source, *span(source.text, "Thị Lan, 45"))
    Redaction.objects.all().delete()
    name_start, _ = span(source.text, "Nguyễn Thị Lan")
    Redaction.objects.create(
        excerpt=excerpt,
        start=name_start,
        end=name_start + len("Nguyễn Thị Lan"),
        entity="PERSON",
        proposed_by="person",
        decision="accepted",
        replacement="[name]",
    )
    excerpt = Excerpt.objects.prefetch_related("redactions").get(pk=excerpt.pk)
    assert public_text(excerpt, source.text) == "[name], 45"
