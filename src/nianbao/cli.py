"""The ``nianbao`` command: a thin layer over the library API."""

from __future__ import annotations

import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from nianbao.choices import Copies, FailOn
from nianbao.explanations import said
from nianbao.files import describe_os_error, shown
from nianbao.findings import ERROR
from nianbao.helptext import chinese
from nianbao.layout import form_layout
from nianbao.result import Result
from nianbao.rules.catalogue import RuleError, all_rules
from nianbao.spec import SpecError, load_spec

# Plain help text (no rich panels): it wraps to any width and is never cut off when piped.
app = typer.Typer(
    help="政府信息公开工作年度报告检查工具 / rules checker for government information disclosure annual reports.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
rules_app = typer.Typer(help="规则目录 / the rule catalogue.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(rules_app, name="rules")


def _version(show: bool) -> None:
    if show:
        from nianbao import __version__

        out.print(f"nianbao {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="显示版本 / show the version")):
    """政府信息公开工作年度报告检查工具 / rules checker for government information disclosure annual reports."""
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ROUND_RESULTS = "检查结果"  # where check --round writes the summary in a round folder, unless --out says
FormatOption = typer.Option(..., "--format", "-f", help="报告格式 / format: 2019 (〔2019〕60号) 或 2021 (〔2021〕30号)")
ForceOption = typer.Option(False, "--force", help="替换已有的文件 / replace an existing file")


def _stop(message: str) -> NoReturn:
    """End the command with exit code 2 and one line saying why (printed as plain text, never markup)."""
    err.print(Text.assemble(("错误：", "red"), message))
    raise typer.Exit(2)


def _refuse_existing(path: Path, force: bool) -> None:
    """A user's file is never replaced unless --force says so."""
    if path.exists() and not force:
        _stop(f"{path} 已存在，未覆盖；换一个文件名，或加 --force 替换它")


def _spec(format_id: str):
    try:
        return load_spec(format_id)
    except (SpecError, RuleError) as exc:
        _stop(str(exc))


@app.command()
def template(
    format_id: str = FormatOption,
    output: Path = typer.Option(..., "-o", "--output", help="输出文件 / output .xlsx"),
    office: str = typer.Option(None, "--office", help="预填机关名称 / office name"),
    year: int = typer.Option(None, "--year", help="预填报告年度 / report year"),
    macro: bool = typer.Option(False, "--macro", help="带「检查」按钮的 .xlsm（需要 xlwings，见 docs/excel.md）/ with the check button"),
    force: bool = ForceOption,
):
    """生成填报模板 / build the Excel template of a format."""
    from nianbao.template import build

    spec = _spec(format_id)
    suffix = ".xlsm" if macro else ".xlsx"
    if output.suffix.lower() != suffix:
        _stop(f"模板文件名应以 {suffix} 结尾")
    _refuse_existing(output, force)
    try:
        build(spec, output, office=office, year=year, macro=macro)
    except OSError as exc:
        _stop(f"无法写出 {output}：{describe_os_error(exc)}")
    out.print(f"已生成 {spec.title}（{spec.notice}）模板：{output}")


@app.command("import")
def import_command(
    report: Path = typer.Argument(..., help="已发布的报告 / a published report: .txt .md .html .htm .docx .pdf"),
    output: Path = typer.Option(..., "-o", "--output", help="输出的模板文件 / the filled template (.xlsx)"),
    force: bool = ForceOption,
):
    """导入已发布的报告，填入对应格式的模板 / import a published report into the template of its format.

    按标签定位每个数值，不猜测：找不到的单元格留空并列出。Values are located by their labels; what
    cannot be found is listed and left blank, never filled with 0.
    """
    from nianbao.importers import ImportError_, import_report, write_template

    problem = None
    if output.is_dir():
        problem = f"{output} 是一个文件夹；请给出文件名，如 {output / (report.stem + '.xlsx')}"
    elif output.suffix.lower() != ".xlsx":
        problem = f"输出文件名应以 .xlsx 结尾（{output.name}）"
    elif output.exists() and output.resolve() == report.resolve():
        problem = "输出文件与要导入的报告是同一个文件"
    if problem:
        _stop(problem)
    _refuse_existing(output, force)
    try:
        imported = import_report(report)
    except ImportError_ as exc:
        err.print(f"[red]无法导入[/red] {escape(str(report))}：{escape(str(exc))}")
        raise typer.Exit(2) from None
    try:
        write_template(imported, output)
    except OSError as exc:
        _stop(f"无法写出 {output}：{describe_os_error(exc)}")
    spec = imported.spec
    found = sum(1 for k, v in imported.values.items() if not k.startswith("text.") and v is not None)
    out.print(f"{report} → {output}（{spec.notice}格式）：导入 {found} 个数值，{len(imported.missing)} 个单元格未找到")
    from nianbao.rules.catalogue import ruleset

    for hit in imported.hits:
        rule = ruleset(spec).get(hit.rule)
        out.print(f"  [yellow]{rule.severity}[/yellow] {hit.rule} {rule.title}：{hit.params.get('detail', '')}")
    by_table: dict[str, list[str]] = {}
    for key in imported.missing:
        by_table.setdefault(spec.cells[key].table or spec.text_sheet, []).append(key)
    for table, keys in by_table.items():
        listed = [spec.cells[k].row_label or spec.cells[k].label for k in keys]
        names = "、".join(dict.fromkeys(listed))
        out.print(f"  {escape(table)}：{len(keys)} 个单元格未找到（{escape(names[:120])}{'……' if len(names) > 120 else ''}）", markup=True)
    out.print(f"检查：nianbao check {output}  或直接  nianbao check {report}")


@app.command("excel-setup")
def excel_setup(
    workbook: Path = typer.Argument(..., help="带按钮的模板 / a template built with --macro (.xlsm)"),
    interpreter: str = typer.Option(None, "--interpreter", help="Windows 上 Python 的路径（默认为运行本命令的 Python）/ the Python on Windows"),
    mac_interpreter: str = typer.Option(None, "--mac-interpreter", help="Mac 上 Python 的路径（只在给出时写入）/ the Python on a Mac"),
    no_check: bool = typer.Option(False, "--no-check", help="不检查路径是否存在（为其他电脑设置时）/ for another computer's path"),
):
    """让模板的「检查」按钮使用本机的 Python（写入 xlwings.conf 工作表）/ point the buttons at this PC's Python."""
    from nianbao.excel import setup
    from nianbao.read import ReadError

    if interpreter is None:
        exe = Path(sys.executable)
        windowless = exe.with_name("pythonw.exe")  # no console window flashing on Windows
        interpreter = str(windowless if windowless.exists() else exe)
    missing = [p for p in (interpreter, mac_interpreter) if p and not no_check and not Path(os.path.expandvars(p)).is_file()]
    if missing:
        _stop(f"找不到 Python：{missing[0]}（若是其他电脑上的路径，加 --no-check）")
    given = {"Interpreter_Mac" if sys.platform == "darwin" else "Interpreter_Win": interpreter}
    if mac_interpreter:
        given["Interpreter_Mac"] = mac_interpreter
    try:
        setup(workbook, given)
    except ReadError as exc:
        _stop(str(exc))
    except OSError as exc:
        _stop(f"无法写入 {workbook}：{describe_os_error(exc)}")
    platforms = {"Interpreter_Win": "Windows 上", "Interpreter_Mac": "Mac 上"}
    out.print(f"已设置 {escape(str(workbook))}：「检查」按钮" + "；".join(f"{platforms[k]}使用 {escape(v)}" for k, v in given.items()))


@app.command()
def cells(
    format_id: str = FormatOption,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 / print JSON"),
):
    """列出每个填报单元格 / print the cell map: key, labels, sheet, address, defined name, type."""
    spec = _spec(format_id)
    rows = []
    for key, cell in form_layout(spec).inputs.items():
        info = spec.cells[key]
        rows.append({
            "key": key, "table": info.table, "row": info.row_label, "column": info.column_label,
            "sheet": cell.sheet, "cell": cell.address, "name": cell.name, "type": info.type, "required": info.required,
        })
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    if not out.is_terminal:  # piped: one tab-separated line per cell, nothing cut to fit a width
        for r in [{"key": "key", "sheet": "工作表", "cell": "单元格", "row": "行", "column": "列", "type": "类型"}, *rows]:
            sys.stdout.write("\t".join(r[k] or "" for k in ("key", "sheet", "cell", "row", "column", "type")) + "\n")
        return
    table = Table("key", "工作表", "单元格", "行", "列", "类型")
    for r in rows:
        table.add_row(r["key"], r["sheet"], r["cell"], r["row"] or "", r["column"] or "", r["type"])
    out.print(table)


SHOWN = 30  # findings printed per file; the annotated copy and --json have them all


def _print_result(result: Result, findings: bool = True) -> None:
    if result.status == "failed":
        out.print(f"[red]✗ 无法检查[/red] {escape(shown(result.path))}：{escape(shown(result.reason or ''))}")
        return
    mark = {"errors": "[red]✗[/red]", "warnings": "[yellow]![/yellow]", "explained": "[green]✓[/green]", "clean": "[green]✓[/green]"}[result.status]
    if not result.complete and result.status in ("clean", "explained"):  # nothing found in what could be read
        mark = "[magenta]◐[/magenta]"
    explained = f"，提示已说明 {result.explained} 项" if result.explained else ""
    out.print(f"{mark} {escape(shown(result.path))}（{result.format}）：错误 {result.errors} 项，提示 {result.warnings} 项{explained}")
    for table, keys in result.unread_by_table().items():  # a limit of the reading, not the report's error
        out.print(f"  [magenta]部分检查[/magenta] {escape(table)}：{len(keys)} 个单元格未能读取（{escape(result.unread[keys[0]])}……）"
                  if len(keys) > 1 else f"  [magenta]部分检查[/magenta] {escape(table)}：1 个单元格未能读取（{escape(result.unread[keys[0]])}）")
    if result.previous:
        from nianbao.roster import MATCHES

        out.print(f"  上一年度报告：{escape(shown(result.previous['path']))}（{MATCHES[result.previous['match']]}）")
    elif result.previous_note:
        out.print(f"  [yellow]未配对上一年度报告[/yellow]：{escape(result.previous_note)}，跨年度规则未执行")
    if not findings:
        return
    for f in result.findings[:SHOWN]:
        colour = "red" if f.severity == ERROR else "yellow"
        place = f"{f.sheet}!{f.cell}" if f.cell else (f.sheet or "")
        note = f"\n    {escape(said(f))}" if f.explanation else ""
        out.print(f"  [{colour}]{f.severity}[/{colour}] {f.rule} {escape(place)}  {escape(f.message)}{note}")
    for e in result.stale:
        out.print(f"  [dim]说明已不再需要[/dim] {e.rule} {escape(e.message)}：{escape(e.text)}")
    if len(result.findings) > SHOWN:
        out.print(f"  ……另有 {len(result.findings) - SHOWN} 项，完整列表见批注副本的「检查结果」工作表或 --json 输出")
    if result.output:
        out.print(f"  批注副本：{escape(shown(result.output))}")


@contextmanager
def _progress_bar(enabled: bool):
    """A progress bar on a terminal; a no-op callback otherwise."""
    if not enabled:
        yield None
        return
    labels = {"check": "检查", "annotate": "写出批注副本"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=out, transient=True) as bar:
        tasks: dict[str, int] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase in labels:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(labels[phase], total=total)
                bar.advance(tasks[phase], done)

        yield advance


@app.command("check")
def check_command(
    inputs: list[str] = typer.Argument(..., help="工作簿、文件夹或通配符 / workbooks, folders or glob patterns"),
    previous: Path = typer.Option(None, "--previous", "-p", help="上一年度报告，用于跨年度规则 / last year's report, for every input"),
    previous_dir: Path = typer.Option(None, "--previous-dir", help="上一年度报告所在文件夹（按机关和年度配对）/ last year's collection"),
    out_dir: Path = typer.Option(None, "--out", "-o", help="输出文件夹：批注副本与汇总（默认批注副本在原文件旁）/ output folder"),
    copies: Copies = typer.Option(Copies.FINDINGS, "--copies", help="写哪些批注副本 / which annotated copies to write"),
    fail_on: FailOn = typer.Option(FailOn.ERROR, "--fail-on",
                                   help="退出码为 1 的条件：error/错误（有错误）或 warning/提示（有错误或提示）/ what makes the exit code 1"),
    jobs: int = typer.Option(None, "--jobs", "-j", help="并行进程数（默认为 CPU 核数）/ worker processes"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出检查结果 / print one findings document"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="只输出结论 / only the verdict"),
    roster_path: Path = typer.Option(None, "--roster", help="机关名单（.xlsx/.csv）：汇总中列出每个机关的报送情况（需要 --out）/ the roster"),
    year: int = typer.Option(None, "--year", help="本次收集的报告年度（默认取下发标识中最多的年度）/ the year collected"),
    round_dir: str = typer.Option(None, "--round", help="轮次文件夹或数据库 URL：本次收回的文件加入轮次，按每个机关最新的一份汇总 / add to a round"),
):
    """检查工作簿，写出批注副本（原文件不变）；指定 --out 时另写 汇总.xlsx、summary.csv、summary.json。

    Check workbooks and write annotated copies; with --out, also a summary for supervisors.
    同一批文件中同一机关相邻两年的报告自动配对，执行跨年度规则。
    指定 --roster 时按名单列出每个机关的报送情况（未报送、通过、有错误、有提示、提示均已说明、无法检查）。
    退出码 / exit code: 0 通过, 1 有错误（--fail-on warning：有错误或未说明的提示）, 2 有文件无法检查或只能部分检查。
    """
    from nianbao.run import RunError, check_round

    if previous_dir is not None and not previous_dir.is_dir():
        _stop(f"--previous-dir {previous_dir} 不存在或不是文件夹")
    if previous is not None and not previous.is_file():
        _stop(f"--previous {previous} 不存在或不是文件")
    if year is not None and roster_path is None and round_dir is None:
        err.print("[yellow]注意[/yellow]：--year 只在给出 --roster 时使用（按名单收集哪一年度的报告），本次检查不受它影响")
    if round_dir is not None:
        return _check_round(inputs, round_dir, out_dir, previous_dir, year, jobs, quiet, fail_on)
    if roster_path is not None and out_dir is None:
        _stop("--roster 需要同时给出 --out（报送情况写在 --out 文件夹的 汇总.xlsx 中）")
    roster = _roster(roster_path) if roster_path is not None else None
    try:
        with _progress_bar(out.is_terminal and not quiet and not as_json) as progress:
            run = check_round(inputs, roster=roster, year=year, previous=previous, previous_dir=previous_dir, out=out_dir,
                              copies=copies, jobs=jobs, progress=progress)
    except KeyboardInterrupt:
        err.print("已中断：工作进程已停止，未写出汇总；已写出的批注副本都是完整的")
        raise typer.Exit(130) from None
    except RunError as exc:
        _stop(str(exc))
    if not run.results and run.collection is None:
        _stop("没有找到要检查的文件（.xlsx/.xlsm，或 .txt/.md/.html/.docx/.pdf 报告）")
    if as_json:
        sys.stdout.writelines(run.json_pieces())
        sys.stdout.write("\n")
    else:
        _print_run(run, quiet)
    raise typer.Exit(run.exit_code(fail_on))


def _print_run(run, quiet: bool) -> None:
    for result in run.results:
        if not quiet:
            _print_result(result)
        elif result.status in ("failed", "errors") or not result.complete:  # quiet still names the files to act on
            _print_result(result, findings=False)
    from nianbao.summary import files_line, findings_line, tally

    counted = tally(run.results)
    out.print(escape(files_line(counted)))  # files, as in 汇总.xlsx and summary.json
    out.print(escape(findings_line(counted)) + (f"；汇总：{escape(str(run.summary[0]))}" if run.summary else ""))
    if run.collection is not None:
        _print_collection(run.collection)


def _open_round(location: str, create: bool = False):
    from nianbao.round import Round, RoundError

    try:
        return Round.open(location, create=create)
    except RoundError as exc:
        _stop(str(exc))


def _check_round(inputs: list[str], location: str, out_dir: Path | None, previous_dir: Path | None, year: int | None, jobs: int | None,
                 quiet: bool, fail_on: FailOn) -> None:
    """check --round: add the files to the round, check each office's latest submission, export the summary."""
    from nianbao.files import Destinations, OutputError, folder_lock
    from nianbao.round.checking import add_collection, check_latest
    from nianbao.round.export import export
    from nianbao.round.view import round_view
    from nianbao.run import Run, RunError

    store = _open_round(location)
    if out_dir is None and store.folder is None:
        _stop("轮次在数据库中时需要 --out（汇总写在该文件夹）")
    out_dir = out_dir or store.folder / ROUND_RESULTS
    try:
        with folder_lock(out_dir):
            intake = add_collection(store, inputs, year=year, jobs=jobs)
            if not intake.files:
                _stop("没有找到要检查的文件（.xlsx/.xlsm，或 .txt/.md/.html/.docx/.pdf 报告）")
            check_latest(store, previous_dir=previous_dir, jobs=jobs)
            view = round_view(store)
            summary = export(store, out_dir, Destinations(), view)
    except KeyboardInterrupt:
        err.print("已中断：已加入轮次的文件都是完整的，汇总未写出")
        raise typer.Exit(130) from None
    except (OutputError, RunError) as exc:
        _stop(str(exc))
    except OSError as exc:
        _stop(f"无法写出汇总到 {out_dir}：{describe_os_error(exc)}")
    for path in intake.too_big:
        err.print(f"[yellow]未加入轮次[/yellow] {escape(str(path))}：文件过大")
    results = view.results()
    out.print(f"本次收回 {intake.files} 个文件，新加入轮次 {intake.added} 份（已在轮次中的不重复加入）；按每个机关最新的一份汇总")
    _print_attachments(intake.attachments)  # not in the round
    run = Run(results, view.collection(), summary)
    _print_run(run, quiet)
    raise typer.Exit(run.exit_code(fail_on))


def _roster(path: Path):
    from nianbao.roster import RosterError, read_roster

    try:
        roster = read_roster(path)
    except RosterError as exc:
        _stop(str(exc))
    if roster.blank_rows:
        out.print(f"名单 {escape(path.name)}：{len(roster.offices)} 个机关（跳过空行 {roster.blank_rows} 行）")
    return roster


def _print_attachments(attachments: list) -> None:
    if attachments:
        names = "、".join(escape(shown(r.path)) + (f"（{escape(o.name)}）" if o else "") for r, o in attachments[:5])
        out.print(f"{len(attachments)} 个附件不是年度报告（没有任何一张规定的表格），未检查：{names}"
                  + ("……" if len(attachments) > 5 else ""))


def _print_collection(collection) -> None:
    from nianbao.summary import roster_line

    if collection.unmatched:
        names = "、".join(escape(shown(r.path)) for r in collection.unmatched[:5]) + ("……" if len(collection.unmatched) > 5 else "")
        out.print(f"[yellow]{len(collection.unmatched)} 个文件不属于名单中的任何机关[/yellow]：{names}")
    if collection.problems:
        out.print(f"[yellow]{len(collection.problems)} 处下发标识不符[/yellow]（详见 汇总.xlsx 的「其他情况」）")
    _print_attachments(collection.attachments)
    missing = [e.office.name for e in collection.offices if e.status == "missing"]
    if missing:
        out.print(f"未报送：{escape('、'.join(missing[:10]))}{'……' if len(missing) > 10 else ''}")
    out.print(escape(roster_line(collection)))  # the same line as the top of 报送情况


@app.command()
def distribute(
    roster_path: Path = typer.Argument(..., help="机关名单 / the roster: .xlsx 或 .csv，含“机关名称”列，可有“编码”“联系人”“联系电话”"),
    format_id: str = FormatOption,
    year: int = typer.Option(..., "--year", help="报告年度 / the report year"),
    out_dir: Path = typer.Option(..., "-o", "--out", help="输出文件夹 / output folder"),
    previous_dir: Path = typer.Option(None, "--previous-dir", help="去年收回的报告：预填“上年结转” / last year's collection"),
    macro: bool = typer.Option(False, "--macro", help="下发带「检查」按钮的 .xlsm / with the check button"),
    jobs: int = typer.Option(None, "--jobs", "-j", help="并行进程数 / worker processes"),
    round_dir: str = typer.Option(None, "--round", help="轮次文件夹或数据库 URL（有 --url 时默认为输出文件夹）：创建轮次或加入已有轮次 / the round"),
    url: str = typer.Option(None, "--url", help="nianbao serve 的地址，如 http://10.0.0.5:8000：每个机关一个上传链接 / the server's base URL"),
    deadline: str = typer.Option(None, "--deadline", help="报送截止日期，如 2026-01-31 / the deadline"),
    grace: str = typer.Option(None, "--grace", help="宽限截止日期 / the grace deadline"),
    force: bool = typer.Option(False, "--force", help="替换文件夹中上次下发的工作簿 / replace the workbooks of an earlier run"),
):
    """按名单下发模板：每个机关一个工作簿，机关名称和年度已填好并锁定，另写 下发清单.xlsx。

    Write one template per roster office (office and year filled and locked) and a list of them.
    有 --previous-dir 时，按上一年度报告预填“上年结转”（见 docs/distribution.md）。
    有 --url 时创建轮次（或加入 --round 指定的轮次），每个机关一个上传链接，写在下发清单和工作簿的「说明」中。
    """
    from nianbao.distribute import LIST_XLSX, file_name
    from nianbao.distribute import distribute as send
    from nianbao.files import Destinations, OutputError, folder_lock
    from nianbao.round.distribution import issue_links, record_distribution

    spec = _spec(format_id)
    if not (spec.year_from <= year <= (spec.year_to or year)):
        _stop(f"{spec.notice}格式适用于 {spec.year_from} 年度" + (f"至 {spec.year_to} 年度" if spec.year_to else "及以后")
              + f"，不适用于 {year} 年度")
    if previous_dir is not None and not previous_dir.is_dir():
        _stop(f"--previous-dir {previous_dir} 不存在或不是文件夹")
    _check_round_options(url, deadline, grace)
    roster = _roster(roster_path)
    taken = [p for p in [out_dir / file_name(o, year, macro) for o in roster.offices] + [out_dir / LIST_XLSX] if p.exists()]
    if taken and not force:
        _stop(f"{out_dir} 中已有 {len(taken)} 个同名文件（如 {taken[0].name}），未覆盖；换一个文件夹，或加 --force 替换上次下发的工作簿")
    location = round_dir or (str(out_dir) if url else None)
    store = _open_round(location, create=True) if location else None
    try:
        with folder_lock(out_dir):
            records, links = issue_links(store, roster, url) if store else ([], {})
            done = send(roster, spec, year, out_dir, previous_dir=previous_dir, macro=macro, jobs=jobs, destinations=Destinations([roster_path]),
                        links=links)
            if store:
                record_distribution(store, records, done, deadline=deadline, grace=grace, url=url, roster=roster_path.resolve(),
                                    previous_dir=previous_dir.resolve() if previous_dir else None)
    except KeyboardInterrupt:
        err.print("已中断：已写出的工作簿都是完整的，下发清单未写出")
        raise typer.Exit(130) from None
    except OutputError as exc:
        _stop(str(exc))
    except OSError as exc:
        _stop(f"无法写入 {out_dir}：{describe_os_error(exc)}")
    failed = [s for s in done.sent if s.reason]
    for sent in failed:
        err.print(f"[red]无法写出[/red] {escape(sent.office.name)}：{escape(sent.reason)}")
    prefilled = sum(bool(s.prefilled) for s in done.sent)
    out.print(f"已为 {len(done.sent) - len(failed)} 个机关生成 {year} 年度报告模板（{spec.notice}）：{out_dir}")
    if previous_dir is not None:
        out.print(f"按上一年度报告预填“上年结转”：{prefilled} 个；未预填 {len(done.sent) - prefilled} 个（原因见下发清单）")
    out.print(f"下发清单：{done.list_path}")
    if store:
        out.print(f"轮次：{escape(location)}" + (f"；每个机关的上传链接见下发清单，启动：nianbao serve {escape(location)}" if url else ""))
    if failed:
        raise typer.Exit(2)


def _check_round_options(url: str | None, deadline: str | None, grace: str | None) -> None:
    import datetime as dt
    import re

    if url is not None and not re.match(r"^https?://[^/\s]+", url):
        _stop(f"--url 应为 http:// 或 https:// 开头的地址，如 http://10.0.0.5:8000（{url}）")
    for option, value in (("--deadline", deadline), ("--grace", grace)):
        try:
            if value is not None:
                dt.date.fromisoformat(value)
        except ValueError:
            _stop(f"{option} 应为日期，如 2026-01-31（{value}）")
    if grace and not deadline or (grace and deadline and grace < deadline):
        _stop("--grace 需要同时给出 --deadline，且不早于截止日期")


@app.command()
def serve(
    location: str = typer.Argument(..., help="轮次文件夹或数据库 URL / the round"),
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址（默认只在本机；局域网内使用时给出本机的内网地址或 0.0.0.0）/ address"),
    port: int = typer.Option(8000, "--port", help="端口 / port"),
):
    """启动网上报送：各机关用自己的链接上传并立即看到检查结果；政务公开办登录后查看报送情况、退回或通过。

    Serve the round: offices upload through their links; the supervisor follows the round in a browser.
    政务公开办的密码第一次启动时取自环境变量 NIANBAO_ADMIN_PASSWORD（或用 nianbao password 设置）。
    """
    from nianbao.serve.app import run

    store = _open_round(location)
    if not store.setting("admin_password"):
        given = os.environ.get("NIANBAO_ADMIN_PASSWORD", "")
        if len(given) < 8:
            _stop("还没有设置政务公开办的密码：请先设置环境变量 NIANBAO_ADMIN_PASSWORD（至少 8 个字符），或运行 nianbao password " + location)
        _set_password(store, given)
    out.print(f"网上报送已启动：政务公开办登录 http://{host}:{port}/admin（用户 admin）；按 Ctrl-C 停止")
    run(store, host, port)


def _set_password(store, password: str) -> None:
    from nianbao.round.store import hash_password

    store.configure(admin_password=hash_password(password))


@app.command()
def password(location: str = typer.Argument(..., help="轮次文件夹或数据库 URL / the round")):
    """设置政务公开办登录 nianbao serve 的密码 / set the supervisor's password (prompted, or NIANBAO_ADMIN_PASSWORD)."""
    store = _open_round(location)
    given = os.environ.get("NIANBAO_ADMIN_PASSWORD") or typer.prompt("新密码", hide_input=True, confirmation_prompt=True)
    if len(given) < 8:
        _stop("密码至少 8 个字符")
    _set_password(store, given)
    out.print("已设置政务公开办的密码")


@rules_app.command("list")
def rules_list(format_id: str = typer.Option(None, "--format", "-f", help="只列出某一格式的规则 / only this format")):
    """列出规则 / list the rules."""
    if format_id:
        from nianbao.rules.catalogue import ruleset

        rules = sorted(ruleset(_spec(format_id)).rules, key=lambda r: r.id)
    else:
        rules = all_rules()
    table = Table("编号", "严重程度", "名称", "规则文件")
    for rule in rules:
        table.add_row(rule.id, rule.severity, rule.title, rule.file)
    out.print(table)


@rules_app.command("explain")
def rules_explain(rule_id: str = typer.Argument(..., help="规则编号，如 B301 / rule ID")):
    """解释一条规则 / explain one rule."""
    from nianbao.docs import explain

    text = explain(rule_id.upper())
    if text is None:
        _stop(f"没有编号为 {rule_id} 的规则（nianbao rules list 列出全部规则）")
    out.print(text, markup=False)


def _write_or_print(text: str, output: Path | None) -> None:
    from nianbao.files import atomic_path

    if output is None:
        sys.stdout.write(text)
        return
    try:
        with atomic_path(output) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    except OSError as exc:
        _stop(f"无法写出 {output}：{describe_os_error(exc)}")
    out.print(f"已生成 {escape(str(output))}")


@rules_app.command("docs")
def rules_docs(output: Path = typer.Option(None, "-o", "--output", help="输出文件（不给出时打印）/ output file, else printed")):
    """由规则文件生成规则文档 / the rule catalogue as Markdown (docs/rules.md in the repository)."""
    from nianbao.docs import rules_markdown

    _write_or_print(rules_markdown(), output)


@rules_app.command("schema")
def rules_schema(output: Path = typer.Option(None, "-o", "--output", help="输出文件（不给出时打印）/ output file, else printed")):
    """规则文件的 JSON Schema（编辑器据此补全和提示错误）/ a JSON Schema of the rule files, for editors."""
    from nianbao.rules.catalogue import json_schema

    _write_or_print(json.dumps(json_schema(), ensure_ascii=False, indent=1) + "\n", output)


@rules_app.command("test")
def rules_test():
    """运行规则文件中的全部 pass/fail 用例 / run every rule's pass and fail cases."""
    from nianbao.rulecases import all_cases, run_case

    failures = 0
    cases = all_cases()
    for case in cases:
        problem = run_case(case)
        if problem:
            failures += 1
            out.print(f"[red]✗[/red] {case.id}：{problem}")
    out.print(f"{len(cases) - failures} passed, {failures} failed")
    if failures:
        raise typer.Exit(1)


CONFIG_ERROR = 3  # a rule or format file is broken: no file was checked (2 says some files could not be)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt  # so a SIGTERM stops the workers and writes nothing partial, as Ctrl-C does


def _usage_error(exc) -> str:
    """Typer's (click's) usage errors, in Chinese with the English original."""
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    name = ", ".join(getattr(param, "opts", None) or [getattr(param, "name", None) or ""]) if param is not None else ""
    said = {
        "MissingParameter": f"缺少{'选项' if name.startswith('-') else '参数'} {name}",
        "BadParameter": f"{name} 的值无效",
        "NoSuchOption": f"没有选项 {getattr(exc, 'option_name', '')}",
        "BadOptionUsage": f"选项 {getattr(exc, 'option_name', '')} 用法有误",
    }.get(kind, "命令用法有误")
    command = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "nianbao"
    return f"错误：{said}（{exc.format_message()}）\n运行 {command} --help 查看用法 / see --help"


def main() -> None:
    """The ``nianbao`` command. Whatever happens, the user gets a line of Chinese, not a traceback."""
    signal.signal(signal.SIGTERM, _terminated)
    # A write that failed (a full disk) can leave a zip file whose cleanup fails again later:
    # that second failure says nothing new, and Python would print it as a traceback.
    sys.unraisablehook = lambda u: None if isinstance(u.exc_value, OSError) else sys.__unraisablehook__(u)
    usage = next(c for c in type.mro(typer.BadParameter) if c.__name__ == "UsageError")
    try:
        code = chinese(typer.main.get_command(app))(prog_name="nianbao", standalone_mode=False)
    except usage as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # "nianbao" alone: the help, as a successful run
            out.print(exc.format_message(), markup=False)
            sys.exit(0)
        err.print(_usage_error(exc), markup=False)
        sys.exit(exc.exit_code)
    except (RuleError, SpecError) as exc:  # our own configuration is broken: stop, clearly
        err.print(f"[red]规则或格式文件有误：[/red]{escape(str(exc))}")
        sys.exit(CONFIG_ERROR)
    except Exception as exc:  # a bug of ours: say so in one line; NIANBAO_DEBUG=1 shows the traceback
        if os.environ.get("NIANBAO_DEBUG") == "1":
            raise
        err.print(f"[red]nianbao 内部错误[/red]（{type(exc).__name__}）：{escape(str(exc))[:300]}；请把命令和文件报告给维护者")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
