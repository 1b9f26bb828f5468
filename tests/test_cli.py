"""The command as a new user meets it: versions, usage errors in Chinese, output that survives a pipe."""

from __future__ import annotations

import nianbao
from nianbao.samples import fill
from nianbao.spec import load_spec

SPEC = load_spec("2021")


def test_version(cli):
    run = cli("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"nianbao {nianbao.__version__}"


def test_usage_errors_are_in_chinese_with_the_original(cli):
    missing = cli("template", "-o", "x.xlsx")
    assert missing.returncode == 2 and "缺少选项 --format" in missing.stderr and "Missing option" in missing.stderr
    invalid = cli("check", "x.xlsx", "--copies", "some")
    assert invalid.returncode == 2 and "--copies 的值无效" in invalid.stderr
    assert "Traceback" not in missing.stderr + invalid.stderr


def test_fail_on_accepts_chinese_severities(tmp_path, cli):
    # Only a 提示: C008 (a count written as "15件" is read as 15 and flagged).
    report = fill(SPEC, tmp_path / "w.xlsx", {"t3.new.natural": "1件", "t3.new.total": 1, "t3.r1.natural": 1, "t3.r1.total": 1,
                                             "t3.r7.natural": 1, "t3.r7.total": 1}, year=2025)
    result = nianbao.check(report)
    assert result.status == "warnings", [(f.rule, f.message) for f in result.findings]
    assert cli("check", report, "--copies", "none", "--fail-on", "错误").returncode == 0
    assert cli("check", report, "--copies", "none", "--fail-on", "提示").returncode == 1
    run = cli("check", report, "--copies", "none")
    assert "有错误的 0 个，有未说明提示的 1 个，提示均已说明的 0 个，通过 0 个" in run.stdout  # the file counts once, as a file with warnings


def test_quiet_still_names_the_files_to_fix(tmp_path, cli):
    bad = fill(SPEC, tmp_path / "bad.xlsx", {"t3.new.natural": None}, year=2025)
    good = fill(SPEC, tmp_path / "good.xlsx", year=2025)
    run = cli("check", bad, good, "--copies", "none", "-q")
    assert str(bad) in run.stdout and str(good) not in run.stdout and "C001" not in run.stdout


def test_cells_piped_are_whole_lines(cli):
    run = cli("cells", "--format", "2021")
    lines = run.stdout.splitlines()
    assert lines[0].split("\t")[0] == "key" and len(lines) == len(SPEC.cells) + 1
    assert {line.split("\t")[0] for line in lines[1:]} == set(SPEC.cells)  # no key cut short


def test_import_summarises_a_missing_table_in_one_line(tmp_path, cli):
    report = tmp_path / "r.txt"
    report.write_text("某县人民政府办公室2025年政府信息公开工作年度报告\n一、总体情况\n本年度共收到申请0件。\n", encoding="utf-8")
    run = cli("import", report, "-o", tmp_path / "r.xlsx")
    assert run.returncode == 0
    assert len([ln for ln in run.stdout.splitlines() if "未找到" in ln and "个单元格" in ln]) <= len(SPEC.tables)


def test_result_repr_is_short(tmp_path):
    result = nianbao.check(fill(SPEC, tmp_path / "a.xlsx", {"t3.new.natural": None}, year=2025))
    assert repr(result) == "<Result a.xlsx errors: 错误 1，提示 0>" or len(repr(result)) < 80
