"""An explanation (说明) must say something (issue 19): “无” does not explain N103, the rule that fires
when 五 says only “无”. Decided once (explanations.is_open, with the list in
rules/explanations/insufficient.yaml), so the single check, the batch and the button agree."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

import nianbao
from nianbao.explanations import RESULTS_SHEET, TEXT_HEADER, explain, insufficient, is_open
from nianbao.pipeline import check_values
from nianbao.read import read_workbook
from nianbao.samples import fill
from nianbao.spec import load_spec

SPEC = load_spec("2021")


@pytest.mark.parametrize("text", ["无", "无。", "核实无误", "已核实", "正确", "属实", "同上", "经核实，数据正确无误", "ＯＫ", "数据属实，确认无误"])
def test_empty_explanations_do_not_count(text):
    assert insufficient(text) and insufficient(text).startswith("说明不充分")


@pytest.mark.parametrize("text", ["本机关本年度确实没有收到任何申请", "本年无申请人提起复议", "系统迁移中数据已补录"])
def test_explanations_that_give_a_reason_count(text):
    assert insufficient(text) is None


def _write_explanation(copy, dest, rule, text):
    wb = load_workbook(copy)
    ws = wb[RESULTS_SHEET]
    header = [c.value for c in ws[3]]
    for row in ws.iter_rows(min_row=4):
        if row[header.index("规则")].value == rule:
            row[header.index(TEXT_HEADER)].value = text
    dest.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dest)
    return dest


def test_no_as_the_explanation_of_n103_leaves_it_open_everywhere(tmp_path, cli):
    report = fill(SPEC, tmp_path / "in" / "a.xlsx", {"text.s5": "无。"}, year=2025)
    first = cli("check", report, "--copies", "findings")
    copy = tmp_path / "in" / "a.检查.xlsx"
    assert "N103" in first.stdout and copy.exists()
    back = _write_explanation(copy, tmp_path / "back" / "a.xlsx", "N103", "无")

    result = nianbao.check(back)  # the library call the CLI makes for one file
    n103 = next(f for f in result.findings if f.rule == "N103")
    assert n103.explanation == "无" and is_open(n103) and result.status == "warnings" and result.explained == 0

    values = read_workbook(back)  # what the 检查 button does: check the values, attach the 说明
    findings = check_values(values)
    explain(findings, values.explanations)
    assert [is_open(f) for f in findings if f.rule == "N103"] == [True]

    single = cli("check", back, "--copies", "none", "--fail-on", "warning")
    assert single.returncode == 1 and "说明不充分" in single.stdout and "已说明：无" not in single.stdout
    batch = cli("check", back.parent, "--out", tmp_path / "out", "--fail-on", "warning")
    assert batch.returncode == 1 and "说明不充分" in batch.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["files"][0]["status"] == "warnings" and summary["totals"]["findings"]["explained"] == 0
    sheet = load_workbook(tmp_path / "out" / "汇总.xlsx")["已说明"]
    assert any("说明不充分" in str(c.value) for row in sheet.iter_rows() for c in row)

    fixed = _write_explanation(copy, tmp_path / "back2" / "a.xlsx", "N103", "本机关为新设机构，本年度尚未开展依申请公开工作")
    assert nianbao.check(fixed).status == "explained"


def test_an_insufficient_explanation_is_said_so_in_the_copy_and_the_json(tmp_path, cli):
    """The annotated copy's cell note and ``--json`` say 说明不充分, not 已说明, for “无”; a real
    reason is 已说明 / accepted."""
    report = fill(SPEC, tmp_path / "in" / "a.xlsx", {"text.s5": "无。"}, year=2025)
    cli("check", report, "--copies", "findings")
    copy = tmp_path / "in" / "a.检查.xlsx"
    back = _write_explanation(copy, tmp_path / "back" / "a.xlsx", "N103", "无")
    shown = cli("check", back, "--copies", "all", "--json")
    n103 = next(f for f in json.loads(shown.stdout)["files"][0]["findings"] if f["rule"] == "N103")
    assert n103["explanation"] == "无" and n103["explanation_status"] == "insufficient"
    notes = [c.comment.text for ws in load_workbook(tmp_path / "back" / "a.检查.xlsx") for row in ws.iter_rows()
             for c in row if c.comment and "N103" in c.comment.text]
    assert notes and all("说明不充分" in n and "已说明" not in n for n in notes), notes

    fixed = _write_explanation(copy, tmp_path / "fixed" / "a.xlsx", "N103", "本机关为新设机构，本年度尚未开展依申请公开工作")
    shown = cli("check", fixed, "--copies", "all", "--json")
    findings = json.loads(shown.stdout)["files"][0]["findings"]
    assert {f["rule"]: f["explanation_status"] for f in findings}["N103"] == "accepted"
    assert all(f["explanation_status"] is None for f in findings if not f["explanation"])
    notes = [c.comment.text for ws in load_workbook(tmp_path / "fixed" / "a.检查.xlsx") for row in ws.iter_rows()
             for c in row if c.comment and "N103" in c.comment.text]
    assert notes and all("已说明：本机关为新设机构" in n for n in notes), notes
