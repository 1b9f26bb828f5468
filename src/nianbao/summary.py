"""The supervisor's summary of a batch: 汇总.xlsx, summary.csv and summary.json in the output folder.

汇总.xlsx prints for a meeting (listing.Listing: rows as tall as their text, columns as wide as
their content, A4 landscape one page wide): 报送情况 (one row per roster office, with why it needs
fixing), 退回清单 (what to send back to whom), 其他情况 (files of no office, several files of one,
identity problems, attachments), 汇总 (one row per file), 已说明, 按规则 with its chart (titles,
not codes), one 问题明细 sheet, and 雷同分组 (the groups of Y403). The counting lines are written
once here (``files_line``, ``findings_line``, ``roster_line``) so the terminal, 报送情况,
summary.json and summary.csv say the same numbers.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from nianbao import __version__
from nianbao.collect import NEEDS_FIXING, ROSTER_STATUS, Collection
from nianbao.explanations import insufficient
from nianbao.files import SUMMARY_FILES, Destinations, atomic_path, close_workbook, inert_text, json_pieces, listing_workbook, shown
from nianbao.findings import ERROR, Finding
from nianbao.listing import Cell, Listing, copy_cell, sheet_formats
from nianbao.result import Result
from nianbao.roster import MATCHES
from nianbao.rules.catalogue import all_rules

__all__ = ["SUMMARY_XLSX", "write_summary"]

SUMMARY_XLSX = SUMMARY_FILES[0]
STATUS = {"clean": "通过", "warnings": "有提示", "explained": "提示均已说明", "errors": "有错误", "failed": "无法检查"}
FIRST = 3  # findings quoted per file in the overview
GROUPED = "Y403"  # the rule whose findings name a group of reports (rules/similarity.py)


def _count(counted: dict[str, Counter], r: Result) -> None:
    counted["files"].update((r.status, *(["partial"] if not r.complete else [])))
    counted["findings"].update(errors=r.errors, warnings=r.warnings, explained=r.explained)


def tally(results: Iterable[Result]) -> dict[str, Counter]:
    """Files by status (and how many were read in part), findings by severity: in one pass, as a
    batch's results are read from disk one at a time."""
    counted = {"files": Counter({s: 0 for s in STATUS} | {"partial": 0}), "findings": Counter(errors=0, warnings=0, explained=0)}
    for r in results:
        _count(counted, r)
    return counted


def files_line(counted: dict[str, Counter]) -> str:
    """What the files came to (``tally``), each number saying what it counts (files, not findings)."""
    counts = counted["files"]
    return (f"共 {sum(counts[s] for s in STATUS)} 个文件：有错误的 {counts['errors']} 个，有未说明提示的 {counts['warnings']} 个，"
            f"提示均已说明的 {counts['explained']} 个，通过 {counts['clean']} 个，无法检查 {counts['failed']} 个"
            + (f"；其中部分检查（有单元格未能读取）{counts['partial']} 个" if counts["partial"] else ""))


def findings_line(counted: dict[str, Counter]) -> str:
    """The findings of all files by severity (``tally``; findings, not files)."""
    counts = counted["findings"]
    return f"发现的问题：错误 {counts['errors']} 项，未说明的提示 {counts['warnings']} 项，已说明的提示 {counts['explained']} 项"


def roster_counts(collection: Collection) -> dict[str, int]:
    """Roster offices by status (collect.ROSTER_STATUS), and how many need fixing."""
    return {**{s: collection.count(s) for s in ROSTER_STATUS}, "needs_fixing": collection.count(*NEEDS_FIXING)}


def roster_line(collection: Collection) -> str:
    """The roster's offices by status: one line for the terminal and the top of 报送情况."""
    c = roster_counts(collection)
    return (f"名单 {len(collection.offices)} 个机关：未报送 {c['missing']} 个，需要修改 {c['needs_fixing']} 个"
            f"（有错误 {c['errors']}、有提示 {c['warnings']}、无法检查 {c['failed']}），提示均已说明 {c['explained']} 个，通过 {c['clean']} 个")


def _first_findings(result: Result) -> str:
    if result.status == "failed":
        return f"无法检查：{result.reason or ''}"
    shown = [f"{f.rule} {f.sheet}!{f.cell} {f.message}" if f.cell else f"{f.rule} {f.message}" for f in result.findings[:FIRST]]
    more = len(result.findings) - FIRST
    reading = [] if result.complete else [result.reading]
    return "\n".join(reading + shown + ([f"……另有 {more} 项，见批注副本"] if more > 0 else []))


def _previous(result: Result) -> str:
    """Which report was last year's, and how it was found; or why none was."""
    if result.previous:
        return f"{shown(result.previous['path'])}（{MATCHES[result.previous['match']]}）"
    return f"未配对：{result.previous_note}" if result.previous_note else ""


class Filed(NamedTuple):
    """The file a finding was found in, as the summary names it (not the whole result: a batch's
    results are read from disk one at a time, and holding them all is what spill.py avoids)."""

    path: str  # as shown
    office: str
    output: Path | None


class Digest(NamedTuple):
    """What 汇总.xlsx and summary.json count over a batch (``tally``) and its findings by rule,
    gathered in one pass: each of a batch's results is read from disk when asked for."""

    counted: dict[str, Counter]
    by_rule: dict[str, list[tuple[Filed, Finding]]]


def digest(results: Iterable[Result]) -> Digest:
    counted, grouped = tally(()), defaultdict(list)
    for result in results:
        _count(counted, result)
        filed = Filed(shown(result.path), result.office or "", result.output)
        for f in result.findings:
            grouped[f.rule].append((filed, f))
    return Digest(counted, dict(sorted(grouped.items())))


def _status(status: str) -> Cell:
    return Cell(status, ("fills", status))


def _roster_sheet(wb, formats: dict, collection: Collection, out_dir: Path) -> None:
    """报送情况: one row per roster office, with its main problems (or why it could not be checked)."""
    rows = []
    for i, entry in enumerate(collection.offices, 1):
        newest = entry.newest
        counts = [newest.errors, newest.warnings, newest.explained] if newest else ["", "", ""]
        rows.append([i, entry.office.code, entry.office.name, _status(ROSTER_STATUS[entry.status]), *counts,
                     _first_findings(newest) if newest else "", "\n".join(shown(r.path) for r in entry.results),
                     copy_cell(newest.output if newest else None, out_dir), entry.office.contact, entry.office.phone])
    others = len(_other_rows(collection))
    Listing(wb, formats, "报送情况", [5, 8, 20, 10, 5, 6, 6, 44, 24, 22, 8, 14]).title(
        f"{collection.year or ''} 年度报告报送情况：{roster_line(collection)}").title(
        "报送多份的按最新一份判断；错误必须修改，提示修改或说明。退回哪些文件、改什么见「退回清单」"
        + (f"；不属于名单的文件、报送多份、下发标识不符等 {others} 项见「其他情况」" if others else ""), "note").table(
        ["序号", "编码", "机关名称", "状态", "错误", "提示（未说明）", "已说明", "主要问题", "文件（最新在前）", "批注副本", "联系人", "联系电话"],
        rows).finish()


def _fix(result: Result) -> str:
    """What an office must do with what it is sent back."""
    if result.status == "failed":
        return f"文件无法检查：{result.reason}。请修正后重新报送（用本次下发的模板）"
    todo = [f"错误 {result.errors} 项须修改" if result.errors else "",
            f"提示 {result.warnings} 项修改或在「说明」列写明理由" if result.warnings else ""]
    return "；".join(t for t in todo if t) + "\n" + _first_findings(result)


def _returns_sheet(wb, formats: dict, collection: Collection, out_dir: Path) -> None:
    """退回清单: each office that must fix what it sent, its contact, the copy to send back, what to fix."""
    due = [e for e in collection.offices if e.status in NEEDS_FIXING]
    rows = [[i, e.office.name, "\n".join(x for x in (e.office.contact, e.office.phone) if x), _status(ROSTER_STATUS[e.status]),
             copy_cell(e.newest.output, out_dir) if e.newest.output else shown(e.newest.path), _fix(e.newest)] for i, e in enumerate(due, 1)]
    Listing(wb, formats, "退回清单", [5, 20, 16, 10, 30, 70]).title(
        f"退回清单：{len(due)} 个机关需要修改（有错误、有提示或无法检查）").title(
        "把“退回的文件”（批注副本，问题标在单元格上）发给该机关；无法检查的，退回其原文件并说明原因。", "note").table(
        ["序号", "机关名称", "联系人", "状态", "退回的文件", "需要修改"], rows).finish()


def _other_rows(collection: Collection) -> list[list]:
    rows = [["不属于名单", shown(r.path), r.office or "", f"{r.year or ''} 年度，{STATUS[r.status]}"] for r in collection.unmatched]
    rows += [["报送多份", shown(e.newest.path), e.office.name, "按这一份（最新）判断；另有：" + "、".join(shown(r.path) for r in e.results[1:])]
             for e in collection.offices if len(e.results) > 1]
    rows += [["下发标识不符", shown(r.path), r.office or "", problem] for r, problem in collection.problems]
    rows += [["附件", shown(r.path), office.name if office else "（不属于名单）", "不是年度报告（没有任何一张规定的表格），作为附件列出，未检查"]
             for r, office in collection.attachments]
    return [[i, *row] for i, row in enumerate(rows, 1)]


def _others_sheet(wb, formats: dict, collection: Collection) -> None:
    rows = _other_rows(collection)
    if rows:
        Listing(wb, formats, "其他情况", [5, 12, 44, 22, 60]).title(f"其他情况：{len(rows)} 项").table(
            ["序号", "情况", "文件", "报告中的机关", "说明"], rows).finish()


def _verdict(finding) -> str:
    """What becomes of an explained finding: an 错误 stays, a 提示 is settled unless its 说明 says too little."""
    if finding.severity == ERROR:
        return "错误仍须修改"
    problem = insufficient(finding.explanation)
    return f"{problem}；提示仍待处理" if problem else "提示已说明"


def _explained(r: Result, out_dir: Path) -> list[list]:
    """已说明's rows of one file: its explained findings, and the explanations whose finding is gone."""
    lines = [[f.severity, f.rule, f"{f.sheet}!{f.cell}" if f.cell else "", f.message, f.explanation, _verdict(f)]
             for f in r.findings if f.explanation]
    lines += [["", e.rule, "", e.message, e.text, "问题已不再出现，说明不再需要"] for e in r.stale]
    return [[shown(r.path), r.office or "", *line, copy_cell(r.output, out_dir)] for line in lines]


def _explained_sheet(wb, formats: dict, results: list[Result], out_dir: Path) -> None:
    """已说明: every finding with an explanation, for the 政务公开办 to accept or reject, and the
    explanations whose finding is gone."""
    rows = [line for r in results for line in _explained(r, out_dir)]
    if rows:
        Listing(wb, formats, "已说明", [24, 16, 6, 6, 10, 40, 30, 14, 22]).title(
            f"已说明的问题：{len(rows)} 项（请审核说明是否成立；不成立的退回修改）").table(
            ["文件", "机关", "严重程度", "规则", "位置", "问题", "说明", "处理", "批注副本"],
            rows).finish(freeze=False)


def _overview_sheet(wb, formats: dict, results: list[Result], out_dir: Path, counted: dict[str, Counter]) -> None:
    """汇总: one row per file."""

    def rows():  # read twice by the listing, never held: one row per file of a batch that may be 20,000
        return ([i, shown(r.path), r.office or "", f"{r.year or ''}\n{r.format or ''}".strip(), _status(STATUS[r.status]), r.errors, r.warnings,
                 _first_findings(r), copy_cell(r.output, out_dir), _previous(r)] for i, r in enumerate(results, 1))

    Listing(wb, formats, "汇总", [5, 24, 18, 9, 10, 5, 5, 46, 22, 20]).title(
        f"年度报告检查汇总：{files_line(counted)}").title(
        f"{findings_line(counted)}。nianbao {__version__}；错误必须修改，提示修改或说明；“提示”列为未说明的提示。"
        "点击“批注副本”打开标注了问题的工作簿。", "note").table(
        ["序号", "文件", "机关", "年度\n格式", "状态", "错误", "提示", "主要问题", "批注副本", "上一年度报告"], rows).finish()


def _rules_sheets(wb, formats: dict, by_rule: dict[str, list[tuple[Filed, Finding]]], out_dir: Path) -> None:
    """按规则 (with a chart of the files each rule concerns, by title) and one 问题明细 sheet."""
    rules = {r.id: r for r in all_rules()}
    detail, first = [], {}
    for rule_id, hits in by_rule.items():
        first[rule_id] = len(detail)
        detail += [[rule_id, rules[rule_id].title if rule_id in rules else "", f.severity, r.office, r.path,
                    f"{f.sheet}!{f.cell}" if f.cell else "", f.message, copy_cell(r.output, out_dir)] for r, f in hits]
    listing = Listing(wb, formats, "按规则", [8, 8, 40, 10, 8]).title(f"各规则涉及的文件：{len(by_rule)} 条规则").table(
        ["规则", "严重程度", "名称", "涉及文件数", "发现数"],
        [[Cell(rule_id, "link", f"internal:'问题明细'!A{first[rule_id] + 4}"), rules[rule_id].severity if rule_id in rules else "",
          f"{rule_id} {rules[rule_id].title}" if rule_id in rules else rule_id, len({r.path for r, _ in hits}), len(hits)]
         for rule_id, hits in by_rule.items()])
    head = listing.finish(freeze=False, autofilter=False)
    if by_rule:
        _chart(wb, head, by_rule)
        Listing(wb, formats, "问题明细", [7, 20, 6, 18, 24, 10, 56, 22]).title(f"问题明细：{len(detail)} 项，按规则排列").table(
            ["规则", "名称", "严重程度", "机关", "文件", "位置", "说明", "批注副本"], detail).finish()


def _chart(wb, head: int, by_rule: dict) -> None:
    """A bar per rule, labelled with its title (the 名称 column), on a sheet of its own (a page of its own)."""
    chart = wb.add_chart({"type": "bar"})
    n = len(by_rule)
    chart.add_series({"name": "涉及文件数", "categories": ["按规则", head + 1, 2, head + n, 2], "values": ["按规则", head + 1, 3, head + n, 3],
                      "data_labels": {"value": True}})
    chart.set_title({"name": "各规则涉及的文件数"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True, "num_font": {"size": 9}})
    most = max(len({r.path for r, _ in hits}) for hits in by_rule.values())
    chart.set_x_axis({"min": 0, "major_unit": max(1, -(-most // 10)), "num_format": "0"})  # whole files
    sheet = wb.add_chartsheet("图表")
    sheet.set_chart(chart)
    sheet.set_paper(9)
    sheet.set_landscape()


def copy_groups(by_rule: dict[str, list[tuple[Filed, Finding]]]) -> list[dict]:
    """The groups of reports whose sections are nearly identical (Y403): each once, its members."""
    groups: dict[tuple[str, str], dict] = {}
    for filed, f in by_rule.get(GROUPED, []):
        if f.actual:
            entry = groups.setdefault((str(f.row or f.key or ""), str(f.actual)), {"members": str(f.actual).split("、"), "files": []})
            entry["files"].append(filed.path)
            entry["section"] = f.message.split("”与")[0].lstrip("“")
    return list(groups.values())


def _groups_sheet(wb, formats: dict, by_rule: dict[str, list[tuple[Filed, Finding]]]) -> None:
    groups = copy_groups(by_rule)
    if groups:
        Listing(wb, formats, "雷同分组", [5, 26, 8, 90]).title(f"内容雷同的报告：{len(groups)} 组（Y403）").table(
            ["组", "雷同的部分", "机关数", "机关"], [[i, g["section"], len(g["members"]), "、".join(g["members"])]
                                                 for i, g in enumerate(groups, 1)]).finish(freeze=False)


def write_xlsx(results: list[Result], path: Path, collection: Collection | None = None, digested: Digest | None = None) -> Path:
    out_dir = path.parent
    with atomic_path(path) as tmp:
        wb = listing_workbook(tmp)
        formats = sheet_formats(wb)
        if collection is not None:
            _roster_sheet(wb, formats, collection, out_dir)
            _returns_sheet(wb, formats, collection, out_dir)
            _others_sheet(wb, formats, collection)
        digested = digested or digest(results)
        _overview_sheet(wb, formats, results, out_dir, digested.counted)
        _explained_sheet(wb, formats, results, out_dir)
        _rules_sheets(wb, formats, digested.by_rule, out_dir)
        _groups_sheet(wb, formats, digested.by_rule)
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


def write_json(results: list[Result], path: Path, collection: Collection | None = None, digested: Digest | None = None) -> Path:
    counted, found = digested or digest(results)
    by_rule = {rule_id: {"files": sorted({r.path for r, _ in hits}), "findings": len(hits)} for rule_id, hits in found.items()}
    document = {
        "version": 1,
        # Files by status (clean, warnings, errors, failed: see docs) apart from findings by severity.
        "totals": {"files": {"total": len(results), **{k: counted["files"][k] for k in STATUS}, "partial": counted["files"]["partial"]},
                   "findings": dict(counted["findings"])},
        "rules": by_rule,
        "copy_groups": copy_groups(found),
        "files": [],  # written one by one (files.json_pieces)
    }
    if collection is not None:  # the roster contract (docs/distribution.md): read by other programs
        document["year"] = collection.year
        document["totals"]["roster"] = {"total": len(collection.offices), **roster_counts(collection)}
        document["roster"] = [entry.to_dict() for entry in collection.offices]
        document["unmatched"] = [shown(r.path) for r in collection.unmatched]
        document["identity_problems"] = [{"path": shown(r.path), "problem": problem} for r, problem in collection.problems]
        document["attachments"] = [{"path": shown(r.path), "office": office.name if office else None} for r, office in collection.attachments]
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(json_pieces(document, "files", (r.to_dict() for r in results)))
    return path


def write_summary(results: list[Result], out_dir: Path, destinations: Destinations | None = None,
                  collection: Collection | None = None) -> list[Path]:
    """Write 汇总.xlsx, summary.csv and summary.json into ``out_dir`` (with the 报送情况 of a
    ``collection`` against a roster); a name that holds a file nianbao did not write is left
    alone and the next free name used."""
    destinations = destinations or Destinations()
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx, csv_, json_ = (destinations.choose(out_dir / name, reserved=True) for name in SUMMARY_FILES)
    digested = digest(results)  # once for the sheets and summary.json: each result is read from disk
    return [write_xlsx(results, xlsx, collection, digested), write_csv(results, csv_), write_json(results, json_, collection, digested)]
