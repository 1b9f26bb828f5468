"""The ``peer`` rules: a report's share of something (不予公开 among its decisions) far above the
median of the other reports checked with it. They need a batch; a report checked alone has no peers."""

from __future__ import annotations

import statistics
from decimal import Decimal

from nianbao.findings import Hit, percent
from nianbao.rules.expr import Unknown, evaluate_linear
from nianbao.rules.kinds.base import BatchReport


def peer_outliers(reports: list[BatchReport | None]) -> dict[int, list[Hit]]:
    """For each report (by index) whose share stands out from the batch, a hit per peer rule (None: an unreadable report)."""
    found: dict[int, list[Hit]] = {}
    rules_of = [r.rules if r else None for r in reports]
    data = [r.values.data if r else {} for r in reports]
    rule_ids = dict.fromkeys(r.id for rs in rules_of if rs is not None for r in rs.of_kind("peer"))
    for rule_id in rule_ids:
        shares: list[tuple[int, Decimal, Decimal]] = []  # (report, value, share)
        for i, (rules, values) in enumerate(zip(rules_of, data, strict=True)):
            if rules is None or rule_id not in rules.instances:
                continue
            (instance,) = rules.instances[rule_id]
            part = instance.condition.parts[0]
            try:
                value, whole = (Decimal(evaluate_linear(side, values, {})) for side in instance.linear[id(part)])
            except (Unknown, KeyError):
                continue
            if whole > 0:
                shares.append((i, value, value / whole))
        rule = next(rs.get(rule_id) for rs in rules_of if rs is not None and rule_id in rs.instances)
        if len(shares) < rule.min_peers:
            continue
        median = statistics.median(share for _, _, share in shares)
        for i, value, share in shares:
            if value >= rule.min_count and share > Decimal(str(rule.factor)) * median:
                (instance,) = rules_of[i].instances[rule_id]
                times = f"{float(share / median):.1f}" if median else "远高于"
                found.setdefault(i, []).append(Hit(rule_id, instance.show, {"left": value, "share": percent(share), "median": percent(median),
                                                                             "peers": len(shares), "times": times}))
    return found
