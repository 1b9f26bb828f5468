"""``cell``: fires where the reader found a given issue in a cell (blank, "/", "15件", ...).

The issue ``unfilled`` is a template checked before anything was entered (but what distribution
prefilled): one finding instead of one per blank cell, and then no blank cell gets its own."""

from __future__ import annotations

from functools import cache

from nianbao.findings import Hit
from nianbao.rules.kinds.base import Field, Kind, as_tuple, register
from nianbao.spec import CELL_TYPES
from nianbao.values import NORMALISED, UNREAD

ISSUES = UNREAD | NORMALISED | {"unfilled"}
TYPES_FIELD = Field((list,), default=(), convert=tuple, doc=f"单元格类型：{', '.join(CELL_TYPES)}")


def applies(rule, cell) -> bool:
    return (not rule.types or cell.type in rule.types) and (not rule.required_only or cell.required)


@cache
def _covered(rules, rule) -> tuple[str, ...]:
    """The cells an ``unfilled`` rule covers: those of its types, but what distribution prefills."""
    from nianbao.rules.catalogue import prefills

    given = {key for key, _ in prefills(rules)}  # a distributed template comes with these filled
    return tuple(k for k, c in rules.spec.cells.items() if applies(rule, c) and k not in given)


def _unfilled(rules, rule, values) -> tuple[str, ...]:
    """The cells an ``unfilled`` rule covers when every one of them is blank, else none."""
    keys = _covered(rules, rule)
    # In a published report a cell the importer could not find was as blank as the rest.
    empty = {"blank", "missing", "absent"} if values.imported else {"blank"}
    return keys if keys and all(getattr(values.issues.get(k), "issue", None) in empty for k in keys) else ()


@register
class Cell(Kind):
    name = "cell"
    title = "单元格内容"
    fields = {
        "issue": Field((str, list), required=True, convert=as_tuple, doc=f"读取时发现的情况：{', '.join(sorted(ISSUES))}"),
        "types": TYPES_FIELD,
        "required_only": Field((bool,), default=False, doc="只检查必填的单元格"),
    }
    placeholders = frozenset({"label", "raw", "detail"})

    def validate(self, rule):
        if not all(i in ISSUES for i in rule.issue):
            return f"issue 应为 {', '.join(sorted(ISSUES))} 之一"
        if any(t not in CELL_TYPES for t in rule.types):
            return f"types 只能包含 {', '.join(CELL_TYPES)}"
        return None

    def one(self, rules, chosen, values):
        unfilled = {rule.id: keys for rule in chosen if "unfilled" in rule.issue if (keys := _unfilled(rules, rule, values))}
        # A published report with no table found is not an unfilled template: the importer says what it could not read.
        hits = [] if values.imported else [Hit(i, (keys[0],), {"detail": f"{len(keys)} 个数字单元格全部为空"}) for i, keys in unfilled.items()]
        by_issue: dict[str, list] = {}
        for rule in chosen:
            for issue in rule.issue:
                by_issue.setdefault(issue, []).append(rule)
        if unfilled:  # nothing entered yet: no blank is a finding of its own
            by_issue.pop("blank", None)
        for key, cell in values.issues.items():
            spec_cell = rules.spec.cells[key]
            raw = "" if cell.raw is None else str(cell.raw)
            hits += [Hit(rule.id, (key,), {"raw": raw, "detail": cell.detail})
                     for rule in by_issue.get(cell.issue, ()) if applies(rule, spec_cell)]
        return hits

    def expression(self, rule):
        return f"issue: {', '.join(rule.issue)}" + (f"; types: {', '.join(rule.types)}" if rule.types else "")

    def live(self, rule, rules):
        from nianbao.rules.live import live_cell  # the template layer's formulas, loaded only when a template is built

        return live_cell(rule, rules)
