"""Distributed workbooks stamped from one built template, against the same workbook built directly:
the same values, formats, notes and identity, in openpyxl, python-calamine and nianbao's reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from nianbao.distribute import LOCKED, _Bases
from nianbao.layout import form_layout
from nianbao.read import read_workbook
from nianbao.spec import load_spec
from nianbao.stamp import stamp
from nianbao.template import build
from tests.test_annotate import snapshot


@pytest.mark.parametrize("fmt,macro,code", [("2021", False, "A01"), ("2019", True, ""), ("2021", True, "B-7")])
def test_a_stamped_workbook_is_the_built_one(fmt, macro, code, tmp_path):
    spec = load_spec(fmt)
    inputs = form_layout(spec).inputs
    identity = {"roster_code": code, "roster_office": "某县<财政>局 & “办公室”", "roster_year": "2025",
                "distribution": "abc123def456", "distributed": "2026-01-05"}
    values = {"meta.office": identity["roster_office"], "meta.year": 2025, "t3.carry_in.natural": 3, "t3.carry_in.total": 3}
    notes = {"t3.carry_in.natural": "按 2024 年度报告预填。", "t3.carry_in.total": "按 2024 年度报告预填。"}
    suffix = ".xlsm" if macro else ".xlsx"
    built = build(spec, tmp_path / f"built{suffix}", values=values, macro=macro, locked=LOCKED, notes=notes, identity=identity)
    base = _Bases(spec, tmp_path, macro)(identity)
    stamped = stamp(base, tmp_path / f"stamped{suffix}", {(inputs[k].sheet, inputs[k].address): v for k, v in values.items()},
                    {(inputs[k].sheet, inputs[k].address): t for k, t in notes.items()}, identity)
    a, b = read_workbook(stamped), read_workbook(built)
    assert a.data == b.data and a.issues == b.issues and a.meta == b.meta and a.hits == b.hits
    assert snapshot(stamped) == snapshot(built)
    sa, sb = load_workbook(stamped, keep_vba=macro), load_workbook(built, keep_vba=macro)
    for key in values:
        cell = inputs[key]
        x, y = sa[cell.sheet][cell.address], sb[cell.sheet][cell.address]
        assert (x.protection.locked, x.number_format, x.fill.fgColor.rgb) == (y.protection.locked, y.number_format, y.fill.fgColor.rgb)
    assert identity["roster_office"] in sa["说明"]["A3"].value and ("编码" in sa["说明"]["A3"].value) == bool(code)
    assert Path(base).exists()
