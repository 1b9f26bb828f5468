"""Listing sheets that print: the tables of 汇总.xlsx, 下发清单.xlsx and 催报.xlsx.

xlsxwriter writes no row heights and no column widths of its own, and LibreOffice and WPS do not
fit rows to wrapped text on opening, so wrapped cells overlapped the rows below. A ``Listing``
reads a sheet's rows twice: first to size each column to its content (within a cap per column),
then to write each row as tall as the lines its wrapped text takes; and sets the page up: A4
landscape, one page wide, the header repeated on every page, the title wrapped over the table's
width. The rows can be a function that gives them afresh, and the workbook writes each row to disk
as the next begins (files.listing_workbook), so a summary of 20,000 files is never held whole.
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nianbao.files import writable

FILLS = {"有错误": "#FFC7CE", "有提示": "#FFEB9C", "无法检查": "#D9D9D9", "通过": "#C6EFCE", "提示均已说明": "#DDEBF7", "未报送": "#F8CBAD"}
LINE = 15.0  # points per line of 11-point text (CJK glyphs included)
PAGE = 150  # column width units across an A4 landscape page at a reasonable print scale (about 85%)
LINK_CAP = 50  # the widest column a link to a copy gets (an office name of 40 characters is clipped)


def sheet_formats(wb) -> dict:
    """The formats of nianbao's listing workbooks: header, wrapped text, title, and a fill per status (("fills", status))."""
    return {"bold": wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "top"}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
            "title": wb.add_format({"bold": True, "font_size": 13, "text_wrap": True, "valign": "top"}),
            "note": wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#404040"}),
            "link": wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#0563C1", "underline": 1}),
            **{("fills", s): wb.add_format({"bg_color": c, "valign": "top", "text_wrap": True}) for s, c in FILLS.items()}}


def printable(ws, header_row: int) -> None:
    """A4 landscape, all columns on the page, the header row repeated on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)


def text_width(text: str) -> int:
    """Width units of the longest line of ``text``: a CJK (wide) character takes 1.8 (as rendered by LibreOffice)."""
    return max((round(sum(1.8 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)) for line in str(text).split("\n")), default=0)


def lines(text: str, width: float) -> int:
    """Lines ``text`` takes wrapped in a column ``width`` units wide."""
    room = max(1.0, width - 1)
    return sum(max(1, math.ceil(text_width(line) / room)) for line in str(text).split("\n"))


@dataclass
class Cell:
    """A value with a format other than the sheet's wrapped text, or a link (``url``)."""

    value: object
    fmt: object = None  # a key of the formats, or a format
    url: str | None = None


def copy_cell(path: Path | None, out_dir: Path) -> Cell | str:
    """A link to an annotated copy, relative so the output folder can be moved or shared."""
    if path is None:
        return ""
    link = os.path.relpath(path, out_dir).replace(os.sep, "/")
    return Cell(link, "link", f"external:{link}")


class Listing:
    """One listing sheet: a title, notes, a header and rows, written when ``finish`` is called."""

    def __init__(self, wb, formats: dict, name: str, caps: list[float]):
        self.ws, self.formats, self.caps = wb.add_worksheet(name), formats, caps
        self.top: list[tuple[str, str]] = []  # (text, format key) above the table
        self.header: list[str] = []
        self._rows: Callable[[], Iterable[list]] = list

    def title(self, text: str, style: str = "title") -> Listing:
        self.top.append((text, style))
        return self

    def table(self, header: list[str], rows: list[list] | Callable[[], Iterable[list]]) -> Listing:
        """The header, and the rows: a list, or a function giving them afresh (they are read twice)."""
        self.header, self._rows = header, rows if callable(rows) else lambda: rows
        return self

    def _format(self, fmt):
        """A format by its key in the formats (a name, or ("fills", status)), or the format itself."""
        if fmt is None:
            return self.formats["wrap"]
        return self.formats[fmt] if isinstance(fmt, (str, tuple)) else fmt

    def _widths(self) -> list[float]:
        content = [max([4, *(text_width(h) for h in self.header[col: col + 1])]) for col in range(len(self.caps))]
        links = [0] * len(self.caps)  # LibreOffice does not wrap a link's text: a column of links is as wide as its longest
        for row in self._rows():
            for col, cell in enumerate(row[: len(self.caps)]):
                content[col] = max(content[col], text_width(_value(cell)))
                if isinstance(cell, Cell) and cell.url:
                    links[col] = max(links[col], text_width(cell.value))
        return [max(min(cap, wide + 1.5), min(LINK_CAP, link + 1.5)) for cap, wide, link in zip(self.caps, content, links, strict=True)]

    def finish(self, freeze: bool = True, autofilter: bool = True) -> int:
        """Write everything, sized; returns the header's row index."""
        ws, widths = self.ws, self._widths()
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        last = len(widths) - 1
        total = sum(widths)
        for row, (text, style) in enumerate(self.top):
            ws.merge_range(row, 0, row, last, writable(text), self._format(style))
            ws.set_row(row, lines(text, total * (0.85 if style == "title" else 1)) * (LINE + (3 if style == "title" else 0)))
        head = len(self.top) + (1 if self.top else 0)
        ws.write_row(head, 0, self.header, self.formats["bold"])
        ws.set_row(head, max(lines(h, w) for h, w in zip(self.header, widths, strict=False)) * LINE + 2)
        n = head
        for n, row in enumerate(self._rows(), head + 1):
            for col, cell in enumerate(row):
                _write(ws, n, col, cell, self)
            ws.set_row(n, max([1, *(lines(_value(c), widths[i]) for i, c in enumerate(row) if i < len(widths))]) * LINE + 2)
        if freeze:
            ws.freeze_panes(head + 1, 0)
        if autofilter and n > head:
            ws.autofilter(head, 0, n, last)
        printable(ws, head)
        return head


def _value(cell) -> object:
    return cell.value if isinstance(cell, Cell) else cell


def _write(ws, row: int, col: int, cell, listing: Listing) -> None:
    if isinstance(cell, Cell) and cell.url:
        ws.write_url(row, col, writable(cell.url), listing._format(cell.fmt), string=writable(str(cell.value)))
        return
    value = _value(cell)
    fmt = listing._format(cell.fmt if isinstance(cell, Cell) else None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, "" if value is None else writable(str(value)), fmt)
