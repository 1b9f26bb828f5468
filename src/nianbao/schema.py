"""Pandera schemas generated from a form spec and the schema rules of its rule set.

The frame stacks the numeric cells of any number of reports (a row per cell, a column per cell
type), so a batch of reports is validated in one call whose cost hardly grows with the batch.
Each Pandera check is named by its rule ID, and each row index maps back to a report and a cell.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pandera.pandas as pa

from nianbao.findings import Hit
from nianbao.rules.kinds.schema import CHECKS
from nianbao.values import Values

if TYPE_CHECKING:
    from nianbao.rules.catalogue import Rule, RuleSet


def _check(rule: Rule) -> pa.Check:
    return pa.Check(CHECKS[rule.schema](rule.param), name=rule.id)


@cache
def build_schema(rules: RuleSet) -> pa.DataFrameSchema:
    """One column per numeric cell type; a rule's check applies to the columns of its types."""
    checks = rules.of_kind("schema")
    types = sorted({c.type for c in rules.spec.cells.values() if c.numeric})
    columns = {
        t: pa.Column(float, checks=[_check(r) for r in checks if not r.types or t in r.types], nullable=True)
        for t in types
    }
    return pa.DataFrameSchema(columns, strict=True, name=rules.spec.id)


@cache
def _columns(rules: RuleSet) -> tuple[list[str], dict[str, np.ndarray]]:
    """The numeric cell keys in order, and for each type a mask of the keys of that type."""
    keys = [k for k, c in rules.spec.cells.items() if c.numeric]
    types = sorted({rules.spec.cells[k].type for k in keys})
    return keys, {t: np.array([rules.spec.cells[k].type == t for k in keys]) for t in types}


def frame(rules: RuleSet, reports: list[Values]) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """The numeric cells of every report stacked in one frame: a row per (report, cell), the value
    in the column of the cell's type. Also returns which (report, key) each row holds."""
    keys, masks = _columns(rules)
    nan = math.nan
    values = np.array([nan if (v := r.data.get(k)) is None else v for r in reports for k in keys], dtype=float)
    data = {t: np.where(np.tile(mask, len(reports)), values, nan) for t, mask in masks.items()}
    where = [(i, key) for i in range(len(reports)) for key in keys]
    return pd.DataFrame(data), where


def validate(rules: RuleSet, reports: list[Values]) -> list[list[Hit]]:
    """Schema findings for each report, in the order given (one Pandera call for all of them)."""
    hits: list[list[Hit]] = [[] for _ in reports]
    if not reports:
        return hits
    data, where = frame(rules, reports)
    try:
        build_schema(rules).validate(data, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for row in exc.failure_cases.itertuples(index=False):
            if row.index is None or (isinstance(row.index, float) and math.isnan(row.index)):
                # The frame is built from the spec, so a column-level failure is a bug of ours.
                raise RuntimeError(f"schema check {row.check} failed on column {row.column}: {row.failure_case!r}")
            report, key = where[int(row.index)]
            hits[report].append(Hit(row.check, (key,), {"actual": reports[report].value(key)}))
    return hits
