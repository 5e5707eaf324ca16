"""From submissions to stored estimates: design-based, every disaggregation, protected, reproducible."""

import numpy as np
import pytest

from tests.indicators.factories import study_with_answers
from voicescount.collection import services
from voicescount.collection.models import Submission
from voicescount.collection.records import RawRecord
from voicescount.framework.models import Indicator
from voicescount.indicators import compute, dataset
from voicescount.indicators.models import Estimate, IndicatorDefinition
from voicescount.stats import estimators
from voicescount.stats.design import SurveyDesign
from voicescount.stats.disclosure import recoverable_cells

pytestmark = pytest.mark.django_db
N = 900


def synthetic_records(seed=7):
    rng = np.random.default_rng(seed)
    records = []
    for i in range(N):
        stratum = i % 6
        psu = f"s{stratum}-c{(i // 6) % 15}"
        sex = "female" if rng.random() < 0.52 else "male"
        age = int(rng.integers(11, 70))
        # a rare group: people with a lot of difficulty walking (about 4%)
        walking = 3 if rng.random() < 0.04 else 1
        covered = rng.random() < (0.3 + 0.1 * (sex == "female") - 0.15 * (walking == 3))
        values = {
            "consent": "yes",
            "age": age,
            "sex": sex,
            "stratum": f"st{stratum}",
            "commune": psu,
            "weight": float(100 + 50 * stratum + rng.integers(0, 20)),
            "covered": "yes" if covered else ("dont_know" if rng.random() < 0.05 else "no"),
            "wg_seeing": 1,
            "wg_hearing": 1,
            "wg_walking": walking,
            "wg_cognition": 1,
            "wg_selfcare": 1,
            "wg_communication": 2,
            "hh": f"hh{i}",
            "province": ["01", "02", "08", "74", "79"][i % 5],
        }
        if age < 16:
            values.update(guardian_ok="yes", assent="yes")
        records.append(
            RawRecord(source="api", locator=f"row {i}", values=values, instance_id=f"uuid:{seed}-{i}")
        )
    return records


@pytest.fixture
def study():
    study, report = study_with_answers(
        "s",
        synthetic_records(),
        age_question="age",
        guardian_consent_question="guardian_ok",
        child_assent_question="assent",
    )
    assert report.accepted == N
    return study


DIMENSIONS = [
    {"code_list": "SEX", "source": "sex", "codes": {"female": "F", "male": "M"}},
    {"code_list": "AGE", "source": "age", "bins": [[15, 24, "Y15T24"], [25, 200, "Y_GE25"]]},
    {"code_list": "DISABILITY_STATUS", "source": "@wg_disability"},
    {"code_list": "AREA", "source": "@province_2025"},
]


@pytest.fixture
def definition(study):
    return IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="sp",
        title_en="Covered by social protection",
        kind=IndicatorDefinition.Kind.PROPORTION,
        universe="age >= 15 and covered in ['yes', 'no']",
        numerator="covered == 'yes'",
        dimensions=DIMENSIONS,
        intersections=[["SEX", "AGE", "DISABILITY_STATUS"], ["AREA"]],
    )


def direct_total(study):
    """The same estimate computed straight from the statistics engine on the raw answers."""
    values = list(Submission.objects.filter(study=study).order_by("id").values_list("values", flat=True))
    design = SurveyDesign.create(
        weights=[v["weight"] for v in values],
        strata=[v["stratum"] for v in values],
        psu=[v["commune"] for v in values],
        nest=True,
    )
    y = np.array(
        [
            np.nan if v["age"] < 15 or v["covered"] == "dont_know" else float(v["covered"] == "yes")
            for v in values
        ]
    )
    return estimators.proportion(design, y).rows()[0]


def test_total_and_every_disaggregation_are_stored(definition, study):
    run = compute.compute_definition(definition)
    assert run.submissions == N
    estimates = {e.key: e for e in run.estimates.all()}
    total = estimates["_T"]
    expected = direct_total(study)
    assert total.estimate == pytest.approx(expected["estimate"], rel=1e-12)
    assert total.se == pytest.approx(expected["se"], rel=1e-12)
    assert total.ci_low < total.estimate < total.ci_high
    assert total.n == expected["n"] and total.deff > 0
    for key in (
        "SEX=F",
        "AGE=Y15T24",
        "DISABILITY_STATUS=PD",
        "AGE=Y15T24|SEX=F",
        "AGE=Y_GE25|DISABILITY_STATUS=NPD|SEX=M",
    ):
        assert key in estimates, key
    # Every cell carries its uncertainty and sample size.
    for e in estimates.values():
        if not e.suppressed:
            assert e.se is not None and e.n > 0 and e.ci_low <= e.estimate <= e.ci_high


def test_small_cells_are_suppressed_with_complements_and_cannot_be_recovered(definition):
    run = compute.compute_definition(definition)
    estimates = list(run.estimates.all())
    small = [e for e in estimates if e.flag == Estimate.Flag.SUPPRESSED_SMALL]
    assert small, "the rare disability group must produce small cells"
    assert all(e.n < 25 and e.estimate is None and e.se is None for e in small)
    assert all(25 <= e.n < 50 for e in estimates if e.flag == Estimate.Flag.IMPRECISE)
    # The attacker: from the published n of the finest table and its margins, no suppressed n is exact.
    finest = [e for e in estimates if len(e.dimensions) == 3]
    axes = [sorted({e.dimensions[d] for e in finest}) for d in ("SEX", "AGE", "DISABILITY_STATUS")]
    table = np.zeros([len(a) for a in axes])
    mask = np.zeros(table.shape, dtype=bool)
    for e in finest:
        at = tuple(axes[i].index(e.dimensions[d]) for i, d in enumerate(("SEX", "AGE", "DISABILITY_STATUS")))
        table[at] = e.n
        mask[at] = e.suppressed
    assert mask.any()
    assert not (recoverable_cells(table, mask) & (table < 25)).any()


def test_unchanged_inputs_are_not_recomputed_but_withdrawal_is(definition, study, django_user_model):
    assert compute.compute_definition(definition) is not None
    assert compute.compute_definition(definition) is None
    admin = django_user_model.objects.create_superuser("admin", password="x")
    respondent = Submission.objects.filter(study=study).order_by("id").last().respondent
    services.withdraw_consent(study, respondent, user=admin, note="asked by phone")
    run = compute.compute_definition(definition)
    assert run is not None and run.submissions == N - 1


def test_lnob_finds_the_furthest_behind_group(definition):
    run = compute.compute_definition(definition)
    lnob = run.lnob
    assert "d_index" in lnob, lnob
    assert 0 < lnob["d_index"] < 1 and lnob["hoi"] <= lnob["coverage"]
    behind, ahead = lnob["furthest_behind"], lnob["furthest_ahead"]
    assert behind["mean"] <= ahead["mean"]
    assert behind["description_en"] and behind["description_vi"]


def test_a_bad_expression_names_the_definition(definition):
    definition.numerator = "covered == 'yes' and __import__('os')"
    with pytest.raises(compute.ComputeError, match="Definition 'sp'"):
        compute.compute_definition(definition)


def test_an_intersection_of_unknown_dimensions_is_refused(definition):
    definition.intersections = [["SEX", "REGION"]]
    with pytest.raises(compute.ComputeError, match="no dimension \\['REGION'\\]"):
        compute.compute_definition(definition)


def test_compute_study_runs_every_definition(definition, study):
    results = compute.compute_study(study)
    assert set(results) == {"sp"} and results["sp"] is not None


def test_comparison_with_official_figures_gives_a_verdict_in_both_languages(definition):
    from voicescount.indicators.comparison import compare_run
    from voicescount.indicators.models import OfficialObservation

    run = compute.compute_definition(definition)
    total = run.estimates.get(key="_T")
    women = run.estimates.get(key="SEX=F")
    common = {"indicator": definition.indicator, "area_code": "VN", "unit": "PT", "source": "test"}
    # Far above the community estimate with a published interval; close to it with no SE; an older period.
    OfficialObservation.objects.create(
        **common, period="2022", key="_T", value=total.estimate * 100 + 20, ci_low=1, ci_high=99
    )
    OfficialObservation.objects.create(**common, period="2015", key="_T", value=1.0)
    OfficialObservation.objects.create(**common, period="2022", key="SEX=F", value=women.estimate * 100 + 0.1)
    rows = {r.key: r for r in compare_run(run)}
    assert set(rows) == {"_T", "SEX=F"}
    assert rows["_T"].official.period == "2022"  # the nearest period to the study's
    assert rows["_T"].official_se_basis == "from_interval"
    assert rows["SEX=F"].official_se_basis == "fixed"
    assert rows["SEX=F"].direction == "similar" and "agree within sampling error" in rows["SEX=F"].text_en
    assert "treated as exact" in rows["SEX=F"].text_en and "Số liệu chính thức" in rows["SEX=F"].text_vi
    assert rows["_T"].difference == pytest.approx(-0.20)
    assert rows["_T"].ci_low < rows["_T"].difference < rows["_T"].ci_high


def test_official_figures_in_another_unit_are_not_compared(definition):
    from voicescount.indicators.comparison import compare_run
    from voicescount.indicators.models import OfficialObservation

    run = compute.compute_definition(definition)
    common = {"indicator": definition.indicator, "area_code": "VN", "source": "test", "period": "2022"}
    # a count of beneficiaries is not a percentage: comparing 1.2 million with 30 % would be nonsense
    OfficialObservation.objects.create(**common, key="_T", unit="NUMBER", value=1_200_000)
    OfficialObservation.objects.create(**common, key="SEX=F", unit="PT", value=30.0)
    assert {r.key for r in compare_run(run)} == {"SEX=F"}


def test_significant_difference_is_called_lower(definition):
    from voicescount.indicators.comparison import compare_run
    from voicescount.indicators.models import OfficialObservation

    run = compute.compute_definition(definition)
    total = run.estimates.get(key="_T")
    OfficialObservation.objects.create(
        indicator=definition.indicator,
        area_code="VN",
        unit="PT",
        source="test",
        period="2022",
        key="_T",
        value=total.estimate * 100 + 15,
        se=0.5,
    )
    (row,) = compare_run(run)
    assert row.direction == "lower" and row.p_adjusted < 0.05
    assert "15.0 points lower" in row.text_en and "thấp hơn 15,0 điểm phần trăm" in row.text_vi


def test_a_zero_percent_estimate_still_shows_its_uncertainty(definition):
    definition.numerator = "covered == 'yes' and age < 0"  # nobody
    run = compute.compute_definition(definition)
    total = run.estimates.get(key="_T")
    assert total.estimate == 0 and total.ci_low == pytest.approx(0, abs=1e-12)
    assert 0 < total.ci_high < 0.05  # Wilson on the unweighted n, not an undefined logit interval


def test_provinces_are_recoded_to_the_34_in_force_from_july_2025(definition):
    run = compute.compute_definition(definition)
    keys = {e.key for e in run.estimates.filter(key__startswith="AREA=")}
    # Hà Giang (02) and Tuyên Quang (08) merged into the new Tuyên Quang; Bình Dương (74) into HCMC (79).
    assert keys == {"AREA=VN-01", "AREA=VN-2025-08", "AREA=VN-2025-79"}
    merged = run.estimates.get(key="AREA=VN-2025-08")
    assert (
        merged.n == run.estimates.get(key="AREA=VN-01").n * 2
        or merged.n > run.estimates.get(key="AREA=VN-01").n
    )


def test_a_ratio_definition_is_a_ratio_of_totals(definition, study):
    """Kind 'ratio' uses the denominator: Σw·value / Σw·denominator, as R's svyratio."""
    ratio = IndicatorDefinition.objects.create(
        study=study,
        indicator=definition.indicator,
        code="covered-per-weight-unit",
        title_en="Covered per unit of age",
        kind=IndicatorDefinition.Kind.RATIO,
        universe="age >= 15",
        value="covered == 'yes'",
        denominator="age",
        unit="RATIO",
        dimensions=DIMENSIONS[:1],
        intersections=[["SEX"]],
    )
    run = compute.compute_definition(ratio)
    values = list(Submission.objects.filter(study=study).order_by("id").values_list("values", flat=True))
    design = SurveyDesign.create(
        weights=[v["weight"] for v in values],
        strata=[v["stratum"] for v in values],
        psu=[v["commune"] for v in values],
        nest=True,
    )
    adult = np.array([v["age"] >= 15 for v in values])
    num = np.where(adult, [float(v["covered"] == "yes") for v in values], np.nan)
    den = np.where(adult, [float(v["age"]) for v in values], np.nan)
    direct = estimators.ratio(design, num, den).rows()[0]
    total = run.estimates.get(key="_T")
    assert total.estimate == pytest.approx(direct["estimate"], rel=1e-12)
    assert total.se == pytest.approx(direct["se"], rel=1e-10)
    # a mean of the value would be the share covered, about 0.3; the ratio per year of age is far smaller
    assert total.estimate < 0.05


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "ratio", "value": "age", "denominator": ""}, "is a ratio but has no denominator"),
        ({"kind": "mean", "value": "sex"}, "the value expression 'sex' gives text, not numbers"),
        ({"kind": "mean", "value": "age", "universe": "age > 500"}, "no respondent is in the universe"),
        ({"kind": "mean", "value": "income"}, "no submission of the study has a question 'income'"),
    ],
)
def test_definitions_that_cannot_be_computed_name_the_definition_and_store_nothing(
    definition, study, fields, message
):
    bad = IndicatorDefinition.objects.create(
        study=study,
        indicator=definition.indicator,
        code="bad",
        title_en="Bad",
        **{"universe": "age >= 15", "dimensions": DIMENSIONS[:1], **fields},
    )
    with pytest.raises(compute.ComputeError) as error:
        compute.compute_definition(bad)
    assert "'bad'" in str(error.value) and message in str(error.value)
    assert not bad.runs.exists()


def derived(study, name, expression):
    from voicescount.indicators.models import DerivedVariable

    return DerivedVariable.objects.create(study=study, name=name, expression=expression)


def test_derived_variables_are_reused_across_definitions(definition, study):
    derived(study, "adult", "age >= 15")
    derived(study, "answered", "covered in ['yes', 'no']")
    derived(study, "in_scope", "adult and answered")  # built from other derived variables
    inline = compute.compute_definition(definition)
    again = IndicatorDefinition.objects.create(
        study=study,
        indicator=definition.indicator,
        code="sp-derived",
        title_en="Same, with derived variables",
        universe="in_scope",
        numerator="covered == 'yes'",
        dimensions=definition.dimensions,
        intersections=definition.intersections,
    )
    run = compute.compute_definition(again)
    assert {e.key: e.estimate for e in run.estimates.all()} == {
        e.key: e.estimate for e in inline.estimates.all()
    }


def test_circular_derived_variables_are_an_error_naming_the_chain(definition, study):
    derived(study, "a", "b + 1")
    derived(study, "b", "c * 2")
    derived(study, "c", "a - age")
    definition.universe = "a > 0"
    definition.save()
    with pytest.raises(compute.ComputeError) as error:
        compute.compute_definition(definition)
    assert str(error.value) == "Definition 'sp': derived variable 'a' refers to itself: a → b → c → a"
    assert not definition.runs.exists()


def test_a_derived_variable_on_an_unknown_question_names_both(definition, study):
    derived(study, "rich", "income > 1000")
    derived(study, "target", "rich and age >= 15")
    definition.universe = "target"
    definition.save()
    with pytest.raises(compute.ComputeError) as error:
        compute.compute_definition(definition)
    assert str(error.value).startswith(
        "Definition 'sp': derived variable 'target': derived variable 'rich': no submission of the study "
        "has a question 'income'"
    )


def test_a_derived_variable_with_a_bad_expression_is_refused_when_saved(study):
    from django.core.exceptions import ValidationError

    from voicescount.indicators.models import DerivedVariable

    variable = DerivedVariable(study=study, name="x", expression="__import__('os')")
    with pytest.raises(ValidationError, match="Unknown function '__import__'"):
        variable.full_clean()
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError, match="letters, digits and underscores"):
        DerivedVariable(study=study, name="1x", expression="age").full_clean()


def test_answers_are_read_in_blocks_with_their_json_types(definition, study, monkeypatch):
    names = ["age", "sex", "commune", "weight"]
    whole = dataset.load_dataset(study, names)
    monkeypatch.setattr(dataset, "_BLOCK", 7)  # 900 rows: 129 blocks
    blocks = dataset.load_dataset(study, names)
    one = dataset.load_dataset(study, ["age"])  # a single question takes another path on SQLite
    assert blocks.ids == whole.ids == one.ids == sorted(whole.ids) and len(whole.ids) == N
    stored = dict(Submission.objects.filter(study=study).values_list("id", "values"))
    for name in names:
        assert list(blocks.column(name)) == list(whole.column(name)) == [stored[i][name] for i in whole.ids]
    assert list(one.column("age")) == list(whole.column("age"))
    assert isinstance(whole.column("age")[0], int) and isinstance(whole.column("weight")[0], float)


def test_estimate_rows_written_below_the_orm_read_back_as_the_orm_writes_them(definition):
    columns = [f.column for f in Estimate._meta.concrete_fields if not f.primary_key]
    assert sorted(columns) == sorted(compute.ESTIMATE_COLUMNS)  # every column written, none unknown
    run = compute.compute_definition(definition)
    written = Estimate.objects.filter(run=run).order_by("key")
    assert written.count() == run.estimates.count() > 20
    e = written.get(key="SEX=F")
    orm = Estimate.objects.create(
        run=run,
        key="copy",
        dimensions=e.dimensions,
        estimate=e.estimate,
        se=e.se,
        ci_low=e.ci_low,
        ci_high=e.ci_high,
        deff=e.deff,
        n=e.n,
        weighted_n=e.weighted_n,
        n_eff=e.n_eff,
        df=e.df,
        flag=e.flag,
    )
    fields = [c.removesuffix("_id") for c in columns if c not in ("key",)]
    again = Estimate.objects.get(pk=orm.pk)
    assert [getattr(again, f) for f in fields] == [getattr(e, f) for f in fields]
    assert e.dimensions == {"SEX": "F"} and isinstance(e.n, int)
    suppressed = written.filter(flag__startswith="suppressed").first()
    assert suppressed is not None and suppressed.estimate is None and suppressed.weighted_n == 0.0
