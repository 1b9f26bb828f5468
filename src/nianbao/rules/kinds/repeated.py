"""``repeated``: text sections (``text``) repeated from last year's report (``scope: previous``, the
PAIR stage) or nearly identical to another report's in a batch (``scope: batch``, the BATCH stage),
by the share of shingles (``threshold``); or tables (``tables``) identical to last year's in every
cell. The comparisons are in rules/similarity.py."""

from __future__ import annotations

from nianbao.rules.compile import fail
from nianbao.rules.kinds.base import Field, Kind, Stage, register
from nianbao.rules.text import check_sections

SCOPES = ("previous", "batch")


@register
class Repeated(Kind):
    name = "repeated"
    title = "内容雷同"
    fields = {
        "scope": Field((str,), required=True, doc="previous（与上一年度比较）或 batch（与同一批的其他报告比较）"),
        "text": Field((list,), default=(), convert=tuple, doc="比较的文字部分"),
        "tables": Field((list,), default=(), convert=tuple, doc="与上一年度逐格比较的表格"),
        "threshold": Field((int, float), convert=float, doc="文字重复的比例（0 到 1），从此比例起算雷同"),
        "min_chars": Field((int,), default=0, doc="短于这么多字的文字不比较"),
        "min_count": Field((int,), default=0, doc="表格中最大的数小于此数时不比较（小的表格两年相同很常见）"),
        "common": Field((int, float), default=0.0, convert=float,
                        doc="scope: batch：同一批中至少这一比例（且至少 3 份）的报告都有的段落是这一批共有的，不算雷同"),
    }
    placeholders = frozenset({"text", "share", "quote", "detail", "count"})

    def validate(self, rule):
        if rule.scope not in SCOPES:
            return f"scope 应为 {' 或 '.join(SCOPES)}"
        if not rule.text and not rule.tables:
            return "repeated 规则需要 text（文字部分）或 tables（表格）"
        if rule.tables and rule.scope != "previous":
            return "tables 只能与上一年度比较（scope: previous）"
        if rule.text and (rule.threshold is None or not 0 <= rule.threshold <= 1):
            return "threshold 应为 0 到 1 之间的数（重复的比例）"
        if not 0 <= rule.common <= 1:
            return "common 应为 0 到 1 之间的数（同一批中多少比例的报告都有的段落不算雷同）"
        return check_sections(rule.text) if rule.text else None

    def stage(self, rule):
        return Stage.PAIR if rule.scope == "previous" else Stage.BATCH

    def compile(self, rule, spec):
        for key in (*rule.tables, *rule.text):
            if key not in {t.key for t in spec.tables} and key not in spec.cells:
                raise fail(rule.file, rule.id, f"“{key}” 不在格式 {spec.id} 中")
        return ()

    def reads(self, rule, rules):
        return set(rule.text) | {k for t in rule.tables for k in rules.spec.cells if k.startswith(f"{t}.")}

    def pair(self, rules, chosen, values, previous):
        from nianbao.rules.similarity import run_repeated

        return run_repeated(rules, chosen, values, previous)

    def batch(self, reports):
        from nianbao.rules.similarity import batch_repeats

        return batch_repeats(reports)

    def expression(self, rule):
        compared = [f"text: {', '.join(rule.text)}"] if rule.text else []
        compared += [f"tables: {', '.join(rule.tables)}"] if rule.tables else []
        return "\n".join([f"scope: {rule.scope}", *compared] + ([f"threshold: {rule.threshold}; min_chars: {rule.min_chars}"] if rule.text else []))
