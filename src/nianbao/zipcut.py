"""A zip package with some members left out, made by rewriting only its central directory.

The reader hands python-calamine a workbook without the sheets it never reads: calamine can then
only reach sheets that were measured, whichever sheet its own reading of workbook.xml names. The
members' data stay where they are (nothing is inflated or compressed again); the directory that
lists them loses the left-out entries. A package this cannot cut plainly (zip64, data before the
first member, a directory that does not parse) gets None, and the caller rebuilds it instead.
"""

from __future__ import annotations

import struct
import zipfile

_END = b"PK\x05\x06"
_ENTRY = b"PK\x01\x02"
_END_SIZE = 22
_ENTRY_SIZE = 46


def _end_record(data: bytes) -> tuple[int, int, int] | None:
    """(where the end record is, entries, where the directory starts), for a plain package."""
    at = data.rfind(_END, max(0, len(data) - _END_SIZE - 0xFFFF))
    if at < 0 or at + _END_SIZE > len(data):
        return None
    disk, start_disk, here, entries, size, offset, comment = struct.unpack("<HHHHIIH", data[at + 4: at + _END_SIZE])
    plain = disk == start_disk == 0 and here == entries != 0xFFFF and offset != 0xFFFFFFFF
    if not plain or at + _END_SIZE + comment != len(data) or offset + size != at or data[at - 20: at - 16] == b"PK\x06\x07":
        return None
    return at, entries, offset


def without(data: bytes, infos: list[zipfile.ZipInfo], leave_out: set[str]) -> bytes | None:
    """``data`` without the members named in ``leave_out``; ``infos`` is zipfile's list of the same
    package, in directory order (it names each entry as Python does). None when the package is
    not one this can cut."""
    if not leave_out:
        return data
    found = _end_record(data)
    if found is None or found[1] != len(infos):
        return None
    at, _, start = found
    kept, pos = [], start
    for info in infos:
        if data[pos: pos + 4] != _ENTRY:
            return None
        name, extra, comment = struct.unpack("<HHH", data[pos + 28: pos + 34])
        end = pos + _ENTRY_SIZE + name + extra + comment
        if info.filename not in leave_out:
            kept.append(data[pos:end])
        pos = end
    if pos != at:
        return None
    directory = b"".join(kept)
    end_record = _END + struct.pack("<HHHHIIH", 0, 0, len(kept), len(kept), len(directory), start, 0)
    return data[:start] + directory + end_record
