"""``deadline``: a date cell against a deadline that depends on the kind of office (条例第四十九条:
departments by 1月31日, 县级以上人民政府 by 3月31日). The kind comes from the roster's 类型 when a
batch run has a roster and the 类型 is one the rule lists, else from the office's name (the rule's
``names`` patterns), else the last entry applies. A local deadline from the roster (公布期限) wins
when it is earlier."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

from nianbao.findings import Hit
from nianbao.rules.compile import compile_expressions
from nianbao.rules.kinds.base import Field, Kind, register

_ENTRY = {"kind": str, "month": int, "day": int, "says": str}  # each entry's required fields; roster and names are lists


def _entries(value) -> tuple[dict, ...]:
    return tuple({"roster": (), "names": (), **e} if isinstance(e, dict) else e for e in value)


def _problem(entry) -> str | None:
    if not isinstance(entry, dict) or any(not isinstance(entry.get(k), t) for k, t in _ENTRY.items()):
        return "deadlines 的每一项应有 kind、month、day、says"
    if not all(isinstance(entry[k], (list, tuple)) and all(isinstance(x, str) for x in entry[k]) for k in ("roster", "names")):
        return f"deadlines 中“{entry['kind']}”的 roster 和 names 应为文字的列表"
    try:
        dt.date(2001, entry["month"], entry["day"])
        for pattern in entry["names"]:
            re.compile(pattern)
    except (ValueError, TypeError, re.error) as exc:
        return f"deadlines 中“{entry['kind']}”的日期或名称规则不对（{exc}）"
    return None


@register
class Deadline(Kind):
    name = "deadline"
    title = "按机关类型的期限"
    fields = {
        "date": Field((str,), default="meta.published", doc="要比较的日期单元格"),
        "year": Field((str,), default="meta.year", doc="报告年度单元格：期限在其次年"),
        "office": Field((str,), default="meta.office", doc="机关名称单元格：按 names 判断类型"),
        "deadlines": Field((list,), required=True, convert=_entries,
                           doc="各类机关的期限：kind、month、day、says（依据），roster（名单“类型”的写法）、names（名称的正则）；最后一项为默认"),
    }
    placeholders = frozenset({"left", "right", "basis"})

    def validate(self, rule):
        if not rule.deadlines:
            return "deadlines 不能为空"
        return next(filter(None, map(_problem, rule.deadlines)), None)

    def compile(self, rule, spec):
        # The default entry as a relation: keys checked against the format, and the template's live formula.
        last = rule.deadlines[-1]
        return tuple(compile_expressions(rule, spec, f"{rule.date} <= date({rule.year} + 1, {last['month']}, {last['day']})", ()))

    def one(self, rules, chosen, values):
        hits = []
        for rule in chosen:
            published, year = values.data.get(rule.date), values.data.get(rule.year)
            if not isinstance(published, dt.date) or not isinstance(year, int):
                continue
            deadline, basis = due(rule, year, values.data.get(rule.office), values.context)
            if published > deadline:
                hits.append(Hit(rule.id, (rule.date,), {"left": published, "right": deadline, "basis": basis}))
        return hits

    def expression(self, rule):
        return "\n".join(f"{e['kind']}：次年 {e['month']} 月 {e['day']} 日前（{e['says']}）" for e in rule.deadlines)

    def live(self, rule, rules):
        from nianbao.rules.live import live_relation  # the template layer's formulas, loaded only when a template is built

        last = rule.deadlines[-1]  # the template does not know the office's kind: the default deadline, the default basis
        shown = rule.message.replace("{basis}", f"按默认：{last['says']}")
        return live_relation(replace(rule, message=shown, options=rule.options | {"tolerance": Decimal(0)}), rules)


def _kind(rule, office: object, context: dict) -> tuple[dict, str]:
    """The entry that applies, and how it was chosen."""
    given = str(context.get("kind") or "")
    for entry in rule.deadlines:
        if given and given in entry["roster"]:
            return entry, f"按名单类型“{given}”"
    if not isinstance(office, str) or not office:
        return rule.deadlines[-1], "未能读取机关名称，按默认"
    entry = next((e for e in rule.deadlines if any(re.search(p, office) for p in e["names"])), rule.deadlines[-1])
    return entry, "按机关名称"


def due(rule, year: int, office: object, context: dict) -> tuple[dt.date, str]:
    """The deadline for a report of ``year`` and the sentence saying why."""
    entry, how = _kind(rule, office, context)
    legal = dt.date(year + 1, entry["month"], entry["day"])
    local = context.get("deadline")
    if isinstance(local, dt.date) and local < legal:
        return local, f"名单中的本地公布期限；法定期限为 {legal}（{how}：{entry['says']}）"
    return legal, f"{how}：{entry['says']}"
