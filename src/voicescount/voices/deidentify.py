"""Proposing redactions of personal data in Vietnamese and English transcripts, offline.

Microsoft Presidio's ``AnalyzerEngine`` runs with a blank spaCy pipeline per language (``spacy.blank``:
a tokenizer only, no statistical model, so nothing is ever downloaded) and our own pattern recognisers
with context words: Vietnamese phone numbers, CCCD/CMND numbers, exact ages, villages and addresses,
Vietnamese names (a common family name and 1–3 capitalised syllables, or a kinship title and a name),
English names after Mr/Mrs/Ms and e-mail addresses. Presidio's predefined recognisers are left out: the
e-mail one looks the domain up with ``tldextract``, which fetches the public suffix list.

The detector only proposes; a person accepts, edits or rejects each proposal (``voices.services``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import spacy
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from spacy.language import Language

LANGUAGES = ("vi", "en")
SCORE_THRESHOLD = 0.4
"""Proposals below this confidence are dropped (a bare 9-digit number without context, 0.3, is one)."""

REPLACEMENTS_VI = {
    "PERSON": "[tên]",
    "PHONE_NUMBER": "[số điện thoại]",
    "NATIONAL_ID": "[số giấy tờ]",
    "AGE": "[tuổi]",
    "LOCATION": "[địa danh]",
    "EMAIL_ADDRESS": "[e-mail]",
}
"""What stands in place of redacted words in a Vietnamese source (the text is shown in its own language)."""
REPLACEMENTS = {
    "PERSON": "[name]",
    "PHONE_NUMBER": "[phone]",
    "NATIONAL_ID": "[ID number]",
    "AGE": "[age]",
    "LOCATION": "[place]",
    "EMAIL_ADDRESS": "[e-mail]",
}

# Upper- and lower-case letters of Vietnamese (Latin, Latin-1, Latin Extended-A/B, Latin Extended
# Additional): precomposed Vietnamese capitals alternate with small letters in U+1EA0-U+1EF9, so no
# simple range would do.
_LETTERS = [chr(i) for i in (*range(0x41, 0x250), *range(0x1EA0, 0x1EFA)) if chr(i).isalpha()]
UPPER = "".join(c for c in _LETTERS if c.isupper())
LOWER = "".join(c for c in _LETTERS if c.islower())
CAPITALISED = f"[{UPPER}][{LOWER}]*(?![{UPPER}{LOWER}])"
"""A capitalised syllable, a lone capital too ("Ksor Y Bhăm", "Nguyễn Văn A"), never part of "UBND"."""
NAME_SYLLABLES = rf"{CAPITALISED}(?:[ \t]+{CAPITALISED}){{0,2}}"

FAMILY_NAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Đoàn Trịnh Lương Mai Cao "
    "Lâm Hà Tô Tạ Trương Chu Quách Lò Lục Hứa Thái Triệu Vi Giàng Sùng Thào Vàng"
).split()
TITLES_VI = "anh chị ông bà em cô chú bác cụ".split()
TITLES_EN = ["Mr", "Mr.", "Mrs", "Mrs.", "Ms", "Ms.", "Miss", "Dr", "Dr."]

NOT_PEOPLE = frozenset(
    """Hồ Chí Minh|Hồ Gươm|Hồ Tây|Hồ Hoàn Kiếm|Phan Thiết|Phan Rang|Lê Chân|Rịa|Chúa|Trời|Phật""".split("|")
)
"""Places and beings a name pattern would otherwise take for a person (Hồ Chí Minh City, Bà Rịa)."""
NOT_NAME_STARTS = frozenset("Chủ Hội Trưởng Phó Bí Cán Giám Hiệu Trạm Trưởng Bộ Sở Ủy Uỷ".split())
"""Capitalised role words after a title: "chị Chủ tịch hội" is a role, not a name."""


class NameRecognizer(PatternRecognizer):
    """A pattern recogniser for names that refuses well-known places and roles that look like names."""

    def invalidate_result(self, pattern_text: str) -> bool:
        words = pattern_text.split()
        if pattern_text in NOT_PEOPLE or (words and words[0] in NOT_NAME_STARTS):
            return True
        return any(" ".join(words[i:]) in NOT_PEOPLE for i in range(1, len(words)))


def _patterns(language: str) -> list[PatternRecognizer]:
    case = re.DOTALL | re.MULTILINE
    nocase = case | re.IGNORECASE
    family = "|".join(FAMILY_NAMES)
    titled = [
        Pattern(f"after {t}", rf"(?<=(?<![{LOWER}{UPPER}]){v} ){NAME_SYLLABLES}", 0.6)
        for t in TITLES_VI
        for v in (t, t.capitalize())
    ]
    titled += [
        Pattern(f"after {t}", rf"(?<=\b{re.escape(t)} )[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){{0,2}}", 0.6)
        for t in TITLES_EN
    ]
    recognisers = [
        NameRecognizer(
            supported_entity="PERSON",
            name=f"vn_name_{language}",
            supported_language=language,
            patterns=[
                Pattern(
                    "family name", rf"(?<![{LOWER}{UPPER}])(?:{family})(?:[ \t]+{CAPITALISED}){{1,3}}", 0.6
                ),
                Pattern("name is", rf"(?<=\bname is ){NAME_SYLLABLES}", 0.5),
                Pattern("tên là", rf"(?<=\btên là ){NAME_SYLLABLES}", 0.5),
                Pattern("tên", rf"(?<=\btên ){NAME_SYLLABLES}", 0.5),
                *titled,
            ],
            context=["tên", "name", "gặp", "nói", "said", "told", "chia sẻ"],
            global_regex_flags=case,
        ),
        PatternRecognizer(
            supported_entity="PHONE_NUMBER",
            name=f"vn_phone_{language}",
            supported_language=language,
            patterns=[
                # 0 + 9 digits (mobile) or 10 (landline), +84/0084 + 9; spaces, dots or dashes between.
                Pattern("vn phone", r"(?<![\d+])(?:\+84|0084|0)[ .\-]?(?:\d[ .\-]?){8,9}\d(?!\d)", 0.6),
            ],
            context=["điện thoại", "sđt", "đt", "gọi", "zalo", "phone", "call", "mobile", "liên hệ"],
            global_regex_flags=nocase,
        ),
        PatternRecognizer(
            supported_entity="NATIONAL_ID",
            name=f"vn_id_{language}",
            supported_language=language,
            patterns=[
                # CCCD: 12 digits, the first three the province of birth (001-096).
                Pattern("cccd", r"(?<![\d.,])0\d{11}(?![\d.,]\d)", 0.6),
                Pattern("cmnd", r"(?<![\d.,])\d{9}(?![\d.,]\d)", 0.3),
            ],
            context=["cccd", "cmnd", "căn cước", "chứng minh", "id", "identity", "số định danh"],
            global_regex_flags=nocase,
        ),
        PatternRecognizer(
            supported_entity="AGE",
            name=f"age_{language}",
            supported_language=language,
            patterns=[
                # An exact age, not a range ("15-24 tuổi", "từ 60 tuổi", "aged 15 to 24").
                Pattern(
                    "tuổi",
                    r"(?<![\d\-–])(?<!đến )(?<!trên )(?<!dưới )(?<!từ )\b\d{1,3}[ \t]?tuổi\b",
                    0.6,
                ),
                Pattern("aged", r"\baged?[ \t]\d{1,3}\b(?![ \t]*(?:-|–|to|and|or)[ \t]*\d)", 0.6),
                Pattern("years old", r"(?<![\d\-–])\b\d{1,3}[ \t-]years?[ \t-]old\b", 0.6),
            ],
            global_regex_flags=nocase,
        ),
        PatternRecognizer(
            supported_entity="LOCATION",
            name=f"vn_place_{language}",
            supported_language=language,
            patterns=[
                Pattern(
                    "village or address",
                    rf"(?<![{LOWER}{UPPER}])(?:[Tt]hôn|[Xx]óm|[Bb]ản|[Ấấ]p|[Bb]uôn|[Pp]hum|[Ss]óc|[Ll]àng"
                    rf"|[Ss]ố nhà|[Đđ]ường|[Tt]ổ dân phố|[Kk]hu phố|[Tt]ổ|[Xx]ã|[Pp]hường|[Tt]hị trấn)[ \t]+"
                    rf"(?:\d+[A-Za-z]?|{CAPITALISED})(?:[ \t]+(?:\d+|{CAPITALISED})){{0,3}}",
                    0.6,
                ),
                Pattern("village of", rf"\b(?:[Vv]illage|[Hh]amlet)[ \t]+(?:of[ \t]+)?{NAME_SYLLABLES}", 0.6),
                Pattern(
                    "X village", rf"(?<![{LOWER}{UPPER}]){NAME_SYLLABLES}[ \t]+(?:village|hamlet)\b", 0.6
                ),
            ],
            global_regex_flags=case,
        ),
        PatternRecognizer(
            supported_entity="EMAIL_ADDRESS",
            name=f"email_{language}",
            supported_language=language,
            patterns=[Pattern("email", r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b", 0.8)],
            global_regex_flags=nocase,
        ),
    ]
    return recognisers


@Language.component("voicescount_lower_lemma")
def lower_lemma(doc):
    """A blank pipeline has no lemmatiser: the lower-case word stands in, for Presidio's context words."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine over ``spacy.blank`` pipelines: tokens only, no model, no download."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES) -> None:
        super().__init__(models=[{"lang_code": lang, "model_name": f"blank:{lang}"} for lang in languages])
        self.languages = languages

    def load(self) -> None:
        self.nlp = {}
        for lang in self.languages:
            # Without pyvi the Vietnamese tokenizer splits on spaces, which is all context words need.
            config = {"nlp": {"tokenizer": {"use_pyvi": False}}} if lang == "vi" else {}
            nlp = spacy.blank(lang, config=config)
            nlp.add_pipe("voicescount_lower_lemma")
            self.nlp[lang] = nlp


@dataclass(frozen=True)
class Proposal:
    """A span of ``text`` the detector takes for personal data, with its kind and confidence."""

    start: int
    end: int
    entity: str
    score: float
    replacement: str


def replacement_for(entity: str, language: str) -> str:
    """The default stand-in for redacted words of kind ``entity`` in a text in ``language``."""
    return (REPLACEMENTS_VI if language == "vi" else REPLACEMENTS).get(entity, "[…]")


@lru_cache(maxsize=1)
def analyzer() -> AnalyzerEngine:
    """The configured engine (built once per process; loading blank pipelines takes well under a second)."""
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
    for lang in LANGUAGES:
        for recogniser in _patterns(lang):
            registry.add_recognizer(recogniser)
    engine = BlankSpacyNlpEngine()
    engine.load()
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=list(LANGUAGES))


def propose_redactions(text: str, language: str, offset: int = 0) -> list[Proposal]:
    """Spans of ``text`` that look like personal data, in order, overlaps merged (the surer kind kept).

    ``language`` is the source's (``other`` is analysed as English); ``offset`` is added to every span, so
    that an excerpt's proposals point into its source's text.
    """
    lang = language if language in LANGUAGES else "en"
    results = analyzer().analyze(text=text, language=lang, score_threshold=SCORE_THRESHOLD)
    merged: list[tuple[int, int, str, float]] = []
    for r in sorted(results, key=lambda r: (r.start, -r.end)):
        if merged and r.start < merged[-1][1]:
            start, end, entity, score = merged[-1]
            entity, score = (r.entity_type, r.score) if r.score > score else (entity, score)
            merged[-1] = (start, max(end, r.end), entity, score)
        else:
            merged.append((r.start, r.end, r.entity_type, r.score))
    return [
        Proposal(start + offset, end + offset, entity, round(score, 2), replacement_for(entity, language))
        for start, end, entity, score in merged
    ]
