"""The report's six section headings: found on their own lines, run on with their text in one
line (crawler bodies printing the whole report on one line), or split over two lines."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from nianbao.importers.document import Cell, Row
from nianbao.importers.text import norm
from nianbao.spec import FormSpec

_HEADING = re.compile(r"^\s*([一二三四五六七八九十]+)\s*[、.．]")  # a section heading starts with its numeral
_INNER = re.compile(r"(?<![一二三四五六七八九十第])([一二三四五六七八九十]+)、")  # a heading starting inside a line
_LENGTH = 60  # characters a heading may take; a line's first this many decide
_SPLIT_HEAD = 30  # a numbered line this short may be a heading wrapped onto the next line
_END = re.compile(r"情况|事项")


@cache
def _numeral(label: str) -> str | None:
    """A section's numeral, as its label in the spec prints it ("三" of "三、收到和处理……")."""
    own = _HEADING.match(label)
    return own.group(1) if own else None


def _section_at(text: str, spec: FormSpec, position: int) -> tuple[int, int] | None:
    """(section number, length of the heading) if ``text`` starts with a section heading from ``position`` on."""
    numeral = _HEADING.match(unicodedata.normalize("NFKC", text))
    if numeral is None:
        return None
    n = next((n for n, section in enumerate(spec.sections) if _numeral(section.label) == numeral.group(1)), None)
    if n is None or n < position:
        return None
    head = text[:_LENGTH]
    folded = norm(head)
    keyword = next((k for k in spec.sections[n].keywords if norm(k) in folded), None)
    if keyword is None:
        return None
    where = head.find(keyword)
    end = _END.search(head, where) if where >= 0 else None
    return n, (end.end() if end else (where + len(keyword) if where >= 0 else len(head)))


def _broken(cell: Cell, spec: FormSpec) -> list[tuple[str, bool]]:
    """A cell's text cut where section headings start inside it, each heading cut from the text
    after it: (piece, is a heading)."""
    text, pieces, position = cell.text, [], 0
    cuts = [m.start() for m in _INNER.finditer(text) if m.start() > 0 and _section_at(text[m.start():], spec, 0)]
    starts = [0, *cuts]
    for a, b in zip(starts, [*cuts, len(text)], strict=True):
        piece = text[a:b]
        found = _section_at(piece, spec, position)
        if found is not None:
            position = found[0]
            pieces += [(piece[:found[1]], True), (piece[found[1]:], False)]
        else:
            pieces.append((piece, False))
    return [(p, heading) for p, heading in pieces if p.strip()]


def break_lines(rows: list[Row], spec: FormSpec) -> list[Row]:
    """Rows with every heading on a line of its own (a long line may hold several, run on with their text)."""
    out: list[Row] = []
    for row in rows:
        if sum(len(c.text) for c in row) <= _LENGTH:
            out.append(row)
            continue
        current: Row = []
        for cell in row:
            if not _INNER.search(cell.text):
                current.append(cell)
                continue
            for piece, heading in _broken(cell, spec):
                if heading and current:
                    out.append(current)
                    current = []
                current.append(Cell(piece, cell.origin))
                if heading:
                    out.append(current)
                    current = []
        if current:
            out.append(current)
    return out


def _wrapped(row: Row, following: list[Row]) -> bool:
    """A short numbered line of words alone, and a line of words after it that starts no heading of its own."""
    if len(following) != 1 or len([c for c in row if c.text]) != 1 or len([c for c in following[0] if c.text]) != 1:
        return False
    text, after = "".join(c.text for c in row).strip(), "".join(c.text for c in following[0]).strip()
    return len(text) <= _SPLIT_HEAD and len(after) <= _SPLIT_HEAD and not _HEADING.match(unicodedata.normalize("NFKC", after))


def headings(rows: list[Row], spec: FormSpec) -> dict[str, tuple[int, int]]:
    """For each section heading found, in order: (its row, the first row after it)."""
    found: dict[str, tuple[int, int]] = {}
    position = 0
    for i, row in enumerate(rows):
        text = "".join(c.text for c in row).strip()
        if not text or len(text) > _LENGTH:
            continue
        hit, body = _section_at(text, spec, position), i + 1
        if hit is None and _wrapped(row, rows[i + 1:i + 2]):  # "三、收到和处理政府信息公开" / "申请情况"
            joined = text + "".join(c.text for c in rows[i + 1]).strip()
            hit, body = _section_at(joined[:_LENGTH], spec, position), i + 2
        if hit is None or spec.sections[hit[0]].key in found:
            continue
        found[spec.sections[hit[0]].key] = (i, body)
        position = hit[0] + 1
    return found
