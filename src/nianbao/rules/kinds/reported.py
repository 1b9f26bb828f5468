"""``reported``: a problem the reader, the importer or another rule reports (a modified template, a
table missing from a published report, several numbers in one sentence); the rule gives its ID,
severity and message, and the reporter the hit."""

from __future__ import annotations

from nianbao.rules.kinds.base import Kind, register


@register
class Reported(Kind):
    name = "reported"
    title = "读取或导入时报告"
    placeholders = frozenset({"detail", "quote", "found", "expected", "text"})

    def one(self, rules, chosen, values):
        return list(values.hits)

    def expression(self, rule):
        return "由读取或导入程序报告"
