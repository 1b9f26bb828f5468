"""F101 by kind of office (issue 19, 条例第四十九条): departments publish by 1月31日, 县级以上人民政府
by 3月31日. The kind is the roster's 类型 (with --roster), else judged from the office's name; a
roster's 公布期限 earlier than the 条例's is the deadline then. All of it is in rules/common.yaml."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

from openpyxl import Workbook

import nianbao
from nianbao.samples import fill
from nianbao.spec import load_spec

SPEC = load_spec("2021")


def _f101(result) -> list[str]:
    return [f.message for f in result.findings if f.rule == "F101"]


def test_the_deadline_follows_the_office_name(tmp_path):
    def late(office, day):
        return _f101(nianbao.check(fill(SPEC, tmp_path / f"{office}{day}.xlsx", {"meta.office": office, "meta.published": day}, year=2025)))

    march = dt.date(2026, 3, 1)
    assert late("东城区人民政府", march) == [] and late("东城区人民政府办公室", march) == []
    (message,) = late("东城区教育局", march)
    assert "2026-01-31" in message and "按机关名称" in message and "部门" in message, message
    assert late("东城区某某镇人民政府", march)  # a township is no 县级以上人民政府
    (message,) = late("东城区人民政府", dt.date(2026, 4, 1))
    assert "2026-03-31" in message and "本级报告应于每年3月31日前公布" in message, message


def _roster(path, rows):
    wb = Workbook()
    wb.active.append(["编码", "机关名称", "类型", "公布期限", "联系人", "联系电话"])
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_the_roster_says_the_kind_and_a_local_earlier_deadline(tmp_path, cli):
    folder = tmp_path / "收回"
    for name, day in [("东城区人民政府", dt.date(2026, 3, 1)), ("东城区人民政府办公室", dt.date(2026, 3, 1)),
                      ("东城区教育局", dt.date(2026, 1, 25)), ("东城区公安局", dt.date(2026, 1, 25))]:
        fill(SPEC, folder / f"{name}.xlsx", {"meta.office": name, "meta.published": day}, year=2025)
    roster = _roster(tmp_path / "名单.xlsx", [
        ["3201", "东城区人民政府", "人民政府", None, "甲", "0371-60010001"],
        ["3202", "东城区人民政府办公室", "部门", None, "乙", "0371-60010002"],  # its own report, as a department
        ["3203", "东城区教育局", "部门", dt.datetime(2026, 1, 20), "丙", "0371-60010003"],  # 本市要求 1月20日前
        ["3204", "东城区公安局", "部门", None, "丁", "0371-60010004"]])
    run = cli("check", folder, "--roster", roster, "--copies", "none", "--json", "--out", tmp_path / "out")
    found = {f["office"]: [x["message"] for x in f["findings"] if x["rule"] == "F101"] for f in json.loads(run.stdout)["files"]}
    assert found["东城区人民政府"] == [] and found["东城区公安局"] == []
    (office,) = found["东城区人民政府办公室"]
    assert "2026-01-31" in office and "按名单类型“部门”" in office, office
    (local,) = found["东城区教育局"]
    assert "2026-01-20" in local and "本地公布期限" in local and "2026-01-31" in local, local

    alone = cli("check", folder, "--copies", "none", "--json")  # no roster: by name, the 条例's dates
    found = {f["office"]: [x for x in f["findings"] if x["rule"] == "F101"] for f in json.loads(alone.stdout)["files"]}
    assert all(v == [] for v in found.values()), found


def test_a_deadline_that_is_no_date_is_one_line(tmp_path, cli):
    fill(SPEC, tmp_path / "收回" / "a.xlsx", {"meta.office": "东城区教育局"}, year=2025)
    roster = _roster(tmp_path / "名单.xlsx", [["3203", "东城区教育局", "部门", "下周一", "丙", "0371-60010003"]])
    run = cli("check", tmp_path / "收回", "--roster", roster, "--copies", "none", "--out", tmp_path / "out")
    assert run.returncode == 2 and "第 2 行的公布期限“下周一”不是日期" in run.stdout + run.stderr, run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_a_round_checks_with_its_roster_kinds_and_keeps_cover_notes_out(tmp_path, cli):
    """check --round judges as check --roster does: the roster's 类型 sets F101's date, and a cover
    note sent after the report is listed, never the office's latest submission."""
    roster = _roster(tmp_path / "名单.xlsx", [["3201", "东城区人民政府办公室", "部门", None, "乙", "0371-60010002"],
                                            ["3202", "东城区教育局", "部门", None, "丙", "0371-60010003"]])
    rnd = tmp_path / "轮次"
    sent = cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", tmp_path / "下发", "--round", rnd)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    folder = tmp_path / "收回"
    for name in ("东城区人民政府办公室", "东城区教育局"):
        fill(SPEC, folder / f"{name}.xlsx", {"meta.office": name, "meta.published": dt.date(2026, 3, 1)}, year=2025)
    note = folder / "东城区教育局-情况说明.txt"
    note.write_text("情况说明\n我单位2025年度报告已按时报送，联系人变更为张三。\n特此说明。\n", encoding="utf-8")
    os.utime(note, (time.time() + 60, time.time() + 60))  # sent after the report
    run = cli("check", folder, "--round", rnd, "--out", tmp_path / "第一轮")
    assert "1 个附件不是年度报告" in run.stdout.replace("\n", ""), run.stdout + run.stderr
    document = json.loads((tmp_path / "第一轮" / "summary.json").read_text(encoding="utf-8"))
    files = {f["office"]: f for f in document["files"]}
    assert len(files) == 2 and all(f["path"].endswith(".xlsx") for f in files.values())
    late = {office: [x["message"] for x in f["findings"] if x["rule"] == "F101"] for office, f in files.items()}
    assert all(len(messages) == 1 and "按名单类型“部门”" in messages[0] for messages in late.values()), late
