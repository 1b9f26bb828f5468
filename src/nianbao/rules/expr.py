"""The rule expression language: a small, closed grammar that is parsed, never eval'd.

    condition := sum CMP sum ("and" sum CMP sum)*
    sum       := term (("+" | "-") term)*
    term      := NUMBER ["*" term] | ref | "sum" "(" ref ")" | "date" "(" sum "," NUMBER "," NUMBER ")" | "(" sum ")"
    ref       := ["prev."] table "." row "." column      (or "meta.x" / "text.x")

A row or column part may be a range "first:last" (in the spec's order), used inside sum().
"5 * prev.t3.new.total" scales a term by a number (a plausibility bound); cells never multiply cells.
"prev." reads the previous year's report. CMP is one of == != <= >= < >.
date(year, month, day) makes a date to compare a date cell with, e.g. date(meta.year + 1, 1, 31).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|<|>|=|\+|-|\*|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_.:]*))"
)
COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")


class ExprError(ValueError):
    pass


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Ref:
    key: str
    prev: bool = False


@dataclass(frozen=True)
class Sum:
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class DateOf:
    year: object
    month: int
    day: int


@dataclass(frozen=True)
class Scale:
    factor: Decimal
    term: object


@dataclass(frozen=True)
class BinOp:
    op: str  # "+" or "-"
    left: object
    right: object


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Condition:
    parts: tuple[Compare, ...]


MAX_TOKENS = 400  # the longest rule has under 60; the limit keeps parsing and evaluation shallow
MAX_NESTING = 16  # parentheses within parentheses


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        if len(tokens) >= MAX_TOKENS:
            raise ExprError(f"表达式过长（超过 {MAX_TOKENS} 个符号），请拆成几条规则或使用 sum(范围)")
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExprError(f"无法识别的字符：“{text[pos:pos + 10]}”")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, expand_range):
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.expand_range = expand_range  # (key with ':' part) -> list of keys

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExprError("表达式不完整")
        if value is not None and token[1] != value:
            raise ExprError(f"此处应为“{value}”，实际为“{token[1]}”")
        self.pos += 1
        return token

    def condition(self) -> Condition:
        parts = [self.compare()]
        while self.peek() == ("word", "and"):
            self.take()
            parts.append(self.compare())
        if self.peek() is not None:
            raise ExprError(f"多余的内容：“{self.peek()[1]}”")
        return Condition(tuple(parts))

    def compare(self) -> Compare:
        left = self.sum()
        token = self.take()
        if token[1] == "=":
            raise ExprError("比较符“=”应写作“==”")
        if token[1] not in COMPARATORS:
            raise ExprError(f"此处应为比较符（{' '.join(COMPARATORS)}），实际为“{token[1]}”")
        return Compare(token[1], left, self.sum())

    def sum(self):
        node = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            node = BinOp(op, node, self.term())
        return node

    def term(self):
        kind, value = self.take()
        if kind == "num":
            if self.peek() == ("op", "*"):
                self.take()
                return Scale(Decimal(value), self.term())
            return Num(Decimal(value))
        if value == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExprError(f"括号嵌套超过 {MAX_NESTING} 层")
            node = self.sum()
            self.take(")")
            self.depth -= 1
            return node
        if kind == "word" and value == "date":
            self.take("(")
            year = self.sum()
            self.take(",")
            month = self.take()
            self.take(",")
            day = self.take()
            self.take(")")
            if month[0] != "num" or day[0] != "num":
                raise ExprError("date(年, 月, 日) 的月和日应为数字")
            return DateOf(year, int(month[1]), int(day[1]))
        if kind == "word" and value == "sum":
            self.take("(")
            ref = self.ref(self.take()[1], allow_range=True)
            self.take(")")
            return ref if isinstance(ref, Sum) else Sum((ref,))
        if kind == "word":
            return self.ref(value, allow_range=False)
        raise ExprError(f"此处应为数字、单元格或 sum(…)，实际为“{value}”")

    def ref(self, word: str, allow_range: bool):
        prev = word.startswith("prev.")
        key = word[5:] if prev else word
        if ":" in key:
            if not allow_range:
                raise ExprError(f"范围 “{word}” 只能用在 sum(…) 里")
            return Sum(tuple(Ref(k, prev) for k in self.expand_range(key)))
        return Ref(key, prev)


def parse_condition(text: str, expand_range) -> Condition:
    return _Parser(text, expand_range).condition()


def refs(node) -> list[Ref]:
    """Every cell reference in an expression, in order."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Sum):
        return list(node.refs)
    if isinstance(node, (BinOp, Compare)):
        return refs(node.left) + refs(node.right)
    if isinstance(node, DateOf):
        return refs(node.year)
    if isinstance(node, Scale):
        return refs(node.term)
    if isinstance(node, Condition):
        return [r for part in node.parts for r in refs(part)]
    return []


def single_refs(node) -> list[Ref]:
    """References that stand alone (not inside a sum): the cells a finding is shown on."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Scale):
        return single_refs(node.term)
    if isinstance(node, (BinOp, Compare)):
        return single_refs(node.left) + single_refs(node.right)
    return []


class Unknown(Exception):
    """An operand has no value (blank, unreadable, or absent): the rule cannot be assessed."""


def evaluate(node, lookup):
    """Evaluate a sum expression; ``lookup(ref)`` returns the value or raises Unknown."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return lookup(node)
    if isinstance(node, Sum):
        return sum((Decimal(lookup(r)) for r in node.refs), Decimal(0))
    if isinstance(node, DateOf):
        year = evaluate(node.year, lookup)
        if not isinstance(year, (int, Decimal)):
            raise Unknown
        try:
            return dt.date(int(year), node.month, node.day)
        except (ValueError, OverflowError):
            raise Unknown from None
    if isinstance(node, BinOp):
        left, right = evaluate(node.left, lookup), evaluate(node.right, lookup)
        if not all(isinstance(v, (int, Decimal)) for v in (left, right)):
            raise Unknown
        return Decimal(left) + Decimal(right) if node.op == "+" else Decimal(left) - Decimal(right)
    if isinstance(node, Scale):
        value = evaluate(node.term, lookup)
        if not isinstance(value, (int, Decimal)):
            raise Unknown
        return node.factor * Decimal(value)
    raise TypeError(node)


def holds(op: str, left, right, tolerance: Decimal) -> bool:
    if isinstance(left, (int, Decimal)) and isinstance(right, (int, Decimal)):
        diff = Decimal(left) - Decimal(right)
        return {
            "==": abs(diff) <= tolerance,
            "!=": abs(diff) > tolerance,
            "<=": diff <= tolerance,
            ">=": diff >= -tolerance,
            "<": diff < -tolerance,
            ">": diff > tolerance,
        }[op]
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        return {"==": left == right, "!=": left != right, "<=": left <= right, ">=": left >= right,
                "<": left < right, ">": left > right}[op]
    if op in ("==", "!="):
        return (left == right) == (op == "==")
    raise Unknown  # an ordering between a number and a text cannot be assessed


def to_excel(node, address) -> str:
    """The expression as an Excel formula fragment; ``address(ref)`` gives each cell's reference."""
    if isinstance(node, Num):
        return format(node.value, "f")
    if isinstance(node, Ref):
        return address(node)
    if isinstance(node, Sum):
        return f"SUM({','.join(address(r) for r in node.refs)})"
    if isinstance(node, DateOf):
        return f"DATE({to_excel(node.year, address)},{node.month},{node.day})"
    if isinstance(node, Scale):
        return f"{format(node.factor, 'f')}*({to_excel(node.term, address)})"
    if isinstance(node, BinOp):
        right = to_excel(node.right, address)
        return f"{to_excel(node.left, address)}{node.op}{f'({right})' if isinstance(node.right, BinOp) else right}"
    raise TypeError(node)


@dataclass(frozen=True)
class Linear:
    """A sum expression flattened to signed cell terms plus a constant: quick to evaluate."""

    terms: tuple[tuple[str, bool, int | Decimal], ...]  # (key, from the previous report, coefficient: mostly +1 or -1)
    const: Decimal


def linearize(node, numeric) -> Linear | None:
    """``node`` as a Linear form, or None when it reads a cell that ``numeric(key)`` says is text."""
    if isinstance(node, Num):
        return Linear((), node.value)
    if isinstance(node, Ref):
        return Linear(((node.key, node.prev, 1),), Decimal(0)) if numeric(node.key) else None
    if isinstance(node, Sum):
        return Linear(tuple((r.key, r.prev, 1) for r in node.refs), Decimal(0)) if all(numeric(r.key) for r in node.refs) else None
    if isinstance(node, DateOf):
        return None
    if isinstance(node, Scale):
        inner = linearize(node.term, numeric)
        return None if inner is None else Linear(tuple((k, p, c * node.factor) for k, p, c in inner.terms), inner.const * node.factor)
    if isinstance(node, BinOp):
        left, right = linearize(node.left, numeric), linearize(node.right, numeric)
        if left is None or right is None:
            return None
        sign = 1 if node.op == "+" else -1
        return Linear(left.terms + tuple((k, p, c * sign) for k, p, c in right.terms), left.const + sign * right.const)
    raise TypeError(node)


def evaluate_linear(form: Linear, current: dict, previous: dict):
    """The form's value over plain {key: value} maps; Unknown when a term has no value."""
    total = form.const
    for key, prev, coef in form.terms:
        value = (previous if prev else current).get(key)
        if value is None:
            raise Unknown
        total = total + value if coef == 1 else total - value if coef == -1 else total + coef * value
    return total
