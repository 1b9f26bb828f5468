"""``tally``: numbers one sentence of the text states must add up among themselves, whatever the
tables say (“收到 59 件，上年结转 2 件，其中结转下年度 7 件，其余 54 件按时答复”). Each of the
declared ``terms`` is found with its own patterns; ``check`` lists equations over the terms' names,
any of which holding makes the sentence consistent (a sentence may be read several ways)."""

from __future__ import annotations

import re

from nianbao.findings import Hit, format_number
from nianbao.rules.expr import ExprError, Unknown, evaluate, holds, parse_condition, refs
from nianbao.rules.kinds.base import Field, Kind, as_tuple, register
from nianbao.rules.text import TEXT_FIELD, check_sections, pattern, plain_sections, sentences


def _conditions(rule) -> list:
    return [parse_condition(text, lambda key: []) for text in rule.check]


def _terms_problem(terms: dict) -> str | None:
    for name, term in terms.items():
        if not re.fullmatch(r"[a-z_]+", str(name)) or not isinstance(term, dict) or set(term) != {"label", "patterns"}:
            return f"terms 中的 “{name}” 应为小写英文名，其下给出 label（中文名）和 patterns（句式列表）"
        if not isinstance(term["patterns"], list) or not term["patterns"] or not all(isinstance(p, str) and "{n}" in p for p in term["patterns"]):
            return f"terms 中 “{name}” 的 patterns 应为句式列表，每个含 {{n}}"
    return None


def _said(sentence: str, terms: dict) -> dict[str, int] | None:
    """Each term's number in one sentence; None for a term stated with two different numbers (which is meant is unknowable)."""
    said: dict[str, int | None] = {}
    for name, term in terms.items():
        numbers = {int(m.group(1)) for p in term["patterns"] for m in pattern(p).finditer(sentence)}
        if len(numbers) == 1:
            said[name] = numbers.pop()
        elif numbers:
            said[name] = None
    return said


def _verdict(rule, conditions, said: dict) -> tuple | None:
    """(left, right) of the first equation when no equation holds; None when one holds or none can be assessed."""
    values = {name: said.get(name, 0) for name in rule.terms}  # a term the sentence does not state is none
    first = None
    for condition in conditions:
        try:
            sides = [(evaluate(c.left, lambda r: values[r.key]), evaluate(c.right, lambda r: values[r.key])) for c in condition.parts]
        except Unknown:
            return None
        if all(holds(c.op, left, right, 0) for c, (left, right) in zip(condition.parts, sides)):
            return None
        first = first or sides[0]
    return first


@register
class Tally(Kind):
    name = "tally"
    title = "正文中的数字自身相符"
    fields = {
        "text": TEXT_FIELD,
        "terms": Field((dict,), required=True, doc="句中的各个数：名称 → {label: 中文名, patterns: [句式，含 {n}]}"),
        "check": Field((str, list), required=True, convert=as_tuple, doc="各数之间的等式（用 terms 的名称），任一成立即为相符"),
        "need": Field((list,), required=True, convert=tuple,
                      doc="句中必须说到的数（一项为列表时，说到其中一个即可）；其余没说到的按 0 计"),
    }
    placeholders = frozenset({"quote", "said", "left", "right", "difference", "text"})

    def validate(self, rule):
        problem = check_sections(rule.text) or _terms_problem(rule.terms)
        if problem:
            return problem
        try:
            conditions = _conditions(rule)
        except ExprError as exc:
            return f"check 有误：{exc}"
        named = {r.key for condition in conditions for r in refs(condition)}
        needed = {name for entry in rule.need for name in as_tuple(entry)}
        if not named <= set(rule.terms) or not needed <= set(rule.terms):
            return f"check 和 need 只能用 terms 中的名称（{'、'.join(rule.terms)}）"
        return None

    def one(self, rules, chosen, values):
        plain = plain_sections(values)
        hits = []
        for rule in chosen:
            conditions = _conditions(rule)
            for key in (k for k in rule.text if k in plain):
                hit = next(filter(None, (self._sentence(rules, rule, conditions, key, s) for s in sentences(plain[key]))), None)
                if hit:
                    hits.append(hit)
                    break
        return hits

    def _sentence(self, rules, rule, conditions, key: str, sentence: str) -> Hit | None:
        said = _said(sentence, rule.terms)
        if None in said.values() or not all(any(name in said for name in as_tuple(entry)) for entry in rule.need):
            return None
        sides = _verdict(rule, conditions, said)
        if sides is None:
            return None
        left, right = sides
        stated = "、".join(f"{rule.terms[name]['label']} {said[name]} 件" for name in rule.terms if name in said)
        return Hit(rule.id, (key,), {"quote": sentence, "said": stated, "left": format_number(left), "right": format_number(right),
                                     "difference": format_number(abs(left - right)), "text": rules.spec.cells[key].label})

    def expression(self, rule):
        terms = [f"{name}（{term['label']}）: {' | '.join(term['patterns'])}" for name, term in rule.terms.items()]
        need = "、".join(" 或 ".join(as_tuple(e)) for e in rule.need)
        return "\n".join([f"text: {', '.join(rule.text)}", *terms, f"need: {need}", *(f"check: {c}" for c in rule.check)])
