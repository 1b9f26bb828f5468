"""Expressions of a rule compiled against a form spec: ``for_each`` expanded, ranges resolved, every
cell key checked, and the linear forms the evaluator uses worked out once. Shared by the kinds whose
rules are expressions over cells (relation, narrative, mention, peer)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.rules.expr import Condition, ExprError, Linear, Ref, linearize, parse_condition, refs, single_refs
from nianbao.spec import FormSpec

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


class RuleError(ValueError):
    """A rule file is malformed. The message names the file and the rule."""


def fail(file: str, rule_id: str, text: str) -> RuleError:
    return RuleError(f"{Path(file).name}：规则 {rule_id}：{text}")


@dataclass(frozen=True)
class Instance:
    """One expansion of a rule: the bindings of its variables and the parsed expressions."""

    rule: object  # the Rule
    bindings: dict
    condition: Condition
    when: tuple[Condition, ...]
    show: tuple[str, ...]  # keys of the cells a finding is shown on, main cell first
    labels: dict = field(default_factory=dict)  # "{var.label}" values for the message
    linear: dict = field(default_factory=dict)  # id(Compare) -> (left, right) Linear forms, where numeric
    # id(Compare) -> (left, right) with the rows of a printed total (spec printed_totals) replaced by
    # it: the form evaluated when those rows are unread but their printed total is known.
    grouped: dict = field(default_factory=dict)


def substitute(text: str, bindings: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: bindings.get(m.group(1), m.group(0)), text)


def check_syntax(rule, texts: list[str]) -> str | None:
    """Whether expressions parse (cell keys are checked against each format on compile)."""
    dummy = {name: "x" for name, _ in rule.for_each} if "for_each" in rule.options else {}
    for text in texts:
        try:
            parse_condition(substitute(str(text), dummy), lambda key: [])
        except ExprError as exc:
            return f"表达式 “{text}” 有误：{exc}"
    return None


def _domain(spec: FormSpec, value, rule) -> list[tuple[str, str]]:
    """The (key, label) pairs a for_each variable ranges over."""
    if isinstance(value, str):
        table_key, _, what = value.partition(".")
        try:
            table = spec.table(table_key)
        except KeyError:
            raise fail(rule.file, rule.id, f"for_each 中的表格 “{table_key}” 不在格式 {spec.id} 中") from None
        if what == "columns":
            return [(c.key, c.label) for c in table.columns]
        if what == "rows":
            return [(r.key, r.label or r.key) for r in table.rows]
        raise fail(rule.file, rule.id, f"for_each 的取值 “{value}” 应为 表.rows 或 表.columns 或列表")
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


def _shown(condition: Condition, cells: tuple[str, ...], bindings: dict) -> tuple[str, ...]:
    show = tuple(substitute(c, bindings) for c in cells) or tuple(
        dict.fromkeys(r.key for r in single_refs(condition.parts[0]) if not r.prev)
    )
    return show or tuple(r.key for r in refs(condition) if not r.prev)[:1]  # a rule over sums only: its first cell


def _forms(condition: Condition, when: tuple[Condition, ...], spec: FormSpec) -> tuple[dict, dict]:
    numeric = lambda key: spec.cells[key].numeric  # noqa: E731
    linear, grouped = {}, {}
    for part in [*condition.parts, *(p for w in when for p in w.parts)]:
        sides = linearize(part.left, numeric), linearize(part.right, numeric)
        if None not in sides:
            linear[id(part)] = sides
            alternative = tuple(_with_printed_totals(side, spec) for side in sides)
            if alternative != sides:
                grouped[id(part)] = alternative
    return linear, grouped


def compile_expressions(rule, spec: FormSpec, check: str, when: tuple[str, ...] = (), for_each: tuple = (),
                        cells: tuple[str, ...] = ()) -> list[Instance]:
    """Expand ``check`` and ``when`` over the for_each domains and parse them against ``spec``."""
    names = [name for name, _ in for_each]
    domains = [_domain(spec, value, rule) for _, value in for_each]
    expand = _range_expander(spec)
    instances = []
    for combo in itertools.product(*domains) if domains else [()]:
        bindings = {name: key for name, (key, _) in zip(names, combo)}
        labels = {f"{name}.label": label for name, (_, label) in zip(names, combo)} | bindings
        try:
            condition = parse_condition(substitute(check, bindings), expand)
            guards = tuple(parse_condition(substitute(w, bindings), expand) for w in when)
        except (ExprError, KeyError) as exc:
            raise fail(rule.file, rule.id, f"表达式有误（{spec.id}）：{exc}") from None
        for ref in refs(condition) + [r for w in guards for r in refs(w)]:
            if ref.key not in spec.cells:
                raise fail(rule.file, rule.id, f"单元格 “{ref.key}” 不在格式 {spec.id} 中")
        linear, grouped = _forms(condition, guards, spec)
        instances.append(Instance(rule, bindings, condition, guards, _shown(condition, cells, bindings), labels, linear, grouped))
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


def prefill_pair(condition: Condition) -> tuple[str, str] | None:
    """(this year's cell, last year's cell) of a condition ``cell == prev.cell``, else None."""
    if len(condition.parts) != 1:
        return None
    part = condition.parts[0]
    if part.op == "==" and isinstance(part.left, Ref) and isinstance(part.right, Ref) and not part.left.prev and part.right.prev:
        return part.left.key, part.right.key
    return None


def refs_of(instance: Instance) -> list[Ref]:
    return refs(instance.condition) + [r for w in instance.when for r in refs(w)]
