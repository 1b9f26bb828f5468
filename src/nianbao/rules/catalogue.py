"""Loading rule files (``rules/*.yaml``) and compiling their rules against a form spec.

A rule file is data. Four kinds of rule exist:

- ``relation``: an expression over cells (``check``), expanded with ``for_each``, guarded by ``when``;
- ``cell``: fires where the reader found a given issue in a cell (blank, "/", "15件", ...);
- ``schema``: a named value check (integer, non-negative, ...) that the Pandera schema applies;
- ``reported``: a problem the reader or the importer reports (a modified template, a table
  missing from a published report); the rule gives its ID, severity and message;
- ``narrative``: numbers stated in a text section, found with declared ``patterns``, must equal a
  (a list of ``value``s: the readings a sentence may have, any of which is consistent)
  table value (``value``); several different numbers in the text are reported as N300;
- ``mention``: under a ``when`` condition, a text section must mention one of ``words``;
- ``repeated``: text sections (``text``) repeated from last year's report or nearly identical to
  another report's in a batch (``scope``), by the share of shingles (``threshold``); or tables
  (``tables``) identical to last year's in every cell (rules/similarity.py);
- ``peer``: a share (``value`` / ``per``) far above the median of the other reports of a batch
  (``factor``, ``min_count``, ``min_peers``; rules/peers.py).

Any mistake in a file raises RuleError naming the file and the rule.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path

import yaml

from nianbao.findings import SEVERITIES
from nianbao.resources import rules_dir
from nianbao.rules.expr import Condition, ExprError, Linear, Ref, linearize, parse_condition, refs, single_refs
from nianbao.spec import CELL_TYPES, FormSpec
from nianbao.values import NORMALISED, UNREAD

KINDS = ("relation", "cell", "schema", "reported", "narrative", "mention", "repeated", "peer")
SCOPES = ("previous", "batch")
SCHEMA_CHECKS = ("integer", "non_negative", "max_decimals", "year_range")
CASE_FIELDS = {"values", "previous", "expect", "relabel", "note", "report", "edit", "template", "twin", "peers"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")
_ALLOWED = {
    "relation": {"left", "right", "diff"},
    "cell": {"label", "raw", "detail"},
    "schema": {"label", "actual"},
    "reported": {"detail", "quote", "found", "expected", "text"},
    "narrative": {"quote", "found", "expected", "text"},
    "mention": {"left", "text"},
    "repeated": {"text", "share", "quote", "detail"},
    "peer": {"left", "share", "median", "peers", "times"},
}
_FIELDS = {"id", "title", "severity", "kind", "message", "citation", "description", "cases",
           "check", "when", "for_each", "tolerance", "live", "cells", "issue", "types", "required_only",
           "schema", "param", "text", "patterns", "value", "words", "min_chars", "prefill",
           "scope", "threshold", "tables", "per", "factor", "min_count", "min_peers"}


class RuleError(ValueError):
    """A rule file is malformed. The message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    kind: str
    message: str
    citation: str
    description: str
    file: str
    cases: dict
    check: str | None = None
    when: tuple[str, ...] = ()
    for_each: tuple[tuple[str, object], ...] = ()
    tolerance: Decimal = Decimal(0)
    live: bool = False
    cells: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    required_only: bool = False
    schema: str | None = None
    param: object = None
    text: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    value: tuple[str, ...] = ()  # narrative: the table values a stated number may mean
    words: tuple[str, ...] = ()
    min_chars: int = 0  # mention: text shorter than this says nothing, whatever its words; repeated: not compared
    cross_year: bool = False  # reads the previous year's report ("prev." in check or when)
    prefill: bool = False  # a cell == prev.cell rule: distribute fills the cell from last year's report
    scope: str = ""  # a repeated rule: against last year's report ("previous") or the other reports of a batch ("batch")
    threshold: float = 0.0  # a repeated rule: the share of shingles from which a section counts as repeated
    tables: tuple[str, ...] = ()  # a repeated rule: tables compared cell by cell with last year's
    per: str = ""  # a peer rule: what ``value`` is a share of
    factor: float = 0.0  # a peer rule: how many times the batch median a share must be to stand out
    min_count: int = 0  # a peer rule: a value below this never stands out
    min_peers: int = 0  # a peer rule: a batch with fewer reports has no median to speak of


@dataclass(frozen=True)
class Instance:
    """One expansion of a relation rule: the bindings of its variables and the parsed expressions."""

    rule: Rule
    bindings: dict
    condition: Condition
    when: tuple[Condition, ...]
    show: tuple[str, ...]  # keys of the cells a finding is shown on, main cell first
    labels: dict = field(default_factory=dict)  # "{var.label}" values for the message
    linear: dict = field(default_factory=dict)  # id(Compare) -> (left, right) Linear forms, where numeric
    # id(Compare) -> (left, right) with the rows of a printed total (spec printed_totals) replaced by
    # it: the form evaluated when those rows are unread but their printed total is known.
    grouped: dict = field(default_factory=dict)


def _fail(path: Path, rule_id: str, text: str) -> RuleError:
    return RuleError(f"{path.name}：规则 {rule_id}：{text}")


def _parse_rule(data: dict, path: Path, index: int) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"{path.name}：第 {index + 1} 条规则不是映射（key: value）")
    rule_id = str(data.get("id") or f"第{index + 1}条")
    unknown = set(data) - _FIELDS
    if unknown:
        raise _fail(path, rule_id, f"未知字段 {', '.join(sorted(unknown))}")
    for name in ("id", "title", "severity", "message", "citation", "cases"):
        if not data.get(name):
            raise _fail(path, rule_id, f"缺少字段 “{name}”")
    if not re.fullmatch(r"[A-Z]\d{3}", rule_id):
        raise _fail(path, rule_id, "规则编号应为一个大写字母加三位数字，如 B301")
    if data["severity"] not in SEVERITIES:
        raise _fail(path, rule_id, f"severity 应为 {' 或 '.join(SEVERITIES)}")
    kind = data.get("kind", "relation")
    if kind not in KINDS:
        raise _fail(path, rule_id, f"kind 应为 {', '.join(KINDS)} 之一")
    allowed = _ALLOWED[kind] | {f"{v}.label" for v in (data.get("for_each") or {})} | set(data.get("for_each") or {})
    for name in _PLACEHOLDER.findall(data["message"]):
        if name not in allowed:
            raise _fail(path, rule_id, f"message 中的 {{{name}}} 无法填充（可用：{', '.join(sorted(allowed))}）")
    cases = data["cases"]
    if not isinstance(cases, dict) or not cases.get("pass") or not cases.get("fail"):
        raise _fail(path, rule_id, "cases 需要至少一个 pass 用例和一个 fail 用例")
    for outcome in ("pass", "fail"):
        for case in cases[outcome]:
            if not isinstance(case, dict) or set(case) - CASE_FIELDS:
                raise _fail(path, rule_id, f"{outcome} 用例只能包含 {'、'.join(sorted(CASE_FIELDS))}")
    if kind == "relation":
        if not data.get("check"):
            raise _fail(path, rule_id, "relation 规则需要 check 表达式")
        # Syntax is checked here, on load; cell keys are checked against each format on compile.
        dummy = {name: "x" for name in data.get("for_each") or {}}
        for text in [data["check"], *([data["when"]] if isinstance(data.get("when"), str) else data.get("when") or [])]:
            try:
                parse_condition(_substitute(str(text), dummy), lambda key: [])
            except ExprError as exc:
                raise _fail(path, rule_id, f"表达式 “{text}” 有误：{exc}") from None
    if kind == "cell":
        issues = data.get("issue")
        issues = tuple(issues) if isinstance(issues, list) else (issues,)
        if not all(i in UNREAD | NORMALISED for i in issues):
            raise _fail(path, rule_id, f"issue 应为 {', '.join(sorted(UNREAD | NORMALISED))} 之一")
    else:
        issues = ()
    if kind == "repeated":
        if data.get("scope") not in SCOPES:
            raise _fail(path, rule_id, f"scope 应为 {' 或 '.join(SCOPES)}")
        if not data.get("text") and not data.get("tables"):
            raise _fail(path, rule_id, "repeated 规则需要 text（文字部分）或 tables（表格）")
        if data.get("tables") and data["scope"] != "previous":
            raise _fail(path, rule_id, "tables 只能与上一年度比较（scope: previous）")
        threshold = data.get("threshold", 0 if data.get("tables") and not data.get("text") else None)
        if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise _fail(path, rule_id, "threshold 应为 0 到 1 之间的数（重复的比例）")
    if kind == "peer":
        if not isinstance(data.get("value"), str) or not isinstance(data.get("per"), str):
            raise _fail(path, rule_id, "peer 规则需要 value 和 per（两个表达式：value / per 为比例）")
        for name in ("factor", "min_count", "min_peers"):
            if not isinstance(data.get(name), (int, float)) or data[name] <= 0:
                raise _fail(path, rule_id, f"peer 规则需要 {name}（正数）")
    if kind in ("narrative", "mention") or (kind == "repeated" and data.get("text")):
        texts = data.get("text") or []
        if not texts or not all(str(t).startswith("text.") for t in texts):
            raise _fail(path, rule_id, "text 应列出要查找的文字部分，如 [text.s1]")
        if kind == "narrative" and (not data.get("patterns") or not all("{n}" in p for p in data["patterns"]) or not data.get("value")):
            raise _fail(path, rule_id, "narrative 规则需要 patterns（每个含 {n}）和 value")
        if kind == "mention" and not data.get("words"):
            raise _fail(path, rule_id, "mention 规则需要 words")
        if not isinstance(data.get("min_chars", 0), int) or data.get("min_chars", 0) < 0:
            raise _fail(path, rule_id, "min_chars 应为不小于 0 的整数")
    if kind == "schema" and data.get("schema") not in SCHEMA_CHECKS:
        raise _fail(path, rule_id, f"schema 应为 {', '.join(SCHEMA_CHECKS)} 之一")
    types = tuple(data.get("types") or ())
    if any(t not in CELL_TYPES for t in types):
        raise _fail(path, rule_id, f"types 只能包含 {', '.join(CELL_TYPES)}")
    when = data.get("when") or ()
    return Rule(
        id=rule_id,
        title=str(data["title"]),
        severity=data["severity"],
        kind=kind,
        message=str(data["message"]),
        citation=str(data["citation"]),
        description=str(data.get("description", "")).strip(),
        file=path.name,
        cases=cases,
        check=data.get("check"),
        when=(when,) if isinstance(when, str) else tuple(when),
        for_each=tuple((data.get("for_each") or {}).items()),
        tolerance=Decimal(str(data.get("tolerance", 0))),
        live=bool(data.get("live", False)),
        cells=tuple(data.get("cells") or ()),
        issues=issues,
        types=types,
        required_only=bool(data.get("required_only", False)),
        schema=data.get("schema"),
        param=data.get("param"),
        text=tuple(data.get("text") or ()),
        patterns=tuple(data.get("patterns") or ()),
        value=(data["value"],) if isinstance(data.get("value"), str) else tuple(data.get("value") or ()),
        words=tuple(data.get("words") or ()),
        min_chars=int(data.get("min_chars", 0)),
        cross_year="prev." in " ".join((str(data.get("check") or ""), *((when,) if isinstance(when, str) else when))),
        prefill=bool(data.get("prefill", False)),
        scope=str(data.get("scope", "")),
        threshold=float(data.get("threshold", 0)),
        tables=tuple(data.get("tables") or ()),
        per=str(data.get("per", "")),
        factor=float(data.get("factor", 0)),
        min_count=int(data.get("min_count", 0)),
        min_peers=int(data.get("min_peers", 0)),
    )


@cache
def load_rule_file(name: str) -> tuple[Rule, ...]:
    path = rules_dir() / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleError(f"找不到规则文件 {name}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"{name}：不是有效的 YAML：{exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{name}：顶层应为 “rules:” 列表")
    return tuple(_parse_rule(item, path, i) for i, item in enumerate(data["rules"]))


def _domain(spec: FormSpec, value, path: str, rule: Rule) -> list[tuple[str, str]]:
    """The (key, label) pairs a for_each variable ranges over."""
    if isinstance(value, str):
        table_key, _, what = value.partition(".")
        try:
            table = spec.table(table_key)
        except KeyError:
            raise _fail(Path(path), rule.id, f"for_each 中的表格 “{table_key}” 不在格式 {spec.id} 中") from None
        if what == "columns":
            return [(c.key, c.label) for c in table.columns]
        if what == "rows":
            return [(r.key, r.label or r.key) for r in table.rows]
        raise _fail(Path(path), rule.id, f"for_each 的取值 “{value}” 应为 表.rows 或 表.columns 或列表")
    items = []
    for item in value:
        if isinstance(item, dict):
            items.append((str(item["key"]), str(item.get("label", item["key"]))))
        else:
            items.append((str(item), str(item)))
    return items


def _range_expander(spec: FormSpec):
    def expand(key: str) -> list[str]:
        parts = key.split(".")
        if len(parts) != 3:
            raise ExprError(f"范围 “{key}” 应为 表.行.列 形式")
        table = spec.table(parts[0])
        rows = [r.key for r in table.rows]
        cols = [c.key for c in table.columns]

        def span(part: str, order: list[str]) -> list[str]:
            if ":" not in part:
                return [part]
            first, last = part.split(":")
            if first not in order or last not in order:
                raise ExprError(f"范围 “{part}” 的端点不在表 {table.key} 中")
            return order[order.index(first): order.index(last) + 1]

        return [
            f"{table.key}.{r}.{c}"
            for r in span(parts[1], rows)
            for c in span(parts[2], cols)
            if f"{table.key}.{r}.{c}" in spec.cells
        ]

    return expand


def _substitute(text: str, bindings: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: bindings.get(m.group(1), m.group(0)), text)


def compile_rule(rule: Rule, spec: FormSpec) -> list[Instance]:
    """Expand a relation rule over its for_each domains and parse every expression."""
    path = rule.file
    names = [name for name, _ in rule.for_each]
    domains = [_domain(spec, value, path, rule) for _, value in rule.for_each]
    expand = _range_expander(spec)
    instances = []
    for combo in itertools.product(*domains) if domains else [()]:
        bindings = {name: key for name, (key, _) in zip(names, combo)}
        labels = {f"{name}.label": label for name, (_, label) in zip(names, combo)} | bindings
        try:
            # A narrative rule's table value and a mention rule's guard are read as conditions too.
            check = rule.check or {"narrative": " and ".join(f"{v} == 0" for v in rule.value),
                                   "peer": f"{rule.value[0] if rule.value else 0} == {rule.per or 0}"}.get(rule.kind, "0 == 0")
            condition = parse_condition(_substitute(check, bindings), expand)
            when = tuple(parse_condition(_substitute(w, bindings), expand) for w in rule.when)
        except (ExprError, KeyError) as exc:
            raise _fail(Path(path), rule.id, f"表达式有误（{spec.id}）：{exc}") from None
        for ref in refs(condition) + [r for w in when for r in refs(w)]:
            if ref.key not in spec.cells:
                raise _fail(Path(path), rule.id, f"单元格 “{ref.key}” 不在格式 {spec.id} 中")
        show = tuple(_substitute(c, bindings) for c in rule.cells) or tuple(
            dict.fromkeys(r.key for r in single_refs(condition.parts[0]) if not r.prev)
        )
        if not show:  # a rule over sums only is shown on the first cell it reads
            show = tuple(r.key for r in refs(condition) if not r.prev)[:1]
        if rule.prefill and prefill_pair(condition) is None:
            raise _fail(Path(path), rule.id, "prefill 规则的 check 应为 “单元格 == prev.单元格”")
        numeric = lambda key: spec.cells[key].numeric  # noqa: E731
        linear, grouped = {}, {}
        for part in [*condition.parts, *(p for w in when for p in w.parts)]:
            sides = linearize(part.left, numeric), linearize(part.right, numeric)
            if None not in sides:
                linear[id(part)] = sides
                alternative = tuple(_with_printed_totals(side, spec) for side in sides)
                if alternative != sides:
                    grouped[id(part)] = alternative
        instances.append(Instance(rule, bindings, condition, when, show, labels, linear, grouped))
    return instances


def _with_printed_totals(form: Linear, spec: FormSpec) -> Linear:
    """``form`` with every complete set of a printed total's rows (same column, same sign, this
    year's) replaced by the total's own key."""
    terms = list(form.terms)
    for table in spec.tables:
        for total in table.printed_totals:
            for column in table.columns:
                members = {f"{table.key}.{row}.{column.key}" for row in total.rows}
                signs = {coef for key, prev, coef in terms if key in members and not prev}
                if len(signs) == 1 and members <= {key for key, prev, _ in terms if not prev}:
                    terms = [t for t in terms if t[1] or t[0] not in members]
                    terms.append((f"{table.key}.{total.key}.{column.key}", False, signs.pop()))
    return Linear(tuple(terms), form.const)


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

    @cached_property
    def _kinds(self) -> dict[str, list[Rule]]:
        kinds: dict[str, list[Rule]] = {}
        for rule in self.rules:
            kinds.setdefault(rule.kind, []).append(rule)
        return kinds


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
    instances = {r.id: tuple(compile_rule(r, spec)) for r in rules if r.kind in ("relation", "narrative", "mention", "peer")}
    for rule in rules:
        for key in (*rule.tables, *(rule.text if rule.kind == "repeated" else ())):
            if key not in {t.key for t in spec.tables} and key not in spec.cells:
                raise _fail(Path(rule.file), rule.id, f"“{key}” 不在格式 {spec.id} 中")
    return RuleSet(spec, tuple(rules), instances)


def all_rule_files() -> list[str]:
    return sorted(p.name for p in rules_dir().glob("*.yaml"))


def all_rules() -> list[Rule]:
    """Every rule of every file, each once, in ID order."""
    return sorted((r for name in all_rule_files() for r in load_rule_file(name)), key=lambda r: r.id)


def prefill_pair(condition: Condition) -> tuple[str, str] | None:
    """(this year's cell, last year's cell) of a condition ``cell == prev.cell``, else None."""
    if len(condition.parts) != 1:
        return None
    part = condition.parts[0]
    if part.op == "==" and isinstance(part.left, Ref) and isinstance(part.right, Ref) and not part.left.prev and part.right.prev:
        return part.left.key, part.right.key
    return None


def prefills(rules: RuleSet) -> list[tuple[str, str]]:
    """The cells a distributed template fills from last year's report: (cell, last year's cell)."""
    return [prefill_pair(i.condition) for rule in rules.rules if rule.prefill for i in rules.instances[rule.id]]


def refs_of(instance: Instance) -> list[Ref]:
    return refs(instance.condition) + [r for w in instance.when for r in refs(w)]
