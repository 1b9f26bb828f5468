"""A county round of 30 offices, as issue 19 tried it as a new user: renamed files in subfolders, a
forwarded template, an .xls, two versions of one office, 28 offices whose 总体情况 is one standard
text, late publishers, a cover note among the returns. Checked by the real CLI against the roster;
what a supervisor reads must agree and mean something."""

from __future__ import annotations

import csv
import json
import os
import random
import re

import pytest
from openpyxl import load_workbook

from nianbao.distribute import file_name
from nianbao.roster import Office
from nianbao.samples import follow_on, realistic_values
from nianbao.spec import load_spec
from nianbao.template import build

from .test_copied_groups import STANDARD
from .test_distribution import COLUMNS, type_into, write_roster

SPEC = load_spec("2021")
OFFICES = [(f"{4101 + i}", f"某县{name}") for i, name in enumerate(
    ["人民政府", "发展和改革局", "教育局", "科学技术局", "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局",
     "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局",
     "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "城市管理局",
     "信访局", "数据局", "林业局", "体育局", "档案馆"])]
MISSING = 29  # returns nothing
OWN_TEXT = {0, 1}  # write their own 总体情况; the other 28 (less the missing one) use the standard text
ERRORS = {2, 3}  # an unbalanced 表三
LATE = {4, 5}  # publish on 3月1日: F101 提示 for a department
FORWARDED = (11, 27)  # 林业局 fills 住建局's forwarded template under its own name
TWICE = 6  # a draft and a final version
XLS = 7  # sends an .xls it saved as, which cannot be read
RENAMED = 8  # renames its file and puts it in a subfolder


def _own(rng: random.Random, name: str) -> str:
    words = "政策解读依申请公开政务新媒体基层标准化规范化公开目录网站平台培训考核栏目"
    return f"{name}今年" + "".join(rng.choice(words) + rng.choice("工作有序推进，；。") for _ in range(60))


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    from .conftest import run_cli

    base = tmp_path_factory.mktemp("county")
    roster = write_roster(base / "名单.xlsx", OFFICES)
    rng = random.Random(19)
    this_year = {}
    for n, (code, name) in enumerate(OFFICES):
        last = realistic_values(SPEC, rng, name, 2024) | {"text.s1": _own(rng, name)}
        build(SPEC, base / "去年收回" / f"{code}-{name}-2024.xlsx", values=last)
        carry = {c: last[f"t3.carry_out.{c}"] for c in COLUMNS if c != "total"}
        now = realistic_values(SPEC, rng, name, 2025, carry_in=carry)
        follow_on(SPEC, last, now)
        now["text.s1"] = _own(rng, name) if n in OWN_TEXT else STANDARD
        this_year[n] = now
    sent = run_cli("distribute", roster, "--format", "2021", "--year", "2025", "--previous-dir", base / "去年收回", "-o", base / "下发")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    files = {n: base / "下发" / file_name(Office(name, code), 2025, macro=False) for n, (code, name) in enumerate(OFFICES)}
    returned = base / "收回"
    for n, (_, name) in enumerate(OFFICES):
        values = {k: v for k, v in this_year[n].items() if k not in ("meta.office", "meta.year")}
        if n in ERRORS:
            values["t3.new.natural"] += 1
        if n in LATE:
            values["meta.published"] = values["meta.published"].replace(month=3, day=1)
        if n == MISSING or n == FORWARDED[1]:
            continue
        if n == XLS:
            (returned / "邮件附件").mkdir(parents=True, exist_ok=True)
            (returned / "邮件附件" / f"{name}.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000)
            continue
        dest = returned / "第二批" / f"{name}年报（终稿）.xlsx" if n == RENAMED else returned / files[n].name
        type_into(files[n], dest, values)
        if n == TWICE:
            draft = type_into(files[n], returned / f"{name}（初稿）.xlsx", values | {"t3.new.natural": values["t3.new.natural"] + 5})
            os.utime(draft, (1_700_000_000, 1_700_000_000))
    forwarded = {k: v for k, v in this_year[FORWARDED[1]].items() if k != "meta.year"}
    type_into(files[FORWARDED[0]], returned / f"{OFFICES[FORWARDED[1]][1]}.xlsx", forwarded)
    run = run_cli("check", returned, "--roster", roster, "--previous-dir", base / "去年收回", "--out", base / "结果")
    return {"base": base, "run": run, "out": base / "结果"}


def _summary(county) -> dict:
    return json.loads((county["out"] / "summary.json").read_text(encoding="utf-8"))


def test_statuses(county):
    roster = {e["office"]: e["status"] for e in _summary(county)["roster"]}
    name = dict(enumerate(n for _, n in OFFICES))
    assert roster[name[MISSING]] == "missing"
    assert {roster[name[n]] for n in ERRORS} == {"errors"}
    assert {roster[name[n]] for n in LATE} == {"warnings"}
    assert roster[name[XLS]] == "failed"
    assert roster[name[FORWARDED[1]]] != "missing" and roster[name[RENAMED]] != "missing"
    others = set(range(30)) - ERRORS - LATE - {MISSING, XLS}
    assert all(roster[name[n]] in ("clean", "warnings") for n in others), {name[n]: roster[name[n]] for n in others}


def test_at_most_one_y403_per_file_naming_the_group(county):
    document = _summary(county)
    for f in document["files"]:
        hits = [x for x in f["findings"] if x["rule"] == "Y403"]
        assert len(hits) <= 1, (f["path"], len(hits))
    standard = [f for f in document["files"] if f["office"] and any(x["rule"] == "Y403" for x in f["findings"])]
    # 28 offices less the missing one and the .xls: every one in one group (the draft is its office's own)
    (group,) = document["copy_groups"]
    assert len(group["members"]) == 26 and not set(group["members"]) & {OFFICES[n][1] for n in OWN_TEXT}
    message = next(x["message"] for x in standard[0]["findings"] if x["rule"] == "Y403")
    assert "另外 25 个机关" in message
    assert "雷同分组" in load_workbook(county["out"] / "汇总.xlsx").sheetnames


def test_counts_agree_in_terminal_sheet_json_and_csv(county):
    run = county["run"]
    document = _summary(county)
    files = document["totals"]["files"]
    assert f"共 {files['total']} 个文件：有错误的 {files['errors']} 个，有未说明提示的 {files['warnings']} 个" in run.stdout
    roster = document["totals"]["roster"]
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith(f"名单 30 个机关：未报送 {roster['missing']} 个，需要修改 {roster['needs_fixing']} 个")
    assert f"通过 {roster['clean']} 个" in last
    sheet = load_workbook(county["out"] / "汇总.xlsx")["报送情况"]
    assert last in sheet["A1"].value  # the same line, word for word
    shown = [r[3] for r in sheet.iter_rows(min_row=5, max_row=34, values_only=True)]
    assert shown.count("通过") == roster["clean"] and shown.count("未报送") == roster["missing"]
    with (county["out"] / "summary.csv").open(encoding="utf-8-sig") as fh:
        statuses = [row["status"] for row in csv.DictReader(fh)]
    kinds = ("clean", "warnings", "explained", "errors", "failed")
    assert {s: statuses.count(s) for s in kinds} == {s: files[s] for s in kinds}
    findings = re.search(r"发现的问题：错误 (\d+) 项，未说明的提示 (\d+) 项", run.stdout)
    assert findings and (int(findings[1]), int(findings[2])) == (document["totals"]["findings"]["errors"], document["totals"]["findings"]["warnings"])


def test_the_return_list_names_who_gets_what(county):
    sheet = load_workbook(county["out"] / "汇总.xlsx")["退回清单"]
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    names = {r[1] for r in rows}
    assert {OFFICES[n][1] for n in ERRORS | LATE | {XLS}} <= names and OFFICES[MISSING][1] not in names
    errors = next(r for r in rows if r[1] == OFFICES[2][1])
    assert "0517-8000" in errors[2] and errors[4].endswith(".检查.xlsx") and "须修改" in errors[5]


def test_the_prefill_note_says_what_y301_does(county):
    from nianbao.layout import form_layout
    from nianbao.rules.catalogue import ruleset

    cell = form_layout(SPEC).inputs["t3.carry_in.natural"]
    sent = next((county["base"] / "下发").glob("*-某县教育局-2025年度报告.xlsx"))
    note = load_workbook(sent)[cell.sheet][cell.address].comment.text
    assert ruleset(SPEC).get("Y301").severity == "错误"
    assert "Y301" in note and "错误" in note and "请直接修改" not in note and "不要自行修改" in note
