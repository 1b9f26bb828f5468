"""Offices: how their names compare, the supervisor's roster (名单), and which roster office a file is.

A roster is an .xlsx or .csv (UTF-8 or GBK) with a 机关名称 column and optional 编码, 联系人 and
联系电话 columns, found by their header text in the first rows. Names are compared after
normalisation (``office_key``), and with the superior areas in front taken off
(淮安市洪泽区人民政府 ↔ 洪泽区人民政府), but never by guessing among several candidates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.files import describe_os_error
from nianbao.limits import LIMITS, Damaged, LimitError, check_workbook, read_file
from nianbao.values import DATE_TEXT

_WORDS = (("管理委员会", "管委会"), ("办公室", "办"), ("(", ""), (")", ""), ("人民政府", "政府"))
# A chain of administrative areas before an office's own name: 江苏省淮安市 in 江苏省淮安市洪泽区人民政府.
AREA_CHARS = 64  # the longest chain of areas before an office's own name (江苏省淮安市洪泽区 has 9 characters)
_AREAS = re.compile(r"(?:[^省市县区州旗盟]{1,10}?(?:省|自治区|特别行政区|市|自治州|州|地区|盟|县|自治县|区|旗))+")


def office_key(office: object) -> str:
    """An office name as compared for pairing: width, spaces and brackets ignored, 办公室/办 and
    管理委员会/管委会 and 人民政府/政府 alike."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(office or "")))
    for long, short in _WORDS:
        key = key.replace(long, short)
    return key


def area_suffixes(key: str) -> list[str]:
    """The key without one or more superior areas in front: 淮安市洪泽区政府 -> [洪泽区政府]."""
    # Only the first AREA_CHARS characters can be areas: a name of a million characters costs no more.
    return [key[i:] for i in range(1, min(len(key), AREA_CHARS)) if _AREAS.fullmatch(key[:i])]


def same_office(key: str, other: str) -> bool:
    """Whether two keys name one office, one with its superior areas spelt out (淮安市洪泽区政府 ↔ 洪泽区政府)."""
    return other in area_suffixes(key) or key in area_suffixes(other)


class NameIndex:
    """Find things by office name: the exact name, the normalised name, then the name with its
    superior areas taken off (on either side). Several candidates at a tier are returned as
    they are: the caller decides, and never picks one at random."""

    def __init__(self, named: Iterable[tuple[str, object]]):
        self.exact: dict[str, list] = {}
        self.normal: dict[str, list] = {}
        self.shorter: dict[str, list] = {}
        for name, thing in named:
            key = office_key(name)
            self.exact.setdefault(name, []).append(thing)
            self.normal.setdefault(key, []).append(thing)
            for suffix in area_suffixes(key):
                self.shorter.setdefault(suffix, []).append(thing)

    def find(self, name: str, keep: Callable[[object], bool] = lambda thing: True) -> tuple[str | None, list]:
        """(how it matched: "exact", "normalised" or "area"; the candidates) for ``name``."""
        key = office_key(name)
        tiers = (("exact", self.exact.get(name, [])), ("normalised", self.normal.get(key, [])),
                 ("area", self.shorter.get(key, []) + [t for s in area_suffixes(key) for t in self.normal.get(s, [])]))
        for match, found in tiers:
            found = [t for t in {id(t): t for t in found}.values() if keep(t)]
            if found:
                return match, found
        return None, []


# ---------------------------------------------------------------------------------------- roster

HEADERS = {  # column -> header texts accepted (after normalisation, a bracketed note removed)
    "name": ("机关名称", "单位名称", "机关", "单位"),
    "code": ("编码", "机关编码", "单位编码", "代码", "机关代码", "单位代码"),
    "contact": ("联系人",),
    "phone": ("联系电话", "电话", "手机", "手机号码"),
    "kind": ("类型", "机关类型", "单位类型"),
    "deadline": ("公布期限", "本地公布期限", "发布期限"),  # a local deadline earlier than the 条例's (F101)
}
HEADER_ROWS = 10  # the header is looked for in this many rows at the top


@dataclass(frozen=True)
class Office:
    """One office on the roster."""

    name: str
    code: str = ""
    contact: str = ""
    phone: str = ""
    row: int = 0  # its row in the roster file, for messages
    kind: str = ""  # 类型 (e.g. 乡镇, 部门), when the roster has that column
    deadline: dt.date | None = None  # 公布期限: a local deadline for publishing the report, when the roster has one


@dataclass
class Roster:
    path: Path
    offices: list[Office]
    blank_rows: int = 0  # rows with nothing in them, skipped

    def by_code(self) -> dict[str, Office]:
        return {o.code: o for o in self.offices if o.code}


class RosterError(Exception):
    """A roster that cannot be used; the message is one line of Chinese per problem."""


def _deadline(text: str) -> dt.date | None | bool:
    """A 公布期限 cell: a date (2026-01-20, 2026年1月20日, a date cell), None when blank, False when it is no date."""
    match = DATE_TEXT.fullmatch(re.sub(r"\s+00:00:00$", "", text)) if text else None
    if not text:
        return None
    try:
        return dt.date(*map(int, match.groups())) if match else False
    except ValueError:
        return False


def _header(text: object) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))
    return re.sub(r"\(.*\)$", "", text).strip("*:：")


def _text(value: object) -> str:
    """A roster cell as text: 1001.0 (how a spreadsheet stores the code 1001) is "1001"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value if value is not None else "")).strip()


def _rows(path: Path) -> list[list]:
    """The roster's cells: the first sheet of a workbook, or a CSV in UTF-8 or GBK. The file is
    read once, as a regular file, and a workbook measured as the checker measures one."""
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise RosterError(f"名单 {path.name} 应为 .xlsx 或 .csv 文件")
    data = read_file(path, LIMITS.text_bytes)
    if path.suffix.lower() != ".csv":
        from python_calamine import CalamineWorkbook

        check_workbook(data)
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return list(csv.reader(io.StringIO(data.decode(encoding))))
        except UnicodeDecodeError:
            continue
    raise RosterError(f"名单 {path.name} 的编码无法识别；请另存为 UTF-8 或 GBK 编码的 CSV")


def _header_row(rows: list[list], name: str) -> tuple[int, dict[str, int]]:
    """The header row among the first rows (its index, and the column of each header found)."""
    for top, row in enumerate(rows[:HEADER_ROWS]):
        found: dict[str, int] = {}
        for col, cell in enumerate(row):
            for column, texts in HEADERS.items():
                if column not in found and _header(cell) in texts:
                    found[column] = col
        if "name" in found:
            return top, found
    raise RosterError(f"名单 {name} 的前 {HEADER_ROWS} 行中没有“机关名称”列；请在表头写“机关名称”")


def _duplicates(offices: list[Office]) -> list[str]:
    """A line for every office whose normalised name or code an earlier row has."""
    problems = []
    for what, key in (("机关名称", lambda o: office_key(o.name)), ("编码", lambda o: o.code)):
        first: dict[str, Office] = {}
        for office in offices:
            value = key(office)
            if value and value in first:
                shown = office.name if what == "机关名称" else office.code
                problems.append(f"第 {first[value].row} 行与第 {office.row} 行的{what}重复：“{shown}”")
            elif value:
                first[value] = office
    return problems


def read_roster(path: str | Path) -> Roster:
    """Read a roster; raises RosterError naming every problem (one line each)."""
    path = Path(path)
    try:
        rows = _rows(path)
    except RosterError:
        raise
    except LimitError as exc:
        raise RosterError(f"名单 {path.name} {exc}") from None
    except Damaged as exc:
        raise RosterError(f"名单 {path.name} 已损坏：{exc}") from None
    except OSError as exc:
        raise RosterError(f"无法读取名单 {path}：{describe_os_error(exc)}") from None
    except Exception as exc:  # a damaged workbook: calamine and zipfile raise many kinds
        raise RosterError(f"名单 {path.name} 已损坏，无法读取（{type(exc).__name__}）") from None
    top, found = _header_row(rows, path.name)
    problems: list[str] = []
    offices: list[Office] = []
    blank = 0
    for n, row in enumerate(rows[top + 1:], top + 2):
        cells = {column: _text(row[col]) if col < len(row) else "" for column, col in found.items()}
        if not any(cells.values()):
            blank += 1
        elif not cells["name"]:
            problems.append(f"第 {n} 行没有机关名称")
        elif (deadline := _deadline(cells.get("deadline", ""))) is False:
            problems.append(f"第 {n} 行的公布期限“{cells['deadline']}”不是日期（如 2026-01-20）")
        else:
            offices.append(Office(cells["name"], cells.get("code", ""), cells.get("contact", ""), cells.get("phone", ""), n, cells.get("kind", ""),
                                  deadline))
    problems += _duplicates(offices)
    if problems:
        raise RosterError(f"名单 {path.name} 有 {len(problems)} 处问题：\n" + "\n".join(problems))
    if not offices:
        raise RosterError(f"名单 {path.name} 中没有机关")
    return Roster(path, offices, blank)


# ----------------------------------------------------------------------- which office is a file

@dataclass
class Claim:
    """Which roster office a file belongs to, how that was decided, and what about it is odd."""

    office: Office | None
    match: str = ""  # "identity", "exact", "normalised", "area", "file name"
    problems: list[str] = field(default_factory=list)


# How a file was found to be an office's (or last year's report of it), in words.
MATCHES = {"identity": "下发标识", "code": "下发标识中的名单编码一致", "exact": "机关名称完全一致", "normalised": "机关名称规范化后一致",
           "area": "去掉上级行政区划后一致", "file name": "下发的文件名", "given": "--previous 指定"}


class Offices:
    """The roster's offices, indexed for finding a file's office."""

    def __init__(self, roster: Roster):
        self.roster = roster
        self.codes = roster.by_code()
        self.names = NameIndex((o.name, o) for o in roster.offices)

    def by_name(self, name: str | None) -> tuple[str | None, Office | None, list[Office]]:
        """(match, the office, every candidate): the office only when exactly one fits."""
        if not name:
            return None, None, []
        match, found = self.names.find(name)
        return match, (found[0] if len(found) == 1 else None), found

    def by_identity(self, code: str | None, office: str | None) -> Office | None:
        if code and code in self.codes:
            return self.codes[code]
        return self.by_name(office)[1]

    def by_file_name(self, path: Path) -> Office | None:
        """For a file that could not be read: its distributed name, 编码-机关名称-年度报告."""
        stem = path.stem
        code = stem.split("-", 1)[0]
        if code in self.codes:
            return self.codes[code]
        key = office_key(stem)
        inside = [o for o in self.roster.offices if office_key(o.name) and office_key(o.name) in key]
        longest = max((len(office_key(o.name)) for o in inside), default=0)
        best = [o for o in inside if len(office_key(o.name)) == longest]
        return best[0] if len(best) == 1 else None
