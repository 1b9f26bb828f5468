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
            # Small tables (1–3 cases in 表四) are often the same two years running: a floor (min_count).
            if (keys and all(isinstance(v, int) for v in now) and any(now) and max(now) >= rule.min_count
                    and now == [previous.data.get(k) for k in keys]):
                hits.append(Hit(rule.id, (keys[0],), {"text": rules.spec.table(table).title, "share": "100%", "quote": ""}))
    return hits


COMMON_MIN = 3  # reports that must share a passage before it counts as common to the batch
NAMES_SHOWN = 10  # members of a group named in a message; the summary lists them all


def _own(sets: list[frozenset[int] | None], share_: float) -> list[frozenset[int] | None]:
    """Each text's shingles less those common to the batch: found in at least ``share_`` of the
    texts (and in COMMON_MIN of them). What a standard paragraph gives every report is no copy."""
    present = [s for s in sets if s]
    if not share_ or len(present) < COMMON_MIN:
        return sets
    hashes, counts = np.unique(np.fromiter((h for s in present for h in s), dtype=np.uint64), return_counts=True)
    common = frozenset(hashes[counts >= max(COMMON_MIN, share_ * len(present))].tolist())
    return [s - common if s else s for s in sets]


def _groups(edges: list[tuple[int, int]], size: int) -> list[list[int]]:
    """Connected components of ``edges`` (union-find), each sorted, of two or more members."""
    parent = list(range(size))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        parent[root(a)] = root(b)
    members: dict[int, list[int]] = {}
    for i in sorted({i for edge in edges for i in edge}):
        members.setdefault(root(i), []).append(i)
    return list(members.values())


def similar_groups(rule, texts: list[str | None]) -> list[tuple[list[int], dict[int, float]]]:
    """Groups of ``texts`` (by index) that are nearly identical, each with every member's highest
    similarity to another member. Two texts belong together when their shingles are at least
    ``threshold`` alike (Jaccard), compared on what they have beyond the passages common to the
    batch (``common``); texts that have little beyond them (less than half ``min_chars`` of their
    own) are the batch's standard text, alike when the whole texts are."""
    sets = [shingles(t) if t else None for t in texts]
    own = _own(sets, rule.common)
    standard = [own[i] is not None and len(own[i]) < max(1, rule.min_chars // 2) for i in range(len(texts))]
    best: dict[int, float] = {}
    # Identical texts are one text compared once and joined to its first copy (2,000 copies of one
    # report would otherwise be 2 million pairs in one band).
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text:
            first.setdefault(text, i)
    edges = [(first[t], i) for i, t in enumerate(texts) if t and first[t] != i]
    best |= {i: 1.0 for edge in edges for i in edge}
    for a, b, score in near_pairs([t if t and first.get(t) == i else None for i, t in enumerate(texts)], rule.threshold):
        if standard[a] != standard[b]:
            continue
        if not standard[a]:  # what the two share beyond the batch's standard passages
            union = own[a] | own[b]
            score = len(own[a] & own[b]) / len(union) if union else 0.0
            if score < rule.threshold:
                continue
        edges.append((a, b))
        best[a], best[b] = max(best.get(a, 0.0), score), max(best.get(b, 0.0), score)
    return [(group, {i: best[i] for i in group}) for group in _groups(edges, len(texts))]


def _shared(rule, reports: list[BatchReport | None]) -> dict[int, dict]:
    """For each report (by index): the sections it shares with a group, the others, the highest
    similarity and a passage in common."""
    joined: dict[int, dict] = {}
    for key in rule.text:
        texts = [r.values.data.get(key) if r is not None and _long_enough(rule, r.values.data.get(key)) else None for r in reports]
        for group, best in similar_groups(rule, texts):
            for me in group:
                entry = joined.setdefault(me, {"keys": [], "others": {}, "share": 0.0, "quote": ""})
                entry["keys"].append(key)
                entry["share"] = max(entry["share"], best[me])
                entry["others"] |= dict.fromkeys(i for i in group if i != me)
                entry["quote"] = entry["quote"] or longest_passage(texts[me], texts[next(i for i in group if i != me)])
    return joined


def batch_repeats(reports: list[BatchReport | None]) -> dict[int, list[Hit]]:
    """The batch-scope ``repeated`` rules: for each report (by index; None: unreadable) one hit per
    rule naming the other reports whose sections are nearly identical to its own (a group: 28
    offices with one standard text get one hit each, not 27). A report is named by its office,
    else by its file name; the hit's ``found`` is the whole group, for the summary."""
    found: dict[int, list[Hit]] = {}
    rules = {r.id: r for report in reports if report is not None for r in report.rules.of_kind("repeated") if r.scope == "batch"}
    shown = [str(r.values.data.get("meta.office") or r.name) if r is not None else "" for r in reports]
    for rule in rules.values():
        for me, entry in _shared(rule, reports).items():
            spec = reports[me].rules.spec
            others = sorted({shown[i] for i in entry["others"]} - {shown[me]})  # an office's own versions are no copy (Y003)
            if not others:
                continue
            listed = "、".join(others[:NAMES_SHOWN]) + (f"等 {len(others)} 个" if len(others) > NAMES_SHOWN else "")
            found.setdefault(me, []).append(Hit(rule.id, tuple(entry["keys"]), {
                "text": "”“".join(spec.cells[k].label for k in entry["keys"]), "share": percent(entry["share"]), "count": len(others),
                "detail": listed, "quote": entry["quote"], "found": "、".join(sorted({shown[me], *others}))}))
    return found
