"""Bounds on what one input may cost: checked before a file is parsed, so a zip bomb, a sheet
reaching cell XFD1048576 or a 100 MB web page is refused in milliseconds with its reason
instead of taking gigabytes (python-calamine allocates a sheet's whole rectangle at once, and a
failed allocation aborts the process).

The defaults are a wide margin above any real report: a filled template is about 30 KB, its
largest part under 100 KB inflated, its largest sheet under 40 x 20 cells.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 64 << 20  # the file as received
    parts: int = 2_000  # members of a zip package (.xlsx, .xlsm, .docx)
    part_bytes: int = 32 << 20  # one member, inflated
    total_bytes: int = 160 << 20  # all members, inflated
    sheets: int = 500
    sheet_cells: int = 250_000  # rows x columns that a sheet's cells span (a template's largest sheet has under 1,000)
    text_bytes: int = 32 << 20  # a text, web page or Markdown report
    pdf_pages: int = 300
    document_cells: int = 200_000  # cells and lines of one published report (a real one has under 2,000)
    line_chars: int = 200_000  # one line of a text report, or one paragraph or table cell of a page or document
    markup_chars: int = 65_536  # one tag of a web page, or one element's attributes
    grid_span: int = 64  # columns one table cell of a Word document spans (Word has at most 63)
    pdf_stream_bytes: int = 64 << 20  # all content and object streams of a PDF, inflated
    # One PDF page as pdfminer lays it out (an object per character and per drawing, then table
    # finding over them): bytes of text shown and operators, forms counted each time they are drawn.
    # A dense page of a real report shows under 3,000 bytes in under 6,000 operators.
    pdf_page_text: int = 25_000
    pdf_page_operators: int = 25_000
    styles: int = 100_000  # cell formats, fonts, fills and borders of a workbook (Excel keeps at most 64,000 cell formats)
    notes: int = 20_000  # notes (comments) and note shapes the annotated copy parses (a report has under 100)
    seconds: float = 60.0  # one file in a batch, from reading to its annotated copy


LIMITS = Limits()


class LimitError(ValueError):
    """An input exceeds a limit; the message is one line of Chinese saying which."""

    def __init__(self, what: str, prefix: str = "超出处理上限："):
        super().__init__(f"{prefix}{what}")


class NotRegularFile(LimitError):
    """A path that is no regular file (a pipe, a device, a folder): never opened, since reading
    a FIFO blocks forever and /dev/zero never ends."""

    def __init__(self, what: str):
        super().__init__(what, prefix="")


class Damaged(zipfile.BadZipFile):
    """A package that no office program writes (two sheets of one name); the message says what."""


def cache_short(maxsize: int, longest: int = 200):
    """``lru_cache`` for label-sized texts only: a batch meets texts of any length in cells, and a
    cache keyed by long ones would keep megabytes alive across files."""
    def wrap(func):
        cached = lru_cache(maxsize=maxsize)(func)

        @wraps(func)
        def call(text: str):
            return cached(text) if len(text) <= longest else func(text)

        return call

    return wrap


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


_KINDS = ((stat.S_ISDIR, "文件夹"), (stat.S_ISFIFO, "管道（FIFO）"), (stat.S_ISCHR, "设备文件"), (stat.S_ISBLK, "设备文件"),
          (stat.S_ISSOCK, "套接字"))


def check_regular(path: Path) -> os.stat_result:
    """The file's status; raises NotRegularFile for anything but a regular file (a link is
    followed: a link to /dev/zero is a device)."""
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "特殊文件")
        raise NotRegularFile(f"这是{kind}，不是普通文件，未读取")
    return status


def check_size(path: Path, limit: int) -> None:
    """Refuse a file that is not a regular file, or is bigger than ``limit``."""
    size = check_regular(path).st_size
    if size > limit:
        raise LimitError(f"文件大小 {_mib(size)}，超过上限 {_mib(limit)}")


def read_file(path: Path, limit: int) -> bytes:
    """A regular file's bytes, read once (so what was checked is what is parsed, even if the file
    is replaced meanwhile), refusing anything bigger than ``limit`` or not a regular file. Opened
    without blocking, so a FIFO put in its place cannot hang the read."""
    check_size(path, limit)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile("这不是普通文件，未读取")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"文件大小超过上限 {_mib(limit)}")
    return data


def _inflate(fh, info: zipfile.ZipInfo, cap: int, keep: list[bytes] | None = None) -> int:
    """The real inflated size of a member (counting stops past ``cap``), whatever its header
    declares, its data appended to ``keep`` if given; raises BadZipFile when the data does not
    match its checksum."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise zipfile.BadZipFile
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left, total, crc = info.compress_size, 0, 0
    while left > 0 and total <= cap:
        chunk = fh.read(min(left, 1 << 16))
        if not chunk:
            raise zipfile.BadZipFile
        left -= len(chunk)
        while chunk and total <= cap:
            out = inflater.decompress(chunk, 1 << 20) if inflater else chunk
            chunk = inflater.unconsumed_tail if inflater else b""
            total += len(out)
            crc = zlib.crc32(out, crc)
            if keep is not None:
                keep.append(out)
    if total <= cap and (crc != info.CRC or (inflater is not None and not inflater.eof)):
        raise zipfile.BadZipFile
    return total


# A tag's name as quick-xml (python-calamine's parser) splits it: any prefix up to the first colon
# (none, empty, CJK, undeclared), then the local name, ended by whitespace, "/" or ">".
_PREFIX = rb"(?:[^\s/>:!?][^\s/>:]*:|:)?"
_ATTRS = rb"""((?:[^>"']|"[^"]*"|'[^']*')*)"""  # a tag's attributes: a quoted value may hold ">"
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"(row|c)(?=[\s/>])" + _ATTRS + rb">")
_ATTR = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")  # one attribute, in order: a value may hold ' r="A1"'
_REF = re.compile(rb"([A-Za-z]*)([0-9]*)")  # calamine reads column letters in either case


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _reference(attrs: bytes) -> tuple[bytes, bytes]:
    """The column letters and row digits of a tag's last ``r`` (calamine keeps the last of two)."""
    letters = number = b""
    for name, double, single in _ATTR.findall(attrs):
        if name == b"r" and (ref := _REF.fullmatch(double or single)):
            letters, number = ref.groups()
    return letters, number


# A sheet is plain when every row and cell starts with its r, first and in double quotes, and no
# other r is written anywhere in its cells (as Excel, WPS, LibreOffice and nianbao write them).
_PLAIN_NUMBER = re.compile(rb'<(?:c r="[A-Z]{1,3}|row r=")([0-9]{1,7})"')
_PLAIN_LETTERS = re.compile(rb'<c r="([A-Z]{1,3})[0-9]{1,7}"')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")  # a row or cell with a prefix, or text that looks like one
_ANY_R = re.compile(rb"r\s*=")  # an r attribute, or anything that looks like one


def _cells_range(xml: bytes) -> tuple[int, int]:
    """Where a worksheet's cells can be: from its first "sheetData" to its last (the end tag may
    be written with a prefix or a space before ">")."""
    start = xml.find(b"sheetData")
    return (start, xml.rfind(b"sheetData")) if start >= 0 else (0, 0)


def _plain_extent(xml: bytes, start: int, end: int) -> tuple[int, int] | None:
    """The extent of a plain sheet, found by scans of its bytes without a Python loop over its
    cells; None for any other sheet. Counts, not a pattern that looks at every tag: every "<c"
    and "<row" must start a plain cell or row, and every "r=" be one of theirs."""
    numbers, letters = _PLAIN_NUMBER.findall(xml, start, end), _PLAIN_LETTERS.findall(xml, start, end)
    if (xml.count(b"<c", start, end) != len(letters) or xml.count(b"<row", start, end) != len(numbers) - len(letters)
            or len(_ANY_R.findall(xml, start, end)) != len(numbers) or _PREFIXED.search(xml, start, end)):
        return None
    widest = max(set(letters), key=lambda c: (len(c), c)) if letters else b""
    return max(map(int, set(numbers)), default=0), _column(widest)


def sheet_extent(xml: bytes) -> tuple[int, int]:
    """(last row, last column) that a worksheet's cells reach, the way python-calamine places
    them: a tag named row or c with any prefix; a row or cell without ``r`` follows the one before
    it (a row: the previous row's number + 1; a cell: the previous cell's column + 1, in its row's
    number); ``r`` in either quotes, its letters in either case, the last one if written twice."""
    start, end = _cells_range(xml)
    if (plain := _plain_extent(xml, start, end)) is not None:
        return plain
    row = rows = cols = col = 0
    for tag in _CELL_TAG.finditer(xml, start, end):
        letters, number = _reference(tag.group(2))
        if tag.group(1) == b"row":
            row, col = int(number) if number else row + 1, 0
            rows = max(rows, row)
        else:
            col = _column(letters) if letters else col + 1
            rows, cols = max(rows, int(number) if number else row), max(cols, col)
    return rows, cols


def sheet_cells(xml: bytes) -> int:
    """An upper bound of the cell and row elements in a worksheet, counted without parsing."""
    start, end = _cells_range(xml)
    return sum(xml.count(tag, start, end) for tag in (b"<c", b":c", b"<row", b":row"))


_COMMENTS = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.S)
_SHEET_TAG = re.compile(r"<(?:[\w.-]+:)?sheet(?=[\s/>])" + _ATTRS.decode() + ">")
_NAME = re.compile(r"""\sname\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def sheet_tags(workbook: str) -> list[str]:
    """The attributes of every <sheet> of a workbook.xml without comments (a name may hold ">")."""
    return _SHEET_TAG.findall(workbook)


def uncommented(xml: str) -> str:
    """XML text without its comments and CDATA sections, which no parser reads as elements."""
    return _COMMENTS.sub("", xml) if "<!" in xml else xml


def check_sheet_names(workbook: str) -> None:
    """Raise Damaged for a workbook.xml that lists a sheet name twice (Excel refuses to open
    it; python-calamine reads both, a name lookup finds only one)."""
    import html

    seen: set[str] = set()
    for tag in _SHEET_TAG.finditer(uncommented(workbook)):
        found = _NAME.search(tag.group(1))
        name = html.unescape((found.group(1) if found.group(1) is not None else found.group(2)) if found else "")
        if name.casefold() in seen:
            raise Damaged(f"工作簿中有两个名为“{name[:40]}”的工作表（Excel 不会这样保存）")
        seen.add(name.casefold())


_SHEET_DATA = re.compile(rb"<" + _PREFIX + rb"sheetData(?=[\s/>])")


def is_sheet(xml: bytes) -> bool:
    """Whether a part holds cells (a worksheet, whatever its name or content type says): it has a
    sheetData element, with any prefix. The word elsewhere (a sheet named sheetData in workbook.xml,
    a cell's text in the shared strings) is no element: XML allows no raw "<" in text or attributes."""
    return b"sheetData" in xml and _SHEET_DATA.search(xml) is not None


def check_package(source: Path | bytes, limits: Limits = LIMITS, keep: Callable[[str], bool] = lambda name: False,
                  sheets: bool = False) -> dict[str, bytes]:
    """Refuse a zip package (a file, or its bytes) that would cost too much to open: too big, too
    many parts, or a part that inflates beyond its budget (measured, not taken from its header).
    Raises LimitError, or zipfile.BadZipFile for a damaged package (a bad checksum, a part cut
    short). Returns the content of the members ``keep`` selects (with ``sheets``, also of every
    member that holds cells, whatever its name), inflated once."""
    if isinstance(source, bytes):
        if len(source) > limits.file_bytes:
            raise LimitError(f"文件大小 {_mib(len(source))}，超过上限 {_mib(limits.file_bytes)}")
        opened = io.BytesIO(source)
    else:
        check_size(source, limits.file_bytes)
        opened = source.open("rb")
    with opened as fh, zipfile.ZipFile(fh) as package:
        infos = package.infolist()
        if len(infos) > limits.parts:
            raise LimitError(f"压缩包内有 {len(infos)} 个部件，超过上限 {limits.parts}")
        if len(package.NameToInfo) != len(infos):  # which of two same-named parts a reader takes is its own choice
            raise Damaged("压缩包中有两个同名的部件（Excel 不会这样保存）")
        total, kept = 0, {}
        for info in infos:
            if info.file_size > limits.part_bytes:
                raise LimitError(f"部件 {info.filename} 解压后 {_mib(info.file_size)}，超过上限 {_mib(limits.part_bytes)}")
            chunks = [] if sheets or keep(info.filename) else None
            size = _inflate(fh, info, limits.part_bytes, chunks)
            if size > limits.part_bytes:
                raise LimitError(f"部件 {info.filename} 解压后超过 {_mib(limits.part_bytes)}（压缩炸弹）")
            if chunks is not None:
                data = b"".join(chunks)
                if keep(info.filename) or is_sheet(data):
                    kept[info.filename] = data
            total += size
            if total > limits.total_bytes:
                raise LimitError(f"解压后总大小超过上限 {_mib(limits.total_bytes)}（压缩炸弹）")
    return kept


def check_workbook(source: Path | bytes, limits: Limits = LIMITS, keep: Callable[[str], bool] = lambda name: False) -> dict[str, bytes]:
    """``check_package``, then every part that holds cells measured the way python-calamine will
    read it (whichever sheet names it: a name listed twice, or a <sheet> inside a comment,
    cannot hide one), and workbook.xml's sheet names checked to be unique. Returns the parts
    ``keep`` selects and every part holding cells."""
    parts = check_package(source, limits, keep=lambda name: keep(name) or name.startswith(("xl/workbook.xml", "xl/_rels/workbook.xml")),
                          sheets=True)
    if "xl/workbook.xml" in parts:
        check_sheet_names(parts["xl/workbook.xml"].decode("utf-8", "replace"))
    named = _sheet_names(parts)
    check_sheets({named.get(name, name): xml for name, xml in parts.items() if is_sheet(xml)}, limits)
    return parts


_RELATION = re.compile(r"""<(?:[\w.-]+:)?Relationship\s(?:[^>"']|"[^"]*"|'[^']*')*>""")
_ID, _TARGET = (re.compile(rf"""\s{attr}\s*=\s*["']([^"']*)["']""") for attr in (r"(?:[\w.-]+:)?[iI]d", "Target"))


def _sheet_names(parts: dict[str, bytes]) -> dict[str, str]:
    """Part -> the sheet name workbook.xml gives it, for messages (a part no sheet names keeps its own)."""
    workbook = uncommented(parts.get("xl/workbook.xml", b"").decode("utf-8", "replace"))
    rels = uncommented(parts.get("xl/_rels/workbook.xml.rels", b"").decode("utf-8", "replace"))
    targets = {}
    for tag in _RELATION.findall(rels):
        found, target = _ID.search(tag), _TARGET.search(tag)
        if found and target:
            targets[found.group(1)] = target.group(1).lstrip("/") if target.group(1).startswith("/") else "xl/" + target.group(1)
    names = {}
    for attrs in sheet_tags(workbook):
        name, rid = _NAME.search(attrs), _ID.search(attrs)
        if name and rid and rid.group(1) in targets:
            names[targets[rid.group(1)]] = name.group(1) if name.group(1) is not None else name.group(2)
    return names


def check_sheet_count(count: int, limits: Limits = LIMITS) -> None:
    if count > limits.sheets:
        raise LimitError(f"工作簿有 {count} 个工作表，超过上限 {limits.sheets}")


def check_sheets(sheets: dict[str, bytes], limits: Limits = LIMITS) -> None:
    """Refuse a workbook with too many sheets, or a sheet whose cells span too many rows x columns;
    raises BadZipFile for a sheet cut short (calamine would read its first half without a word)."""
    check_sheet_count(len(sheets), limits)
    for name, xml in sheets.items():
        if not xml.rstrip().endswith(b"worksheet>"):
            raise zipfile.BadZipFile(f"sheet {name} is cut short")
        if (cells := sheet_cells(xml)) > 2 * limits.sheet_cells:
            raise LimitError(f"工作表“{name}”有约 {cells} 个单元格和行，超过上限 {limits.sheet_cells} 个单元格")
        rows, cols = sheet_extent(xml)
        if rows * cols > limits.sheet_cells:
            raise LimitError(f"工作表“{name}”的单元格范围达到 {rows} 行 × {cols} 列，超过上限 {limits.sheet_cells} 个单元格")


# ---------------------------------------------------------------- published reports, before parsing

def check_line(line: str, where: str, limits: Limits = LIMITS) -> None:
    """Refuse a line (or a paragraph, a table cell) too long to split into cells: splitting is
    where a 30 MB line would take gigabytes, so it is measured first."""
    if len(line) > limits.line_chars:
        raise LimitError(f"{where}有 {len(line)} 个字符，超过上限 {limits.line_chars} 个（不像年度报告）")


def check_tag(length: int, limits: Limits = LIMITS) -> None:
    """Refuse one tag of a web page longer than ``markup_chars`` (a tag of a million attributes)."""
    if length > limits.markup_chars:
        raise LimitError(f"网页中有一个标签超过 {limits.markup_chars} 个字符（如上百万个属性），不像年度报告")


_GRID_SPAN = re.compile(rb"""<w:gridSpan\s+w:val\s*=\s*["']\s*([0-9]+)""")


def check_word(document: bytes, limits: Limits = LIMITS) -> None:
    """Refuse a Word document whose table cell spans more columns than Word allows (python-docx
    makes an object of each spanned column: a span of 2,000,000,000 takes all memory)."""
    widest = max((int(n) for n in _GRID_SPAN.findall(document)), default=0)
    if widest > limits.grid_span:
        raise LimitError(f"Word 表格中一个单元格跨 {widest} 列，超过 Word 允许的 {limits.grid_span - 1} 列（文件结构异常）")


_STREAM = re.compile(rb"stream\r?\n")
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def _stream(data: bytes, start: int, cap: int):
    """The pieces a zlib stream starting at ``start`` inflates to, until ``cap`` bytes (or its end, or damage)."""
    inflater, done = zlib.decompressobj(), 0
    while done <= cap and not inflater.eof and start < len(data):
        piece = data[start: start + (1 << 16)]
        try:
            out = inflater.decompress(piece, 1 << 20)
        except zlib.error:
            return
        start += len(piece) - len(inflater.unconsumed_tail)
        done += len(out)
        yield out


def check_pdf(data: bytes, limits: Limits = LIMITS) -> None:
    """Refuse a PDF before pdfminer parses it: streams that inflate beyond ``pdf_stream_bytes``
    all together (a deflate bomb would otherwise be read in full and the report called one
    without a text layer), or more pages than ``pdf_pages`` (counted in the file and in its
    object streams, before any page is parsed)."""
    total, pages = 0, len(_PAGE.findall(data))
    for found in _STREAM.finditer(data):
        if not data.startswith((b"x\x01", b"x^", b"x\x9c", b"x\xda"), found.end()):  # only zlib (FlateDecode) streams inflate
            continue
        for out in _stream(data, found.end(), limits.pdf_stream_bytes - total):
            total += len(out)
            pages += len(_PAGE.findall(out))
        if total > limits.pdf_stream_bytes:
            raise LimitError(f"PDF 的内容解压后超过 {_mib(limits.pdf_stream_bytes)}（压缩炸弹）")
    if pages > limits.pdf_pages:
        raise LimitError(f"PDF 约有 {pages} 页，超过上限 {limits.pdf_pages} 页")


_SHOWN = re.compile(rb"\((?:[^()\\]++|\\.)*+\)|<[0-9A-Fa-f\s]*+>")  # a literal or hex string (possessive: no backtracking)
_OPERATOR = re.compile(rb"(?<![^\s\[\]<>{}/%])[A-Za-z'\"][A-Za-z0-9*'\"]{0,2}(?![^\s\[\]()<>{}/%])")
_DRAWN = re.compile(rb"/([^\s\[\]()<>{}/%]+)\s+Do(?![^\s\[\]()<>{}/%])")


def pdf_content(data: bytes) -> tuple[int, int, list[bytes]]:
    """What a page's (or a form's) content stream costs to lay out: bytes of text it shows,
    operators outside its strings, and the names of the forms and images it draws (``Do``)."""
    shown = sum(len(s) - 2 for s in _SHOWN.findall(data))
    rest = _SHOWN.sub(b" ", data)
    return shown, len(_OPERATOR.findall(rest)), _DRAWN.findall(rest)


def check_pdf_page(page: int, shown: int, operators: int, limits: Limits = LIMITS) -> None:
    """Refuse a page before pdfminer lays it out (1,000,000 characters on one page take 2 GB)."""
    if shown > limits.pdf_page_text or operators > limits.pdf_page_operators:
        raise LimitError(f"PDF 第 {page} 页的内容过多（约 {shown} 字节文字、{operators} 个绘制指令，"
                         f"上限 {limits.pdf_page_text} 字节、{limits.pdf_page_operators} 个），文件结构异常")
