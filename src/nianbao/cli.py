"""The ``nianbao`` command: a thin layer over the library API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from nianbao.annotate import annotate
from nianbao.check import Result, check
from nianbao.findings import ERROR
from nianbao.layout import form_layout
from nianbao.rules.catalogue import RuleError, all_rules
from nianbao.spec import SpecError, load_spec

app = typer.Typer(
    help="政府信息公开工作年度报告检查工具 / rules checker for government information disclosure annual reports.",
    no_args_is_help=True,
    add_completion=False,
)
rules_app = typer.Typer(help="规则目录 / the rule catalogue.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

FormatOption = typer.Option(..., "--format", "-f", help="报告格式 / format: 2019 (〔2019〕60号) 或 2021 (〔2021〕30号)")


def _spec(format_id: str):
    try:
        return load_spec(format_id)
    except (SpecError, RuleError) as exc:
        err.print(f"[red]错误：[/red]{exc}")
        raise typer.Exit(2) from None


@app.command()
def template(
    format_id: str = FormatOption,
    output: Path = typer.Option(..., "-o", "--output", help="输出文件 / output .xlsx"),
    office: str = typer.Option(None, "--office", help="预填机关名称 / office name"),
    year: int = typer.Option(None, "--year", help="预填报告年度 / report year"),
):
    """生成填报模板 / build the Excel template of a format."""
    from nianbao.template import build

    spec = _spec(format_id)
    if output.suffix.lower() != ".xlsx":
        err.print("[red]错误：[/red]模板文件名应以 .xlsx 结尾")
        raise typer.Exit(2)
    try:
        build(spec, output, office=office, year=year)
    except OSError as exc:
        err.print(f"[red]错误：[/red]无法写出 {output}：{exc.strerror or exc}")
        raise typer.Exit(2) from None
    out.print(f"已生成 {spec.title}（{spec.notice}）模板：{output}")


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
    table = Table("key", "工作表", "单元格", "行", "列", "类型")
    for r in rows:
        table.add_row(r["key"], r["sheet"], r["cell"], r["row"] or "", r["column"] or "", r["type"])
    out.print(table)


def _output_path(source: Path, out_dir: Path | None) -> Path:
    if out_dir is not None:
        return out_dir / source.name
    return source.with_name(f"{source.stem}.检查{source.suffix}")


def _print_result(result: Result) -> None:
    if result.status == "failed":
        out.print(f"[red]✗ 无法检查[/red] {result.path}：{result.reason}")
        return
    mark = {"errors": "[red]✗[/red]", "warnings": "[yellow]![/yellow]", "clean": "[green]✓[/green]"}[result.status]
    out.print(f"{mark} {result.path}（{result.format}）：错误 {result.errors} 项，提示 {result.warnings} 项")
    for f in result.findings:
        colour = "red" if f.severity == ERROR else "yellow"
        place = f"{f.sheet}!{f.cell}" if f.cell else (f.sheet or "")
        out.print(f"  [{colour}]{f.severity}[/{colour}] {f.rule} {place}  {f.message}")
    if result.output:
        out.print(f"  批注副本：{result.output}")


@app.command("check")
def check_command(
    files: list[Path] = typer.Argument(..., help="要检查的工作簿 / workbooks to check"),
    previous: Path = typer.Option(None, "--previous", "-p", help="上一年度报告，用于跨年度规则 / last year's report"),
    out_dir: Path = typer.Option(None, "--out", help="批注副本的输出文件夹（默认在原文件旁）/ folder for annotated copies"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出检查结果 / print one findings document"),
    no_copy: bool = typer.Option(False, "--no-copy", help="不写批注副本 / do not write annotated copies"),
):
    """检查工作簿并写出批注副本（原文件不变）/ check workbooks and write annotated copies.

    退出码 / exit code: 0 无错误, 1 有错误, 2 有文件无法检查。
    """
    results = []
    for path in files:
        try:
            result = check(path, previous)
        except (RuleError, SpecError) as exc:  # our own configuration is broken: stop, clearly
            err.print(f"[red]规则或格式文件有误：[/red]{exc}")
            raise typer.Exit(2) from None
        if result.status != "failed" and not no_copy:
            dest = _output_path(path, out_dir)
            try:
                result.output = annotate(path, result.findings, dest)
            except ValueError as exc:
                result.reason = f"{exc}；请用 --out 指定其他文件夹"
            except OSError as exc:
                result.reason = f"无法写出批注副本 {dest}：{exc.strerror or exc}"
        results.append(result)
        if not as_json:
            _print_result(result)
    if as_json:
        document = {"version": 1, "files": [r.to_dict() for r in results]}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(2)
    if any(r.errors for r in results):
        raise typer.Exit(1)


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
        err.print(f"[red]错误：[/red]没有编号为 {rule_id} 的规则（nianbao rules list 列出全部规则）")
        raise typer.Exit(2)
    out.print(text, markup=False)


@rules_app.command("docs")
def rules_docs(output: Path = typer.Option(Path("docs/rules.md"), "-o", "--output", help="输出文件")):
    """由规则文件生成规则文档 / generate docs/rules.md from the rule files."""
    from nianbao.docs import rules_markdown

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rules_markdown(), encoding="utf-8")
    out.print(f"已生成 {output}")


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
