"""Walk every public URL and download of a small demo site as an anonymous visitor and check that no personal
value, no number of a suppressed cell and no unsuppressed small cell appears anywhere.

Personal values are read back from the store (decrypted from the submissions and the quarantine). The
numbers a suppressed cell would have shown are not stored, so they are recomputed without suppression in a
transaction that is rolled back; their full-precision forms (as JSON, CSV or a chart would carry them) must
not appear, and every suppressed row of a table, CSV or JSON answer must carry no number at all.

Responses are compared token by token (words, numbers), not by substring search, so that the walk stays
fast: a personal value is found when its words appear in sequence, a number when the same literal appears.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
from django.db import transaction
from django.test import Client

from voicescount.collection.crypto import decrypt_json
from voicescount.collection.models import QuarantinedRecord, Study, Submission
from voicescount.collection.services import personal_fields
from voicescount.indicators.compute import compute_definition
from voicescount.indicators.disclosure_rule import deployment_rule
from voicescount.indicators.models import Estimate
from voicescount.publishing import render_cache
from voicescount.publishing.exports import public_runs
from voicescount.publishing.static_site import page_urls
from voicescount.stats.disclosure import CellSizeRule

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
RESPONDENTS = 300
SMALL = deployment_rule().suppress_below  # fewer respondents than this: never published
NUMERIC_FIELDS = ("estimate", "se", "ci_low", "ci_high", "deff", "weighted_n", "n", "value", "obs_value")


@pytest.fixture
def demo_site():
    from voicescount.accounts.demo import create_demo_accounts
    from voicescount.demo.load import load_demo_study

    create_demo_accounts()
    load_demo_study(respondents=RESPONDENTS)
    return Study.objects.get(slug="vn-cgd-2022")


def _leaves(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v, key)
    else:
        yield key, node


def personal_values(study: Study) -> set[str]:
    """Every personal value the store holds for ``study`` (decrypted), plus the pseudonymous ids."""
    fields = set()
    for instrument in study.instruments.all():
        fields |= personal_fields(instrument)
    values: set[str] = {study.pseudonym_key}
    for token, respondent in Submission.objects.filter(study=study).values_list("personal", "respondent"):
        values.add(respondent)
        if token:
            values |= {str(v) for _, v in _leaves(decrypt_json(token)) if v not in (None, "")}
    for payload in QuarantinedRecord.objects.filter(study=study).values_list("payload", flat=True):
        for key, value in _leaves(decrypt_json(payload)):
            if key.replace("-", "/").rsplit("/", 1)[-1] in fields and value not in (None, ""):
                values.add(str(value))
    return {v for v in values if len(v) >= 6}  # shorter strings (a 1-letter answer) are not identifying


def _forms(v: float) -> set[str]:
    """How a stored number can be written out: as is (JSON, charts) or as a percentage, rounded to 8 places
    (CSV, SDMX). Short forms (0.5, 12.25) could be any other published number; six digits cannot."""
    forms = {repr(v), repr(v * 100), repr(round(v * 100, 8)), repr(round(v, 8))}
    return {f for f in forms if len(f.replace("-", "").replace(".", "").lstrip("0")) >= 6}


def _distinctive(v: float | None) -> bool:
    """Not 0 or 100% (nor rounding noise around them), which any table is full of."""
    return v is not None and abs(v) >= 1e-4 and abs(v - 1) >= 1e-9 and bool(_forms(v))


def suppressed_numbers() -> tuple[set[str], list[str]]:
    """Forms of the numbers the suppressed cells of the published runs would have shown, and the
    complementary cells left out of the check because another published cell of the run has the same
    value (the same respondents: e.g. a cell whose sibling is empty equals its published margin)."""
    hidden: set[str] = set()
    same_as_published: list[str] = []
    for run in public_runs():
        flags = dict(run.estimates.filter(flag__startswith="suppressed").values_list("key", "flag"))
        if not flags:
            continue
        published = {
            round(v, 12)
            for v in run.estimates.exclude(flag__startswith="suppressed").values_list("estimate", flat=True)
            if v is not None
        }
        with transaction.atomic():
            bare = compute_definition(run.definition, rule=CellSizeRule(suppress_below=1), force=True)
            rows = bare.estimates.filter(key__in=flags).values_list(
                "key", "estimate", "se", "ci_low", "ci_high"
            )
            for key, estimate, *others in rows:
                if not _distinctive(estimate):
                    # 0% and 100% are everywhere, and so is their interval: Wilson on n, the same for every
                    # such cell of that size (the structural checks still see that none is shown).
                    continue
                # Any other value shared with a published cell means the same respondents, which only a
                # complementary cell (n above the threshold) may have.
                if _distinctive(estimate) and round(estimate, 12) in published:
                    assert flags[key] == Estimate.Flag.SUPPRESSED_COMPLEMENTARY, (
                        f"{run.definition.code} {key}: a small cell's value is published as another cell"
                    )
                    same_as_published.append(f"{run.definition.code} {key}")
                    continue
                for v in (estimate, *others):
                    if _distinctive(v):
                        hidden |= _forms(v)
            transaction.set_rollback(True)  # a look, not a change: nothing kept
    return hidden, same_as_published


def _suppressed_rows_in_html(html: str) -> list[str]:
    return re.findall(r'<tr class="suppressed">(.*?)</tr>', html, re.S)


def _check_structure(url: str, content_type: str, body: bytes) -> list[str]:
    """Problems in how cells are shown: any number beside a suppressed flag (not even the count, as
    docs/open-data.md says), or a small cell published without one."""
    problems = []
    if "html" in content_type:
        for row in _suppressed_rows_in_html(body.decode()):
            cells = re.sub(r"<th.*?</th>", "", row, flags=re.S)  # the group's label may hold digits (ages)
            if re.search(r"\d", re.sub(r"<[^>]+>", "", cells)):
                problems.append(f"{url}: a suppressed row shows a number: {row.strip()[:200]}")
    elif "json" in content_type:
        for item in _dicts(json.loads(body)):
            if str(item.get("flag", "")).startswith("suppressed"):
                shown = {k: item[k] for k in NUMERIC_FIELDS if item.get(k) not in (None, "")}
                if shown:
                    problems.append(f"{url}: a suppressed item carries {shown}")
            elif "flag" in item and isinstance(item.get("n"), int) and 0 < item["n"] < SMALL:
                problems.append(f"{url}: a cell of {item['n']} respondents is published: {item.get('key')}")
    elif "csv" in content_type:
        problems += _check_csv(url, body.decode("utf-8-sig"))
    return problems


def _check_csv(url: str, text: str) -> list[str]:
    problems = []
    for row in csv.DictReader(io.StringIO(text)):
        flags = " ".join(str(row.get(k, "")) for k in ("flag", "OBS_STATUS", "CONF_STATUS"))
        if "suppressed" in flags or row.get("CONF_STATUS") == "C":
            shown = {
                k: v for k, v in row.items() if k and k.lower() in NUMERIC_FIELDS and v not in ("", "NaN")
            }
            if shown:
                problems.append(f"{url}: a suppressed CSV row carries {shown}")
        elif "flag" in row and (row.get("n") or "").isdigit() and 0 < int(row["n"]) < SMALL:
            problems.append(f"{url}: a cell of {row['n']} respondents is published: {row}")
    return problems


def _dicts(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _dicts(v)


def _bodies(url: str, response) -> list[tuple[str, str, bytes]]:
    """(name, content type, bytes) of a response; a zip is opened and each member checked."""
    body = b"".join(response) if response.streaming else response.content
    content_type = response.get("Content-Type", "")
    if "zip" not in content_type:
        return [(url, content_type, body)]
    out = []
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            kind = "text/csv" if name.endswith(".csv") else ("json" if name.endswith(".json") else "text")
            out.append((f"{url}!{name}", kind, archive.read(name)))
    return out


WORD = re.compile(r"[\w+]+")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
LONGEST_NAME = 6  # words


def _personal_found(text: str, personal: set[str], first_words: set[str]) -> set[str]:
    """The personal values whose words appear in sequence in ``text`` (looked for where a first word is)."""
    words = WORD.findall(text)
    found = set()
    for i, word in enumerate(words):
        if word in first_words:
            for n in range(1, LONGEST_NAME + 1):
                phrase = " ".join(words[i : i + n])
                if phrase in personal:
                    found.add(phrase)
    return found


def _normalised(value: str) -> str:
    return " ".join(WORD.findall(value))


def public_urls(study: Study) -> list[str]:
    urls = list(page_urls())
    for lang in ("vi", "en"):
        for url in (f"/{lang}/studies/", f"/{lang}/studies/{study.slug}/"):
            if url not in urls:
                urls.append(url)
    return urls


def test_no_personal_data_or_suppressed_number_is_reachable(demo_site):
    personal = {_normalised(v) for v in personal_values(demo_site)}
    assert all(len(v.split()) <= LONGEST_NAME for v in personal)
    hidden, same_as_published = suppressed_numbers()
    assert any("Nguyễn" in v or "Trần" in v or "Lê" in v for v in personal)  # names were really read back
    assert any(re.fullmatch(r"[0-9 +]{9,}", v) for v in personal)  # and phone numbers
    assert len(same_as_published) < len(hidden)
    assert Estimate.objects.filter(flag__startswith="suppressed").exists()
    assert hidden, "the demo has suppressed cells whose numbers the check must look for"

    client = Client(HTTP_HOST="localhost")
    urls = public_urls(demo_site)
    assert any("/download/" in u for u in urls) and any(u.startswith("/api/") for u in urls)
    first_words = {v.split()[0] for v in personal}
    problems: list[str] = []
    suppressed_rows = 0
    # Rendered as ``voicescount publish`` renders the static site: a run's rows are read once, not per page.
    with render_cache.active():
        responses = [(url, client.get(url)) for url in urls]
    for url, response in responses:
        assert response.status_code == 200, url
        for name, content_type, body in _bodies(url, response):
            text = body.decode("utf-8", errors="replace")
            problems += [
                f"{name}: personal value {v!r}" for v in _personal_found(text, personal, first_words)
            ]
            problems += [
                f"{name}: number of a suppressed cell {h}" for h in hidden & set(NUMBER.findall(text))
            ]
            problems += _check_structure(name, content_type, body)
            suppressed_rows += len(_suppressed_rows_in_html(text)) if "html" in content_type else 0
    assert suppressed_rows > 0, "no page showed a suppressed row: the structural check saw nothing"
    assert not problems, "\n".join(problems[:20])
