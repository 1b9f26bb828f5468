"""Run the relation, cell and text rules of a rule set over one report's values."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import cache

from nianbao.findings import Hit, format_number
from nianbao.read import Values
from nianbao.rules.catalogue import Instance, RuleSet
from nianbao.rules.expr import Ref, Unknown, evaluate, evaluate_linear, holds, single_refs


def _lookup(current: dict, previous: dict):
    def lookup(ref: Ref):
        value = (previous if ref.prev else current).get(ref.key)
        if value is None:
            raise Unknown
        return value

    return lookup


def _verdict(instance: Instance, condition, current: dict, previous: dict) -> tuple[bool, dict]:
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
            lookup = _lookup(current, previous)
            left, right = evaluate(part.left, lookup), evaluate(part.right, lookup)
        if not holds(part.op, left, right, instance.rule.tolerance):
            params = {"left": left, "right": right}
            if isinstance(left, (int, Decimal)) and isinstance(right, (int, Decimal)):
                params["diff"] = Decimal(left) - Decimal(right)
            return False, params
    return True, {}


def run_relations(rules: RuleSet, values: Values, previous: Values | None = None, *, cross_year: bool | None = None) -> list[Hit]:
    """Evaluate every relation instance; an instance with a missing operand is not assessed.

    Cross-year rules run only when ``previous`` is given; ``cross_year`` selects only those
    rules (True) or only the others (False).
    """
    current, earlier = values.data, previous.data if previous is not None else {}
    hits = []
    for rule in rules.of_kind("relation"):
        if (rule.cross_year and previous is None) or (cross_year is not None and rule.cross_year != cross_year):
            continue
        for instance in rules.instances[rule.id]:
            try:
                if not all(_verdict(instance, w, current, earlier)[0] for w in instance.when):
                    continue
                ok, params = _verdict(instance, instance.condition, current, earlier)
            except Unknown:
                continue
            if not ok:
                hits.append(Hit(rule.id, instance.show, params | instance.labels))
    return hits


def run_cell_rules(rules: RuleSet, values: Values) -> list[Hit]:
    """Findings on what the reader saw in each cell: blanks, placeholders, text, normalised values."""
    by_issue: dict[str, list] = {}
    for rule in rules.of_kind("cell"):
        for issue in rule.issues:
            by_issue.setdefault(issue, []).append(rule)
    hits = []
    for key, cell in values.issues.items():
        spec_cell = rules.spec.cells[key]
        for rule in by_issue.get(cell.issue, ()):
            if rule.types and spec_cell.type not in rule.types:
                continue
            if rule.required_only and not spec_cell.required:
                continue
            raw = "" if cell.raw is None else str(cell.raw)
            hits.append(Hit(rule.id, (key,), {"raw": raw, "detail": cell.detail}))
    return hits


_GAP = r"[^，。；;,.！!？?]{0,12}?"  # "…" in a pattern: a few characters within one clause, never past its end
_UNIT = "[件宗起个份]"


@cache
def _pattern(text: str) -> re.Pattern:
    """A declared pattern as a regular expression: {n} is the number, … a short gap within one
    sentence, 件 any counting word reports use (件 宗 起 个 份), the rest literal."""
    parts = re.split(r"(\{n\}|…|件)", text)
    return re.compile("".join(r"(\d+)" if p == "{n}" else _GAP if p == "…" else _UNIT if p == "件" else re.escape(p) for p in parts))


def _plain(text: str) -> str:
    """Text as patterns read it: full-width digits and punctuation folded, no spaces or line breaks
    (PDF text breaks sentences, and reports print “17 件”), and in simplified characters (a report
    printed in traditional ones: 收到申請17件)."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    try:
        text.encode("gb2312")  # simplified Chinese as it is: no converter loaded (the 检查 button stays light)
        return text
    except UnicodeEncodeError:
        import zhconv

        return zhconv.convert(text, "zh-cn")


def _table_values(instance: Instance, current: dict) -> list:
    """A narrative rule's table values, one per reading that can be worked out: the left sides of
    ``value == 0 and ...``."""
    readings = []
    for part in instance.condition.parts:
        try:
            readings.append(evaluate_linear(instance.linear[id(part)][0], current, {}))
        except (Unknown, KeyError):
            continue
    return readings


def run_text_rules(rules: RuleSet, values: Values) -> list[Hit]:
    """Narrative rules (numbers in the text against the tables) and mention rules."""
    current = values.data
    hits = []
    plain = {k: _plain(v) for k, v in current.items() if k.startswith("text.") and isinstance(v, str)}
    for rule in rules.of_kind("narrative"):
        (instance,) = rules.instances[rule.id]
        readings = _table_values(instance, current)
        if not readings:
            continue
        found = []
        for key in rule.text:
            if key in plain:
                found += [(int(m.group(1)), m.group(0), key) for p in rule.patterns for m in _pattern(p).finditer(plain[key])]
        if not found:
            continue
        numbers = sorted({n for n, _, _ in found})
        quote = "；".join(dict.fromkeys(q for _, q, _ in found))
        label = rules.spec.cells[found[0][2]].label
        distinct = list(dict.fromkeys(readings))
        expected = distinct[0] if len(distinct) == 1 else " 或 ".join(map(format_number, distinct))
        params = {"quote": quote, "found": "、".join(map(str, numbers)), "expected": expected, "text": label}
        if len(numbers) > 1 and not set(numbers) <= set(readings):
            hits.append(Hit("N300", (found[0][2], *instance.show), params))
        elif len(numbers) == 1 and numbers[0] not in readings:
            hits.append(Hit(rule.id, (found[0][2], *instance.show), params))
    for rule in rules.of_kind("mention"):
        (instance,) = rules.instances[rule.id]
        texts = [current.get(k) for k in rule.text if isinstance(current.get(k), str)]
        if not texts:  # the section is blank (C002 says so) or could not be read
            continue
        left, guard = None, ()
        if instance.when:
            try:
                if not all(_verdict(instance, w, current, {})[0] for w in instance.when):
                    continue
                left = evaluate_linear(instance.linear[id(instance.when[0].parts[0])][0], current, {})
            except (Unknown, KeyError, IndexError):
                continue
            guard = tuple(r.key for r in single_refs(instance.when[0].parts[0]))
        text = _plain("".join(texts))
        said = len(re.sub(r"[\W_]+", "", text))  # characters that say something: no spaces or punctuation
        if said < rule.min_chars or not any(word in text for word in rule.words):
            hits.append(Hit(rule.id, (rule.text[0], *guard), {"left": left, "text": rules.spec.cells[rule.text[0]].label}))
    return hits
