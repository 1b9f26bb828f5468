"""Form specs: the declarative description of one official report format.

A spec (``templates/<id>.yaml``) lists the report's metadata fields, its text sections and its
tables, row by row and column by column, with the labels as printed. Everything else (the
template, the reader, the schemas, the rule expansion, the docs) is derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from nianbao.resources import spec_files

CELL_TYPES = {
    "count": "非负整数",
    "delta": "整数（可为负）",
    "amount": "非负金额（万元，最多4位小数）",
    "text": "文字",
    "year": "年度（四位数字）",
    "date": "日期",
}
NUMERIC_TYPES = {"count", "delta", "amount", "year"}


class SpecError(ValueError):
    """A form spec file is malformed; the message names the file and the place."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str
    group: tuple[str, ...] = ()
    span: int = 1


@dataclass(frozen=True)
class Row:
    key: str
    label: str | None
    group: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other wordings seen in published reports


@dataclass(frozen=True)
class Block:
    caption: str | None
    corner: str | None
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class PrintedTotal:
    """Rows a published report may print as one row, with only their total (a 2021-format report
    printing （六）其他处理 as the 2019 format did). The total is read as ``<table>.<key>.<column>``
    and stands for the rows' sum in relations; the rows themselves stay unread."""

    key: str
    label: str
    rows: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    sheet: str
    note: str | None
    blocks: tuple[Block, ...]
    printed_totals: tuple[PrintedTotal, ...] = ()
    row_total: str | None = None  # the column that is the sum of the others in every row
    group_totals: tuple[str, ...] = ()  # columns each the sum of the other columns of its group (表四)

    @property
    def rows(self) -> list[Row]:
        return [row for block in self.blocks for row in block.rows]

    @property
    def columns(self) -> list[Column]:
        """Distinct column keys in order of first appearance."""
        seen: dict[str, Column] = {}
        for block in self.blocks:
            for col in block.columns:
                seen.setdefault(col.key, col)
        return list(seen.values())


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    text: bool = False
    table: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellSpec:
    """One input cell of the form."""

    key: str
    type: str
    required: bool
    table: str | None  # table title, or None for metadata and text cells
    row_label: str | None
    column_label: str | None
    label: str  # a short human label used in messages

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True, eq=False)
class FormSpec:
    id: str
    short: str
    title: str
    notice: str
    template_version: int
    year_from: int
    year_to: int | None
    rule_files: tuple[str, ...]
    text_sheet: str
    sections: tuple[Section, ...]
    meta: tuple[CellSpec, ...]
    tables: tuple[Table, ...]
    path: Path
    cells: dict[str, CellSpec] = field(default_factory=dict, compare=False)

    # A spec is identified by its id: cheap to hash (it keys several caches), and unpickled in
    # another process as that process's own loaded spec.
    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FormSpec) and other.id == self.id

    def __reduce__(self):
        return (load_spec, (self.id,))

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    @property
    def text_sections(self) -> list[Section]:
        return [s for s in self.sections if s.text]


def _require(data: dict, name: str, where: str, path: Path):
    if not isinstance(data, dict) or name not in data:
        raise SpecError(f"{path.name}: {where} 缺少字段 “{name}”")
    return data[name]


def _column(data: dict, where: str, path: Path) -> Column:
    ctype = _require(data, "type", where, path)
    if ctype not in CELL_TYPES:
        raise SpecError(f"{path.name}: {where} 的类型 “{ctype}” 无效（可用：{', '.join(CELL_TYPES)}）")
    return Column(
        key=str(_require(data, "key", where, path)),
        label=str(_require(data, "label", where, path)),
        type=ctype,
        group=tuple(data.get("group", ())),
        span=int(data.get("span", 1)),
    )


def _block(data: dict, where: str, path: Path) -> Block:
    columns = tuple(
        _column(c, f"{where} 第{i + 1}列", path) for i, c in enumerate(_require(data, "columns", where, path))
    )
    rows = tuple(
        Row(key=str(_require(r, "key", f"{where} 第{i + 1}行", path)), label=r.get("label"), group=tuple(r.get("group", ())),
            aliases=tuple(r.get("aliases", ())))
        for i, r in enumerate(_require(data, "rows", where, path))
    )
    return Block(caption=data.get("caption"), corner=data.get("corner"), columns=columns, rows=rows)


def _table(data: dict, path: Path) -> Table:
    key = str(_require(data, "key", "表格", path))
    where = f"表格 {key}"
    blocks_data = data.get("blocks") or [data]
    blocks = tuple(_block(b, where, path) for b in blocks_data)
    rows = {r.key for b in blocks for r in b.rows}
    totals = []
    for i, t in enumerate(data.get("printed_totals") or ()):
        at = f"{where} printed_totals 第{i + 1}项"
        members = tuple(_require(t, "rows", at, path))
        if not set(members) <= rows or str(_require(t, "key", at, path)) in rows:
            raise SpecError(f"{path.name}: {at} 的 rows 应为本表的行，key 不能与行重复")
        totals.append(PrintedTotal(str(t["key"]), str(_require(t, "label", at, path)), members))
    if data.get("row_total") is not None and data["row_total"] != blocks[-1].columns[-1].key:
        raise SpecError(f"{path.name}: {where} 的 row_total 应为最后一列的键")
    group_totals = tuple(str(g) for g in data.get("group_totals") or ())
    if not set(group_totals) <= {c.key for b in blocks for c in b.columns}:
        raise SpecError(f"{path.name}: {where} 的 group_totals 应为本表的列")
    return Table(
        key=key,
        title=str(_require(data, "title", where, path)),
        sheet=str(_require(data, "sheet", where, path)),
        note=data.get("note"),
        blocks=blocks,
        printed_totals=tuple(totals),
        row_total=data.get("row_total"),
        group_totals=group_totals,
    )


def _cells(spec: FormSpec) -> dict[str, CellSpec]:
    cells: dict[str, CellSpec] = {}

    def add(cell: CellSpec) -> None:
        if cell.key in cells:
            raise SpecError(f"{spec.path.name}: 单元格键 “{cell.key}” 重复")
        cells[cell.key] = cell

    for m in spec.meta:
        add(m)
    for s in spec.text_sections:
        add(CellSpec(f"text.{s.key}", "text", True, None, s.label, None, s.label))
    for table in spec.tables:
        for block in table.blocks:
            for row in block.rows:
                for col in block.columns:
                    row_label = row.label
                    col_label = "/".join((*col.group[1:], col.label)) if col.group else col.label
                    label = table.sheet + "".join(f"「{x}」" for x in (row_label, col_label) if x)
                    add(CellSpec(f"{table.key}.{row.key}.{col.key}", col.type, True, table.title, row_label, col_label, label))
    return cells


def load_spec_file(path: Path) -> FormSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name}: 不是有效的 YAML：{exc}") from None
    where = "格式说明"
    years = _require(data, "years", where, path)
    meta = tuple(
        CellSpec(
            key=f"meta.{m['key']}",
            type=m.get("type", "text"),
            required=bool(m.get("required", True)),
            table=None,
            row_label=m["label"],
            column_label=None,
            label=m["label"],
        )
        for m in _require(data, "meta", where, path)
    )
    spec = FormSpec(
        id=str(_require(data, "id", where, path)),
        short=str(_require(data, "short", where, path)),
        title=str(_require(data, "title", where, path)),
        notice=str(_require(data, "notice", where, path)),
        template_version=int(_require(data, "template_version", where, path)),
        year_from=int(years["from"]),
        year_to=int(years["to"]) if years.get("to") is not None else None,
        rule_files=tuple(_require(data, "rule_files", where, path)),
        text_sheet=str(_require(data, "text_sheet", where, path)),
        sections=tuple(Section(**(s | {"keywords": tuple(s.get("keywords", ()))})) for s in _require(data, "sections", where, path)),
        meta=meta,
        tables=tuple(_table(t, path) for t in _require(data, "tables", where, path)),
        path=path,
    )
    spec.cells.update(_cells(spec))
    return spec


@cache
def _loaded(path: Path) -> FormSpec:
    """One object per spec file, whichever name it is asked by (its caches are keyed by identity)."""
    return load_spec_file(path)


@cache
def load_spec(format_id: str) -> FormSpec:
    """Load a spec by id ("gov-2019") or short name ("2019")."""
    for path in spec_files():
        spec = _loaded(path)
        if format_id in (spec.id, spec.short):
            return spec
    raise SpecError(f"未知的报告格式 “{format_id}”（可用：{', '.join(s.short for s in all_specs())}）")


def all_specs() -> list[FormSpec]:
    """Every format, oldest first (by the years it applies to, not by file name): the last is the latest."""
    specs = {spec.id: spec for spec in map(load_spec, (p.stem for p in spec_files()))}
    return sorted(specs.values(), key=lambda s: (s.year_from, s.year_to or 9999))


def spec_for_year(year: int) -> FormSpec:
    """The format that applies to a report on ``year``: the latest whose years include it."""
    applies = [s for s in all_specs() if year >= s.year_from and (s.year_to is None or year <= s.year_to)]
    return applies[-1] if applies else all_specs()[0]
