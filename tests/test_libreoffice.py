"""The templates in a real spreadsheet application: LibreOffice headless."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from nianbao.layout import form_layout
from nianbao.samples import fill
from nianbao.spec import load_spec
from nianbao.template import build


def check_row(path, sheet, rule_id):
    """The values of the live-check row of ``rule_id`` after LibreOffice recalculated."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    (row,) = [r for r in rows if str(r[0]).startswith(f"实时校验 {rule_id}")]
    return row


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_template_opens_in_libreoffice_and_keeps_its_structure(fmt, tmp_path, soffice):
    spec = load_spec(fmt)
    template = build(spec, tmp_path / f"template-{fmt}.xlsx")
    run = soffice(template, tmp_path / "out")
    converted = tmp_path / "out" / template.name
    assert run.returncode == 0 and converted.exists(), run.stderr
    wb = load_workbook(converted)
    assert {"说明", "正文", "表二", "表三", "表四"} <= set(wb.sheetnames)
    names = set(wb.defined_names)
    assert {c.name for c in form_layout(spec).inputs.values()} <= names


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_live_checks_turn_when_a_column_is_unbalanced(fmt, tmp_path, soffice):
    spec = load_spec(fmt)
    cells = form_layout(spec).inputs
    balanced = fill(spec, tmp_path / "balanced.xlsx")
    unbalanced = fill(spec, tmp_path / "unbalanced.xlsx", {"t3.new.natural": 2, "t3.new.total": 2, "t4.cases.review_upheld": 1})
    for path in (balanced, unbalanced):
        assert soffice(path, tmp_path / "out").returncode == 0
    natural, total = cells["t3.new.natural"].col, cells["t3.new.total"].col

    ok = check_row(tmp_path / "out" / "balanced.xlsx", "表三", "B301")
    assert ok[natural] == "✓" and ok[total] == "✓"

    bad = check_row(tmp_path / "out" / "unbalanced.xlsx", "表三", "B301")
    assert bad[natural] == "✗ 左边多 2" and bad[total] == "✗ 左边多 2"  # the side that is larger, and by how much
    assert bad[cells["t3.new.business"].col] == "✓"
    t4 = check_row(tmp_path / "out" / "unbalanced.xlsx", "表四", "B401")
    assert t4[cells["t4.cases.review_total"].col] == "✗ 右边多 1"


def test_live_checks_stay_empty_until_the_cells_are_filled(tmp_path, soffice):
    spec = load_spec("2021")
    template = build(spec, tmp_path / "empty.xlsx")
    assert soffice(template, tmp_path / "out").returncode == 0
    row = check_row(tmp_path / "out" / "empty.xlsx", "表三", "B301")
    assert set(row[3:10]) == {""}


def test_a_workbook_saved_by_libreoffice_reads_back_the_same(tmp_path, soffice):
    """Offices open and save the template in other applications; names and values must survive."""
    from nianbao.read import read_workbook
    from nianbao.samples import base_values

    spec = load_spec("2021")
    values = base_values(spec, 2022) | {"t3.new.natural": 7, "t3.new.total": 7, "t2.fees.amount": 1.2345, "text.s6": "无"}
    original = fill(spec, tmp_path / "filled.xlsx", values, year=2022)
    assert soffice(original, tmp_path / "lo").returncode == 0
    saved = read_workbook(tmp_path / "lo" / "filled.xlsx")
    assert saved.hits == [] and saved.issues == {}
    assert saved.data == read_workbook(original).data


def test_the_results_sheet_prints_landscape_with_every_column(tmp_path, soffice):
    """The 检查结果 sheet (the copy's first sheet), printed: A4 landscape, every column on the page."""
    import pdfplumber

    import nianbao
    from nianbao.annotate import annotate

    report = fill(load_spec("2021"), tmp_path / "r.xlsx", {"t3.new.natural": None, "t3.new.total": 5}, year=2025)
    copy = annotate(report, nianbao.check(report).findings, tmp_path / "copy.xlsx")
    assert soffice(copy, tmp_path / "pdf", "pdf").returncode == 0
    with pdfplumber.open(tmp_path / "pdf" / "copy.pdf") as pdf:
        first = pdf.pages[0]
        text = first.extract_text()
    assert "检查结果" in text and first.width > first.height
    assert "说明" in text and "原文位置" in text  # the last column is on the page too
