"""Text sections as the text rules read them: a declared pattern as a regular expression, and the
text folded so that patterns match however the report printed it."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from nianbao.rules.kinds.base import Field

_GAP = r"[^，。；;,.！!？?]{0,12}?"  # "…" in a pattern: a few characters within one clause, never past its end
_UNIT = "[件宗起个份]"


_INTEGER = r"(\d+)"
DECIMAL = r"(\d+(?:\.\d+)?)"  # a percentage as printed: 30.80


@cache
def pattern(text: str, number: str = _INTEGER) -> re.Pattern:
    """A declared pattern as a regular expression: {n} is the number, … a short gap within one
    sentence, 件 any counting word reports use (件 宗 起 个 份), the rest literal, folded as plain()
    folds the text (a pattern's “，答复” matches the text's “，答复”)."""
    parts = re.split(r"(\{n\}|…|件)", text)
    return re.compile("".join(number if p == "{n}" else _GAP if p == "…" else _UNIT if p == "件" else re.escape(plain(p)) for p in parts))


def plain(text: str) -> str:
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


_SENTENCE = re.compile(r"[^。！？!?]+")  # a sentence ends at its full stop; commas and semicolons stay inside


def sentences(text: str) -> list[str]:
    """The sentences of a plain() text."""
    return _SENTENCE.findall(text)


def plain_sections(values) -> dict[str, str]:
    return {k: plain(v) for k, v in values.data.items() if k.startswith("text.") and isinstance(v, str)}


TEXT_FIELD = Field((list,), required=True, convert=tuple, doc="要查找的文字部分，如 [text.s1]")  # narrative and mention rules


def check_sections(keys) -> str | None:
    if not keys or not all(str(t).startswith("text.") for t in keys):
        return "text 应列出要查找的文字部分，如 [text.s1]"
    return None
