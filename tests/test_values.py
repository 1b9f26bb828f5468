"""Blank is not 0, "/" is not 0: what each kind of cell content is read as."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from nianbao.spec import load_spec
from nianbao.values import FORMULA_NO_CACHE, interpret

SPEC = load_spec("2021")
COUNT = SPEC.cells["t3.new.natural"]
AMOUNT = SPEC.cells["t2.fees.amount"]
DATE = SPEC.cells["meta.published"]


@pytest.mark.parametrize(
    ("raw", "value", "issue"),
    [
        (15.0, 15, None),
        (0.0, 0, None),
        (None, None, "blank"),
        ("  ", None, "blank"),
        ("/", None, "slash"),
        ("／", None, "slash"),
        ("-", None, "dash"),
        ("——", None, "dash"),
        ("15件", 15, "unit"),
        ("１５", 15, "fullwidth"),
        (" 15 ", 15, "text_number"),
        ("十五", None, "text"),
        ("15万元", None, "wrong_unit"),
        (FORMULA_NO_CACHE, None, "formula_no_cache"),
        (True, None, "text"),
    ],
)
def test_count_cell(raw, value, issue):
    cell = interpret(raw, COUNT)
    assert (cell.value, cell.issue) == (value, issue)


def test_amounts_keep_their_decimals_exactly():
    assert interpret(0.1234, AMOUNT).value == Decimal("0.1234")
    assert interpret("3.5万元", AMOUNT).value == Decimal("3.5")
    assert interpret("251000元", AMOUNT).issue == "wrong_unit"  # 元 vs 万元: the conversion is not ours to guess


def test_dates():
    assert interpret(dt.datetime(2022, 1, 20), DATE).value == dt.date(2022, 1, 20)
    cell = interpret("2022年1月20日", DATE)
    assert (cell.value, cell.issue) == (dt.date(2022, 1, 20), "text_date")
    assert interpret("2022年13月40日", DATE).issue == "text"
