"""Rule kinds are declared once: the loader, the stages, the batch's extracts and the JSON Schema all
follow the declarations, and a mistake in a rule file is one line naming file, rule and field."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from nianbao.resources import rule_folders
from nianbao.rules import catalogue
from nianbao.rules.catalogue import RuleError, json_schema, ruleset
from nianbao.rules.kinds import REGISTRY, Stage
from nianbao.spec import all_specs, load_spec

RULE = """
rules:
  - id: B999
    title: 测试
    severity: 错误
    check: t3.new.total == t3.r7.total
    message: "左 {left} 右 {right}"
    citation: 测试
    cases: {pass: [{}], fail: [{values: {t3.new.total: 1}}]}
"""


@pytest.fixture
def custom(tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv("NIANBAO_FORMATS", str(tmp_path))
    catalogue.load_rule_file.cache_clear()

    def load(text: str):
        (tmp_path / "rules" / "custom.yaml").write_text(text, encoding="utf-8")
        catalogue.load_rule_file.cache_clear()
        return catalogue.load_rule_file("custom.yaml")

    yield load
    catalogue.load_rule_file.cache_clear()


@pytest.mark.parametrize(("edit", "says"), [
    (("    citation: 测试\n", "    citation: 测试\n    colour: red\n"), "custom.yaml：规则 B999：未知字段 colour"),
    (("    citation: 测试\n", "    citation: 测试\n    tolerance: [1]\n"), "custom.yaml：规则 B999：字段 “tolerance” 应为整数 或 数"),
    (("    check: t3.new.total == t3.r7.total\n", ""), "custom.yaml：规则 B999：缺少字段 “check”"),
    (("    severity: 错误\n", "    severity: 错误\n    kind: mention\n"), "custom.yaml：规则 B999：未知字段 check"),
    (("    severity: 错误\n", "    severity: 错误\n    kind: nonsense\n"), "custom.yaml：规则 B999：kind 应为"),
    (("    check: t3.new.total == t3.r7.total\n", "    kind: tally\n    text: [text.s1]\n    terms: {a: {label: 甲, patterns: ['甲{n}件']}}\n"
      "    need: [a]\n    check: a == t3.r7.total\n"), "custom.yaml：规则 B999：check 和 need 只能用 terms 中的名称"),
])
def test_a_malformed_rule_is_one_line_naming_file_rule_and_field(custom, edit, says):
    with pytest.raises(RuleError) as info:
        custom(RULE.replace(*edit))
    assert str(info.value).startswith(says) and "\n" not in str(info.value)


def test_yaml_aliases_are_refused_so_a_rule_file_cannot_expand(custom):
    bomb = "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nrules: [*b]\n"
    with pytest.raises(RuleError, match="custom.yaml：不是有效的 YAML.*别名"):
        custom(bomb)


def test_every_rule_file_validates_against_the_json_schema_and_a_bad_one_does_not():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for folder in rule_folders():
        for path in folder.glob("*.yaml"):
            jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    bad = yaml.safe_load(RULE.replace("    citation: 测试\n", "    citation: 测试\n    colour: red\n"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_rules_schema_command_prints_the_schema(cli):
    run = cli("rules", "schema")
    assert run.returncode == 0 and json.loads(run.stdout) == json_schema()


def test_every_rule_has_a_registered_kind_and_a_stage():
    for spec in all_specs():
        for rule in ruleset(spec).rules:
            assert rule.kind in REGISTRY and rule.stage in Stage


def test_stages_follow_what_a_rule_reads():
    rules = ruleset(load_spec("2021"))
    assert rules.get("B301").stage is Stage.REPORT
    assert rules.get("Y301").stage is Stage.PAIR  # reads prev.
    assert rules.get("Y003").stage is Stage.BATCH and rules.get("P104").stage is Stage.BATCH
    assert {r.stage for r in rules.of_kind("repeated")} == {Stage.PAIR, Stage.BATCH}


def test_a_batch_keeps_exactly_the_cells_its_pair_and_batch_rules_read():
    rules = ruleset(load_spec("2021"))
    kept = rules.kept_in_batch
    assert {"t3.carry_in.natural", "t3.r7.total", "meta.office", "meta.year"} <= kept  # Y301, P104, Y003
    assert "meta.published" not in kept and "t2.permit.decisions" not in kept  # only REPORT rules read them
