"""The template mirrors the spec: labels, names, protection, validation, metadata."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from nianbao.layout import form_layout
from nianbao.read import META_SHEET
from nianbao.spec import load_spec
from nianbao.template import build


@pytest.fixture(scope="module", params=["2019", "2021"])
def built(request, tmp_path_factory):
    spec = load_spec(request.param)
    path = build(spec, tmp_path_factory.mktemp("tpl") / f"{request.param}.xlsx", office="测试单位", year=2021)
    return spec, load_workbook(path)


def test_every_input_cell_has_a_workbook_name_pointing_at_it(built):
    spec, wb = built
    inputs = form_layout(spec).inputs
    assert len(inputs) == len(spec.cells)
    for key, cell in inputs.items():
        ((sheet, ref),) = list(wb.defined_names[cell.name].destinations)
        assert (sheet, ref.replace("$", "")) == (cell.sheet, cell.address), key


def test_labels_are_printed_as_in_the_official_tables(built):
    spec, wb = built
    ws = wb["表三"]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）" in texts
    for row in spec.table("t3").rows:
        assert row.label in texts
    assert {"申请人情况", "法人或其他组织", "三、本年度办理结果", "（三）不予公开"} <= texts
    t4 = {c.value for row in wb["表四"].iter_rows() for c in row if isinstance(c.value, str)}
    assert {"行政复议", "行政诉讼", "未经复议直接起诉", "复议后起诉"} <= t4


def test_sheets_are_protected_labels_locked_inputs_unlocked(built):
    spec, wb = built
    for key, cell in form_layout(spec).inputs.items():
        ws = wb[cell.sheet]
        assert ws.protection.sheet and not ws.protection.password
        assert ws[cell.address].protection.locked is False, key
        label = cell.labels[0]
        assert ws.cell(label.row + 1, label.col + 1).protection.locked is not False


def test_inputs_are_validated_by_type(built):
    spec, wb = built
    kinds = {}
    for sheet in wb.worksheets:
        for dv in sheet.data_validations.dataValidation:
            for ref in dv.sqref.ranges:
                kinds[(sheet.title, ref.coord)] = (dv.type, dv.operator, dv.formula1)
    for key, cell in form_layout(spec).inputs.items():
        if spec.cells[key].type == "count":
            assert kinds[(cell.sheet, cell.address)] == ("whole", "greaterThanOrEqual", "0"), key


def test_hidden_metadata_and_prefilled_office(built):
    spec, wb = built
    meta = wb[META_SHEET]
    assert meta.sheet_state == "hidden"
    assert {r[0].value: r[1].value for r in meta.iter_rows()}["format"] == spec.id
    office = form_layout(spec).inputs["meta.office"]
    assert wb[office.sheet][office.address].value == "测试单位"
    assert wb.sheetnames[0] == "说明"
