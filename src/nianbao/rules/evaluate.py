"""Evaluating a compiled rule's comparisons over one report's values and last year's."""

from __future__ import annotations

from decimal import Decimal

from nianbao.rules.compile import Instance
from nianbao.rules.expr import Ref, Unknown, evaluate, evaluate_linear, holds


def lookup_in(current: dict, previous: dict):
    def lookup(ref: Ref):
        value = (previous if ref.prev else current).get(ref.key)
        if value is None:
            raise Unknown
        return value

    return lookup


def verdict(instance: Instance, condition, current: dict, previous: dict) -> tuple[bool, dict]:
    """Whether every comparison of ``condition`` holds, and the sides of the first that fails."""
    for part in condition.parts:
        fast = instance.linear.get(id(part))
        if fast:
            try:
                left, right = evaluate_linear(fast[0], current, previous), evaluate_linear(fast[1], current, previous)
            except Unknown:  # rows printed as one: their printed total may still tell
                if id(part) not in instance.grouped:
                    raise
                grouped = instance.grouped[id(part)]
                left, right = evaluate_linear(grouped[0], current, previous), evaluate_linear(grouped[1], current, previous)
        else:
            lookup = lookup_in(current, previous)
            left, right = evaluate(part.left, lookup), evaluate(part.right, lookup)
        if not holds(part.op, left, right, instance.rule.options.get("tolerance", 0)):
            params = {"left": left, "right": right}
            if isinstance(left, (int, Decimal)) and isinstance(right, (int, Decimal)):
                params["diff"] = Decimal(left) - Decimal(right)
            return False, params
    return True, {}


def guards_hold(instance: Instance, current: dict, previous: dict) -> bool:
    """Whether every ``when`` of the instance holds (raises Unknown when one cannot be worked out)."""
    return all(verdict(instance, w, current, previous)[0] for w in instance.when)


def left_sides(instance: Instance, current: dict) -> list:
    """The left side of each comparison of ``value == 0 and ...`` (how the text kinds declare the
    sums they compare with), or None where a cell it reads has no value."""
    sides = []
    for part in instance.condition.parts:
        try:
            sides.append(evaluate_linear(instance.linear[id(part)][0], current, {}))
        except (Unknown, KeyError):
            sides.append(None)
    return sides
