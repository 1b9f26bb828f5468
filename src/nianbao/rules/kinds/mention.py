"""``mention``: under a ``when`` condition, a text section must mention one of ``words`` (and say
at least ``min_chars`` characters)."""

from __future__ import annotations

import re

from nianbao.findings import Hit
from nianbao.rules.compile import check_syntax, compile_expressions
from nianbao.rules.evaluate import guards_hold
from nianbao.rules.expr import Unknown, evaluate_linear, single_refs
from nianbao.rules.kinds.base import Field, Kind, as_tuple, register
from nianbao.rules.text import TEXT_FIELD, check_sections, plain


def _guard(instance, current: dict) -> tuple[bool, object, tuple[str, ...]]:
    """Whether the rule applies, the value its first condition reads, and the cells it names."""
    if not instance.when:
        return True, None, ()
    try:
        if not guards_hold(instance, current, {}):
            return False, None, ()
        left = evaluate_linear(instance.linear[id(instance.when[0].parts[0])][0], current, {})
    except (Unknown, KeyError, IndexError):
        return False, None, ()
    return True, left, tuple(r.key for r in single_refs(instance.when[0].parts[0]))


@register
class Mention(Kind):
    name = "mention"
    title = "正文应提及的内容"
    fields = {
        "text": TEXT_FIELD,
        "words": Field((list,), required=True, convert=tuple, doc="应提及的词，提及其中一个即可"),
        "when": Field((str, list), default=(), convert=as_tuple, doc="条件：全部成立时才检查"),
        "min_chars": Field((int,), default=0, doc="少于这么多字（不计标点）即为没有说明"),
    }
    placeholders = frozenset({"left", "text"})

    def validate(self, rule):
        if rule.min_chars < 0:
            return "min_chars 应为不小于 0 的整数"
        return check_sections(rule.text) or check_syntax(rule, list(rule.when))

    def compile(self, rule, spec):
        return tuple(compile_expressions(rule, spec, "0 == 0", rule.when))

    def one(self, rules, chosen, values):
        hits = []
        for rule in chosen:
            (instance,) = rules.instances[rule.id]
            texts = [values.data.get(k) for k in rule.text if isinstance(values.data.get(k), str)]
            if not texts:  # the section is blank (C002 says so) or could not be read
                continue
            applies, left, guard = _guard(instance, values.data)
            if not applies:
                continue
            text = plain("".join(texts))
            said = len(re.sub(r"[\W_]+", "", text))  # characters that say something: no spaces or punctuation
            if said < rule.min_chars or not any(word in text for word in rule.words):
                hits.append(Hit(rule.id, (rule.text[0], *guard), {"left": left, "text": rules.spec.cells[rule.text[0]].label}))
        return hits

    def expression(self, rule):
        return "\n".join([f"text: {', '.join(rule.text)}", f"when: {'; '.join(rule.when)}", f"words: {'、'.join(rule.words)}"])

    def live(self, rule, rules):
        from nianbao.rules.live import live_mention  # the template layer's formulas, loaded only when a template is built

        return live_mention(rule, rules)
