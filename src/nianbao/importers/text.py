"""Printed text compared as labels are: without punctuation, spaces, width or script differences."""

from __future__ import annotations

import re
import unicodedata

from nianbao.limits import cache_short

_VALUE = re.compile(r"^[+-]?\d[\d,]*(?:\.\d+)?\s*(?:件|条|项|个|次|万元|元)?$|^(?:/|-|—{1,2}|－|／)$")


@cache_short(16384)
def norm(text: str) -> str:
    """Labels compared without punctuation, spaces, width or script differences."""
    import zhconv

    simplified = zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn")
    return re.sub(r"[\W_]+", "", simplified)


def is_value(text: str) -> bool:
    return bool(_VALUE.match(unicodedata.normalize("NFKC", text).strip()))
