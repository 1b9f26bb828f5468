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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from nianbao.spec import CellSpec

# Issues that leave the cell unread, and issues where a value was read after normalising.
# "missing": an imported report does not print the cell; "absent": nor its whole table.
UNREAD = {"blank", "slash", "dash", "text", "wrong_unit", "formula_no_cache", "missing", "absent"}
NORMALISED = {"unit", "fullwidth", "text_number", "text_date"}

FORMULA_NO_CACHE = object()  # sentinel a reader passes for a formula cell with no cached value

_UNITS = {"count": ("件", "条", "项", "个", "次"), "delta": ("件", "条", "项", "个"), "amount": ("万元",), "year": ("年",)}
_OTHER_UNITS = ("万元", "元", "件", "条", "项", "个", "次", "年", "%", "％")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
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
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() and "." not in text else number


def from_float(raw: float) -> int | Decimal:
    """A number as the sheet holds it: whole numbers as int, others exactly as shown (Decimal)."""
    return int(raw) if raw.is_integer() else Decimal(repr(raw))


def interpret(raw: object, cell: CellSpec) -> CellValue:
    """Interpret the raw content of an input cell according to the cell's type."""
    if raw is FORMULA_NO_CACHE:
        return CellValue(None, None, "formula_no_cache")
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return CellValue(raw if raw != "" else None, None, "blank")
    if cell.type == "text":
        return CellValue(raw, str(raw).strip() if isinstance(raw, str) else str(from_float(raw) if isinstance(raw, float) else raw))
    if cell.type == "date":
        return _date(raw)
    if isinstance(raw, bool):
        return CellValue(raw, None, "text", str(raw))
    if isinstance(raw, (int, float)):
        return CellValue(raw, from_float(raw) if isinstance(raw, float) else raw)
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
        return CellValue(raw, None, "text", raw)
    if fullwidth:
        return CellValue(raw, number, "fullwidth", f"全角字符“{raw}”按 {number} 读取")
    return CellValue(raw, number, "text_number", f"以文本形式填写的“{raw}”按 {number} 读取")


def _date(raw: object) -> CellValue:
    if isinstance(raw, dt.datetime):
        return CellValue(raw, raw.date())
    if isinstance(raw, dt.date):
        return CellValue(raw, raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 20000 < raw < 80000:
        # An Excel serial day number: the cell holds a date shown without a date format.
        return CellValue(raw, dt.date(1899, 12, 30) + dt.timedelta(days=int(raw)))
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if match := _DATE.fullmatch(text):
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
