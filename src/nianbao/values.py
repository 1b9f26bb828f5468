"""What a cell means: the raw content of one input cell interpreted for its type.

Blank, 0, "/" and "-" are different things and stay different. A value is normalised only where
its meaning is certain ("15件" in a count cell, full-width "１５", a number stored as text), and the
normalisation is recorded as an ``issue`` so that a finding says what was read. Anything else is
left unread (``value is None``) with an issue that names what was seen.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from nianbao.explanations import Explanation
from nianbao.findings import Hit
from nianbao.spec import CellSpec, FormSpec

# Issues that leave the cell unread, and issues where a value was read after normalising.
# "missing": an imported report does not print the cell; "absent": nor its whole table.
UNREAD = {"blank", "slash", "dash", "text", "wrong_unit", "formula_no_cache", "formula", "error_value", "too_large", "missing", "absent"}
NORMALISED = {"unit", "fullwidth", "text_number", "text_date"}

FORMULA_NO_CACHE = object()  # sentinel a reader passes for a formula cell with no cached value
MAX_DIGITS = 15  # beyond this a number is no count or amount of a report (and not exact in a float)


@dataclass(frozen=True, slots=True)
class ErrorValue:
    """A formula's cached error (#REF!, #DIV/0!, ...), which a reader passes instead of a value."""

    code: str


_UNITS = {"count": ("件", "条", "项", "个", "次"), "delta": ("件", "条", "项", "个"), "amount": ("万元",), "year": ("年",)}
_OTHER_UNITS = ("万元", "元", "件", "条", "项", "个", "次", "年", "%", "％")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
NUMBERS = {"count", "delta", "amount", "year"}  # types read from a float as a number
_SLASHES = {"/", "\\", "／", "＼"}
_DASHES = {"-", "－", "—", "——", "–", "─", "--", "---"}


@dataclass(slots=True)
class CellValue:
    raw: object  # what the file holds (None for an empty cell)
    value: object  # int, Decimal, str, date, or None when nothing could be read
    issue: str | None = None
    detail: str = ""  # what was normalised, for the message


def _number(text: str) -> int | Decimal | None:
    if len(text) > 2 * MAX_DIGITS or not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() and "." not in text else number


def from_float(raw: float) -> int | Decimal | None:
    """A number as the sheet holds it: whole numbers as int, others exactly as shown (Decimal);
    None for NaN, infinity and magnitudes no report holds, which are left unread."""
    if not -_LARGEST < raw < _LARGEST:  # also false for NaN
        return None
    return int(raw) if raw.is_integer() else Decimal(repr(raw))


_LARGEST = 10.0 ** MAX_DIGITS


def interpret(raw: object, cell: CellSpec) -> CellValue:
    """Interpret the raw content of an input cell according to the cell's type."""
    if raw is FORMULA_NO_CACHE:
        return CellValue(None, None, "formula_no_cache", "单元格是公式，但文件中没有保存计算结果；请在 Excel 或 WPS 中打开并保存")
    if isinstance(raw, ErrorValue):
        return CellValue(raw.code, None, "error_value", raw.code)
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return CellValue(raw if raw != "" else None, None, "blank")
    if cell.type == "text":
        shown = from_float(raw) if isinstance(raw, float) else raw
        return CellValue(raw, raw.strip() if isinstance(raw, str) else str(raw if shown is None else shown))
    if cell.type == "date":
        return _date(raw)
    if isinstance(raw, bool):
        return CellValue(raw, None, "text", str(raw))
    if isinstance(raw, (int, float)):
        number = from_float(raw) if isinstance(raw, float) else raw if abs(raw) < _LARGEST else None
        if number is None:
            return CellValue(raw, None, "too_large", _shown(raw))
        return CellValue(raw, number)
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return CellValue(raw, None, "text", str(raw))
    return _numeric_text(str(raw), cell)


def _numeric_text(raw: str, cell: CellSpec) -> CellValue:
    stripped = raw.strip()
    if stripped in _SLASHES:
        return CellValue(raw, None, "slash")
    if stripped in _DASHES:
        return CellValue(raw, None, "dash")
    folded = unicodedata.normalize("NFKC", stripped).replace(",", "").replace(" ", "")
    fullwidth = folded != stripped.replace(",", "").replace(" ", "") and any(unicodedata.east_asian_width(ch) == "F" for ch in stripped)
    for unit in _UNITS.get(cell.type, ()):
        if folded.endswith(unit) and (number := _number(folded[: -len(unit)])) is not None:
            return CellValue(raw, number, "unit", f"“{raw}”按 {number} 读取（去掉单位“{unit}”）")
    for unit in _OTHER_UNITS:
        if folded.endswith(unit) and _number(folded[: -len(unit)]) is not None:
            return CellValue(raw, None, "wrong_unit", f"“{raw}”带单位“{unit}”，与本栏要求不符")
    number = _number(folded)
    if number is None:
        digits = sum(ch.isdigit() for ch in folded)
        if digits > MAX_DIGITS and digits >= len(folded) - 2:
            return CellValue(raw, None, "too_large", _shown(raw))
        return CellValue(raw, None, "text", raw)
    if abs(number) >= _LARGEST:
        return CellValue(raw, None, "too_large", _shown(raw))
    if fullwidth:
        return CellValue(raw, number, "fullwidth", f"全角字符“{raw}”按 {number} 读取")
    return CellValue(raw, number, "text_number", f"以文本形式填写的“{raw}”按 {number} 读取")


def _shown(raw: object) -> str:
    """A value for a message, shortened: a cell may hold 100,000 digits."""
    text = str(raw)
    return text if len(text) <= 24 else f"{text[:12]}…{text[-6:]}（共 {len(text)} 个字符）"


def _date(raw: object) -> CellValue:
    if isinstance(raw, dt.datetime):
        return CellValue(raw, raw.date())
    if isinstance(raw, dt.date):
        return CellValue(raw, raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 20000 < raw < 80000:
        # An Excel serial day number: the cell holds a date shown without a date format.
        return CellValue(raw, dt.date(1899, 12, 30) + dt.timedelta(days=int(raw)))
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if match := DATE_TEXT.fullmatch(text):
        try:
            value = dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            return CellValue(raw, None, "text", str(raw))
        return CellValue(raw, value, "text_date", f"以文本形式填写的“{raw}”按 {value.isoformat()} 读取")
    if text in _SLASHES:
        return CellValue(raw, None, "slash")
    if text in _DASHES:
        return CellValue(raw, None, "dash")
    return CellValue(raw, None, "text", str(raw))


@dataclass
class Values:
    """The content of one report: values by key, what was wrong in which cell, where each cell
    was read, and structural problems."""

    spec: FormSpec
    data: dict[str, object]  # key -> value (None when nothing could be read)
    issues: dict[str, CellValue] = field(default_factory=dict)  # only the cells with an issue
    where: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sheet, A1)
    hits: list[Hit] = field(default_factory=list)  # problems found while reading
    source: str = ""
    origins: dict[str, str] = field(default_factory=dict)  # key -> place in an imported report
    meta: dict[str, str] = field(default_factory=dict)  # the hidden record: format, version, distribution identity
    explanations: dict[str, Explanation] = field(default_factory=dict)  # finding id -> the clerk's 说明
    unread: dict[str, str] = field(default_factory=dict)  # key -> why an imported report's cell could not be read
    imported: bool = False  # read from a published report (importers), not from a workbook a clerk filled
    # What the roster says of the office the report is for (``kind``: 类型, ``deadline``: a local
    # 公布期限), set by a batch run with a roster: read by the deadline rule kind (F101).
    context: dict[str, object] = field(default_factory=dict)

    def value(self, key: str) -> object:
        return self.data.get(key)

    def set(self, key: str, cell: CellValue) -> None:
        self.data[key] = cell.value
        if cell.issue is not None:
            self.issues[key] = cell
        else:
            self.issues.pop(key, None)


_ABSENT = object()


class Packed(Mapping):
    """A read-only mapping over a fixed tuple of keys shared by many reports: each report holds one
    tuple of values, not a dict of its own (what a batch keeps of 20,000 reports stays small)."""

    __slots__ = ("_index", "_items")

    def __init__(self, index: dict[str, int], source: Mapping, share: Callable[[object], object] = lambda v: v):
        self._index = index  # key -> position, one dict for every report of a format
        self._items = tuple(share(source[k]) if k in source else _ABSENT for k in index)

    def __getitem__(self, key: str) -> object:
        value = self._items[self._index[key]]
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __iter__(self):
        return (k for k, v in zip(self._index, self._items, strict=True) if v is not _ABSENT)

    def __len__(self) -> int:
        return sum(v is not _ABSENT for v in self._items)

    def __reduce__(self):  # the marker of an absent key is this process's own object
        return Packed, (self._index, dict(self))
