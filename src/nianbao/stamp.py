"""Workbooks stamped from a template built once: distribution builds the template of a format
once, with a placeholder for every identity entry, and writes each office's workbook as a copy of
it with its identity, its values and its notes patched in (nianbao.package), instead of building
every workbook again (about 40 ms each in xlsxwriter, most of it preparing the same formulas).

The stamper knows no template contents: it writes the cells it is given (by sheet and address,
which the caller takes from the layout) and replaces placeholders in the shared strings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from nianbao.files import atomic_path
from nianbao.package import NOTE_FONT, REL_NS, Notes, Package, SheetXml, Workbook, esc, parse_address, utf8, vml_ids

REL_STRINGS = REL_NS + "/sharedStrings"
AUTHOR = "nianbao"
NOTE_BOX = (192, 84)  # points: the box xlsxwriter gives a note twice as wide and half again as tall


def placeholder(key: str) -> str:
    """What the template holds where the stamp writes identity entry ``key``."""
    return f"⟦{key}⟧"


def cell_body(value: object) -> tuple[bytes, str | None]:
    """A cell's content element and type, written as the template builder writes the value."""
    if isinstance(value, (dt.date, dt.datetime)) or not isinstance(value, (str, int, float, Decimal)) or isinstance(value, bool):
        raise TypeError(f"cannot stamp a {type(value).__name__}")
    if isinstance(value, str):
        return utf8(f'<is><t xml:space="preserve">{esc(value)}</t></is>'), "inlineStr"
    return f"<v>{float(value):.16G}</v>".encode(), None


_TEMPLATES: dict[tuple[Path, int, int], Package] = {}


def _template(path: Path) -> Package:
    """The built template, read and bounded once per process (a distribution stamps hundreds of
    workbooks from it); a template rebuilt at the same path is read again."""
    status = path.stat()
    key = (path.resolve(), status.st_mtime_ns, status.st_size)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= 8:
            _TEMPLATES.clear()
        _TEMPLATES[key] = Package(path)
    return _TEMPLATES[key].fresh()


def stamp(template: Path, dest: Path, cells: dict[tuple[str, str], object], notes: dict[tuple[str, str], str] | None = None,
          identity: dict[str, str] | None = None) -> Path:
    """Write ``template`` to ``dest`` (atomically) with ``cells`` set (by sheet and address; the
    cells keep their format), ``notes`` added, and each identity placeholder replaced by its value."""
    package = _template(Path(template))
    book = Workbook(package)
    if identity:
        _replace_placeholders(package, book, identity)
    sheets: dict[str, SheetXml] = {}

    def sheet(name: str) -> SheetXml:
        if name not in sheets:
            sheets[name] = SheetXml(package.read(book.sheet(name).part))
        return sheets[name]

    for (name, address), value in cells.items():
        if value is not None:
            sheet(name).set_cell(*parse_address(address), *cell_body(value))
    by_sheet: dict[str, dict[tuple[int, int], str]] = {}
    for (name, address), text in (notes or {}).items():
        by_sheet.setdefault(name, {})[parse_address(address)] = text
    taken = vml_ids(package)
    for name, texts in by_sheet.items():
        box = Notes(package, book.sheet(name).part, sheet(name).xml, taken)
        for place, text in texts.items():
            box.set(place, [(NOTE_FONT, text)], AUTHOR)
        box.save(sheet(name), dict.fromkeys(texts, NOTE_BOX))
    for name, xml in sheets.items():
        package.write(book.sheet(name).part, xml.to_bytes())
    with atomic_path(Path(dest)) as tmp:
        package.save(tmp)
    return Path(dest)


def _replace_placeholders(package: Package, book: Workbook, identity: dict[str, str]) -> None:
    rel = next(iter(book.rels.of_type(REL_STRINGS)), None)
    if rel is None:
        return
    part = book.rels.member(rel)
    text = package.read(part).decode("utf-8")
    for key, value in identity.items():
        text = text.replace(esc(placeholder(key)), esc(value))
    package.write(part, utf8(text))
