"""Rule documentation, generated from the rule files: ``rules explain`` and docs/rules.md."""

from __future__ import annotations

from nianbao.resources import rule_file
from nianbao.rulecases import Case, case_values, run_case_files
from nianbao.rules.catalogue import Rule, all_rules
from nianbao.rules.kinds import kind_of
from nianbao.spec import all_specs

_FAMILY = {"S": "模板结构", "C": "单元格内容", "V": "取值范围", "B": "表内关系", "Y": "跨年度", "F": "格式与年度",
           "I": "导入已发布的报告", "N": "正文与表格", "P": "合理性（提示）"}


def _formats(rule: Rule) -> list:
    return [s for s in all_specs() if rule.file in s.rule_files]


def example(rule: Rule) -> str | None:
    """The message of the rule's first fail case, as the checker really produces it."""
    import tempfile
    from pathlib import Path

    spec = _formats(rule)[0]
    case = Case(rule, spec, "fail", 0, rule.cases["fail"][0])
    with tempfile.TemporaryDirectory() as tmp:
        result = run_case_files(case, Path(tmp))
    hits = [f for f in result.findings if f.rule == rule.id]
    if not hits:
        return None
    f = hits[0]
    given = "，".join(f"{k} = {v!r}" for k, v in case_values(case, "values").items())
    prev = case_values(case, "previous") if "previous" in case.data else None
    given += ("；上一年度：" + ("，".join(f"{k} = {v!r}" for k, v in prev.items()) or "全部为 0")) if prev is not None else ""
    return f"（{spec.short} 格式，其余为 0{'：' + given if given else ''}）\n[{f.severity}] {f.rule} {f.sheet}!{f.cell}：{f.message}"


def explain(rule_id: str) -> str | None:
    rules = [r for r in all_rules() if r.id == rule_id]
    if not rules:
        return None
    parts = []
    for rule in rules:
        formats = "、".join(f"{s.short}（{s.notice}）" for s in _formats(rule))
        parts.append("\n".join([
            f"{rule.id} {rule.title}",
            f"严重程度：{rule.severity}    类别：{_FAMILY[rule.id[0]]}（{kind_of(rule).title}）    适用格式：{formats}",
            "",
            rule.description,
            "",
            "规则：",
            kind_of(rule).expression(rule),
            "",
            f"依据：{rule.citation}",
            "",
            "示例：",
            example(rule) or "（无）",
            f"规则文件：{rule_file_path(rule.file)}",
        ]))
    return "\n\n".join(parts)


def rule_file_path(name: str) -> str:
    """Where a rule file is on this machine: in the checkout, or inside the installed package."""
    return str(rule_file(name))


def rules_markdown() -> str:
    lines = [
        "# 规则目录 / Rule catalogue",
        "",
        "本文件由 `nianbao rules docs -o docs/rules.md` 根据 `rules/*.yaml` 生成，请勿手工修改。",
        "Generated from `rules/*.yaml` by `nianbao rules docs -o docs/rules.md`; do not edit by hand.",
        "",
        "严重程度：**错误** 必须修改；**提示** 修改或说明。",
        "",
        "| 编号 | 严重程度 | 名称 | 规则文件 |",
        "|---|---|---|---|",
    ]
    rules = all_rules()
    lines += [f"| [{r.id}](#{r.id.lower()}-{r.file.removesuffix('.yaml')}) | {r.severity} | {r.title} | {r.file} |" for r in rules]
    for rule in rules:
        formats = "、".join(f"{s.short}（{s.notice}）" for s in _formats(rule))
        lines += [
            "",
            f'<a id="{rule.id.lower()}-{rule.file.removesuffix(".yaml")}"></a>',
            f"## {rule.id} {rule.title}",
            "",
            f"- 严重程度：{rule.severity}",
            f"- 类别：{_FAMILY[rule.id[0]]}（{kind_of(rule).title}）",
            f"- 适用格式：{formats}",
            f"- 依据：{rule.citation}",
            f"- 规则文件：`rules/{rule.file}`",
            "",
            rule.description,
            "",
            "```",
            kind_of(rule).expression(rule),
            "```",
            "",
            "示例：",
            "",
            "```",
            example(rule) or "（无）",
            "```",
        ]
    return "\n".join(lines) + "\n"
