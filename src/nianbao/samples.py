"""Complete sample reports: every number 0 unless given. Rule cases, examples and benchmarks
start from these, so a sample differs from a clean report only where it says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nianbao.spec import FormSpec

_ZERO = {"count": 0, "delta": 0, "amount": 0, "text": "示例文字"}


def base_values(spec: FormSpec, year: int | None = None) -> dict[str, object]:
    """A complete, consistent report of ``spec`` with every number 0."""
    year = year or spec.year_from
    values: dict[str, object] = {}
    for key, cell in spec.cells.items():
        values[key] = {"year": year, "date": dt.date(year + 1, 1, 20)}.get(cell.type, _ZERO.get(cell.type))
    values["meta.office"] = "示例县人民政府办公室"
    return values


def fill(spec: FormSpec, path: Path, overrides: dict | None = None, year: int | None = None) -> Path:
    """Build a filled template: the zero report of ``year`` with ``overrides`` by key (None = blank)."""
    from nianbao.template import build

    return build(spec, path, values=base_values(spec, year) | dict(overrides or {}))
