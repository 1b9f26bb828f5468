"""Collecting returned workbooks against the roster (收回): who returned what, and in what state.

Each checked file is claimed by one roster office: by the name the report gives, and by the
identity record of a distributed workbook (its roster code and office). When the two disagree
(a template forwarded from another office and filled in under its own name), the file counts for
the office the report names, and the mismatch is listed. A file that could not be read is
claimed by its distributed file name (编码-机关名称-年度报告). An office that returned several
files is judged by the newest; all are checked and listed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.importers import importable
from nianbao.layout import fingerprint
from nianbao.read import template_version
from nianbao.result import Result
from nianbao.roster import Office, Offices, Roster
from nianbao.spec import SpecError, load_spec

# An office's state, by the newest file it returned (Result.status) or "missing".
ROSTER_STATUS = {"missing": "未报送", "clean": "通过", "errors": "有错误", "warnings": "有提示", "explained": "提示均已说明",
                 "failed": "无法检查"}
NEEDS_FIXING = ("errors", "warnings", "failed")


@dataclass
class Returned:
    """One roster office and the files it returned, newest first."""

    office: Office
    results: list[Result] = field(default_factory=list)

    @property
    def newest(self) -> Result | None:
        return self.results[0] if self.results else None

    @property
    def status(self) -> str:
        return self.newest.status if self.results else "missing"

    def to_dict(self) -> dict:
        newest = self.newest
        return {
            "office": self.office.name,
            "code": self.office.code,
            "status": self.status,
            "files": [str(r.path) for r in self.results],
            "newest": str(newest.path) if newest else None,
            "output": str(newest.output) if newest and newest.output else None,
            "errors": newest.errors if newest else 0,
            "warnings": newest.warnings if newest else 0,
            "explained": newest.explained if newest else 0,
            "contact": self.office.contact,
            "phone": self.office.phone,
        }


@dataclass
class Collection:
    roster: Roster
    year: int | None  # the year being collected
    offices: list[Returned]
    unmatched: list[Result]
    problems: list[tuple[Result, str]]  # a file, and what its identity record says is wrong with it
    # Texts with none of the official tables (a cover note, 情况说明.txt): not checked, listed with
    # the office they came from (by file name, else by folder name), or None.
    attachments: list[tuple[Result, Office | None]] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(r.status in statuses for r in self.offices)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def identity_problems(result: Result, office: Office | None, meant: Office | None, year: int | None) -> list[str]:
    """What a workbook's hidden record says does not fit the office it counts for (``meant``: the
    office the record names), the round's year, or the template distributed now."""
    ident = result.identity
    if importable(result.path) or not ident:
        return []  # a published report has no record; an unreadable file says nothing
    problems = []
    made_for = None  # the year the workbook was distributed for, when that is not the round's
    if "roster_office" in ident or "roster_code" in ident:
        if office is not None and meant is not None and meant is not office:
            problems.append(f"模板是下发给“{meant.name}”的，报告填写的机关为“{result.office}”（可能是转发的模板）")
        given_year = ident.get("roster_year")
        if year is not None and given_year and given_year != str(year):
            made_for = given_year
            problems.append(f"模板是为 {given_year} 年度下发的，本次收集 {year} 年度报告")
    else:
        problems.append("没有下发标识：不是用 nianbao distribute 下发的模板")
    if year is not None and result.year is not None and result.year != year and made_for is None:
        problems.append(f"报告年度为 {result.year}，本次收集 {year} 年度报告")
    try:
        spec = load_spec(ident.get("format", ""))
    except SpecError:
        return problems
    version = template_version(ident.get("template_version"))
    if version is not None and version < spec.template_version:
        problems.append(f"模板版本 {version} 较旧（当前为 {spec.template_version}），请改用本次下发的模板重新填写")
    elif ident.get("fingerprint") != fingerprint(spec):
        problems.append("模板结构与本次下发的模板不同（可能是旧模板或被改动过），请改用本次下发的模板")
    return problems


def _round_year(results: list[Result]) -> int | None:
    """The year being collected: the one most distributed workbooks were made for, else most reports give."""
    made = Counter(r.identity["roster_year"] for r in results if r.identity.get("roster_year", "").isdigit())
    if made:
        return int(made.most_common(1)[0][0])
    given = Counter(r.year for r in results if r.year)
    return given.most_common(1)[0][0] if given else None


def claim(offices: Offices, result: Result) -> tuple[Office | None, Office | None]:
    """The roster office a file counts for (the one its report names, else the one its identity
    record names, else, unread, the one its distributed name names), and the one its record names."""
    ident = result.identity
    meant = offices.by_identity(ident.get("roster_code"), ident.get("roster_office"))
    office = offices.by_name(result.office)[1] or meant
    if office is None and result.office is None:
        office = offices.by_file_name(result.path)
    return office, meant


def collect(roster: Roster, results: list[Result], year: int | None = None, attachments: list[Result] = ()) -> Collection:
    """Which roster office each checked file belongs to, and each office's state; which office
    each attachment came with."""
    offices = Offices(roster)
    year = year or _round_year(results)
    returned = {id(o): Returned(o) for o in roster.offices}
    unmatched, problems = [], []
    for result in results:
        office, meant = claim(offices, result)
        problems += [(result, p) for p in identity_problems(result, office, meant, year)]
        if office is None:
            unmatched.append(result)
            continue
        returned[id(office)].results.append(result)
    for entry in returned.values():
        entry.results.sort(key=lambda r: (_mtime(r.path), str(r.path)), reverse=True)
    attached = [(r, offices.by_file_name(r.path) or offices.by_file_name(r.path.parent)) for r in attachments]
    return Collection(roster, year, list(returned.values()), unmatched, problems, attached)
