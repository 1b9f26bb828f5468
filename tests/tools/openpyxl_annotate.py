"""The openpyxl writer of annotated copies that nianbao used before it patched packages
(nianbao.annotate): kept only as the differential oracle of tests/test_annotate.py, which checks
that both write the same values, fills, notes and 检查结果 rows."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.colors import Color
from openpyxl.workbook import Workbook
from openpyxl.worksheet.hyperlink import Hyperlink

from nianbao.annotate import (
    _COLUMNS,
    _HEADER,
    AUTHOR,
    EXPLAIN_FILL,
    FILLS,
    MARKER,
    MARKS_SHEET,
    UNREAD_FILL,
    by_place,
    note_size,
    note_text,
    results_rows,
    severity_of,
    user_part,
)
from nianbao.explanations import RESULTS_SHEET, STORE_SHEET, Explanation, kept, store_rows
from nianbao.files import atomic_path
from nianbao.findings import ERROR, Finding


def _color_json(color: Color | None) -> dict | None:
    if color is None:
        return None
    return {"type": color.type, "value": color.value, "tint": color.tint}


def _color_from(data: dict | None) -> Color | None:
    if not data:
        return None
    return Color(**{data["type"]: data["value"]}, tint=data.get("tint") or 0)


def _fill_json(fill) -> str:
    return json.dumps({"type": fill.fill_type, "fg": _color_json(fill.fgColor), "bg": _color_json(fill.bgColor)})


def _fill_from(text: str) -> PatternFill:
    data = json.loads(text)
    if not data.get("type"):
        return PatternFill(fill_type=None)
    return PatternFill(fill_type=data["type"], fgColor=_color_from(data["fg"]), bgColor=_color_from(data["bg"]))


def _ours(fill) -> bool:
    return fill.fill_type == "solid" and fill.fgColor.type == "rgb" and fill.fgColor.rgb in (*FILLS.values(), UNREAD_FILL)


def clear(wb: Workbook) -> None:
    """Remove nianbao's layer: restore replaced fills, strip our note blocks, drop our sheets
    (the explanations they held are in the findings being written, or the result's ``stale``)."""
    if MARKS_SHEET in wb.sheetnames:
        marks = wb[MARKS_SHEET]
        for sheet, address, original in marks.iter_rows(min_row=2, values_only=True):
            if sheet in wb.sheetnames and address:
                cell = wb[sheet][address]
                if _ours(cell.fill):  # a fill the user changed after our run is theirs now
                    cell.fill = _fill_from(original)
        del wb[MARKS_SHEET]
    for sheet in (RESULTS_SHEET, STORE_SHEET):
        if sheet in wb.sheetnames:
            del wb[sheet]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.comment is not None and MARKER in cell.comment.text:
                    user = user_part(cell.comment.text)
                    cell.comment = Comment(user, cell.comment.author or "") if user else None


def _writable(ws, address: str):
    """The cell that carries a note at ``address``: itself, or the first cell of the merged range
    it was put into (openpyxl cannot annotate the other cells of a merge); None when merges that
    overlap (which Excel would refuse) leave no such cell: the 检查结果 sheet still lists it."""
    cell = ws[address]
    if not isinstance(cell, MergedCell):
        return cell
    for merged in ws.merged_cells.ranges:
        if cell.coordinate in merged:
            first = ws.cell(merged.min_row, merged.min_col)
            if not isinstance(first, MergedCell):
                return first
    return None


def _mark(cell, text: str, fill: str, marks) -> None:
    """Our note block (after the user's note) and our fill on ``cell``, its old fill recorded."""
    user = cell.comment.text if cell.comment is not None else ""
    comment = Comment(f"{user}\n\n{text}" if user else text, AUTHOR)
    comment.width, comment.height = note_size(comment.text)
    cell.comment = comment
    marks.append([cell.parent.title, cell.coordinate, _fill_json(cell.fill)])
    cell.fill = PatternFill(fill_type="solid", fgColor=fill, bgColor=fill)


def _apply(wb: Workbook, findings: list[Finding], unread: dict[tuple[str, str], str]) -> None:
    marks = wb.create_sheet(MARKS_SHEET)
    marks.append(["sheet", "cell", "original_fill"])
    marks.sheet_state = "hidden"
    for (sheet, address), group in by_place(findings, wb.sheetnames).items():
        cell = _writable(wb[sheet], address)
        if cell is not None:
            _mark(cell, note_text(group), FILLS[severity_of(group)], marks)
    for (sheet, address), why in unread.items():
        cell = _writable(wb[sheet], address) if sheet in wb.sheetnames else None
        if cell is not None and cell.comment is None:
            _mark(cell, f"{MARKER}\n未能读取（读取的限度，不是报告的错误）：{why}", UNREAD_FILL, marks)


def _results_sheet(wb: Workbook, findings: list[Finding], source: str, stale: list[Explanation], reading: str) -> None:
    ws = wb.create_sheet(RESULTS_SHEET, 0)
    for row in results_rows(findings, source, stale, reading):
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text from a report, never a formula, whatever it starts with
    ws["A1"].font = Font(bold=True, size=13, color="9C0006" if any(f.severity == ERROR for f in findings) else "375623")
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill(fill_type="solid", fgColor="FFF2F2F2")
    for row, f in enumerate(findings, 4):
        ws.cell(row, 2).fill = PatternFill(fill_type="solid", fgColor=FILLS[f.severity])
        if f.sheet in wb.sheetnames and f.cell:
            link = ws.cell(row, 4)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{f.sheet}'!{f.cell}", display=link.value)
            link.font = Font(color="0563C1", underline="single")
        ws.cell(row, 8).alignment = Alignment(wrap_text=True, vertical="top")
    for row in range(4, ws.max_row + 1):
        if ws.cell(row, len(_HEADER) - 1).value:  # a finding or a stale explanation: its 说明 cell invites writing
            ws.cell(row, len(_HEADER)).fill = PatternFill(fill_type="solid", fgColor=EXPLAIN_FILL)
            ws.cell(row, len(_HEADER)).alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip(_COLUMNS, (6, 9, 7, 12, 18, 30, 18, 60, 10, 10, 22, 14, 40), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A4"
    # Printed landscape on A4, every column (说明 included) on the page, the header on every page.
    ws.page_setup.orientation, ws.page_setup.paperSize = "landscape", ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    if findings:
        ws.auto_filter.ref = f"A3:{_COLUMNS[-1]}{3 + len(findings)}"
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws


def _store(wb: Workbook, explanations: list[Explanation]) -> None:
    if explanations:
        ws = wb.create_sheet(STORE_SHEET)
        for row in store_rows(explanations):
            ws.append(row)
            for cell in ws[ws.max_row]:
                cell.data_type = "s"
        ws.sheet_state = "hidden"


def oracle_annotate(source: str | Path, findings: list[Finding], dest: str | Path, stale: list[Explanation] = (), reading: str = "完整",
             unread: dict[tuple[str, str], str] | None = None) -> Path:
    """Write ``source`` with nianbao's annotations for ``findings`` to ``dest`` (atomically).

    ``source`` is only read; ``dest`` must be a different file. ``stale`` are explanations whose
    finding no longer occurs: listed, never dropped. ``reading`` says what of an imported report
    could not be read (Result.reading); ``unread`` marks those cells, by (sheet, cell), with why.
    """
    source, dest = Path(source), Path(dest)
    if dest.resolve() == source.resolve():
        raise ValueError(f"输出文件与原文件相同：{dest}")
    macro = source.suffix.lower() == ".xlsm"
    wb = load_workbook(source, keep_vba=macro)
    clear(wb)
    _apply(wb, findings, unread or {})
    _results_sheet(wb, findings, source.name, list(stale), reading)
    _store(wb, kept(findings, list(stale)))
    # openpyxl drops every cached formula result; ask Excel/LibreOffice to recalculate on open.
    wb.calculation.fullCalcOnLoad = True
    with atomic_path(dest) as tmp:
        wb.save(tmp)
    return dest
