"""Importing published reports: the seed, renderings of filled templates, and the real corpus."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import nianbao
from nianbao.importers import import_report
from nianbao.samples import base_values, generate, plan
from nianbao.spec import load_spec

from .conftest import EXAMPLE_SOURCES, ROOT
from .render import to_docx, to_html, to_text

SEED = ROOT / "rules" / "reports" / "jianxi-2019.txt"  # the founding example, as copied from its web page
CORPUS = ROOT / "tests" / "corpus"  # a copy of shared/corpus
TABLE_KEYS = ("t2.", "t3.", "t4.")


def table_values(values: dict) -> dict:
    return {k: v for k, v in values.items() if k.startswith(TABLE_KEYS)}


def test_seed_imports_exactly_the_printed_numbers():
    doc = yaml.safe_load((EXAMPLE_SOURCES / "values" / "jianxi-2019.yaml").read_text(encoding="utf-8"))
    spec = load_spec("2019")
    printed = table_values(base_values(spec, 2019) | doc["values"])  # every cell the seed prints
    imported = import_report(SEED)
    assert imported.spec.id == "gov-2019" and imported.missing == {}
    assert table_values(imported.values) == printed
    assert len(printed) == 22 + 161 + 15
    assert imported.values["meta.office"] == "涧西区人民政府办公室" and imported.values["meta.year"] == 2019
    assert imported.values["text.s6"] == "无"
    assert imported.origins["t3.r4_1.natural"] == "第52行"  # "1.本机关不掌握相关政府信息  10 …"


def test_checking_the_seed_directly_finds_no_arithmetic_error(tmp_path, cli):
    run = cli("check", SEED, "--json", "--out", tmp_path, "--copies", "all")
    assert run.returncode == 0, run.stdout
    (report,) = json.loads(run.stdout)["files"]
    assert report["status"] == "clean" and report["format"] == "gov-2019"
    assert report["output"].endswith("jianxi-2019.txt.检查.xlsx")  # the filled template, annotated, named after its source


@pytest.fixture(scope="module", params=["2019", "2021"])
def filled(request, tmp_path_factory):
    """A realistic report of each format with distinct, non-trivial values."""
    folder = tmp_path_factory.mktemp(f"render{request.param}")
    jobs = [j for j in plan(40, seed=3) if j["format"] == request.param and not j["inject"]][:1]
    generate(jobs, folder)
    values = nianbao.check(folder / jobs[0]["name"]).values
    spec = load_spec(request.param)
    return spec, values.data, folder


@pytest.mark.parametrize("render", [to_text, to_html, to_docx], ids=["text", "html", "docx"])
def test_renderings_of_a_filled_template_import_back_exactly(filled, render):
    spec, values, folder = filled
    suffix = {"to_text": ".txt", "to_html": ".html", "to_docx": ".docx"}[render.__name__]
    document = render(spec, values, folder / f"report{suffix}")
    imported = import_report(document)
    assert imported.spec == spec and imported.missing == {} and imported.hits == []
    assert table_values(imported.values) == table_values(values)
    assert imported.values["meta.office"] == values["meta.office"]
    for key in ("text.s1", "text.s5", "text.s6"):
        assert imported.values[key] == values[key]


def test_pdf_rendering_by_libreoffice_imports_back_exactly(filled, soffice, tmp_path):
    spec, values, folder = filled
    workbook = next(folder.glob("*.xlsx"))
    assert soffice(workbook, tmp_path, "pdf").returncode == 0
    imported = import_report(tmp_path / f"{workbook.stem}.pdf")
    assert imported.spec == spec
    assert {k: v for k, v in imported.missing.items() if k.startswith(TABLE_KEYS)} == {}
    assert table_values(imported.values) == table_values(values)


def _published(path):
    """A report as published: its tables, without the template's 自查结果 sheet (whose messages about
    these random, unbalanced numbers quote the row labels)."""
    from openpyxl import load_workbook

    from nianbao.live_layer import SELF_CHECK_SHEET

    wb = load_workbook(path)
    del wb[SELF_CHECK_SHEET]
    wb.save(path)


def test_pdf_of_random_reports_imports_every_cell_exact_or_unread_never_wrong(soffice, tmp_path):
    """Templates filled with random values (long labels wrapped in their cells, as LibreOffice prints
    them) and rendered to PDF: every imported cell is the printed value or unread, none is wrong."""
    import random

    from nianbao.template import build

    rng = random.Random(10)
    printed = {}
    for n, short in enumerate(["2019", "2021", "2021"]):
        spec = load_spec(short)
        values = base_values(spec, spec.year_from + 1)
        for key in table_values(values):
            if spec.cells[key].type == "count":
                values[key] = rng.choice([0, 0, 1, 3, 12, 250, 4081])
        build(spec, tmp_path / f"r{n}.xlsx", values=values)
        _published(tmp_path / f"r{n}.xlsx")
        assert soffice(tmp_path / f"r{n}.xlsx", tmp_path, "pdf").returncode == 0
        printed[n] = (spec, values)
    for n, (spec, values) in printed.items():
        imported = import_report(tmp_path / f"r{n}.pdf")
        wrong = {k: (v, values[k]) for k, v in table_values(imported.values).items()
                 if v is not None and spec.cells[k].type == "count" and v != values[k]}
        assert wrong == {}
        unread = [k for k in imported.missing if k.startswith(TABLE_KEYS)]
        assert unread == []  # and, on these clean renderings, nothing is left unread


def test_009_pdf_rows_are_read_by_the_printed_lines():
    """009.pdf prints a row's label slightly lower than its numbers: the numbers belong to the row
    whose cell they are in (10 for 本机关不掌握, 3 for 没有现成信息), not to the line before."""
    imported = import_report(CORPUS / "pdf" / "009.pdf")
    columns = [c.key for c in imported.spec.table("t3").columns]
    assert [imported.values[f"t3.r4_1.{c}"] for c in columns] == [10, 0, 0, 0, 0, 0, 10]
    assert [imported.values[f"t3.r4_2.{c}"] for c in columns] == [3, 0, 0, 0, 0, 0, 3]
    # A label wrapped over three lines in its cell is one label.
    assert [imported.values[f"t3.r5_5.{c}"] for c in columns] == [0] * 7
    # The published error of its 表四: 11 decided 行政复议 cases, 总计 printed as 0.
    b401 = {f.key: (f.actual, f.expected) for f in nianbao.check(CORPUS / "pdf" / "009.pdf").findings if f.rule == "B401"}
    assert b401["t4.cases.review_total"] == (0, 11)


def test_text_contradicting_the_table_names_both_places(tmp_path, cli):
    report = tmp_path / "report.txt"
    report.write_text(SEED.read_text(encoding="utf-8").replace("共收到依申请公开15件", "共收到依申请公开16件"), encoding="utf-8")
    run = cli("check", report, "--json", "--copies", "none")
    (finding,) = json.loads(run.stdout)["files"][0]["findings"]
    assert finding["rule"] == "N301" and (finding["actual"], finding["expected"]) == ("16", 15)
    assert "收到依申请公开16件" in finding["message"] and "表三“一、本年新收政府信息公开申请数量”总计（或加上年结转）为 15 件" in finding["message"]
    assert finding["cells"][:2] == ["正文!B8", "表三!J6"]
    assert finding["source"] == "第5行起"  # the heading "一、总体情况" of the section quoted


def test_a_pdf_of_page_images_gets_an_accessibility_hint_and_an_annotated_copy(tmp_path, cli):
    """A 图片版 report (a scan: pages as pictures, no text layer) is a report readers cannot search
    or have read aloud: the check says so (I005, 提示), lists every cell as unread, and still writes
    its annotated copy and summary; importing it to a template still says it cannot be imported."""
    from PIL import Image, ImageDraw

    page = Image.new("1", (420, 594), 1)
    ImageDraw.Draw(page).rectangle((40, 90, 380, 98), fill=0)  # a line of "text" drawn as a picture
    report = tmp_path / "某县2024年报告.pdf"
    page.save(report)
    run = cli("check", report, "--json", "--out", tmp_path / "out")
    (result,) = json.loads(run.stdout)["files"]
    assert run.returncode == 2 and result["reason"] is None and result["status"] == "warnings"  # partial: exit code 2
    assert [(f["rule"], f["severity"]) for f in result["findings"]] == [("I005", "提示")]
    assert "无法朗读" in result["findings"][0]["message"] and "文字版" in result["findings"][0]["message"]
    assert {u["key"] for u in result["unread"]} == set(load_spec(result["format"]).cells)
    assert (tmp_path / "out" / "某县2024年报告.pdf.检查.xlsx").is_file()
    imported = cli("import", report, "-o", tmp_path / "t.xlsx")
    assert imported.returncode != 0 and "没有文字层" in imported.stdout + imported.stderr


CORPUS_FILES = sorted((CORPUS / "reports").glob("*.txt")) + sorted((CORPUS / "pdf").glob("*.pdf"))
INDEX = {r["file"]: r for r in csv.DictReader((CORPUS / "index.tsv").open(encoding="utf-8"), delimiter="\t")}


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS_FILES])
def test_corpus_imports_and_checks_without_traceback(path, tmp_path):
    imported = import_report(path)
    expected = INDEX.get(path.name, {}).get("format_version") if path.parent.name == "reports" else "2021"
    found_tables = any(k.startswith(TABLE_KEYS) for k in imported.values)
    if expected in ("2019", "2021") and found_tables:
        assert imported.spec.short == expected
    # Nothing is invented: every key is either imported (as printed) or listed as missing.
    assert not set(imported.values) & set(imported.missing)
    result = nianbao.check(path)
    assert result.reason is None


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("001.txt", {"t2.norms.issued": 5, "t2.norms.repealed": 1, "t2.norms.in_force": 25, "t3.new.natural": 58,
                     "t3.new.business": 7, "t3.new.legal": 1, "t3.new.total": 66, "t3.carry_in.total": 2}),
        ("013.txt", {f"t4.cases.{g}_{p}": 0 for g in ("review", "direct", "after")
                     for p in ("upheld", "corrected", "other", "pending", "total")}),
        ("019.txt", {"t2.rules.made": 0, "t2.norms.total_public": 0, "t2.coercion.decisions": 0}),
    ],
)
def test_corpus_values_are_the_printed_ones(name, printed):
    imported = import_report(CORPUS / "reports" / name)
    assert {k: imported.values.get(k) for k in printed} == printed


def test_non_standard_row_is_noted_not_imported():
    imported = import_report(CORPUS / "reports" / "005.txt")  # 其他主动公开文件 | 56 | 45
    assert [h.rule for h in imported.hits if h.rule == "I003"] == ["I003"]
    assert 56 not in imported.values.values()


def test_unreadable_documents_get_one_line(tmp_path, cli):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a zip")
    run = cli("check", broken)
    assert run.returncode == 2 and "Word 文件无法打开" in run.stdout and "Traceback" not in run.stdout + run.stderr
    empty = tmp_path / "scan.pdf"
    empty.write_bytes(Path(CORPUS / "pdf" / "009.pdf").read_bytes()[:200])
    run = cli("check", empty)
    assert run.returncode == 2 and "PDF" in run.stdout


def test_real_world_variants_are_read_as_printed(tmp_path):
    """Traditional characters, full-width digits, placeholders and units: read as printed, never as 0."""
    import zhconv

    text = SEED.read_text(encoding="utf-8")
    text = text.replace("一、本年新收政府信息公开申请数量\t15", "一、本年新收政府信息公开申请数量\t１５")
    text = text.replace("7.属于行政执法案卷\t1\t0", "7.属于行政执法案卷\t1\t/")
    text = text.replace("2.没有现成信息需要另行制作\t0\t0", "2.没有现成信息需要另行制作\t——\t0")
    text = text.replace("1.本机关不掌握相关政府信息\t10", "1.本机关不掌握相关政府信息\t10 件")
    report = tmp_path / "traditional.txt"
    report.write_text(zhconv.convert(text, "zh-tw"), encoding="utf-8")
    imported = import_report(report)
    assert imported.spec.id == "gov-2019" and imported.missing == {}
    v = imported.values
    assert (v["t3.new.natural"], v["t3.r3_7.business"], v["t3.r4_2.natural"], v["t3.r4_1.natural"]) == ("１５", "/", "——", "10 件")
    rules = {(f.rule, f.key) for f in nianbao.check(report).findings}
    assert {("C009", "t3.new.natural"), ("C003", "t3.r3_7.business"), ("C004", "t3.r4_2.natural"),
            ("C008", "t3.r4_1.natural")} <= rules


def test_one_cell_per_line_layout(tmp_path):
    """Cells one per line, blank lines between (a common copy of web tables)."""
    spec = load_spec("2021")
    values = base_values(spec, 2022) | {"t3.new.natural": 3, "t3.new.total": 3, "t3.r1.natural": 3, "t3.r1.total": 3,
                                        "t3.r7.natural": 3, "t3.r7.total": 3, "t2.norms.issued": 4, "t2.fees.amount": 1.5}
    tabbed = to_text(spec, values, tmp_path / "tabbed.txt").read_text(encoding="utf-8")
    lines = [cell for line in tabbed.splitlines() for cell in line.split("\t") if cell]
    report = tmp_path / "one-per-line.txt"
    report.write_text("\n\n".join(lines), encoding="utf-8")
    imported = import_report(report)
    assert {k: v for k, v in imported.missing.items() if k.startswith(TABLE_KEYS)} == {}
    assert table_values(imported.values) == {k: (Decimal("1.5") if k == "t2.fees.amount" else v)
                                             for k, v in table_values(values).items()}


@pytest.mark.parametrize(("name", "office", "year"), [("pdf/011.pdf", "淮安市人民政府", 2024), ("pdf/010.pdf", "淮安市洪泽区人民政府", 2024),
                                                      ("reports/019.txt", "乐至县回澜镇人民政府", 2019)])
def test_office_and_year_from_the_title(name, office, year):
    """Also when the title is broken after the office's name, as in these PDFs."""
    imported = import_report(CORPUS / name)
    assert (imported.values.get("meta.office"), imported.values.get("meta.year")) == (office, year)


def test_the_published_text_table_contradiction_in_010_is_found():
    """010.pdf says 受理政府信息公开申请17件 in its text, and prints 95 in 表三 (read from the page)."""
    result = nianbao.check(CORPUS / "pdf" / "010.pdf")
    (finding,) = [f for f in result.findings if f.rule == "N301"]
    assert finding.actual == "17" and "95" in finding.message


def _printed_as_one_row(tmp_path, total: int) -> Path:
    """A 2021-format report (2 cases of （六）其他处理, 1 and 1) printing （六） as one row with ``total``."""
    spec = load_spec("2021")
    values = base_values(spec, 2022) | {"t3.new.natural": 2, "t3.new.total": 2, "t3.r6_1.natural": 1, "t3.r6_1.total": 1,
                                        "t3.r6_3.natural": 1, "t3.r6_3.total": 1, "t3.r7.natural": 2, "t3.r7.total": 2}
    lines = to_text(spec, values, tmp_path / "full.txt").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if "1.申请人无正当理由逾期不补正" in line)
    one = f"\t（六）其他处理\t\t{total}\t0\t0\t0\t0\t0\t{total}"
    report = tmp_path / "one-row.txt"
    report.write_text("\n".join([*lines[:first], one, *lines[first + 3:]]) + "\n", encoding="utf-8")
    return report


def test_a_group_printed_as_one_row_keeps_its_total_for_the_relations(tmp_path):
    """Item 4 of issue 10: （六）其他处理 printed as one row (as the 2019 format did) in a 2021 report."""
    ok = nianbao.check(_printed_as_one_row(tmp_path, 2))
    assert not [f for f in ok.findings if f.rule.startswith("B")]
    sub_rows = {k for k in ok.unread if k.startswith("t3.r6_")}
    assert len(sub_rows) == 21 and "印为一行" in ok.unread["t3.r6_1.natural"]
    assert ok.status == "clean" and not ok.complete  # the three rows themselves are unread, not 错误
    wrong = nianbao.check(_printed_as_one_row(tmp_path, 3))
    b302 = [f for f in wrong.findings if f.rule == "B302"]
    assert [(f.key, f.actual, f.expected) for f in b302] == [("t3.r7.natural", 2, 3), ("t3.r7.total", 2, 3)]


def test_cells_the_importer_cannot_find_are_unread_not_errors_of_the_report(tmp_path, cli):
    """Item 7 of issue 10: a row the importer cannot locate is a limit of the reading: no finding,
    one line per table, the file partially checked, exit code 2."""
    report = tmp_path / "report.txt"
    report.write_text(SEED.read_text(encoding="utf-8").replace("\t\t7.属于行政执法案卷\t1\t0\t0\t0\t0\t0\t1\n", ""), encoding="utf-8")
    run = cli("check", report, "--json", "--copies", "none")
    assert run.returncode == 2
    (result,) = json.loads(run.stdout)["files"]
    assert result["checked"] == "partial" and len(result["unread"]) == 7
    assert {u["key"] for u in result["unread"]} == {f"t3.r3_7.{c.key}" for c in load_spec("2019").table("t3").columns}
    assert not [f for f in result["findings"] if f["severity"] == "错误"]  # B302 cannot be assessed, nothing is guessed
    shown = cli("check", report, "--copies", "none")
    assert "部分检查 表三：7 个单元格未能读取（原文中未找到“7.属于行政执法案卷”……）" in shown.stdout
    # The annotated copy marks those cells grey, with why, and says the check was partial.
    cli("check", report, "--out", tmp_path / "out")
    from openpyxl import load_workbook

    from nianbao.layout import form_layout

    copy = load_workbook(tmp_path / "out" / "report.txt.检查.xlsx")
    cell = form_layout(load_spec("2019")).inputs["t3.r3_7.natural"]
    marked = copy[cell.sheet][cell.address]
    assert marked.fill.fgColor.rgb == "FFD9D9D9" and "未能读取" in marked.comment.text and "7.属于行政执法案卷" in marked.comment.text
    assert "只检查了能读取的部分" in copy["检查结果"]["A1"].value


def _flattened(spec, values, folder: Path) -> Path:
    """The report as crawlers save web pages: the whole page on one line, no delimiter anywhere."""
    text = to_text(spec, values, folder / "tabbed.txt").read_text(encoding="utf-8")
    flat = folder / "flat.txt"
    flat.write_text("".join(line.replace("\t", "") for line in text.splitlines()), encoding="utf-8")
    return flat


@pytest.mark.parametrize("short", ["2019", "2021"])
def test_run_together_rows_are_split_by_their_total_and_never_guessed(short, tmp_path):
    import random

    from nianbao.samples import realistic_values

    spec = load_spec(short)
    values = realistic_values(spec, random.Random(4), "某县教育局", spec.year_from + 1)
    imported = import_report(_flattened(spec, values, tmp_path))
    t3 = [k for k in spec.cells if k.startswith("t3.")]
    assert {k: imported.values.get(k) for k in t3} == {k: values[k] for k in t3}
    assert "按唯一可能的拆法拆分" in imported.origins["t3.new.natural"]
    # 表二 rows have no total to split by: their runs stay unread, never guessed.
    assert all(imported.values.get(k) in (None, values[k]) for k in spec.cells if k.startswith("t2."))


def test_a_digit_run_is_split_only_when_exactly_one_split_fits():
    from nianbao.importers.extract import split_run

    assert split_run("3100004", 7) == ["3", "1", "0", "0", "0", "0", "4"]  # the example
    assert split_run("120000012", 7) == ["12", "0", "0", "0", "0", "0", "12"]
    assert split_run("11011", 3) is None  # 1+10=11 and 11+0=11: two splits, so none
    assert split_run("3100003", 7) is None  # no split sums
    assert split_run("10000010", 7) is None  # 1,0,0,0,0,0,10 does not sum; 10,…,10 needs more digits
    assert split_run("9" * 40, 7) is None  # too long to try


def test_markdown_reports_with_pipe_tables_and_markup(tmp_path):
    spec = load_spec("2021")
    values = base_values(spec, 2022) | {"t3.new.natural": 3, "t3.new.total": 3, "t3.r1.natural": 3, "t3.r1.total": 3,
                                        "t3.r7.natural": 3, "t3.r7.total": 3, "t2.norms.issued": 4}
    lines = []
    for line in to_text(spec, values, tmp_path / "r.txt").read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) == 1:
            lines.append(f"## **{line}**" if line[:2] in ("一、", "二、", "三、", "四、", "五、", "六、") else line)
            continue
        lines.append("| " + " | ".join(cells) + " |")
        if "自然人" in line or "信息内容" in line:
            lines.append("|" + ":---:|" * len(cells))
    report = tmp_path / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    imported = import_report(report)
    assert imported.missing == {} and table_values(imported.values) == table_values(values)
    assert imported.values["text.s5"] == values["text.s5"]


def test_publication_date_from_the_page_header():
    imported = import_report(CORPUS / "reports" / "009.txt")  # "日期:2021-01-29" under the title
    assert str(imported.values["meta.published"]) == "2021-01-29" and imported.origins["meta.published"] == "第3行"
    imported = import_report(CORPUS / "reports" / "051.txt")  # "发布时间:2023-01-31 13:24"
    assert str(imported.values["meta.published"]) == "2023-01-31"


def test_digits_run_on_in_a_sentence_are_never_taken_for_a_table_value():
    """041.txt (cut mid-sentence) ends a paragraph with “全年共公示行政处罚4480012”: no table
    prints it, so 表二「行政处罚」 stays unread, with the reason."""
    imported = import_report(CORPUS / "reports" / "041.txt")
    assert imported.values.get("t2.penalty.decisions") is None
    assert "t2" in imported.absent  # the label inside a sentence is a mention, not 表二's row


def test_text_printed_in_traditional_characters_is_read_against_the_tables(tmp_path):
    """A report printed in traditional characters (收到申請16件): its sentences are matched as the
    simplified ones are, so the contradiction with 表三 (15) is found."""
    import zhconv

    report = tmp_path / "traditional.txt"
    text = SEED.read_text(encoding="utf-8").replace("共收到依申请公开15件", "共收到依申请公开16件")
    report.write_text(zhconv.convert(text, "zh-tw"), encoding="utf-8")
    (finding,) = [f for f in nianbao.check(report).findings if f.rule == "N301"]
    assert (finding.actual, finding.expected) == ("16", 15)
