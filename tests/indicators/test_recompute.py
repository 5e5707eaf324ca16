"""Recomputation touches exactly what changed: a definition whose inputs did not change keeps its run, and
in a recomputed one only the estimates of groups the changed respondents belong to move."""
# ruff: noqa: F811  (pytest fixtures imported from test_compute)

import pytest

from tests.indicators.test_compute import DIMENSIONS, definition, study, synthetic_records  # noqa: F401  (fixtures)
from voicescount.collection import batches, services
from voicescount.collection.models import Submission
from voicescount.collection.records import RawRecord
from voicescount.framework.models import Indicator
from voicescount.indicators import compute, dataset, estimation
from voicescount.indicators.models import IndicatorDefinition

pytestmark = pytest.mark.django_db


@pytest.fixture
def children(study):  # noqa: F811
    return IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="sp-children",
        title_en="Children covered by social protection",
        kind=IndicatorDefinition.Kind.PROPORTION,
        universe="age < 15 and covered in ['yes', 'no']",
        numerator="covered == 'yes'",
        dimensions=DIMENSIONS[:2],
        intersections=[["SEX"]],
    )


def snapshot(run):
    return {e.key: (e.estimate, e.se, e.ci_low, e.ci_high, e.n, e.flag) for e in run.estimates.all()}


def differs(a, b):
    """Estimates differ beyond floating-point rounding (sums over a different set of rows are added in
    another order, so an untouched group may move in the 16th digit)."""
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > 1e-12 * max(1.0, abs(x)):
                return True
        elif x != y:
            return True
    return False


def cells_of(dimensions_of_person, keys):
    """Keys of the cells a respondent with ``dimensions_of_person`` (code list → code) belongs to."""
    out = set()
    for key in keys:
        parts = [] if key == estimation.TOTAL else [p.split("=", 1) for p in key.split("|")]
        if all(dimensions_of_person.get(d) == c for d, c in parts):
            out.add(key)
    return out


def person_dimensions(study, definition, submission_id):  # noqa: F811
    data = dataset.load_dataset(study)
    row = data.ids.index(submission_id)
    return {
        spec["code_list"]: str(data.dimension(spec)[0][row])
        for spec in definition.dimensions
        if not str(data.dimension(spec)[0][row]).startswith(dataset.MISSING)
    }


def test_withdrawing_one_consent_changes_exactly_the_groups_of_that_person(
    definition,
    children,
    study,
    django_user_model,  # noqa: F811
):
    first = compute.compute_study(study)
    before = snapshot(first["sp"])
    children_before = snapshot(first["sp-children"])
    adult = Submission.objects.filter(study=study, values__age__gte=30, values__covered="yes").order_by("id")[
        3
    ]
    who = person_dimensions(study, definition, adult.pk)
    admin = django_user_model.objects.create_superuser("admin", password="x")
    services.withdraw_consent(study, adult.respondent, user=admin, note="asked by phone")

    second = compute.compute_study(study)
    assert second["sp-children"] is None  # an adult's withdrawal does not touch the children's indicator
    assert snapshot(first["sp-children"]) == children_before
    after = snapshot(second["sp"])
    assert set(after) == set(before)
    changed = {k for k in before if differs(before[k], after[k])}
    affected = cells_of(who, before)
    assert estimation.TOTAL in affected and len(affected) < len(before) / 2
    # every estimate of a group the person belonged to moved (n at least); nothing else did
    assert changed == affected
    assert all(after[k][4] == before[k][4] - 1 for k in affected)


def test_a_childs_withdrawal_recomputes_only_the_childrens_indicator(
    definition,
    children,
    study,
    django_user_model,  # noqa: F811
):
    compute.compute_study(study)
    child = Submission.objects.filter(study=study, values__age__lt=15).order_by("id").first()
    admin = django_user_model.objects.create_superuser("admin", password="x")
    services.withdraw_consent(study, child.respondent, user=admin)
    again = compute.compute_study(study)
    assert again["sp"] is None and again["sp-children"] is not None


def test_adding_100_submissions_changes_only_the_groups_they_join(definition, children, study):  # noqa: F811
    first = compute.compute_study(study)
    before = snapshot(first["sp"])
    # 100 more men aged 30+ without difficulties, interviewed in communes already in the sample
    extra = []
    for i, record in enumerate(synthetic_records(seed=99)):
        v = dict(record.values)
        if v["age"] < 30 or v["sex"] != "male" or v["wg_walking"] != 1:
            continue
        v["hh"] = f"extra-{i}"
        extra.append(RawRecord(source="api", locator=f"extra {i}", values=v, instance_id=f"uuid:extra-{i}"))
        if len(extra) == 100:
            break
    instrument = study.instruments.get()
    report = batches.import_records(
        instrument,
        extra,
        checker=lambda r: services.Checked(dict(r.values), []),
        source="api",
        check_permission=False,
    )
    assert report.accepted == 100
    second = compute.compute_study(study)
    assert second["sp-children"] is None
    after = snapshot(second["sp"])
    joined = cells_of({"SEX": "M", "AGE": "Y_GE25", "DISABILITY_STATUS": "NPD"}, before)
    provinces = {k for k in before if k.startswith("AREA=")}
    changed = {k for k in before if differs(before[k], after[k])}
    # the men's groups moved; women's and people with disabilities' groups are untouched
    assert changed - provinces == joined
    assert {"SEX=F", "DISABILITY_STATUS=PD", "AGE=Y15T24|DISABILITY_STATUS=NPD|SEX=F"} & changed == set()


def test_worker_processes_give_the_same_estimates_as_one_process(
    definition, children, study, settings, monkeypatch
):
    pools = []  # each parallel computation: its number of worker processes
    forked = compute._pipelined_kernels

    def recorded(prepared, rule, names, workers):
        pools.append(workers)
        yield from forked(prepared, rule, names, workers)

    monkeypatch.setattr(compute, "_pipelined_kernels", recorded)
    serial = compute.compute_study(study)
    assert pools == []
    settings.VOICESCOUNT_PARALLEL_ROWS = 0  # the 900-row study counts as large
    settings.VOICESCOUNT_COMPUTE_WORKERS = 2
    parallel = compute.compute_study(study, force=True)
    assert pools == [2]
    assert set(parallel) == {"sp", "sp-children"}
    for code, run in parallel.items():
        assert run.pk != serial[code].pk
        assert snapshot(run) == snapshot(serial[code])
        assert run.lnob == serial[code].lnob
    # a definition that cannot be computed is reported; the others are still computed in the workers
    IndicatorDefinition.objects.create(
        study=study,
        indicator=definition.indicator,
        code="broken",
        title_en="Broken",
        universe="age >= 15",
        numerator="covered == 'yes'",
        dimensions=[{"code_list": "SEX", "source": "sex", "codes": {"female": "F", "male": "M"}}],
        intersections=[["SEX", "AGE"]],
    )
    errors = []
    again = compute.compute_study(
        study, force=True, on_error=lambda d, exc: errors.append((d.code, str(exc)))
    )
    assert set(again) == {"sp", "sp-children"} and pools == [2, 2]
    assert errors == [
        ("broken", "Definition 'broken' asks for intersection ['SEX', 'AGE'] but has no dimension ['AGE'].")
    ]
