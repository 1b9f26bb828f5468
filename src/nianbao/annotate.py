"""Write findings into a copy of the workbook as a layer nianbao owns.

The layer is: one note per offending cell (our block, after any note of the user's), a fill
colour by severity (the cell's previous format is recorded so the next run can restore it), and
a 检查结果 sheet listing every finding with a link to its cell. Annotating again first removes
the old layer, so runs never stack, and a user's own notes and colours survive.

The copy is written by patching the package (nianbao.package): every part the layer does not
touch is copied as it is, so text boxes, charts, images, sparklines, x14 conditional formats,
tables and VBA survive byte for byte, and cached formula results stay. The package is bounded
before it is parsed, as for a read.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

from python_calamine import CalamineWorkbook

from nianbao import __version__
from nianbao.explanations import (
    ID_HEADER,
    PROBLEM_HEADER,
    RESULTS_SHEET,
    RULE_HEADER,
    STORE_SHEET,
    TEXT_HEADER,
    Explanation,
    is_open,
    kept,
    said,
    store_rows,
)
from nianbao.files import atomic_path, shown
from nianbao.findings import ERROR, Finding
from nianbao.limits import LimitError
from nianbao.package import (
    NOTE_FONT,
    NewSheet,
    Notes,
    Package,
    SheetXml,
    Styles,
    Workbook,
    address,
    bounded_sheets,
    col_letters,
    esc,
    parse_address,
    rels_name,
    solid_fill,
    utf8,
    vml_ids,
)
from nianbao.read import ReadError

MARKS_SHEET = "_nianbao_marks"  # hidden: the formats we replaced, so the next run can restore them
MARKER = "【nianbao 检查】"
AUTHOR = "nianbao"
FILLS = {ERROR: "FFFFC7CE", "提示": "FFF4B084"}  # 提示: orange, clearly not the input colour FFF2CC nor 错误
UNREAD_FILL = "FFD9D9D9"  # a cell of an imported report that could not be read: grey, no severity
_HEADER = ["序号", "严重程度", RULE_HEADER, "位置", "表", "行", "列", PROBLEM_HEADER, "实际值", "期望值", "原文位置", ID_HEADER, TEXT_HEADER]
_COLUMNS = "ABCDEFGHIJKLM"
EXPLAIN_COLUMN = _COLUMNS[_HEADER.index(TEXT_HEADER)]
EXPLAIN_FILL = "FFFFF2CC"  # the template's input colour: the 说明 column is for the clerk to write in
MARKS_HEADER = ["sheet", "cell", "original_fill", "original_style"]


def user_part(text: str) -> str:
    """A note's text without our block: what the user wrote."""
    return text.split(MARKER, 1)[0].rstrip()


def note_text(findings: list[Finding]) -> str:
    """Our block of a cell's note: every finding on the cell, with its explanation if it has one."""
    lines = [MARKER]
    for f in findings:
        lines.append(f"[{f.severity}] {f.rule} {f.message}" + (f"（原文：{f.source}）" if f.source else "") + f"（编号 {f.id}）")
        if f.explanation:
            lines.append(f"  {said(f)}")
    return "\n".join(lines)


def note_size(text: str, width: int = 320) -> tuple[int, int]:
    """A note's box in points, tall enough for its text: about 22 Chinese characters a line."""
    per_line = width // 14
    lines = sum(max(1, -(-len(line) // per_line)) for line in text.split("\n"))
    return width, min(40 + 18 * lines, 600)


def by_place(findings: list[Finding], sheets: list[str]) -> dict[tuple[str, str], list[Finding]]:
    """The findings shown on each cell, for cells of the given sheets."""
    grouped: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        for place in f.places:
            if place[0] in sheets and place[1]:
                grouped[place].append(f)
    return grouped


def severity_of(findings: list[Finding]) -> str:
    return ERROR if any(f.severity == ERROR for f in findings) else "提示"


def results_rows(findings: list[Finding], source: str, stale: list[Explanation] = (), reading: str = "完整") -> list[list]:
    """The 检查结果 sheet: verdict, file line, header, one row per finding (its 说明 last), then the
    explanations no longer needed, in the same columns, so they are read back until removed."""
    errors = sum(f.severity == ERROR for f in findings)
    explained = sum(not is_open(f) for f in findings)
    verdict = "未发现问题" if not findings else (f"错误 {errors} 项（必须修改），提示 {len(findings) - errors} 项（修改或在“说明”列说明理由"
                                               + (f"，已说明 {explained} 项" if explained else "") + "）")
    partial = "" if reading == "完整" else f"；只检查了能读取的部分（{reading}，不算报告的错误）"
    rows = [[f"检查结果：{verdict}{partial}"], [f"文件：{source}；检查时间：{dt.datetime.now():%Y-%m-%d %H:%M}；nianbao {__version__}"], _HEADER]
    for i, f in enumerate(findings, 1):
        rows.append([i, f.severity, f.rule, f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or ""), f.table, f.row,
                     f.column, f.message, "" if f.actual is None else str(f.actual), "" if f.expected is None else str(f.expected),
                     f.source or "", f.id, f.explanation or ""])
    if stale:
        rows += [[], [f"以下 {len(stale)} 条说明所针对的问题本次检查未再出现，说明已不再需要（可删除这些行）："]]
        rows += [["", "", e.rule, "", "", "", "", e.message, "", "", "", e.id, e.text] for e in stale]
    return rows



# --- the 检查结果 sheet ------------------------------------------------------------------------------

# Widest a column grows to fit its content (in character widths) before its text wraps.
_WIDEST = dict(zip(_COLUMNS, (6, 9, 7, 16, 16, 24, 16, 50, 12, 12, 24, 16, 40), strict=True))
_NARROWEST = {EXPLAIN_COLUMN: 20}  # room to write the 说明 in
_LINE_PT = 13.5  # one line of 10 pt 宋体
_FONT = '<sz val="10"/><name val="宋体"/><family val="3"/><charset val="134"/>'
_BORDER = ('<border>' + "".join(f'<{side} style="thin"><color rgb="FFBFBFBF"/></{side}>' for side in ("left", "right", "top", "bottom"))
           + "<diagonal/></border>")


def _display(text: str) -> int:
    """Width of a text in character widths: a Chinese character takes two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _lines(text: str, width: float) -> int:
    per = max(1, int(width) - 1)
    return sum(max(1, -(-_display(line) // per)) for line in text.split("\n"))


class _ResultStyles:
    """The cell formats of the sheets nianbao adds, appended to the workbook's styles once."""

    def __init__(self, styles: Styles):
        self.styles = styles
        self.cache: dict[tuple, int] = {}

    def __call__(self, font: str = "", fill: str | None = None, border: bool = True, wrap: bool = True) -> int:
        key = (font, fill, border, wrap)
        if key not in self.cache:
            font_id = self.styles.add("fonts", f"<font>{font}{_FONT if 'sz val' not in font else ''}</font>")
            fill_id = self.styles.add("fills", solid_fill(fill)) if fill else 0
            border_id = self.styles.add("borders", _BORDER) if border else 0
            align = '<alignment vertical="top" wrapText="1"/>' if wrap else ""
            self.cache[key] = self.styles.add("cellXfs", f'<xf numFmtId="0" fontId="{font_id}" fillId="{fill_id}" borderId="{border_id}" '
                                              f'xfId="0" applyFont="1" applyFill="1" applyBorder="1" applyAlignment="1">{align}</xf>')
        return self.cache[key]


def _cell(row: int, col: int, value: object, style: int) -> str:
    ref = f"{col_letters(col)}{row}"
    if value is None or value == "":
        return f'<c r="{ref}" s="{style}"/>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{ref}" s="{style}"><v>{value}</v></c>'
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{esc(value)}</t></is></c>'


def _widths(rows: list[list]) -> dict[str, float]:
    """Each column as wide as its content (header included), up to its widest."""
    widths = {}
    for i, col in enumerate(_COLUMNS):
        content = max((_display(str(r[i])) for r in rows if i < len(r) and r[i] not in (None, "")), default=0)
        widths[col] = float(min(max(content, _display(_HEADER[i]), _NARROWEST.get(col, 0)) + 2, _WIDEST[col]))
    return widths


def _styles_of(findings: list[Finding], rows: list[list], sheets: list[str], style: _ResultStyles) -> dict[tuple[int, int], int]:
    """The format of every cell of the table (rows from 3): header, severity fills, links, 说明."""
    out = {}
    for col in range(1, len(_HEADER) + 1):
        out[(3, col)] = style("<b/>", "FFF2F2F2")
    explain = len(_HEADER)
    for r in range(4, len(rows) + 1):
        row = rows[r - 1]
        if not row or len(row) < explain:
            continue
        for col in range(1, explain + 1):
            out[(r, col)] = style()
        if row[explain - 2]:  # a finding or a stale explanation: its 说明 cell invites writing
            out[(r, explain)] = style(fill=EXPLAIN_FILL)
    for r, f in enumerate(findings, 4):
        out[(r, 2)] = style(fill=FILLS[f.severity])
        if f.sheet in sheets and f.cell:
            out[(r, 4)] = style('<u/><color rgb="FF0563C1"/>')
    return out


def _results_xml(findings: list[Finding], rows: list[list], sheets: list[str], style: _ResultStyles) -> bytes:
    widths = _widths(rows[2:])
    formats = _styles_of(findings, rows, sheets, style)
    title = style('<b/><sz val="13"/><color rgb="{}"/><name val="宋体"/><family val="3"/><charset val="134"/>'.format(
        "FF9C0006" if any(f.severity == ERROR for f in findings) else "FF375623"), border=False, wrap=False)
    plain = style(border=False, wrap=False)
    out = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c in range(1, len(_HEADER) + 1):
            value = row[c - 1] if c - 1 < len(row) else None
            s = formats.get((r, c), title if r == 1 else plain)
            if value not in (None, "") or (r, c) in formats:
                cells.append(_cell(r, c, value, s))
        lines = max((_lines(str(v), widths[_COLUMNS[i]]) for i, v in enumerate(row) if v not in (None, "")), default=1) if r >= 3 else 1
        height = f' ht="{lines * _LINE_PT + 3:.1f}" customHeight="1"' if r >= 3 else (' ht="20" customHeight="1"' if r == 1 else "")
        out.append(f'<row r="{r}"{height}>{"".join(cells)}</row>')
    cols = "".join(f'<col min="{i}" max="{i}" width="{widths[c]}" customWidth="1"/>' for i, c in enumerate(_COLUMNS, 1))
    links = "".join(f'<hyperlink ref="D{r}" location="{esc(f"{chr(39)}{f.sheet}{chr(39)}!{f.cell}")}" display="{esc(f"{f.sheet}!{f.cell}")}"/>'
                    for r, f in enumerate(findings, 4) if f.sheet in sheets and f.cell)
    last = len(_COLUMNS)
    filt = f'<autoFilter ref="A3:{col_letters(last)}{3 + len(findings)}"/>' if findings else ""
    # Printed landscape on A4, every column (说明 included) on the page, the header on every page.
    xml = (f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
           '<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="3" topLeftCell="A4" activePane="bottomLeft" '
           'state="frozen"/><selection pane="bottomLeft" activeCell="A4" sqref="A4"/></sheetView></sheetViews>'
           f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>{"".join(out)}</sheetData>{filt}'
           + (f"<hyperlinks>{links}</hyperlinks>" if links else "")
           + '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>'
           '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + utf8(xml)


def _plain_sheet(rows: list[list]) -> bytes:
    """A hidden sheet of text rows (nianbao's records)."""
    body = "".join(f'<row r="{r}">' + "".join(_cell(r, c, v, 0).replace(' s="0"', "") for c, v in enumerate(row, 1)) + "</row>"
                   for r, row in enumerate(rows, 1))
    return utf8(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>')


# --- the layer -------------------------------------------------------------------------------------------


def _writable(merges: list[tuple[int, int, int, int]], place: tuple[int, int]) -> tuple[int, int] | None:
    """The cell that carries a note at ``place``: itself, or the first cell of the merged range it
    was put into; None when merges that overlap (which Excel would refuse) leave no such cell (the
    检查结果 sheet still lists it)."""
    def covered(p: tuple[int, int]) -> bool:  # inside a merge without being its first cell
        return any(r1 <= p[0] <= r2 and c1 <= p[1] <= c2 and p != (r1, c1) for r1, c1, r2, c2 in merges)

    if not covered(place):
        return place
    return next(((r1, c1) for r1, c1, r2, c2 in merges if r1 <= place[0] <= r2 and c1 <= place[1] <= c2 and not covered((r1, c1))),
                None)


def _original_fill(value: object) -> str | None:
    """The fill a mark recorded, as a <fill> (None: no fill): ARGB or #RRGGBB (ours, the 检查
    button's), or the JSON of copies written by openpyxl before."""
    text = str(value or "").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            text = (data.get("fg") or {}).get("value") if data.get("type") else ""
        except (ValueError, AttributeError):
            return None
    text = str(text or "").lstrip("#").upper()
    text = "FF" + text if len(text) == 6 else text
    return solid_fill(text) if len(text) == 8 and all(c in "0123456789ABCDEF" for c in text) else None


def _marks(data: bytes) -> list[list]:
    """The rows of the hidden record of an earlier run (in the bytes the package was bounded in)."""
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(MARKS_SHEET).to_python()[1:]
    except Exception:  # a record that cannot be read restores nothing; our fills then stay as the user's
        return []


class _Layer:
    """One copy being written: the old layer found and removed, the new one added."""

    OURS = {*FILLS.values(), UNREAD_FILL}
    SHEETS = (MARKS_SHEET, RESULTS_SHEET, STORE_SHEET)

    def __init__(self, package: Package):
        self.package = package
        self.book = Workbook(package)
        self.xml = bounded_sheets(package, self.book)
        self.styles = Styles(package)
        self.sheets: dict[str, SheetXml] = {}
        self.notes: dict[str, Notes] = {}
        self.merges: dict[str, list] = {}
        self.vml_ids = vml_ids(package)
        self.marks: list[list] = [MARKS_HEADER]
        self.marked: dict[tuple[str, tuple[int, int]], tuple[str, int]] = {}  # cell -> (our fill, its own format)
        self.sizes: dict[str, dict[tuple[int, int], tuple[int, int]]] = defaultdict(dict)
        self.names = [s.name for s in self.book.sheets if s.name in self.xml and s.name not in self.SHEETS]

    def sheet(self, name: str) -> SheetXml:
        if name not in self.sheets:
            self.sheets[name] = SheetXml(self.xml[name])
        return self.sheets[name]

    def notes_of(self, name: str) -> Notes:
        if name not in self.notes:
            self.notes[name] = Notes(self.package, self.book.sheet(name).part, self.xml[name], self.vml_ids)
        return self.notes[name]

    def clear(self) -> None:
        """Remove nianbao's layer: restore replaced formats, strip our note blocks, drop our sheets
        (the explanations they held are in the findings being written, or the result's ``stale``)."""
        if MARKS_SHEET in self.xml:
            for row in _marks(self.package.data):
                self._restore(*(list(row) + [None] * 4)[:4])
        for name in self.names:
            if rels_name(self.book.sheet(name).part) not in self.package:  # no notes, nothing else related
                continue
            notes = self.notes_of(name)
            for place in notes.has_ours(MARKER):
                self._strip(notes, place)
        for name in self.SHEETS:
            self.book.drop_sheet(name)

    def _restore(self, name: object, cell: object, fill: object, style: object) -> None:
        place = parse_address(str(cell or ""))
        if name not in self.names or place is None:
            return
        sheet = self.sheet(str(name))
        current = sheet.style(*place)
        if self.styles.solid_rgb(current) not in self.OURS:  # a fill the user changed after our run is theirs now
            return
        if isinstance(style, (int, float)) and 0 <= style < len(self.styles.items_of("cellXfs")):
            sheet.set_style(*place, int(style))
        else:  # a record of the 检查 button or of an openpyxl-written copy: the fill it names
            sheet.set_style(*place, self.styles.with_fill(current, _original_fill(fill)))

    def _strip(self, notes: Notes, place: tuple[int, int]) -> None:
        """Our block out of a note: the user's part stays as they wrote it."""
        runs = []
        for rpr, text in notes.runs(place):
            runs.append((rpr, text.split(MARKER, 1)[0]))
            if MARKER in text:
                break
        while runs and not runs[-1][1].rstrip():
            runs.pop()
        if runs:
            runs[-1] = (runs[-1][0], runs[-1][1].rstrip())
            notes.set(place, runs, AUTHOR)
        else:
            notes.remove(place)

    def mark(self, name: str, cell: str, text: str, fill: str, only_unnoted: bool = False) -> None:
        """Our block (after the user's note) and our fill on a cell, its format recorded."""
        place = parse_address(cell) if name in self.names else None
        if place is not None and name not in self.merges:
            self.merges[name] = self.sheet(name).merges()
        place = _writable(self.merges[name], place) if place is not None else None
        if place is None:
            return
        notes = self.notes_of(name)
        before = notes.text(place)
        if only_unnoted and before is not None:
            return
        runs = notes.runs(place) + [(NOTE_FONT, f"\n\n{text}")] if before else [(NOTE_FONT, text)]
        notes.set(place, runs, AUTHOR)
        self.sizes[name][place] = note_size(notes.text(place))
        sheet = self.sheet(name)
        if (name, place) in self.marked:  # two findings' cells merged into one: the stronger colour
            earlier, original = self.marked[(name, place)]
            fill = FILLS[ERROR] if FILLS[ERROR] in (fill, earlier) else fill
        else:
            original = sheet.style(*place)
            rgb = self.styles.solid_rgb(original)
            self.marks.append([name, address(*place), f"#{rgb[-6:]}" if rgb else "", original])
        self.marked[(name, place)] = (fill, original)
        sheet.set_style(*place, self.styles.with_fill(original, solid_fill(fill)))

    def results(self, findings: list[Finding], source: str, stale: list[Explanation], reading: str) -> None:
        rows = results_rows(findings, source, stale, reading)
        xml = _results_xml(findings, rows, self.names, _ResultStyles(self.styles))
        self.book.add_sheet(NewSheet(RESULTS_SHEET, xml, first=True, names=[("_xlnm.Print_Titles", f"'{RESULTS_SHEET}'!$3:$3")]))

    def records(self, explanations: list[Explanation]) -> None:
        """The hidden sheets: the formats replaced, and the explanations (kept when 检查结果 goes)."""
        if len(self.marks) > 1:
            self.book.add_sheet(NewSheet(MARKS_SHEET, _plain_sheet(self.marks), hidden=True))
        if explanations:
            self.book.add_sheet(NewSheet(STORE_SHEET, _plain_sheet(store_rows(explanations)), hidden=True))

    def neutralise(self, formulas: list[tuple[str, str]]) -> None:
        """Formulas of input cells become their text (they were not read; nothing in them may run)."""
        for name, cell in formulas:
            place = parse_address(cell) if name in self.names else None
            if place is not None:
                self.sheet(name).neutralise(*place)

    def save(self, dest: str) -> None:
        for name, notes in self.notes.items():
            if notes.changed:
                notes.save(self.sheet(name), self.sizes[name])
        for name in self.names:  # only the 检查结果 sheet is selected (two selected tabs group the sheets)
            if b'tabSelected="1"' in self.xml[name][: self.xml[name].find(b"sheetData")]:
                sheet = self.sheet(name)
                at = sheet.xml.find(b'tabSelected="1"')
                sheet.replace(at, at + len(b'tabSelected="1"'), b"")
        changed = False
        for name in self.names:  # every sheet: a formula reaching outside the workbook is dropped wherever it is
            sheet = self.sheet(name)
            data = sheet.to_bytes()
            changed = changed or sheet.dropped or sheet.neutralised
            if data is not self.xml[name]:
                self.package.write(self.book.sheet(name).part, data)
        if changed or "externalReference" in self.book.text:
            self.book.quiet()
        self.styles.save()
        self.book.save(active=0)
        self.package.save(dest)


def annotate(source: str | Path, findings: list[Finding], dest: str | Path, stale: list[Explanation] = (), reading: str = "完整",
             unread: dict[tuple[str, str], str] | None = None, formulas: list[tuple[str, str]] = ()) -> Path:
    """Write ``source`` with nianbao's annotations for ``findings`` to ``dest`` (atomically).

    ``source`` is only read; ``dest`` must be a different file. ``stale`` are explanations whose
    finding no longer occurs: listed, never dropped. ``reading`` says what of an imported report
    could not be read (Result.reading); ``unread`` marks those cells, by (sheet, cell), with why;
    ``formulas`` are the input cells read as formulas (Result.formulas), written as their text.
    Raises ReadError (one line of Chinese) for a file that cannot be copied: beyond a limit, damaged,
    or of a structure nianbao does not recognise.
    """
    source, dest = Path(source), Path(dest)
    if dest.resolve() == source.resolve():
        raise ValueError(f"输出文件与原文件相同：{dest}")
    try:
        layer = _Layer(Package(source))
        layer.clear()
        layer.neutralise(list(formulas))
        for (name, cell), group in by_place(findings, layer.names).items():
            layer.mark(name, cell, note_text(group), FILLS[severity_of(group)])
        for (name, cell), why in (unread or {}).items():
            layer.mark(name, cell, f"{MARKER}\n未能读取（读取的限度，不是报告的错误）：{why}", UNREAD_FILL, only_unnoted=True)
        layer.results(findings, shown(source.name), list(stale), reading)
        layer.records(kept(findings, list(stale)))
        with atomic_path(dest) as tmp:
            layer.save(tmp)
    except LimitError as exc:
        raise ReadError(f"{exc}，未写出批注副本") from None
    except (KeyError, IndexError, ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ReadError(f"工作簿的结构无法识别或已损坏，无法写出批注副本（{type(exc).__name__}）；检查结果见汇总") from None
    return dest

