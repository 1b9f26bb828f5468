"""The outcome of checking one file: its findings, or the one-line reason it could not be checked."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from nianbao.choices import Status
from nianbao.explanations import Explanation, is_open
from nianbao.files import describe_os_error
from nianbao.findings import ERROR, WARNING, Finding
from nianbao.read import ReadError
from nianbao.rules.compile import RuleError
from nianbao.spec import SpecError, load_spec
from nianbao.values import Values

# The entries of a template's hidden record that a result keeps: what it was made as, and for whom.
# Issues of an input cell that may hold a formula (a cached error comes from one): the copy writes it as text.
FORMULA_ISSUES = ("formula", "formula_no_cache", "error_value")
IDENTITY = ("format", "template_version", "fingerprint", "roster_code", "roster_office", "roster_year", "distribution")


@dataclass
class Result:
    """The outcome of checking one file."""

    path: Path
    format: str | None = None
    office: str | None = None
    year: int | None = None
    findings: list[Finding] = field(default_factory=list)
    reason: str | None = None  # why the file could not be checked
    error: str | None = None  # the exception behind ``reason``, for maintainers
    values: Values | None = None
    output: Path | None = None  # the annotated copy, once written
    previous: dict | None = None  # last year's report in a batch: {"path", "match"} (roster.MATCHES)
    previous_note: str | None = None  # why none was found, when one was looked for
    identity: dict[str, str] = field(default_factory=dict)  # the template's hidden record (IDENTITY)
    stale: list[Explanation] = field(default_factory=list)  # explanations whose finding no longer occurs
    # Cells of an imported report the importer could not locate (key -> why): a limit of the
    # reading, not an error of the report. A result with any is a partial check.
    unread: dict[str, str] = field(default_factory=dict)
    formulas: list[tuple[str, str]] = field(default_factory=list)  # input cells holding a formula (sheet, A1), not read
    attachment: bool = False  # under a roster: a text with none of the official tables, listed, not checked

    def has_no_table(self) -> bool:
        """An imported text in which not one cell of any official table was found: a cover note, not a report.
        A PDF of page images had nothing read at all: it may well be the report (I005 says so), never set aside."""
        from nianbao.importers.document import IMAGE_ONLY

        if self.reason is not None or not self.format or not self.unread or any(f.rule == IMAGE_ONLY for f in self.findings):
            return False
        return all(key in self.unread for key, cell in load_spec(self.format).cells.items() if cell.table)

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        """提示 not explained: those still asking for a fix or a 说明."""
        return sum(f.severity == WARNING and is_open(f) for f in self.findings)

    @property
    def explained(self) -> int:
        """提示 explained in the 说明 column."""
        return sum(f.severity == WARNING and not is_open(f) for f in self.findings)

    @property
    def complete(self) -> bool:
        return not self.unread

    def unread_by_table(self) -> dict[str, list[str]]:
        """Unread cells by the table (or the text sheet) they belong to."""
        spec = load_spec(self.format) if self.format else None
        grouped: dict[str, list[str]] = {}
        for key in self.unread:
            cell = spec.cells.get(key) if spec else None
            place = spec.table(key.split(".")[0]).sheet if cell and cell.table else (spec.text_sheet if spec else "")
            grouped.setdefault(place, []).append(key)
        return grouped

    @property
    def reading(self) -> str:
        """完整, or which tables had cells the importer could not read (a limit of the reading)."""
        if self.complete:
            return "完整"
        return "部分：" + "；".join(f"{table} {len(keys)} 格未能读取" for table, keys in self.unread_by_table().items())

    @property
    def status(self) -> str:
        if self.reason is not None:
            return Status.FAILED.value
        state = Status.ERRORS if self.errors else Status.WARNINGS if self.warnings else Status.EXPLAINED if self.explained else Status.CLEAN
        return state.value

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "format": self.format,
            "office": self.office,
            "year": self.year,
            "status": self.status,
            "reason": self.reason,
            "error": self.error,
            "output": str(self.output) if self.output else None,
            "previous": self.previous,
            "previous_note": self.previous_note,
            "identity": self.identity,
            "errors": self.errors,
            "warnings": self.warnings,
            "explained": self.explained,
            "checked": "partial" if self.unread else "full",
            "unread": [{"key": k, "reason": why} for k, why in self.unread.items()],
            "findings": [f.to_dict() for f in self.findings],
            "stale_explanations": [asdict(e) for e in self.stale],
        }

    def fail(self, exc: BaseException) -> Result:
        """Mark the file as not checked because of ``exc``: a one-line reason for the user."""
        self.reason, self.error = failure_reason(exc), type(exc).__name__
        self.findings, self.values, self.unread = [], None, {}
        return self

    def __repr__(self) -> str:
        return f"<Result {self.path.name} {self.status}: 错误 {self.errors}，提示 {self.warnings}，已说明 {self.explained}>"

    def frame(self) -> pd.DataFrame:
        """The findings as a DataFrame, one row per finding."""
        return pd.DataFrame([f.to_dict() for f in self.findings])


def failure_reason(exc: BaseException) -> str:
    """Why a file could not be checked, in one line of Chinese, whatever went wrong."""
    if isinstance(exc, ReadError):
        return str(exc)
    if isinstance(exc, (RuleError, SpecError)):  # ours, the same for every file: named, never blamed on the file
        return f"规则或格式文件有误（不是此文件的问题）：{exc}"
    if isinstance(exc, MemoryError):
        return "文件过大或结构异常，读取时内存不足"
    if isinstance(exc, RecursionError):
        return "文件结构嵌套过深，无法读取"
    if isinstance(exc, OSError):
        return f"无法读写文件：{describe_os_error(exc)}"
    return f"检查时出现意外错误（{type(exc).__name__}），文件可能已损坏；请把此文件报告给 nianbao 维护者"


def describe(result: Result, values: Values) -> Result:
    """Fill in what a result says about its report: format, office, year."""
    result.format = values.spec.id
    office, year = values.value("meta.office"), values.value("meta.year")
    result.office = office if isinstance(office, str) else None
    result.year = year if isinstance(year, int) else None
    result.identity = {k: v for k, v in values.meta.items() if k in IDENTITY}
    result.unread = dict(values.unread)
    result.formulas = [values.where[k] for k, c in values.issues.items() if c.issue in FORMULA_ISSUES and k in values.where]
    return result


