"""A table whose one row has no label (表四): its values follow its column headers.

Printed as one table (15 values on a line, or one per line), as one group per table (five values
after each group's headers), or as digits run together, split where the groups' totals make the
split unique.
"""

from __future__ import annotations

from nianbao.importers.document import Cell
from nianbao.importers.runs import split_groups
from nianbao.importers.tables import Flat, assign, column_sums, placed_cells
from nianbao.importers.text import is_value, norm
from nianbao.spec import FormSpec, Table


def _headers(table: Table, spec: FormSpec) -> tuple[list[str], list[str], list[str]]:
    """(group names, every header text, headings the header may be run on with), normalised, longest first."""
    columns = table.columns
    groups = sorted({norm(g) for c in columns for g in c.group}, key=len, reverse=True)
    headers = sorted({norm(c.label) for c in columns} | set(groups), key=len, reverse=True)
    section = next((s for s in spec.sections if s.table == table.key), None)
    headings = sorted({norm(table.title), *([norm(section.label)] if section else [])} - {""}, key=len, reverse=True)
    return groups, headers, headings


def _header_only(text: str, groups: list[str], headers: list[str], headings: list[str], first: bool = True) -> bool:
    """A header cell of this table: its group names (distinctive), maybe with column names, maybe
    after the section's heading run on before it."""
    folded = norm(text)
    for h in headings:
        if folded.startswith(h):
            folded = folded[len(h):]
            break
    if first and not any(g in folded for g in groups or headers):
        return False
    if not first and set(folded) <= set("".join(headers)):  # headers broken into pieces ("结果 结果 其他 尚未 总")
        return True
    for h in headers:
        folded = folded.replace(h, "")
    return folded == ""


def _runs(flat: list[Flat], first: int, is_header) -> list[tuple[list[str], list[Flat]]]:
    """From the first header on: each run of values with the header texts before it, up to the first other text."""
    runs: list[tuple[list[str], list[Flat]]] = []
    texts: list[str] = []
    values: list[Flat] = []
    for f in flat[first:]:
        text = f.cell.text
        if text and is_value(text):
            values.append(f)
            continue
        if text and not is_header(text):
            break
        if text and values:
            runs.append((texts, values))
            texts, values = [], []
        if text:
            texts.append(norm(text))
    if values:
        runs.append((texts, values))
    return runs


def _line(run: list[Flat], flat: list[Flat]) -> list[Flat]:
    """The values' line, blank cells in place, when it holds nothing but values."""
    row = run[0].row
    line = [f for f in flat if f.row == row]
    if any(f.cell.text and not is_value(f.cell.text) or f.cell.run_on for f in line):
        return []
    return line


def read_unlabelled(flat: list[Flat], table: Table, spec: FormSpec, imported) -> bool:
    (row,) = table.rows
    columns = table.columns
    groups, headers, headings = _headers(table, spec)

    def is_header(text: str) -> bool:
        return _header_only(text, groups, headers, headings, first=False)

    first = next((i for i, f in enumerate(flat) if f.cell.text and _header_only(f.cell.text, groups, headers, headings)), None)
    if first is None:
        return False
    runs = _runs(flat, first, is_header)
    if not runs:
        return False
    keys = [f"{table.key}.{row.key}.{c.key}" for c in columns]
    values = runs[0][1]
    line = [f.cell for f in _line(values, flat)]
    placed, _ = placed_cells(line, [c for c in line if c.text], len(columns)) if line else (None, "")
    if placed is not None:
        assign(imported, keys, placed, "")  # one row of values, blanks in place
    elif len(values) == len(columns) and not any(f.cell.run_on for f in values):
        assign(imported, keys, [f.cell for f in values], "")
    elif not _by_group(runs, table, imported) and not _run_together(values, table, imported, keys):
        assign(imported, keys, None, f"表头后的数值不是 {len(columns)} 个")
    return True


def _by_group(runs, table: Table, imported) -> bool:
    """One small table per group ("行政复议" / its five values, …): each run after its own group's name."""
    columns = table.columns
    leaves = {}
    for c in columns:
        leaves.setdefault(c.group, []).append(c)
    if len(runs) != len(leaves):
        return False
    placed = []
    for texts, values in runs:
        named = [g for g in leaves if any(norm(g[-1]) in t for t in texts)]
        if len(named) != 1 or len(values) != len(leaves[named[0]]) or any(f.cell.run_on for f in values):
            return False
        placed.append((named[0], values))
    if len({g for g, _ in placed}) != len(leaves):
        return False
    for group, values in placed:
        assign(imported, [f"{table.key}.{table.rows[0].key}.{c.key}" for c in leaves[group]], [f.cell for f in values], "")
    return True


def _run_together(values: list[Flat], table: Table, imported, keys: list[str]) -> bool:
    """Digits whose delimiters were lost: the one split meeting each group's total."""
    if not all(f.cell.loose for f in values):
        return False
    parts = split_groups([f.cell.text for f in values], len(keys), column_sums(table, table.columns))
    if parts is None:
        return False
    shown = " ".join(f.cell.text for f in values)
    origin = f"{values[0].cell.origin}（连写的数字“{shown}”按唯一可能的拆法拆分）"
    assign(imported, keys, [Cell(p, origin) for p in parts], "")
    return True
