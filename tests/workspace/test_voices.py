"""Voices pages through the real sign-in: list, add a source (typed or a file; bad files refused),
a source's text and excerpts, the review of an excerpt; rights of each role."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.workspace.conftest import sign_in
from voicescount.collection.models import AuditEntry
from voicescount.voices.models import Excerpt, Source
from voicescount.voices.selectors import publishable_excerpts

pytestmark = pytest.mark.django_db

TRANSCRIPT = "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm kể: trạm y tế xa lắm.\nNhiều chị em đồng ý."


def base(study):
    return f"/en/workspace/studies/{study.slug}/voices/"


def form(**more):
    data = {
        "title": "FGD women 1", "method": "focus_group", "held_on": "2026-05-04", "language": "vi",
        "default_consent": "verbatim", "group_WOMEN": "8", "group_EM": "3", "text": "",
    }  # fmt: skip
    return data | more


def add(client, study, **more):
    return client.post(base(study) + "new/", form(**more))


def test_analyst_adds_a_source_from_a_file_and_makes_an_excerpt(signed_in, demo_study):
    client = signed_in("analyst")
    upload = SimpleUploadedFile("fgd.txt", TRANSCRIPT.encode())
    response = add(client, demo_study, file=upload)
    source = Source.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/voices/{source.pk}/")
    assert (source.imported_from, source.participant_groups) == ("txt", {"WOMEN": 8, "EM": 3})
    page = client.get(response["Location"]).content.decode()
    assert "Nguyễn Thị Lan" in page and 'data-select-from="voices-text"' in page
    assert "FGD women 1" in client.get(base(demo_study)).content.decode()
    end = TRANSCRIPT.index(" kể")
    response = client.post(response["Location"], {"start": 0, "end": end})
    excerpt = Excerpt.objects.get()
    assert response["Location"].endswith(f"/voices/excerpts/{excerpt.pk}/")
    review = client.get(response["Location"]).content.decode()
    assert '<mark class="redaction decision-proposed" title="Name">Nguyễn Thị Lan</mark>' in review
    assert "Mark as reviewed" not in review  # analysts decide, coordinators sign off
    assert "Nothing yet: decide every proposed redaction first." in review
    assert 'class="voices-shown"' not in review  # no preview while a proposal is undecided


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("fgd.txt", "Trạm y tế".encode("utf-16"), "is not UTF-8 text"),
        ("fgd.txt", b"   \n", "holds no text"),
        ("fgd.docx", b"not a document", "is not a valid DOCX file"),
        ("fgd.pdf", b"%PDF", "is not a TXT, DOCX or ODT file"),
    ],
)
def test_bad_file_refused_with_its_reason(signed_in, demo_study, name, data, message):
    client = signed_in("analyst")
    response = add(client, demo_study, file=SimpleUploadedFile(name, data))
    assert response.status_code == 200 and message in response.content.decode()
    assert not Source.objects.exists()


def test_no_text_and_unknown_group_refused(signed_in, demo_study):
    client = signed_in("analyst")
    assert "Paste the transcript or choose a file." in add(client, demo_study).content.decode()
    assert (
        "Ensure this value is greater than or equal to 0"
        in add(client, demo_study, text="x", group_WOMEN="-2").content.decode()
    )
    assert not Source.objects.exists()


def test_review_decide_consent_and_sign_off(signed_in, demo_study):
    analyst = signed_in("analyst")
    add(analyst, demo_study, text=TRANSCRIPT)
    source = Source.objects.get()
    analyst.post(base(demo_study) + f"{source.pk}/", {"start": 0, "end": TRANSCRIPT.index(" kể")})
    excerpt = Excerpt.objects.get()
    change = base(demo_study) + f"excerpts/{excerpt.pk}/change/"
    name, age, place = excerpt.redactions.order_by("start")
    analyst.post(
        change, {"do": "decide", "redaction": name.pk, "decision": "accepted", "replacement": "[name]"}
    )
    analyst.post(change, {"do": "decide", "redaction": age.pk, "decision": "rejected"})
    analyst.post(
        change, {"do": "decide", "redaction": place.pk, "decision": "accepted", "replacement": "[a village]"}
    )
    assert analyst.post(change, {"do": "reviewed"}).status_code == 403
    coordinator = sign_in(Client(), "coordinator")
    coordinator.post(change, {"do": "reviewed"})
    [shown] = publishable_excerpts()
    assert shown.text == "Chị [name], 45 tuổi, ở [a village]"
    coordinator.post(change, {"do": "consent", "consent": "do_not_publish", "paraphrase": ""})
    assert publishable_excerpts() == []
    assert AuditEntry.objects.filter(action="excerpt_consent_changed").count() == 1
    page = coordinator.get(base(demo_study) + f"excerpts/{excerpt.pk}/").content.decode()
    assert "the speaker did not consent to publication" in page


def test_rights(demo_study):
    assert sign_in(Client(), "enumerator").get(base(demo_study)).status_code == 403
    assert sign_in(Client(), "youth-coordinator").get(base(demo_study)).status_code == 404
    reviewer = sign_in(Client(), "nso-reviewer")
    assert reviewer.get(base(demo_study)).status_code == 200
    assert reviewer.get(base(demo_study) + "new/").status_code == 403


def test_vietnamese_pages(signed_in, demo_study):
    client = signed_in("analyst", "vi")
    page = client.get(f"/vi/workspace/studies/{demo_study.slug}/voices/new/").content.decode()
    assert "Thêm nguồn" in page and "Phụ nữ" in page
