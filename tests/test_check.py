"""The check a user runs: findings on the right cells, annotated copies, exit codes, JSON."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

import nianbao
from nianbao.annotate import MARKER, RESULTS_SHEET
from nianbao.layout import form_layout
from nianbao.samples import fill
from nianbao.spec import load_spec
from nianbao.template import INPUT_FILL

SPEC = load_spec("2021")
CELLS = form_layout(SPEC).inputs


def place(key: str) -> str:
    return f"{CELLS[key].sheet}!{CELLS[key].address}"


@pytest.fixture
def unbalanced(tmp_path):
    """A complete report whose 自然人 column of 表三 does not balance (rows still sum)."""
    return fill(SPEC, tmp_path / "unbalanced.xlsx", {"t3.new.natural": 1, "t3.new.total": 1}, year=2022)


def test_unbalanced_column_gets_exactly_that_error_on_its_cells(unbalanced, tmp_path, cli):
    before = unbalanced.read_bytes()
    run = cli("check", unbalanced, "--out", tmp_path / "out", "--json")
    assert run.returncode == 1, run.stderr
    (report,) = json.loads(run.stdout)["files"]
    assert report["status"] == "errors" and report["format"] == "gov-2021"
    findings = report["findings"]
    # The 总计 column is unbalanced by the same amount: it is the sum of the applicant columns.
    assert [(f["rule"], f["severity"], f["key"]) for f in findings] == [
        ("B301", "错误", "t3.new.natural"),
        ("B301", "错误", "t3.new.total"),
    ]
    first = findings[0]
    assert first["cells"] == [place(f"t3.{r}.natural") for r in ("new", "carry_in", "r7", "carry_out")]
    assert (first["actual"], first["expected"]) == (1, 0)
    assert "自然人" in first["message"] and "= 1" in first["message"] and "= 0" in first["message"] and "相差 1" in first["message"]
    assert first["row"] == "一、本年新收政府信息公开申请数量" and first["column"] == "自然人"
    assert unbalanced.read_bytes() == before

    wb = load_workbook(tmp_path / "out" / "unbalanced.检查.xlsx")
    ws = wb["表三"]
    for key in ("t3.new.natural", "t3.r7.natural", "t3.carry_out.natural", "t3.new.total"):
        cell = ws[CELLS[key].address]
        assert MARKER in cell.comment.text and "B301" in cell.comment.text
        assert cell.fill.fgColor.rgb == "FFFFC7CE"
    assert ws[CELLS["t3.new.business"].address].comment is None
    results = wb[RESULTS_SHEET]
    assert results["A1"].value.startswith("检查结果：错误 2 项")
    assert results["D4"].hyperlink.location == f"'表三'!{CELLS['t3.new.natural'].address}"


def test_clean_report_exits_0_with_no_error(tmp_path, cli):
    clean = fill(SPEC, tmp_path / "clean.xlsx", year=2022)
    run = cli("check", clean, "--copies", "all")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "错误 0 项" in run.stdout
    copy = tmp_path / "clean.检查.xlsx"
    assert load_workbook(copy)[RESULTS_SHEET]["A1"].value == "检查结果：未发现问题"


def test_python_api_returns_findings_as_data(unbalanced):
    result = nianbao.check(unbalanced)
    assert result.status == "errors" and result.errors == 2
    frame = result.frame()
    assert list(frame["rule"]) == ["B301", "B301"]
    assert list(frame["cell"]) == [CELLS["t3.new.natural"].address, CELLS["t3.new.total"].address]


def test_rechecking_an_annotated_copy_replaces_our_layer_and_keeps_the_users(unbalanced, tmp_path):
    from nianbao.annotate import annotate

    # The user adds a note and a colour of their own to the file before checking.
    wb = load_workbook(unbalanced)
    ws = wb["表三"]
    natural = ws[CELLS["t3.new.natural"].address]
    natural.comment = Comment("请财务科核对", "张三")
    business = ws[CELLS["t3.new.business"].address]
    business.fill = PatternFill(fill_type="solid", fgColor="FF00B0F0")
    wb.save(unbalanced)

    first = annotate(unbalanced, nianbao.check(unbalanced).findings, tmp_path / "a1.xlsx")
    second = annotate(first, nianbao.check(first).findings, tmp_path / "a2.xlsx")
    ws = load_workbook(second)["表三"]
    note = ws[CELLS["t3.new.natural"].address].comment.text
    assert note.startswith("请财务科核对") and note.count(MARKER) == 1 and note.count("] B301 ") == 1
    assert ws[CELLS["t3.new.business"].address].fill.fgColor.rgb == "FF00B0F0"

    # Once fixed, the next check removes our notes and colours and restores the original fill.
    wb = load_workbook(second)
    ws = wb["表三"]
    ws[CELLS["t3.r1.natural"].address].value = 1
    ws[CELLS["t3.r1.total"].address].value = 1
    ws[CELLS["t3.r7.natural"].address].value = 1
    ws[CELLS["t3.r7.total"].address].value = 1
    wb.save(tmp_path / "fixed.xlsx")
    result = nianbao.check(tmp_path / "fixed.xlsx")
    assert result.findings == []
    third = load_workbook(annotate(tmp_path / "fixed.xlsx", result.findings, tmp_path / "a3.xlsx"))
    ws = third["表三"]
    assert ws[CELLS["t3.new.natural"].address].comment.text == "请财务科核对"
    assert ws[CELLS["t3.r7.total"].address].comment is None
    assert ws[CELLS["t3.r7.total"].address].fill.fgColor.rgb == "FF" + INPUT_FILL[1:]  # the template's input colour
    assert third.sheetnames.count(RESULTS_SHEET) == 1


def test_cross_year_mismatch_with_previous(tmp_path, cli):
    prev = fill(SPEC, tmp_path / "2021.xlsx", {"t3.new.natural": 2, "t3.new.total": 2, "t3.carry_out.natural": 2,
                                                "t3.carry_out.total": 2}, year=2021)
    this = fill(SPEC, tmp_path / "2022.xlsx", {"t3.new.natural": 1, "t3.new.total": 1, "t3.r1.natural": 1, "t3.r1.total": 1,
                                                "t3.r7.natural": 1, "t3.r7.total": 1}, year=2022)
    run = cli("check", this, "--previous", prev, "--json", "--copies", "none")
    assert run.returncode == 1
    findings = json.loads(run.stdout)["files"][0]["findings"]
    assert [(f["rule"], f["key"], f["actual"], f["expected"]) for f in findings] == [
        ("Y301", "t3.carry_in.natural", 0, 2),
        ("Y301", "t3.carry_in.total", 0, 2),
    ]
    assert not (tmp_path / "2022.检查.xlsx").exists()


def test_output_never_overwrites_the_input(tmp_path, cli):
    report = fill(SPEC, tmp_path / "r.xlsx", {"t3.new.natural": "/"}, year=2022)
    before = report.read_bytes()
    run = cli("check", report, "--out", tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert report.read_bytes() == before
    assert f"批注副本：{tmp_path / 'r.检查.xlsx'}" in run.stdout  # marked, so never the input's own name


def test_a_blank_template_says_it_is_not_filled_in_one_finding(tmp_path, cli):
    from nianbao.template import build

    blank = build(SPEC, tmp_path / "blank.xlsx")
    run = cli("check", blank, "--copies", "none")
    assert run.returncode == 1
    (finding,) = nianbao.check(blank).findings
    assert finding.rule == "C000" and "模板尚未填写" in finding.message
    assert "错误 1 项" in run.stdout and "C001" not in run.stdout
    # One number entered, and every other blank is its own finding again: blank is not 0.
    started = build(SPEC, tmp_path / "started.xlsx", values={"t3.new.natural": 3})
    assert {f.rule for f in nianbao.check(started).findings} >= {"C001", "C002"}


def test_finding_ids_are_stable_across_runs_names_and_places(tmp_path):
    """A finding keeps its id when the workbook is checked again, renamed or moved: it comes from the
    rule and the cells' keys, not from addresses or message text."""
    import shutil

    from openpyxl import load_workbook

    from nianbao.annotate import annotate

    report = fill(SPEC, tmp_path / "a.xlsx", {"t3.new.natural": None, "t3.new.total": 5}, year=2022)
    first = {f.id for f in nianbao.check(report).findings}
    (tmp_path / "moved").mkdir()
    moved = shutil.copy(report, tmp_path / "moved" / "改名后.xlsx")
    assert {f.id for f in nianbao.check(moved).findings} == first and len(first) == len(nianbao.check(report).findings)
    finding = nianbao.check(report).findings[0]
    copy = annotate(report, [finding], tmp_path / "copy.xlsx")
    ws = load_workbook(copy)["检查结果"]
    assert ws.cell(3, 12).value == "编号" and ws.cell(4, 12).value == finding.id
    assert finding.id in load_workbook(copy)[finding.sheet][finding.cell].comment.text
