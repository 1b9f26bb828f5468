"""``percentage``: a share the text states (“公开率为30.80%”, “予以公开966件，占66.48%”) against
the share the tables give, ``part`` of ``whole`` (``whole``: the readings a report may mean, any of
which is consistent), within the rounding of the digits printed."""

from __future__ import annotations

from decimal import Decimal

from nianbao.findings import Hit
from nianbao.rules.compile import check_syntax, compile_expressions
from nianbao.rules.evaluate import left_sides
from nianbao.rules.kinds.base import Field, Kind, as_tuple, register
from nianbao.rules.text import DECIMAL, TEXT_FIELD, check_sections, pattern, plain_sections, sentences


def consistent(printed: str, share: Decimal) -> bool:
    """Whether ``share`` (in per cent) prints as ``printed`` at its precision, rounded or cut off:
    30.80 for 30.798…, 66.4 or 66.5 for 66.48…, 33 for 33.3…"""
    unit = Decimal(1).scaleb(Decimal(printed).as_tuple().exponent)
    low = Decimal(printed) - unit / 2
    return low <= share < Decimal(printed) + unit


def _shares(instance, current: dict) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(share in per cent, part, whole) for each reading of ``whole`` that is known and not 0."""
    part, *wholes = left_sides(instance, current)
    if part is None:
        return []
    return [(Decimal(100) * part / whole, Decimal(part), Decimal(whole)) for whole in wholes if whole]


def _shown(share: tuple[Decimal, Decimal, Decimal]) -> str:
    value, part, whole = share
    return f"{value:.2f}%（{part.normalize():f} ÷ {whole.normalize():f}）"


def _stated(rule, text: str) -> list[tuple[str, str]]:
    """(number, quote) for each share a pattern finds, in sentences that say one of ``sentence_has``,
    and not straight after a word of ``not_after`` (主动公开率 is another share than 公开率)."""
    found = []
    for sentence in sentences(text):
        if rule.sentence_has and not any(word in sentence for word in rule.sentence_has):
            continue
        for p in rule.patterns:
            found += [(m.group(1), sentence[m.start():m.end() + sentence.startswith("%", m.end())])
                      for m in pattern(p, DECIMAL).finditer(sentence) if not any(sentence.endswith(word, 0, m.start()) for word in rule.not_after)]
    return found


@register
class Percentage(Kind):
    name = "percentage"
    title = "正文中的百分比"
    fields = {
        "text": TEXT_FIELD,
        "patterns": Field((list,), required=True, convert=tuple, doc="句式，每个含 {n}（百分数，可带小数）；… 为同一句中的几个字"),
        "part": Field((str,), required=True, doc="分子：表格单元格之和"),
        "whole": Field((str, list), required=True, convert=as_tuple, doc="分母（可列出几种读法，任一相符即可）"),
        "not_after": Field((list,), default=(), convert=tuple, doc="紧接在这些字后面的说法不算（如“主动”公开率）"),
        "sentence_has": Field((list,), default=(), convert=tuple, doc="只看说到其中一个词的句子（到句号为止）"),
    }
    placeholders = frozenset({"quote", "found", "expected", "difference", "text"})

    def validate(self, rule):
        if not all("{n}" in p for p in rule.patterns):
            return "percentage 规则需要 patterns（每个含 {n}）"
        return check_sections(rule.text) or check_syntax(rule, [f"{rule.part} == 0", *(f"{w} == 0" for w in rule.whole)])

    def compile(self, rule, spec):
        return tuple(compile_expressions(rule, spec, " and ".join(f"{v} == 0" for v in (rule.part, *rule.whole))))

    def one(self, rules, chosen, values):
        plain = plain_sections(values)
        hits = []
        for rule in chosen:
            (instance,) = rules.instances[rule.id]
            shares = _shares(instance, values.data)
            wrong = [(n, quote, key) for key in rule.text if key in plain for n, quote in _stated(rule, plain[key])
                     if not any(consistent(n, share) for share, _, _ in shares)]
            if shares and wrong:
                gap = min(abs(Decimal(wrong[0][0]) - share) for share, _, _ in shares)
                hits.append(Hit(rule.id, (wrong[0][2], *instance.show), {
                    "quote": "；".join(dict.fromkeys(q for _, q, _ in wrong)), "found": "、".join(dict.fromkeys(f"{n}%" for n, _, _ in wrong)),
                    "expected": " 或 ".join(dict.fromkeys(map(_shown, shares))), "difference": f"{gap:.2f}",
                    "text": rules.spec.cells[wrong[0][2]].label}))
        return hits

    def expression(self, rule):
        return "\n".join([f"text: {', '.join(rule.text)}", *(f"pattern: {p}" for p in rule.patterns), f"part: {rule.part}",
                          f"whole: {' 或 '.join(rule.whole)}", *([f"not_after: {'、'.join(rule.not_after)}"] if rule.not_after else []),
                          *([f"sentence_has: {'、'.join(rule.sentence_has)}"] if rule.sentence_has else [])])
