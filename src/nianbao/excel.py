"""The 检查 and 清除标注 buttons: run inside Excel through xlwings' RunPython.

``check()`` reads the live values of the workbook that called it (unsaved edits included), runs
the same checker as the CLI, and writes the findings into that workbook as a layer nianbao owns:
a note on each offending cell (after any note of the user's), a fill by severity, and a 检查结果
sheet. The fills it replaced are recorded in a hidden sheet, so the next click (or ``clear()``)
restores them. Errors are shown in a Chinese message box, not as a Python traceback.
"""

from __future__ import annotations

from nianbao.annotate import EXPLAIN_COLUMN, EXPLAIN_FILL, FILLS, MARKER, MARKS_SHEET, by_place, note_text, results_rows, severity_of, user_part
from nianbao.explanations import RESULTS_SHEET, STORE_SHEET, Explanation, explain, kept, store_rows
from nianbao.files import inert_text
from nianbao.findings import Finding
from nianbao.pipeline import check_values
from nianbao.read import ReadError, Source, read_source

TITLE = "nianbao 年报检查"


def setup(path, interpreters: dict[str, str]) -> None:
    """Point a macro template's buttons at Python (the xlwings.conf sheet), in place. Only the
    entries given (Interpreter_Win, Interpreter_Mac) change; the others keep their value."""
    from pathlib import Path

    from openpyxl import load_workbook

    from nianbao.files import atomic_path, describe_os_error
    from nianbao.limits import LimitError, check_package
    from nianbao.template import CONF_SHEET

    path = Path(path)
    try:
        check_package(path)
        wb = load_workbook(path, keep_vba=True)
    except LimitError as exc:
        raise ReadError(f"{path.name} {exc}") from None
    except OSError as exc:
        raise ReadError(f"无法打开 {path.name}：{describe_os_error(exc)}") from None
    except Exception:  # openpyxl and zipfile raise many kinds for a damaged package
        raise ReadError(f"{path.name} 已损坏，或不是 Excel 工作簿") from None
    if CONF_SHEET not in wb.sheetnames:
        raise ReadError(f"{path.name} 没有 {CONF_SHEET} 工作表，不是带按钮的 nianbao 模板（nianbao template --macro）")
    conf = wb[CONF_SHEET]
    current = {row[0].value: row[1].value for row in conf.iter_rows(max_col=2) if row[0].value}
    conf.delete_rows(1, conf.max_row)
    for key, value in (current | interpreters).items():
        conf.append([key, value])
        conf.cell(conf.max_row, 2).data_type = "s"
    with atomic_path(path) as tmp:
        wb.save(tmp)


def _hex(argb: str) -> str:
    return f"#{argb[-6:]}"


OURS = {_hex(c).lower() for c in FILLS.values()}


def _color_hex(color) -> str | None:
    """xlwings gives a fill as an (r, g, b) tuple or None."""
    if color is None:
        return None
    if isinstance(color, str):
        return color.lower()
    return "#{:02x}{:02x}{:02x}".format(*color[:3])


class LiveBook(Source):
    """The cells of a workbook open in Excel, read one used range per sheet (one call each)."""

    def __init__(self, book):
        self.book = book
        self.sheet_parts = {sheet.name: sheet.name for sheet in book.sheets}
        self.names = {name.name: str(name.refers_to).lstrip("=") for name in book.names}
        self.plan_key = ("live", tuple(sorted(self.names.items())), tuple(self.sheet_parts))
        self._grids: dict[str, list[list]] = {}

    def grid(self, sheet: str) -> list[list]:
        if sheet not in self._grids:
            used = self.book.sheets[sheet].used_range
            values = used.options(ndim=2).value or []
            pad = [""] * (used.column - 1)
            self._grids[sheet] = [[] for _ in range(used.row - 1)] + [pad + ["" if v is None else v for v in row] for row in values]
        return self._grids[sheet]


def _caller(book):
    if book is not None:
        return book
    import xlwings as xw

    return xw.Book.caller()


def check(book=None) -> list[Finding] | None:
    """Entry point of the 检查 button."""
    book = _caller(book)
    try:
        return _run(book, annotate=True)
    except ReadError as exc:
        book.app.alert(f"无法检查：{exc}", title=TITLE)
    except Exception as exc:  # anything else: a clear message, never a traceback window
        book.app.alert(f"检查没有完成：{type(exc).__name__}：{exc}\n请把本工作簿和这条信息发给技术支持。", title=TITLE)
    return None


def clear(book=None) -> None:
    """Entry point of the 清除标注 button."""
    book = _caller(book)
    try:
        _run(book, annotate=False)
    except Exception as exc:
        book.app.alert(f"清除标注没有完成：{type(exc).__name__}：{exc}", title=TITLE)


def _run(book, annotate: bool) -> list[Finding]:
    app = book.app
    app.screen_updating = False
    sheets = {sheet.name: sheet for sheet in book.sheets}  # one round trip; reused below
    protected = _unprotect(sheets)
    try:
        live = LiveBook(book)
        findings: list[Finding] = []
        if annotate:  # read before our sheets go: the 说明 written in 检查结果 is read back with the values
            values = read_source(live, book.name)
            findings = check_values(values)
            stale = explain(findings, values.explanations)
        else:
            stale = list(live.explanations().values())
        _clear(book, sheets)
        if annotate:
            _annotate(book, sheets, findings, stale)
        _store(book, sheets, kept(findings, stale))
        return findings
    finally:
        _protect(protected)
        app.screen_updating = True


def _unprotect(sheets: dict) -> list:
    """Sheets protected without a password (as our templates are) are opened for writing."""
    opened = []
    for sheet in sheets.values():
        if sheet.api.ProtectContents:
            sheet.api.Unprotect()
            opened.append(sheet)
    return opened


def _protect(sheets: list) -> None:
    for sheet in sheets:
        sheet.api.Protect(Contents=True, AllowFormattingColumns=True, AllowFormattingRows=True)


def _clear(book, sheets: dict) -> None:
    """Remove our layer; ``sheets`` loses the sheets deleted."""
    if MARKS_SHEET in sheets:
        rows = sheets[MARKS_SHEET].used_range.options(ndim=2).value or []
        for name, address, original, *_ in rows[1:]:  # a CLI copy's record also has the format it replaced
            if name not in sheets or not address:
                continue
            cell = sheets[name][address]
            note = cell.note
            if note is not None and MARKER in note.text:
                user = user_part(note.text)
                if user:
                    note.text = user
                else:
                    note.delete()
            if _color_hex(cell.color) in OURS:  # a fill the user changed after our run is theirs now
                cell.color = original or None
        sheets.pop(MARKS_SHEET).delete()
    for name in (RESULTS_SHEET, STORE_SHEET):
        if name in sheets:
            sheets.pop(name).delete()


def _store(book, sheets: dict, kept: list[Explanation]) -> None:
    """The hidden copy of the explanations, so 清除标注 keeps them."""
    if kept:
        store = book.sheets.add(STORE_SHEET, after=list(sheets.values())[-1])
        store["A1"].value = [[inert_text(v) for v in row] for row in store_rows(kept)]
        store.visible = False


def _annotate(book, sheets: dict, findings: list[Finding], stale: list[Explanation]) -> None:
    marks = [["sheet", "cell", "original_fill"]]
    for (name, address), group in by_place(findings, list(sheets)).items():
        cell = sheets[name][address]
        ours = note_text(group)
        note = cell.note
        if note is not None:
            note.text = f"{note.text}\n\n{ours}"
        else:
            cell.add_note(ours)
        marks.append([name, address, _color_hex(cell.color) or ""])
        cell.color = _hex(FILLS[severity_of(group)])
    last, first = list(sheets.values())[-1], next(iter(sheets.values()))
    record = book.sheets.add(MARKS_SHEET, after=last)
    record["A1"].value = marks
    record.visible = False
    results = book.sheets.add(RESULTS_SHEET, before=first)
    rows = results_rows(findings, book.name, stale)
    width = max(len(row) for row in rows)
    # One call for the whole table; text that Excel would take as a formula is marked as text.
    results["A1"].value = [[inert_text(v) for v in row] + [None] * (width - len(row)) for row in rows]
    for n, f in enumerate(findings, 4):
        if f.sheet in sheets and f.cell:
            results[f"D{n}"].add_hyperlink(f"#'{f.sheet}'!{f.cell}", f"{f.sheet}!{f.cell}")
    if len(rows) > 3:  # the 说明 column, where the clerk writes, in the input colour
        results[f"{EXPLAIN_COLUMN}4:{EXPLAIN_COLUMN}{len(rows)}"].color = _hex(EXPLAIN_FILL)
    results.activate()
