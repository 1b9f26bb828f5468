"""The template checks itself: its live layer (formulas and conditional formats, no macro) against
the checker, in a real spreadsheet application (LibreOffice headless, recalculating on load).

The differential test builds workbooks (every pass/fail case of every live rule, and generated
reports with random mistakes of every live kind), lets LibreOffice recalculate them, reads the
自查结果 lines and compares them with the checker's findings for the same rules: rule id and cells.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import nianbao
from nianbao.layout import form_layout
from nianbao.live_layer import LIVE_SHEET, SELF_CHECK_SHEET, plan_for
from nianbao.read import read_workbook
from nianbao.rulecases import all_cases
from nianbao.rules.catalogue import ruleset
from nianbao.rules.live import FUNCTIONS, live_checks, previous_keys
from nianbao.samples import as_typed, base_values, follow_on, realistic_values
from nianbao.spec import all_specs, load_spec
from nianbao.template import build
from tests.conftest import require_libreoffice

_FUNCTION = re.compile(r"(?<![\w.$])([A-Z][A-Z0-9.]*)\(")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def _formulas(path: Path) -> list[str]:
    """Every formula of a workbook: cells, conditional formats, data validations, defined names."""
    found = []
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.endswith(".xml"):
                xml = package.read(name).decode("utf-8")
                found += re.findall(r"<f(?:\s[^>]*)?>([^<]*)</f>", xml)
                found += re.findall(r"<formula>([^<]*)</formula>", xml)
                found += re.findall(r"<formula1>([^<]*)</formula1>", xml)
                found += re.findall(r"<definedName[^>]*>([^<]*)</definedName>", xml)
    import html

    return [html.unescape(f) for f in found]


@pytest.mark.parametrize("macro", [False, True])
@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_every_formula_uses_only_functions_excel_2010_wps_and_libreoffice_share(fmt, macro, tmp_path):
    path = build(load_spec(fmt), tmp_path / ("t.xlsm" if macro else "t.xlsx"), previous={"meta.year": 2020}, macro=macro)
    formulas = _formulas(path)
    assert len(formulas) > 500
    used = {name for f in formulas for name in _FUNCTION.findall(_STRING.sub('""', f))}
    assert used <= FUNCTIONS, used - FUNCTIONS
    assert not [f for f in formulas if "_xlfn" in f or "_xlws" in f]  # no function newer than Excel 2010
    assert max(len(f) for f in formulas) < 8192  # Excel's limit on a formula


def test_the_reader_ignores_the_live_layer(tmp_path):
    spec = load_spec("2021")
    values = base_values(spec, 2022) | {"t3.new.natural": 1, "t3.new.total": 1}
    read = read_workbook(build(spec, tmp_path / "r.xlsx", values=values, previous={"t3.carry_out.natural": 5}))
    assert read.hits == [] and read.issues == {}
    assert {k: v for k, v in read.data.items() if v is not None} == {k: v for k, v in values.items() if v is not None}


def test_every_kind_that_can_be_a_formula_is_one():
    for spec in all_specs():
        rules = ruleset(spec)
        live = {c.rule for c in live_checks(rules)}
        for rule in rules.rules:
            if rule.kind in ("relation", "schema", "mention"):
                assert rule.id in live, rule.id
        assert {"C001", "C003", "C004", "C008", "C009", "C010"} <= live
        assert "Y301" in live and "t3.carry_out.natural" in previous_keys(live_checks(rules))


# ------------------------------------------------------------------ LibreOffice

def _profile(folder: Path) -> Path:
    """A LibreOffice profile that recalculates every formula on load, as Excel does with these files."""
    (folder / "user").mkdir(parents=True, exist_ok=True)
    (folder / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">'
        "<value>0</value></prop></item>\n</oor:items>\n", encoding="utf-8")
    return folder


def recalculate(paths: list[Path], out: Path, profile: Path, target: str = "xlsx", batch: int = 60) -> list[Path]:
    """Open and save every workbook with LibreOffice headless (recalculating it), in batches."""
    binary = require_libreoffice()
    out.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        run = subprocess.run([binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                              "--convert-to", target, "--outdir", str(out), *map(str, chunk)],
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr
    return [out / p.with_suffix(f".{target}").name for p in paths]


@dataclass
class Lines:
    verdict: str
    found: set[tuple[str, tuple[str, ...]]]  # (rule, keys)
    count: int


def self_check_lines(path: Path, fmt: str) -> Lines:
    """The 自查结果 lines of a recalculated workbook: (rule, cell keys)."""
    spec = load_spec(fmt)
    by_place = {f"{c.sheet}!{c.address}": k for k, c in form_layout(spec).inputs.items()}
    shown = {(c.rule, c.keys[0]): c.keys for c in live_checks(ruleset(spec)) if not c.per_cell}
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SELF_CHECK_SHEET).to_python(skip_empty_area=False)
    found, count = set(), 0
    for row in rows[4:]:
        if row[0] in ("", None) or not isinstance(row[0], float):
            break
        count += 1
        key = by_place[row[4]]
        found.add((row[2], shown.get((row[2], key), (key,))))
    return Lines(str(rows[0][0]), found, count)


def engine_findings(path: Path, fmt: str, previous: Path | None) -> tuple[set, int, int]:
    """The checker's findings for the live rules: (rule, cell keys), errors, warnings."""
    spec = load_spec(fmt)
    live = {c.rule for c in live_checks(ruleset(spec))}
    by_place = {(c.sheet, c.address): k for k, c in form_layout(spec).inputs.items()}
    result = nianbao.check(path, previous)
    assert result.reason is None, result.reason
    findings = [f for f in result.findings if f.rule in live]
    found = {(f.rule, tuple(by_place[p] for p in f.places)) for f in findings}
    errors = sum(f.severity == "错误" for f in findings)
    return found, errors, len(findings) - errors


@dataclass
class Workbook:
    name: str
    fmt: str
    path: Path
    previous: Path | None = None


def _with_previous(spec, folder: Path, name: str, values: dict, previous_values: dict | None, year: int) -> Workbook:
    """A workbook, with last year's report beside it (and its values in the template) when given."""
    prev_path = None
    hidden = None
    if previous_values is not None:
        prev_path = build(spec, folder / f"{name}.prev.xlsx", values={k: as_typed(v) for k, v in previous_values.items()})
        data = read_workbook(prev_path).data
        hidden = {k: data.get(k) for k in previous_keys(live_checks(ruleset(spec)))}
    path = build(spec, folder / f"{name}.xlsx", values={k: as_typed(v) for k, v in values.items()}, previous=hidden)
    return Workbook(name, spec.short, path, prev_path)


def case_workbooks(folder: Path) -> list[Workbook]:
    """Every pass/fail case of every live rule, as the rule cases build it (plus last year's values)."""
    books = []
    for case in all_cases():
        live = {c.rule for c in live_checks(ruleset(case.spec))}
        if case.rule.id not in live or {"report", "twin", "peers", "relabel"} & set(case.data):
            continue
        values = dict(case.data.get("values") or {})
        year = int(values.get("meta.year", case.spec.year_from))
        current = values if case.data.get("template") else base_values(case.spec) | values
        previous = None
        if "previous" in case.data:
            previous = base_values(case.spec, int(year) - 1) | (case.data["previous"] or {})
        books.append(_with_previous(case.spec, folder, case.id, current, previous, year))
    return books


def _t3_cell(spec, rng: random.Random) -> str:
    t3 = spec.table("t3")
    return f"t3.{rng.choice([r.key for r in t3.rows])}.{rng.choice([c.key for c in t3.columns])}"


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in text)


def _mistakes(spec, year: int):
    """Every kind of mistake the live layer checks: name -> (rng, values) -> None."""
    amount = next(k for k, c in spec.cells.items() if c.type == "amount")

    def cell(change):
        def apply(rng, values):
            key = _t3_cell(spec, rng)
            values[key] = change(values[key], rng)
        return apply

    def set_(key, value):
        return lambda rng, values: values.__setitem__(key, value(rng, values) if callable(value) else value)

    def bump(key_of):
        def apply(rng, values):
            key = key_of(rng)
            values[key] = values[key] + 1
        return apply

    return {
        "balance": bump(lambda rng: f"t3.new.{rng.choice([c.key for c in spec.table('t3').columns])}"),
        "row": bump(lambda rng: _t3_cell(spec, rng)),
        "t4": bump(lambda rng: f"t4.cases.{rng.choice(['review', 'direct', 'after'])}_{rng.choice(['total', 'upheld', 'pending'])}"),
        "blank": cell(lambda v, rng: None),
        "spaces_only": cell(lambda v, rng: "  "),
        "slash": cell(lambda v, rng: rng.choice(["/", "／", " / "])),
        "dash": cell(lambda v, rng: rng.choice(["-", "——", "—", "－"])),
        "text": cell(lambda v, rng: rng.choice(["十五", "无", "不详", "1 5件件"])),
        "unit": cell(lambda v, rng: f"{v}{rng.choice(['件', '项', '个', '次', ' 件'])}"),
        "wrong_unit": cell(lambda v, rng: f"{v}{rng.choice(['元', '万元', '%', '年'])}"),
        "fullwidth": cell(lambda v, rng: _fullwidth(str(v)) + rng.choice(["", "件"])),
        "text_number": cell(lambda v, rng: rng.choice([f" {v} ", f"{v}", f"+{v}", f"{v}.0"])),
        "error": cell(lambda v, rng: rng.choice(["#DIV/0!", "#REF!", "#N/A"])),
        "too_large": cell(lambda v, rng: rng.choice([1e16, "12345678901234567", "-99999999999999999"])),
        "negative": cell(lambda v, rng: -rng.randint(1, 3)),
        "fraction": cell(lambda v, rng: v + 0.5),
        "decimals": set_(amount, lambda rng, values: rng.choice([0.00001, 1.23456, 12.5, "0.123456万元"])),
        "year_range": set_("meta.year", lambda rng, values: rng.choice([219, 2200, 1999])),
        "format_year": set_("meta.year", 2022 if spec.short == "2019" else 2020),
        "late": set_("meta.published", lambda rng, values: dt.date(values["meta.year"] + 1, rng.choice([2, 6, 12]), 1)),
        "early": set_("meta.published", lambda rng, values: dt.date(values["meta.year"], 6, 1)),
        "text_date": set_("meta.published", lambda rng, values: rng.choice([f"{values['meta.year'] + 1}年1月20日",
                                                                              f"{values['meta.year'] + 1}-1-5", "2099/13/40"])),
        "no_date": set_("meta.published", None),
        "s5": set_("text.s5", lambda rng, values: rng.choice(["无。", "暂无", "本机关各项工作有序推进，圆满完成了全年各项目标任务，成效明显。",
                                                             "存在的问题：培训不够。"])),
        "s6": set_("text.s6", lambda rng, values: rng.choice(["无。", "本年度没有其他需要报告的事项。"])),
        "office": set_("meta.office", None),
        "section": set_("text.s1", None),
    }


def generated_workbooks(folder: Path, n: int, seed: int = 17) -> list[Workbook]:
    """``n`` realistic reports of both formats, each with 1-3 random mistakes of the live kinds; a
    third continue last year's report (whose values the template carries), some with 上年结转 changed."""
    rng = random.Random(seed)
    books = []
    for i in range(n):
        spec = load_spec(rng.choice(["2019", "2021"]))
        year = rng.choice([2019, 2020] if spec.short == "2019" else [2021, 2022, 2023, 2024, 2025])
        office = f"第{i}测试局"
        previous = None
        if rng.random() < 0.35:
            previous = realistic_values(spec, rng, office, year - 1)
            carry = {c.key: previous[f"t3.carry_out.{c.key}"] for c in spec.table("t3").columns if c.key != "total"}
            values = realistic_values(spec, rng, office, year, carry_in=carry)
            follow_on(spec, previous, values)
            if rng.random() < 0.5:  # 上年结转 no longer what last year carried over (balance kept)
                col = rng.choice([c.key for c in spec.table("t3").columns if c.key != "total"])
                for key in (f"t3.carry_in.{col}", "t3.carry_in.total", f"t3.carry_out.{col}", "t3.carry_out.total"):
                    values[key] += 1
        else:
            values = realistic_values(spec, rng, office, year)
        mistakes = _mistakes(spec, year)
        for name in rng.sample(sorted(mistakes), rng.choice([1, 1, 2, 3])):
            mistakes[name](rng, values)
        books.append(_with_previous(spec, folder, f"g{i:04d}", values, previous, year))
    return books


def _differences(books: list[Workbook], converted: list[Path]) -> tuple[list[str], int]:
    differences, findings = [], 0
    for book, recalculated in zip(books, converted, strict=True):
        expected, errors, warnings = engine_findings(book.path, book.fmt, book.previous)
        lines = self_check_lines(recalculated, book.fmt)
        findings += len(expected)
        if lines.found != expected:
            differences.append(f"{book.name}: only live {sorted(lines.found - expected)}; only checker {sorted(expected - lines.found)}")
        verdict = "未发现问题" if not expected else f"错误 {errors} 项，提示 {warnings} 项"
        if lines.verdict != verdict and not lines.verdict.startswith("尚未开始填写"):
            differences.append(f"{book.name}: verdict {lines.verdict!r}, checker {verdict!r}")
    return differences, findings


@pytest.fixture(scope="module")
def lo_profile(tmp_path_factory):
    require_libreoffice()
    return _profile(tmp_path_factory.mktemp("lo-recalc"))


@pytest.mark.slow
def test_self_check_equals_the_checker_on_every_case_of_every_live_rule(tmp_path, lo_profile):
    books = case_workbooks(tmp_path / "cases")
    converted = recalculate([b.path for b in books], tmp_path / "out", lo_profile)
    differences, findings = _differences(books, converted)
    print(f"\n{len(books)} rule cases, {findings} findings of live rules, {len(differences)} differences")
    assert len(books) > 60 and findings > 40
    assert differences == [], "\n".join(differences)


@pytest.mark.slow
def test_self_check_equals_the_checker_on_300_generated_workbooks(tmp_path, lo_profile):
    books = generated_workbooks(tmp_path / "gen", 300)
    converted = recalculate([b.path for b in books], tmp_path / "out", lo_profile)
    differences, findings = _differences(books, converted)
    formats = {f: sum(b.fmt == f for b in books) for f in ("2019", "2021")}
    print(f"\n{len(books)} workbooks {formats}, {sum(b.previous is not None for b in books)} with last year's values, "
          f"{findings} findings of live rules, {len(differences)} differences")
    assert min(formats.values()) > 100
    assert differences == [], "\n".join(differences[:20])


@pytest.mark.slow
def test_an_annotated_copy_keeps_the_live_layer(tmp_path, lo_profile):
    from nianbao.annotate import annotate

    spec = load_spec("2021")
    report = build(spec, tmp_path / "r.xlsx", values=base_values(spec, 2025) | {"t3.new.natural": 1, "t3.r1.natural": "/"})
    copy = annotate(report, nianbao.check(report).findings, tmp_path / "copy.xlsx")
    (out,) = recalculate([copy], tmp_path / "out", lo_profile)
    lines = self_check_lines(out, "2021")
    expected, _, _ = engine_findings(report, "2021", None)
    assert lines.found == expected and lines.count == len(expected) > 0
    assert LIVE_SHEET in CalamineWorkbook.from_path(str(out)).sheet_names


@pytest.mark.slow
def test_an_untouched_template_is_not_a_sea_of_red(tmp_path, lo_profile):
    spec = load_spec("2021")
    (out,) = recalculate([build(spec, tmp_path / "empty.xlsx")], tmp_path / "out", lo_profile)
    lines = self_check_lines(out, "2021")
    assert lines.verdict.startswith("尚未开始填写") and lines.count == 0
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(LIVE_SHEET).to_python(skip_empty_area=False)
    sev = rows[0].index("sev")
    assert {r[sev] for r in rows[1:len(plan_for(spec).keys) + 1]} == {0.0}  # no input cell coloured


@pytest.mark.slow
def test_distributed_workbooks_carry_last_years_values_so_y301_is_live(tmp_path, lo_profile):
    """distribute --previous-dir writes last year's values into locked hidden cells: 上年结转 is checked
    against them as the clerk types; an office without last year's report sees 未提供上年数据."""
    from openpyxl import Workbook as Book
    from openpyxl import load_workbook

    from nianbao.distribute import distribute
    from nianbao.roster import read_roster

    spec = load_spec("2021")
    rng = random.Random(3)
    last = realistic_values(spec, rng, "甲局", 2024)
    (tmp_path / "去年").mkdir()
    build(spec, tmp_path / "去年" / "甲局.xlsx", values=last)
    roster = Book()
    roster.active.append(["编码", "机关名称"])
    roster.active.append(["1", "甲局"])
    roster.active.append(["2", "乙局"])
    roster.save(tmp_path / "名单.xlsx")
    sent = distribute(read_roster(tmp_path / "名单.xlsx"), spec, 2025, tmp_path / "下发", previous_dir=tmp_path / "去年", jobs=1)
    first, second = (s.path for s in sent.sent)
    assert sent.sent[0].last_year["t3.carry_out.natural"] == last["t3.carry_out.natural"]
    ws = load_workbook(first)[LIVE_SHEET]
    assert ws.sheet_state == "hidden" and ws.protection.sheet
    # The clerk fills this year's report, changing 上年结转 of one column (and keeping the column balanced).
    this = realistic_values(spec, rng, "甲局", 2025, carry_in={c.key: last[f"t3.carry_out.{c.key}"] for c in spec.table("t3").columns})
    follow_on(spec, last, this)
    for key in ("t3.carry_in.natural", "t3.carry_in.total", "t3.carry_out.natural", "t3.carry_out.total"):
        this[key] += 1
    inputs = form_layout(spec).inputs
    wb = load_workbook(first)
    for key, value in this.items():
        if key not in ("meta.office", "meta.year"):
            wb[inputs[key].sheet][inputs[key].address].value = value
    wb.save(tmp_path / "filled.xlsx")
    filled, empty = recalculate([tmp_path / "filled.xlsx", second], tmp_path / "out", lo_profile)
    lines = self_check_lines(filled, "2021")
    expected, _, _ = engine_findings(tmp_path / "filled.xlsx", "2021", tmp_path / "去年" / "甲局.xlsx")
    assert ("Y301", ("t3.carry_in.natural",)) in expected and lines.found == expected
    t3 = CalamineWorkbook.from_path(str(empty)).get_sheet_by_name("表三").to_python(skip_empty_area=False)
    (y301,) = [r for r in t3 if str(r[0]).startswith("实时校验 Y301")]
    assert y301[inputs["t3.carry_in.natural"].col] == "未提供上年数据"


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_every_conditional_format_shows_a_verdict_the_differential_test_covers(fmt, tmp_path):
    """Input cells are coloured from the live sheet's severity column (made of the checks' verdicts);
    verdict cells and 自查结果 lines by the text those verdicts give; nothing else."""
    from openpyxl import load_workbook

    plan = plan_for(load_spec(fmt))
    sev = f"'{LIVE_SHEET}'!{plan.column('sev')}"
    wb = load_workbook(build(load_spec(fmt), tmp_path / "t.xlsx"))
    coloured = set()
    for ws in wb.worksheets:
        for rng in ws.conditional_formatting:
            for rule in rng.rules:
                formula = "".join(rule.formula or [])
                if formula.startswith(f"INDEX({sev},"):
                    coloured |= {(ws.title, r, c) for cells in rng.sqref.ranges for r, c in cells.cells}
                else:
                    assert (rule.type == "beginsWith" and rule.text == "✗") or (ws.title == SELF_CHECK_SHEET and rule.type == "cellIs"), formula
    inputs = {(c.sheet, c.row + 1, c.col + 1) for c in form_layout(load_spec(fmt)).inputs.values()}
    assert coloured == inputs  # every input cell, and only those (a merged one by its first cell)


@pytest.mark.slow
def test_instructions_and_self_check_print_on_a4_without_text_cut(tmp_path, lo_profile):
    import pdfplumber

    spec = load_spec("2021")
    (pdf,) = recalculate([build(spec, tmp_path / "t.xlsx", macro=False)], tmp_path / "pdf", lo_profile, target="pdf")
    with pdfplumber.open(pdf) as document:
        pages = document.pages[:3]
        text = "".join(p.extract_text() for p in pages).replace("\n", "")
        for page in pages:
            assert round(page.width) in (595, 842) and round(page.height) in (595, 842)  # A4
            assert max(w["x1"] for w in page.extract_words()) < page.width - 20  # no text cut at the edge
    for line in ("只在浅黄色单元格中填写", "橙色单元格：提示", "不需要安装任何程序", "自查结果", "报送以后"):
        assert line in text
    assert "nianbao" not in text and "docs/" not in text  # no commands or repository paths for a clerk
