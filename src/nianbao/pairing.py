"""Finding last year's report of an office: by the roster code a distributed workbook carries, then by
office name (roster.NameIndex). One matcher for the batch (each report's previous year) and for
distribution (each roster office's report to prefill from)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nianbao.roster import NameIndex, office_key
from nianbao.rules.kinds.duplicate import SHOWN
from nianbao.values import Values


@dataclass(slots=True)
class Checked:
    """A file checked by a worker: its result, and the cells its PAIR and BATCH rules read (None: unreadable)."""

    result: object  # result.Result
    extract: Values | None


@dataclass(frozen=True, slots=True)
class Pairing:
    """How a report found last year's: the report found, its file, and by what (a key of roster.MATCHES)."""

    found: Checked | None
    path: Path | None = None
    match: str | None = None
    note: str | None = None  # why none was found, when one was looked for


def own_code(checked: Checked) -> str:
    """The roster code of the office a workbook is for: its distribution's code, unless the report
    names another office (a forwarded template filled by someone else)."""
    identity = checked.result.identity
    code, meant = identity.get("roster_code", ""), identity.get("roster_office", "")
    office = checked.result.office or ""
    return code if code and (not meant or office_key(meant) == office_key(office)) else ""


class LastYear:
    """Readable reports indexed by roster code and year, and by office name."""

    def __init__(self, candidates: list[Checked]):
        readable = [c for c in candidates if c.extract is not None and c.result.office and c.result.year]
        # One name index per year: 20,000 reports of one office look up last year's among last year's only.
        by_year: dict[int, list[Checked]] = {}
        self.codes: dict[tuple[str, int], list[Checked]] = {}
        for c in readable:
            by_year.setdefault(c.result.year, []).append(c)
            if code := own_code(c):
                self.codes.setdefault((code, c.result.year), []).append(c)
        self.names = {year: NameIndex((c.result.office, c) for c in group) for year, group in by_year.items()}

    def find(self, code: str, name: str, year: int, exclude: Checked | None = None) -> tuple[str | None, list[Checked]]:
        """(how it matched, the candidates) for an office's report of ``year``; several candidates are
        returned as they are, never one picked at random."""
        hits = [e for e in self.codes.get((code, year), []) if e is not exclude] if code else []
        if len(hits) == 1:
            return "code", hits
        names = self.names.get(year)
        return names.find(name, lambda e: e is not exclude) if names else (None, [])


def pair(checked: list[Checked], candidates: list[Checked], explain: bool) -> list[Pairing]:
    """Each report's previous-year report among ``candidates`` (same office, year - 1), and with
    ``explain`` why a report found none. Indexed, so a national batch pairs in one pass."""
    index = LastYear(candidates)
    pairs = []
    for c in checked:
        if c.extract is None or not c.result.year or not c.result.office:
            pairs.append(Pairing(None, note="报告的机关名称或年度未能读取，无法配对上一年度报告" if explain and c.extract is not None else None))
            continue
        year = c.result.year - 1
        match, hits = index.find(own_code(c), c.result.office, year, exclude=c)
        if len(hits) > 1 and match == "area":  # 教育局 could be any of several areas' 教育局: never guess
            listed = "、".join(str(e.result.path) for e in hits[:SHOWN]) + (f" 等 {len(hits)} 份" if len(hits) > SHOWN else "")
            note = f"{year} 年度有多份可能是“{c.result.office}”的报告：{listed}"
            pairs.append(Pairing(None, note=note if explain else None))
        elif hits:
            pairs.append(Pairing(hits[0], hits[0].result.path, match))
        else:
            pairs.append(Pairing(None, note=f"没有找到“{c.result.office}”{year} 年度的报告" if explain else None))
    return pairs
