"""The bundled examples and the generated rule docs stay true to their sources."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
import yaml

import nianbao
from nianbao.docs import rules_markdown
from nianbao.read import read_workbook
from nianbao.samples import base_values
from nianbao.spec import load_spec

from .conftest import EXAMPLE_SOURCES, EXAMPLES, ROOT, run_cli

VALUE_FILES = sorted((EXAMPLE_SOURCES / "values").glob("*.yaml"))


@pytest.mark.parametrize("values_file", VALUE_FILES, ids=[p.stem for p in VALUE_FILES])
def test_example_workbook_holds_its_values_file(values_file):
    doc = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    spec = load_spec(str(doc["format"]))
    expected = base_values(spec, doc["values"]["meta.year"]) | doc["values"]
    got = read_workbook(EXAMPLES / f"{values_file.stem}.xlsx")
    for key, value in expected.items():
        value = value.date() if isinstance(value, dt.datetime) else value
        assert got.value(key) == value, key


def test_seed_report_has_no_error():
    result = nianbao.check(EXAMPLES / "jianxi-2019.xlsx")
    assert result.format == "gov-2019" and result.findings == []


def test_consecutive_years_show_the_cross_year_mismatch():
    result = nianbao.check(EXAMPLES / "shixian-2022.xlsx", previous=EXAMPLES / "shixian-2021.xlsx")
    assert [(f.rule, f.key) for f in result.findings] == [("Y301", "t3.carry_in.natural"), ("Y301", "t3.carry_in.total")]
    assert nianbao.check(EXAMPLES / "shixian-2022.xlsx").findings == []


def test_the_readmes_first_command_does_what_the_readme_says(tmp_path):
    """`nianbao check examples/ --out out/`: three reports, two Y301 错误 in shixian-2022, exit code 1, nothing 无法检查."""
    run = run_cli("check", EXAMPLES, "--out", tmp_path / "out", "--json")
    assert run.returncode == 1, run.stderr
    files = {Path(r["path"]).name: r for r in json.loads(run.stdout)["files"]}
    assert sorted(files) == ["jianxi-2019.xlsx", "shixian-2021.xlsx", "shixian-2022.xlsx"], sorted(files)
    assert [f["rule"] for f in files["shixian-2022.xlsx"]["findings"]] == ["Y301", "Y301"]
    assert (tmp_path / "out" / "shixian-2022.检查.xlsx").is_file() and (tmp_path / "out" / "汇总.xlsx").is_file()


@pytest.mark.slow
def test_docs_rules_md_is_generated_from_the_rule_files():
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_markdown(), (
        f"docs/rules.md is stale: run `{sys.executable} -m nianbao rules docs -o docs/rules.md`"
    )


def test_docs_rule_file_schema_is_generated_from_the_rule_kinds():
    """Editors validate rule files against docs/rule-file.schema.json; a kind's new field must be in it."""
    from nianbao.rules.catalogue import json_schema

    committed = json.loads((ROOT / "docs" / "rule-file.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        f"docs/rule-file.schema.json is stale: run `{sys.executable} -m nianbao rules schema -o docs/rule-file.schema.json`"
    )


@pytest.mark.slow
def test_rules_explain(cli):
    run = cli("rules", "explain", "b301")
    assert run.returncode == 0
    for text in ("B301 表三各列勾稽关系", "严重程度：错误", "第一项加第二项之和", "check: t3.new.{c} + t3.carry_in.{c}", "[错误] B301 表三!D6"):
        assert text in run.stdout
    missing = cli("rules", "explain", "Z999")
    assert missing.returncode == 2 and "没有编号为 Z999 的规则" in missing.stderr


def test_rules_list_by_format(cli):
    run = cli("rules", "list", "--format", "2019")
    assert run.returncode == 0 and "F001" in run.stdout and "F002" not in run.stdout
