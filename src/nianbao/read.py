"""Read a filled template into values by key.

Cells are found by their workbook-level defined names, and the labels printed beside each cell
are compared with the spec, so a template whose rows were moved, deleted or relabelled is
reported (rule S001) instead of being read wrongly. Values come from python-calamine; the
workbook's XML is read directly only for what calamine does not expose (defined names, and
whether an empty-looking cell is a formula with no cached result).
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from python_calamine import CalamineWorkbook

from nianbao import explanations
from nianbao.explanations import Explanation
from nianbao.files import describe_os_error
from nianbao.findings import Hit
from nianbao.layout import a1, defined_name, form_layout
from nianbao.limits import (
    LIMITS,
    Damaged,
    LimitError,
    cache_short,
    check_package,
    check_sheet_count,
    check_sheet_names,
    check_sheets,
    is_sheet,
    read_file,
    sheet_tags,
    uncommented,
)
from nianbao.spec import FormSpec, SpecError, all_specs, load_spec
from nianbao.values import FORMULA_NO_CACHE, NUMBERS, CellValue, ErrorValue, Values, from_float, interpret
from nianbao.zipcut import without

META_SHEET = "_nianbao"  # hidden sheet: format, template version and fingerprint, and a distributed workbook's identity
_TAG_REL = re.compile(r"<(?:\w+:)?Relationship\s([^>]*?)/?>")
_TAG_NAME = re.compile(r"<(?:\w+:)?definedName\s([^>]*)>([^<]*)</(?:\w+:)?definedName>")
_CACHED = re.compile(rb"<v>([^<]+)</v>")
_ATTR = re.compile(r"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")  # XML allows either quote
_KEPT = re.compile(r"xl/workbook\.xml$|xl/_rels/workbook\.xml\.rels$|xl/worksheets/[^/]+\.xml$")  # read once, kept
# A cell holding a formula: its r (either quote) and the formula's text (empty for a shared formula's other cells).
_FORMULA_CELL = re.compile(rb"""<(?:[\w.-]+:)?c\s(?:[^>"']|"[^"]*"|'[^']*')*?\br\s*=\s*["']([A-Z]{1,3}[0-9]{1,7})["']"""
                           rb"""(?:[^>"']|"[^"]*"|'[^']*')*(?<!/)>(?:(?!</?(?:[\w.-]+:)?c[\s/>]).)*?"""
                           rb"""<(?:[\w.-]+:)?f(?=[\s/>])[^>]*?(?:/>|>([^<]*))""", re.S)
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]{1,3})\$?(\d+)$")
# For sheets written as every spreadsheet program writes them: a formula's tag, the plain start tag
# of the cell it is in, and a cell's end.
_F_TAG = re.compile(rb"<f(?=[\s/>])")
_PLAIN_CELL_START = re.compile(rb"""<c r="([A-Z]{1,3}[0-9]{1,7})"(?:[^>"']|"[^"]*"|'[^']*')*>""")
_CELL_END = re.compile(rb"</c[\s/>]")
_PREFIXED = re.compile(rb":[cf][\s/>]")  # a cell or formula with a prefix, or text like one


class ReadError(Exception):
    """The file cannot be checked at all; the message is one line of Chinese for the user."""


def _attrs(text: str) -> dict[str, str]:
    return {("r:id" if k.endswith(":id") else k): html.unescape(double or single) for k, double, single in _ATTR.findall(text)}


def _at(grid: list[list], row: int, col: int) -> object:
    if 0 <= row < len(grid):
        line = grid[row]
        if 0 <= col < len(line):
            value = line[col]
            return None if value == "" else value
    return None


def _norm(text: object) -> str:
    return _normalise(str(text or ""))


@cache_short(8192)
def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace("“", '"').replace("”", '"')


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _sniff(path: Path) -> bytes:
    """The file's bytes, read once: what is checked is what is parsed."""
    try:
        data = read_file(path, LIMITS.file_bytes)
    except OSError as exc:
        raise ReadError(f"无法打开文件：{describe_os_error(exc)}") from None
    except LimitError as exc:
        raise ReadError(str(exc)) from None
    head = data[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise ReadError("工作簿设置了打开密码，无法读取；请取消密码后再检查")
        raise ReadError("这是旧版 .xls 文件，请用 Excel 或 WPS 另存为 .xlsx 后再检查")
    if not head.startswith(b"PK"):
        raise ReadError("不是 Excel 工作簿（.xlsx/.xlsm）")
    return data


def _remembered(store: dict, key, make):
    """``make()``, remembered in ``store`` by ``key`` (workbooks made from one template share it);
    a store past 64 entries starts afresh, so a batch of odd workbooks cannot grow it."""
    if key not in store:
        if len(store) >= 64:
            store.clear()
        store[key] = make()
    return store[key]


_STRUCTURES: dict[bytes, tuple[dict[str, str], dict[str, str]]] = {}


def _structure(workbook: str, rels: str) -> tuple[dict[str, str], dict[str, str]]:
    """Sheet name -> part, and workbook-level defined name -> reference. Plain patterns instead of
    an XML parser: these two small parts are read for every file."""
    workbook, rels = uncommented(workbook), uncommented(rels)  # a <sheet> in a comment is no sheet
    targets = {a.get("Id"): a.get("Target", "") for a in map(_attrs, _TAG_REL.findall(rels))}
    parts = {}
    for attrs in map(_attrs, sheet_tags(workbook)):
        target = targets.get(attrs.get("r:id", ""), "")
        parts[attrs.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    names = {}
    for attrs, text in _TAG_NAME.findall(workbook):
        found = _attrs(attrs)
        if "localSheetId" not in found and "name" in found:
            names[found["name"]] = html.unescape(text)
    return parts, names


class Source:
    """Where a workbook's cells come from: a file (below) or a workbook open in Excel (nianbao.excel).
    A source gives sheet grids from A1 ("" for an empty cell), its sheets and workbook-level names,
    and a key that is the same for workbooks of one structure (it keys the cached read plan)."""

    sheet_parts: dict[str, str]
    names: dict[str, str]
    plan_key: object

    def grid(self, sheet: str) -> list[list]:
        raise NotImplementedError

    def empty_cell(self, sheet: str, address: str) -> object:
        """What a cell that shows no value holds: None (nothing), FORMULA_NO_CACHE, or the
        ErrorValue cached for a formula such as #REF!."""
        return None

    def cell(self, sheet: str, row: int, col: int) -> object:
        return _at(self.grid(sheet), row, col)

    def formulas(self, sheet: str) -> dict[str, str]:
        """A1 address -> formula, for the sheet's cells that hold one (their shown value is a
        cached result, which may come from anywhere: another file, a DDE link)."""
        return {}

    def explanations(self) -> dict[str, Explanation]:
        """The clerk's 说明 the workbook holds (its 检查结果 sheet and nianbao's hidden copy)."""
        return explanations.read(*(self.grid(s) if s in self.sheet_parts else None
                                   for s in (explanations.RESULTS_SHEET, explanations.STORE_SHEET)))

    def metadata(self) -> dict[str, str]:
        if META_SHEET not in self.sheet_parts:
            return {}
        return {str(r[0]): str(r[1]) for r in self.grid(META_SHEET) if len(r) >= 2 and r[0] != ""}


_NEW_ERRORS = re.compile(rb"<v>#(?:SPILL|CALC|FIELD|BLOCKED|CONNECT|BUSY|UNKNOWN|PYTHON|EXTERNAL)!</v>")


@cache
def read_sheets() -> frozenset[str]:
    """Every sheet the reader may read: the input sheets of every format, the hidden record and
    the explanations. Only these are measured and given to python-calamine."""
    inputs = {cell.sheet for spec in all_specs() for cell in form_layout(spec).inputs.values()}
    return frozenset(inputs | {META_SHEET, explanations.RESULTS_SHEET, explanations.STORE_SHEET})


def _for_calamine(package: zipfile.ZipFile, data: bytes, parts: dict[str, bytes], unread: set[str], read: set[str]) -> bytes:
    """The package as python-calamine will read it: without the parts holding cells that the reader
    does not read (``unread``: they were not measured), and with a cached error newer than calamine
    knows (Excel 365's #SPILL!, #CALC! ...) given as #N/A, since it would fail the whole sheet; the
    reader takes the real code from the XML (``empty_cell``)."""
    changed = {name: _NEW_ERRORS.sub(b"<v>#N/A</v>", parts[name]) for name in read if name in parts and _NEW_ERRORS.search(parts[name])}
    if not changed and (cut := without(data, package.infolist(), unread)) is not None:
        return cut
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in package.infolist():
            if info.filename not in unread:
                zout.writestr(info, changed[info.filename] if info.filename in changed else package.read(info))
    return out.getvalue()


def _plain_formulas(xml: bytes) -> dict[str, str] | None:
    """What ``_FORMULA_CELL`` finds, found from each formula back to the cell it is in (a sheet has
    far fewer formulas than characters the pattern steps through); None when a cell on the way is
    not written plainly (``<c r="A1"``), and the pattern has to be asked. A formula is read when no
    cell ended between its cell's start and it; a cell's second formula is not read."""
    if _PREFIXED.search(xml):
        return None
    found, after = {}, 0
    for tag in _F_TAG.finditer(xml):
        start, after = xml.rfind(b"<c", after, tag.start()), tag.end()
        if start < 0:  # no cell began since the last formula
            continue
        cell = _PLAIN_CELL_START.match(xml, start)
        close = xml.find(b">", tag.end())
        if cell is None or cell.end() > tag.start() or close < 0:
            return None
        if xml[cell.end() - 2] == 47 or _CELL_END.search(xml, cell.end(), tag.start()):  # <c .../>, or the cell ended
            continue
        end = xml.find(b"<", close)
        text = b"" if xml[close - 1] == 47 else xml[close + 1: end if end >= 0 else len(xml)]
        found[cell.group(1).decode("ascii")] = html.unescape(text.decode("utf-8", "replace"))
    return found


class _Book(Source):
    """A workbook file opened once: its XML parts for names and formulas, calamine for values."""

    def __init__(self, path: Path):
        data = _sniff(path)
        try:
            # Before any parser sees the file: bombs and damage are refused here. The XML parts are
            # inflated once, here, and kept.
            parts = check_package(data, keep=_KEPT.match, sheets=True)
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self.zip.getinfo("[Content_Types].xml")  # every Office package has it; without it, Excel will not open the file
            self.structure = (parts["xl/workbook.xml"].decode("utf-8"), parts["xl/_rels/workbook.xml.rels"].decode("utf-8"))
            check_sheet_names(self.structure[0])
            # Workbooks made from one template share their structure: parse it once, keyed by a digest
            # (a key of the text itself would keep megabytes alive for a hostile workbook.xml).
            self.plan_key = hashlib.blake2b("\0".join(self.structure).encode(), digest_size=16).digest()
            self.sheet_parts, self.names = _remembered(_STRUCTURES, self.plan_key, lambda: _structure(*self.structure))
            # Only the sheets the reader reads are measured (as calamine reads them), and calamine is
            # given a package without the other parts holding cells: the live layer's large hidden
            # sheet costs nothing, and no other reading of workbook.xml can reach an unmeasured sheet.
            # A part without cells (a chart sheet) was not kept: what it holds is small and never a grid.
            read = {sheet: part for sheet, part in self.sheet_parts.items() if sheet in read_sheets()}
            self._xml = {sheet: parts[part] if part in parts else self.zip.read(part) for sheet, part in read.items()}
            holding = {name for name, xml in parts.items() if is_sheet(xml)}
            check_sheet_count(len(holding))
            check_sheets({sheet: self._xml[sheet] for sheet, part in read.items() if part in holding})
            package = _for_calamine(self.zip, data, parts, holding - set(read.values()), set(read.values()))
        except LimitError as exc:
            raise ReadError(str(exc)) from None
        except Damaged as exc:
            raise ReadError(f"文件已损坏：{exc}") from None
        except KeyError:
            raise ReadError("文件已损坏：缺少工作簿的组成部分（可能不是 Excel 工作簿）") from None
        except (zipfile.BadZipFile, EOFError, UnicodeDecodeError, ValueError):
            raise ReadError("文件已损坏：压缩包校验失败或内容被截断，请从发件人处重新获取") from None
        except OSError as exc:
            raise ReadError(f"无法读取文件：{describe_os_error(exc)}") from None
        try:
            self.calamine = CalamineWorkbook.from_filelike(io.BytesIO(package))
        except Exception as exc:  # calamine raises its own error types for broken parts
            raise ReadError(f"文件已损坏，无法读取（{type(exc).__name__}）") from None
        self._grids: dict[str, list[list]] = {}

    def grid(self, sheet: str) -> list[list]:
        if sheet not in self._grids:
            if sheet not in self._xml:  # not in the workbook, or never read (and never given to calamine)
                return []
            try:
                self._grids[sheet] = self.calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except Exception as exc:  # a sheet calamine cannot parse: truncated or malformed XML
                raise ReadError(f"文件已损坏：工作表“{sheet}”无法读取（{type(exc).__name__}）") from None
        return self._grids[sheet]

    def formulas(self, sheet: str) -> dict[str, str]:
        xml = self._xml.get(sheet, b"")
        if b"<f" not in xml and b":f" not in xml:
            return {}
        found = _plain_formulas(xml)
        if found is None:
            found = {ref.decode("ascii"): html.unescape(formula.decode("utf-8", "replace")) for ref, formula in _FORMULA_CELL.findall(xml)}
        return found

    def empty_cell(self, sheet: str, address: str) -> object:
        # calamine shows a formula without a stored result, and a cached error such as #REF!, as empty.
        xml = self._xml.get(sheet, b"")
        start = xml.find(b'<c r="' + address.encode() + b'"')
        if start < 0:
            return None
        head_end = xml.find(b">", start)
        if xml[head_end - 1: head_end] == b"/":  # <c .../>: an empty cell
            return None
        body = xml[head_end + 1: xml.find(b"</c>", head_end)]
        cached = _CACHED.search(body)
        if b't="e"' in xml[start:head_end] and cached:
            return ErrorValue(html.unescape(cached.group(1).decode("utf-8", "replace")))
        return FORMULA_NO_CACHE if b"<f" in body and cached is None else None


def read_workbook(path: str | Path) -> Values:
    """Read a filled nianbao template. Raises ReadError when the file cannot be read at all."""
    book = _Book(Path(path))
    try:
        return read_source(book, str(path))
    finally:
        book.zip.close()


def template_version(text: object) -> int | None:
    """The template version a hidden record gives ("1", or "1.0" as a spreadsheet stores it), or
    None when it is no version ("abc"; "nan" and "1e999" are numbers, but no version)."""
    try:
        number = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() and 0 <= number < 10**6 else None


def read_source(book: Source, source: str) -> Values:
    """Read the values of a filled template from any source of cells."""
    meta = book.metadata()
    if "format" not in meta:
        raise ReadError("不是 nianbao 模板（缺少格式标识）；请用 nianbao template 生成的模板填写")
    try:
        spec = load_spec(meta["format"])
    except SpecError:
        raise ReadError(f"模板格式 “{meta['format']}” 未知，请更新 nianbao") from None
    text = str(meta.get("template_version", "0") or "0").strip()
    version = template_version(text)
    if version is None:
        raise ReadError(f"模板版本“{text[:40]}”无效：隐藏的 {META_SHEET} 工作表被修改，请用 nianbao template 重新生成模板")
    if version > spec.template_version:
        raise ReadError(f"模板版本 {version} 比本程序支持的版本 {spec.template_version} 新，请更新 nianbao")
    values = _read_cells(book, spec, source)
    values.meta = meta
    values.explanations = book.explanations()
    return values


def _resolve(reference: str) -> tuple[str, int, int] | None:
    match = _REF.match(reference.strip())
    if not match:
        return None
    sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
    return sheet, int(match.group(4)) - 1, _col_index(match.group(3))


@dataclass(frozen=True)
class _Plan:
    """Where one workbook structure puts every input cell and its labels. Workbooks made from
    one template share a structure, so the plan is worked out once and reused."""

    located: tuple[tuple[str, str, int, int, bool], ...]  # key, sheet, row, col, read from a float as a number
    where: dict[str, tuple[str, str]]  # key -> (sheet, A1), shared by every workbook of the structure
    broken: dict[tuple[str, str], list[str]]  # (sheet, table.row) -> keys whose name is gone
    labels: dict[str, tuple[list[tuple[int, int]], list[str], list[list[str]]]]  # sheet -> positions, texts, keys


_PLANS: dict[tuple[str, object], _Plan] = {}


def _plan(spec: FormSpec, book: Source) -> _Plan:
    return _remembered(_PLANS, (spec.id, book.plan_key), lambda: _make_plan(spec, book.sheet_parts, book.names))


def _make_plan(spec: FormSpec, parts: dict[str, str], names: dict[str, str]) -> _Plan:
    located, broken = [], {}
    labels: dict[tuple[str, int, int], tuple[str, list[str]]] = {}
    for key, cell in form_layout(spec).inputs.items():
        place = _resolve(names.get(defined_name(key), ""))
        if place is None or place[0] != cell.sheet or place[0] not in parts:  # a name must point at its own sheet, not a hidden copy
            broken.setdefault((cell.sheet, key.rsplit(".", 1)[0]), []).append(key)
            continue
        sheet, row, col = place
        located.append((key, sheet, row, col, spec.cells[key].type in NUMBERS))
        for label in cell.labels:
            labels.setdefault((sheet, row + label.row - cell.row, col + label.col - cell.col), (label.text, []))[1].append(key)
    by_sheet: dict[str, tuple[list, list, list]] = {}
    for (sheet, row, col), (text, keys) in labels.items():
        positions, texts, owners = by_sheet.setdefault(sheet, ([], [], []))
        positions.append((row, col))
        texts.append(text)
        owners.append(keys)
    where = {key: (sheet, a1(row, col)) for key, sheet, row, col, _ in located}
    return _Plan(tuple(located), where, broken, by_sheet)


def _misplaced(book: Source, plan: _Plan, values: Values) -> set[str]:
    """The keys whose labels around them are not as the spec prints them (an S001 each label)."""
    misplaced: set[str] = set()
    for sheet, (positions, texts, owners) in plan.labels.items():
        grid = book.grid(sheet)
        try:
            if [grid[r][c] for r, c in positions] == texts:  # the common case: every label exactly as printed
                continue
        except IndexError:
            pass
        seen = [_at(grid, r, c) for r, c in positions]
        for (r, c), got, text, keys in zip(positions, seen, texts, owners, strict=True):
            if _norm(got) != _norm(text):
                misplaced.update(keys)
                where = a1(max(r, 0), max(c, 0))
                detail = f"{where} 应为“{text}”，实际为“{'' if got is None else got}”（行或列可能被移动、删除或改名）"
                values.hits.append(Hit("S001", params={"detail": detail}, sheet=sheet, cell=where, anchor=f"{sheet}:{text}"))
    return misplaced


def _read_located(book: Source, plan: _Plan, values: Values, misplaced: set[str]) -> None:
    data, specs, grids = values.data, values.spec.cells, {s: book.grid(s) for s in plan.labels}
    for key, sheet, row, col, number in plan.located:
        try:
            raw = grids[sheet][row][col]
        except (KeyError, IndexError):
            raw = _at(book.grid(sheet), row, col)
        if number and type(raw) is float and key not in misplaced:  # the common case, inline
            value = from_float(raw)
            if value is not None:
                data[key] = value
                continue
        if raw == "":
            raw = None
        if key in misplaced:
            values.set(key, CellValue(raw, None, "structure"))
            continue
        if raw is None:
            raw = book.empty_cell(sheet, plan.where[key][1])
        values.set(key, interpret(raw, specs[key]))
    _formulas(book, plan, values, misplaced)


def _read_cells(book: Source, spec: FormSpec, source: str) -> Values:
    plan = _plan(spec, book)
    values = Values(spec, {}, where=plan.where, source=source)
    _read_located(book, plan, values, _misplaced(book, plan, values))
    for (sheet, _), keys in plan.broken.items():
        for key in keys:
            values.set(key, CellValue(None, None, "structure"))
        what = spec.cells[keys[0]].row_label or spec.cells[keys[0]].label
        detail = f"“{what}”的 {len(keys)} 个单元格名称已失效（该行或列可能被删除）"
        values.hits.append(Hit("S001", params={"detail": detail}, sheet=sheet, anchor=f"{sheet}:{what}"))
    return values


def _formulas(book: Source, plan: _Plan, values: Values, misplaced: set[str]) -> None:
    """An input cell holding a formula is not read (C007), whatever result it shows: the number a
    report states is typed, and a cached result can be anything (a DDE link's last answer)."""
    by_sheet = {sheet: book.formulas(sheet) for sheet in {sheet for _, sheet, *_ in plan.located}}
    for key, sheet, *_ in plan.located:
        formula = by_sheet[sheet].get(plan.where[key][1])
        if formula is not None and key not in misplaced and getattr(values.issues.get(key), "issue", None) != "error_value":
            shown = formula if len(formula) <= 60 else formula[:60] + "…"
            values.set(key, CellValue("=" + shown, None, "formula", f"单元格是公式“={shown}”，填报栏只读取直接填写的值"))
