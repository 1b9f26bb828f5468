"""Run the relation and cell rules of a rule set over one report's values."""

from __future__ import annotations

from decimal import Decimal

from nianbao.findings import Hit
from nianbao.read import Values
from nianbao.rules.catalogue import Instance, RuleSet
from nianbao.rules.expr import Ref, Unknown, evaluate, evaluate_linear, holds


def _lookup(current: dict, previous: dict):
    def lookup(ref: Ref):
        value = (previous if ref.prev else current).get(ref.key)
        if value is None:
            raise Unknown
        return value

    return lookup


def _verdict(instance: Instance, condition, current: dict, previous: dict) -> tuple[bool, dict]:
    """Whether every comparison of ``condition`` holds, and the sides of the first that fails."""
    for part in condition.parts:
        fast = instance.linear.get(id(part))
        if fast:
            left, right = evaluate_linear(fast[0], current, previous), evaluate_linear(fast[1], current, previous)
        else:
            lookup = _lookup(current, previous)
            left, right = evaluate(part.left, lookup), evaluate(part.right, lookup)
        if not holds(part.op, left, right, instance.rule.tolerance):
            params = {"left": left, "right": right}
            if isinstance(left, (int, Decimal)) and isinstance(right, (int, Decimal)):
                params["diff"] = Decimal(left) - Decimal(right)
            return False, params
    return True, {}


def run_relations(rules: RuleSet, values: Values, previous: Values | None = None, *, cross_year: bool | None = None) -> list[Hit]:
    """Evaluate every relation instance; an instance with a missing operand is not assessed.

    Cross-year rules run only when ``previous`` is given; ``cross_year`` selects only those
    rules (True) or only the others (False).
    """
    current, earlier = values.data, previous.data if previous is not None else {}
    hits = []
    for rule in rules.of_kind("relation"):
        if (rule.cross_year and previous is None) or (cross_year is not None and rule.cross_year != cross_year):
            continue
        for instance in rules.instances[rule.id]:
            try:
                if not all(_verdict(instance, w, current, earlier)[0] for w in instance.when):
                    continue
                ok, params = _verdict(instance, instance.condition, current, earlier)
            except Unknown:
                continue
            if not ok:
                hits.append(Hit(rule.id, instance.show, params | instance.labels))
    return hits


def run_cell_rules(rules: RuleSet, values: Values) -> list[Hit]:
    """Findings on what the reader saw in each cell: blanks, placeholders, text, normalised values."""
    by_issue: dict[str, list] = {}
    for rule in rules.of_kind("cell"):
        for issue in rule.issues:
            by_issue.setdefault(issue, []).append(rule)
    hits = []
    for key, cell in values.issues.items():
        spec_cell = rules.spec.cells[key]
        for rule in by_issue.get(cell.issue, ()):
            if rule.types and spec_cell.type not in rule.types:
                continue
            if rule.required_only and not spec_cell.required:
                continue
            raw = "" if cell.raw is None else str(cell.raw)
            hits.append(Hit(rule.id, (key,), {"raw": raw, "detail": cell.detail}))
    return hits
