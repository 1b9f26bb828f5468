"""Importing published reports (text, web pages, Word, PDF) into the template of their format."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nianbao.findings import Hit
from nianbao.importers.document import IMAGE_ONLY, LOADERS, ImportError_, NoTextLayer, load
from nianbao.importers.extract import Imported, extract, nothing_read
from nianbao.read import ReadError, read_workbook
from nianbao.values import CellValue, Values

SUFFIXES = tuple(LOADERS)


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


def read_report(path: Path) -> Values:
    """Import a published report and read it as the checker reads a filled template: the values
    as printed (so "/" or "15件" get their usual findings), plus what could not be found, where
    each value came from, and the importer's notes."""
    try:
        imported = imported_for_check(path)
    except ImportError_ as exc:
        raise ReadError(str(exc)) from None
    with tempfile.TemporaryDirectory() as tmp:
        values = read_workbook(write_template(imported, Path(tmp) / "imported.xlsx"))
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
