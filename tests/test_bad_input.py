"""Bad input gets one clear line, not a traceback, and the other files are still checked."""

from __future__ import annotations

import json
import zipfile

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import load_workbook

from nianbao.layout import a1, form_layout
from nianbao.samples import fill
from nianbao.spec import load_spec

SPEC = load_spec("2019")


@pytest.fixture
def good(tmp_path):
    return fill(SPEC, tmp_path / "good.xlsx")


def encrypted(good, tmp_path):
    out = tmp_path / "locked.xlsx"
    with good.open("rb") as fh, out.open("wb") as dest:
        OOXMLFile(fh).encrypt("1234", dest)
    return out


def corrupt(good, tmp_path):
    out = tmp_path / "corrupt.xlsx"
    out.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    return out


def not_excel(good, tmp_path):
    out = tmp_path / "report.xlsx"
    out.write_text("涧西区人民政府办公室2019年政府信息公开工作年度报告", encoding="utf-8")
    return out


def word_file(good, tmp_path):
    out = tmp_path / "report.docx.xlsx"
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return out


def foreign_workbook(good, tmp_path):
    from openpyxl import Workbook

    out = tmp_path / "other.xlsx"
    wb = Workbook()
    wb.active["A1"] = "一、本年新收政府信息公开申请数量"
    wb.save(out)
    return out


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (encrypted, "工作簿设置了打开密码"),
        (corrupt, "文件已损坏"),
        (not_excel, "不是 Excel 工作簿"),
        (word_file, "不是 Excel 工作簿"),
        (foreign_workbook, "不是 nianbao 模板"),
    ],
    ids=["password", "corrupt", "text", "zip-not-excel", "not-our-template"],
)
def test_unreadable_file_exit_2_with_one_line_reason(make, reason, good, tmp_path, cli):
    bad = make(good, tmp_path)
    run = cli("check", bad, good, "--out", tmp_path / "out", "--copies", "all")
    assert run.returncode == 2
    assert "Traceback" not in run.stdout + run.stderr
    (line,) = [ln for ln in run.stdout.splitlines() if bad.name in ln]
    assert "无法检查" in line and reason in line
    # The batch went on: the good file was checked and annotated.
    assert f"✓ {good}" in run.stdout and (tmp_path / "out" / "good.检查.xlsx").exists()


def test_deleted_row_is_a_structure_error_and_nothing_is_misread(good, tmp_path, cli):
    wb = load_workbook(good)
    cell = form_layout(SPEC).inputs["t3.r5_2.natural"]
    wb["表三"].delete_rows(cell.row + 1)  # like a user deleting the row 2.重复申请
    edited = tmp_path / "deleted.xlsx"
    wb.save(edited)
    run = cli("check", edited, "--json", "--copies", "none")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    findings = json.loads(run.stdout)["files"][0]["findings"]
    rules = {f["rule"] for f in findings}
    assert rules == {"S001"}, findings  # no arithmetic finding from shifted values
    assert any("2.重复申请" in f["message"] and "模板结构被修改" in f["message"] for f in findings)


def test_relabelled_row_is_reported_at_the_label(good, tmp_path, cli):
    wb = load_workbook(good)
    cell = form_layout(SPEC).inputs["t3.r1.natural"]
    label = cell.labels[0]
    wb["表三"].cell(label.row + 1, label.col + 1).value = "（一）同意公开"
    edited = tmp_path / "relabelled.xlsx"
    wb.save(edited)
    run = cli("check", edited, "--json", "--copies", "none")
    (finding,) = json.loads(run.stdout)["files"][0]["findings"]
    assert finding["rule"] == "S001" and finding["cell"] == a1(label.row, label.col)
    assert "（一）予以公开" in finding["message"] and "（一）同意公开" in finding["message"]


def test_formula_without_cached_value_is_not_read_as_zero(good, tmp_path):
    import nianbao

    wb = load_workbook(good)
    cell = form_layout(SPEC).inputs["t3.new.natural"]
    wb["表三"][cell.address].value = "=SUM(1,2)"
    edited = tmp_path / "formula.xlsx"
    wb.save(edited)  # openpyxl stores no cached results
    result = nianbao.check(edited)
    assert [(f.rule, f.key) for f in result.findings] == [("C007", "t3.new.natural")]
