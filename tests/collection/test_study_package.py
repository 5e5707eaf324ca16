"""Studies as files (issue 14, item 10): ``voicescount study dump|load`` and the demo shipped as a package.

A package dumped, loaded into another organisation and dumped again gives the same files; loading twice
changes nothing; a bad package names the file, the key path and what is wrong, and changes nothing; with
data, the submissions leave without personal fields or questionnaire codes and come back once each."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
from pathlib import Path

import jsonschema
import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from voicescount.accounts.models import Coalition, Organisation
from voicescount.cli import app
from voicescount.collection import batches, importing
from voicescount.collection.checking import checker_for
from voicescount.collection.models import AuditEntry, ImportBatch, Instrument, Study, Submission
from voicescount.collection.packages import PackageError, dump_study, load_study, package_schema
from voicescount.demo import survey
from voicescount.demo.load import PACKAGE
from voicescount.indicators.models import DerivedVariable, IndicatorDefinition

pytestmark = pytest.mark.django_db
runner = CliRunner(env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
FORM = "forms/vn_cgd_2022.xlsx"
PACKAGE_FILES = ("study.yaml", "indicators.yaml", FORM)


@pytest.fixture
def orgs():
    coalition = Coalition.objects.create(slug="vn", name="VN coalition", country_code="VN")
    first = Organisation.objects.create(slug="first", name="First", coalition=coalition)
    second = Organisation.objects.create(slug="second", name="Second", coalition=coalition)
    return first, second


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in PACKAGE_FILES}


def _copy(tmp_path: Path, name: str = "package") -> Path:
    target = tmp_path / name
    shutil.copytree(PACKAGE, target)
    return target


def _edit_yaml(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text("utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _state() -> tuple:
    return (
        list(Study.objects.order_by("pk").values_list("slug", "title_en", "psu_variable", "min_cell_size")),
        Instrument.objects.count(),
        list(IndicatorDefinition.objects.order_by("pk").values_list("code", "universe", "version")),
        DerivedVariable.objects.count(),
        AuditEntry.objects.count(),
        Submission.objects.count(),
    )


# --- the demo package -------------------------------------------------------------------------------


def test_demo_package_validates_against_the_schema():
    schema = package_schema()
    for name, which in (("study.yaml", "study"), ("indicators.yaml", "indicators")):
        document = yaml.safe_load((PACKAGE / name).read_text("utf-8"))
        if which == "study":  # PyYAML reads unquoted dates as dates; the package quotes them
            assert isinstance(document["period"]["start"], str)
        jsonschema.validate(document, {"$ref": f"#/$defs/{which}", "$defs": schema["$defs"]})
    indicators = yaml.safe_load((PACKAGE / "indicators.yaml").read_text("utf-8"))
    assert len(indicators["definitions"]) == 25


def test_demo_package_is_what_the_generator_writes_from_the_demo_modules():
    spec = importlib.util.spec_from_file_location(
        "make_demo_package", Path(__file__).parents[2] / "scripts" / "make_demo_package.py"
    )
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    content = generator.deterministic_xlsx(survey.build_xlsform())
    assert content == (PACKAGE / FORM).read_bytes()  # the same bytes whenever it is generated
    form = generator.parse_xlsform("vn_cgd_2022.xlsx", content)
    assert yaml.safe_load((PACKAGE / "study.yaml").read_text("utf-8")) == generator.study_document(form)
    indicators = yaml.safe_load((PACKAGE / "indicators.yaml").read_text("utf-8"))
    assert indicators == generator.indicators_document()


# --- round trip and idempotence -------------------------------------------------------------------------


def test_dump_load_into_another_organisation_and_dump_again_gives_the_same_files(orgs, tmp_path):
    first, second = orgs
    report = load_study(PACKAGE, organisation=first)
    study = report.study
    assert report.created
    dump_study(study, tmp_path / "one")
    assert _files(tmp_path / "one") == _files(PACKAGE)  # the demo package is a dump of the demo study

    # what the demo does not use: a derived variable, stricter thresholds, second stage, another lonely rule
    DerivedVariable.objects.create(
        study=study,
        name="adult",
        expression="age >= 16",
        title_en="Adults",
        title_vi="Người lớn",
        notes="16+",
    )
    Study.objects.filter(pk=study.pk).update(
        min_cell_size=20,
        suppress_below=30,
        caution_below=None,
        ssu_variable="respondent_id",
        lonely_psu="average",
    )
    study.refresh_from_db()
    dump_study(study, tmp_path / "two")
    assert (tmp_path / "two" / "study.yaml").read_bytes() != (tmp_path / "one" / "study.yaml").read_bytes()
    assert "disclosure:\n  min_cell_size: 20\n  suppress_below: 30\n  caution_below: null\n" in (
        tmp_path / "two" / "study.yaml"
    ).read_text("utf-8")

    study.delete()  # an empty database for the study: the same slug, now in another organisation
    again = load_study(tmp_path / "two", organisation=second)
    assert again.created and again.study.organisation == second
    dump_study(again.study, tmp_path / "three")
    assert _files(tmp_path / "three") == _files(tmp_path / "two")


def test_loading_the_same_package_twice_changes_nothing(orgs):
    first, _ = orgs
    load_study(PACKAGE, organisation=first)
    before = _state()
    updated = Study.objects.get().updated
    report = load_study(PACKAGE, organisation=first)
    assert not report.created and report.changed == [] and report.imports == {}
    assert _state() == before
    assert Study.objects.get().updated == updated


def test_a_changed_package_updates_the_study_and_bumps_the_definition_version(orgs, tmp_path):
    first, _ = orgs
    load_study(PACKAGE, organisation=first)
    package = _copy(tmp_path)
    _edit_yaml(package / "indicators.yaml", lambda d: d["definitions"][0].update(universe="age >= 18"))
    _edit_yaml(package / "study.yaml", lambda d: d["title"].update(en="Renamed"))
    report = load_study(package, organisation=first)
    assert report.changed == ["study.title_en", "definition birth-registration changed"]
    definition = IndicatorDefinition.objects.get(code="birth-registration")
    assert (definition.universe, definition.version) == ("age >= 18", 2)


def test_an_interval_method_other_than_logit_goes_through_dump_and_load(orgs, tmp_path):
    first, second = orgs
    study = load_study(PACKAGE, organisation=first).study
    IndicatorDefinition.objects.filter(study=study, code="birth-registration").update(
        interval_method="likelihood"
    )
    dump_study(study, tmp_path / "out")
    definitions = yaml.safe_load((tmp_path / "out" / "indicators.yaml").read_text("utf-8"))["definitions"]
    methods = {d["code"]: d.get("interval_method") for d in definitions}
    assert methods.pop("birth-registration") == "likelihood" and set(methods.values()) == {
        None
    }  # logit: left out
    study.delete()
    again = load_study(tmp_path / "out", organisation=second).study
    loaded = dict(again.indicator_definitions.values_list("code", "interval_method"))
    assert loaded.pop("birth-registration") == "likelihood" and set(loaded.values()) == {"logit"}
    package = _copy(tmp_path)
    _edit_yaml(package / "indicators.yaml", lambda d: d["definitions"][0].update(interval_method="probit"))
    with pytest.raises(PackageError, match="interval_method"):
        load_study(package, organisation=first)


# --- bad packages ---------------------------------------------------------------------------------------


def _break_xlsx(package: Path) -> None:
    (package / FORM).write_bytes(b"PK\x03\x04 this is not a workbook")


def _same_version_other_content(package: Path) -> None:
    book = openpyxl.load_workbook(io.BytesIO((package / FORM).read_bytes()))
    book["survey"]["C3"] = "Another label"
    out = io.BytesIO()
    book.save(out)
    (package / FORM).write_bytes(out.getvalue())


BAD = {
    "missing key": (
        lambda p: _edit_yaml(p / "study.yaml", lambda d: d.pop("method")),
        "study.yaml: method: 'method' is a required property",
    ),
    "unknown indicator code": (
        lambda p: _edit_yaml(p / "indicators.yaml", lambda d: d["definitions"][2].update(indicator="99.9.9")),
        "indicators.yaml: definitions[2].indicator: '99.9.9' is not an indicator of the framework 'global'",
    ),
    "design variable not in any form": (
        lambda p: _edit_yaml(p / "study.yaml", lambda d: d["design"].update(psu="commune2")),
        "study.yaml: design.psu: 'commune2' is not a question of any form",
    ),
    "looser disclosure threshold": (
        lambda p: _edit_yaml(p / "study.yaml", lambda d: d.update(disclosure={"min_cell_size": 3})),
        "study.yaml: disclosure.min_cell_size: 3 is looser than the deployment's 10 (a study may be "
        "stricter, never looser)",
    ),
    "broken XLSForm": (_break_xlsx, "forms/vn_cgd_2022.xlsx: not a valid XLSForm: "),
    "role of a question not in the form": (
        lambda p: _edit_yaml(p / "study.yaml", lambda d: d["instruments"][0]["roles"].update(nom="personal")),
        "study.yaml: instruments[0].roles.nom: 'nom' is not a question of forms/vn_cgd_2022.xlsx",
    ),
    "bad expression": (
        lambda p: _edit_yaml(p / "indicators.yaml", lambda d: d["definitions"][0].update(numerator="age >")),
        "indicators.yaml: definitions[0].numerator: Not a valid expression",
    ),
    "wrong type": (
        lambda p: _edit_yaml(p / "study.yaml", lambda d: d.update(planned_sample_size="many")),
        "study.yaml: planned_sample_size: 'many' is not of type 'integer', 'null'",
    ),
    # found only while writing: the transaction takes back the study's new title
    "same form version, other content": (
        _same_version_other_content,
        "forms/vn_cgd_2022.xlsx: Form 'vn_cgd_2022' version '2022.1' is already in this study with "
        "different content",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_package_names_file_key_and_problem_and_changes_nothing(orgs, tmp_path, case):
    first, _ = orgs
    load_study(PACKAGE, organisation=first)
    package = _copy(tmp_path)
    _edit_yaml(package / "study.yaml", lambda d: d["title"].update(en="Renamed"))  # would change the study
    _edit_yaml(package / "indicators.yaml", lambda d: d["definitions"][1].update(universe="age >= 18"))
    breaking, message = BAD[case]
    breaking(package)
    before = _state()
    with pytest.raises(PackageError) as caught:
        load_study(package, organisation=first)
    assert str(caught.value).startswith(message)
    assert _state() == before
    assert Study.objects.get().title_en != "Renamed"


def test_a_bad_package_creates_no_study(orgs, tmp_path):
    first, _ = orgs
    package = _copy(tmp_path)
    _same_version_other_content(package)  # valid: a first load creates the study
    _edit_yaml(package / "indicators.yaml", lambda d: d["definitions"][-1].update(indicator="0.0.0"))
    with pytest.raises(PackageError, match=r"definitions\[24\]\.indicator"):
        load_study(package, organisation=first)
    assert _state() == ([], 0, [], 0, 0, 0)


def test_a_slug_of_another_organisation_is_refused(orgs):
    first, second = orgs
    load_study(PACKAGE, organisation=first)
    with pytest.raises(PackageError, match="study.yaml: slug: a study 'vn-cgd-2022' already belongs to"):
        load_study(PACKAGE, organisation=second)
    assert load_study(PACKAGE, organisation=second, slug="copy").study.organisation == second


# --- the command ----------------------------------------------------------------------------------------


def words(result) -> str:
    """The command's output with its lines joined: the console wraps long lines at its width."""
    return " ".join(result.output.split())


def test_cli_dump_and_load(orgs, tmp_path):
    first, second = orgs
    new = runner.invoke(app, ["study", "load", str(PACKAGE)])
    assert new.exit_code == 2 and "--organisation" in words(new)
    loaded = runner.invoke(app, ["study", "load", str(PACKAGE), "--organisation", "first"])
    assert loaded.exit_code == 0, loaded.output
    assert "Study vn-cgd-2022 (first): created." in words(loaded)
    dumped = runner.invoke(app, ["study", "dump", "vn-cgd-2022", str(tmp_path / "out")])
    assert dumped.exit_code == 0, dumped.output
    assert "1 instrument(s), 25 definitions, 0 derived variables" in words(dumped)
    assert _files(tmp_path / "out") == _files(PACKAGE)
    again = runner.invoke(app, ["study", "load", str(tmp_path / "out")])
    assert again.exit_code == 0 and "Study vn-cgd-2022 (first): unchanged." in words(again)
    _edit_yaml(tmp_path / "out" / "study.yaml", lambda d: d["design"].update(psu="commune2"))
    bad = runner.invoke(
        app, ["study", "load", str(tmp_path / "out"), "--organisation", "second", "--slug", "x"]
    )
    assert bad.exit_code == 2
    assert "Nothing was loaded. study.yaml: design.psu: 'commune2' is not a question of any form" in words(
        bad
    )
    assert not Study.objects.filter(slug="x").exists()


# --- with data --------------------------------------------------------------------------------------------


def _import_synthetic(study: Study, tmp_path: Path, n: int) -> list[dict]:
    records = survey.generate_submissions(n=n)
    path = tmp_path / "kobo.json"
    path.write_text(json.dumps(survey.kobo_page(records), ensure_ascii=False), encoding="utf-8")
    instrument = study.instruments.get()
    batches.import_records(
        instrument,
        importing.read_records(path, "kobo-json"),
        checker=checker_for(instrument),
        source="kobo-json",
        check_permission=False,
        form_check=batches.form_check_for(instrument, path.name),
    )
    return records


def test_with_data_leaves_personal_fields_behind_and_imports_every_record_once(orgs, tmp_path):
    first, second = orgs
    study = load_study(PACKAGE, organisation=first).study
    records = _import_synthetic(study, tmp_path, 300)
    in_analysis = study.submissions.in_analysis().count()
    assert 0 < in_analysis < len(records)  # some had no consent: quarantined, not exported
    counts = dump_study(study, tmp_path / "pkg", with_data=True)
    assert counts["records"] == in_analysis
    text = (tmp_path / "pkg" / "data" / "vn_cgd_2022.json").read_text("utf-8")
    exported = json.loads(text)["results"]
    assert len(exported) == in_analysis
    for name in ("respondent_name", "phone", "respondent_id"):
        assert all(name not in record for record in exported)
    assert "[personal data" not in text
    for record in records:
        for name in ("respondent_name", "phone", "respondent_id"):
            if record.get(name):
                assert json.dumps(record[name], ensure_ascii=False) not in text
    assert "Personal fields and the questionnaire code are not included" in (
        tmp_path / "pkg" / "README.md"
    ).read_text("utf-8")

    report = load_study(tmp_path / "pkg", organisation=second, slug="copy")
    assert report.imports == {
        "data/vn_cgd_2022.json": {
            "received": in_analysis,
            "accepted": in_analysis,
            "duplicates": 0,
            "quarantined": 0,
        }
    }
    copy = report.study
    assert copy.submissions.count() == in_analysis
    assert all(s.personal is None for s in copy.submissions.all())
    original = {s.instance_id: s.values for s in study.submissions.in_analysis()}
    assert {s.instance_id: s.values for s in copy.submissions.all()} == {
        key: {k: v for k, v in values.items() if k not in ("respondent_name", "phone", "respondent_id")}
        for key, values in original.items()
    }
    batches_before = ImportBatch.objects.count()
    assert load_study(tmp_path / "pkg", organisation=second, slug="copy").imports == {}
    assert ImportBatch.objects.count() == batches_before and copy.submissions.count() == in_analysis


def test_cli_load_as_a_user_needs_the_right_to_edit_the_organisations_studies(orgs, django_user_model):
    from voicescount.accounts.models import Membership, Role

    first, _ = orgs
    for name, role in (("enum", Role.ENUMERATOR), ("coord", Role.COORDINATOR)):
        user = django_user_model.objects.create_user(name, password="x")
        Membership.objects.create(user=user, organisation=first, role=role)
    refused = runner.invoke(app, ["study", "load", str(PACKAGE), "--organisation", "first", "--user", "enum"])
    assert refused.exit_code == 2 and "Nothing was loaded." in refused.output
    assert _state() == ([], 0, [], 0, 0, 0)
    allowed = runner.invoke(
        app, ["study", "load", str(PACKAGE), "--organisation", "first", "--user", "coord"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert Instrument.objects.get().uploaded_by.username == "coord"
