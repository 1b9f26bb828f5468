"""The 检查 button: the macro workbook as built, and the Python side against xlwings' own interfaces.

There is no Excel here. The Python entry points run against an in-memory workbook whose Book,
Sheets, Sheet, Range, Note, Name and App objects are ``create_autospec`` of the installed xlwings
classes: a misspelt attribute or a wrong signature fails the test as it would fail in Excel.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest.mock import MagicMock, PropertyMock, create_autospec

import pytest
import xlwings
import xlwings.main as xm
from oletools.olevba import VBA_Parser
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

import nianbao
from nianbao import excel
from nianbao.annotate import FILLS, MARKER, RESULTS_SHEET
from nianbao.layout import form_layout
from nianbao.samples import fill
from nianbao.spec import load_spec
from nianbao.template import build

from .conftest import EXAMPLES, ROOT, SYSTEM_PYTHON, require_libreoffice

BAS = ROOT / "vba" / "nianbao.bas"


# ------------------------------------------------------------------ an in-memory Excel, xlwings-shaped


def _prop(mock, name, getter, setter=None):
    setattr(type(mock), name, PropertyMock(side_effect=lambda *v: setter(*v) if v else getter()))


class FakeExcel:
    """Sheets of cells (value, fill, note) loaded from a real workbook, behind autospec'd xlwings objects."""

    def __init__(self, path: Path):
        wb = load_workbook(path, data_only=True)
        self.name = path.name
        self.order: list[str] = []
        self.sheets: dict[str, dict] = {}
        for ws in wb.worksheets:
            cells = {}
            for row in ws.iter_rows():
                for c in row:
                    value = float(c.value) if isinstance(c.value, int) and not isinstance(c.value, bool) else c.value
                    color = f"#{c.fill.fgColor.rgb[-6:]}".lower() if c.fill.fill_type == "solid" and c.fill.fgColor.type == "rgb" else None
                    note = c.comment.text if c.comment else None
                    if value is not None or color or note:
                        cells[c.coordinate] = {"value": value, "color": color, "note": note}
            self._add(ws.title, cells, protected=bool(ws.protection.sheet))
        self.names = {n: d.attr_text for n, d in wb.defined_names.items()}
        self.alerts: list[str] = []
        self.links: dict[tuple[str, str], str] = {}
        self.protect_calls: list[str] = []

    def _add(self, name, cells=None, protected=False, position=None):
        self.sheets[name] = {"cells": cells or {}, "protected": protected, "visible": True}
        self.order.insert(len(self.order) if position is None else position, name)

    # -- xlwings objects
    def book(self):
        book = create_autospec(xm.Book, instance=True)
        _prop(book, "name", lambda: self.name)
        _prop(book, "sheets", self.sheets_object)
        _prop(book, "names", lambda: [self.name_object(n, r) for n, r in self.names.items()])
        app = create_autospec(xm.App, instance=True)
        app.alert.side_effect = lambda prompt, title=None, **_: self.alerts.append(prompt)
        _prop(book, "app", lambda: app)
        return book

    def name_object(self, name, ref):
        obj = create_autospec(xm.Name, instance=True)
        _prop(obj, "name", lambda: name)
        _prop(obj, "refers_to", lambda: f"={ref}")
        return obj

    def sheets_object(self):
        sheets = create_autospec(xm.Sheets, instance=True)
        sheets.__getitem__.side_effect = lambda key: self.sheet(self.order[key] if isinstance(key, int) else key)
        sheets.__iter__.side_effect = lambda: iter([self.sheet(n) for n in list(self.order)])
        sheets.__len__.side_effect = lambda: len(self.order)

        def add(name=None, before=None, after=None):
            position = self.order.index(before.name) if before is not None else self.order.index(after.name) + 1
            self._add(name, position=position)
            return self.sheet(name)

        sheets.add.side_effect = add
        return sheets

    def sheet(self, name):
        if name not in self.sheets:
            raise KeyError(name)
        state = self.sheets[name]
        sheet = create_autospec(xm.Sheet, instance=True)
        _prop(sheet, "name", lambda: name)
        sheet.__getitem__.side_effect = lambda address: self.cell(name, address)
        _prop(sheet, "used_range", lambda: self.used_range(name))
        _prop(sheet, "visible", lambda: state["visible"], lambda v: state.update(visible=v))
        api = MagicMock()
        api.ProtectContents = state["protected"]
        api.Unprotect.side_effect = lambda: (state.update(protected=False), self.protect_calls.append(f"unprotect {name}"))
        api.Protect.side_effect = lambda **_: (state.update(protected=True), self.protect_calls.append(f"protect {name}"))
        _prop(sheet, "api", lambda: api)
        sheet.delete.side_effect = lambda: (self.sheets.pop(name), self.order.remove(name))
        return sheet

    def used_range(self, name):
        cells = self.sheets[name]["cells"]
        coords = [re.match(r"([A-Z]+)(\d+)", a).groups() for a, c in cells.items() if c["value"] is not None]
        rows = [int(r) for _, r in coords] or [1]
        cols = [_col(c) for c, _ in coords] or [1]
        top, left, bottom, right = min(rows), min(cols), max(rows), max(cols)
        grid = [[(cells.get(f"{_letters(c)}{r}") or {}).get("value") for c in range(left, right + 1)] for r in range(top, bottom + 1)]
        used = create_autospec(xm.Range, instance=True)
        _prop(used, "row", lambda: top)
        _prop(used, "column", lambda: left)
        options = create_autospec(xm.Range, instance=True)
        _prop(options, "value", lambda: grid)
        used.options.return_value = options
        return used

    def cell(self, sheet, address):
        state = self.sheets[sheet]
        rng = create_autospec(xm.Range, instance=True)

        def slot():
            return state["cells"].setdefault(address, {"value": None, "color": None, "note": None})

        def write(value):
            if state["protected"]:
                raise PermissionError(f"{sheet} is protected")
            if isinstance(value, list):  # a block written from the top-left cell
                col0, row0 = re.match(r"([A-Z]+)(\d+)", address).groups()
                for r, row in enumerate(value):
                    for c, v in enumerate(row):
                        state["cells"].setdefault(f"{_letters(_col(col0) + c)}{int(row0) + r}", {"color": None, "note": None})["value"] = v
            else:
                slot()["value"] = value

        def set_color(value):
            if state["protected"]:
                raise PermissionError(f"{sheet} is protected")
            slot()["color"] = None if value is None else value.lower()

        _prop(rng, "value", lambda: slot()["value"], write)
        _prop(rng, "color", lambda: tuple(int(slot()["color"][i: i + 2], 16) for i in (1, 3, 5)) if slot()["color"] else None, set_color)
        _prop(rng, "note", lambda: self.note(sheet, address) if slot()["note"] is not None else None)

        def add_note(text):
            if slot()["note"] is not None:
                raise ValueError("a note exists")  # as xlwings 0.37 does
            slot()["note"] = text
            return self.note(sheet, address)

        rng.add_note.side_effect = add_note
        rng.add_hyperlink.side_effect = lambda target, text=None, screen_tip=None: self.links.__setitem__((sheet, address), target)
        return rng

    def note(self, sheet, address):
        slot = self.sheets[sheet]["cells"][address]
        note = create_autospec(xm.Note, instance=True)
        _prop(note, "text", lambda: slot["note"], lambda v: slot.update(note=v))
        note.delete.side_effect = lambda: slot.update(note=None)
        return note

    def snapshot(self):
        return {n: {a: (c["color"], c["note"]) for a, c in s["cells"].items() if c["color"] or c["note"]} for n, s in self.sheets.items()}


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


# ------------------------------------------------------------------ the Python side of the button

SPEC = load_spec("2021")
CELLS = form_layout(SPEC).inputs


@pytest.fixture
def unbalanced(tmp_path):
    path = fill(SPEC, tmp_path / "报表 改名也行.xlsx", {"t3.new.natural": 1, "t3.new.total": 1, "t3.r1.natural": "3件"}, year=2022)
    wb = load_workbook(path)
    ws = wb["表三"]
    ws[CELLS["t3.new.natural"].address].comment = Comment("请财务科核对", "张三")
    ws[CELLS["t3.new.business"].address].fill = PatternFill(fill_type="solid", fgColor="FF00B0F0")
    wb.save(path)
    return path


def essentials(findings):
    return [(f.rule, f.severity, f.sheet, f.cell, f.message) for f in findings]


@pytest.mark.parametrize("name", ["unbalanced", "seed", "pair", "relabelled"])
def test_button_and_cli_give_identical_findings(name, unbalanced, tmp_path):
    if name == "unbalanced":
        path = unbalanced
    elif name == "seed":
        path = EXAMPLES / "jianxi-2019.xlsx"
    elif name == "pair":
        path = EXAMPLES / "shixian-2022.xlsx"
    else:
        path = fill(SPEC, tmp_path / "relabelled.xlsx", year=2022)
        wb = load_workbook(path)
        label = CELLS["t3.r1.natural"].labels[0]
        wb["表三"].cell(label.row + 1, label.col + 1).value = "（一）同意公开"
        wb.save(path)
    fake = FakeExcel(path)
    found = excel.check(fake.book())
    assert fake.alerts == []
    assert essentials(found) == essentials(nianbao.check(path).findings)


def test_click_annotates_in_place_and_a_second_click_replaces_it(unbalanced):
    fake = FakeExcel(unbalanced)
    findings = excel.check(fake.book())
    assert [f.rule for f in findings] == ["B301", "B301", "C008", "B303", "B302"]
    natural = fake.sheets["表三"]["cells"][CELLS["t3.new.natural"].address]
    assert natural["note"].startswith("请财务科核对\n\n" + MARKER) and natural["color"] == "#ffc7ce"
    assert fake.sheets["表三"]["cells"][CELLS["t3.r1.natural"].address]["color"] == "#" + FILLS["提示"][-6:].lower()  # 提示 only
    assert fake.order[0] == RESULTS_SHEET
    results = fake.sheets[RESULTS_SHEET]["cells"]
    assert results["A1"]["value"].startswith("检查结果：错误 4 项") and results["C4"]["value"] == "B301"
    assert fake.links[(RESULTS_SHEET, "D4")] == f"#'表三'!{CELLS['t3.new.natural'].address}"
    assert fake.sheets["表三"]["protected"] and "unprotect 表三" in fake.protect_calls  # re-protected after writing

    first = fake.snapshot()
    excel.check(fake.book())
    assert fake.snapshot() == first  # replaced, not stacked
    assert fake.order.count(RESULTS_SHEET) == 1


def test_clear_restores_the_users_notes_and_fills(unbalanced):
    fake = FakeExcel(unbalanced)
    before = fake.snapshot()
    excel.check(fake.book())
    excel.clear(fake.book())
    assert fake.snapshot() == before
    assert RESULTS_SHEET not in fake.order and fake.alerts == []


def _row_of(fake, rule: str) -> int:
    cells = fake.sheets[RESULTS_SHEET]["cells"]
    return next(int(a[1:]) for a, c in cells.items() if a.startswith("C") and c["value"] == rule)


def test_explanations_written_in_the_results_sheet_survive_clicks_and_clear(unbalanced):
    fake = FakeExcel(unbalanced)
    excel.check(fake.book())
    results = fake.sheets[RESULTS_SHEET]["cells"]
    assert results["M3"]["value"] == "说明"
    results[f"M{_row_of(fake, 'C008')}"]["value"] = "原表如此，已核对"  # the clerk explains the 提示 …
    results[f"M{_row_of(fake, 'B302')}"]["value"] = "另有说明"  # … and tries to explain an 错误

    found = {f.rule: f for f in excel.check(fake.book())}
    assert found["C008"].explanation == "原表如此，已核对" and found["B302"].explanation == "另有说明"
    results = fake.sheets[RESULTS_SHEET]["cells"]
    assert "已说明 1 项" in results["A1"]["value"] and "错误 4 项" in results["A1"]["value"]  # the 错误 stays open
    assert results[f"M{_row_of(fake, 'C008')}"]["value"] == "原表如此，已核对"
    assert "已说明：原表如此，已核对" in fake.sheets["表三"]["cells"][CELLS["t3.r1.natural"].address]["note"]

    excel.clear(fake.book())  # 清除标注 removes the sheet, not what the clerk wrote
    assert RESULTS_SHEET not in fake.order and fake.sheets["_nianbao_explained"]["visible"] is False
    found = {f.rule: f for f in excel.check(fake.book())}
    assert found["C008"].explanation == "原表如此，已核对"

    fake.sheets["表三"]["cells"][CELLS["t3.r1.natural"].address]["value"] = 3.0  # fixed after all
    found = {f.rule: f for f in excel.check(fake.book())}
    assert "C008" not in found
    results = fake.sheets[RESULTS_SHEET]["cells"]
    stale = [a for a, c in results.items() if c["value"] == "原表如此，已核对"]
    assert stale and any("不再需要" in str(c["value"]) for c in results.values())  # listed, not dropped


def test_errors_show_a_message_box_not_a_traceback(tmp_path):
    from openpyxl import Workbook

    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    fake = FakeExcel(other)
    assert excel.check(fake.book()) is None
    (message,) = fake.alerts
    assert message.startswith("无法检查：不是 nianbao 模板")


# ------------------------------------------------------------------ the macro workbook as built


@pytest.fixture(scope="module", params=["2019", "2021"])
def macro_book(request, tmp_path_factory):
    return build(load_spec(request.param), tmp_path_factory.mktemp("xlsm") / f"模板{request.param}.xlsm", macro=True)


def _modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _lines(code: str) -> list[str]:
    return [line.rstrip() for line in code.replace("\r\n", "\n").strip().split("\n")]


def test_our_module_is_exactly_the_committed_source(macro_book):
    modules = _modules(macro_book)
    assert _lines(modules["nianbao"]) == _lines(BAS.read_text(encoding="utf-8"))
    assert "Dictionary" not in modules and "Module1" not in modules
    codenames = re.findall(r'codeName="(Sheet\d+|ThisWorkbook)"', _workbook_xml(macro_book))
    assert set(codenames) <= set(modules)


def _workbook_xml(path: Path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.startswith("xl/work"))


def test_xlwings_module_is_the_pinned_versions(macro_book):
    pinned = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    ours, theirs = _modules(macro_book)["xlwings"], _modules(pinned)["xlwings"]
    assert f"'Version: {xlwings.__version__}" in ours
    assert _lines(ours) == _lines(theirs)


def test_buttons_call_real_python_functions():
    calls = re.findall(r'RunPython "import ([\w.]+); ([\w.]+)\(\)"', BAS.read_text(encoding="utf-8"))
    assert len(calls) == 2
    for module, function in calls:
        target = importlib.import_module(module)
        assert callable(getattr(target, function.removeprefix(module + ".")))


def _inspect(path: Path) -> dict:
    import json

    require_libreoffice(uno=True)
    run = subprocess.run([SYSTEM_PYTHON, str(ROOT / "tests" / "tools" / "uno_inspect.py"), str(path)],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_libreoffice_sees_the_buttons_bound_to_our_macros(macro_book):
    report = _inspect(macro_book)
    assert report["sheets"][0] == "说明" and "xlwings.conf" in report["sheets"]
    assert {"nianbao", "xlwings"} <= set(report["modules"])
    buttons = {b["label"]: b["scripts"] for b in report["buttons"]["说明"]}
    assert buttons == {
        "检查": ["vnd.sun.star.script:VBAProject.nianbao.NianbaoCheck?language=Basic&location=document"],
        "清除标注": ["vnd.sun.star.script:VBAProject.nianbao.NianbaoClear?language=Basic&location=document"],
    }


def test_renamed_and_set_up_workbook_keeps_its_buttons(macro_book, tmp_path, cli):
    renamed = tmp_path / "某某局 2025 年报（定稿）.xlsm"
    shutil.copy(macro_book, renamed)
    run = cli("excel-setup", renamed, "--interpreter", r"C:\Python311\pythonw.exe", "--no-check")
    assert run.returncode == 0, run.stderr
    conf = {r[0].value: r[1].value for r in load_workbook(renamed, keep_vba=True)["xlwings.conf"].iter_rows()}
    assert conf == {"Interpreter_Win": r"C:\Python311\pythonw.exe", "Interpreter_Mac": "$HOME/nianbao/venv/bin/python"}  # Mac only when given
    missing = cli("excel-setup", renamed, "--interpreter", r"C:\Python311\pythonw.exe")
    assert missing.returncode == 2 and "找不到 Python" in missing.stderr  # checked unless --no-check
    assert {b["label"] for b in _inspect(renamed)["buttons"]["说明"]} == {"检查", "清除标注"}
    assert _lines(_modules(renamed)["nianbao"]) == _lines(BAS.read_text(encoding="utf-8"))
    assert nianbao.check(renamed).reason is None  # and the CLI still reads it


def test_committed_vba_project_is_rebuilt_from_its_sources(tmp_path):
    require_libreoffice(uno=True)
    rebuilt = tmp_path / "vbaProject.bin"
    pinned = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    run = subprocess.run([SYSTEM_PYTHON, str(ROOT / "scripts" / "build_vba.py"), "--xlwings", str(pinned),
                          "--sheets", "9", "-o", str(rebuilt)], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    committed, fresh = _modules(ROOT / "vba" / "vbaProject.bin"), _modules(rebuilt)
    assert {k: _lines(v) for k, v in committed.items()} == {k: _lines(v) for k, v in fresh.items()}


def test_every_xlwings_attribute_we_use_exists():
    """The contract, spelt out: what nianbao.excel touches is on the installed xlwings classes."""
    used = {
        xm.Book: ["app", "sheets", "names", "name", "caller"],
        xm.Sheet: ["name", "used_range", "api", "delete", "activate", "visible", "__getitem__"],
        xm.Range: ["value", "color", "note", "add_note", "add_hyperlink", "options", "row", "column"],
        xm.Note: ["text", "delete"],
        xm.Name: ["name", "refers_to"],
        xm.Sheets: ["add", "__getitem__", "__iter__", "__len__"],
        xm.App: ["alert", "screen_updating"],
    }
    for cls, attributes in used.items():
        for attribute in attributes:
            assert hasattr(cls, attribute), f"{cls.__name__}.{attribute}"
    assert sys.modules.get("xlwings.pro") is None  # never imported: it needs a licence key


def test_the_button_path_loads_no_importer_packages(unbalanced):
    """A click imports what reading, checking and annotating need, not the importers' libraries."""
    code = (f"import sys, nianbao, nianbao.excel, nianbao.annotate; r = nianbao.check({str(unbalanced)!r}); assert r.findings; "
            "print(sorted(m for m in ('pdfplumber', 'pdfminer', 'docx', 'zhconv', 'charset_normalizer', 'bs4') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
