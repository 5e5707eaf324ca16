"""Every goal, target and indicator of the global framework has a Vietnamese title, marked unofficial.

The titles come from ``framework/data/vi_titles.csv`` (VoicesCount's own translation, see SOURCES.md);
these tests read the committed file as the loader does and the pages as a visitor sees them.
"""

import csv
import html
import unicodedata

import pytest

from voicescount.framework import loaders
from voicescount.framework.models import GLOBAL, Goal, Indicator, Target

pytestmark = pytest.mark.django_db

# Codes whose Vietnamese title may legitimately equal the English one (none today).
SAME_AS_ENGLISH: frozenset[tuple[str, str]] = frozenset()
KINDS = {"goal_short", "goal_title", "target", "indicator"}


def _framework_codes() -> set[tuple[str, str]]:
    with (loaders.DATA / "global-framework.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    codes = {(r["kind"], r["code"]) for r in rows if r["kind"] in ("target", "indicator")}
    goals = {r["code"] for r in rows if r["kind"] == "goal"}
    return codes | {("goal_short", g) for g in goals} | {("goal_title", g) for g in goals}


def _vi_rows() -> list[dict[str, str]]:
    with (loaders.DATA / "vi_titles.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_file_parses_and_names_only_framework_codes_once():
    rows = _vi_rows()
    assert rows and list(rows[0]) == ["kind", "code", "title_vi"]
    keys = [(r["kind"], r["code"]) for r in rows]
    assert {k for k, _ in keys} <= KINDS
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert set(keys) - _framework_codes() == set()
    assert len(loaders.vietnamese_titles()) == len(rows)


def test_the_file_covers_every_goal_target_and_indicator():
    missing = _framework_codes() - set(loaders.vietnamese_titles())
    assert not missing, f"{len(missing)} without a Vietnamese title, e.g. {sorted(missing)[:10]}"


def test_titles_are_clean_nfc_text():
    for row in _vi_rows():
        title = row["title_vi"]
        assert unicodedata.is_normalized("NFC", title), row["code"]
        assert title == title.strip() and "  " not in title and "\n" not in title, row["code"]


@pytest.mark.parametrize("model", [Target, Indicator])
def test_every_target_and_indicator_has_a_vietnamese_title_marked_unofficial(model):
    rows = model.objects.all() if model is Target else model.objects.filter(framework__code=GLOBAL)
    untranslated = [r.code for r in rows if not r.title_vi or not r.vi_unofficial]
    assert not untranslated, f"{len(untranslated)} of {rows.count()}: {untranslated[:10]}"


def test_every_goal_has_both_vietnamese_titles_marked_unofficial():
    assert not Goal.objects.filter(title_vi="").exists()
    assert not Goal.objects.filter(short_title_vi="").exists()
    assert not Goal.objects.filter(vi_unofficial=False).exists()


def test_vietnamese_titles_are_not_english_copies():
    pairs = [("goal_title", str(g.number), g.title_en, g.title_vi) for g in Goal.objects.all()]
    pairs += [("goal_short", str(g.number), g.short_title_en, g.short_title_vi) for g in Goal.objects.all()]
    pairs += [("target", t.code, t.title_en, t.title_vi) for t in Target.objects.all()]
    pairs += [
        ("indicator", i.code, i.title_en, i.title_vi)
        for i in Indicator.objects.filter(framework__code=GLOBAL)
    ]
    copies = [
        (k, c) for k, c, en, vi in pairs if vi.casefold() == en.casefold() and (k, c) not in SAME_AS_ENGLISH
    ]
    # Vietnamese prose always has letters outside ASCII (đ, ư, ơ, tone marks); an English title has none.
    no_vietnamese = [(k, c) for k, c, _, vi in pairs if vi.isascii() and (k, c) not in SAME_AS_ENGLISH]
    assert not copies and not no_vietnamese, (copies[:10], no_vietnamese[:10])


def test_an_indicator_listed_under_several_targets_has_one_vietnamese_title():
    by_english: dict[str, set[str]] = {}
    for indicator in Indicator.objects.filter(framework__code=GLOBAL):
        by_english.setdefault(indicator.title_en, set()).add(indicator.title_vi)
    assert [en for en, vi in by_english.items() if len(vi) > 1] == []


@pytest.mark.parametrize("code", ["2.1.1", "3.1.1", "6.1.1", "7.1.1", "11.1.1", "14.1.1", "17.19.2"])
def test_vietnamese_indicator_page_shows_the_vietnamese_titles_as_unofficial(client, code):
    indicator = Indicator.objects.get(framework__code=GLOBAL, code=code)
    response = client.get(f"/vi/indicators/{code}/")
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert indicator.title_vi and indicator.title_vi in page
    assert indicator.target.title_vi and indicator.target.title_vi in page
    assert indicator.title_en not in page
    assert "Bản dịch không chính thức, đang chờ thẩm định" in page
    assert "Chưa dịch: hiển thị tên tiếng Anh" not in page


@pytest.mark.parametrize("number", range(1, 18))
def test_vietnamese_goal_page_lists_every_target_and_indicator_in_vietnamese(client, number):
    page = html.unescape(client.get(f"/vi/goals/{number}/").content.decode())
    targets = Target.objects.filter(goal__number=number)
    indicators = Indicator.objects.filter(framework__code=GLOBAL, target__goal__number=number)
    assert targets.exists() and indicators.exists()
    for item in [*targets, *indicators]:
        assert item.title_vi in page and item.title_en not in page, item.code


def test_without_a_vietnamese_row_the_english_title_is_shown_unmarked(client, tmp_path, monkeypatch):
    rows = (loaders.DATA / "vi_titles.csv").read_text(encoding="utf-8").splitlines()
    kept = [row for row in rows if not row.startswith("indicator,3.1.1,")]
    assert len(kept) == len(rows) - 1
    (tmp_path / "vi_titles.csv").write_text("\n".join(kept), encoding="utf-8")
    (tmp_path / "global-framework.csv").write_bytes((loaders.DATA / "global-framework.csv").read_bytes())
    monkeypatch.setattr(loaders, "DATA", tmp_path)
    loaders.load_global_framework()
    indicator = Indicator.objects.get(framework__code=GLOBAL, code="3.1.1")
    assert indicator.title_vi == "" and not indicator.vi_unofficial
    page = html.unescape(client.get("/vi/indicators/3.1.1/").content.decode())
    assert indicator.title_en in page and "Chưa dịch: hiển thị tên tiếng Anh" in page
