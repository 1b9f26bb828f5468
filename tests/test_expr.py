"""The expression language of relation rules: what parses, what a comparison evaluates to, and what is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from nianbao.rules.expr import ExprError, Unknown, evaluate, evaluate_linear, holds, linearize, parse_condition, refs, to_excel


def _expand(key: str) -> list[str]:
    """A range ``t.first:last.c`` as the spec would expand it: here just its two ends."""
    table, rows, column = key.split(".")
    return [f"{table}.{row}.{column}" for row in rows.split(":")]


def _lookup(values: dict):
    def lookup(ref):
        if values.get(ref.key) is None:
            raise Unknown
        return values[ref.key]

    return lookup


def test_a_sum_equality_parses_into_both_sides_and_their_cells():
    condition = parse_condition("t3.r7.c == t3.r1.c + t3.r2.c - 1", _expand)
    (part,) = condition.parts
    assert part.op == "==" and [r.key for r in refs(condition)] == ["t3.r7.c", "t3.r1.c", "t3.r2.c"]


def test_and_joins_comparisons_and_prev_reads_last_year():
    condition = parse_condition("a.b.c >= 0 and a.b.c == prev.a.b.d", _expand)
    assert len(condition.parts) == 2 and [r.prev for r in refs(condition)] == [False, False, True]


def test_sum_over_a_range_expands_through_the_spec():
    condition = parse_condition("t.x.c == sum(t.r:s.c)", _expand)
    assert sorted(r.key for r in refs(condition)) == ["t.r.c", "t.s.c", "t.x.c"]


@pytest.mark.parametrize("text", ["a.b.c == ", "== 1", "a.b.c === 1", "a.b.c == 1 or 2", "a.b.c == (1", "import os"])
def test_malformed_expressions_are_refused(text):
    with pytest.raises(ExprError):
        parse_condition(text, _expand)


def test_evaluation_with_a_blank_operand_is_unknown_not_zero():
    (part,) = parse_condition("a.b.c == a.b.d + 1", _expand).parts
    assert evaluate(part.right, _lookup({"a.b.d": 2})) == 3
    with pytest.raises(Unknown):
        evaluate(part.right, _lookup({"a.b.d": None}))


def test_linear_forms_agree_with_the_tree_evaluator():
    (part,) = parse_condition("a.b.c == a.b.d + a.b.e - 2", _expand).parts
    form = linearize(part.right, lambda key: True)
    assert evaluate_linear(form, {"a.b.d": 5, "a.b.e": 4}, {}) == evaluate(part.right, _lookup({"a.b.d": 5, "a.b.e": 4})) == 7


def test_comparisons_with_tolerance_and_dates():
    assert holds("==", Decimal("1.00"), Decimal("1.004"), Decimal("0.01"))
    assert not holds("==", 1, 2, Decimal(0))
    assert holds("<=", dt.date(2025, 1, 20), dt.date(2025, 1, 31), Decimal(0))


def test_an_expression_becomes_an_excel_formula_over_addresses():
    (part,) = parse_condition("a.b.c == a.b.d + a.b.e", _expand).parts
    formula = to_excel(part.right, lambda ref: {"a.b.d": "B2", "a.b.e": "C2"}[ref.key])
    assert "B2" in formula and "C2" in formula and "+" in formula
