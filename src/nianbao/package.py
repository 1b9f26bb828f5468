"""Editing an Office Open XML package by patching its parts: every member nobody changed is copied
as it is (its compressed bytes, not re-encoded), and the parts that change are edited as text,
so a workbook keeps everything nianbao does not model (text boxes, charts, images, sparklines, x14
conditional formats, tables, slicers, VBA) byte for byte.

The file is read once (``limits.read_file``) and bounded before anything is parsed
(``limits.check_workbook``, as for a read); the copy is written from those same bytes, so a file
replaced on disk meanwhile can neither reach the writer unbounded nor be mixed into the copy.
Part edits are plain patterns over the markup Excel, WPS, LibreOffice, openpyxl and xlsxwriter
write (the main namespace as the default one, as the reader expects); nothing here resolves
entities or fetches anything.
"""

from __future__ import annotations

import bisect
import copy
import html
import io
import re
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.limits import LIMITS, LimitError, Limits, check_workbook, read_file

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_SHEET = REL_NS + "/worksheet"
REL_COMMENTS = REL_NS + "/comments"
REL_VML = REL_NS + "/vmlDrawing"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_KEPT = re.compile(r".*\.(xml|rels|vml)$", re.IGNORECASE)  # the markup parts, inflated once while bounding
_ATTR = re.compile(r'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def attrs(text: str) -> dict[str, str]:
    """The attributes of a tag's text, entities decoded."""
    return {m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(text)}


def esc(text: object) -> str:
    """Text for XML content or a double-quoted attribute: escaped, characters XML cannot hold removed."""
    return html.escape(_ILLEGAL.sub("", str(text)), quote=True)


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "replace")  # a lone surrogate (an undecodable file name) becomes "?"


def col_letters(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_ADDRESS = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def parse_address(address: str) -> tuple[int, int] | None:
    """'AB12' -> (12, 28); None for anything else."""
    m = _ADDRESS.match(address)
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def address(row: int, col: int) -> str:
    return f"{col_letters(col)}{row}"


# --- the zip level --------------------------------------------------------------------------------


def _raw_member(fh, info: zipfile.ZipInfo) -> bytes:
    """A member's compressed bytes as stored."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    data = fh.read(info.compress_size)
    if len(data) != info.compress_size:
        raise zipfile.BadZipFile
    return data


@dataclass
class _Member:
    name: str
    method: int
    crc: int
    size: int
    data: bytes  # compressed
    date_time: tuple = (1980, 1, 1, 0, 0, 0)


def _dos(date_time: tuple) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return (h << 11) | (mi << 5) | (s // 2), (max(y, 1980) - 1980) << 9 | (mo << 5) | d


def _write_zip(dest: str, members: list[_Member]) -> None:
    central, offset = [], 0
    with open(dest, "wb") as out:
        for m in members:
            name = m.name.encode("utf-8")
            flags = 0 if m.name.isascii() else 0x800
            dtime, ddate = _dos(m.date_time)
            fixed = struct.pack("<HHHHHIIIHH", 20, flags, m.method, dtime, ddate, m.crc, len(m.data), m.size, len(name), 0)
            out.write(b"PK\x03\x04" + fixed + name)
            out.write(m.data)
            central.append(b"PK\x01\x02" + struct.pack("<H", 20) + fixed + struct.pack("<HHHII", 0, 0, 0, 0, offset) + name)
            offset += 30 + len(name) + len(m.data)
        directory = b"".join(central)
        out.write(directory)
        out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(directory), offset, 0))


def _deflated(name: str, data: bytes) -> _Member:
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)  # fast: the parts are small
    return _Member(name, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data), packer.compress(data) + packer.flush(),
                   time.localtime()[:6])


_STYLE_ITEM = re.compile(rb"<(?:\w+:)?(?:xf|font|fill|border)[\s/>]")
_NOTE_ITEM = re.compile(rb"<(?:\w+:)?comment[\s/>]|<v:shape[\s/>]")


def _check_counts(parts: dict[str, bytes], limits: Limits) -> None:
    """Refuse formats and notes by the hundred thousand before any is parsed: the copy reads them
    all (a real report has a few hundred formats and a few notes)."""
    styles = len(_STYLE_ITEM.findall(parts.get("xl/styles.xml", b"")))
    if styles > limits.styles:
        raise LimitError(f"工作簿有 {styles} 个单元格格式、字体、填充和边框，超过上限 {limits.styles}")
    notes = sum(len(_NOTE_ITEM.findall(data)) for name, data in parts.items() if b"<comment" in data or name.lower().endswith(".vml"))
    if notes > limits.notes:
        raise LimitError(f"工作簿有 {notes} 条批注和批注框，超过上限 {limits.notes}")


class Package:
    """A package read once and bounded; parts are read from what the bounding inflated, edited
    in memory, and ``save`` writes the result, every other member copied as stored in ``data``."""

    def __init__(self, path: Path, limits: Limits = LIMITS):
        self.path = Path(path)
        self.data = read_file(self.path, limits.file_bytes)
        self.parts = check_workbook(self.data, limits, keep=_KEPT.match)  # every part holding cells measured as calamine reads it
        _check_counts(self.parts, limits)
        with zipfile.ZipFile(io.BytesIO(self.data)) as package:
            self.infos = package.infolist()
        self.names = {info.filename for info in self.infos}
        self.changed: dict[str, bytes] = {}
        self.removed: set[str] = set()
        self._types: ContentTypes | None = None

    def fresh(self) -> Package:
        """This package as read, without the edits made to it: what it read and bounded is shared."""
        fresh = copy.copy(self)
        fresh.changed, fresh.removed, fresh._types = {}, set(), None
        return fresh

    def types(self) -> ContentTypes:
        """[Content_Types].xml, read once and written back by ``save``."""
        if self._types is None:
            self._types = ContentTypes(self)
        return self._types

    def __contains__(self, name: str) -> bool:
        return name in self.changed or (name in self.names and name not in self.removed)

    def read(self, name: str) -> bytes:
        if name in self.changed:
            return self.changed[name]
        if name in self.removed or name not in self.parts:
            raise KeyError(name)
        return self.parts[name]

    def write(self, name: str, data: bytes) -> None:
        self.changed[name] = data
        self.removed.discard(name)

    def remove(self, name: str) -> None:
        self.changed.pop(name, None)
        self.removed.add(name)

    def free_name(self, pattern: str) -> str:
        """The first of pattern % 1, pattern % 2, ... that is not a member."""
        n = 1
        while (pattern % n) in self or (pattern % n).lower() in {x.lower() for x in self.changed}:
            n += 1
        return pattern % n

    def save(self, dest: str) -> None:
        if self._types is not None:
            self._types.save()
        members = []
        with io.BytesIO(self.data) as fh:
            for info in self.infos:
                name = info.filename
                if name in self.removed:
                    continue
                if name in self.changed:
                    members.append(_deflated(name, self.changed[name]))
                else:
                    members.append(_Member(name, info.compress_type, info.CRC, info.file_size, _raw_member(fh, info), info.date_time))
        members += [_deflated(name, data) for name, data in self.changed.items() if name not in self.names]
        _write_zip(dest, members)


# --- relationships and content types ---------------------------------------------------------------


def rels_name(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(part: str, target: str) -> str:
    """A relationship's target as a member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (part.rpartition("/")[0] + "/" + target).split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def relative(part: str, member: str) -> str:
    """``member`` as a target relative to ``part``'s folder."""
    base = part.split("/")[:-1]
    target = member.split("/")
    common = 0
    while common < min(len(base), len(target)) and base[common] == target[common]:
        common += 1
    return "/".join([".."] * (len(base) - common) + list(target[common:]))


_REL = re.compile(r"<Relationship\b[^>]*?/?>")


@dataclass
class Rel:
    id: str
    type: str
    target: str
    external: bool = False


class Rels:
    """The relationships of one part (its .rels member), edited and written back."""

    def __init__(self, package: Package, part: str):
        self.package, self.part, self.name = package, part, rels_name(part)
        text = package.read(self.name).decode("utf-8") if self.name in package else ""
        self.items = []
        for tag in _REL.findall(text):
            a = attrs(tag[len("<Relationship"):])
            self.items.append(Rel(a.get("Id", ""), a.get("Type", ""), a.get("Target", ""), a.get("TargetMode") == "External"))
        self.dirty = False

    def of_type(self, rel_type: str) -> list[Rel]:
        return [r for r in self.items if r.type == rel_type and not r.external]

    def get(self, rel_id: str) -> Rel | None:
        return next((r for r in self.items if r.id == rel_id), None)

    def member(self, rel: Rel) -> str:
        return resolve(self.part, rel.target)

    def add(self, rel_type: str, member: str) -> str:
        ids = {r.id for r in self.items}
        n = len(self.items) + 1
        while f"rId{n}" in ids:
            n += 1
        self.items.append(Rel(f"rId{n}", rel_type, relative(self.part, member)))
        self.dirty = True
        return f"rId{n}"

    def drop(self, rel_id: str) -> None:
        self.items = [r for r in self.items if r.id != rel_id]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        if not self.items:
            self.package.remove(self.name)
            return
        body = "".join(f'<Relationship Id="{esc(r.id)}" Type="{esc(r.type)}" Target="{esc(r.target)}"'
                       + (' TargetMode="External"' if r.external else "") + "/>" for r in self.items)
        self.package.write(self.name, XML_HEAD + utf8(f'<Relationships xmlns="{PKG_REL_NS}">{body}</Relationships>'))


class ContentTypes:
    NAME = "[Content_Types].xml"

    def __init__(self, package: Package):
        self.package = package
        self.text = package.read(self.NAME).decode("utf-8")

    def override(self, member: str, content_type: str) -> None:
        self.drop(member)
        self.text = self.text.replace("</Types>", f'<Override PartName="/{esc(member)}" ContentType="{content_type}"/></Types>')

    def default(self, extension: str, content_type: str) -> None:
        if not re.search(rf'<Default\b[^>]*Extension="{re.escape(extension)}"', self.text, re.IGNORECASE):
            self.text = self.text.replace("</Types>", f'<Default Extension="{extension}" ContentType="{content_type}"/></Types>')

    def drop(self, member: str) -> None:
        self.text = re.sub(rf'<Override\b[^>]*PartName="/{re.escape(esc(member))}"[^>]*/>', "", self.text, flags=re.IGNORECASE)

    def save(self) -> None:
        self.package.write(self.NAME, utf8(self.text))


# --- the workbook part ----------------------------------------------------------------------------


_SHEET_TAG = re.compile(r"<sheet\b[^>]*?/>")
_SHEETS = re.compile(r"<sheets\b[^>]*>(.*?)</sheets>", re.DOTALL)
_NAMES = re.compile(r"<definedNames\b[^>]*>(.*?)</definedNames>|<definedNames\s*/>", re.DOTALL)
_NAME = re.compile(r"<definedName\b([^>]*)>(.*?)</definedName>|<definedName\b[^>]*/>", re.DOTALL)
_VIEW = re.compile(r"<workbookView\b[^>]*?/?>")
_PR = re.compile(r"<workbookPr\b[^>]*?/?>")


@dataclass
class SheetEntry:
    name: str
    tag: str  # as written in workbook.xml
    rel_id: str
    part: str  # member name ("" when its relationship is missing)
    hidden: bool = False


@dataclass
class NewSheet:
    name: str
    xml: bytes
    first: bool = False  # before every other sheet (else after them)
    hidden: bool = False
    names: list[tuple[str, str]] = field(default_factory=list)  # sheet-local defined names: (name, reference)


class Workbook:
    """workbook.xml with its relationships: the sheets in order, removed and added."""

    PART = "xl/workbook.xml"

    def __init__(self, package: Package):
        self.package = package
        self.text = package.read(self.PART).decode("utf-8")
        self.rels = Rels(package, self.PART)
        m = re.search(rf'xmlns:(\w+)="{re.escape(REL_NS)}"', self.text)
        self.r = m.group(1) if m else "r"
        found = _SHEETS.search(self.text)
        if not found:
            raise KeyError("sheets")
        self.sheets = []
        for tag in _SHEET_TAG.findall(found.group(1)):
            a = attrs(tag[len("<sheet"):])
            rel = self.rels.get(a.get(f"{self.r}:id", ""))
            part = self.rels.member(rel) if rel is not None else ""
            self.sheets.append(SheetEntry(a.get("name", ""), tag, a.get(f"{self.r}:id", ""), part, a.get("state", "visible") != "visible"))
        self.original = [s.name for s in self.sheets]
        self._new_names: list[tuple[str, str, str]] = []

    def sheet(self, name: str) -> SheetEntry | None:
        return next((s for s in self.sheets if s.name == name), None)

    def drop_sheet(self, name: str) -> None:
        """Remove a sheet, its part and its part's relationships (what they point to stays: an
        orphan is harmless, a shared part removed is not)."""
        entry = self.sheet(name)
        if entry is None:
            return
        self.sheets.remove(entry)
        self.rels.drop(entry.rel_id)
        if entry.part:
            self.package.remove(entry.part)
            self.package.remove(rels_name(entry.part))
            self.package.types().drop(entry.part)

    def add_sheet(self, new: NewSheet) -> None:
        part = self.package.free_name("xl/worksheets/sheet%d.xml")
        self.package.write(part, new.xml)
        self.package.types().override(part, CT_SHEET)
        rel_id = self.rels.add(REL_SHEET, part)
        ids = [int(v) for s in self.sheets for v in re.findall(r'\ssheetId="(\d+)"', s.tag)]
        root = self.text[: self.text.find(">", self.text.find("<workbook")) + 1]
        declare = "" if f'xmlns:{self.r}="{REL_NS}"' in root else f' xmlns:{self.r}="{REL_NS}"'
        state = ' state="hidden"' if new.hidden else ""
        tag = f'<sheet{declare} name="{esc(new.name)}" sheetId="{max(ids, default=0) + 1}"{state} {self.r}:id="{rel_id}"/>'
        entry = SheetEntry(new.name, tag, rel_id, part, new.hidden)
        self.sheets.insert(0 if new.first else len(self.sheets), entry)
        self._new_names += [(new.name, n, ref) for n, ref in new.names]

    def _names(self) -> str:
        """definedNames with sheet-local names renumbered to the sheets' new positions; names of
        sheets that are gone are dropped."""
        index = {s.name: i for i, s in enumerate(self.sheets)}
        kept = []
        found = _NAMES.search(self.text)
        if found and found.group(1) and "localSheetId" not in found.group(1):  # workbook-level names only: kept as they are
            kept.append(found.group(1))
            found = None
        for m in _NAME.finditer(found.group(1) or "") if found and found.group(1) else ():
            head = m.group(1) if m.group(1) is not None else m.group(0)[len("<definedName"):-2]
            local = re.search(r'\slocalSheetId="(\d+)"', head)
            if local is None:
                kept.append(m.group(0))
                continue
            old = int(local.group(1))
            sheet = self.original[old] if old < len(self.original) else None
            if sheet in index:
                kept.append(m.group(0).replace(local.group(0), f' localSheetId="{index[sheet]}"', 1))
        for sheet, name, ref in self._new_names:
            kept.append(f'<definedName name="{esc(name)}" localSheetId="{index[sheet]}">{esc(ref)}</definedName>')
        return f"<definedNames>{''.join(kept)}</definedNames>" if kept else ""

    def quiet(self) -> None:
        """No full recalculation forced on opening, and links to other files never updated: the
        copy opens showing what was checked, and asks nothing of other programs or files."""
        self.text = re.sub(r"""\sfullCalcOnLoad\s*=\s*(?:"[^"]*"|'[^']*')""", "", self.text)
        if "externalReference" not in self.text:
            return
        found = _PR.search(self.text)
        if found:
            self.text = self.text[: found.start()] + _set_attr(found.group(0), "updateLinks", "never") + self.text[found.end():]
            return
        at = min((i for i in (self.text.find(t) for t in ("<workbookProtection", "<bookViews", "<sheets")) if i >= 0), default=-1)
        if at >= 0:
            self.text = self.text[:at] + '<workbookPr updateLinks="never"/>' + self.text[at:]

    def save(self, active: int | None = None) -> None:
        text = _SHEETS.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "".join(s.tag for s in self.sheets) + "</sheets>",
                           self.text, count=1)
        names = self._names()
        if _NAMES.search(text):
            text = _NAMES.sub(lambda m: names, text, count=1)
        elif names:
            ends = [text.find(t) + len(t) for t in ("</sheets>", "</functionGroups>", "</externalReferences>") if t in text]
            anchor = max(ends)
            text = text[:anchor] + names + text[anchor:]
        if active is not None:
            text = _VIEW.sub(lambda m: _set_attr(_set_attr(m.group(0), "activeTab", str(active)), "firstSheet", None), text, count=1)
        self.text = text
        self.package.write(self.PART, utf8(text))
        self.rels.save()


def _set_attr(tag: str, name: str, value: str | None) -> str:
    """A start tag's text with attribute ``name`` set (or removed when ``value`` is None)."""
    pattern = re.compile(rf'\s{re.escape(name)}\s*=\s*("[^"]*"|\'[^\']*\')')
    tag = pattern.sub("", tag)
    if value is None:
        return tag
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{esc(value)}"{tag[end:]}'


# --- a worksheet's cells ----------------------------------------------------------------------------


_TOKEN = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(/?)>|</(?:\w+:)?row>|<(?:\w+:)?c\b([^>]*?)(?:/>|>.*?</(?:\w+:)?c>)", re.DOTALL)
_R = re.compile(rb'\sr\s*=\s*["\']([A-Za-z]{0,3})(\d+)["\']')
_S = re.compile(rb'\ss\s*=\s*["\'](\d+)["\']')
_CELL_AT = re.compile(rb"<c\b([^>]*?)(?:/>|>.*?</c>)", re.DOTALL)
_DATA = re.compile(rb"<(?:\w+:)?sheetData\b[^>]*?(/?)>")
_DATA_END = re.compile(rb"</(?:\w+:)?sheetData>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.DOTALL)
_CACHED = re.compile(rb"<(?:\w+:)?v\b[^>]*>(.*?)</(?:\w+:)?v>", re.DOTALL)
_SHARED = re.compile(rb'\st\s*=\s*["\']shared["\']')
_SI = re.compile(rb'\ssi\s*=\s*["\'](\d+)["\']')
_QUOTED = re.compile(rb'"[^"]*"')
# What a formula reaches outside the workbook with: a DDE link (cmd|'...'!A0), another file ([1]),
# the web, or a code library; found in its text without its string literals.
_OUTSIDE = re.compile(rb"\||\[\d+\]|\b(?:_xlfn\.)?(?:WEBSERVICE|CALL|REGISTER(?:\.ID)?|EXEC)\s*\(", re.IGNORECASE)
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\sref\s*=\s*["\']([A-Za-z$]+\d+):([A-Za-z$]+\d+)["\']')


@dataclass
class _Cell:
    col: int
    start: int
    end: int  # of the whole element
    attrs: tuple[int, int]  # span of the start tag's attribute text
    style: int


@dataclass
class _Row:
    num: int
    start: int
    head_end: int  # end of the start tag
    closed: bool  # <row .../>
    end: int = 0  # where </row> starts (the start tag's end when closed)
    cells: list[_Cell] = field(default_factory=list)


class SheetXml:
    """One worksheet part: its cells found once (rows and cells without ``r`` where their order puts
    them, as the reader does), edits collected and applied in one pass, the rest kept byte for byte."""

    def __init__(self, xml: bytes):
        self.xml = xml
        self.edits: list[tuple[int, int, bytes]] = []
        self.rows: dict[int, _Row] = {}
        self._cells: dict[tuple[int, int], list] = {}  # (row, col) -> [style, body, kind] to write
        self._masters: set[bytes] = set()  # shared formulas neutralised (their si)
        self.dropped = False  # a formula reaching outside the workbook was removed
        self.neutralised = False  # an input cell's formula was written as its text
        self.data = _DATA.search(xml)
        if self.data is None:
            return
        end = None if self.data.group(1) else _DATA_END.search(xml, self.data.end())
        self.data_end = end.start() if end else self.data.end()
        self._scanned = False
        self._found: dict[tuple[int, int], _Cell] = {}

    def _scan(self) -> None:
        """Every row and cell, once: needed only to insert a cell the part does not have, or to find
        one written in an unusual way."""
        if self._scanned or self.data is None:
            return
        self._scanned = True
        row: _Row | None = None
        last_row = col = 0
        for m in _TOKEN.finditer(self.xml, self.data.end(), self.data_end):
            if m.group(0).startswith(b"</"):
                if row is not None:
                    row.end = m.start()
            elif m.group(3) is None:  # a row
                r = _R.search(m.group(1))
                last_row = int(r.group(2)) if r else last_row + 1
                row = _Row(last_row, m.start(), m.end(), bool(m.group(2)), m.end())
                self.rows.setdefault(last_row, row)
                col = 0
            elif row is not None:
                r = _R.search(m.group(3))
                col = parse_address(r.group(1).decode() + "1")[1] if r and r.group(1) else col + 1
                s = _S.search(m.group(3))
                row.cells.append(_Cell(col, m.start(), m.end(), m.span(3), int(s.group(1)) if s else 0))

    def cell(self, row: int, col: int) -> _Cell | None:
        if (row, col) in self._found:
            return self._found[(row, col)]
        found = None
        at = self.xml.find(b'<c r="%s"' % address(row, col).encode(), self.data.end(), self.data_end) if self.data else -1
        if at >= 0:  # as every common writer puts it: found without reading the rest
            m = _CELL_AT.match(self.xml, at)
            s = _S.search(m.group(1)) if m else None
            found = _Cell(col, m.start(), m.end(), m.span(1), int(s.group(1)) if s else 0) if m else None
        else:
            self._scan()
            cells = self.rows[row].cells if row in self.rows else []
            found = next((c for c in cells if c.col == col), None)
        self._found[(row, col)] = found
        return found

    def style(self, row: int, col: int) -> int:
        """A cell's format index, as edited so far (0 for a cell the part does not have)."""
        pending = self._cells.get((row, col))
        if pending is not None and pending[0] is not None:
            return pending[0]
        found = self.cell(row, col)
        return found.style if found else 0

    def set_style(self, row: int, col: int, style: int) -> None:
        self._cells.setdefault((row, col), [None, None, None])[0] = style

    def set_cell(self, row: int, col: int, body: bytes, kind: str | None) -> None:
        """Replace a cell's content (``body``: its <v> or <is>, ``kind`` its t=), keeping its style."""
        pending = self._cells.setdefault((row, col), [None, None, None])
        pending[1], pending[2] = body, kind

    def _flush(self) -> None:
        if self._cells and self.data is None:
            raise KeyError("sheetData")
        inserts: dict[int, list[tuple[int, bytes]]] = {}
        for (row, col), (style, body, kind) in self._cells.items():
            found = self.cell(row, col)
            if body is None and found is not None:
                head = self.xml[found.attrs[0]: found.attrs[1]]
                self.edits.append((found.attrs[0], found.attrs[1], _S.sub(b"", head) + b' s="%d"' % style))
                continue
            style = style if style is not None else found.style if found else 0
            s = f' s="{style}"' if style else ""
            t = f' t="{kind}"' if kind else ""
            cell = f'<c r="{address(row, col)}"{s}{t}' + ("/>" if body is None else ">")
            cell = cell.encode() + (b"" if body is None else body + b"</c>")
            if found is not None:
                self.edits.append((found.start, found.end, cell))
            else:
                inserts.setdefault(row, []).append((col, cell))
        self._cells = {}
        self._insert(inserts)

    def _insert(self, inserts: dict[int, list[tuple[int, bytes]]]) -> None:
        if inserts:
            self._scan()
        for num, cells in sorted(inserts.items()):
            cells.sort(key=lambda c: c[0])
            row = self.rows.get(num)
            if row is None:
                later = [r.start for r in self.rows.values() if r.num > num]
                pos = min(later) if later else self.data_end
                self.edits.append((pos, pos, b'<row r="%d">' % num + b"".join(c for _, c in cells) + b"</row>"))
            elif row.closed:
                self.edits.append((row.head_end - 2, row.head_end, b">" + b"".join(c for _, c in cells) + b"</row>"))
            else:
                for col, cell in cells:
                    pos = next((c.start for c in row.cells if c.col > col), row.end)
                    self.edits.append((pos, pos, cell))
        if inserts and self.data.group(1) and any(e[0] == self.data_end for e in self.edits):
            self.edits.append((self.data.end() - 2, self.data.end(), b">"))  # <sheetData/> opened
            self.edits.append((self.data_end, self.data_end, b"</sheetData>"))

    def neutralise(self, row: int, col: int) -> None:
        """An input cell's formula replaced by its text (``=...`` as text, never a formula): what it
        showed is not read as a number, and nothing it names (a DDE link, another file) runs when
        the copy is opened. The cells sharing its formula keep their last values."""
        found = self.cell(row, col)
        formula = _FORMULA.search(self.xml, found.start, found.end) if found else None
        if formula is None:
            return
        if _SHARED.search(formula.group(1)) and (si := _SI.search(formula.group(1))):
            self._masters.add(si.group(1))
        cached = _CACHED.search(self.xml, found.start, found.end)
        text = formula.group(2) or (cached.group(1) if cached else b"")
        shown = html.unescape(text.decode("utf-8", "replace"))
        self.neutralised = True
        self.set_cell(row, col, b'<is><t xml:space="preserve">' + utf8(esc("=" + shown if formula.group(2) else shown)) + b"</t></is>",
                      "inlineStr")

    def _drop_live(self) -> None:
        """Formulas that reach outside the workbook (DDE ``cmd|'...'!A0``, ``[1]`` links, WEBSERVICE)
        lose their formula and keep their last value, as do cells sharing a neutralised formula."""
        if self.data is None or not (self._masters or _OUTSIDE.search(self.xml, self.data.end(), self.data_end)):
            return
        replaced = sorted((start, end) for start, end, new in self.edits if end > start)
        starts = [start for start, _ in replaced]
        for m in _FORMULA.finditer(self.xml, self.data.end(), self.data_end):
            text = _QUOTED.sub(b"", m.group(2) or b"")
            si = _SI.search(m.group(1))
            if not (_OUTSIDE.search(text) or (si and si.group(1) in self._masters)):
                continue
            at = bisect.bisect_right(starts, m.start()) - 1
            if at < 0 or replaced[at][1] <= m.start():  # not inside a cell already rewritten
                self.edits.append((m.start(), m.end(), b""))
                self.dropped = True
                if si and _SHARED.search(m.group(1)):
                    self._masters.add(si.group(1))  # its cells after it lose their formula too

    def merges(self) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (first row, first col, last row, last col)."""
        out = []
        for a, b in _MERGE.findall(self.xml, self.data.end() if self.data else 0):
            first, last = parse_address(a.decode()), parse_address(b.decode())
            if first and last:
                out.append((min(first[0], last[0]), min(first[1], last[1]), max(first[0], last[0]), max(first[1], last[1])))
        return out

    def replace(self, start: int, end: int, new: bytes) -> None:
        self.edits.append((start, end, new))

    def to_bytes(self) -> bytes:
        self._flush()
        self._drop_live()
        if not self.edits:
            return self.xml
        out, pos = [], 0
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1])):
            out += [self.xml[pos:start], new]
            pos = max(pos, end)
        out.append(self.xml[pos:])
        return b"".join(out)


def vml_ids(package: Package) -> list[int]:
    """The shape-id blocks (o:idmap) the package's VML drawings take: a new drawing takes another."""
    return [int(n) for part, data in package.parts.items() if part.endswith(".vml") for n in re.findall(rb'<o:idmap\b[^>]*\sdata="(\d+)', data)]


def bounded_sheets(package: Package, workbook: Workbook) -> dict[str, bytes]:
    """Every worksheet's XML by sheet name (Package measured each when it opened the file, as the
    reader does: too many sheets, a sheet spanning too many cells, a sheet cut short are refused)."""
    return {s.name: package.read(s.part) for s in workbook.sheets if s.part in package}


# --- styles -------------------------------------------------------------------------------------------


_SECTION = {tag: re.compile(rf"<{tag}\b([^>]*?)(?:/>|>(.*?)</{tag}>)", re.DOTALL) for tag in ("fonts", "fills", "borders", "cellXfs")}
_ITEM = {tag: re.compile(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", re.DOTALL) for tag in ("font", "fill", "border", "xf")}
_ITEMS = {"fonts": "font", "fills": "fill", "borders": "border", "cellXfs": "xf"}
_FG_RGB = re.compile(r'<fgColor\b[^>]*?\srgb="([0-9A-Fa-f]{8})"')


def solid_fill(argb: str) -> str:
    return f'<fill><patternFill patternType="solid"><fgColor rgb="{argb}"/><bgColor rgb="{argb}"/></patternFill></fill>'


class Styles:
    """styles.xml: fonts, fills, borders and cell formats appended (an identical entry is reused,
    so runs do not grow it), the rest of the part kept as it is."""

    PART = "xl/styles.xml"

    def __init__(self, package: Package):
        self.package = package
        self.text = package.read(self.PART).decode("utf-8")
        self.items: dict[str, list[str]] = {}
        self.index: dict[str, dict[str, int]] = {}
        self.dirty: set[str] = set()

    def items_of(self, section: str) -> list[str]:
        if section not in self.items:
            m = _SECTION[section].search(self.text)
            if m is None:
                raise KeyError(section)
            self.items[section] = _ITEM[_ITEMS[section]].findall(m.group(2) or "")
            self.index[section] = {}
            for i, item in enumerate(self.items[section]):
                self.index[section].setdefault(item, i)
        return self.items[section]

    def add(self, section: str, item: str) -> int:
        items = self.items_of(section)
        if item not in self.index[section]:
            self.index[section][item] = len(items)
            items.append(item)
            self.dirty.add(section)
        return self.index[section][item]

    def xf(self, style: int) -> str:
        xfs = self.items_of("cellXfs")
        return xfs[style] if 0 <= style < len(xfs) else xfs[0] if xfs else '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'

    def fill_of(self, style: int) -> str:
        m = re.search(r'\sfillId="(\d+)"', self.xf(style).split(">", 1)[0])
        fills = self.items_of("fills")
        return fills[int(m.group(1))] if m and int(m.group(1)) < len(fills) else ""

    def solid_rgb(self, style: int) -> str | None:
        """The ARGB colour of a cell format's solid fill, or None."""
        fill = self.fill_of(style)
        found = _FG_RGB.search(fill) if 'patternType="solid"' in fill else None
        return found.group(1).upper() if found else None

    def with_fill(self, style: int, fill: str | None) -> int:
        """A cell format like ``style`` with ``fill`` (a <fill> element; None: no fill)."""
        xf = self.xf(style)
        head, sep, rest = xf.partition(">")
        closed = head.endswith("/")
        head = head.rstrip("/")
        head = _set_attr(head + ">", "fillId", str(self.add("fills", fill) if fill else 0))[:-1]
        head = _set_attr(head + ">", "applyFill", "1")[:-1]
        return self.add("cellXfs", head + ("/>" if closed else sep + rest))

    def save(self) -> None:
        text = self.text
        for section in ("fonts", "fills", "borders", "cellXfs"):
            if section in self.dirty:
                m = _SECTION[section].search(text)
                head = _set_attr(f"<{section}{m.group(1)}>", "count", str(len(self.items[section])))
                text = text[: m.start()] + head + "".join(self.items[section]) + f"</{section}>" + text[m.end():]
        if self.dirty:
            self.package.write(self.PART, utf8(text))


# --- notes: the comments part and its VML drawing ----------------------------------------------------


_COMMENT = re.compile(r"<comment\b([^>]*)>(.*?)</comment>", re.DOTALL)
_AUTHORS = re.compile(r"<authors\b[^>]*?(?:/>|>(.*?)</authors>)", re.DOTALL)
_AUTHOR = re.compile(r"<author\b[^>]*?(?:/>|>(.*?)</author>)", re.DOTALL)
_LIST = re.compile(r"<commentList\b[^>]*?(?:/>|>(.*?)</commentList>)", re.DOTALL)
_RUN = re.compile(r"<r>(?:(<rPr>.*?</rPr>))?.*?<t\b[^>]*?(?:/>|>(.*?)</t>)\s*</r>|<t\b[^>]*?(?:/>|>(.*?)</t>)", re.DOTALL)
_PHONETIC = re.compile(r"<rPh\b.*?</rPh>|<phoneticPr\b[^>]*/>", re.DOTALL)
_SHAPE = re.compile(r"<v:shape\b.*?</v:shape>", re.DOTALL)
_LEGACY = re.compile(rb"<(?:\w+:)?legacyDrawing\b[^>]*?\s(\w+):id\s*=\s*[\"']([^\"']*)[\"'][^>]*/>")
_AFTER_LEGACY = re.compile(rb"<(?:\w+:)?(?:legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts|extLst)\b"
                           rb"|<mc:AlternateContent\b|</(?:\w+:)?worksheet>")
NOTE_FONT = '<rPr><sz val="9"/><rFont val="宋体"/><family val="3"/><charset val="134"/></rPr>'


@dataclass
class Note:
    xml: str  # the <comment> element as it is, until changed
    author: int
    runs: list[tuple[str, str]] | None = None  # (rPr, text) once changed

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.runs) if self.runs is not None else note_text_of(self.xml)


def _runs(xml: str) -> list[tuple[str, str]]:
    body = xml[xml.find("<text"):] if "<text" in xml else ""
    body = _PHONETIC.sub("", body)
    return [(m.group(1) or "", html.unescape(m.group(2) or m.group(3) or "")) for m in _RUN.finditer(body)]


def note_text_of(xml: str) -> str:
    return "".join(t for _, t in _runs(xml))


class Notes:
    """One sheet's notes (legacy comments): the comments part and the note shapes of its VML
    drawing, which may hold other shapes (form buttons) that stay as they are."""

    def __init__(self, package: Package, part: str, xml: bytes, vml_ids: list[int]):
        self.package, self.part, self.sheet = package, part, None
        self.rels = Rels(package, part)
        found = self.rels.of_type(REL_COMMENTS)
        self.comments_part = self.rels.member(found[0]) if found else None
        text = package.read(self.comments_part).decode("utf-8") if self.comments_part in package else ""
        self.head = text[: _AUTHORS.search(text).start()] if _AUTHORS.search(text) else ""
        authors = _AUTHORS.search(text)
        self.authors = [html.unescape(a or "") for a in _AUTHOR.findall(authors.group(1) or "")] if authors else []
        self.tail = text[_LIST.search(text).end():] if _LIST.search(text) else ""
        self.notes: dict[tuple[int, int], Note] = {}
        for m in _COMMENT.finditer(text):
            a = attrs(m.group(1))
            place = parse_address(a.get("ref", "").split(":")[0])
            if place:
                self.notes[place] = Note(m.group(0), int(a.get("authorId", "0") or 0))
        self.changed = False
        legacy = _LEGACY.search(xml)
        self.legacy = legacy
        rel = self.rels.get(legacy.group(2).decode()) if legacy else None
        self.vml_part = self.rels.member(rel) if rel else None
        self.vml_ids = vml_ids  # idmap numbers taken in the workbook, shared by every sheet's Notes

    def text(self, place: tuple[int, int]) -> str | None:
        note = self.notes.get(place)
        return note.text if note else None

    def runs(self, place: tuple[int, int]) -> list[tuple[str, str]]:
        """A note's text as (run properties, text) runs."""
        note = self.notes[place]
        return list(note.runs) if note.runs is not None else _runs(note.xml)

    def set(self, place: tuple[int, int], runs: list[tuple[str, str]], author: str) -> None:
        note = self.notes.get(place)
        if note is None:
            if author not in self.authors:
                self.authors.append(author)
            note = self.notes[place] = Note("", self.authors.index(author))
            self.changed = True
        note.runs = runs
        self.changed = True

    def remove(self, place: tuple[int, int]) -> None:
        if self.notes.pop(place, None) is not None:
            self.changed = True

    def _comment_xml(self, place: tuple[int, int], note: Note) -> str:
        if note.runs is None:
            return note.xml
        runs = "".join(f'<r>{rpr}<t xml:space="preserve">{esc(t)}</t></r>' for rpr, t in note.runs)
        return f'<comment ref="{address(*place)}" authorId="{note.author}"><text>{runs}</text></comment>'

    def save(self, sheet: SheetXml, sizes: dict[tuple[int, int], tuple[int, int]]) -> None:
        """Write the comments part and the VML drawing (``sheet`` gets or loses its legacyDrawing);
        ``sizes`` are the boxes of notes that are new."""
        if not self.changed:
            return
        self.sheet = sheet
        types = self.package.types()
        if not self.notes:
            if self.comments_part:
                self.package.remove(self.comments_part)
                types.drop(self.comments_part)
                self.rels.drop(self.rels.of_type(REL_COMMENTS)[0].id)
        else:
            if not self.comments_part:
                self.comments_part = self.package.free_name("xl/comments%d.xml")
                self.rels.add(REL_COMMENTS, self.comments_part)
                types.override(self.comments_part, CT_COMMENTS)
            authors = "".join(f"<author>{esc(a)}</author>" for a in self.authors)
            body = "".join(self._comment_xml(p, n) for p, n in sorted(self.notes.items()))
            head = self.head or f'{XML_HEAD.decode()}<comments xmlns="{MAIN_NS}">'
            tail = self.tail or "</comments>"
            self.package.write(self.comments_part, utf8(f"{head}<authors>{authors}</authors><commentList>{body}</commentList>{tail}"))
        self._save_vml(sizes)
        self.rels.save()

    def has_ours(self, marker: str) -> list[tuple[int, int]]:
        return [p for p, n in self.notes.items() if marker in (n.xml if n.runs is None else n.text)]

    def _save_vml(self, sizes: dict[tuple[int, int], tuple[int, int]]) -> None:
        old = self.package.read(self.vml_part).decode("utf-8", "surrogateescape") if self.vml_part in self.package else ""
        shapes, kept = [], []
        for m in _SHAPE.finditer(old):
            shape = m.group(0)
            row, col = re.search(r"<x:Row>\s*(\d+)", shape), re.search(r"<x:Column>\s*(\d+)", shape)
            note = 'ObjectType="Note"' in shape and row and col
            place = (int(row.group(1)) + 1, int(col.group(1)) + 1) if note else None
            if note and place not in self.notes:
                shapes.append((m.start(), m.end()))  # the note is gone: so is its box
            elif note:
                kept.append(place)
        text = old
        for start, end in reversed(shapes):
            text = text[:start] + text[end:]
        new = [p for p in self.notes if p not in kept]
        if not new and not _SHAPE.search(text):
            self._drop_vml()
            return
        if not text:
            data = max(self.vml_ids, default=0) + 1
            self.vml_ids.append(data)
            text = (f'<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                    f'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{data}"/>'
                    f"</o:shapelayout></xml>")
        if new and "_x0000_t202" not in text:
            text = _insert_before_end(text, _NOTE_TYPE)
        ids = [int(n) for n in re.findall(r"_x0000_s(\d+)", text)]
        first = max(ids, default=0) + 1
        if not ids:
            m = re.search(r'<o:idmap\b[^>]*\sdata="(\d+)', text)
            first = int(m.group(1)) * 1024 + 1 if m else 1025
        text = _insert_before_end(text, "".join(_note_shape(first + i, p, sizes.get(p, (320, 100))) for i, p in enumerate(sorted(new))))
        if not self.vml_part:
            self.vml_part = self.package.free_name("xl/drawings/vmlDrawing%d.vml")
            self.package.types().default("vml", CT_VML)
            rel_id = self.rels.add(REL_VML, self.vml_part)
            self._add_legacy(rel_id)
        self.package.write(self.vml_part, text.encode("utf-8", "surrogateescape"))

    def _drop_vml(self) -> None:
        if self.vml_part:
            self.package.remove(self.vml_part)
            rel = next((r for r in self.rels.of_type(REL_VML) if self.rels.member(r) == self.vml_part), None)
            if rel is not None:
                self.rels.drop(rel.id)
            if self.legacy is not None:
                self.sheet.replace(self.legacy.start(), self.legacy.end(), b"")

    def _add_legacy(self, rel_id: str) -> None:
        xml = self.sheet.xml
        m = re.search(rb'xmlns:(\w+)="' + re.escape(REL_NS.encode()) + b'"', xml[:2000])
        prefix = m.group(1) if m else b"r"
        declare = b"" if m else b' xmlns:r="' + REL_NS.encode() + b'"'
        at = _AFTER_LEGACY.search(xml, self.sheet.data_end if self.sheet.data else 0)
        pos = at.start() if at else len(xml)
        self.sheet.replace(pos, pos, b"<legacyDrawing" + declare + b" " + prefix + b':id="' + rel_id.encode() + b'"/>')


_NOTE_TYPE = ('<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
              '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')


def _insert_before_end(text: str, new: str) -> str:
    end = text.rfind("</xml>")
    return text[:end] + new + text[end:] if end >= 0 else text + new


def _note_shape(n: int, place: tuple[int, int], size: tuple[int, int]) -> str:
    row, col = place[0] - 1, place[1] - 1
    width, height = size
    anchor = f"{col + 1}, 15, {max(row - 1, 0)}, 10, {col + 1 + -(-width // 60)}, 15, {max(row - 1, 0) + -(-height // 15)}, 4"
    return (f'<v:shape id="_x0000_s{n}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;'
            f'width:{width}pt;height:{height}pt;z-index:{n % 1024 + 1};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            f'<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{anchor}</x:Anchor>'
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>")
