"""Published reports as they really arrive, rendered from the spec with random values: crawler text
with spaces kept or lost, run-together digits, headers run on with headings, 表四 as three tables,
headings split over two lines, page feet inside tables, blank cells, scrambled PDF-to-Markdown,
sentences mentioning row labels before the tables, labels in the other format's words.

Each renderer writes a file and returns the printed text of every table cell (None: printed blank),
so a test can say of every cell whether it was read exactly, left unread, or read wrong.
"""

from __future__ import annotations

import html
import random
import re
from decimal import Decimal
from pathlib import Path

from nianbao.samples import base_values
from nianbao.spec import FormSpec

from .render import _grid, _title

TABLE_KEYS = ("t2.", "t3.", "t4.")
COUNTS = [0, 0, 0, 0, 1, 1, 2, 3, 5, 7, 12, 40, 137, 2293]


def random_values(spec: FormSpec, rng: random.Random, blank: float = 0.0) -> dict:
    """A report with random numbers; each table row's totals are the sums they print (表三's 总计,
    表四's groups' 总计); with ``blank``, that share of cells (and now and then whole rows) printed blank."""
    values = base_values(spec, spec.year_from + 1)
    values["meta.office"] = rng.choice(["某县教育局", "某市人民政府办公室", "某镇人民政府"])
    for table in spec.tables:
        for block in table.blocks:
            for row in block.rows:
                cells = {}
                for c in block.columns:
                    cells[c.key] = {"count": lambda: rng.choice(COUNTS), "delta": lambda: rng.randint(-9, 9),
                                    "amount": lambda: Decimal(rng.randint(0, 99999)) / 100}[c.type]()
                for total, members in _sums(table, [c.key for c in block.columns]):
                    cells[total] = sum(cells[m] for m in members)
                whole_row_blank = rng.random() < blank / 3
                for key, value in cells.items():
                    printed = None if whole_row_blank or rng.random() < blank else value
                    values[f"{table.key}.{row.key}.{key}"] = printed
    return values


def _sums(table, keys: list[str]) -> list[tuple[str, list[str]]]:
    cols = {c.key: c for c in table.columns}
    out = []
    if table.row_total in keys:
        out.append((table.row_total, [k for k in keys if k != table.row_total]))
    for total in table.group_totals:
        if total in keys:
            out.append((total, [k for k in keys if k != total and cols[k].group == cols[total].group]))
    return out


def printed(spec: FormSpec, values: dict) -> dict[str, str | None]:
    """Every table cell as printed: its text, or None for a blank."""
    return {k: (None if values[k] is None else str(values[k])) for k in spec.cells if k.startswith(TABLE_KEYS)}


def _rows(spec: FormSpec, table_key: str, values: dict) -> list[list[str]]:
    grid, _, _ = _grid(spec, spec.table(table_key).sheet, values)
    return [[cell[0] if cell else "" for cell in row] for row in grid]


def _parts(spec: FormSpec, values: dict):
    """(kind, section label, body) in order: kind "text" with a body, or "table" with its rows."""
    for section in spec.sections:
        if section.table:
            yield "table", section, _rows(spec, section.table, values)
        else:
            yield "text", section, str(values.get(f"text.{section.key}") or "")


def crawler(spec: FormSpec, values: dict, path: Path, rng: random.Random, spaces: float) -> Path:
    """The whole page on one line, as crawlers save it: between cells a space with chance ``spaces``,
    else nothing; between a row's last digits and the next label too."""
    out = [_title(values)]
    for kind, section, body in _parts(spec, values):
        out.append(section.label)
        if kind == "text":
            out.append(body)
            continue
        for row in body:
            for cell in filter(None, row):
                out.append(cell)
    text = out[0]
    for piece in out[1:]:
        text += (" " if rng.random() < spaces else "") + piece
    path.write_text(text + "\n", encoding="utf-8")
    return path


def layouts(spec: FormSpec, values: dict, path: Path, rng: random.Random) -> Path:
    """Tabbed text with: each table's header run on with its heading in one cell; 表四 as three
    one-group tables; a heading split over two lines now and then; page feet inside tables."""
    lines = [_title(values)]
    for kind, section, body in _parts(spec, values):
        label = section.label
        if kind == "text":
            lines += _heading(label, rng) + [body]
            continue
        rows = _three_tables(spec, values) if section.table == "t4" else body
        first = next(i for i, r in enumerate(rows) if any(r))
        glued = label + next(c for c in rows[first] if c)
        rest = list(rows[first])
        rest[next(i for i, c in enumerate(rest) if c)] = glued
        table_lines = ["\t".join(rest)] + ["\t".join(r) for r in rows[first + 1:]]
        for _ in range(rng.randint(0, 2)):
            table_lines.insert(rng.randint(1, len(table_lines)), rng.choice(["— 5 —", "- 12 -", "—3—"]))
        lines += table_lines
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _heading(label: str, rng: random.Random) -> list[str]:
    if rng.random() < 0.5 and len(label) > 8:
        cut = rng.randint(5, len(label) - 3)
        return [label[:cut], label[cut:]]
    return [label]


def _three_tables(spec: FormSpec, values: dict) -> list[list[str]]:
    """表四 as one small table per group: its name, its columns, its five values."""
    table = spec.table("t4")
    rows: list[list[str]] = []
    groups: dict[tuple, list] = {}
    for c in table.columns:
        groups.setdefault(c.group, []).append(c)
    for group, columns in groups.items():
        rows.append(["".join(group[-1:])] + [""] * (len(columns) - 1))
        rows.append([c.label for c in columns])
        rows.append([_text(values[f"t4.cases.{c.key}"]) for c in columns])
    return rows


def _text(value) -> str:
    return "" if value is None else str(value)


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def blank_cells_markdown(spec: FormSpec, values: dict, path: Path) -> Path:
    """Markdown pipe tables (as PDF-to-Markdown tools write them), blank cells where printed blank."""
    lines = [f"# {_title(values)}"]
    for kind, section, body in _parts(spec, values):
        lines.append(f"## {section.label}")
        if kind == "text":
            lines.append(body)
            continue
        lines.append(_markdown_row(body[0]))
        lines.append("|" + "---|" * len(body[0]))
        lines += [_markdown_row(r) for r in body[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def blank_cells_html(spec: FormSpec, values: dict, path: Path) -> Path:
    """Web page tables with every grid cell a <td> of its own (blank ones empty)."""
    parts = [f"<html><body><h1>{html.escape(_title(values))}</h1>"]
    for kind, section, body in _parts(spec, values):
        parts.append(f"<h2>{html.escape(section.label)}</h2>")
        if kind == "text":
            parts.append(f"<p>{html.escape(body)}</p>")
            continue
        parts.append("<table>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body]
        parts.append("</table>")
    path.write_text("\n".join(parts) + "</body></html>", encoding="utf-8")
    return path


def scrambled_markdown(spec: FormSpec, values: dict, path: Path, rng: random.Random) -> Path:
    """PDF-to-Markdown of a table it could not follow: some labels as loose lines, their values on
    unlabelled rows, and now and then a value row moved past the next label."""
    lines = [f"# {_title(values)}"]
    for kind, section, body in _parts(spec, values):
        lines.append(f"## {section.label}")
        if kind == "text":
            lines.append(body)
            continue
        items: list[str] = []
        for row in body:
            texts = [c for c in row if c and not re.fullmatch(r"-?[\d.]+", c)]
            if texts and rng.random() < 0.6 and any(re.fullmatch(r"-?[\d.]+", c) for c in row):
                items.append(" ".join(texts))
                items.append(_markdown_row(["" if c in texts else c for c in row]))
            else:
                items.append(_markdown_row(row))
        for i in range(len(items) - 1):
            if items[i].startswith("|") and not items[i + 1].startswith("|") and rng.random() < 0.3:
                items[i], items[i + 1] = items[i + 1], items[i]
        lines += items
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mentioned_first(spec: FormSpec, values: dict, path: Path, rng: random.Random) -> Path:
    """Tabbed text whose 总体情况 mentions row labels with other numbers before the tables do."""
    sentences = [f"本年度上年结转政府信息公开申请{rng.randint(1, 9)}件，本年新收政府信息公开申请数量{rng.randint(10, 99)}件。",
                 f"全年办理行政许可{rng.randint(100, 999)}件、行政处罚{rng.randint(100, 999)}件，予以公开{rng.randint(1, 9)}件。"]
    values = dict(values)
    values["text.s1"] = "".join(sentences) + str(values.get("text.s1") or "")
    lines = [_title(values)]
    for kind, section, body in _parts(spec, values):
        lines.append(section.label)
        lines += [body] if kind == "text" else ["\t".join(r) for r in body]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def other_words(spec: FormSpec, values: dict, path: Path, rng: random.Random, words: dict[str, str]) -> Path:
    """Tabbed text whose row labels are printed without their numbering, or in the other format's words."""
    lines = [_title(values)]
    for kind, section, body in _parts(spec, values):
        lines.append(section.label)
        if kind == "text":
            lines.append(body)
            continue
        for row in body:
            lines.append("\t".join(_reworded(c, rng, words) for c in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _reworded(cell: str, rng: random.Random, words: dict[str, str]) -> str:
    if cell in words:
        return words[cell]
    numbered = re.match(r"^(?:（[一二三四五六七]）|[1-8]\.)(.{4,})$", cell)
    return numbered.group(1) if numbered and rng.random() < 0.7 else cell


def tally(spec: FormSpec, expected: dict[str, str | None], imported) -> dict[str, list[str]]:
    """Each printed cell: read exactly, unread, or read wrong (a value other than the printed one,
    a blank for a printed number, a number for a printed blank)."""
    out: dict[str, list[str]] = {"read": [], "unread": [], "wrong": []}
    for key, text in expected.items():
        if key in imported.missing or key.split(".")[0] in imported.absent or key not in imported.values:
            out["unread"].append(key)
            continue
        got = imported.values[key]
        out["read" if (None if got is None else str(got)) == text else "wrong"].append(key)
    return out
