"""Annotated copies written by patching the package, against the openpyxl writer they replaced
(tests/tools/openpyxl_annotate.py, the oracle): the same values, fills, notes and 检查结果 rows,
for the rule cases, the examples and generated reports; and a workbook's own parts kept byte for byte."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula
from python_calamine import CalamineWorkbook

import nianbao
from nianbao.annotate import FILLS, MARKER, MARKS_SHEET, RESULTS_SHEET, annotate
from nianbao.findings import ERROR, WARNING, Finding
from nianbao.read import ReadError
from nianbao.samples import fill
from nianbao.spec import load_spec
from tests.conftest import EXAMPLES, require_libreoffice
from tests.tools.openpyxl_annotate import oracle_annotate

SPEC = load_spec("2021")


def _fill(cell) -> tuple:
    f = cell.fill
    if not f.fill_type:
        return ()
    return f.fill_type, f.fgColor.type, f.fgColor.value


def snapshot(path: Path) -> dict:
    """What a user sees of a copy: sheets, and every cell's value, fill and note (our hidden record
    of replaced formats is left out: its form differs by design)."""
    wb = load_workbook(path)
    shown = {"sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets if ws.title != MARKS_SHEET]}
    for ws in wb.worksheets:
        if ws.title == MARKS_SHEET:
            continue
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                value = None if c.value == "" else c.value
                if isinstance(value, ArrayFormula):  # the live layer's array formulas, compared by what they say
                    value = (value.ref, value.text)
                if ws.title == RESULTS_SHEET and c.row == 2 and value:  # the time of the check
                    value = re.sub(r"文件：.*；检查时间：[\d\- :]+", "", value)
                if value is not None or c.comment is not None or _fill(c):
                    cells[c.coordinate] = (value, _fill(c) if ws.title != RESULTS_SHEET or c.row > 2 else (),
                                           c.comment.text if c.comment else None)
        shown[ws.title] = cells
    return shown


def assert_same(source: Path, findings: list[Finding], folder: Path, oracle_source: Path | None = None, **kw) -> tuple[Path, Path]:
    """The patched copy of ``source`` against the oracle's copy of ``oracle_source`` (the same file,
    or the oracle's own earlier copy when a copy is annotated again)."""
    patched = annotate(source, findings, folder / f"{source.stem}.patched.xlsx", **kw)
    oracle = oracle_annotate(oracle_source or source, findings, folder / f"{source.stem}.oracle.xlsx", **kw)
    a, b = snapshot(patched), snapshot(oracle)
    assert a["sheets"] == b["sheets"], source.name
    for sheet in b:
        assert a[sheet] == b[sheet], (source.name, sheet, {k: (a[sheet].get(k), v) for k, v in b[sheet].items() if a[sheet].get(k) != v})
    book = CalamineWorkbook.from_path(str(patched))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
    return patched, oracle


def test_examples_agree_with_the_oracle_and_again_on_their_copies(tmp_path):
    previous = {"shixian-2022.xlsx": EXAMPLES / "shixian-2021.xlsx"}
    (tmp_path / "again").mkdir()
    for example in sorted(EXAMPLES.glob("*.xlsx")):
        result = nianbao.check(example, previous=previous.get(example.name))
        copy, theirs = assert_same(example, result.findings, tmp_path, stale=result.stale)
        again = nianbao.check(copy, previous=previous.get(example.name))
        assert [f.id for f in again.findings] == [f.id for f in result.findings]
        assert_same(copy, again.findings, tmp_path / "again", theirs, stale=again.stale)


def test_a_users_notes_and_fills_survive_two_runs_and_the_fix(tmp_path):
    """The user's note gets our block after it, then loses it; their own fill is never touched;
    a cell of ours they recoloured is theirs; a note of several runs of their own keeps its runs."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    from nianbao.layout import form_layout

    cells = form_layout(SPEC).inputs
    report = fill(SPEC, tmp_path / "r.xlsx", {"t3.new.natural": 5, "t3.new.total": 4}, year=2025)
    wb = load_workbook(report)
    ws = wb["表三"]
    ws[cells["t3.new.natural"].address].comment = Comment("请财务科核对\n第二行", "张三")
    ws[cells["t3.new.business"].address].fill = PatternFill(fill_type="solid", fgColor="FF00B0F0")
    ws["A1"].comment = Comment("表头说明", "李四")
    wb.save(report)
    findings = nianbao.check(report).findings
    first, theirs = assert_same(report, findings, tmp_path)
    wb = load_workbook(first)
    ws = wb["表三"]
    note = ws[cells["t3.new.natural"].address].comment.text
    assert note.startswith("请财务科核对\n第二行\n\n" + MARKER)
    total = ws[cells["t3.new.total"].address]
    assert total.fill.fgColor.rgb == FILLS[ERROR]
    total.fill = PatternFill(fill_type="solid", fgColor="FF92D050")  # recoloured by the clerk: theirs now
    wb.save(tmp_path / "edited.xlsx")
    wb = load_workbook(theirs)
    wb["表三"][cells["t3.new.total"].address].fill = PatternFill(fill_type="solid", fgColor="FF92D050")
    wb.save(tmp_path / "edited-theirs.xlsx")
    second, theirs = assert_same(tmp_path / "edited.xlsx", nianbao.check(tmp_path / "edited.xlsx").findings, tmp_path,
                                 tmp_path / "edited-theirs.xlsx")
    ws = load_workbook(second)["表三"]
    assert ws[cells["t3.new.natural"].address].comment.text.count(MARKER) == 1
    assert ws[cells["t3.new.total"].address].fill.fgColor.rgb == FILLS[ERROR]  # still wrong: ours again, theirs recorded
    # Fixed: every block of ours goes, every note and fill of theirs stays.
    for copy, fixed in ((second, "fixed.xlsx"), (theirs, "fixed-theirs.xlsx")):
        wb = load_workbook(copy)
        wb["表三"][cells["t3.new.total"].address].value = 0
        wb["表三"][cells["t3.new.natural"].address].value = 0
        wb.save(tmp_path / fixed)
    result = nianbao.check(tmp_path / "fixed.xlsx")
    assert result.findings == []
    third, _ = assert_same(tmp_path / "fixed.xlsx", result.findings, tmp_path, tmp_path / "fixed-theirs.xlsx")
    ws = load_workbook(third)["表三"]
    assert ws[cells["t3.new.natural"].address].comment.text == "请财务科核对\n第二行"
    assert ws["A1"].comment.text == "表头说明"
    assert ws[cells["t3.new.business"].address].fill.fgColor.rgb == "FF00B0F0"
    assert ws[cells["t3.new.total"].address].fill.fgColor.rgb == "FF92D050"
    assert not any(MARKER in (c.comment.text if c.comment else "") for row in ws.iter_rows() for c in row)


def test_copies_of_openpyxl_written_copies_restore_the_fills_they_recorded(tmp_path):
    """Copies written before (by openpyxl, their record in JSON) are cleared as well."""
    report = fill(SPEC, tmp_path / "r.xlsx", {"t3.new.natural": 5, "t3.new.total": 4}, year=2025)
    old = oracle_annotate(report, nianbao.check(report).findings, tmp_path / "old.xlsx")
    wb = load_workbook(old)
    plain = snapshot(report)["表三"]
    copy = annotate(old, [], tmp_path / "new.xlsx")
    assert {k: v for k, v in snapshot(copy)["表三"].items()} == plain
    assert wb.sheetnames[0] == RESULTS_SHEET and load_workbook(copy).sheetnames[0] == RESULTS_SHEET


def test_imported_reports_and_their_unread_cells_agree(tmp_path):
    """The copy of an imported report is its filled template, the cells that could not be read in grey
    (a PDF of page images too: all of it unread, as the batch writes its copy)."""
    from nianbao.importers import imported_for_check, write_template
    from nianbao.layout import form_layout
    from nianbao.rulecases import _report, all_cases

    partial = 0
    for n, case in enumerate(c for c in all_cases() if "report" in c.data):
        (tmp_path / str(n)).mkdir()
        report = _report(case, tmp_path / str(n))
        result = nianbao.check(report)
        inputs = form_layout(load_spec(result.format)).inputs
        unread = {(inputs[k].sheet, inputs[k].address): why for k, why in result.unread.items() if k in inputs}
        template = write_template(imported_for_check(report), report.parent / "imported.xlsx")
        assert_same(template, result.findings, report.parent, stale=result.stale, reading=result.reading, unread=unread)
        partial += bool(unread)
    assert partial


@pytest.mark.slow
def test_rule_cases_agree_with_the_oracle(tmp_path):
    from nianbao.rulecases import all_cases, run_case_files

    compared = 0
    for n, case in enumerate(all_cases()):
        if "report" in case.data:
            continue
        folder = tmp_path / str(n)
        folder.mkdir()
        result = run_case_files(case, folder)
        # A copy of a case with nothing to mark is the clean example's copy again (compared above):
        # the openpyxl oracle costs seconds a case, so only cases with something to mark are compared.
        if result.reason or not (result.findings or result.stale):
            continue
        assert_same(result.path, result.findings, folder, stale=result.stale)
        compared += 1
    assert compared > 130


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A few hundred generated reports with findings, and their patched copies."""
    from nianbao.batch import check_many
    from nianbao.samples import KINDS, generate, plan

    folder = tmp_path_factory.mktemp("generated")
    jobs = plan(250, seed=22)
    for n, job in enumerate(jobs):  # an error injected into every report
        job["inject"] = job["inject"] or KINDS[n % len(KINDS)]
    generate(jobs, folder)
    results = [r for r in check_many(sorted(folder.glob("*.xlsx")), copies="none", jobs=1) if r.findings and not r.reason]
    return folder, results


@pytest.mark.slow
def test_generated_reports_agree_and_every_copy_opens_in_libreoffice(generated, tmp_path):
    _, results = generated
    assert len(results) >= 200
    copies = [assert_same(r.path, r.findings, tmp_path, stale=r.stale)[0] for r in results]
    # A LibreOffice process converts 50 at a time (a process per file would cost a second each; one
    # process for all 250 stopped after 246 without a word).
    binary = require_libreoffice()
    out = tmp_path / "lo"

    def convert(paths: list[Path]) -> subprocess.CompletedProcess:
        return subprocess.run([binary, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
                               "--convert-to", "xlsx", "--outdir", str(out), *map(str, paths)], capture_output=True, text=True, timeout=1200)

    for start in range(0, len(copies), 50):
        run = convert(copies[start: start + 50])
        assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in copies)


def _rich_workbook(path: Path) -> Path:
    """A user's own workbook with a text box, a chart, an image, a sparkline, an x14 conditional
    format (a 2010 data bar), a table and VBA, on the sheet that gets findings."""
    import xlsxwriter

    from nianbao.resources import vba_dir

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("数据")
    for r in range(1, 8):
        ws.write_row(r, 0, [f"项{r}", r, r * 2, r * 3])
    ws.add_table("A1:D8", {"columns": [{"header": h} for h in ("项目", "一", "二", "三")]})
    ws.add_sparkline("E2", {"range": "数据!B2:D2"})
    ws.conditional_format("B2:B8", {"type": "data_bar", "data_bar_2010": True, "bar_negative_color": "#FF0000"})
    ws.insert_textbox("G2", "用户的文本框")
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=数据!$B$2:$B$8"})
    ws.insert_chart("G8", chart)
    ws.insert_image("P2", _pixel(path.parent))
    ws.write_comment("A3", "用户自己的批注")
    wb.add_vba_project(str(vba_dir() / "vbaProject.bin"))
    wb.close()
    return path


def _pixel(folder: Path) -> str:
    import struct
    import zlib as z

    raw = b"\x00\xff\x00\x00"
    png = b"\x89PNG\r\n\x1a\n"
    for kind, data in ((b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)), (b"IDAT", z.compress(raw)), (b"IEND", b"")):
        png += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", z.crc32(kind + data))
    (folder / "pixel.png").write_bytes(png)
    return str(folder / "pixel.png")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


EXT = re.compile(rb"<extLst>.*</extLst>", re.DOTALL)


def test_a_users_own_parts_are_kept_byte_for_byte(tmp_path):
    source = _rich_workbook(tmp_path / "自己的.xlsm")
    findings = [Finding("B301", ERROR, "测试", "数据", "B3", places=[("数据", "B3")], id="B301-00000001"),
                Finding("B302", WARNING, "测试", "数据", "H20", places=[("数据", "H20"), ("数据", "A3")], id="B302-00000002")]
    before = _members(source)
    first = annotate(source, findings, tmp_path / "copy.xlsm")
    second = annotate(first, findings[:1], tmp_path / "copy2.xlsm")
    third = annotate(second, [], tmp_path / "copy3.xlsm")
    sheet = "xl/worksheets/sheet1.xml"
    for copy in (first, second, third):
        after = _members(copy)
        for name, data in before.items():
            if name.startswith(("xl/media/", "xl/charts/", "xl/drawings/drawing", "xl/tables/", "xl/vbaProject")):
                assert after[name] == data, (copy.name, name)
        assert EXT.search(after[sheet]).group(0) == EXT.search(before[sheet]).group(0)  # the sparkline and the x14 data bar
        for tag in (rb"<tableParts\b.*?</tableParts>", rb"<drawing r:id=\"[^\"]+\"/>", rb"<conditionalFormatting\b.*?</conditionalFormatting>"):
            assert re.search(tag, after[sheet], re.DOTALL).group(0) == re.search(tag, before[sheet], re.DOTALL).group(0)
        assert b"macroEnabled" in after["[Content_Types].xml"]
        ws = load_workbook(copy, keep_vba=True)["数据"]
        assert ws["A3"].comment.text.startswith("用户自己的批注")
    ws = load_workbook(first)["数据"]
    assert ws["B3"].fill.fgColor.rgb == FILLS[ERROR] and MARKER in ws["H20"].comment.text
    ws = load_workbook(third)["数据"]
    assert ws["A3"].comment.text == "用户自己的批注" and ws["H20"].comment is None and not ws["B3"].fill.fill_type


def test_a_copy_is_bounded_like_a_read(tmp_path):
    """A file swapped for a bomb between its check and its copy gets no copy, and a clear reason."""
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (40 << 20) + b">")
    with pytest.raises(ReadError, match="超出处理上限"):
        annotate(bomb, [], tmp_path / "copy.xlsx")
    assert not (tmp_path / "copy.xlsx").exists()
