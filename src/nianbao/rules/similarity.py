"""Copied reports (内容雷同): the ``repeated`` rules.

Text is compared on character shingles of its normalised form (width folded, spaces and
punctuation dropped, every number replaced by one mark), so a section copied from last year with
new numbers and dates is still a copy. Against last year's report the share of this year's
shingles found in last year's is measured; in a batch, every section gets a MinHash signature and
only the pairs that share a band of it (locality-sensitive hashing) are compared, so 3,000 reports
are not 4.5 million comparisons.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

import numpy as np

from nianbao.findings import Hit, percent
from nianbao.rules.kinds.base import BatchReport

SHINGLE = 8  # characters per shingle: long enough that common phrases of these reports do not match alone
PERMUTATIONS, BANDS = 64, 16  # MinHash signature and its bands: pairs above about 0.6 Jaccard become candidates
QUOTE = 60  # characters of the longest repeated passage shown in a message
_LONGEST = 4000  # characters of each text searched for that passage
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOISE = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Text as compared: width folded, no spaces or punctuation, every number one mark."""
    return _NUMBER.sub("#", _NOISE.sub("", unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=4096)
def shingles(text: str) -> frozenset[int]:
    """The text's shingles, hashed to 64 bits (stable across processes)."""
    plain = normalise(text)
    return frozenset(int.from_bytes(hashlib.blake2b(plain[i: i + SHINGLE].encode(), digest_size=8).digest(), "little")
                     for i in range(max(1, len(plain) - SHINGLE + 1)))


def share(text: str, other: str) -> float:
    """The share of ``text``'s shingles that ``other`` has too."""
    mine, theirs = shingles(text), shingles(other)
    return len(mine & theirs) / len(mine) if mine else 0.0


def jaccard(text: str, other: str) -> float:
    mine, theirs = shingles(text), shingles(other)
    return len(mine & theirs) / len(mine | theirs) if mine or theirs else 0.0


def longest_passage(text: str, other: str) -> str:
    """The longest passage the two texts share (spaces ignored), cut to QUOTE characters."""
    a, b = re.sub(r"\s+", "", text)[:_LONGEST], re.sub(r"\s+", "", other)[:_LONGEST]
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    passage = a[match.a: match.a + match.size]
    return passage if len(passage) <= QUOTE else passage[:QUOTE] + "……"


_MASKS = np.random.default_rng(20211).integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)


def signature(text: str) -> np.ndarray:
    """MinHash signature: per mask, the least shingle hash xor'ed with it."""
    hashes = np.fromiter(shingles(text), dtype=np.uint64)
    return np.min(hashes[:, None] ^ _MASKS[None, :], axis=0)


def near_pairs(texts: list[str | None], threshold: float) -> list[tuple[int, int, float]]:
    """Pairs of ``texts`` (by index) whose shingle Jaccard is at least ``threshold``: candidates
    from shared signature bands, each verified exactly."""
    buckets: dict[tuple[int, bytes], list[int]] = {}
    rows = PERMUTATIONS // BANDS
    for i, text in enumerate(texts):
        if not text:
            continue
        sig = signature(text)
        for band in range(BANDS):
            buckets.setdefault((band, sig[band * rows: (band + 1) * rows].tobytes()), []).append(i)
    candidates = {(a, b) for group in buckets.values() if len(group) > 1 for n, a in enumerate(group) for b in group[n + 1:]}
    pairs = []
    for a, b in sorted(candidates):
        score = jaccard(texts[a], texts[b])
        if score >= threshold:
            pairs.append((a, b, score))
    return pairs


def _long_enough(rule, text: object) -> bool:
    return isinstance(text, str) and len(normalise(text)) >= rule.min_chars



def run_repeated(rules, chosen: list, values, previous) -> list[Hit]:
    """The ``repeated`` rules (``chosen``) against last year's report: sections repeated from it, and
    tables identical to it in every cell."""
    hits = []
    for rule in chosen:
        for key in rule.text:
            now, before = values.data.get(key), previous.data.get(key)
            if not (_long_enough(rule, now) and isinstance(before, str)):
                continue
            repeated = share(now, before)
            if repeated >= rule.threshold:
                hits.append(Hit(rule.id, (key,), {"text": rules.spec.cells[key].label, "share": percent(repeated),
                                                   "quote": longest_passage(now, before)}))
        for table in rule.tables:
            keys = [k for k in rules.spec.cells if k.startswith(f"{table}.")]
            now = [values.data.get(k) for k in keys]
            if keys and all(isinstance(v, int) for v in now) and any(now) and now == [previous.data.get(k) for k in keys]:
                hits.append(Hit(rule.id, (keys[0],), {"text": rules.spec.table(table).title, "share": "100%", "quote": ""}))
    return hits


def batch_repeats(reports: list[BatchReport | None]) -> dict[int, list[Hit]]:
    """The batch-scope ``repeated`` rules: for each report (by index), a hit per other report whose
    section is nearly identical to its own (None: an unreadable report)."""
    found: dict[int, list[Hit]] = {}
    rules_of = [r.rules if r else None for r in reports]
    data = [r.values.data if r else {} for r in reports]
    names = [r.name if r else "" for r in reports]
    rules_by_id = {r.id: (r, rs) for rs in rules_of if rs is not None for r in rs.of_kind("repeated") if r.scope == "batch"}
    for rule, _ in rules_by_id.values():
        for key in rule.text:
            texts = [d.get(key) if rs is not None and _long_enough(rule, d.get(key)) else None for rs, d in zip(rules_of, data, strict=True)]
            for a, b, score in near_pairs(texts, rule.threshold):
                for me, other in ((a, b), (b, a)):
                    label = rules_of[me].spec.cells[key].label
                    found.setdefault(me, []).append(Hit(rule.id, (key,), {"text": label, "share": percent(score), "detail": names[other],
                                                                           "quote": longest_passage(texts[me], texts[other])},
                                                        anchor=names[other]))
    return found
