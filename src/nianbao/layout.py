"""Where every label and input cell of a form goes, computed from its spec.

The template builder writes this layout, the reader uses it to know which labels must sit
beside each input cell, and ``nianbao cells`` prints it. Coordinates are 0-based (row, col).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache

from nianbao.spec import FormSpec, Table


@cache
def col_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    return f"{col_letter(col)}{row + 1}"


def absolute(row: int, col: int) -> str:
    return f"${col_letter(col)}${row + 1}"


def defined_name(key: str) -> str:
    """Workbook-level name of an input cell; the prefix keeps names from looking like cell refs."""
    return f"NB.{key}"


@dataclass(frozen=True)
class Text:
    """A static cell (title, label, header, note), merged over [row..last_row] x [col..last_col]."""

    row: int
    col: int
    text: str
    style: str
    last_row: int | None = None
    last_col: int | None = None
    link: str | None = None  # internal link target, e.g. a sheet name


@dataclass(frozen=True)
class Label:
    """A label that must be found at (row, col) relative to nothing: the reader checks it."""

    row: int
    col: int
    text: str


@dataclass(frozen=True)
class InputCell:
    key: str
    sheet: str
    row: int
    col: int
    type: str
    last_col: int  # the cell is merged up to here when a value spans several columns
    labels: tuple[Label, ...]  # the row label and the column label printed beside it

    @property
    def address(self) -> str:
        return a1(self.row, self.col)

    @property
    def name(self) -> str:
        return defined_name(self.key)


@dataclass
class SheetLayout:
    name: str
    table: Table | None
    texts: list[Text] = field(default_factory=list)
    inputs: list[InputCell] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    last_row: int = 0  # last row used by the table
    last_col: int = 0  # last column used by the table


@dataclass
class FormLayout:
    spec: FormSpec
    sheets: list[SheetLayout]

    @property
    def inputs(self) -> dict[str, InputCell]:
        return {cell.key: cell for sheet in self.sheets for cell in sheet.inputs}

    def sheet(self, name: str) -> SheetLayout:
        return next(s for s in self.sheets if s.name == name)


def _text_sheet(spec: FormSpec) -> SheetLayout:
    sheet = SheetLayout(spec.text_sheet, None, widths={0: 26, 1: 100})
    sheet.texts.append(Text(0, 0, "政府信息公开工作年度报告", "title", last_col=1))
    sheet.texts.append(Text(1, 0, f"格式：{spec.title}（{spec.notice}）", "subtitle", last_col=1))
    row = 3
    for meta in spec.meta:
        sheet.texts.append(Text(row, 0, meta.label, "label"))
        sheet.inputs.append(InputCell(meta.key, sheet.name, row, 1, meta.type, 1, (Label(row, 0, meta.label),)))
        row += 1
    row += 1
    for section in spec.sections:
        sheet.texts.append(Text(row, 0, section.label, "label"))
        if section.text:
            key = f"text.{section.key}"
            sheet.inputs.append(InputCell(key, sheet.name, row, 1, "text", 1, (Label(row, 0, section.label),)))
            sheet.heights[row] = 160
        else:
            target = spec.table(section.table).sheet
            sheet.texts.append(Text(row, 1, f"见工作表「{target}」", "link", link=target))
        row += 1
    sheet.last_row, sheet.last_col = row - 1, 1
    _fit_rows(sheet)
    return sheet


def _spans(items: list, key) -> list[tuple[int, int, object]]:
    """Runs of consecutive items sharing key(item): (first index, last index, key)."""
    runs: list[tuple[int, int, object]] = []
    for i, item in enumerate(items):
        k = key(item)
        if runs and runs[-1][2] == k and k is not None:
            runs[-1] = (runs[-1][0], i, k)
        else:
            runs.append((i, i, k))
    return runs


def _header(sheet: SheetLayout, block, row: int, n_label: int) -> tuple[list[int], list[int], dict[str, int], int]:
    """A block's column headers from ``row``: column starts and ends, each leaf header's row, and the first data row."""
    depth = max(len(c.group) + 1 for c in block.columns)
    header_top, header_bottom = row, row + depth - 1
    corner = sheet.table.note or block.corner
    if n_label and corner:
        sheet.texts.append(Text(header_top, 0, corner, "note" if sheet.table.note else "header", header_bottom, n_label - 1))
    # Column positions, then group headers level by level, then leaf labels spanning down.
    starts, col = [], n_label
    for c in block.columns:
        starts.append(col)
        col += c.span
    ends = [s + c.span - 1 for s, c in zip(starts, block.columns)]
    for level in range(depth - 1):
        for first, last, group in _spans(block.columns, lambda c, lv=level: c.group[: lv + 1] if len(c.group) > lv else None):
            if group is not None:
                sheet.texts.append(Text(header_top + level, starts[first], group[-1], "header", last_col=ends[last]))
    leaf_rows = {}
    for c, s, e in zip(block.columns, starts, ends):
        leaf_rows[c.key] = header_top + len(c.group)
        sheet.texts.append(Text(leaf_rows[c.key], s, c.label, "header", header_bottom, e))
    return starts, ends, leaf_rows, header_bottom + 1


def _rows(sheet: SheetLayout, block, row: int, n_label: int, columns: tuple[list[int], list[int], dict[str, int]]) -> int:
    """A block's row labels and input cells from ``row``; returns the row after them."""
    starts, ends, leaf_rows = columns
    # Row labels: groups merged down their rows, the leaf label spanning to the last label column.
    first_row = row
    for level in range(n_label - 1):
        for first, last, group in _spans(block.rows, lambda r, lv=level: r.group[: lv + 1] if len(r.group) > lv else None):
            if group is not None:
                sheet.texts.append(Text(first_row + first, level, group[-1], "label", first_row + last, level))
    for r in block.rows:
        if r.label:
            sheet.texts.append(Text(row, len(r.group), r.label, "label", last_col=n_label - 1))
        for c, s, e in zip(block.columns, starts, ends):
            labels = [Label(leaf_rows[c.key], s, c.label)]
            if r.label:
                labels.insert(0, Label(row, len(r.group), r.label))
            sheet.inputs.append(InputCell(f"{sheet.table.key}.{r.key}.{c.key}", sheet.name, row, s, c.type, e, tuple(labels)))
        row += 1
    return row


def _widths(sheet: SheetLayout, table: Table, n_label: int, width: int) -> None:
    # Label columns: the deepest is wide enough for the longest label; data columns fit their headers.
    for level in range(n_label):
        texts = [r.label for r in table.rows if r.label and len(r.group) == level] or [""]
        group_texts = [r.group[level] for r in table.rows if len(r.group) > level]
        longest = max(len(t) for t in texts + group_texts)
        sheet.widths[level] = 44 if level == n_label - 1 else min(max(6, longest * 1.2), 14)
    for c in range(n_label, n_label + width):
        sheet.widths[c] = 11


def _table_sheet(table: Table) -> SheetLayout:
    sheet = SheetLayout(table.sheet, table)
    n_label = max((len(r.group) + 1 for r in table.rows if r.label), default=0)
    width = max(sum(c.span for c in b.columns) for b in table.blocks)
    sheet.texts.append(Text(0, 0, table.title, "title", last_col=max(n_label + width - 1, 0)))
    row = 2
    for block in table.blocks:
        if block.caption:
            sheet.texts.append(Text(row, 0, block.caption, "caption", last_col=n_label + width - 1))
            row += 1
        starts, ends, leaf_rows, row = _header(sheet, block, row, n_label)
        row = _rows(sheet, block, row, n_label, (starts, ends, leaf_rows))
    sheet.last_row, sheet.last_col = row - 1, n_label + width - 1
    _widths(sheet, table, n_label, width)
    _fit_rows(sheet)
    return sheet


def wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` units wide (a CJK character is about two)."""
    return max(1, -(-len(text) * 2 // max(1, int(width))))


def _fit_rows(sheet: SheetLayout) -> None:
    """Long labels wrap: give their rows room, so wrapped lines never overlap the next row."""
    for text in sheet.texts:
        if text.style in ("label", "header") and (text.last_row or text.row) == text.row:
            room = sum(sheet.widths.get(c, 8.43) for c in range(text.col, (text.last_col or text.col) + 1))
            lines = wrapped_lines(text.text, room)
            if lines > 1:
                sheet.heights[text.row] = max(sheet.heights.get(text.row, 0), 14 * lines)


@cache
def form_layout(spec: FormSpec) -> FormLayout:
    return FormLayout(spec, [_text_sheet(spec)] + [_table_sheet(t) for t in spec.tables])


def fingerprint(spec: FormSpec) -> str:
    """A digest of a template's structure (format, version, every input cell's place and labels):
    collection tells a workbook made from another template by it."""
    parts = [spec.id, str(spec.template_version)]
    for cell in form_layout(spec).inputs.values():
        parts += [cell.key, cell.sheet, cell.address, *(label.text for label in cell.labels)]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()
