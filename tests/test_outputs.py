"""nianbao never overwrites what it did not write, and says clearly when it cannot write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from nianbao.samples import base_values, fill
from nianbao.spec import load_spec

from .render import to_html, to_text

SPEC = load_spec("2021")


def _report(folder: Path, stem: str, suffix: str) -> Path:
    """The same report, with a finding (表三 自然人 新收 left blank), as a workbook or as a published page."""
    values = base_values(SPEC, 2025) | {"t3.new.natural": None}
    if suffix == ".xlsx":
        return fill(SPEC, folder / f"{stem}.xlsx", {"t3.new.natural": None}, year=2025)
    render = to_text if suffix == ".txt" else to_html
    return render(SPEC, values, folder / f"{stem}{suffix}")


def test_an_imported_reports_copy_never_replaces_the_users_workbook(tmp_path, cli):
    html = _report(tmp_path, "b", ".html")
    own = _report(tmp_path / "..", "b", ".xlsx").rename(tmp_path / "b.xlsx")  # the user's own workbook of the same name
    before = own.read_bytes()
    run = cli("check", html, "--out", tmp_path, "--json")
    assert own.read_bytes() == before
    (result,) = json.loads(run.stdout)["files"]
    assert result["output"] == str(tmp_path / "b.html.检查.xlsx")


def test_same_stem_reports_get_distinct_copies_beside_them(tmp_path, cli):
    for suffix in (".xlsx", ".txt", ".html"):
        _report(tmp_path, "report", suffix)
    run = cli("check", tmp_path, "--json")
    outputs = {Path(f["path"]).name: Path(f["output"]).name for f in json.loads(run.stdout)["files"]}
    assert outputs == {"report.xlsx": "report.检查.xlsx", "report.txt": "report.txt.检查.xlsx", "report.html": "report.html.检查.xlsx"}


def test_a_copy_the_user_changed_is_kept_and_ours_is_replaced(tmp_path, cli):
    report = _report(tmp_path, "a", ".xlsx")
    theirs = tmp_path / "a.检查.xlsx"
    theirs.write_bytes(b"the user's own notes")
    run = cli("check", report, "--json")
    first = json.loads(run.stdout)["files"][0]["output"]
    assert theirs.read_bytes() == b"the user's own notes" and first == str(tmp_path / "a.检查-2.xlsx")
    # A second run replaces its own unchanged copy instead of adding a third.
    again = json.loads(cli("check", report, "--json").stdout)["files"][0]["output"]
    assert again == first and not (tmp_path / "a.检查-3.xlsx").exists()
    # Once the user edits that copy (writes an explanation), it is theirs: the next run keeps it.
    wb = load_workbook(first)
    wb["检查结果"]["A1"] = "已阅"
    wb.save(first)
    third = json.loads(cli("check", report, "--json").stdout)["files"][0]["output"]
    assert third == str(tmp_path / "a.检查-3.xlsx") and load_workbook(first)["检查结果"]["A1"].value == "已阅"


def test_a_second_run_into_a_busy_folder_stops(tmp_path, cli):
    report = _report(tmp_path, "a", ".xlsx")
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".nianbao.lock").write_text(f"{os.uname().nodename} {holder.pid}", encoding="utf-8")
        run = cli("check", report, "--out", out)
        assert run.returncode == 2 and "正被另一次检查使用" in run.stderr and not (out / "汇总.xlsx").exists()
    finally:
        holder.kill()
        holder.wait()
    run = cli("check", report, "--out", out)  # the holder is gone: its lock is stale and taken over
    assert run.returncode == 1 and (out / "汇总.xlsx").exists() and not (out / ".nianbao.lock").exists()


def test_output_folder_problems_are_one_line(tmp_path, cli):
    report = _report(tmp_path, "a", ".xlsx")
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    for out, words in ((a_file, "是一个文件"), (a_file / "sub", "无法写入输出文件夹"), (Path("/proc/nianbao-out"), "无法写入输出文件夹")):
        run = cli("check", report, "--out", out)
        assert run.returncode == 2 and words in run.stderr and "Traceback" not in run.stdout + run.stderr, run.stderr
        assert "Errno" not in run.stderr  # no English system text


def test_import_refuses_outputs_that_would_lose_data(tmp_path, cli):
    html = _report(tmp_path, "r", ".html")
    before = html.read_bytes()
    for output, words in ((html, ".xlsx 结尾"), (tmp_path, "是一个文件夹"), (tmp_path / "r.docx", ".xlsx 结尾")):
        run = cli("import", html, "-o", output)
        assert run.returncode == 2 and words in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert html.read_bytes() == before


def test_excel_setup_on_a_damaged_workbook_is_one_line(tmp_path, cli):
    broken = tmp_path / "broken.xlsm"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    run = cli("excel-setup", broken, "--interpreter", "/usr/bin/python3")
    assert run.returncode == 2 and "已损坏" in run.stdout + run.stderr and "Traceback" not in run.stdout + run.stderr


def test_a_broken_rule_file_is_one_line_in_every_command(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "common.yaml").write_text("rules:\n  - id: B999\n    check: t3.new.natural ==\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "nianbao", "rules", "list"], capture_output=True, text=True, timeout=120,
                         env=os.environ | {"NIANBAO_FORMATS": str(tmp_path)})
    assert run.returncode == 3 and "规则或格式文件有误" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_a_run_missing_its_previous_folder_says_so(tmp_path, cli):
    report = _report(tmp_path, "a", ".xlsx")
    run = cli("check", report, "--previous-dir", tmp_path / "nonexist")
    assert run.returncode == 2 and "--previous-dir" in run.stderr


def test_outputs_follow_the_umask(tmp_path, cli):
    report = _report(tmp_path, "a", ".xlsx")
    run = cli("check", report, "--out", tmp_path / "out")
    assert run.returncode == 1
    mode = (tmp_path / "out" / "a.检查.xlsx").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_template_office_text_is_never_a_formula(tmp_path, cli):
    office = '=HYPERLINK("http://example.invalid","x")'
    run = cli("template", "--format", "2021", "--office", office, "-o", tmp_path / "t.xlsx")
    assert run.returncode == 0
    from nianbao.layout import form_layout

    cell = form_layout(SPEC).inputs["meta.office"]
    written = load_workbook(tmp_path / "t.xlsx")[cell.sheet][cell.address]
    assert written.value == office and written.data_type == "s"
