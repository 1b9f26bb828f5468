"""The template's live layer: the rules' LiveChecks (nianbao.rules.live) rendered as formulas.

Three parts, all formulas and conditional formats that Excel 2010+, WPS and LibreOffice compute
with no macro:

- a hidden, locked sheet (LIVE_SHEET): one row per input cell, reading it as the checker does
  (array formulas, one per column), one column per per-cell check, a slot per other check in the
  row of its main cell, each check's message, and the severity each input cell shows; below them
  last year's values for the cross-year rules (written by distribution);
- conditional formats on the input cells, by severity, and the green verdict cells of relations
  beside the tables ("✓", "✗ 左边多 1", "未提供上年数据");
- the 自查结果 sheet: “错误 N 项，提示 M 项” and one line per failing check, without gaps (SMALL over
  the failing slots), each with a link to its cell.

The reader never looks at any of it: it finds input cells by their defined names.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache

from xlsxwriter.worksheet import CellArrayFormulaTuple, Worksheet

from nianbao.findings import ERROR, WARNING
from nianbao.layout import FormLayout, InputCell, a1, absolute, col_letter, form_layout, wrapped_lines
from nianbao.rules.catalogue import ruleset
from nianbao.rules.live import READING, LiveCheck, live_checks, previous_keys
from nianbao.spec import FormSpec

LIVE_SHEET = "_nianbao_live"
SELF_CHECK_SHEET = "自查结果"
LINES = 40  # failing checks listed on 自查结果; more are counted, and shown as the first are fixed
_WEIGHT = {ERROR: 2, WARNING: 1}
_PLACEHOLDER = re.compile(r"\{(v|p|col):([\w.:]+)\}|\{started\}")
_FIRST = 1  # the first data row of the live sheet (row 0 holds the column names)
_STATIC = ("place", "label", "type", "gather")


class Sheet(Worksheet):
    """A worksheet that writes the live layer's formulas as they are. xlsxwriter rewrites every
    formula through some 30 regular expressions to prefix functions newer than Excel 2010; ours
    use none (nianbao.rules.live.FUNCTIONS, checked by a test), and that rewriting took most of a
    template's build time."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula.removeprefix("{").removeprefix("=").removesuffix("}")

    def column_formula(self, first_row: int, last_row: int, col: int, formula: str) -> None:
        """An array formula over one column, stored in its first cell only (as Excel reads it: the
        other cells are computed on load; xlsxwriter would also store a 0 in each of them)."""
        self._check_dimensions(last_row, col)
        self._check_dimensions(first_row, col)
        ref = f"{col_letter(col)}{first_row + 1}:{col_letter(col)}{last_row + 1}"
        self.table[first_row][col] = CellArrayFormulaTuple(self._prepare_formula(formula), None, "", ref, "static")


@dataclass
class Plan:
    """Where every part of a spec's live layer goes, and the formulas (the same for every workbook
    of the spec: worked out once)."""

    spec: FormSpec
    keys: list[str]
    columns: dict[str, int] = field(default_factory=dict)  # live-sheet column by name
    per_cell: list[LiveCheck] = field(default_factory=list)
    slots: list[tuple[LiveCheck, int, int]] = field(default_factory=list)  # check, row, slot number
    width: int = 0  # slots per row
    previous: dict[str, int] = field(default_factory=dict)  # last year's key -> live-sheet row
    cells: dict[str, str] = field(default_factory=dict)  # summary cell name -> absolute address
    not_live: list[tuple[str, str]] = field(default_factory=list)  # (rule id, title) checked on submission only

    @property
    def last_row(self) -> int:
        return _FIRST + len(self.keys) - 1

    def column(self, name: str) -> str:
        col = self.columns[name]
        return f"${col_letter(col)}${_FIRST + 1}:${col_letter(col)}${self.last_row + 1}"

    def row_of(self, key: str) -> int:
        return _FIRST + self.keys.index(key)

    def value(self, key: str) -> str:
        return absolute(self.row_of(key), self.columns["value"])

    def fail_block(self) -> tuple[int, int]:
        first = self.columns["fail:0"]
        return first, first + len(self.per_cell) + self.width - 1

    def block(self, first_name: str, count: int) -> str:
        first = self.columns[first_name]
        return (f"${col_letter(first)}${_FIRST + 1}:${col_letter(first + count - 1)}${self.last_row + 1}")


def _name_columns(plan: Plan) -> None:
    names = [*_STATIC, *(n for n, _ in READING)]
    names += [f"fail:{i}" for i in range(len(plan.per_cell) + plan.width)]
    names += [f"msg:{i}" for i in range(len(plan.per_cell) + plan.width)]
    names += [f"id:{i}" for i in range(plan.width)] + [f"sev:{i}" for i in range(plan.width)]
    names += [f"verdict:{i}" for i in range(plan.width)]
    names += ["relsev", "sev", "summary", "summary_value", "prev_key", "prev_value"]
    plan.columns = {name: col for col, name in enumerate(names)}


@cache
def plan_for(spec: FormSpec) -> Plan:
    rules = ruleset(spec)
    checks = live_checks(rules)
    plan = Plan(spec, list(form_layout(spec).inputs))
    plan.per_cell = [c for c in checks if c.per_cell]
    used: dict[str, int] = {}
    for check in (c for c in checks if not c.per_cell):
        slot = used.get(check.keys[0], 0)
        used[check.keys[0]] = slot + 1
        plan.slots.append((check, plan.row_of(check.keys[0]), slot))
    plan.width = max(used.values(), default=0)
    _name_columns(plan)
    live = {c.rule for c in checks}
    plan.not_live = [(r.id, r.title) for r in rules.rules if r.id not in live]
    for n, key in enumerate(previous_keys(checks)):
        plan.previous[key] = _FIRST + n
    col = plan.columns["summary_value"]
    plan.cells = {name: absolute(_FIRST + i, col) for i, name in enumerate(("started", "errors", "warnings", "total"))}
    return plan


def last_year_keys(spec: FormSpec) -> list[str]:
    """Last year's cells that the template's cross-year checks read: what distribution writes into
    each office's workbook (the ``previous`` of template.build)."""
    return list(plan_for(spec).previous)


def last_year_cells(spec: FormSpec, values: dict[str, object]) -> dict[tuple[str, str], object]:
    """Last year's values as cells of the live sheet, (sheet, address) -> value: for stamping them
    into a built template (dates as the serial numbers a sheet holds)."""
    plan = plan_for(spec)
    col = plan.columns["prev_value"]
    return {(LIVE_SHEET, a1(plan.previous[k], col)): _serial(v) for k, v in values.items() if v is not None and k in plan.previous}


def _serial(value: object) -> object:
    return (value - dt.date(1899, 12, 30)).days if isinstance(value, dt.date) else value


def resolve(plan: Plan, formula: str, local: bool = True) -> str:
    """A LiveCheck formula with its placeholders replaced by references to the live sheet."""
    prefix = "" if local else f"'{LIVE_SHEET}'!"

    def place(match: re.Match) -> str:
        kind, key = match.group(1), match.group(2)
        if kind is None:
            return prefix + plan.cells["started"]
        if kind == "v":
            return prefix + plan.value(key)
        if kind == "p":
            return prefix + absolute(plan.previous[key], plan.columns["prev_value"])
        return prefix + plan.column(key)

    return _PLACEHOLDER.sub(place, formula)


def _array(values: list) -> str:
    """An array constant, one element per live-sheet row."""
    return "{" + ";".join(str(v) for v in values) + "}"


def _mask(plan: Plan, keys) -> str:
    wanted = set(keys)
    return _array([1 if k in wanted else 0 for k in plan.keys])


def _started_mask(plan: Plan) -> str:
    """The cells whose filling starts the table (the C000 idea): required numbers of the tables,
    but not those distribution prefills."""
    from nianbao.rules.catalogue import prefills

    given = {key for key, _ in prefills(ruleset(plan.spec))}
    spec = plan.spec
    return _array([1 if spec.cells[k].type in ("count", "delta", "amount") and spec.cells[k].required and k not in given else 0
                    for k in plan.keys])


class Writer:
    """Writes a spec's live layer into one workbook."""

    def __init__(self, plan: Plan, layout: FormLayout, fmt):
        self.plan, self.layout, self.fmt = plan, layout, fmt

    # -------------------------------------------------------------- the live sheet
    def live_sheet(self, ws: Worksheet, previous: dict[str, object]) -> None:
        plan = self.plan
        for name, col in plan.columns.items():
            ws.write_string(0, col, name)
        inputs = self.layout.inputs
        for key in plan.keys:
            cell, row = inputs[key], plan.row_of(key)
            source = f"'{cell.sheet}'!{absolute(cell.row, cell.col)}"
            ws.write_string(row, plan.columns["place"], f"{cell.sheet}!{cell.address}")
            ws.write_string(row, plan.columns["label"], plan.spec.cells[key].label)
            ws.write_string(row, plan.columns["type"], plan.spec.cells[key].type)
            ws.write_formula(row, plan.columns["gather"], f'=IF(ISBLANK({source}),"",{source})', None, "")
        for name, formula in READING:
            self._array(ws, name, formula)
        self._checks(ws)
        self._severity(ws)
        self._summary(ws)
        col, value_col = plan.columns["prev_key"], plan.columns["prev_value"]
        for key, row in plan.previous.items():
            ws.write_string(row, col, key)
            _write_value(ws, row, value_col, previous.get(key))
        ws.hide()
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})

    def _array(self, ws: Worksheet, name: str, formula: str) -> None:
        col = self.plan.columns[name]
        ws.column_formula(_FIRST, self.plan.last_row, col, "=" + resolve(self.plan, formula))

    def _checks(self, ws: Worksheet) -> None:
        plan = self.plan
        for i, check in enumerate(plan.per_cell):
            fail = f"fail:{i}"
            self._array(ws, fail, f"IF({_mask(plan, check.keys)}=1,IFERROR(IF({check.fails},1,0),0),0)")
            self._array(ws, f"msg:{i}", f'IF({{col:{fail}}}=1,{check.message},"")')
        base = len(plan.per_cell)
        for check, row, slot in plan.slots:
            fail_col, msg_col = plan.columns[f"fail:{base + slot}"], plan.columns[f"msg:{base + slot}"]
            ws.write_formula(row, fail_col, f"=IFERROR(IF({resolve(plan, check.fails)},1,0),0)", None, "")
            ws.write_formula(row, msg_col, f'=IF({absolute(row, fail_col)}=1,{resolve(plan, check.message)},"")', None, "")
            ws.write_string(row, plan.columns[f"id:{slot}"], check.rule)
            ws.write_string(row, plan.columns[f"sev:{slot}"], check.severity)
            if _relation(plan, check.rule):  # what its green cell beside the table shows
                verdict = (f'=IF({absolute(row, fail_col)}=1,"✗ "&{resolve(plan, check.short)},'
                           f'IF({resolve(plan, check.known)},"✓",{resolve(plan, check.pending)}))')
                ws.write_formula(row, plan.columns[f"verdict:{slot}"], verdict, None, "")

    def slot_cell(self, check: LiveCheck, part: str = "fail", local: bool = False) -> str:
        """A check's cell on the live sheet: its fail flag (1 when failing) or its verdict text."""
        plan = self.plan
        for c, row, slot in plan.slots:
            if c is check:
                name = f"fail:{len(plan.per_cell) + slot}" if part == "fail" else f"verdict:{slot}"
                return ("" if local else f"'{LIVE_SHEET}'!") + absolute(row, plan.columns[name])
        raise KeyError(check.rule)

    def _severity(self, ws: Worksheet) -> None:
        """Each input cell's severity (2 错误, 1 提示, 0): what its conditional format shows."""
        plan = self.plan
        shown: dict[str, list[str]] = {}
        for check, _, _ in plan.slots:
            for key in check.keys:
                shown.setdefault(key, []).append(f"{self.slot_cell(check, local=True)}*{_WEIGHT[check.severity]}")
        for key, terms in shown.items():
            ws.write_formula(plan.row_of(key), plan.columns["relsev"], f"=MAX({','.join(terms)})", None, "")
        by = {sev: [f"{{col:fail:{i}}}" for i, c in enumerate(plan.per_cell) if c.severity == sev] for sev in _WEIGHT}
        errors, warnings = "+".join(by[ERROR]) or "0", "+".join(by[WARNING]) or "0"
        self._array(ws, "sev", f"IF(({errors}+({{col:relsev}}=2))>0,2,IF(({warnings}+({{col:relsev}}=1))>0,1,0))")

    def _summary(self, ws: Worksheet) -> None:
        plan = self.plan
        col = plan.columns["summary"]
        base = len(plan.per_cell)
        slots = plan.block(f"fail:{base}", plan.width) if plan.width else None
        sevs = plan.block("sev:0", plan.width) if plan.width else None

        def count(sev: str) -> str:
            terms = [f"SUM({plan.column(f'fail:{i}')})" for i, c in enumerate(plan.per_cell) if c.severity == sev]
            if slots:
                terms.append(f'SUMPRODUCT(({slots}=1)*({sevs}="{sev}"))')
            return "+".join(terms) or "0"

        formulas = {
            "started": f'SUMPRODUCT(({plan.column("issue")}<>"blank")*{_started_mask(plan)})>0',
            "errors": count(ERROR),
            "warnings": count(WARNING),
            "total": f"{plan.cells['errors']}+{plan.cells['warnings']}",
        }
        for i, (name, formula) in enumerate(formulas.items()):
            ws.write_string(_FIRST + i, col, name)
            ws.write_formula(_FIRST + i, plan.columns["summary_value"], "=" + formula, None, "")

    # -------------------------------------------------------------- input cells and verdicts
    def input_formats(self, ws: Worksheet, sheet_name: str) -> None:
        """Conditional formats on a sheet's input cells: one per rectangle of cells and severity."""
        plan = self.plan
        sev = f"'{LIVE_SHEET}'!{plan.column('sev')}"
        cells = [c for c in self.layout.inputs.values() if c.sheet == sheet_name]
        for first, rows, cols, base in _rectangles(cells, plan):
            width = len(cols)
            index = f"{base}+(ROW()-{first.row + 1})*{width}+COLUMN()-{first.col + 1}" if width > 1 or rows > 1 else str(base)
            for weight, style in ((2, self.fmt.live_error), (1, self.fmt.live_warning)):
                ws.conditional_format(first.row, first.col, first.row + rows - 1, first.col + width - 1,
                                      {"type": "formula", "criteria": f"=INDEX({sev},{index})={weight}", "format": style})

    def verdicts(self, ws: Worksheet, sheet) -> None:
        """The green verdict cells of the relations on one sheet: below the table (one per column)
        or to its right (one per row)."""
        inputs, plan = self.layout.inputs, self.plan
        next_row, next_col = sheet.last_row + 2, sheet.last_col + 2
        groups: dict[str, list[LiveCheck]] = {}
        for check, _, _ in plan.slots:
            groups.setdefault(check.rule, []).append(check)
        for rule_id, checks in groups.items():
            anchors = [inputs[c.keys[0]] for c in checks]
            if any(inputs[k].sheet != sheet.name for c in checks for k in c.keys) or not _relation(plan, rule_id):
                continue
            title = _title(plan, rule_id)
            by_column = len({a.col for a in anchors}) == len(anchors)
            if by_column:
                last = min(a.col for a in anchors) - 1
                label = f"实时校验 {rule_id}：{title}"
                if last > 0:
                    ws.merge_range(next_row, 0, next_row, last, label, self.fmt.check_label)
                else:
                    ws.write_string(next_row, 0, label, self.fmt.check_label)
            else:
                ws.write_string(anchors[0].row - 1 if anchors[0].row else 0, next_col, f"{rule_id} {title}", self.fmt.check_label)
                ws.set_column(next_col, next_col, 16)
            places = []
            for check, anchor in zip(checks, anchors):
                row, col = (next_row, anchor.col) if by_column else (anchor.row, next_col)
                places.append((row, col))
                ws.write_formula(row, col, f"={self.slot_cell(check, 'verdict')}", self.fmt.check, "")
            rows, cols = [r for r, _ in places], [c for _, c in places]
            ws.conditional_format(min(rows), min(cols), max(rows), max(cols),
                                  {"type": "text", "criteria": "begins with", "value": "✗", "format": self.fmt.bad})
            if by_column:
                next_row += 1
            else:
                next_col += 1

    # -------------------------------------------------------------- 自查结果
    def self_check(self, ws: Worksheet) -> None:
        plan, fmt = self.plan, self.fmt
        live = f"'{LIVE_SHEET}'!"
        started, errors, warnings, total = (live + plan.cells[n] for n in ("started", "errors", "warnings", "total"))
        ws.set_column(0, 0, 5)
        ws.set_column(1, 1, 8)
        ws.set_column(2, 2, 7)
        ws.set_column(3, 3, 100)
        ws.set_column(4, 4, 12)
        ws.set_column(5, 7, None, None, {"hidden": True})
        verdict = (f'=IF(NOT({started}),"尚未开始填写：填写表格后，这里随填写列出发现的问题",'
                   f'IF({total}=0,"未发现问题","错误 "&{errors}&" 项，提示 "&{warnings}&" 项"))')
        ws.merge_range(0, 0, 0, 4, None, fmt.title_left)
        ws.write_formula(0, 0, verdict, fmt.title_left, "")
        notes = ("本页随填写自动更新，不需要宏。错误（红色）必须修改；提示（橙色）请修改，或在报送时说明理由。点击“位置”跳到单元格。",
                 "报送后另由完整程序检查（本页不显示）：" + "、".join(f"{i} {t}" for i, t in plan.not_live) + "。")
        for row, text in enumerate(notes, 1):
            ws.merge_range(row, 0, row, 4, text, fmt.plain)
            ws.set_row(row, 14 * wrapped_lines(text, 126))
        for col, text in enumerate(("序号", "严重程度", "规则", "问题", "位置")):
            ws.write_string(3, col, text, fmt.header)
        self._lines(ws)
        last = 4 + LINES
        ws.write_formula(last, 0, f'=IF({total}>{LINES},"另有 "&({total}-{LINES})&" 项未列出：修改上面的问题后会显示","")', fmt.plain, "")
        ws.conditional_format(4, 1, last - 1, 1, {"type": "cell", "criteria": "==", "value": f'"{ERROR}"', "format": fmt.live_error})
        ws.conditional_format(4, 1, last - 1, 1, {"type": "cell", "criteria": "==", "value": f'"{WARNING}"', "format": fmt.live_warning})
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(3)
        ws.print_area(0, 0, last, 4)
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})

    def _lines(self, ws: Worksheet) -> None:
        plan, fmt = self.plan, self.fmt
        live = f"'{LIVE_SHEET}'!"
        first, last = plan.fail_block()
        block = f"{live}${col_letter(first)}${_FIRST + 1}:${col_letter(last)}${plan.last_row + 1}"
        corner = f"{live}${col_letter(first)}${_FIRST + 1}"
        width, cells = last - first + 1, len(plan.per_cell)
        total = live + plan.cells["total"]
        msgs = f"{live}{plan.block('msg:0', width)}"
        ids = "{" + ",".join(f'"{c.rule}"' for c in plan.per_cell) + "}"
        sevs = "{" + ",".join(f'"{c.severity}"' for c in plan.per_cell) + "}"
        slot_ids = f"{live}{plan.block('id:0', plan.width)}" if plan.width else None
        slot_sevs = f"{live}{plan.block('sev:0', plan.width)}" if plan.width else None
        places = live + plan.column("place")
        for n in range(1, LINES + 1):
            row = 3 + n
            h, r, c = (f"${col}${row + 1}" for col in "FGH")  # the failing slot, its live-sheet row and column
            ws.write_array_formula(row, 5, row, 5, f'{{=IF({n}>{total},"",SMALL(IF({block}=1,(ROW({block})-ROW({corner}))*{width}'
                                                   f'+COLUMN({block})-COLUMN({corner})),{n}))}}', None, "")
            ws.write_formula(row, 6, f'=IF({h}="","",INT({h}/{width})+1)', None, "")
            ws.write_formula(row, 7, f'=IF({h}="","",MOD({h},{width})+1)', None, "")
            blank = f'IF({h}="",""'
            ws.set_row(row, 26)  # room for a message of two lines: a formula's text does not grow its row
            ws.write_formula(row, 0, f"={blank},{n})", fmt.line, "")

            def pick(static, slots):
                return f"IF({c}<={cells},INDEX({static},{c}),INDEX({slots},{r},{c}-{cells}))" if slots else f"INDEX({static},{c})"

            ws.write_formula(row, 1, f"={blank},{pick(sevs, slot_sevs)})", fmt.line, "")
            ws.write_formula(row, 2, f"={blank},{pick(ids, slot_ids)})", fmt.line, "")
            ws.write_formula(row, 3, f"={blank},INDEX({msgs},{r},{c}))", fmt.line_wrap, "")
            place = f"INDEX({places},{r})"
            ws.write_formula(row, 4, f'={blank},HYPERLINK("#\'"&SUBSTITUTE({place},"!","\'!"),{place}))', fmt.link_line, "")


def _relation(plan: Plan, rule_id: str) -> bool:
    return ruleset(plan.spec).get(rule_id).kind == "relation"


def _title(plan: Plan, rule_id: str) -> str:
    return ruleset(plan.spec).get(rule_id).title


def _rectangles(cells: list[InputCell], plan: Plan):
    """(first cell, rows, columns, live-sheet row number of the first cell) for runs of input cells
    that fill a rectangle row by row and sit in consecutive live-sheet rows."""
    rows: list[list[InputCell]] = []
    for cell in cells:
        if rows and rows[-1][-1].row == cell.row and cell.col == rows[-1][-1].col + 1:
            rows[-1].append(cell)
        else:
            rows.append([cell])
    shapes: list[list[list[InputCell]]] = []
    for run in rows:
        prev = shapes[-1] if shapes else None
        if (prev and [c.col for c in prev[-1]] == [c.col for c in run] and run[0].row == prev[-1][0].row + 1
                and plan.keys.index(run[0].key) == plan.keys.index(prev[-1][-1].key) + 1):
            prev.append(run)
        else:
            shapes.append([run])
    for shape in shapes:
        first = shape[0][0]
        yield first, len(shape), [c.col for c in shape[0]], plan.keys.index(first.key) + 1


def _write_value(ws: Worksheet, row: int, col: int, value: object) -> None:
    if value is None:
        return
    if isinstance(value, dt.date):
        ws.write_number(row, col, _serial(value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, float(value))
    elif hasattr(value, "as_tuple"):  # Decimal
        ws.write_number(row, col, float(value))
    else:
        ws.write_string(row, col, str(value))
