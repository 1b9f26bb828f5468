"""Pandera schemas generated from a form spec and the schema rules of its rule set.

One DataFrame row per report and one column per numeric input cell, so a batch of reports is
validated in one call. Each Pandera check is named by its rule ID, which maps every failure case
back to a rule and (through the column, i.e. the cell key) to a cell.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

from nianbao.findings import Hit
from nianbao.read import Values
from nianbao.rules.catalogue import Rule, RuleSet


def _check(rule: Rule) -> pa.Check:
    if rule.schema == "integer":
        return pa.Check(lambda s: np.isclose(s, np.round(s)), name=rule.id)
    if rule.schema == "non_negative":
        return pa.Check(lambda s: s >= 0, name=rule.id)
    if rule.schema == "max_decimals":
        scale = 10 ** int(rule.param)
        return pa.Check(lambda s: np.isclose(s * scale, np.round(s * scale), rtol=0, atol=1e-6), name=rule.id)
    if rule.schema == "year_range":
        low, high = rule.param
        return pa.Check(lambda s: (s >= low) & (s <= high), name=rule.id)
    raise ValueError(rule.schema)


@lru_cache(maxsize=None)
def build_schema(rules: RuleSet) -> pa.DataFrameSchema:
    checks = rules.of_kind("schema")
    columns = {}
    for key, cell in rules.spec.cells.items():
        if cell.numeric:
            columns[key] = pa.Column(
                float,
                checks=[_check(r) for r in checks if not r.types or cell.type in r.types],
                nullable=True,  # blanks and unreadable cells are reported by the cell rules
                required=True,
            )
    return pa.DataFrameSchema(columns, strict=False, name=rules.spec.id)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "as_tuple"):
        return math.nan
    return float(value)


def frame(rules: RuleSet, reports: list[Values]) -> pd.DataFrame:
    keys = [k for k, c in rules.spec.cells.items() if c.numeric]
    data = {k: [_number(v.value(k)) for v in reports] for k in keys}
    return pd.DataFrame(data, index=pd.RangeIndex(len(reports)), dtype=float)


def validate(rules: RuleSet, reports: list[Values]) -> list[list[Hit]]:
    """Schema findings for each report, in the order given."""
    hits: list[list[Hit]] = [[] for _ in reports]
    if not reports:
        return hits
    try:
        build_schema(rules).validate(frame(rules, reports), lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for row in cases.itertuples(index=False):
            if row.index is None or (isinstance(row.index, float) and math.isnan(row.index)):
                continue  # a column-level failure; the frame is built from the spec, so none are expected
            report = reports[int(row.index)]
            hits[int(row.index)].append(Hit(row.check, (row.column,), {"actual": report.value(row.column)}))
    return hits
