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
from decimal import Decimal
from difflib import SequenceMatcher
from functools import cache

from nianbao.findings import Hit
from nianbao.importers.document import Cell, Row
from nianbao.limits import cache_short
from nianbao.spec import FormSpec, Table, all_specs, spec_for_year
from nianbao.values import MAX_DIGITS

_HEADING = re.compile(r"^\s*([一二三四五六七八九十]+)\s*[、.．]")  # a section heading starts with its numeral
_VALUE = re.compile(r"^[+-]?\d[\d,]*(?:\.\d+)?\s*(?:件|条|项|个|次|万元|元)?$|^(?:/|-|—{1,2}|－|／)$")
_PLAIN = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")  # ASCII only: full-width digits are kept as printed
_TITLE = re.compile(r"(?P<office>[^\s，,。;；:：》)）(（、“”]{2,40}?)\s*(?P<year>(?:19|20)\d\d)\s*年(?:度)?(?:政府)?信息公开(?:工作)?(?:年度)?报告")
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")
# A page's publication date: "发布时间:2020-01-31 13:24", "日期:2021-01-29", "发布日期：2022年1月20日".
_PUBLISHED = re.compile(r"(?:发布|公开|成文|信息提供)?(?:日期|时间)\s*[:：]\s*((?:19|20)\d\d)\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})")
_HEADER_ROWS = 30  # the date is looked for in the page header: this many rows at the top
_MIN_PREFIX = 10  # a label wrapped over lines is recognised by a unique prefix this long


@cache_short(16384)
def norm(text: str) -> str:
    """Labels compared without punctuation, spaces, width or script differences."""
    import zhconv

    simplified = zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn")
    return re.sub(r"[\W_]+", "", simplified)


def is_value(text: str) -> bool:
    return bool(_VALUE.match(unicodedata.normalize("NFKC", text).strip()))


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


@dataclass(frozen=True)
class _Flat:
    row: int
    col: int
    cell: Cell


def _raw(text: str) -> object:
    """A printed value as the template receives it: plain ASCII numbers as numbers, the rest as
    printed (a number too long to be one, as text, which the reader reports as C013)."""
    text = text.strip()
    if _PLAIN.match(text) and len(text) <= 2 * MAX_DIGITS:
        return Decimal(text) if "." in text else int(text)
    return text


@cache
def _labels(spec: FormSpec) -> frozenset[str]:
    found = set()
    for table in spec.tables:
        for block in table.blocks:
            found |= {norm(c.label) for c in block.columns} | {norm(g) for c in block.columns for g in c.group}
            found |= {norm(x) for r in block.rows for x in (r.label or "", *r.aliases, *r.group) if x}
            found |= {norm(block.caption or "")}
    return frozenset(found - {""})


def detect_format(rows: list[Row], year: int | None) -> tuple[FormSpec, str | None]:
    """The format whose distinctive labels the document prints; the report year decides a tie."""
    cells = {norm(c.text) for row in rows for c in row if c.text}
    specs = all_specs()
    scores = []
    for spec in specs:
        others = set().union(*(_labels(s) for s in specs if s is not spec))
        scores.append((len((_labels(spec) - others) & cells), spec))
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


def _headings(rows: list[Row], spec: FormSpec) -> dict[str, int]:
    """Row index of each section heading found, in order."""
    found: dict[str, int] = {}
    position = 0
    for i, row in enumerate(rows):
        text = "".join(c.text for c in row).strip()
        if not text or len(text) > 60:
            continue
        numeral = _HEADING.match(unicodedata.normalize("NFKC", text))
        if numeral is None:
            continue
        folded = norm(text)
        for n, section in enumerate(spec.sections):
            if n < position or section.key in found:
                continue
            own = _HEADING.match(section.label)
            if own and own.group(1) == numeral.group(1) and any(norm(k) in folded for k in section.keywords):
                found[section.key] = i
                position = n + 1
                break
    return found


def _region(rows: list[Row], headings: dict[str, int], key: str) -> tuple[int, int]:
    start = headings.get(key)
    if start is None:
        return 0, len(rows)
    later = [i for i in headings.values() if i > start]
    return start + 1, min(later) if later else len(rows)


def _flatten(rows: list[Row], start: int, end: int) -> list[_Flat]:
    return [_Flat(r, c, cell) for r in range(start, end) for c, cell in enumerate(rows[r])]


MAX_RUN = 24  # digits: a longer run is not split (the splits to try grow too fast)


def split_run(digits: str, k: int) -> list[str] | None:
    """A row's k numbers printed with no delimiter ("3100004"), when exactly one split gives k
    numbers, none with a leading zero, whose last (the row's 总计) is the sum of the others."""
    if not digits.isascii() or not digits.isdigit() or not k < len(digits) + 1 <= MAX_RUN + 1 or k < 3:
        return None
    found: list[list[str]] = []

    def place(start: int, parts: list[str]) -> None:
        if len(found) > 1:
            return
        if len(parts) == k - 1:
            last = digits[start:]
            if last and (last == "0" or last[0] != "0") and int(last) == sum(map(int, parts)):
                found.append([*parts, last])
            return
        for end in range(start + 1, len(digits) - (k - 2 - len(parts))):
            piece = digits[start:end]
            if (piece[0] == "0" and len(piece) > 1) or len(piece) > len(digits) - end:
                break  # a leading zero; or a number longer than what is left for the total, which is at least as large
            place(end, [*parts, piece])

    place(0, [])
    return found[0] if len(found) == 1 else None


def _collect(flat: list[_Flat], label_at: int, k: int, summed: bool = False) -> tuple[list[Cell] | None, int, str]:
    """The k value cells after the label at ``flat[label_at]`` (a blank cell has empty text):
    (cells or None, next index, what was seen). With ``summed`` (the table's last column is the
    sum of the others), one run of digits is split where that makes the split unique."""
    row = flat[label_at].row
    after = []  # the run of value (or empty) cells after the label on its row
    for f in flat[label_at + 1:]:
        if f.row != row or (f.cell.text and not is_value(f.cell.text)):
            break
        after.append(f)
    end = label_at + 1 + len(after)
    while after and not after[0].cell.text:
        after.pop(0)
    while after and not after[-1].cell.text:
        after.pop()
    if after:
        filled = [f.cell for f in after if f.cell.text]
        if len(filled) == 1 and summed and (parts := split_run(filled[0].text, k)):
            return [Cell(p, f"{filled[0].origin}（连写的数字“{filled[0].text}”按行总计拆分）") for p in parts], end, ""
        if any(c.run_on for c in filled):  # "…共公示行政处罚4480012": words and digits run on, nothing to vouch for them
            return None, end, f"数字“{filled[0].text}”与文字连写，无法确认属于这一行"
        if len(after) == k:
            return [f.cell for f in after], end, ""
        if len(filled) == k:  # empty cells between the label and its values: a shifted row
            return filled, end, ""
        return None, end, f"该行有 {len(filled)} 个数值，应为 {k} 个"
    if end < len(flat) and flat[end].row == row:
        return None, end, f"该行标签后为“{flat[end].cell.text}”"
    # The label stands alone on its line: take the values one per cell from the following lines.
    values: list[Cell] = []
    i = end
    while i < len(flat) and len(values) < k:
        text = flat[i].cell.text
        if text and not is_value(text):
            break
        if text:
            values.append(flat[i].cell)
        i += 1
    if len(values) == k:
        return values, i, ""
    return None, i, f"标签后只找到 {len(values)} 个数值，应为 {k} 个"


def _matchers(table: Table) -> list[tuple[str, str, int]]:
    """(normalised label, row key, columns) for every way a row's label may be printed."""
    out = []
    for block in table.blocks:
        k = len(block.columns)
        for row in block.rows:
            for label in (row.label, *row.aliases):
                if label:
                    out.append((norm(label), row.key, k))
                    short = re.sub(r"[（(][^（）()]*[）)]$", "", label)  # without a trailing remark in brackets
                    if short != label:
                        out.append((norm(short), row.key, k))
    for total in table.printed_totals:
        out.append((norm(total.label), total.key, len(_block_of(table, total.rows[0]).columns)))
    return sorted(out, key=lambda m: -len(m[0]))


def _block_of(table: Table, row_key: str):
    return next(b for b in table.blocks if any(r.key == row_key for r in b.rows))


@cache
def _against(label: str) -> SequenceMatcher:
    """A matcher with ``label`` as its second sequence, indexed once: comparing text with a label
    then costs only the text (SequenceMatcher indexes its second sequence, the costly part)."""
    return SequenceMatcher(None, "", label, autojunk=False)


def _compare(text: str, label: str) -> SequenceMatcher:
    matcher = _against(label)
    matcher.set_seq1(text)
    return matcher


def _match(buffer: str, matchers: list[tuple[str, str, int]]) -> tuple[str, int] | None:
    for label, key, k in matchers:
        if buffer.endswith(label):
            return key, k
    for label, key, k in matchers:  # a long label wrapped over lines: a unique prefix of it
        for cut in range(len(label) - 1, _MIN_PREFIX - 1, -1):
            if buffer.endswith(label[:cut]):
                if sum(other.startswith(label[:cut]) for other, _, _ in matchers) == 1:
                    return key, k
                break
    # A wrapped label interleaved with its group's label (PDF text): a long piece found in no other label.
    best, best_len = None, _MIN_PREFIX - 1
    for label, key, k in matchers:
        match = _compare(buffer, label).find_longest_match(0, len(buffer), 0, len(label))
        piece = label[match.b: match.b + match.size]
        if match.size > best_len and sum(piece in other for other, other_key, _ in matchers if other_key != key) == 0:
            best, best_len = (key, k), match.size
    return best


NEAR = 0.8  # how alike (difflib ratio) a printed label must be to an official one to be read as it
NEAR_MARGIN = 0.15  # and by how much more than to any other label
NEAR_LENGTH = 8  # characters: shorter labels differ too little to tell a typo from another row


def _near(printed: str, table: Table) -> tuple[tuple[str, int], str] | None:
    """The one official row label ``printed`` is a typo of ("其他法律行政止公开"), if there is one:
    ((row key, columns), official label)."""
    folded = norm(printed)
    if len(folded) < NEAR_LENGTH:
        return None
    scores = []
    for block in table.blocks:
        for row in block.rows:
            if not row.label:
                continue
            matcher = _compare(folded, norm(row.label))
            # A label whose upper bounds are below NEAR - NEAR_MARGIN can be neither the match nor
            # a rival to it: the full ratio, which makes this costly on long text, is not needed.
            if matcher.real_quick_ratio() >= NEAR - NEAR_MARGIN and matcher.quick_ratio() >= NEAR - NEAR_MARGIN:
                scores.append((matcher.ratio(), row.label, row.key, len(block.columns)))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < NEAR or (len(scores) > 1 and scores[1][0] > scores[0][0] - NEAR_MARGIN):
        return None
    _, label, key, k = scores[0]
    return (key, k), label


def _table(rows: list[Row], region: tuple[int, int], table: Table, imported: Imported, bounded: bool) -> bool:
    """Read one table from ``region``; False when none of it is there. Odd rows are reported only
    when the region is the table's own section (otherwise they may belong to another table)."""
    flat = _flatten(rows, *region)
    block_columns = {row.key: block.columns for block in table.blocks for row in block.rows}
    printed = {t.key: t for t in table.printed_totals}
    found: set[str] = set()
    if not any(r.label for r in table.rows):
        _unlabelled(flat, table, imported, found)
    else:
        matchers = _matchers(table)
        buffer, last_text, i = "", None, 0
        while i < len(flat):
            text = flat[i].cell.text
            if not text:
                i += 1
                continue
            if not is_value(text):
                buffer, last_text, i = buffer + norm(text), i, i + 1
                continue
            hit = _match(buffer, matchers) if last_text is not None else None
            if hit is None and last_text is not None and (near := _near(flat[last_text].cell.text, table)):
                hit, official = near
                if hit[0] not in found:
                    detail = f"{flat[last_text].cell.origin}“{flat[last_text].cell.text}”按“{official}”读取"
                    imported.hits.append(Hit("I004", params={"detail": detail}))
            if hit is None:
                if last_text is not None and buffer and bounded:
                    imported.hits.append(Hit("I003", params={"detail": f"{flat[last_text].cell.origin}“{flat[last_text].cell.text}”"}))
                while i < len(flat) and (not flat[i].cell.text or is_value(flat[i].cell.text)):
                    i += 1
                buffer, last_text = "", None
                continue
            key, k = hit
            # A row read once is not split again, however often a hostile page repeats its label.
            cells, i, seen = _collect(flat, last_text, k, summed=table.row_total is not None and key not in found)
            buffer, last_text = "", None
            if key in found:
                continue
            found.add(key)
            if key in printed:  # rows printed as one: their total is read, the rows stay unread, saying why
                total = printed[key]
                found.update(total.rows)
                columns = _block_of(table, total.rows[0]).columns
                for c in columns:
                    for row in total.rows:
                        imported.missing[f"{table.key}.{row}.{c.key}"] = f"原文将“{total.label}”印为一行，只有合计，分项未列出"
                if cells is not None:
                    for c, cell in zip(columns, cells, strict=True):
                        imported.totals[f"{table.key}.{key}.{c.key}"] = _raw(cell.text) if cell.text else None
                        imported.origins[f"{table.key}.{key}.{c.key}"] = cell.origin
                continue
            _assign(imported, [f"{table.key}.{key}.{c.key}" for c in block_columns[key]], cells, seen)
    keys = [f"{table.key}.{r.key}.{c.key}" for b in table.blocks for r in b.rows for c in b.columns]
    if not found:
        for key in keys:
            imported.missing.pop(key, None)
        if table.key not in imported.absent:
            imported.absent.append(table.key)
        return False
    for b in table.blocks:
        for r in b.rows:
            if r.key not in found:
                for c in b.columns:
                    imported.missing[f"{table.key}.{r.key}.{c.key}"] = f"原文中未找到“{r.label or table.title}”"
    return True


def _assign(imported: Imported, keys: list[str], cells: list[Cell] | None, seen: str) -> None:
    for n, key in enumerate(keys):
        if cells is None:
            imported.missing[key] = seen
        else:
            imported.values[key] = _raw(cells[n].text) if cells[n].text else None
            imported.origins[key] = cells[n].origin


def _unlabelled(flat: list[_Flat], table: Table, imported: Imported, found: set[str]) -> None:
    """A table whose one row has no label (表四): its values follow the column headers."""
    (row,) = table.rows
    columns = table.columns
    groups = sorted({norm(g) for c in columns for g in c.group}, key=len, reverse=True)
    headers = sorted({norm(c.label) for c in columns} | set(groups), key=len, reverse=True)

    def only_headers(text: str) -> bool:
        """A header cell of this table: its group names (distinctive), maybe with column names."""
        folded = norm(text)
        if not any(g in folded for g in groups or headers):
            return False
        for h in headers:
            folded = folded.replace(h, "")
        return folded == ""

    first = next((i for i, f in enumerate(flat) if f.cell.text and only_headers(f.cell.text)), None)
    if first is None:
        return
    start = next((i for i in range(first, len(flat)) if flat[i].cell.text and is_value(flat[i].cell.text)), None)
    if start is None:
        return
    found.add(row.key)
    keys = [f"{table.key}.{row.key}.{c.key}" for c in columns]
    line = [f for f in flat if f.row == flat[start].row]
    while line and not line[0].cell.text:
        line.pop(0)
    while line and not line[-1].cell.text:
        line.pop()
    if len(line) == len(columns) and all(not f.cell.text or is_value(f.cell.text) for f in line):
        _assign(imported, keys, [f.cell for f in line], "")  # one row of values, blanks in place
        return
    cells, _, seen = _collect(flat, start - 1, len(columns)) if flat[start - 1].row != flat[start].row else (None, 0, "")
    _assign(imported, keys, cells, seen or f"表头后的数值不是 {len(columns)} 个")


def _sections(rows: list[Row], spec: FormSpec, headings: dict[str, int], imported: Imported) -> None:
    for section in spec.text_sections:
        key = f"text.{section.key}"
        if section.key not in headings:
            imported.missing[key] = f"原文中未找到“{section.label}”"
            continue
        start, end = _region(rows, headings, section.key)
        lines = [" ".join(c.text for c in row if c.text).strip() for row in rows[start:end]]
        text = "\n".join(line for line in lines if line)
        imported.values[key] = text or None
        imported.origins[key] = f"{rows[headings[section.key]][0].origin}起"


def extract(rows: list[Row]) -> Imported:
    probe = Imported(all_specs()[-1])
    year = _meta(rows, probe)
    spec, note = detect_format(rows, year)
    imported = Imported(spec, probe.values, probe.origins, probe.missing)
    _published(rows, imported)
    if note:
        imported.hits.append(Hit("I002", params={"detail": note}))
    headings = _headings(rows, spec)
    for section in spec.sections:
        if section.table:
            table = spec.table(section.table)
            bounded = section.key in headings
            if not _table(rows, _region(rows, headings, section.key), table, imported, bounded) and bounded:
                # The heading found may be a mention (a contents line): look in the whole document.
                imported.absent.remove(table.key)
                _table(rows, (0, len(rows)), table, imported, False)
    _sections(rows, spec, headings, imported)
    return imported
