"""The supervisor's round: roster → distribute → offices fill and return → check against the roster →
send back → offices fix or explain → check again. Real workbooks throughout, filled as a clerk
would fill the distributed file (openpyxl writing into its input cells), checked by the real CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from nianbao.collect import ROSTER_STATUS
from nianbao.distribute import file_name, safe_file_name
from nianbao.explanations import RESULTS_SHEET, TEXT_HEADER
from nianbao.layout import form_layout
from nianbao.read import read_workbook
from nianbao.roster import Office, RosterError, read_roster
from nianbao.samples import base_values, follow_on, realistic_values
from nianbao.spec import load_spec
from nianbao.template import build

SPEC = load_spec("2021")
INPUTS = form_layout(SPEC).inputs
COLUMNS = [c.key for c in SPEC.table("t3").columns]


def type_into(workbook: Path, dest: Path, values: dict) -> Path:
    """What a clerk does: open the workbook, type values into its input cells, save it as ``dest``."""
    wb = load_workbook(workbook)
    for key, value in values.items():
        wb[INPUTS[key].sheet][INPUTS[key].address].value = value
    dest.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dest)
    return dest


def explain_in(copy: Path, dest: Path, rule: str, text: str) -> Path:
    """What a clerk does with an annotated copy sent back: write a 说明 beside a finding."""
    wb = load_workbook(copy)
    ws = wb[RESULTS_SHEET]
    header = [c.value for c in ws[3]]
    for row in ws.iter_rows(min_row=4):
        if row[header.index("规则")].value == rule:
            row[header.index(TEXT_HEADER)].value = text
    wb.save(dest)
    return dest


def write_roster(path: Path, offices: list[tuple[str, str]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["某县 2025 年度政府信息公开工作年度报告报送名单"])
    ws.append([])
    ws.append(["序号", "编码", "机关名称", "联系人", "联系电话"])
    for n, (code, name) in enumerate(offices, 1):
        ws.append([n, code, name, f"联系人{n}", f"0517-8000{n:04d}"])
        if n == 20:
            ws.append([])  # a blank row in the middle: skipped and counted
    wb.save(path)
    return path


# ------------------------------------------------------------------------------------ the roster


def test_roster_found_by_header_text_in_xlsx_and_gbk_csv(tmp_path):
    xlsx = read_roster(write_roster(tmp_path / "名单.xlsx", [("1001", "东城区教育局"), ("1002", "东城区公安局")]))
    assert [(o.code, o.name, o.contact) for o in xlsx.offices] == [("1001", "东城区教育局", "联系人1"), ("1002", "东城区公安局", "联系人2")]
    csv = tmp_path / "名单.csv"
    csv.write_bytes("单位名称,代码,联系电话\n东城区教育局,1001,123\n\n东城区民政局,1003,\n".encode("gbk"))
    roster = read_roster(csv)
    assert [(o.name, o.code, o.phone) for o in roster.offices] == [("东城区教育局", "1001", "123"), ("东城区民政局", "1003", "")]
    assert roster.blank_rows == 1


def test_a_bad_roster_names_every_problem_with_its_rows(tmp_path):
    bad = tmp_path / "名单.csv"
    bad.write_text("机关名称,编码\n教育局,1\n公安局,2\n教 育 局,3\n,4\n民政局,2\n", encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        read_roster(bad)
    message = str(caught.value)
    assert "第 5 行没有机关名称" in message
    assert "第 2 行与第 4 行的机关名称重复" in message  # 教 育 局 is 教育局 once spaces are ignored
    assert "第 3 行与第 6 行的编码重复：“2”" in message
    nameless = tmp_path / "无表头.csv"
    nameless.write_text("姓名,电话\n张三,1\n", encoding="utf-8")
    with pytest.raises(RosterError, match="没有“机关名称”列"):
        read_roster(nameless)


@pytest.mark.parametrize("name, expected", [
    ("东城区财政局/国资办", "东城区财政局_国资办"),
    ('a:b*c?"d"<e>|f', "a_b_c_d_e_f"),
    ("CON", "_CON"),
    ("  .名字. ", "名字"),
])
def test_file_names_are_safe_everywhere_while_the_workbook_keeps_the_name(name, expected, tmp_path):
    assert safe_file_name(name) == expected
    office = Office(name, "7")
    path = build(SPEC, tmp_path / file_name(office, 2025, macro=False), office=name, year=2025)
    assert path.name == safe_file_name(f"7-{name}-2025年度报告") + ".xlsx"
    assert not set('/\\:*?"<>|') & set(path.name)
    assert read_workbook(path).value("meta.office") == name.strip()


# ------------------------------------------------------------------------------------ the round


N = 40
OFFICES = [(f"{3201 + i}", f"东城区{name}") for i, name in enumerate(
    ["人民政府办公室", "发展和改革局", "教育局", "科学技术局", "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局",
     "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局",
     "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "城市管理局",
     "信访局", "数据局", "林业局", "体育局", "粮食和物资储备局", "档案馆", "地方志办公室", "机关事务管理局",
     "投资促进局", "民族宗教事务局", "人民防空办公室", "供销合作社", "行政审批局", "综合执法局", "融媒体中心"])]
MISSING = {5, 17, 33}  # return nothing
TWICE = 8  # returns two files, the second newer
OLD_TEMPLATE = 11  # fills a template built by an older nianbao (template version 0)
FORWARDED = (12, 13)  # 13 never got its file: it fills 12's, under its own name
EXPLAIN = {20, 21}  # publish late (F101 提示) and explain why in the copy sent back
ERRORS = {2, 3, 30}  # an unbalanced 表三 in the first return, fixed in the second
NO_LAST_YEAR = {39}  # has no report from last year: nothing prefilled


@pytest.fixture(scope="module")
def round_(tmp_path_factory, cli=None):
    from .conftest import run_cli

    base = tmp_path_factory.mktemp("round")
    roster = write_roster(base / "名单.xlsx", OFFICES)
    rng = random.Random(2025)
    last_year, this_year = {}, {}
    for n, (code, name) in enumerate(OFFICES):
        last_year[n] = realistic_values(SPEC, rng, name, 2024)
        if n not in NO_LAST_YEAR:
            build(SPEC, base / "去年收回" / f"{code}-{name}-2024.xlsx", values=last_year[n])
        carry = {c: last_year[n][f"t3.carry_out.{c}"] for c in COLUMNS if c != "total"} if n not in NO_LAST_YEAR else None
        this_year[n] = realistic_values(SPEC, rng, name, 2025, carry_in=carry)
        follow_on(SPEC, last_year[n], this_year[n])
    sent = run_cli("distribute", roster, "--format", "2021", "--year", "2025", "--previous-dir", base / "去年收回", "-o", base / "下发")
    assert sent.returncode == 0, sent.stdout + sent.stderr

    files = {n: base / "下发" / file_name(Office(name, code), 2025, macro=False) for n, (code, name) in enumerate(OFFICES)}
    returned = base / "收回"
    for n, (code, name) in enumerate(OFFICES):
        if n in MISSING or n == FORWARDED[1]:
            continue
        values = {k: v for k, v in this_year[n].items() if k not in ("meta.office", "meta.year")}
        if n in EXPLAIN:
            values["meta.published"] = this_year[n]["meta.published"].replace(month=3, day=1)
        if n in ERRORS:
            values["t3.new.natural"] += 1
        if n == OLD_TEMPLATE:
            old = dataclasses.replace(SPEC, template_version=0)
            build(old, base / "旧模板.xlsx", office=name, year=2025)
            type_into(base / "旧模板.xlsx", returned / f"{name}.xlsx", values)
            continue
        type_into(files[n], returned / files[n].name, values)
        if n == TWICE:
            first = type_into(files[n], returned / f"{name}（初稿）.xlsx", values | {"t3.new.natural": values["t3.new.natural"] + 5})
            os.utime(first, (1_700_000_000, 1_700_000_000))  # the draft is older
    forwarded = this_year[FORWARDED[1]] | {"meta.office": OFFICES[FORWARDED[1]][1]}
    type_into(files[FORWARDED[0]], returned / f"{OFFICES[FORWARDED[1]][1]}.xlsx", {k: v for k, v in forwarded.items() if k != "meta.year"})

    first = run_cli("check", returned, "--roster", roster, "--previous-dir", base / "去年收回", "--out", base / "第一轮")
    # Sent back: the offices with errors fix them; the two late publishers explain in their copies.
    second_in = base / "再收回"
    shutil.copytree(returned, second_in)
    (second_in / f"{OFFICES[TWICE][1]}（初稿）.xlsx").unlink()  # the office says which of its two files stands
    for n in ERRORS:
        type_into(files[n], second_in / files[n].name, {k: v for k, v in this_year[n].items() if k not in ("meta.office", "meta.year")})
    for n in EXPLAIN:
        copy = base / "第一轮" / files[n].name.replace(".xlsx", ".检查.xlsx")
        explain_in(copy, second_in / files[n].name, "F101", "本机关为县人民政府，依条例第四十九条应于3月31日前公布")
    second = run_cli("check", second_in, "--roster", roster, "--previous-dir", base / "去年收回", "--out", base / "第二轮",
                     "--fail-on", "warning")
    return {"base": base, "files": files, "last_year": last_year, "first": first, "second": second}


def _roster_of(summary: Path) -> dict[str, dict]:
    return {e["office"]: e for e in json.loads(summary.read_text(encoding="utf-8"))["roster"]}


def test_distributed_workbooks_are_locked_identified_and_prefilled(round_):
    listing = load_workbook(round_["base"] / "下发" / "下发清单.xlsx")["下发清单"]
    rows = {r[2]: r for r in listing.iter_rows(min_row=5, values_only=True)}
    assert len(rows) == N
    for n, (code, name) in enumerate(OFFICES):
        path = round_["files"][n]
        values = read_workbook(path)
        assert (values.value("meta.office"), values.value("meta.year")) == (name, 2025)
        assert values.meta["roster_code"] == code and values.meta["roster_year"] == "2025"
        wb = load_workbook(path)
        office = wb[INPUTS["meta.office"].sheet][INPUTS["meta.office"].address]
        assert office.protection.locked and wb[INPUTS["meta.office"].sheet].protection.sheet
        assert any(f"本模板下发给：{name}（编码 {code}）" in str(c.value) for c in wb["说明"]["A"])
        carry_in = wb[INPUTS["t3.carry_in.natural"].sheet][INPUTS["t3.carry_in.natural"].address]
        if n in NO_LAST_YEAR:
            assert rows[name][4] == "否" and "没有该机关 2024 年度的报告" in rows[name][5]
            assert all(values.value(f"t3.carry_in.{c}") is None for c in COLUMNS)
            continue
        assert rows[name][4] == "是", rows[name]
        # Prefilled 上年结转 equals last year's 结转下年度 in every column, editable, with a note saying where from.
        assert {c: values.value(f"t3.carry_in.{c}") for c in COLUMNS} == {c: round_["last_year"][n][f"t3.carry_out.{c}"] for c in COLUMNS}
        assert not carry_in.protection.locked
        assert "2024 年度报告" in carry_in.comment.text and "结转下年度继续办理" in carry_in.comment.text


def test_first_collection_says_who_returned_what(round_):
    first = round_["first"]
    assert first.returncode == 1, first.stdout + first.stderr
    summary = round_["base"] / "第一轮" / "summary.json"
    document = json.loads(summary.read_text(encoding="utf-8"))
    roster = _roster_of(summary)
    assert len(roster) == N
    status = {n: roster[name]["status"] for n, (_, name) in enumerate(OFFICES)}
    assert {n for n, s in status.items() if s == "missing"} == MISSING
    assert {n for n, s in status.items() if s == "errors"} == ERRORS
    # Two files of one office and year are a 提示 (Y003) on both, until the office says which stands.
    assert {n for n, s in status.items() if s == "warnings"} == EXPLAIN | {TWICE}
    assert all(s == "clean" for n, s in status.items() if n not in MISSING | ERRORS | EXPLAIN | {TWICE}), status
    assert document["unmatched"] == []
    # Two files from one office: both checked, the newest first.
    twice = roster[OFFICES[TWICE][1]]
    assert len(twice["files"]) == 2 and twice["newest"].endswith(round_["files"][TWICE].name)
    # The forwarded workbook counts for the office it names, and its record is flagged.
    problems = {Path(p["path"]).name: p["problem"] for p in document["identity_problems"]}
    assert roster[OFFICES[FORWARDED[1]][1]]["status"] == "clean"
    assert f"模板是下发给“{OFFICES[FORWARDED[0]][1]}”的" in problems[f"{OFFICES[FORWARDED[1]][1]}.xlsx"]
    old = [p["problem"] for p in document["identity_problems"] if Path(p["path"]).name == f"{OFFICES[OLD_TEMPLATE][1]}.xlsx"]
    assert any("模板版本 0 较旧" in p for p in old) and any("没有下发标识" in p for p in old)
    assert len(problems) == 2
    # The terminal sends the supervisor to the sheet that lists them (however the terminal wraps it).
    said = re.search(r"(\d+) 处下发标识不符（详见 汇总.xlsx 的「其他情况」）", first.stdout.replace("\n", ""))
    other = load_workbook(round_["base"] / "第一轮" / "汇总.xlsx")["其他情况"]
    assert said and int(said[1]) == sum("下发标识不符" in r for r in other.iter_rows(values_only=True)) >= len(problems)
    assert first.stdout.strip().splitlines()[-1].startswith(f"名单 {N} 个机关：未报送 3 个，需要修改 {len(ERRORS | EXPLAIN) + 1} 个")
    sheet = load_workbook(round_["base"] / "第一轮" / "汇总.xlsx")["报送情况"]
    shown = {r[2]: r[3] for r in sheet.iter_rows(min_row=5, max_row=4 + N, values_only=True)}
    assert shown[OFFICES[5][1]] == ROSTER_STATUS["missing"] and shown[OFFICES[20][1]] == ROSTER_STATUS["warnings"]


def test_second_collection_after_fixes_and_explanations(round_):
    second = round_["second"]
    summary = round_["base"] / "第二轮" / "summary.json"
    roster = _roster_of(summary)
    status = {n: roster[name]["status"] for n, (_, name) in enumerate(OFFICES)}
    assert {n for n, s in status.items() if s == "explained"} == EXPLAIN
    assert all(s == "clean" for n, s in status.items() if n not in MISSING | EXPLAIN), status
    # Only unexplained 提示 count for --fail-on warning; 3 offices missing is not a file's failure.
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"名单 {N} 个机关：未报送 3 个，需要修改 0 个" in second.stdout
    files = {Path(f["path"]).name: f for f in json.loads(summary.read_text(encoding="utf-8"))["files"]}
    late = files[round_["files"][20].name]
    assert late["status"] == "explained" and late["warnings"] == 0 and late["explained"] == 1
    assert [f["explanation"] for f in late["findings"]] == ["本机关为县人民政府，依条例第四十九条应于3月31日前公布"]
    explained = load_workbook(round_["base"] / "第二轮" / "汇总.xlsx")["已说明"]
    rows = list(explained.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 2 and {r[3] for r in rows} == {"F101"} and {r[7] for r in rows} == {"提示已说明"}
    # The new annotated copy keeps the explanation in its 说明 column.
    copy = load_workbook(round_["base"] / "第二轮" / round_["files"][20].name.replace(".xlsx", ".检查.xlsx"))[RESULTS_SHEET]
    header = [c.value for c in copy[3]]
    assert copy.cell(4, header.index(TEXT_HEADER) + 1).value.startswith("本机关为县人民政府")


@pytest.mark.slow
def test_an_explained_warning_is_not_open_and_a_stale_explanation_is_listed(tmp_path, cli):
    # A department (1月31日) publishing on 3月1日: F101; and C008: two 提示.
    late = {"meta.office": "示例县教育局", "meta.published": dt.date(2026, 3, 1), "t3.r1.natural": "0件"}
    source = build(SPEC, tmp_path / "报告.xlsx", values=base_values(SPEC, 2025) | late)
    first = cli("check", source, "--out", tmp_path / "一", "--fail-on", "warning")
    assert first.returncode == 1
    copy = tmp_path / "一" / "报告.检查.xlsx"
    explain_in(copy, tmp_path / "二.xlsx", "F101", "网站改版期间暂停发布，已报县政务公开办同意延期")
    second = cli("check", tmp_path / "二.xlsx", "--json", "--fail-on", "warning")
    found = json.loads(second.stdout)["files"][0]
    assert (found["status"], found["warnings"], found["explained"]) == ("warnings", 1, 1)  # C008 is still open
    assert second.returncode == 1
    # The office fixes C008 and is told its F101 explanation is no longer needed once it also fixes the date.
    fixed = type_into(tmp_path / "二.xlsx", tmp_path / "三.xlsx", {"t3.r1.natural": 0, "meta.published": None})
    third = cli("check", fixed, "--json", "--fail-on", "warning")
    found = json.loads(third.stdout)["files"][0]
    assert found["status"] == "clean" and third.returncode == 0
    assert [(e["rule"], e["text"]) for e in found["stale_explanations"]] == [("F101", "网站改版期间暂停发布，已报县政务公开办同意延期")]
    shown = cli("check", fixed)
    assert "说明已不再需要 F101" in shown.stdout


@pytest.mark.slow
def test_distribute_with_buttons_and_a_bad_roster_from_the_command_line(tmp_path, cli):
    roster = tmp_path / "名单.csv"
    roster.write_bytes("机关名称,编码\n东城区教育局,1\n".encode("gbk"))
    made = cli("distribute", roster, "--format", "2021", "--year", "2025", "--macro", "-o", tmp_path / "下发")
    assert made.returncode == 0, made.stderr
    (workbook,) = (tmp_path / "下发").glob("*.xlsm")
    assert workbook.name == "1-东城区教育局-2025年度报告.xlsm"
    assert "xl/vbaProject.bin" in zipfile.ZipFile(workbook).namelist()
    assert read_workbook(workbook).meta["roster_office"] == "东城区教育局"
    again = cli("distribute", roster, "--format", "2021", "--year", "2025", "--macro", "-o", tmp_path / "下发", "--force")
    assert again.returncode == 0 and len(list((tmp_path / "下发").glob("*.xlsm"))) == 1  # its own unchanged output is replaced

    roster.write_text("机关名称,编码\n东城区教育局,1\n东城区公安局,1\n", encoding="utf-8")
    bad = cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", tmp_path / "下发2")
    assert bad.returncode == 2 and "第 2 行与第 3 行的编码重复" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "下发2").exists()
    wrong_year = cli("distribute", roster, "--format", "2019", "--year", "2025", "-o", tmp_path / "下发3")
    assert wrong_year.returncode == 2 and "不适用于 2025 年度" in wrong_year.stderr


@pytest.mark.slow
def test_an_unreadable_return_counts_for_its_office_by_the_distributed_file_name(tmp_path, cli):
    roster = tmp_path / "名单.csv"
    roster.write_text("编码,机关名称\n3203,东城区教育局\n3204,东城区公安局\n", encoding="utf-8")
    returned = tmp_path / "收回"
    returned.mkdir()
    (returned / "3203-东城区教育局-2025年度报告.xlsx").write_bytes(b"PK\x03\x04 damaged in the mail")
    build(SPEC, returned / "不知是谁的.xlsx", values=base_values(SPEC, 2025) | {"meta.office": "某乡人民政府"})
    run = cli("check", returned, "--roster", roster, "--out", tmp_path / "结果", "--year", "2025")
    assert run.returncode == 2, run.stdout + run.stderr
    document = json.loads((tmp_path / "结果" / "summary.json").read_text(encoding="utf-8"))
    status = {e["office"]: e["status"] for e in document["roster"]}
    assert status == {"东城区教育局": "failed", "东城区公安局": "missing"}
    assert [Path(p).name for p in document["unmatched"]] == ["不知是谁的.xlsx"]
    assert "1 个文件不属于名单中的任何机关" in run.stdout and "未报送 1 个，需要修改 1 个" in run.stdout
