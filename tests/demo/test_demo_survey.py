"""The demo study: seeded submissions, a valid bilingual XLSForm, computable definitions, usable official
series."""

import collections
import csv
import datetime as dt
import io
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from voicescount.demo import definitions, official, survey
from voicescount.framework.labels import age_label
from voicescount.indicators.expressions import parse

FRAMEWORK = Path(survey.__file__).parents[1] / "framework" / "data"
N = 3000
WG = ["wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_selfcare", "wg_communication"]


@pytest.fixture(scope="module")
def records():
    return survey.generate_submissions()


@pytest.fixture(scope="module")
def consented(records):
    return [r for r in records if r["consent"] == "yes"]


@pytest.fixture(scope="module")
def columns(consented):
    """Question name → column as the compute step sees it: numbers for integer and decimal questions,
    text otherwise, None where unanswered."""
    out = {}
    for name, question in survey.QUESTION_BY_NAME.items():
        values = [r.get(name) for r in consented]
        if question["type"] in ("integer", "decimal"):
            out[name] = np.array([np.nan if v is None else float(v) for v in values])
        else:
            column = np.empty(len(values), dtype=object)
            column[:] = values
            out[name] = column
    return out


@pytest.fixture(scope="module")
def xlsform():
    return survey.build_xlsform()


def _weighted(columns, definition):
    universe = parse(definition["universe"]).mask(columns)
    target = np.asarray(parse(definition.get("numerator") or definition["value"]).evaluate(columns), float)
    keep = universe & ~np.isnan(target)
    w = columns["weight"][keep]
    return keep, float((w * target[keep]).sum() / w.sum())


def _pwd(columns):
    return np.any([np.isin(columns[q], ["3", "4"]) for q in WG], axis=0)


# --- the submissions --------------------------------------------------------------------------------------


def test_same_seed_same_records_and_another_seed_differs(records):
    assert survey.generate_submissions(seed=2022) == records
    other = survey.generate_submissions(seed=7)
    assert [r["_uuid"] for r in other] != [r["_uuid"] for r in records]
    assert [r.get("age") for r in other] != [r.get("age") for r in records]


def test_counts_of_regions_children_and_groups(records):
    assert len(records) == N
    regions = collections.Counter(r["region"] for r in records)
    assert set(regions) == {"north", "central", "south"}
    assert all(0.2 < count / N < 0.45 for count in regions.values())
    ages = np.array([int(r["age"]) for r in records])
    assert ages.min() == 11
    assert 0.10 <= np.mean(ages <= 15) <= 0.15
    adults = [r for r in records if int(r["age"]) >= 16]
    assert 0.03 <= sum(r["lgbt"] == "yes" for r in adults) / len(adults) <= 0.07
    assert 0.15 <= sum(r["ethnicity"] != "kinh_hoa" for r in records) / N <= 0.3
    assert 0.3 <= sum(16 <= int(r["age"]) <= 30 for r in records) / N <= 0.4


def test_records_the_import_must_quarantine(records):
    no_consent = [r for r in records if r["consent"] != "yes"]
    assert 0.005 * N <= len(no_consent) <= 0.02 * N
    children = [r for r in records if int(r["age"]) <= 15]
    assert all("guardian_consent" in r for r in children)
    without = [r for r in children if r["guardian_consent"] != "yes" or r.get("child_assent") != "yes"]
    assert len(without) == round(0.005 * N)
    assert {r["guardian_consent"] for r in without} == {
        "yes",
        "no",
    }  # guardian refused, or child did not assent
    assert not any("guardian_consent" in r or "child_assent" in r for r in records if int(r["age"]) >= 16)


def test_kobo_api_v2_shape(records):
    ids = [r["_id"] for r in records]
    assert ids == sorted(ids) and len(set(ids)) == N
    assert len({r["_uuid"] for r in records}) == N
    times = [r["_submission_time"] for r in records]
    assert times == sorted(times)
    assert "2022-03-01" <= times[0] and times[-1] < "2022-07-01"
    for r in records:
        assert r["meta/instanceID"] == f"uuid:{r['_uuid']}"
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", r["_uuid"]
        )
        assert r["__version__"] == "2022.1"
        assert r["formhub/uuid"] == survey.FORMHUB_UUID
        assert dt.datetime.fromisoformat(r["start"]) < dt.datetime.fromisoformat(r["end"])
        answers = {k: v for k, v in r.items() if not k.startswith(("_", "meta/", "formhub/"))}
        assert all(isinstance(v, str) and v for v in answers.values())  # Kobo reports answers as text
    page = survey.kobo_page(records[:5])
    assert page == {"count": 5, "next": None, "previous": None, "results": records[:5]}
    json.dumps(page, ensure_ascii=False)


def test_sampling_design(records):
    stratum_of = {}
    for r in records:
        assert stratum_of.setdefault(r["commune"], r["stratum"]) == r["stratum"], "communes nest in strata"
        assert r["stratum"] == f"{r['region']}_{r['urban_rural']}"
        assert r["commune"].startswith(r["province"] + "-")
        assert survey.PROVINCE_REGION[r["province"]] == r["region"]
    psus = collections.Counter(stratum_of.values())
    assert len(psus) == 6 and min(psus.values()) >= 2
    assert 140 <= len(stratum_of) <= 160
    sizes = collections.Counter(r["commune"] for r in records)
    assert 15 <= np.mean(list(sizes.values())) <= 25
    weights = np.array([float(r["weight"]) for r in records])
    assert (weights > 0).all()
    assert weights.sum() == pytest.approx(72e6, rel=1e-3)
    by_stratum = collections.defaultdict(list)
    for r, w in zip(records, weights, strict=True):
        by_stratum[r["stratum"]].append(w)
    means = [np.mean(v) for v in by_stratum.values()]
    assert max(means) / min(means) > 1.5  # inclusion probabilities differ by stratum
    # oversampled groups carry smaller weights
    youth = np.array([16 <= int(r["age"]) <= 30 for r in records])
    assert weights[youth].mean() < weights[~youth].mean()
    ids = [r["respondent_id"] for r in records]
    assert len(set(ids)) == N and all(i.startswith(r["commune"]) for i, r in zip(ids, records, strict=True))


def test_other_sample_sizes_keep_the_design():
    small = survey.generate_submissions(n=400, seed=3)
    assert len(small) == 400
    psus = collections.defaultdict(set)
    for r in small:
        psus[r["stratum"]].add(r["commune"])
    assert len(psus) == 6 and all(len(c) >= 2 for c in psus.values())
    with pytest.raises(ValueError, match="at least 200"):
        survey.generate_submissions(n=50)


def test_fake_names_and_phone_numbers_look_vietnamese(records):
    for r in records:
        assert 2 <= len(r["respondent_name"].split()) <= 4
        if "phone" in r:
            assert re.fullmatch(r"0[35789]\d{8}", r["phone"])
    assert sum("phone" in r for r in records if int(r["age"]) <= 15) == 0
    surnames = collections.Counter(r["respondent_name"].split()[0] for r in records)
    assert surnames.most_common(1)[0][0] == "Nguyễn"


# --- the XLSForm ------------------------------------------------------------------------------------------


def test_xlsform_converts_with_pyxform(xlsform):
    warnings = []
    result = convert(xlsform, warnings=warnings, file_type=".xlsx")
    assert warnings == []
    assert 'id="vn_cgd_2022"' in result.xform and 'version="2022.1"' in result.xform
    assert 'lang="Tiếng Việt (vi)" default="true()"' in result.xform
    book = load_workbook(io.BytesIO(xlsform))
    assert book.sheetnames == ["survey", "choices", "settings"]
    settings = dict(zip(*[[c.value for c in row] for row in book["settings"].iter_rows()], strict=True))
    assert settings["form_id"] == "vn_cgd_2022" and settings["version"] == "2022.1"
    assert settings["default_language"] == "Tiếng Việt (vi)"
    rows = list(book["survey"].iter_rows(values_only=True))
    header = rows[0]
    for row in rows[1:]:
        q = dict(zip(header, row, strict=True))
        assert re.fullmatch(r"[a-z][a-z0-9_]*", q["name"]) and q["name"].isascii()
        if q["type"] not in ("start", "end", "calculate"):
            assert q["label::English (en)"] and q["label::Tiếng Việt (vi)"], q["name"]


def test_xlsform_parses_with_the_collection_reader(xlsform):
    xlsform_module = pytest.importorskip("voicescount.collection.xlsform")
    form = xlsform_module.parse_xlsform("vn_cgd_2022.xlsx", xlsform)
    assert (form["form_id"], form["version"], form["default_language"]) == ("vn_cgd_2022", "2022.1", "vi")
    assert {q["name"] for q in form["questions"]} == set(survey.QUESTION_BY_NAME)
    assert xlsform_module.detect_special_questions(form) == definitions.SPECIAL_QUESTIONS
    roles = xlsform_module.suggest_roles(form)
    assert {k for k, v in roles.items() if v == "personal"} == {"respondent_name", "phone"}


def test_every_answer_is_a_choice_of_its_question(records, xlsform):
    book = load_workbook(io.BytesIO(xlsform))
    choices = collections.defaultdict(set)
    for list_name, code, *_ in book["choices"].iter_rows(min_row=2, values_only=True):
        choices[list_name].add(str(code))
    kinds = {}
    for row in book["survey"].iter_rows(min_row=2, values_only=True):
        kind = row[0].split()
        if kind[0] in ("select_one", "select_multiple"):
            kinds[row[1]] = (kind[0], choices[kind[1]])
    seen = collections.defaultdict(set)
    for r in records:
        for name, (kind, codes) in kinds.items():
            if name in r:
                picked = r[name].split() if kind == "select_multiple" else [r[name]]
                assert set(picked) <= codes, (name, r[name])
                seen[name].update(picked)
    assert set(seen) == set(kinds)  # every select question is answered somewhere
    assert seen["province"] == choices["province"]


def test_records_pass_the_import_validation(records, xlsform):
    xlsform_module = pytest.importorskip("voicescount.collection.xlsform")
    validation = pytest.importorskip("voicescount.collection.validation")
    form = xlsform_module.parse_xlsform("vn_cgd_2022.xlsx", xlsform)
    check = validation.compile_validator(form, roles=definitions.QUESTION_ROLES, today=dt.date(2022, 7, 1))
    assert check.skipped == []
    personal = {name for name, role in definitions.QUESTION_ROLES.items() if role == "personal"}
    problems = collections.Counter()
    for r in records:
        for issue in check.check(r).issues:
            # personal fields are encrypted apart from the answers; their text checks are not ours to pass
            if issue.field not in personal:
                problems[(issue.field, issue.code)] += 1
    assert problems == {}


# --- indicator definitions --------------------------------------------------------------------------------


def test_definitions_refer_to_the_framework_and_code_lists():
    with open(FRAMEWORK / "global-framework.csv", encoding="utf-8") as f:
        indicators = {row["code"] for row in csv.DictReader(f) if row["kind"] == "indicator"}
    lists = json.loads((FRAMEWORK / "code-lists.json").read_text(encoding="utf-8"))["lists"]
    codes = {cl["code"]: {c[0] for c in cl["codes"]} for cl in lists}
    codes["AGE"] |= {"Y16T24", "Y25T59"}  # added by the demo; see docs/demo-study.md
    codes["REGION"] = {"VN-R3-N", "VN-R3-C", "VN-R3-S"}
    assert 15 <= len(definitions.DEFINITIONS) <= 25
    assert len({d["code"] for d in definitions.DEFINITIONS}) == len(definitions.DEFINITIONS)
    goals = {d["indicator"].split(".")[0] for d in definitions.DEFINITIONS}
    assert {"1", "4", "5", "8", "13", "16"} <= goals
    for d in definitions.DEFINITIONS:
        assert d["indicator"] in indicators, d["code"]
        assert d["kind"] in ("proportion", "mean")
        assert ("numerator" in d) == (d["kind"] == "proportion") and ("value" in d) == (d["kind"] == "mean")
        assert all(d[k] for k in ("title_en", "title_vi", "notes_en", "notes_vi", "unit", "universe"))
        names = [dim["code_list"] for dim in d["dimensions"]]
        assert len(names) == len(set(names))
        for dim in d["dimensions"]:
            produced = set(dim.get("codes", {}).values()) | {b[2] for b in dim.get("bins", [])}
            if dim["source"] == "@wg_disability":
                produced = {"PD", "NPD"}
            elif dim["source"] in ("@province", "@province_2025"):
                assert "province" in survey.QUESTION_BY_NAME  # coded by the geography (63 or 34 provinces)
                continue
            else:
                assert dim["source"] in survey.QUESTION_BY_NAME
            assert produced and produced <= codes[dim["code_list"]], (d["code"], dim)
            bins = sorted(dim.get("bins", []))
            assert all(a[1] < b[0] for a, b in itertools.pairwise(bins)), "age bins must not overlap"
        for combo in d["intersections"]:
            assert set(combo) <= set(names) and len(combo) >= 1, (d["code"], combo)


OLDEST = 110  # the age question's constraint: 11 to 110


@pytest.mark.parametrize(("dimension", "youngest"), [(definitions.AGE_ALL, 11), (definitions.AGE_ADULTS, 16)])
def test_every_age_bin_is_coded_by_the_ages_it_holds(dimension, youngest):
    """A bin's code, read as its label, names exactly the ages it holds (16–24 is Y16T24, not Y15T24),
    and every age the survey allows falls in one bin (bins are inclusive, the first that holds an age
    wins)."""
    for low, high, code in dimension["bins"]:
        words = f"{low} years old and over" if high >= OLDEST else f"{low} to {high} years old"
        assert age_label(code) is not None and age_label(code)[0] == words, code
    for age in range(youngest, OLDEST + 1):
        assert sum(low <= age <= high for low, high, _ in dimension["bins"]) == 1, age
    assert min(low for low, _, _ in dimension["bins"]) == youngest


def test_every_expression_parses_and_gives_a_plausible_value(columns):
    for d in definitions.DEFINITIONS:
        for field in ("universe", "numerator", "value"):
            if field in d:
                assert parse(d[field]).names <= set(survey.QUESTION_BY_NAME), (d["code"], field)
        keep, estimate = _weighted(columns, d)
        assert keep.sum() >= (100 if d["code"] != "discrimination-sogi" else 50), d["code"]
        if d["kind"] == "proportion":
            assert 0.01 < estimate < 0.99, (d["code"], estimate)
        else:
            assert 10_000 < estimate < 100_000, (d["code"], estimate)  # dong per hour


def test_furthest_behind_groups_are_real(columns):
    by = {d["code"]: d for d in definitions.DEFINITIONS}
    pwd, em = _pwd(columns), columns["ethnicity"] != "kinh_hoa"
    rural, female = columns["urban_rural"] == "rural", columns["sex"] == "female"

    def gap(code, group):
        keep, _ = _weighted(columns, by[code])
        target = np.asarray(parse(by[code].get("numerator") or by[code]["value"]).evaluate(columns), float)
        w = columns["weight"]
        rate = [(w * target)[keep & g].sum() / w[keep & g].sum() for g in (group, ~group)]
        return rate[0] - rate[1]

    assert gap("financial-account", em) < -0.1
    assert gap("child-school-attendance", pwd) < -0.1
    assert gap("internet-use", pwd) < -0.2
    assert gap("spoke-at-meeting", female) < -0.05
    assert gap("poor-household-list", rural) > 0.05
    assert gap("hourly-earnings", female) < 0


def test_study_metadata_roles_and_design():
    study = definitions.STUDY
    assert study["slug"] == "vn-cgd-2022" and study["method"] == "household_survey"
    assert (study["period_start"], study["period_end"]) == (dt.date(2022, 3, 1), dt.date(2022, 6, 30))
    assert study["target_groups"] == ["YOUTH", "WOMEN", "PWD", "CHILD", "LGBT", "EM"]
    assert study["consent_procedure"] == "guardian_assent"
    assert all(study[f"{k}_{lang}"] for k in ("title", "summary", "sampling_description", "consent_notes")
               for lang in ("en", "vi"))  # fmt: skip
    assert set(definitions.DESIGN.values()) <= set(survey.QUESTION_BY_NAME)
    assert set(definitions.QUESTION_ROLES) <= set(survey.QUESTION_BY_NAME)
    assert set(definitions.SPECIAL_QUESTIONS.values()) <= set(survey.QUESTION_BY_NAME)


# --- official series --------------------------------------------------------------------------------------


def test_official_series_use_codes_the_definitions_produce():
    by = {d["code"]: d for d in definitions.DEFINITIONS}
    assert len({o["indicator"] for o in official.OFFICIAL}) >= 8
    for o in official.OFFICIAL:
        d = by[o["definition"]]
        assert o["indicator"] == d["indicator"] and o["unit"] == d["unit"] == "PT"
        assert o["illustrative"] is True and "not a published statistic" in o["source"]
        assert 0 < o["value"] < 100 and o["period"] == "2022"
        if "ci_low" in o:
            assert o["ci_low"] < o["value"] < o["ci_high"]
        if "se" in o:
            assert o["se"] > 0
        produced = collections.defaultdict(set)
        for dim in d["dimensions"]:
            produced[dim["code_list"]] |= set(dim.get("codes", {}).values()) | {
                b[2] for b in dim.get("bins", [])
            }
            if dim["source"] == "@wg_disability":
                produced[dim["code_list"]] |= {"PD", "NPD"}
        if o["area_code"] != "VN":
            assert o["area_code"] in produced["REGION"]
        if o["key"] != "_T":
            pairs = [part.split("=") for part in o["key"].split("|")]
            assert [p[0] for p in pairs] == sorted(p[0] for p in pairs), o["key"]
            for code_list, code in pairs:
                assert code in produced[code_list], (o["definition"], o["key"])


def test_official_figures_agree_for_some_indicators_and_differ_for_others(columns):
    by = {d["code"]: d for d in definitions.DEFINITIONS}
    totals = [o for o in official.OFFICIAL if o["key"] == "_T" and o["area_code"] == "VN"]
    differences = [abs(_weighted(columns, by[o["definition"]])[1] * 100 - o["value"]) for o in totals]
    assert any(diff < 2 for diff in differences) and any(diff > 5 for diff in differences)


@pytest.mark.parametrize("n", [100_000, survey.MAX_N])
def test_large_samples_keep_codes_within_the_forms_constraints(n):
    # The benchmark imports 100,000 records: their commune codes and questionnaire codes must still
    # pass the form's constraints (three-digit commune and interview numbers), and stay unique.
    design = survey._design(np.random.default_rng(2022), n)
    communes = set(design["commune"])
    assert len(communes) == design["n_psu"][0]
    assert all(re.fullmatch(r"[0-9]{2}-[0-9]{3}", c) for c in communes)
    ids = {f"{c}-{int(i):03d}" for c, i in zip(design["commune"], design["interview"], strict=True)}
    assert len(ids) == n and all(re.fullmatch(r"[0-9]{2}-[0-9]{3}-[0-9]{3}", i) for i in ids)
    with pytest.raises(ValueError, match="at most"):
        survey.generate_submissions(n=survey.MAX_N + 1)
