"""``relation``: an expression over cells (``check``), expanded with ``for_each``, guarded by
``when``. A rule that reads last year's report (``prev.`` in check or when) runs in the PAIR stage."""

from __future__ import annotations

from decimal import Decimal

from nianbao.findings import Hit
from nianbao.rules.compile import check_syntax, compile_expressions, fail, prefill_pair
from nianbao.rules.evaluate import guards_hold, verdict
from nianbao.rules.expr import Unknown
from nianbao.rules.kinds.base import Field, Kind, Stage, as_tuple, register

EXPRESSION_FIELDS = {
    "check": Field((str,), required=True, doc="比较表达式，如 t3.r7.{c} == sum(t3.r1:r6_3.{c})"),
    "when": Field((str, list), default=(), convert=as_tuple, doc="条件：全部成立时才检查"),
    "for_each": Field((dict,), default=(), convert=lambda d: tuple(d.items()), doc="变量 -> 表.rows / 表.columns / 列表"),
    "cells": Field((list,), default=(), convert=tuple, doc="发现标在哪些单元格（默认：左边的单元格）"),
}


def cross_year(rule) -> bool:
    return "prev." in " ".join((rule.check, *rule.when))


def run(rules, chosen, current: dict, earlier: dict) -> list[Hit]:
    """Every instance of ``chosen``; an instance with a missing operand is not assessed."""
    hits = []
    for rule in chosen:
        for instance in rules.instances[rule.id]:
            try:
                if not guards_hold(instance, current, earlier):
                    continue
                ok, params = verdict(instance, instance.condition, current, earlier)
            except Unknown:
                continue
            if not ok:
                hits.append(Hit(rule.id, instance.show, params | instance.labels))
    return hits


@register
class Relation(Kind):
    name = "relation"
    title = "单元格关系"
    fields = EXPRESSION_FIELDS | {
        "tolerance": Field((int, float), default=Decimal(0), convert=lambda v: Decimal(str(v)), doc="允许的差额"),
        "prefill": Field((bool,), default=False, doc="下发时按上一年度报告预填（check 应为 单元格 == prev.单元格）"),
    }
    placeholders = frozenset({"left", "right", "diff"})

    def validate(self, rule):
        return check_syntax(rule, [rule.check, *rule.when])

    def stage(self, rule):
        return Stage.PAIR if cross_year(rule) else Stage.REPORT

    def compile(self, rule, spec):
        instances = compile_expressions(rule, spec, rule.check, rule.when, rule.for_each, rule.cells)
        if rule.prefill and any(prefill_pair(i.condition) is None for i in instances):
            raise fail(rule.file, rule.id, "prefill 规则的 check 应为 “单元格 == prev.单元格”")
        return tuple(instances)

    def one(self, rules, chosen, values):
        return run(rules, chosen, values.data, {})

    def pair(self, rules, chosen, values, previous):
        return run(rules, chosen, values.data, previous.data)

    def expression(self, rule):
        lines = [f"check: {rule.check}"]
        lines += [f"when: {w}" for w in rule.when]
        lines += [f"for_each {name}: {value}" for name, value in rule.for_each]
        if rule.tolerance:
            lines.append(f"tolerance: {rule.tolerance}")
        return "\n".join(lines)

    def live(self, rule, rules):
        from nianbao.rules.live import live_relation  # the template layer's formulas, loaded only when a template is built

        return live_relation(rule, rules)
