"""``duplicate``: two or more reports of one office and year in a batch. Each is checked as usual and
names the others (at most ``SHOWN`` of them, then how many more: a batch of identical files stays linear)."""

from __future__ import annotations

from nianbao.findings import Hit
from nianbao.rules.kinds.base import Kind, Stage, register

SHOWN = 10


def _others(names: list[str], me: int) -> str:
    """The first SHOWN of the group but ``me``, and their number: each file's finding costs
    SHOWN names whatever the group's size (20,000 copies of one workbook stay linear)."""
    others = [name for n, name in enumerate(names[: SHOWN + 1]) if n != me][:SHOWN]
    shown = "、".join(others)
    return shown if len(names) - 1 <= SHOWN else f"{shown} 等 {len(names) - 1} 份"


@register
class Duplicate(Kind):
    name = "duplicate"
    title = "同一批中的重复报告"
    placeholders = frozenset({"detail"})

    def stage(self, rule):
        return Stage.BATCH

    def reads(self, rule, rules):
        return {"meta.office", "meta.year"}

    def batch(self, reports):
        from nianbao.roster import office_key

        groups: dict[tuple[str, int], list[int]] = {}
        for i, report in enumerate(reports):
            office, year = (report.values.data.get(k) for k in ("meta.office", "meta.year")) if report else (None, None)
            if isinstance(office, str) and office and isinstance(year, int) and report.rules.at(Stage.BATCH, self.name):
                groups.setdefault((office_key(office), year), []).append(i)
        found: dict[int, list[Hit]] = {}
        for group in (g for g in groups.values() if len(g) > 1):
            names = [reports[i].name for i in group]
            for n, i in enumerate(group):
                found[i] = [Hit(rule.id, ("meta.office",), {"detail": _others(names, n)}) for rule in reports[i].rules.at(Stage.BATCH, self.name)]
        return found

    def expression(self, rule):
        return "同一批文件中机关名称（规范化后）和报告年度都相同"
