"""The detector on transcript snippets written for this test (synthetic: every name, number and village is
made up): recall per kind of personal data, and words that only look personal left alone.

Nothing is downloaded: the engine runs on blank spaCy pipelines (checked with sockets refused)."""

from __future__ import annotations

import socket
from collections import Counter

import pytest

from voicescount.voices import deidentify
from voicescount.voices.deidentify import propose_redactions

# (language, snippet, personal details in it: (kind, words)).
SNIPPETS = [
    (
        "vi",
        "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm kể rằng con gái chị phải nghỉ học.",
        [("PERSON", "Nguyễn Thị Lan"), ("AGE", "45 tuổi"), ("LOCATION", "thôn Đồng Tâm")],
    ),
    (
        "vi",
        "Anh Tuấn nói: ai cần thì gọi số 0912 345 678 hoặc 0987.654.321, Zalo cũng được.",
        [("PERSON", "Tuấn"), ("PHONE_NUMBER", "0912 345 678"), ("PHONE_NUMBER", "0987.654.321")],
    ),
    (
        "vi",
        "Bà Hoa ở xóm Chùa mất CCCD số 001185012345 nên không làm được thẻ bảo hiểm y tế.",
        [("PERSON", "Hoa"), ("LOCATION", "xóm Chùa"), ("NATIONAL_ID", "001185012345")],
    ),
    (
        "vi",
        "Ông Trần Văn Hùng, 62 tuổi, người Thái ở bản Nà Hin, số CMND 125678943, sống một mình.",
        [
            ("PERSON", "Trần Văn Hùng"),
            ("AGE", "62 tuổi"),
            ("LOCATION", "bản Nà Hin"),
            ("NATIONAL_ID", "125678943"),
        ],
    ),
    (
        "vi",
        "Em Phạm Minh Châu 15 tuổi học lớp 9, nhà ở số nhà 12 đường Lê Lợi, điện thoại +84 912 345 678.",
        [
            ("PERSON", "Phạm Minh Châu"),
            ("AGE", "15 tuổi"),
            ("LOCATION", "số nhà 12"),
            ("LOCATION", "đường Lê Lợi"),
            ("PHONE_NUMBER", "+84 912 345 678"),
        ],
    ),
    (
        "vi",
        "Cô Đặng Thu Hà ở ấp Bình Lợi cho biết chồng cô, anh Lâm, đi làm ở Bình Dương từ năm 30 tuổi.",
        [("PERSON", "Đặng Thu Hà"), ("LOCATION", "ấp Bình Lợi"), ("PERSON", "Lâm"), ("AGE", "30 tuổi")],
    ),
    (
        "vi",
        "Chị Huỳnh Ngọc Mai, email mai.huynh@example.org, phụ trách nhóm tiết kiệm của hội.",
        [("PERSON", "Huỳnh Ngọc Mai"), ("EMAIL_ADDRESS", "mai.huynh@example.org")],
    ),
    (
        "vi",
        "Anh Ksor Y Bhăm ở buôn Ma Lê, gần UBND xã Tân Lập, ĐT: 024 3826 1234.",
        [
            ("PERSON", "Ksor Y Bhăm"),
            ("LOCATION", "buôn Ma Lê"),
            ("LOCATION", "xã Tân Lập"),
            ("PHONE_NUMBER", "024 3826 1234"),
        ],
    ),
    (
        "en",
        "Mrs Sarah Jones, aged 58, runs the clinic in Ban Phuc village; her phone is 0912 345 678.",
        [
            ("PERSON", "Sarah Jones"),
            ("AGE", "aged 58"),
            ("LOCATION", "Ban Phuc village"),
            ("PHONE_NUMBER", "0912 345 678"),
        ],
    ),
    (
        "en",
        "Mr. Nguyen told us that his son, 17 years old, left school. Write to nguyen.family@example.com.",
        [("PERSON", "Nguyen"), ("AGE", "17 years old"), ("EMAIL_ADDRESS", "nguyen.family@example.com")],
    ),
    (
        "en",
        "Ms Lê Thị Thu from hamlet of Tân Phú said the CCCD card number 079190001234 was kept by the owner.",
        [("PERSON", "Lê Thị Thu"), ("LOCATION", "hamlet of Tân Phú"), ("NATIONAL_ID", "079190001234")],
    ),
]

# Words that look like personal data but are not: ranges of ages, places and roles, maps and roads in general.
LOOK_ALIKES = [
    ("vi", "Nhóm thanh niên từ 16 đến 30 tuổi và người cao tuổi trên 60 tuổi được hỏi riêng."),
    ("vi", "Nhóm 15-24 tuổi nói thiếu việc làm; nhiều người đi làm ở Thành phố Hồ Chí Minh."),
    ("vi", "Chúng tôi vẽ bản đồ của xã; con đường đến trường bị ngập, bản thân tôi cũng lo."),
    ("vi", "Chị Chủ tịch Hội phụ nữ nói năm 2024 có 1.250 hộ nghèo, chiếm 12,5% số hộ; lý do là hạn hán."),
    ("vi", "Trần nhà trạm y tế bị dột; Bà Rịa – Vũng Tàu có chương trình hỗ trợ tương tự."),
    ("en", "Young people aged 15 to 24 and older persons were asked separately in 2025."),
    ("en", "The district has 45 villages and 12,000 households; the budget was 2,500,000,000 VND."),
]


def found(lang: str, text: str) -> list[tuple[str, str]]:
    return [(p.entity, text[p.start : p.end]) for p in propose_redactions(text, lang)]


def covered(expected_words: str, text: str, proposals: list[tuple[str, str]]) -> bool:
    """A detail counts as found when one proposal covers all its words (a wider span hides it too)."""
    return any(expected_words in words for _, words in proposals)


def recall_by_kind() -> dict[str, tuple[int, int]]:
    hits, totals = Counter(), Counter()
    for lang, text, details in SNIPPETS:
        proposals = found(lang, text)
        for kind, words in details:
            totals[kind] += 1
            hits[kind] += covered(words, text, proposals)
    return {kind: (hits[kind], totals[kind]) for kind in totals}


def test_recall_per_kind_of_personal_data():
    recall = recall_by_kind()
    print({kind: f"{h}/{n}" for kind, (h, n) in recall.items()})
    hits = sum(h for h, _ in recall.values())
    total = sum(n for _, n in recall.values())
    assert hits == total, recall  # every detail of these snippets is proposed


def test_proposals_carry_offsets_kind_and_confidence():
    text = SNIPPETS[0][1]
    proposals = propose_redactions(text, "vi", offset=100)
    first = proposals[0]
    assert (first.entity, text[first.start - 100 : first.end - 100]) == ("PERSON", "Nguyễn Thị Lan")
    assert 0.4 <= first.score <= 1 and first.replacement == "[tên]"
    assert [p.start for p in proposals] == sorted(p.start for p in proposals)


def test_context_words_raise_the_confidence():
    with_context = propose_redactions("Số CMND của tôi là 125678943.", "vi")
    assert [p.entity for p in with_context] == ["NATIONAL_ID"] and with_context[0].score > 0.6
    # A bare nine-digit number is not proposed at all.
    assert propose_redactions("Tổng kinh phí 125678943 đồng.", "vi") == []


@pytest.mark.parametrize(("lang", "text"), LOOK_ALIKES)
def test_look_alikes_are_left_alone(lang, text):
    assert found(lang, text) == []


def test_runs_offline_with_blank_pipelines(monkeypatch):
    deidentify.analyzer.cache_clear()

    def refuse(*args, **kwargs):
        raise AssertionError("the detector tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    proposals = found("en", "Mrs Sarah Jones, aged 58.")
    assert proposals == [("PERSON", "Sarah Jones"), ("AGE", "aged 58")]
    engine = deidentify.analyzer().nlp_engine
    assert all(
        not nlp.pipe_names or nlp.pipe_names == ["voicescount_lower_lemma"] for nlp in engine.nlp.values()
    )
