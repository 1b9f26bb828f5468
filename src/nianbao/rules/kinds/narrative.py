"""``narrative``: numbers stated in a text section, found with declared ``patterns``, must equal a
table value (``value``: the readings a sentence may have, any of which is consistent). Several
different numbers in the text are reported as N300."""

from __future__ import annotations

from nianbao.findings import Hit, format_number
from nianbao.rules.compile import compile_expressions
from nianbao.rules.evaluate import left_sides
from nianbao.rules.kinds.base import Field, Kind, as_tuple, register
from nianbao.rules.text import TEXT_FIELD, check_sections, pattern, plain_sections

SEVERAL = "N300"  # the reported rule for several different numbers in one report's text


def _hit(rule, rules, instance, readings: list, found: list) -> Hit | None:
    numbers = sorted({n for n, _, _ in found})
    distinct = list(dict.fromkeys(readings))
    expected = distinct[0] if len(distinct) == 1 else " 或 ".join(map(format_number, distinct))
    params = {"quote": "；".join(dict.fromkeys(q for _, q, _ in found)), "found": "、".join(map(str, numbers)),
              "expected": expected, "text": rules.spec.cells[found[0][2]].label}
    if len(numbers) > 1 and not set(numbers) <= set(readings):
        return Hit(SEVERAL, (found[0][2], *instance.show), params)
    if len(numbers) == 1 and numbers[0] not in readings:
        return Hit(rule.id, (found[0][2], *instance.show), params)
    return None


@register
class Narrative(Kind):
    name = "narrative"
    title = "正文中的数字"
    fields = {
        "text": TEXT_FIELD,
        "patterns": Field((list,), required=True, convert=tuple, doc="句式，每个含 {n}（数字）；… 为同一句中的几个字"),
        "value": Field((str, list), required=True, convert=as_tuple, doc="表格中的数值（可列出几种读法）"),
        "min_chars": Field((int,), default=0),
    }
    placeholders = frozenset({"quote", "found", "expected", "text"})

    def validate(self, rule):
        if not all("{n}" in p for p in rule.patterns):
            return "narrative 规则需要 patterns（每个含 {n}）和 value"
        return check_sections(rule.text)

    def compile(self, rule, spec):
        return tuple(compile_expressions(rule, spec, " and ".join(f"{v} == 0" for v in rule.value)))

    def one(self, rules, chosen, values):
        plain = plain_sections(values)
        hits = []
        for rule in chosen:
            (instance,) = rules.instances[rule.id]
            readings = [v for v in left_sides(instance, values.data) if v is not None]
            found = [(int(m.group(1)), m.group(0), key) for key in rule.text if key in plain
                     for p in rule.patterns for m in pattern(p).finditer(plain[key])]
            if readings and found and (hit := _hit(rule, rules, instance, readings, found)):
                hits.append(hit)
        return hits

    def expression(self, rule):
        return "\n".join([f"text: {', '.join(rule.text)}", *(f"pattern: {p}" for p in rule.patterns), f"value: {rule.value}"])
