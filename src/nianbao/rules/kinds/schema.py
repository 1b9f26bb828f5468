"""``schema``: a named value check (integer, non-negative, ...) that the Pandera schema applies
(nianbao/schema.py), once for all the reports of a chunk."""

from __future__ import annotations

from nianbao.rules.kinds.base import Field, Kind, register
from nianbao.rules.kinds.cell import TYPES_FIELD

# A schema rule's check, by name, given the rule's ``param``: a vectorised test over a column.
CHECKS = {
    "integer": lambda param: lambda s: (s - s.round()).abs() < 1e-9,
    "non_negative": lambda param: lambda s: s >= 0,
    "max_decimals": lambda param: lambda s: (s * 10 ** int(param) - (s * 10 ** int(param)).round()).abs() < 1e-6,
    "year_range": lambda param: lambda s: (s >= param[0]) & (s <= param[1]),
}


@register
class Schema(Kind):
    name = "schema"
    title = "取值范围（Pandera 模式）"
    fields = {
        "schema": Field((str,), required=True, doc=f"检查：{', '.join(CHECKS)}"),
        "param": Field((int, float, list), doc="检查的参数（max_decimals：位数；year_range：[最小, 最大]）"),
        "types": TYPES_FIELD,
    }
    placeholders = frozenset({"label", "actual"})

    def validate(self, rule):
        return None if rule.schema in CHECKS else f"schema 应为 {', '.join(CHECKS)} 之一"

    def report(self, rules, chosen, reports):
        from nianbao.schema import validate  # Pandera is loaded only when a report is checked

        return validate(rules, reports) if chosen else [[] for _ in reports]

    def expression(self, rule):
        return f"schema: {rule.schema}" + (f"({rule.param})" if rule.param is not None else "") + f"; types: {', '.join(rule.types)}"

    def live(self, rule, rules):
        from nianbao.rules.live import live_schema  # the template layer's formulas, loaded only when a template is built

        return live_schema(rule, rules)
