"""Explanations (说明) a clerk writes for findings: 错误必须修改，提示修改或说明.

The 检查结果 sheet that nianbao writes has a 说明 column. The next check (CLI, batch or the 检查
button) reads what was written there back, by finding id (``findings.finding_id``, stable across
runs), so an explained 提示 no longer counts as open. An explanation of an 错误 is kept and shown,
but the 错误 stays open. An explanation whose finding is gone is listed as no longer needed.
A hidden sheet keeps every explanation, so they survive the 清除标注 button, which removes the
检查结果 sheet.

An explanation must say something: one shorter than a minimum, or made only of phrases such as
“无”“已核实”“正确”（rules/explanations/insufficient.yaml）leaves its 提示 open, marked 说明不充分
(``insufficient``); the CLI, the batch and the button all decide through ``is_open``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import yaml

from nianbao.findings import WARNING, Finding
from nianbao.resources import rules_dir

RESULTS_SHEET = "检查结果"
STORE_SHEET = "_nianbao_explained"  # hidden: the explanations, kept when 检查结果 is removed
ID_HEADER, TEXT_HEADER, RULE_HEADER, PROBLEM_HEADER = "编号", "说明", "规则", "问题"
MAX_TEXT = 2000  # characters kept of one explanation
_ID = re.compile(r"^[A-Z]\d{3}-[0-9a-f]{8}$")
_HEADER_ROWS = 10


@dataclass(frozen=True)
class Explanation:
    id: str  # the finding's id
    text: str
    rule: str = ""  # the rule and the problem as shown when it was written, to list it once it is gone
    message: str = ""


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def from_sheet(grid: list[list]) -> dict[str, Explanation] | None:
    """The 说明 column of a 检查结果 (or the hidden) sheet by finding id, a blank one included
    (it withdraws an explanation); None when the sheet has no 编号 and 说明 columns."""
    for top, row in enumerate(grid[:_HEADER_ROWS]):
        headers = [_text(c) for c in row]
        if ID_HEADER in headers and TEXT_HEADER in headers:
            break
    else:
        return None
    columns = {h: headers.index(h) if h in headers else None for h in (ID_HEADER, TEXT_HEADER, RULE_HEADER, PROBLEM_HEADER)}

    def at(row: list, header: str) -> str:
        col = columns[header]
        return _text(row[col]) if col is not None and col < len(row) else ""

    found = {}
    for row in grid[top + 1:]:
        ident = at(row, ID_HEADER)
        if _ID.match(ident):
            found[ident] = Explanation(ident, at(row, TEXT_HEADER)[:MAX_TEXT], at(row, RULE_HEADER), at(row, PROBLEM_HEADER))
    return found


def read(results: list[list] | None, store: list[list] | None) -> dict[str, Explanation]:
    """Every explanation a workbook holds. What the 检查结果 sheet says wins (the clerk edits it;
    a 说明 cleared there is withdrawn); the hidden copy gives those the sheet no longer lists."""
    shown = from_sheet(results) if results else None
    kept = (from_sheet(store) if store else None) or {}
    merged = kept | (shown or {})
    return {ident: e for ident, e in merged.items() if e.text}


def explain(findings: list[Finding], given: dict[str, Explanation]) -> list[Explanation]:
    """Attach ``given`` explanations to ``findings``; returns those whose finding is gone."""
    ids = set()
    for f in findings:
        f.explanation = given[f.id].text if f.id in given else None
        ids.add(f.id)
    return [e for ident, e in given.items() if ident not in ids]


def kept(findings: list[Finding], stale: list[Explanation]) -> list[Explanation]:
    """Every explanation to keep after a check: of current findings, and those no longer needed."""
    return [Explanation(f.id, f.explanation, f.rule, f.message) for f in findings if f.explanation] + list(stale)


def store_rows(explanations: list[Explanation]) -> list[list[str]]:
    """The hidden sheet's rows (read back by ``from_sheet``)."""
    return [[ID_HEADER, TEXT_HEADER, RULE_HEADER, PROBLEM_HEADER]] + [[e.id, e.text, e.rule, e.message] for e in explanations]


@cache
def _policy() -> dict:
    data = yaml.safe_load((rules_dir() / "explanations" / "insufficient.yaml").read_text(encoding="utf-8"))
    phrases = {_plain(str(p)) for p in data["phrases"]} - {""}
    return {**data, "phrases": phrases, "longest": max(map(len, phrases))}


def _plain(text: str) -> str:
    """Text as judged: width folded, lower case, no spaces or punctuation."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


def _only_phrases(plain: str, phrases: set[str], longest: int) -> bool:
    """Whether ``plain`` is nothing but ``phrases`` one after another."""
    ends = [True] + [False] * len(plain)  # ends[i]: plain[:i] is made of phrases
    for i in range(1, len(plain) + 1):
        ends[i] = any(ends[j] and plain[j:i] in phrases for j in range(max(0, i - longest), i))
    return ends[-1]


def insufficient(text: str | None) -> str | None:
    """Why an explanation says too little to count (one line of Chinese), or None when it counts."""
    if not text:
        return None
    policy, plain = _policy(), _plain(text)
    if _only_phrases(plain, policy["phrases"], policy["longest"]):
        return policy["message_empty"].format(text=text[:20])
    if len(plain) < policy["min_chars"]:
        return policy["message_short"].format(min_chars=policy["min_chars"])
    return None


def is_open(finding: Finding) -> bool:
    """Whether a finding still asks for something: an 错误 always, a 提示 until it is explained by
    an explanation that says something."""
    return finding.severity != WARNING or not finding.explanation or insufficient(finding.explanation) is not None


def status(finding: Finding) -> str | None:
    """What an explanation counts for (``--json``'s explanation_status): None when there is none;
    "insufficient" when it says too little (说明不充分); "error" when it explains an 错误, which stays
    open; "accepted" when it closes its 提示."""
    if not finding.explanation:
        return None
    if insufficient(finding.explanation) is not None:
        return "insufficient"
    return "accepted" if finding.severity == WARNING else "error"


def said(finding: Finding) -> str:
    """How a finding's explanation is shown: 已说明：…, or 说明不充分（why）：…"""
    problem = insufficient(finding.explanation)
    return f"{problem}（原文：{finding.explanation}）" if problem else f"已说明：{finding.explanation}"
