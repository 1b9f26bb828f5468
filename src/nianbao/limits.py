"""Bounds on what one input may cost: checked before a file is parsed, so a zip bomb, a sheet
reaching cell XFD1048576 or a 100 MB web page is refused in milliseconds with its reason
instead of taking gigabytes (python-calamine allocates a sheet's whole rectangle at once, and a
failed allocation aborts the process).

The defaults are a wide margin above any real report: a filled template is about 30 KB, its
largest part under 100 KB inflated, its largest sheet under 40 x 20 cells.
"""

from __future__ import annotations

import re
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
    sheet_cells: int = 1_000_000  # rows x columns that a sheet's cells span
    text_bytes: int = 32 << 20  # a text, web page or Markdown report
    pdf_pages: int = 300
    document_cells: int = 200_000  # cells and lines of one published report (a real one has under 2,000)
    seconds: float = 60.0  # one file in a batch, from reading to its annotated copy


LIMITS = Limits()


class LimitError(ValueError):
    """An input exceeds a limit; the message is one line of Chinese saying which."""

    def __init__(self, what: str):
        super().__init__(f"超出处理上限：{what}")


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


def check_size(path: Path, limit: int) -> None:
    size = path.stat().st_size
    if size > limit:
        raise LimitError(f"文件大小 {_mib(size)}，超过上限 {_mib(limit)}")


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


_REF = re.compile(rb'\sr="([A-Z]{0,3})([0-9]{1,7})"')  # a row's r="12" or a cell's r="AB12"


def _highest(found: set[bytes]) -> bytes:
    return max(found, key=lambda b: (len(b), b), default=b"")  # numerals and column letters both order so


def sheet_extent(xml: bytes) -> tuple[int, int]:
    """(last row, last column) that a worksheet's cells reach, from their references."""
    start, end = xml.find(b"sheetData"), xml.rfind(b"sheetData>")  # cells are only read from there
    refs = _REF.findall(xml, max(start, 0), end if end > start else 0)
    letters = _highest({letters for letters, _ in refs})
    cols = 0
    for ch in letters:
        cols = cols * 26 + ch - 64
    return int(_highest({row for _, row in refs}) or 0), cols


def check_package(path: Path, limits: Limits = LIMITS, keep: Callable[[str], bool] = lambda name: False) -> dict[str, bytes]:
    """Refuse a zip package that would cost too much to open: too big, too many parts, or a part
    that inflates beyond its budget (measured, not taken from its header). Raises LimitError, or
    zipfile.BadZipFile for a damaged package (a bad checksum, a part cut short). Returns the
    content of the members ``keep`` selects, inflated once."""
    check_size(path, limits.file_bytes)
    with zipfile.ZipFile(path) as package, path.open("rb") as fh:
        infos = package.infolist()
        if len(infos) > limits.parts:
            raise LimitError(f"压缩包内有 {len(infos)} 个部件，超过上限 {limits.parts}")
        total, kept = 0, {}
        for info in infos:
            if info.file_size > limits.part_bytes:
                raise LimitError(f"部件 {info.filename} 解压后 {_mib(info.file_size)}，超过上限 {_mib(limits.part_bytes)}")
            chunks = [] if keep(info.filename) else None
            size = _inflate(fh, info, limits.part_bytes, chunks)
            if chunks is not None:
                kept[info.filename] = b"".join(chunks)
            if size > limits.part_bytes:
                raise LimitError(f"部件 {info.filename} 解压后超过 {_mib(limits.part_bytes)}（压缩炸弹）")
            total += size
            if total > limits.total_bytes:
                raise LimitError(f"解压后总大小超过上限 {_mib(limits.total_bytes)}（压缩炸弹）")
    return kept


def check_sheets(sheets: dict[str, bytes], limits: Limits = LIMITS) -> None:
    """Refuse a workbook with too many sheets, or a sheet whose cells span too many rows x columns;
    raises BadZipFile for a sheet cut short (calamine would read its first half without a word)."""
    if len(sheets) > limits.sheets:
        raise LimitError(f"工作簿有 {len(sheets)} 个工作表，超过上限 {limits.sheets}")
    for name, xml in sheets.items():
        if not xml.rstrip().endswith(b"worksheet>"):
            raise zipfile.BadZipFile(f"sheet {name} is cut short")
        rows, cols = sheet_extent(xml)
        if rows * cols > limits.sheet_cells:
            raise LimitError(f"工作表“{name}”的单元格范围达到 {rows} 行 × {cols} 列，超过上限 {limits.sheet_cells} 个单元格")
