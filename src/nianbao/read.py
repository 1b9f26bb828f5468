"""Read a filled template into values by key.

Cells are found by their workbook-level defined names, and the labels printed beside each cell
are compared with the spec, so a template whose rows were moved, deleted or relabelled is
reported (rule S001) instead of being read wrongly. Values come from python-calamine; the
workbook's XML is read directly only for what calamine does not expose (defined names, and
whether an empty-looking cell is a formula with no cached result).
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from python_calamine import CalamineWorkbook

from nianbao.findings import Hit
from nianbao.layout import a1, defined_name, form_layout
from nianbao.spec import FormSpec, SpecError, load_spec
from nianbao.values import FORMULA_NO_CACHE, CellValue, interpret

META_SHEET = "_nianbao"  # hidden sheet: format id and template version
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]{1,3})\$?(\d+)$")


class ReadError(Exception):
    """The file cannot be checked at all; the message is one line of Chinese for the user."""


@dataclass
class Values:
    """The content of one report: values by key, where each was read, and structural problems."""

    spec: FormSpec
    cells: dict[str, CellValue]
    where: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sheet, A1)
    hits: list[Hit] = field(default_factory=list)  # problems found while reading
    source: str = ""

    def value(self, key: str) -> object:
        cell = self.cells.get(key)
        return cell.value if cell else None


def _norm(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).replace("“", '"').replace("”", '"')


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _sniff(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ReadError(f"无法打开文件：{exc.strerror}") from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        data = path.read_bytes()
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise ReadError("工作簿设置了打开密码，无法读取；请取消密码后再检查")
        raise ReadError("这是旧版 .xls 文件，请用 Excel 或 WPS 另存为 .xlsx 后再检查")
    if not head.startswith(b"PK"):
        raise ReadError("不是 Excel 工作簿（.xlsx/.xlsm）")


class _Book:
    """A workbook opened once: its XML parts for names and formulas, calamine for values."""

    def __init__(self, path: Path):
        _sniff(path)
        try:
            self.zip = zipfile.ZipFile(path)
            workbook = ET.fromstring(self.zip.read("xl/workbook.xml"))
            rels = ET.fromstring(self.zip.read("xl/_rels/workbook.xml.rels"))
        except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError):
            raise ReadError("文件已损坏，或不是 Excel 工作簿") from None
        targets = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", _NS)}
        self.sheet_parts = {}
        for sheet in workbook.findall("m:sheets/m:sheet", _NS):
            target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
            self.sheet_parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        self.names = {
            dn.get("name"): (dn.text or "")
            for dn in workbook.findall("m:definedNames/m:definedName", _NS)
            if dn.get("localSheetId") is None
        }
        try:
            self.calamine = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises its own error types for broken parts
            raise ReadError(f"文件已损坏，无法读取（{type(exc).__name__}）") from None
        self._grids: dict[str, list[list]] = {}
        self._formulas: dict[str, set[str]] = {}

    def grid(self, sheet: str) -> list[list]:
        if sheet not in self._grids:
            try:
                self._grids[sheet] = self.calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except Exception:
                self._grids[sheet] = []
        return self._grids[sheet]

    def cell(self, sheet: str, row: int, col: int) -> object:
        grid = self.grid(sheet)
        if row < len(grid) and col < len(grid[row]):
            value = grid[row][col]
            return None if value == "" else value
        return None

    def formulas_without_value(self, sheet: str) -> set[str]:
        """A1 addresses of formula cells that carry no cached result."""
        if sheet not in self._formulas:
            found: set[str] = set()
            part = self.sheet_parts.get(sheet)
            if part and part in self.zip.namelist():
                with self.zip.open(part) as fh:
                    for _, elem in ET.iterparse(fh):
                        if elem.tag == f"{{{_NS['m']}}}c":
                            f = elem.find("m:f", _NS)
                            v = elem.find("m:v", _NS)
                            if f is not None and (v is None or not (v.text or "")):
                                found.add(elem.get("r"))
                            elem.clear()
            self._formulas[sheet] = found
        return self._formulas[sheet]

    def resolve(self, name: str) -> tuple[str, int, int] | None:
        match = _REF.match(self.names.get(name, "").strip())
        if not match:
            return None
        sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
        return sheet, int(match.group(4)) - 1, _col_index(match.group(3))

    def metadata(self) -> dict[str, str]:
        if META_SHEET not in self.sheet_parts:
            return {}
        return {str(r[0]): str(r[1]) for r in self.grid(META_SHEET) if len(r) >= 2 and r[0] != ""}


def template_metadata(path: Path) -> dict[str, str]:
    return _Book(path).metadata()


def read_workbook(path: str | Path) -> Values:
    """Read a filled nianbao template. Raises ReadError when the file cannot be read at all."""
    path = Path(path)
    book = _Book(path)
    meta = book.metadata()
    if "format" not in meta:
        raise ReadError("不是 nianbao 模板（缺少格式标识）；请用 nianbao template 生成的模板填写")
    try:
        spec = load_spec(meta["format"])
    except SpecError:
        raise ReadError(f"模板格式 “{meta['format']}” 未知，请更新 nianbao") from None
    version = int(float(meta.get("template_version", "0") or 0))
    if version > spec.template_version:
        raise ReadError(f"模板版本 {version} 比本程序支持的版本 {spec.template_version} 新，请更新 nianbao")
    try:
        return _read_cells(book, spec, str(path))
    finally:
        book.zip.close()


def _read_cells(book: _Book, spec: FormSpec, source: str) -> Values:
    values = Values(spec, {}, source=source)
    broken_rows: dict[tuple[str, str], list[str]] = {}
    bad_labels: dict[tuple[str, str], tuple[str, str]] = {}
    for key, cell in form_layout(spec).inputs.items():
        located = book.resolve(defined_name(key))
        if located is None or located[0] not in book.sheet_parts:
            broken_rows.setdefault((cell.sheet, key.rsplit(".", 1)[0]), []).append(key)
            values.cells[key] = CellValue(None, None, "structure")
            continue
        sheet, row, col = located
        mismatched = False
        for label in cell.labels:
            lr, lc = row + label.row - cell.row, col + label.col - cell.col
            seen = book.cell(sheet, lr, lc) if lr >= 0 and lc >= 0 else None
            if _norm(seen) != _norm(label.text):
                mismatched = True
                bad_labels.setdefault((sheet, a1(max(lr, 0), max(lc, 0))), (label.text, "" if seen is None else str(seen)))
        address = a1(row, col)
        values.where[key] = (sheet, address)
        if mismatched:
            values.cells[key] = CellValue(book.cell(sheet, row, col), None, "structure")
            continue
        raw = book.cell(sheet, row, col)
        if raw is None and address in book.formulas_without_value(sheet):
            raw = FORMULA_NO_CACHE
        values.cells[key] = interpret(raw, spec.cells[key])
    for (sheet, prefix), keys in broken_rows.items():
        what = spec.cells[keys[0]].row_label or spec.cells[keys[0]].label
        values.hits.append(Hit("S001", params={"detail": f"“{what}”的 {len(keys)} 个单元格名称已失效（该行或列可能被删除）"}, sheet=sheet))
    for (sheet, address), (expected, seen) in bad_labels.items():
        values.hits.append(
            Hit("S001", params={"detail": f"{address} 应为“{expected}”，实际为“{seen}”（行或列可能被移动、删除或改名）"}, sheet=sheet, cell=address)
        )
    return values
