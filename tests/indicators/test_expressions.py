"""The indicator expression language: safe, vectorised, three-valued for missing answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicescount.indicators.expressions import ExpressionError, parse

COLUMNS = {
    "age": [12, 17, 24, None, "30", 15],
    "sex": ["female", "male", "female", "female", None, "male"],
    "reasons": ["cost distance", "", None, "disability", "cost", "disability cost"],
    "income": [100.0, 50.0, None, 10.0, 0.0, 30.0],
    "size": [4, 0, 2, 1, 5, 3],
}


def values(text):
    return parse(text).evaluate(COLUMNS)


def test_comparisons_and_three_valued_logic():
    np.testing.assert_array_equal(values("age >= 15 and age <= 24"), [0, 1, 1, np.nan, 0, 1])
    # unknown and False is False; unknown or True is True
    np.testing.assert_array_equal(values("age >= 15 and sex == 'male'"), [0, 1, 0, 0, np.nan, 1])
    np.testing.assert_array_equal(values("age >= 15 or sex == 'female'"), [1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(values("not (sex == 'female')"), [0, 1, 0, 0, np.nan, 1])
    np.testing.assert_array_equal(values("15 <= age < 25"), [0, 1, 1, np.nan, 0, 1])


def test_membership_selected_and_numbers_written_as_text():
    np.testing.assert_array_equal(values("sex in ['female']"), [1, 0, 1, 1, np.nan, 0])
    np.testing.assert_array_equal(values("selected(reasons, 'cost')"), [1, np.nan, np.nan, 0, 1, 1])
    np.testing.assert_array_equal(values("count_selected(reasons)"), [2, np.nan, np.nan, 1, 1, 2])
    np.testing.assert_array_equal(values("age == '30'"), [0, 0, 0, np.nan, 1, 0])
    np.testing.assert_array_equal(values("is_missing(sex)"), [0, 0, 0, 0, 1, 0])


def test_arithmetic_division_by_zero_is_missing():
    np.testing.assert_array_equal(values("income / size"), [25, np.nan, np.nan, 10, 0, 10])


def test_mask_treats_unknown_as_not_true():
    assert parse("age >= 15").mask(COLUMNS).tolist() == [False, True, True, False, True, True]


def test_names_are_reported():
    assert parse("age > 1 and selected(reasons, 'x')").names == {"age", "reasons"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os').system('id')", "Unknown function"),
        ("open('/etc/passwd')", "Unknown function 'open'"),
        ("age.__class__", "'Attribute' is not allowed"),
        ("[x for x in age]", "'ListComp' is not allowed"),
        ("lambda: 1", "'Lambda' is not allowed"),
        ("age ** 99999999", "'Pow' is not allowed"),
        ("age[0]", "'Subscript' is not allowed"),
        ("age >=", "Not a valid expression"),
        ("", "empty"),
        ("x" * 3000, "longer than"),
        ("selected(reasons, code='x')", "keyword"),
    ],
)
def test_unsafe_or_broken_expressions_are_refused_with_reason(text, reason):
    with pytest.raises(ExpressionError, match=reason):
        parse(text)


def test_unknown_question_is_named():
    with pytest.raises(ExpressionError, match="Unknown question name.*agee"):
        parse("agee > 3").evaluate(COLUMNS)


def test_arithmetic_on_text_is_refused():
    with pytest.raises(ExpressionError, match="Arithmetic on a text answer"):
        values("sex + 1")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_random_text_never_raises_anything_but_expression_error(text):
    try:
        expression = parse(text)
    except ExpressionError:
        return
    columns = {name: [1, "a", None] for name in expression.names}
    try:
        expression.evaluate(columns, n=3)
    except ExpressionError:
        pass


def test_selected_reads_typed_lists_as_well_as_raw_text():
    column = np.empty(4, dtype=object)
    column[:] = [["poor_support", "covid_support"], "poor_support other", [], None]
    result = parse("selected(benefit, 'poor_support')").evaluate({"benefit": column})
    assert result[:2].tolist() == [1.0, 1.0] and np.isnan(result[2]) and np.isnan(result[3])
    counts = parse("count_selected(benefit)").evaluate({"benefit": column})
    assert counts[:2].tolist() == [2.0, 2.0]


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(["1", "01", " 1 ", "1.0", "yes", "Yes", "", "inf", "nan", "2"]),
            st.integers(-3, 3),
            st.floats(allow_nan=True, allow_infinity=True, width=16),
            st.booleans(),
            st.lists(st.sampled_from(["a", "1"]), max_size=2),
        ),
        min_size=2,
        max_size=30,
    ),
    st.sampled_from(["'1'", "'yes'", "''", "1", "'inf'", "'1.0'", "2"]),
    st.sampled_from(["==", "!="]),
)
def test_a_column_against_a_constant_compares_as_row_by_row(values, constant, op):
    # the evaluator compares a column's distinct answers with a constant once each: the result must be
    # what each answer gives when it is the only one of its kind (compared row by row)
    expression = parse(f"x {op} {constant}")

    def column(items):
        out = np.empty(len(items), dtype=object)
        for i, v in enumerate(items):
            out[i] = v
        return out

    # 'zz' keeps the column text (not converted to numbers), repeats make the per-answer path run
    whole = expression.evaluate({"x": column([*values, *values, "zz"])})
    for i, v in enumerate([*values, *values]):
        alone = expression.evaluate({"x": column([v, "\x01p1", "\x01p2"])})  # all distinct: row by row
        assert (np.isnan(whole[i]) and np.isnan(alone[0])) or whole[i] == alone[0], (v, constant)
