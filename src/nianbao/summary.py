"""The supervisor's summary of a batch: 汇总.xlsx, summary.csv and summary.json in the output folder."""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from pathlib import Path

from nianbao import __version__
from nianbao.collect import NEEDS_FIXING, ROSTER_STATUS, Collection
from nianbao.files import SUMMARY_FILES, Destinations, atomic_path, close_workbook, inert_text, json_text, listing_workbook, shown
from nianbao.findings import ERROR
from nianbao.result import Result
from nianbao.roster import MATCHES
from nianbao.rules.catalogue import all_rules

SUMMARY_XLSX = SUMMARY_FILES[0]
STATUS = {"clean": "通过", "warnings": "有提示", "explained": "提示均已说明", "errors": "有错误", "failed": "无法检查"}
FILLS = {"有错误": "#FFC7CE", "有提示": "#FFEB9C", "无法检查": "#D9D9D9", "通过": "#C6EFCE", "提示均已说明": "#DDEBF7", "未报送": "#F8CBAD"}
FIRST = 3  # findings quoted per file in the overview


def _first_findings(result: Result) -> str:
    if result.status == "failed":
        return result.reason or ""
    lines = [f"{f.rule} {f.sheet}!{f.cell} {f.message}" if f.cell else f"{f.rule} {f.message}" for f in result.findings[:FIRST]]
    more = len(result.findings) - FIRST
    return "\n".join(lines + ([f"……另有 {more} 项"] if more > 0 else []))


def _previous(result: Result) -> str:
    """Which report was last year's, and how it was found; or why none was."""
    if result.previous:
        return f"{shown(result.previous['path'])}（{MATCHES[result.previous['match']]}）"
    return f"未配对：{result.previous_note}" if result.previous_note else ""


def _by_rule(results: list[Result]) -> dict[str, list[tuple[Result, object]]]:
    grouped: dict[str, list] = defaultdict(list)
    for result in results:
        for f in result.findings:
            grouped[f.rule].append((result, f))
    return dict(sorted(grouped.items()))


def _copy_link(ws, row: int, col: int, out_dir: Path, result: Result) -> None:
    """A link to the file's annotated copy, relative so the output folder can be moved or shared."""
    if result.output is not None:
        link = os.path.relpath(result.output, out_dir).replace(os.sep, "/")
        ws.write_url(row, col, f"external:{link}", string=link)


def _widths(ws, widths: dict[tuple[int, int], float]) -> None:
    for (first, last), width in widths.items():
        ws.set_column(first, last, width)


def printable(ws, header_row: int) -> None:
    """A4 landscape, all columns on the page, the header row repeated on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)


def sheet_formats(wb) -> dict:
    """The formats of nianbao's listing workbooks (汇总.xlsx, 下发清单.xlsx): header, wrapped text,
    title, and a fill per status."""
    return {"bold": wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "top"}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
            "title": wb.add_format({"bold": True, "font_size": 13}),
            "fills": {s: wb.add_format({"bg_color": c, "valign": "top"}) for s, c in FILLS.items()}}


def _roster_sheet(wb, formats: dict, collection: Collection, out_dir: Path) -> None:
    """报送情况: one row per roster office, then the files no office claims, the offices that
    returned several files, and the workbooks whose identity does not fit."""
    bold, wrap, title, fills = formats["bold"], formats["wrap"], formats["title"], formats["fills"]
    ws = wb.add_worksheet("报送情况")
    counts = Counter(ROSTER_STATUS[r.status] for r in collection.offices)
    ws.write(0, 0, f"{collection.year or ''} 年度报告报送情况：名单 {len(collection.offices)} 个机关；"
                   + "，".join(f"{k} {counts[k]} 个" for k in ROSTER_STATUS.values()), title)
    ws.write(1, 0, f"需要修改（有错误、有提示、无法检查）{collection.count(*NEEDS_FIXING)} 个，未报送 {collection.count('missing')} 个。"
                   "报送多份的按最新一份判断。")
    header = ["序号", "编码", "机关名称", "状态", "错误", "提示（未说明）", "已说明", "文件（最新在前）", "批注副本", "联系人", "联系电话"]
    ws.write_row(3, 0, header, bold)
    row = 3
    for i, entry in enumerate(collection.offices, 1):
        row += 1
        status = ROSTER_STATUS[entry.status]
        newest = entry.newest
        ws.write_row(row, 0, [i, entry.office.code, entry.office.name], wrap)
        ws.write(row, 3, status, fills[status])
        ws.write_row(row, 4, [newest.errors, newest.warnings, newest.explained] if newest else ["", "", ""], wrap)
        ws.write(row, 7, "\n".join(shown(r.path) for r in entry.results), wrap)
        if newest is not None:
            _copy_link(ws, row, 8, out_dir, newest)
        ws.write_row(row, 9, [entry.office.contact, entry.office.phone], wrap)
    ws.autofilter(3, 0, row, len(header) - 1)
    sections = [
        ("不属于名单中任何机关的文件", ["文件", "报告中的机关", "年度", "状态"],
         [[shown(r.path), r.office or "", r.year or "", STATUS[r.status]] for r in collection.unmatched]),
        ("报送了多份文件的机关（均已检查，按最新一份判断）", ["机关名称", "最新的文件", "其他文件"],
         [[e.office.name, shown(e.newest.path), "\n".join(shown(r.path) for r in e.results[1:])]
          for e in collection.offices if len(e.results) > 1]),
        ("下发标识不符的工作簿", ["文件", "报告中的机关", "问题"],
         [[shown(r.path), r.office or "", problem] for r, problem in collection.problems]),
    ]
    for caption, columns, rows in sections:
        row += 2
        ws.write(row, 0, f"{caption}：{len(rows)} 个", title)
        if rows:
            ws.write_row(row + 1, 0, columns, bold)
            for line in rows:
                row += 1
                ws.write_row(row + 1, 0, line, wrap)
            row += 1
    _widths(ws, {(0, 0): 6, (1, 1): 10, (2, 2): 30, (3, 3): 12, (4, 6): 8, (7, 8): 40, (9, 10): 12})
    ws.freeze_panes(4, 0)
    printable(ws, 3)


def _explained_sheet(wb, formats: dict, results: list[Result], out_dir: Path) -> None:
    """已说明: every finding with an explanation, for the 政务公开办 to accept or reject, and the
    explanations whose finding is gone."""
    rows = [(r, f.severity, f.rule, f"{f.sheet}!{f.cell}" if f.cell else "", f.message, f.explanation,
             "错误仍须修改" if f.severity == ERROR else "提示已说明") for r in results for f in r.findings if f.explanation]
    rows += [(r, "", e.rule, "", e.message, e.text, "问题已不再出现，说明不再需要") for r in results for e in r.stale]
    if not rows:
        return
    ws = wb.add_worksheet("已说明")
    ws.write(0, 0, f"已说明的问题：{len(rows)} 项（请审核说明是否成立；不成立的退回修改）", formats["title"])
    ws.write_row(2, 0, ["文件", "机关", "严重程度", "规则", "位置", "问题", "说明", "处理", "批注副本"], formats["bold"])
    for n, (r, *line) in enumerate(rows, 3):
        ws.write_row(n, 0, [shown(r.path), r.office or "", *line], formats["wrap"])
        _copy_link(ws, n, 8, out_dir, r)
    _widths(ws, {(0, 0): 30, (1, 1): 20, (2, 4): 9, (5, 6): 50, (7, 7): 16, (8, 8): 30})
    printable(ws, 2)


def write_xlsx(results: list[Result], path: Path, collection: Collection | None = None) -> Path:
    out_dir = path.parent
    titles = {r.id: r.title for r in all_rules()}
    severities = {r.id: r.severity for r in all_rules()}
    by_rule = _by_rule(results)
    with atomic_path(path) as tmp:
        wb = listing_workbook(tmp)
        formats = sheet_formats(wb)
        bold, wrap, title, fills = formats["bold"], formats["wrap"], formats["title"], formats["fills"]
        if collection is not None:
            _roster_sheet(wb, formats, collection, out_dir)

        ws = wb.add_worksheet("汇总")
        counts = Counter(STATUS[r.status] for r in results)
        ws.write(0, 0, f"年度报告检查汇总：共 {len(results)} 个文件；"
                       + "，".join(f"{k} {counts[k]} 个" for k in ("有错误", "有提示", "提示均已说明", "通过", "无法检查")), title)
        ws.write(1, 0, f"nianbao {__version__}；错误必须修改，提示修改或说明。点击“批注副本”打开标注了问题的工作簿。")
        header = ["序号", "文件", "机关", "年度", "格式", "状态", "错误", "提示（未说明）", "主要问题", "批注副本", "上一年度报告", "读取"]
        ws.write_row(3, 0, header, bold)
        for i, r in enumerate(results, 1):
            row = 3 + i
            ws.write_row(row, 0, [i, shown(r.path), r.office or "", r.year or "", r.format or ""], wrap)
            ws.write(row, 5, STATUS[r.status], fills[STATUS[r.status]])
            ws.write_row(row, 6, [r.errors, r.warnings], wrap)
            ws.write(row, 8, _first_findings(r), wrap)
            _copy_link(ws, row, 9, out_dir, r)
            ws.write_string(row, 10, _previous(r), wrap)
            ws.write_string(row, 11, "" if r.status == "failed" else r.reading, wrap)
        _widths(ws, {(0, 0): 6, (1, 1): 36, (2, 2): 24, (3, 7): 8, (8, 8): 80, (9, 10): 30, (11, 11): 24})
        ws.freeze_panes(4, 0)
        ws.autofilter(3, 0, 3 + len(results), len(header) - 1)
        printable(ws, 3)

        _explained_sheet(wb, formats, results, out_dir)
        rules_ws = wb.add_worksheet("按规则")
        rules_ws.write_row(0, 0, ["规则", "严重程度", "名称", "涉及文件数", "发现数"], bold)
        for row, (rule_id, hits) in enumerate(by_rule.items(), 1):
            files = {shown(r.path) for r, _ in hits}
            rules_ws.write_url(row, 0, f"internal:'{rule_id}'!A1", string=rule_id)
            rules_ws.write_row(row, 1, [severities.get(rule_id, ""), titles.get(rule_id, ""), len(files), len(hits)])
        _widths(rules_ws, {(2, 2): 36, (3, 4): 12})
        printable(rules_ws, 0)
        if by_rule:
            chart = wb.add_chart({"type": "bar"})
            n = len(by_rule)
            chart.add_series({"name": "涉及文件数", "categories": ["按规则", 1, 0, n, 0], "values": ["按规则", 1, 3, n, 3]})
            chart.set_title({"name": "各规则涉及的文件数"})
            chart.set_legend({"none": True})
            chart.set_y_axis({"reverse": True})
            most = max(len({shown(r.path) for r, _ in hits}) for hits in by_rule.values())
            chart.set_x_axis({"min": 0, "major_unit": max(1, -(-most // 10)), "num_format": "0"})  # whole files
            # On a sheet of its own, so it prints on a page of its own.
            sheet = wb.add_chartsheet("图表")
            sheet.set_chart(chart)
            sheet.set_paper(9)
            sheet.set_landscape()

        for rule_id, hits in by_rule.items():
            sheet = wb.add_worksheet(rule_id)
            files = len({shown(r.path) for r, _ in hits})
            sheet.write(0, 0, f"{rule_id} {titles.get(rule_id, '')}（{severities.get(rule_id, '')}）：{files} 个文件", title)
            sheet.write_row(2, 0, ["文件", "机关", "年度", "位置", "说明", "批注副本"], bold)
            for row, (r, f) in enumerate(hits, 3):
                sheet.write_row(row, 0, [shown(r.path), r.office or "", r.year or "", f"{f.sheet}!{f.cell}" if f.cell else "", f.message], wrap)
                _copy_link(sheet, row, 5, out_dir, r)
            _widths(sheet, {(0, 0): 36, (1, 1): 24, (4, 4): 80, (5, 5): 30})
            printable(sheet, 2)
        close_workbook(wb)
    return path


def write_csv(results: list[Result], path: Path) -> Path:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8-sig", errors="backslashreplace") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "office", "year", "format", "status", "状态", "errors", "warnings", "rules", "reason", "output", "previous",
                         "explained", "checked"])
        for r in results:
            writer.writerow([inert_text(str(v)) for v in (shown(r.path), r.office or "", r.year or "", r.format or "", r.status, STATUS[r.status],
                             r.errors, r.warnings, " ".join(sorted({f.rule for f in r.findings})), r.reason or "", shown(r.output or ""),
                             _previous(r), r.explained, "partial" if r.unread else "full")])
    return path


def write_json(results: list[Result], path: Path, collection: Collection | None = None) -> Path:
    by_rule = {
        rule_id: {"files": sorted({shown(r.path) for r, _ in hits}), "findings": len(hits)}
        for rule_id, hits in _by_rule(results).items()
    }
    document = {
        "version": 1,
        # Files by status (clean, warnings, errors, failed: see docs) apart from findings by severity.
        "totals": {"files": {"total": len(results), **{k: sum(r.status == k for r in results) for k in STATUS},
                             "partial": sum(not r.complete for r in results)},
                   "findings": {"errors": sum(r.errors for r in results), "warnings": sum(r.warnings for r in results),
                                "explained": sum(r.explained for r in results)}},
        "rules": by_rule,
        "files": [r.to_dict() for r in results],
    }
    if collection is not None:  # the roster contract (docs/distribution.md): read by other programs
        document["year"] = collection.year
        document["roster"] = [entry.to_dict() for entry in collection.offices]
        document["unmatched"] = [shown(r.path) for r in collection.unmatched]
        document["identity_problems"] = [{"path": shown(r.path), "problem": problem} for r, problem in collection.problems]
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json_text(document), encoding="utf-8")
    return path


def write_summary(results: list[Result], out_dir: Path, destinations: Destinations | None = None,
                  collection: Collection | None = None) -> list[Path]:
    """Write 汇总.xlsx, summary.csv and summary.json into ``out_dir`` (with the 报送情况 of a
    ``collection`` against a roster); a name that holds a file nianbao did not write is left
    alone and the next free name used."""
    destinations = destinations or Destinations()
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx, csv_, json_ = (destinations.choose(out_dir / name, reserved=True) for name in SUMMARY_FILES)
    return [write_xlsx(results, xlsx, collection), write_csv(results, csv_), write_json(results, json_, collection)]

