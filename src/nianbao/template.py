"""Build the Excel template of a format from its spec (and, optionally, fill it with values).

The workbook mirrors the official tables (merged headers, the 勾稽关系 note), locks the labels
and unlocks the input cells, validates input by type, names every input cell, and carries live
checks: formulas and conditional formats generated from the ``live`` rules, so an unbalanced
column shows as the user types, in Excel, WPS and LibreOffice, without macros.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from nianbao import __version__
from nianbao.annotate import FILLS
from nianbao.files import atomic_path, close_workbook
from nianbao.findings import ERROR, WARNING
from nianbao.layout import FormLayout, InputCell, SheetLayout, absolute, fingerprint, form_layout, wrapped_lines
from nianbao.live_layer import LIVE_SHEET, SELF_CHECK_SHEET, Sheet, Writer, plan_for
from nianbao.read import META_SHEET
from nianbao.spec import FormSpec

INSTRUCTIONS_SHEET = "说明"
_VALIDATION = {
    "count": {"validate": "integer", "criteria": ">=", "value": 0, "error_message": "请填写非负整数；没有的请填 0。"},
    "delta": {"validate": "integer", "criteria": "between", "minimum": -10**9, "maximum": 10**9,
              "error_message": "请填写整数，减少填负数（如 -8）。"},
    "amount": {"validate": "decimal", "criteria": ">=", "value": 0, "error_message": "请填写金额数字（单位：万元）。"},
    "year": {"validate": "integer", "criteria": "between", "minimum": 2008, "maximum": 2100,
             "error_message": "请填写四位年份，如 2021。"},
    "date": {"validate": "date", "criteria": ">=", "value": dt.date(2009, 1, 1),
             "error_message": "请填写日期，如 2022-01-20。"},
}


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "text_wrap": True}
        boxed = base | {"border": 1}
        self.title = wb.add_format(base | {"bold": True, "font_size": 14, "align": "center"})
        self.subtitle = wb.add_format(base | {"align": "center", "font_color": "#595959"})
        self.caption = wb.add_format(boxed | {"bold": True, "bg_color": "#F2F2F2"})
        self.header = wb.add_format(boxed | {"bold": True, "align": "center", "bg_color": "#F2F2F2"})
        self.label = wb.add_format(boxed)
        self.note = wb.add_format(boxed | {"font_size": 9})
        self.link = wb.add_format(base | {"font_color": "blue", "underline": 1})
        self.plain = wb.add_format(base | {"valign": "top"})
        self.check = wb.add_format(base | {"align": "center", "font_color": "#375623", "bg_color": "#EBF1DE", "border": 1})
        self.check_label = wb.add_format(base | {"font_color": "#375623", "bg_color": "#EBF1DE", "border": 1})
        self.bad = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        # The live layer's colours are the annotated copies' (annotate.FILLS), one place for both.
        self.live_error = wb.add_format({"bg_color": _hex(FILLS[ERROR]), "font_color": "#9C0006"})
        self.live_warning = wb.add_format({"bg_color": _hex(FILLS[WARNING]), "font_color": "#5C3B00"})
        self.error_note = wb.add_format(base | {"valign": "top", "bg_color": _hex(FILLS[ERROR]), "font_color": "#9C0006"})
        self.warning_note = wb.add_format(base | {"valign": "top", "bg_color": _hex(FILLS[WARNING]), "font_color": "#5C3B00"})
        self.title_left = wb.add_format(base | {"bold": True, "font_size": 13})
        self.line = wb.add_format(base | {"valign": "top", "border": 1, "border_color": "#D9D9D9"})
        self.line_wrap = wb.add_format(base | {"valign": "top", "border": 1, "border_color": "#D9D9D9"})
        self.link_line = wb.add_format(base | {"valign": "top", "border": 1, "border_color": "#D9D9D9", "font_color": "blue", "underline": 1})
        number = boxed | {"locked": False, "align": "right", "bg_color": INPUT_FILL}
        self.inputs = {
            "count": wb.add_format(number | {"num_format": "0"}),
            "delta": wb.add_format(number | {"num_format": "0"}),
            "amount": wb.add_format(number | {"num_format": "0.0000"}),
            "year": wb.add_format(number | {"num_format": "0"}),
            "date": wb.add_format(number | {"num_format": "yyyy-mm-dd"}),
            "text": wb.add_format(boxed | {"locked": False, "align": "left", "valign": "top", "bg_color": INPUT_FILL}),
        }
        # Filled in by the 政务公开办 (office, year) and not to be changed: white, locked.
        self.fixed = {kind: wb.add_format(boxed | {"align": "left", "num_format": "0" if kind == "year" else "General"})
                      for kind in self.inputs}


def _hex(argb: str) -> str:
    return f"#{argb[-6:]}"


INSTRUCTIONS_WIDTH = 66  # fits A4 portrait at 100% (宋体 10: about 7.5 points a unit), so no viewer has to scale it
INPUT_FILL = "#FFF2CC"  # the 说明 sheet's 浅黄色: light enough to print, clearly not white on screen


def _write_text(ws: Worksheet, fmt: _Formats, text) -> None:
    style = getattr(fmt, text.style)
    if text.link:
        ws.write_url(text.row, text.col, f"internal:'{text.link}'!A1", fmt.link, string=text.text)
    elif (text.last_row or text.row) != text.row or (text.last_col or text.col) != text.col:
        ws.merge_range(text.row, text.col, text.last_row or text.row, text.last_col or text.col, text.text, style)
    else:
        ws.write_string(text.row, text.col, text.text, style)


@dataclass(frozen=True)
class Formula:
    """A formula to write into an input cell, as a user's workbook may hold one. Any other text
    is written as text, never as a formula, whatever it starts with."""

    text: str
    cached: str = ""  # the stored result: "" for none (a file saved by a program that does not calculate)


def _write_input(ws: Worksheet, fmt: _Formats, cell: InputCell, value: object, locked: bool = False) -> None:
    style = (fmt.fixed if locked else fmt.inputs)[cell.type]
    if cell.last_col != cell.col:
        ws.merge_range(cell.row, cell.col, cell.row, cell.last_col, None, style)
    if value is None:
        ws.write_blank(cell.row, cell.col, None, style)
    elif isinstance(value, Formula):
        ws.write_formula(cell.row, cell.col, value.text, style, value.cached)
    elif isinstance(value, (dt.date, dt.datetime)):
        ws.write_datetime(cell.row, cell.col, dt.datetime.combine(value, dt.time()) if not isinstance(value, dt.datetime) else value, style)
    elif isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        ws.write_string(cell.row, cell.col, str(value), style)
    else:
        ws.write_number(cell.row, cell.col, float(value), style)
    if cell.type in _VALIDATION and not locked:
        ws.data_validation(cell.row, cell.col, cell.row, cell.col, _VALIDATION[cell.type] | {"error_title": "输入有误"})


def _instructions(wb: xlsxwriter.Workbook, fmt: _Formats, spec: FormSpec, identity: dict[str, str], macro: bool) -> Worksheet:
    """The 说明 sheet, written for the clerk who fills the template: no commands, no paths."""
    ws = wb.add_worksheet(INSTRUCTIONS_SHEET)
    ws.set_column(0, 0, INSTRUCTIONS_WIDTH)
    texts = spec.text_sections
    lines = [
        ("title", "政府信息公开工作年度报告 填报模板 — 说明"),
        ("plain", f"格式：{spec.title}（{spec.notice}），适用于 {spec.year_from} 年度"
                  + (f"至 {spec.year_to} 年度的报告。" if spec.year_to else "及以后的报告。")),
    ]
    if identity.get("roster_office"):  # a distributed workbook says for whom, where the clerk sees it first
        code = f"（编码 {identity['roster_code']}）" if identity.get("roster_code") else ""
        lines.append(("caption", f"本模板下发给：{identity['roster_office']}{code}，{identity.get('roster_year', '')} 年度报告。"
                                 "请勿转给其他单位使用；机关名称和年度已填好，不能修改。"))
    if identity.get("upload_link"):  # the office's own link in a round served by nianbao serve
        lines.append(("caption", f"网上报送：填好后在本单位专用链接上传本工作簿（请勿转发）：{identity['upload_link']}"))
    lines += [
        ("plain", ""),
        ("caption", "怎样填写"),
        ("plain", "1. 只在浅黄色单元格中填写；标签和表头已锁定（工作表保护没有密码，如需调整格式可在“审阅”中撤销保护）。"),
        ("plain", "2. 每个数字栏都要填写。没有发生的事项填 0：空白不等于 0，也不要填“/”“-”或文字。"),
        ("plain", "3. 只填数字，不带单位（如填 15，不填“15件”）。金额单位为万元。"),
        ("plain", "4. 不要插入、删除或移动行列，不要修改标签；否则报送后的检查会报告“模板结构被修改”。"),
        ("plain", f"5. 在「{spec.text_sheet}」工作表填写机关名称、报告年度、发布日期和文字部分（"
                  + "、".join(s.label.split("、")[0] for s in texts) + "）。"),
        ("plain", ""),
        ("caption", "填写时自动检查（Excel、WPS、LibreOffice 都有效，不需要安装任何程序，也不需要启用宏）"),
        ("error", "红色单元格：错误，必须修改。例如一列的数字对不上、填了“/”或“-”、填了文字、开始填写后仍空着的格。"),
        ("warning", "橙色单元格：提示，请核对后修改，或在报送时说明理由。例如“15件”带了单位、发布日期晚于次年1月31日、"
                    "“存在的主要问题及改进情况”只写了“无”。"),
        ("plain", "表格下方或右侧的绿色格显示每一项关系：✓ 成立；✗ 不成立，并写明哪一边多、多多少（如“✗ 左边多 1”："
                  "左边是校验名称中等号前的部分）；空白表示相关的格还没有填完；“未提供上年数据”表示本模板没有附上一年度的数字。"),
        ("plain", "还没有开始填写时，空着的格不标颜色；填了第一个数字以后，空着的格才标为错误（没有的请填 0）。"),
        ("plain", f"「{SELF_CHECK_SHEET}」工作表列出全部发现的问题：最上面是“错误几项、提示几项”，每条写明两边的数值和差额，"
                 "点击“位置”跳到该单元格。报送前请看一遍，改到“未发现问题”。"),
        ("link", f"打开「{SELF_CHECK_SHEET}」"),
        ("plain", ""),
        ("caption", "报送以后"),
        ("plain", "政务公开办收到后，用完整的检查程序再检查一遍，其中包括本模板不能自己完成的检查（正文中的数字与表格是否一致、"
                  f"与上一年度或其他单位的报告是否雷同等，列在「{SELF_CHECK_SHEET}」的第 3 行）。有问题时会退回一份副本："
                  "问题单元格标了颜色并有批注，另附「检查结果」工作表；对提示可在该表的“说明”列写明理由，再报送。"),
    ]
    if macro:
        lines.append(("plain", "右侧的「检查」按钮用完整程序检查，问题直接标在单元格上，「清除标注」去掉这些标注。按钮需要本单位的"
                               "信息技术人员预先安装；没有安装时不要点击，以上的自动检查照样有效。"))
    for row, (style, text) in enumerate(lines):
        if style == "link":
            ws.write_url(row, 0, f"internal:'{SELF_CHECK_SHEET}'!A1", fmt.link, string=text)
        else:
            ws.write_string(row, 0, text, getattr(fmt, {"error": "error_note", "warning": "warning_note"}.get(style, style)))
        if wrapped_lines(text, INSTRUCTIONS_WIDTH) > 1:  # wrapped text gets the room it needs, not overlap
            ws.set_row(row, 15 * wrapped_lines(text, INSTRUCTIONS_WIDTH))
    ws.set_column(1, 1, 18)
    ws.set_paper(9)
    ws.print_area(0, 0, len(lines) - 1, 0)  # the text column only (the buttons' column is for the screen)
    ws.fit_to_pages(1, 1)  # one page; "1 wide, any height" is not honoured by LibreOffice
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    return ws


def _checked_values(spec: FormSpec, layout: FormLayout, values, office, year, locked, notes) -> dict[str, object]:
    values = dict(values or {})
    if office is not None:
        values["meta.office"] = office
    if year is not None:
        values["meta.year"] = year
    unknown = (set(values) | set(locked) | set(notes)) - set(layout.inputs)
    if unknown:
        raise KeyError(f"格式 {spec.id} 中没有这些单元格：{', '.join(sorted(unknown))}")
    return values


def _form_sheet(wb, fmt: _Formats, sheet: SheetLayout, values: dict, locked: frozenset[str], notes: dict[str, str],
                live: Writer) -> None:
    ws = wb.add_worksheet(sheet.name, Sheet)
    ws.hide_gridlines(2)
    ws.set_paper(9)  # A4, one page wide, as the tables are printed in the report
    if sheet.table is not None:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, sheet.last_row, sheet.last_col)  # the table as in the report; the verdicts beside it are for the screen
    for col, width in sheet.widths.items():
        ws.set_column(col, col, width)
    for row, height in sheet.heights.items():
        ws.set_row(row, height)
    for text in sheet.texts:
        _write_text(ws, fmt, text)
    for cell in sheet.inputs:
        _write_input(ws, fmt, cell, values.get(cell.key), cell.key in locked)
        if cell.key in notes:
            ws.write_comment(cell.row, cell.col, notes[cell.key], {"author": "nianbao", "x_scale": 2, "y_scale": 1.5})
        wb.define_name(cell.name, f"='{sheet.name}'!{absolute(cell.row, cell.col)}")
    live.input_formats(ws, sheet.name)
    live.verdicts(ws, sheet)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True})


def _record(wb, spec: FormSpec, identity: dict[str, str]) -> None:
    meta = wb.add_worksheet(META_SHEET)
    record = {"format": spec.id, "template_version": spec.template_version, "generator": f"nianbao {__version__}",
              "fingerprint": fingerprint(spec)} | identity
    for row, (k, v) in enumerate(record.items()):
        meta.write_string(row, 0, k)
        if isinstance(v, int):
            meta.write_number(row, 1, v)
        else:
            meta.write_string(row, 1, str(v))
    meta.hide()


def _conf(wb, interpreters: dict[str, str]) -> None:
    conf = wb.add_worksheet(CONF_SHEET)
    for row, (key, value) in enumerate(interpreters.items()):
        conf.write_string(row, 0, key)
        conf.write_string(row, 1, value)
    conf.hide()
    for n, sheet in enumerate(wb.worksheets(), 1):  # must match the VBA project's document modules
        sheet.set_vba_name(f"Sheet{n}")


def build(spec: FormSpec, path: str | Path, *, office: str | None = None, year: int | None = None,
          values: dict[str, object] | None = None, macro: bool = False, interpreters: dict[str, str] | None = None,
          locked: frozenset[str] = frozenset(), notes: dict[str, str] | None = None,
          identity: dict[str, str] | None = None, previous: dict[str, object] | None = None) -> Path:
    """Write the template of ``spec`` to ``path`` (atomically); ``values`` fill cells by key.

    ``locked`` cells are written as fixed text the clerk cannot edit, ``notes`` put a note on
    cells by key, and ``identity`` adds entries to the hidden record every template carries
    (format, template version, structure fingerprint: see META_SHEET). ``previous`` gives last
    year's values by key, for the cross-year checks of the live layer (without them, those
    checks say 未提供上年数据).

    With ``macro``, the workbook is an .xlsm with the VBA project (the xlwings standalone module
    and ours), the 检查 and 清除标注 buttons on the first sheet, and the xlwings.conf sheet that
    tells the buttons which Python to run (``interpreters`` overrides INTERPRETERS).
    """
    path = Path(path)
    layout = form_layout(spec)
    notes = notes or {}
    values = _checked_values(spec, layout, values, office, year, locked, notes)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(tmp)
        fmt = _Formats(wb)
        live = Writer(plan_for(spec), layout, fmt)
        first = _instructions(wb, fmt, spec, identity or {}, macro)
        if macro:
            _macro_parts(wb, first, INTERPRETERS | (interpreters or {}))
        live.self_check(wb.add_worksheet(SELF_CHECK_SHEET, Sheet))
        for sheet in layout.sheets:
            _form_sheet(wb, fmt, sheet, values, locked, notes, live)
        _record(wb, spec, identity or {})
        live.live_sheet(wb.add_worksheet(LIVE_SHEET, Sheet), previous or {})
        if macro:
            _conf(wb, INTERPRETERS | (interpreters or {}))
        close_workbook(wb)
    return path


CONF_SHEET = "xlwings.conf"
# Where the office set-up of docs/excel.md puts Python; `nianbao excel-setup` writes the real path.
INTERPRETERS = {
    "Interpreter_Win": r"%LOCALAPPDATA%\nianbao\venv\Scripts\pythonw.exe",
    "Interpreter_Mac": "$HOME/nianbao/venv/bin/python",
}
MACROS = {"NianbaoCheck": "检查", "NianbaoClear": "清除标注"}  # VBA macro -> button caption


def _macro_parts(wb: xlsxwriter.Workbook, first: Worksheet, interpreters: dict[str, str]) -> None:
    from nianbao.resources import vba_dir

    wb.set_vba_name("ThisWorkbook")
    wb.add_vba_project(str(vba_dir() / "vbaProject.bin"))
    for n, (macro, caption) in enumerate(MACROS.items()):
        first.insert_button(1 + 3 * n, 1, {"macro": macro, "caption": caption, "width": 110, "height": 36})
