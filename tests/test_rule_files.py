"""Rule files are data: a malformed one gets a clear error naming the file and the rule."""

from __future__ import annotations

import pytest

from nianbao.rules import catalogue, compile
from nianbao.rules.catalogue import RuleError, compile_rule
from nianbao.spec import load_spec

GOOD = """
rules:
  - id: B999
    title: 测试
    severity: 错误
    check: t3.new.total == t3.r7.total
    message: "左 {left} 右 {right} 差 {diff}"
    citation: 测试
    cases: {pass: [{}], fail: [{values: {t3.new.total: 1}}]}
"""


@pytest.fixture
def rule_file(tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv("NIANBAO_FORMATS", str(tmp_path))
    catalogue.load_rule_file.cache_clear()
    yield lambda text: (tmp_path / "rules" / "custom.yaml").write_text(text, encoding="utf-8") and "custom.yaml"
    catalogue.load_rule_file.cache_clear()


def load(rule_file, text):
    return catalogue.load_rule_file(rule_file(text))


def test_a_good_file_loads_and_compiles(rule_file):
    (rule,) = load(rule_file, GOOD)
    (instance,) = compile_rule(rule, load_spec("2021"))
    assert instance.show == ("t3.new.total", "t3.r7.total")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("severity: 错误", "severity: error"), "severity 应为"),
        (("    citation: 测试\n", ""), "缺少字段 “citation”"),
        (("cases: {pass: [{}], fail: [{values: {t3.new.total: 1}}]}", "cases: {pass: [{}]}"), "fail 用例"),
        (("{diff}", "{nonsense}"), "{nonsense} 无法填充"),
        (("check: t3.new.total == t3.r7.total", "check: t3.new.total = t3.r7.total"), "比较符“=”应写作“==”"),
        (("    title: 测试\n", "    title: 测试\n    unknown_field: 1\n"), "未知字段 unknown_field"),
    ],
)
def test_malformed_rule_names_file_and_rule(rule_file, change, says):
    with pytest.raises(RuleError) as info:
        load(rule_file, GOOD.replace(*change))
    assert "custom.yaml" in str(info.value) and "B999" in str(info.value)
    assert says in str(info.value)


def test_unknown_cell_is_reported_against_the_format(rule_file):
    (rule,) = load(rule_file, GOOD.replace("t3.r7.total", "t3.r9.total"))
    with pytest.raises(RuleError, match=r"custom.yaml：规则 B999：单元格 “t3.r9.total” 不在格式 gov-2021 中"):
        compile_rule(rule, load_spec("2021"))


def test_prefill_only_on_a_cell_equal_to_last_years_cell(rule_file):
    (rule,) = load(rule_file, GOOD.replace("    citation: 测试\n", "    citation: 测试\n    prefill: true\n"))
    with pytest.raises(RuleError, match=r"custom.yaml：规则 B999：prefill 规则的 check 应为"):
        compile_rule(rule, load_spec("2021"))
    catalogue.load_rule_file.cache_clear()
    (rule,) = load(rule_file, GOOD.replace("    citation: 测试\n", "    citation: 测试\n    prefill: true\n")
                   .replace("t3.new.total == t3.r7.total", "t3.carry_in.total == prev.t3.carry_out.total"))
    (instance,) = compile_rule(rule, load_spec("2021"))
    assert compile.prefill_pair(instance.condition) == ("t3.carry_in.total", "t3.carry_out.total")


@pytest.mark.parametrize("check", ["__import__('os').system('x') == 0", "t3.new.total == open('/etc/passwd')"])
def test_expressions_cannot_run_code(rule_file, check):
    with pytest.raises(RuleError, match="custom.yaml：规则 B999：表达式 .* 有误：无法识别的字符"):
        load(rule_file, GOOD.replace("t3.new.total == t3.r7.total", check.replace("'", "''").join("''")))


def test_yaml_tags_that_build_objects_are_refused(rule_file):
    with pytest.raises(RuleError, match="custom.yaml：不是有效的 YAML"):
        load(rule_file, "rules:\n  - !!python/object/apply:os.system ['echo hi']\n")


@pytest.mark.parametrize(
    ("check", "says"),
    [
        (" + ".join(["t3.new.total"] * 20_000) + " == 0", "表达式过长"),
        ("(" * 5_000 + "t3.new.total" + ")" * 5_000 + " == 0", "表达式过长"),
        ("(" * 100 + "t3.new.total" + ")" * 100 + " == 0", "括号嵌套超过"),
    ],
    ids=["20000-terms", "5000-parentheses", "100-parentheses"],
)
def test_huge_expressions_are_refused_not_recursed(rule_file, check, says):
    with pytest.raises(RuleError) as info:
        load(rule_file, GOOD.replace("t3.new.total == t3.r7.total", check))
    assert "custom.yaml" in str(info.value) and "B999" in str(info.value) and says in str(info.value)
