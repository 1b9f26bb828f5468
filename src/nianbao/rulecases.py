"""Run the pass/fail cases written beside each rule, through real workbooks.

Every case builds a filled template with the case's values (on top of a complete all-zero
report), optionally edits a label as a user would, reads it back and checks it, then counts the
findings of the rule under test. The test suite and ``nianbao rules test`` both run them.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from nianbao.layout import form_layout
from nianbao.pipeline import check
from nianbao.resources import rules_dir
from nianbao.result import Result
from nianbao.rules.catalogue import Rule, ruleset
from nianbao.samples import fill
from nianbao.spec import FormSpec, all_specs


@dataclass(frozen=True)
class Case:
    rule: Rule
    spec: FormSpec
    outcome: str  # "pass" or "fail"
    index: int
    data: dict

    @property
    def id(self) -> str:
        return f"{self.rule.id}-{self.spec.short}-{self.outcome}{self.index + 1}"

    @property
    def expected(self) -> int | None:
        """How many findings of the rule the case must produce (None: at least one)."""
        return 0 if self.outcome == "pass" else self.data.get("expect")


def _relabel(path: Path, spec: FormSpec, labels: dict[str, str]) -> None:
    wb = load_workbook(path)
    for key, text in labels.items():
        cell = form_layout(spec).inputs[key]
        label = cell.labels[0]
        wb[cell.sheet].cell(label.row + 1, label.col + 1).value = text
    wb.save(path)


def _fixture(case: Case, name: str) -> Path:
    """A report file in rules/reports/, named by its plain file name (a case names a file, never a path)."""
    if Path(name).name != name:
        raise ValueError(f"{case.id}: report 应为 rules/reports/ 中的文件名，不能是路径：{name!r}")
    return rules_dir() / "reports" / name


def _report(case: Case, folder: Path) -> Path:
    """A published report to import: a file in rules/reports/ (a text, or a binary one such as a PDF,
    copied as it is) or inline text, with edits applied to text."""
    from nianbao.importers import SUFFIXES

    given = case.data["report"]
    suffix = Path(given).suffix.lower() if "\n" not in given else ""
    if suffix in SUFFIXES and suffix != ".txt":
        if case.data.get("edit"):
            raise ValueError(f"{case.id}: edit applies to text reports only")
        path = folder / f"report{suffix}"
        path.write_bytes(_fixture(case, given).read_bytes())
        return path
    text = _fixture(case, given).read_text(encoding="utf-8") if suffix == ".txt" else given
    for old, new in case.data.get("edit") or []:
        if old not in text:
            raise ValueError(f"{case.id}: edit text not found: {old!r}")
        text = text.replace(old, new)
    path = folder / "report.txt"
    path.write_text(text, encoding="utf-8")
    return path


_RELATIVE = re.compile(r"\{year([+-]\d+)?\}")


def _relative(value: object, year: int) -> object:
    """A case value that names a year relative to the format's first (``{year}``, ``{year+1}-06-01``), made absolute."""
    if not isinstance(value, str) or not _RELATIVE.search(value):
        return value
    text = _RELATIVE.sub(lambda m: str(year + int(m.group(1) or 0)), value)
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    return dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text


def case_values(case: Case, field: str) -> dict:
    """A case's ``values`` (or ``previous``, ``twin``...) with relative years made absolute."""
    return {k: _relative(v, case.spec.year_from) for k, v in (case.data.get(field) or {}).items()}


def run_case_files(case: Case, folder: Path) -> Result:
    if "report" in case.data:
        return check(_report(case, folder))
    values = case_values(case, "values")
    if case.data.get("template"):  # the template as distributed, nothing filled but ``values``
        from nianbao.template import build

        current = build(case.spec, folder / "current.xlsx", values=values)
    else:
        current = fill(case.spec, folder / "current.xlsx", values)
    if case.data.get("relabel"):
        _relabel(current, case.spec, case.data["relabel"])
    if "twin" in case.data:  # a second report of the same office and year, checked in one batch
        from nianbao.batch import check_many

        twin = fill(case.spec, folder / "twin.xlsx", values | case_values(case, "twin"))
        return check_many([current, twin], copies="none", jobs=1)[0]
    if "peers" in case.data:  # other offices' reports checked in one batch: {count: N, values: {...}}
        from nianbao.batch import check_many

        peers = case.data["peers"]
        others = [fill(case.spec, folder / f"peer{n}.xlsx", (peers.get("values") or {}) | {"meta.office": f"同批单位{n}"})
                  for n in range(int(peers["count"]))]
        return check_many([current, *others], copies="none", jobs=1)[0]
    previous = None
    if "previous" in case.data:
        year = values.get("meta.year", case.spec.year_from)
        previous = fill(case.spec, folder / "previous.xlsx", case_values(case, "previous"), year=int(year) - 1)
    return check(current, previous)


def run_case(case: Case) -> str | None:
    """None when the case behaves as written, else what went wrong."""
    with tempfile.TemporaryDirectory() as tmp:
        result = run_case_files(case, Path(tmp))
    if result.reason:
        return f"文件无法检查：{result.reason}"
    hits = [f for f in result.findings if f.rule == case.rule.id]
    expected = case.expected
    if (expected is None and not hits) or (expected is not None and len(hits) != expected):
        want = "至少 1" if expected is None else str(expected)
        seen = "; ".join(f"{f.sheet}!{f.cell} {f.message}" for f in hits) or "无"
        return f"应有 {want} 条 {case.rule.id} 发现，实际 {len(hits)} 条（{seen}）"
    return None


def all_cases() -> list[Case]:
    cases = []
    for spec in all_specs():
        for rule in ruleset(spec).rules:
            for outcome in ("pass", "fail"):
                for i, data in enumerate(rule.cases[outcome]):
                    # An imported report picks its own format: its case runs once, with the format it finds.
                    if "report" in data and spec is not all_specs()[0] and rule.file == "common.yaml":
                        continue
                    cases.append(Case(rule, spec, outcome, i, data))
    return cases
