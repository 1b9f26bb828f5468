"""Loading rule files (``rules/*.yaml``) and compiling their rules against a form spec.

A rule file is data. Every rule has the common fields (``COMMON``); its ``kind`` (default
``relation``) declares the rest, with their types (rules/kinds/). The loader checks a rule against
those declarations and its kind's own validation, so any mistake in a file raises one RuleError
naming the file, the rule and the field. ``json_schema()`` gives the same declarations as a JSON
Schema for rule authors' editors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import yaml

from nianbao.findings import SEVERITIES
from nianbao.resources import rule_file, rule_folders
from nianbao.rules.compile import Instance, RuleError, fail, prefill_pair
from nianbao.rules.kinds import REGISTRY, Field, Kind, Stage, kind_of
from nianbao.spec import FormSpec

CASE_FIELDS = {"values", "previous", "expect", "relabel", "note", "report", "edit", "template", "twin", "peers"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")
COMMON = {
    "id": Field((str,), required=True, doc="一个大写字母加三位数字，如 B301"),
    "title": Field((str,), required=True),
    "severity": Field((str,), required=True, doc="错误 或 提示"),
    "kind": Field((str,), default="relation"),
    "message": Field((str,), required=True, doc="可用 {占位符} 显示两边的数值和差额"),
    "citation": Field((str,), required=True),
    "description": Field((str,), default=""),
    "cases": Field((dict,), required=True, doc="pass 和 fail 用例"),
}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: each is loaded once
class Rule:
    """A loaded rule: the common fields, and its kind's fields (``options``, read as attributes)."""

    id: str
    title: str
    severity: str
    kind: str
    message: str
    citation: str
    description: str
    file: str
    cases: dict
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The kind's fields read as attributes (rule.check, rule.tolerance), as plain ones: rules are read in hot loops.
        for name, value in self.options.items():
            object.__setattr__(self, name, value)

    @property
    def stage(self) -> Stage:
        return kind_of(self).stage(self)


class _NoAliases(yaml.SafeLoader):
    """A rule file is read without YAML aliases: an alias bomb cannot make it expand."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML 别名（*）不允许在规则文件中使用", event.start_mark)
        return super().compose_node(parent, index)


def _check_fields(data: dict, kind: Kind, file: str, rule_id: str) -> None:
    declared = COMMON | kind.fields
    unknown = sorted(set(data) - set(declared))
    if unknown:
        raise fail(file, rule_id, f"未知字段 {', '.join(unknown)}（{kind.name} 规则可用：{', '.join(declared)}）")
    for name, spec in declared.items():
        if name not in data or data[name] is None or data[name] == "":
            if spec.required:
                raise fail(file, rule_id, f"缺少字段 “{name}”")
            continue
        if not spec.accepts(data[name]):
            wanted = " 或 ".join(_TYPE_NAMES[t] for t in spec.types)
            raise fail(file, rule_id, f"字段 “{name}” 应为{wanted}")


_TYPE_NAMES = {str: "文字", int: "整数", float: "数", bool: "true/false", list: "列表", dict: "映射（key: value）"}


def _check_common(data: dict, kind: Kind, file: str, rule_id: str) -> None:
    if not re.fullmatch(r"[A-Z]\d{3}", rule_id):
        raise fail(file, rule_id, "规则编号应为一个大写字母加三位数字，如 B301")
    if data["severity"] not in SEVERITIES:
        raise fail(file, rule_id, f"severity 应为 {' 或 '.join(SEVERITIES)}")
    variables = data.get("for_each") if isinstance(data.get("for_each"), dict) else {}
    allowed = kind.placeholders | {f"{v}.label" for v in variables} | set(variables)
    for name in _PLACEHOLDER.findall(data["message"]):
        if name not in allowed:
            raise fail(file, rule_id, f"message 中的 {{{name}}} 无法填充（可用：{', '.join(sorted(allowed))}）")
    cases = data["cases"]
    if not cases.get("pass") or not cases.get("fail"):
        raise fail(file, rule_id, "cases 需要至少一个 pass 用例和一个 fail 用例")
    for outcome in ("pass", "fail"):
        for case in cases[outcome]:
            if not isinstance(case, dict) or set(case) - CASE_FIELDS:
                raise fail(file, rule_id, f"{outcome} 用例只能包含 {'、'.join(sorted(CASE_FIELDS))}")


def parse_rule(data: object, file: str, index: int) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"{Path(file).name}：第 {index + 1} 条规则不是映射（key: value）")
    rule_id = str(data.get("id") or f"第{index + 1}条")
    name = data.get("kind", "relation")
    if name not in REGISTRY:
        raise fail(file, rule_id, f"kind 应为 {', '.join(REGISTRY)} 之一")
    kind = REGISTRY[name]
    _check_fields(data, kind, file, rule_id)
    _check_common(data, kind, file, rule_id)
    options = {k: spec.normalise(data[k]) if data.get(k) is not None else spec.default for k, spec in kind.fields.items()}
    rule = Rule(id=rule_id, title=str(data["title"]), severity=data["severity"], kind=name, message=str(data["message"]),
                citation=str(data["citation"]), description=str(data.get("description", "")).strip(), file=Path(file).name,
                cases=data["cases"], options=options)
    problem = kind.validate(rule)
    if problem:
        raise fail(file, rule_id, problem)
    return rule


def read_rule_file(path: Path) -> tuple[Rule, ...]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoAliases)  # noqa: S506 - a SafeLoader without aliases
    except FileNotFoundError:
        raise RuleError(f"找不到规则文件 {path.name}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"{path.name}：不是有效的 YAML：{exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path.name}：顶层应为 “rules:” 列表")
    return tuple(parse_rule(item, path.name, i) for i, item in enumerate(data["rules"]))


@cache
def load_rule_file(name: str) -> tuple[Rule, ...]:
    return read_rule_file(rule_file(name))


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per spec
class RuleSet:
    spec: FormSpec
    rules: tuple[Rule, ...]
    instances: dict[str, tuple[Instance, ...]]

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def of_kind(self, kind: str) -> list[Rule]:
        return self._kinds.get(kind, [])

    def at(self, stage: Stage, kind: str) -> list[Rule]:
        """The rules of ``kind`` that run in ``stage``."""
        return self._stages.get((stage, kind), [])

    @cached_property
    def _stages(self) -> dict[tuple[Stage, str], list[Rule]]:
        stages: dict[tuple[Stage, str], list[Rule]] = {}
        for rule in self.rules:
            stages.setdefault((rule.stage, rule.kind), []).append(rule)
        return stages

    @cached_property
    def _kinds(self) -> dict[str, list[Rule]]:
        kinds: dict[str, list[Rule]] = {}
        for rule in self.rules:
            kinds.setdefault(rule.kind, []).append(rule)
        return kinds

    def _read_at(self, *stages: Stage) -> frozenset[str]:
        keys = {"meta.office", "meta.year"}
        for rule in self.rules:
            if rule.stage in stages:
                keys |= kind_of(rule).reads(rule, self)
        return frozenset(keys)

    @cached_property
    def kept_in_batch(self) -> frozenset[str]:
        """The cells a batch keeps of a report: what its PAIR and BATCH rules read."""
        return self._read_at(Stage.PAIR, Stage.BATCH)

    @cached_property
    def compared_in_batch(self) -> frozenset[str]:
        """The cells the BATCH stage compares across every report at once (the rest wait on disk: spill.py)."""
        return self._read_at(Stage.BATCH)


def compile_rule(rule: Rule, spec: FormSpec) -> tuple[Instance, ...]:
    """A rule expanded and checked against a format (its kind decides how)."""
    return tuple(kind_of(rule).compile(rule, spec))


@cache
def ruleset(spec: FormSpec) -> RuleSet:
    """All rules that apply to a format, compiled against its spec."""
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for name in spec.rule_files:
        for rule in load_rule_file(name):
            if rule.id in seen:
                raise RuleError(f"{name}：规则 {rule.id}：编号与 {seen[rule.id]} 中的规则重复")
            seen[rule.id] = name
            rules.append(rule)
    instances = {r.id: compile_rule(r, spec) for r in rules}
    return RuleSet(spec, tuple(rules), {k: v for k, v in instances.items() if v})


def all_rule_files() -> list[str]:
    return sorted({p.name for folder in rule_folders() for p in folder.glob("*.yaml")})


def all_rules() -> list[Rule]:
    """Every rule of every file, each once, in ID order."""
    return sorted((r for name in all_rule_files() for r in load_rule_file(name)), key=lambda r: r.id)


def prefills(rules: RuleSet) -> list[tuple[str, str]]:
    """The cells a distributed template fills from last year's report: (cell, last year's cell)."""
    return [prefill_pair(i.condition) for rule in rules.of_kind("relation") if rule.prefill for i in rules.instances[rule.id]]


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def _property(spec: Field) -> dict:
    types = [_JSON_TYPES[t] for t in spec.types if t in _JSON_TYPES]
    prop: dict = {"type": types[0] if len(types) == 1 else types} if types else {}
    return prop | ({"description": spec.doc} if spec.doc else {})


def json_schema() -> dict:
    """A JSON Schema of a rule file, from the kinds' declared fields: editors complete and underline rule files with it."""
    variants = []
    for name, kind in REGISTRY.items():
        declared = COMMON | kind.fields
        properties = {k: _property(s) for k, s in declared.items()}
        properties["kind"] = {"const": name} | ({"default": name} if name == "relation" else {})
        required = [k for k, s in declared.items() if s.required] + ([] if name == "relation" else ["kind"])
        variants.append({"title": f"{name}：{kind.title}", "type": "object", "properties": properties,
                         "required": required, "additionalProperties": False})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "nianbao 规则文件", "type": "object",
            "properties": {"rules": {"type": "array", "items": {"oneOf": variants}}}, "required": ["rules"]}


__all__ = ["CASE_FIELDS", "COMMON", "Instance", "Rule", "RuleError", "RuleSet", "all_rule_files", "all_rules", "compile_rule", "json_schema",
           "load_rule_file", "prefills", "read_rule_file", "ruleset"]
