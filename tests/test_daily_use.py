"""The command in daily use (issue 19): help in Chinese and whole, the short options people type,
usage mistakes said as such, and a user's file never replaced without --force."""

from __future__ import annotations

import re

from openpyxl import Workbook

from nianbao.samples import fill
from nianbao.spec import load_spec
from tests.conftest import LIBREOFFICE_PACKAGES, ROOT

SPEC = load_spec("2021")


def test_help_is_in_chinese_whole_and_answers_to_h(cli):
    top = cli("-h")
    assert top.returncode == 0 and top.stdout == cli("--help").stdout
    assert "Show this message" not in top.stdout and "显示本帮助并退出" in top.stdout
    assert "用法" in top.stdout and "命令" in top.stdout
    assert "..." not in top.stdout.split("命令")[1]  # no command's summary cut short
    assert "point the buttons at this PC's Python" in " ".join(top.stdout.split())
    check = cli("check", "-h")
    assert check.returncode == 0 and "[默认：findings]" in check.stdout and "-o, --out" in check.stdout


def test_check_o_is_out(tmp_path, cli):
    report = fill(SPEC, tmp_path / "in" / "a.xlsx", {"t3.new.natural": None}, year=2025)
    run = cli("check", report.parent, "-o", tmp_path / "out")
    assert run.returncode == 1 and (tmp_path / "out" / "汇总.xlsx").exists()


def test_copies_in_an_out_folder_keep_the_check_mark(tmp_path, cli):
    report = fill(SPEC, tmp_path / "in" / "a.xlsx", {"t3.new.natural": None}, year=2025)
    cli("check", report.parent, "--out", tmp_path / "out")
    assert (tmp_path / "out" / "a.检查.xlsx").exists() and not (tmp_path / "out" / "a.xlsx").exists()


def test_year_without_roster_warns(tmp_path, cli):
    report = fill(SPEC, tmp_path / "a.xlsx", year=2025)
    run = cli("check", report, "--year", "2025", "--copies", "none")
    assert run.returncode == 0 and "--year 只在给出 --roster 时使用" in run.stderr


def test_a_missing_previous_file_is_a_usage_error(tmp_path, cli):
    report = fill(SPEC, tmp_path / "a.xlsx", year=2025)
    run = cli("check", report, "--previous", tmp_path / "nothing.xlsx", "--copies", "none")
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0 and "--previous" in run.stderr and "不存在" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_template_never_replaces_a_file_without_force(tmp_path, cli):
    mine = fill(SPEC, tmp_path / "mine.xlsx", year=2025)
    before = mine.read_bytes()
    run = cli("template", "--format", "2021", "-o", mine)
    assert run.returncode == 2 and "已存在" in run.stderr and "--force" in run.stderr and mine.read_bytes() == before
    assert cli("template", "--format", "2021", "-o", mine, "--force").returncode == 0 and mine.read_bytes() != before


def test_import_never_replaces_a_workbook_without_force(tmp_path, cli):
    report = tmp_path / "r.txt"
    report.write_text("某县人民政府办公室2025年政府信息公开工作年度报告\n一、总体情况\n本年度共收到申请0件。\n", encoding="utf-8")
    mine = fill(SPEC, tmp_path / "r.xlsx", year=2025)
    before = mine.read_bytes()
    run = cli("import", report, "-o", mine)
    assert run.returncode == 2 and "已存在" in run.stderr and mine.read_bytes() == before
    assert cli("import", report, "-o", mine, "--force").returncode == 0 and mine.read_bytes() != before


def test_distribute_again_into_the_same_folder_needs_force(tmp_path, cli):
    wb = Workbook()
    wb.active.append(["机关名称"])
    for name in ("某县教育局", "某县民政局"):
        wb.active.append([name])
    wb.save(roster := tmp_path / "名单.xlsx")
    assert cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", tmp_path / "下发").returncode == 0
    sent = sorted((tmp_path / "下发").glob("*.xlsx"))
    stamps = [p.stat().st_mtime_ns for p in sent]
    again = cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", tmp_path / "下发")
    assert again.returncode == 2 and "--force" in again.stderr and "未覆盖" in again.stderr
    assert [p.stat().st_mtime_ns for p in sent] == stamps and sorted((tmp_path / "下发").glob("*.xlsx")) == sent
    assert cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", tmp_path / "下发", "--force").returncode == 0
    assert sorted((tmp_path / "下发").glob("*.xlsx")) == sent  # replaced in place, nothing numbered -2


def test_excel_setup_names_the_platform_of_each_path(tmp_path, cli):
    workbook = tmp_path / "t.xlsm"
    assert cli("template", "--format", "2021", "--macro", "-o", workbook).returncode == 0
    run = cli("excel-setup", workbook, "--interpreter", r"C:\py\pythonw.exe", "--mac-interpreter", "/opt/py/bin/python3", "--no-check")
    assert run.returncode == 0, run.stderr
    assert "Windows 上使用 C:\\py\\pythonw.exe" in run.stdout and "Mac 上使用 /opt/py/bin/python3" in run.stdout


def test_the_libreoffice_skip_names_every_package_ci_installs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installed = set(re.search(r"apt-get install[^\n]*?--no-install-recommends ([^>\n]+)", ci).group(1).split())
    assert set(LIBREOFFICE_PACKAGES.split()) == installed and "fonts-wqy-microhei" in installed
    assert all(p in (ROOT / "README.md").read_text(encoding="utf-8") for p in installed)


def test_readme_says_how_long_the_tests_run():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("安装并运行全部测试")
    assert re.search(r"约 \d+ 分钟", readme[start: start + 1200])
