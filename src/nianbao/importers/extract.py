"""Find the report's values in a published document by their labels, never by position alone.

A row's values are the value cells that follow its label: on the label's own row when that row
holds exactly as many values as the table has columns (blank cells kept as blank), otherwise on
the following lines one value per cell (layouts with one cell per line). Anything else is not
guessed: the row's cells are listed as missing, with what was seen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from nianbao.findings import Hit
from nianbao.importers.document import Cell, Row
from nianbao.importers.headings import break_lines, headings
from nianbao.importers.runs import MAX_RUN, split_run
from nianbao.importers.tables import Flat, read_table, vocabulary
from nianbao.importers.text import is_value, norm
from nianbao.importers.unlabelled import read_unlabelled
from nianbao.spec import FormSpec, all_specs, spec_for_year

# Digits between words, where the words after them start a label the format prints:
# "…行政许可2293行政处罚60第二十条第（八）项…" (crawler text of a 表二 with no delimiter left).
_BETWEEN = re.compile(r"(?:(?<=[\u4e00-\u9fff）)”])|(?<=\s)|^)([0-9]+(?:\.[0-9]+)?)(?=[\u4e00-\u9fff（(“])")
_GLUED_MAX = 200  # digit runs looked at in one cell: more is prose, not a table
_TITLE = re.compile(r"(?P<office>[^\s，,。;；:：》)）(（、“”]{2,40}?)\s*(?P<year>(?:19|20)\d\d)\s*年(?:度)?(?:政府)?信息公开(?:工作)?(?:年度)?报告")
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")
# A page's publication date: "发布时间:2020-01-31 13:24", "日期:2021-01-29", "发布日期：2022年1月20日".
_PUBLISHED = re.compile(r"(?:发布|公开|成文|信息提供)?(?:日期|时间)\s*[:：]\s*((?:19|20)\d\d)\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})")
_HEADER_ROWS = 30  # the date is looked for in the page header: this many rows at the top
_HEADING_LENGTH = 60  # characters: a longer line is a heading only where a heading starts inside it

__all__ = ["MAX_RUN", "Imported", "extract", "is_value", "norm", "split_run"]


@dataclass
class Imported:
    """What an import found: raw values by key (as printed), where each came from, and what is missing."""

    spec: FormSpec
    values: dict[str, object] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # key -> what was seen instead
    hits: list[Hit] = field(default_factory=list)  # notes on the source: format guessed, odd rows, absent tables
    totals: dict[str, object] = field(default_factory=dict)  # a printed total of rows printed as one (spec printed_totals)
    absent: list[str] = field(default_factory=list)  # keys of the tables not found at all


def nothing_read(reason: str) -> Imported:
    """A report none of whose cells could be read (a PDF of page images): every cell unread, for ``reason``."""
    spec = all_specs()[-1]  # nothing tells the format: the latest
    return Imported(spec, missing=dict.fromkeys(spec.cells, reason))


def detect_format(rows: list[Row], year: int | None) -> tuple[FormSpec, str | None]:
    """The format whose distinctive labels the document prints; the report year decides a tie."""
    cells = {norm(c.text) for row in rows for c in row if c.text}
    specs = all_specs()
    scores = []
    for spec in specs:
        others = set().union(*(vocabulary(s) for s in specs if s is not spec))
        scores.append((len((vocabulary(spec) - others) & cells), spec))
    scores.sort(key=lambda x: -x[0])
    if scores[0][0] > (scores[1][0] if len(scores) > 1 else 0):
        return scores[0][1], None
    if year is not None:
        spec = spec_for_year(year)
        return spec, f"表格标签不足以判断格式，按报告年度 {year} 使用{spec.notice}格式"
    return specs[-1], f"表格标签不足以判断格式，也未找到报告年度，按最新的{specs[-1].notice}格式导入"


def _meta(rows: list[Row], imported: Imported) -> int | None:
    """Office and year from the title ("某机关2019年政府信息公开工作年度报告"), else the year alone."""
    import zhconv

    lines = [(" ".join(c.text for c in row if c.text).strip(), row[0].origin) for row in rows[:15] if row]
    lines = [(text, origin) for text, origin in lines if text]
    # A title may be broken after the office's name ("洪泽区人民政府" / "2023 年政府信息公开工作年度报告").
    candidates = [*lines, *((a + b, oa) for (a, oa), (b, _) in zip(lines, lines[1:], strict=False)
                            if len(a) <= 30 and "报告" not in a and re.match(r"\s*(?:19|20)\d\d\s*年", b))]
    for text, origin in candidates:
        simplified = zhconv.convert(text, "zh-cn")
        match = _TITLE.search(simplified)
        if match is None:
            continue
        # The office is kept as printed when the script conversion kept every character in place.
        start, end = match.span("office")
        office = text[start:end] if len(simplified) == len(text) else match.group("office")
        office = re.sub(r"^.*(?:[-－—:：]\s*|现公开|现公布|现发布|特编制了?|发布)", "", office).strip()  # "……现公布某机关"
        if office:
            imported.values["meta.office"] = office
            imported.origins["meta.office"] = origin
        else:
            imported.missing["meta.office"] = f"标题“{text[:40]}”中没有机关名称"
        imported.values["meta.year"] = int(match.group("year"))
        imported.origins["meta.year"] = origin
        return int(match.group("year"))
    imported.missing["meta.office"] = "未找到标题中的机关名称"
    for row in rows:
        for c in row:
            if match := _YEAR.search(c.text):
                imported.values["meta.year"] = int(match.group(1))
                imported.origins["meta.year"] = c.origin
                return int(match.group(1))
    imported.missing["meta.year"] = "未找到报告年度"
    return None


def _published(rows: list[Row], imported: Imported) -> None:
    """The publication date a web page or document prints near its top, if any."""
    import datetime as dt

    for row in rows[:_HEADER_ROWS]:
        text = unicodedata.normalize("NFKC", " ".join(c.text for c in row))
        if match := _PUBLISHED.search(text):
            try:
                imported.values["meta.published"] = dt.date(*map(int, match.groups()))
            except ValueError:  # 2021-02-30: printed, but no date
                continue
            imported.origins["meta.published"] = row[0].origin
            return


def _region(rows: list[Row], found: dict[str, tuple[int, int]], key: str, heading: bool = False) -> tuple[int, int]:
    """The rows of a section: after its heading, or from it (a table's header may be run on with its heading)."""
    if key not in found:
        return 0, len(rows)
    at, body = found[key]
    later = [i for i, _ in found.values() if i > at]
    return at if heading else body, min(later) if later else len(rows)


@cache
def _openings(words: frozenset[str]) -> frozenset[str]:
    """The first two characters of every printed label, in simplified and traditional script: a
    cheap first test of the text after a digit run (normalising it costs far more)."""
    import zhconv

    firsts = {w[:2] for w in words if len(w) >= 2}
    return frozenset(firsts | {zhconv.convert(f, variant) for f in firsts for variant in ("zh-tw", "zh-hk")})


def _glued_cell(cell: Cell, words: frozenset[str]) -> list[Cell]:
    """One text cell as its words and the digits run on between them before a printed label."""
    cuts = [m for m in _BETWEEN.finditer(cell.text, 0, len(cell.text))][:_GLUED_MAX + 1]
    if len(cuts) > _GLUED_MAX:
        return [cell]
    out, start, openings = [], 0, _openings(words)
    for m in cuts:
        if re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", cell.text[m.end():m.end() + 6]))[:2] not in openings:
            continue
        after = norm(cell.text[m.end():m.end() + 40])
        if not any(after.startswith(w) for w in words if len(w) >= 2):
            continue
        glued_on = m.start() > 0 and not cell.text[m.start() - 1].isspace()  # run on after words, not set off by a space
        out += [Cell(cell.text[start:m.start()], cell.origin)] if cell.text[start:m.start()].strip() else []
        out.append(Cell(m.group(1), cell.origin, run_on=glued_on, loose=True))
        start = m.end()
    return [*out, Cell(cell.text[start:], cell.origin)] if out else [cell]


def glued(rows: list[Row], spec: FormSpec) -> list[Row]:
    """The rows for reading tables: digits run on between a label and the next set apart."""
    words = vocabulary(spec)

    def pieces(cell: Cell) -> list[Cell]:
        return _glued_cell(cell, words) if any(ch.isdigit() for ch in cell.text) and not is_value(cell.text) else [cell]

    def split(row: Row) -> Row:
        if not any(c.text and any(ch.isdigit() for ch in c.text) for c in row):
            return row  # most rows: kept as they are, not copied
        return [piece for c in row for piece in pieces(c)]

    return [split(row) for row in rows]


def _flatten(rows: list[Row], start: int, end: int) -> list[Flat]:
    return [Flat(r, c, cell) for r in range(start, end) for c, cell in enumerate(rows[r])]


def _sections(rows: list[Row], spec: FormSpec, found: dict[str, tuple[int, int]], imported: Imported) -> None:
    for section in spec.text_sections:
        key = f"text.{section.key}"
        if section.key not in found:
            imported.missing[key] = f"原文中未找到“{section.label}”"
            continue
        start, end = _region(rows, found, section.key)
        lines = [" ".join(c.text for c in row if c.text).strip() for row in rows[start:end]]
        text = "\n".join(line for line in lines if line)
        imported.values[key] = text or None
        imported.origins[key] = f"{rows[found[section.key][0]][0].origin}起"


def _read(rows: list[Row], region: tuple[int, int], spec: FormSpec, table_key: str, imported: Imported, bounded: bool) -> bool:
    table = spec.table(table_key)
    flat = _flatten(rows, *region)
    if any(r.label for r in table.rows):
        return read_table(flat, table, spec, imported, bounded)
    if read_unlabelled(flat, table, spec, imported):
        return True
    if table.key not in imported.absent:
        imported.absent.append(table.key)
    return False


def extract(rows: list[Row]) -> Imported:
    probe = Imported(all_specs()[-1])
    year = _meta(rows, probe)
    spec, note = detect_format(rows, year)
    imported = Imported(spec, probe.values, probe.origins, probe.missing)
    _published(rows, imported)
    if note:
        imported.hits.append(Hit("I002", params={"detail": note}))
    rows = break_lines(rows, spec)
    found = headings(rows, spec)
    tables = glued(rows, spec)
    for section in spec.sections:
        if section.table:
            bounded = section.key in found
            if not _read(tables, _region(rows, found, section.key, heading=True), spec, section.table, imported, bounded) and bounded:
                # The heading found may be a mention (a contents line): look in the whole document.
                imported.absent.remove(section.table)
                _read(tables, (0, len(rows)), spec, section.table, imported, False)
    _sections(rows, spec, found, imported)
    return imported
