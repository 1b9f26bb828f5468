"""Render a filled report as a published document would show it: text, HTML, Word. Built from the
layout (merged cells become rowspan/colspan or merged Word cells), so every value's place is known."""

from __future__ import annotations

import html
from pathlib import Path

from nianbao.layout import form_layout
from nianbao.spec import FormSpec


def _grid(spec: FormSpec, sheet_name: str, values: dict) -> tuple[list[list[tuple[str, int, int] | None]], int, int]:
    """Cells of one table sheet as (text, rowspan, colspan) at their top-left; None where covered."""
    sheet = form_layout(spec).sheet(sheet_name)
    top = min(t.row for t in sheet.texts if t.style != "title")
    rows, cols = sheet.last_row - top + 1, sheet.last_col + 1
    grid: list[list] = [[("", 1, 1) for _ in range(cols)] for _ in range(rows)]

    def put(row, col, text, last_row, last_col):
        for r in range(row, last_row + 1):
            for c in range(col, last_col + 1):
                grid[r - top][c] = None
        grid[row - top][col] = (text, last_row - row + 1, last_col - col + 1)

    for t in sheet.texts:
        if t.style != "title":
            put(t.row, t.col, t.text, t.last_row or t.row, t.last_col or t.col)
    for cell in sheet.inputs:
        value = values.get(cell.key)
        put(cell.row, cell.col, "" if value is None else str(value), cell.row, cell.last_col)
    return grid, rows, cols


def _sections(spec: FormSpec, values: dict):
    """(heading, body) in order; a table section's body is its sheet name."""
    for section in spec.sections:
        body = spec.table(section.table).sheet if section.table else str(values.get(f"text.{section.key}") or "")
        yield section, body


def _title(values: dict) -> str:
    return f"{values['meta.office']}{values['meta.year']}年政府信息公开工作年度报告"


def to_text(spec: FormSpec, values: dict, path: Path) -> Path:
    lines = [_title(values)]
    for section, body in _sections(spec, values):
        lines.append(section.label)
        if not section.table:
            lines.append(body)
            continue
        grid, _, _ = _grid(spec, body, values)
        for row in grid:
            lines.append("\t".join(cell[0] if cell else "" for cell in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def to_html(spec: FormSpec, values: dict, path: Path) -> Path:
    parts = [f"<html><body><h1>{html.escape(_title(values))}</h1>"]
    for section, body in _sections(spec, values):
        parts.append(f"<h2>{html.escape(section.label)}</h2>")
        if not section.table:
            parts.append(f"<p>{html.escape(body)}</p>")
            continue
        grid, _, _ = _grid(spec, body, values)
        parts.append('<table border="1">')
        for row in grid:
            tds = "".join(f'<td rowspan="{r}" colspan="{c}">{html.escape(t)}</td>' for t, r, c in filter(None, row))
            parts.append(f"<tr>{tds}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def to_docx(spec: FormSpec, values: dict, path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(_title(values), 1)
    for section, body in _sections(spec, values):
        document.add_paragraph(section.label)
        if not section.table:
            document.add_paragraph(body)
            continue
        grid, rows, cols = _grid(spec, body, values)
        table = document.add_table(rows=rows, cols=cols)
        for r, row in enumerate(grid):
            for c, cell in enumerate(row):
                if cell is None:
                    continue
                text, rowspan, colspan = cell
                target = table.cell(r, c)
                if rowspan > 1 or colspan > 1:
                    target = target.merge(table.cell(r + rowspan - 1, c + colspan - 1))
                target.text = text
    document.save(str(path))
    return path
