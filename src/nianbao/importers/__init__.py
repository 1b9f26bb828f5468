"""Importing published reports (text, web pages, Word, PDF) into the template of their format."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path

from nianbao.findings import Hit
from nianbao.importers.document import IMAGE_ONLY, LOADERS, ImportError_, NoTextLayer, load
from nianbao.importers.extract import Imported, extract, nothing_read
from nianbao.layout import form_layout
from nianbao.read import ReadError, read_workbook
from nianbao.spec import load_spec
from nianbao.stamp import stamp
from nianbao.values import CellValue, Values

SUFFIXES = tuple(LOADERS)
_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's serial dates (as xlsxwriter counts them, past February 1900)


def import_report(path: str | Path) -> Imported:
    """Read a published report; raises ImportError_ with a one-line reason when it cannot be read."""
    return extract(load(Path(path)))


def imported_for_check(path: Path) -> Imported:
    """What a check reads of a report: a PDF of page images is a report with nothing read, and
    with I005 (its readers cannot search it or have it read aloud), not only a file not read."""
    try:
        return import_report(path)
    except NoTextLayer:
        imported = nothing_read("PDF 没有文字层（图片版），无法读取")
        imported.hits.append(Hit(IMAGE_ONLY))
        return imported


def importable(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def write_template(imported: Imported, dest: Path) -> Path:
    """The matching template, filled with what the import found (missing cells left blank)."""
    from nianbao.template import build

    return build(imported.spec, dest, values=imported.values)


@cache
def _blank_template(format_id: str) -> bytes:
    """The template of a format, built once per process (a build takes xlsxwriter about half a
    second: 1,000 one-line reports spent most of their time building the same template)."""
    from nianbao.template import build

    with tempfile.TemporaryDirectory() as tmp:
        return build(load_spec(format_id), Path(tmp) / "blank.xlsx").read_bytes()


def _stamped(imported: Imported, folder: Path) -> Path:
    """The template filled with what the import found, each value written into a copy of the
    template built once (stamp.py) as the builder writes it: a date as its serial day number in the
    cell's date format, any other value that is no number as text."""
    inputs = form_layout(imported.spec).inputs
    blank = folder / "blank.xlsx"
    blank.write_bytes(_blank_template(imported.spec.id))
    cells = {}
    for key, value in imported.values.items():
        if isinstance(value, dt.datetime):
            value = (value - dt.datetime.combine(_EPOCH, dt.time())) / dt.timedelta(days=1)
        elif isinstance(value, dt.date):
            value = (value - _EPOCH).days
        elif isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str, type(None))):
            value = str(value)
        cells[(inputs[key].sheet, inputs[key].address)] = value
    return stamp(blank, folder / "imported.xlsx", cells)


def read_report(path: Path) -> Values:
    """Import a published report and read it as the checker reads a filled template: the values
    as printed (so "/" or "15件" get their usual findings), plus what could not be found, where
    each value came from, and the importer's notes."""
    try:
        imported = imported_for_check(path)
    except ImportError_ as exc:
        raise ReadError(str(exc)) from None
    with tempfile.TemporaryDirectory() as tmp:
        values = read_workbook(_stamped(imported, Path(tmp)))
    values.source, values.imported = str(path), True
    # What the importer could not locate is a limit of the reading, not an error of the report:
    # the cells stay unread (no finding), and the result says the check is partial.
    for key, seen in imported.missing.items():
        values.set(key, CellValue(None, None, "missing", seen))
        values.unread[key] = seen
    for table_key in imported.absent:
        table = imported.spec.table(table_key)
        for key in imported.spec.cells:
            if key.startswith(f"{table_key}."):
                values.set(key, CellValue(None, None, "absent"))
                values.unread[key] = f"原文中未找到表格“{table.title}”"
    # A total printed for rows printed as one stands for their sum in relations (spec printed_totals).
    values.data.update({k: v for k, v in imported.totals.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0})
    values.origins = imported.origins
    values.hits += imported.hits
    return values


__all__ = ["Imported", "ImportError_", "SUFFIXES", "import_report", "importable", "imported_for_check", "read_report", "write_template"]
