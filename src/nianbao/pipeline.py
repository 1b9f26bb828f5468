"""The stages every check runs through: REPORT (one report alone), PAIR (a report and last year's),
BATCH (a report among the others checked with it). Each rule kind declares its stage; this module
only runs the stages in order and dresses their hits as findings. ``check()`` (one file), the batch
(nianbao/batch.py) and the 检查 button (nianbao/excel.py) all come through here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nianbao.explanations import explain
from nianbao.findings import Finding, Hit, finding_id, format_number
from nianbao.layout import form_layout
from nianbao.read import ReadError, read_workbook
from nianbao.result import Result, describe
from nianbao.rules.catalogue import RuleSet, ruleset
from nianbao.rules.kinds import REGISTRY, BatchReport, Stage
from nianbao.spec import FormSpec
from nianbao.values import Packed, Values

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def report_stage(rules: RuleSet, reports: list[Values]) -> list[list[Hit]]:
    """REPORT: each report's hits on its own (several reports of one format at once: the Pandera
    schema validates them in one call)."""
    hits: list[list[Hit]] = [[] for _ in reports]
    for kind in REGISTRY.values():
        for mine, found in zip(hits, kind.report(rules, rules.at(Stage.REPORT, kind.name), reports), strict=True):
            mine += found
    return hits


def pair_stage(rules: RuleSet, values: Values, previous: Values) -> list[Hit]:
    """PAIR: a report against last year's report of its office."""
    return [h for kind in REGISTRY.values() if (chosen := rules.at(Stage.PAIR, kind.name))
            for h in kind.pair(rules, chosen, values, previous)]


def batch_stage(reports: list[BatchReport | None]) -> dict[int, list[Hit]]:
    """BATCH: hits by report index, for each report among the others (None: a report not checked)."""
    found: dict[int, list[Hit]] = {}
    for kind in REGISTRY.values():
        for index, hits in kind.batch(reports).items():
            found.setdefault(index, []).extend(hits)
    return found


def extract(values: Values) -> Values:
    """What a batch keeps of a report once its REPORT stage is done: the cells its PAIR and BATCH rules read."""
    keys = ruleset(values.spec).kept_in_batch
    return Values(values.spec, {k: values.data[k] for k in keys if k in values.data},
                  where={k: values.where[k] for k in keys if k in values.where}, source=values.source,
                  explanations=values.explanations)


@cache
def _kept(spec, keys: frozenset[str]) -> tuple[dict[str, int], dict[tuple[str, str], tuple[str, str]]]:
    """The kept keys' positions, and each input cell's place as one shared tuple, for a format."""
    return {k: i for i, k in enumerate(sorted(keys))}, {(c.sheet, c.address): (c.sheet, c.address) for c in form_layout(spec).inputs.values()}


def compact(values: Values) -> Values:
    """An extract as the parent keeps it outside a batch's spill (pairing for distribution): values
    and places in tuples over keys shared by every report of its format (a dict per report cost
    64 KB; this is a few KB)."""
    index, places = _kept(values.spec, ruleset(values.spec).kept_in_batch)
    return Values(values.spec, Packed(index, values.data), where=Packed(index, values.where, lambda p: places.get(p, p)),
                  source=values.source, explanations=values.explanations)


@dataclass(frozen=True, slots=True)
class Compared:
    """What a batch holds in memory of a report: the cells its BATCH stage compares across the
    batch (RuleSet.compared_in_batch), in one tuple over keys shared by every report of its format."""

    spec: FormSpec
    data: Packed


def compared(values: Values) -> Compared:
    return Compared(values.spec, Packed(_kept(values.spec, ruleset(values.spec).compared_in_batch)[0], values.data))


def _message(template: str, params: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: format_number(params.get(m.group(1), m.group(0))), template)


def to_finding(rules: RuleSet, values: Values, hit: Hit) -> Finding:
    rule = rules.get(hit.rule)
    key = hit.keys[0] if hit.keys else None
    cell = rules.spec.cells.get(key) if key else None
    params = dict(hit.params)
    if cell is not None:
        params.setdefault("label", cell.label)
    places = [values.where[k] for k in hit.keys if k in values.where] or ([(hit.sheet, hit.cell)] if hit.sheet and hit.cell else [])
    sheet, address = places[0] if places else (hit.sheet, hit.cell)
    # What the report says and what it should say, by the names the different kinds of rule use.
    actual = next((params[k] for k in ("found", "left", "actual", "raw") if k in params), None)
    expected = next((params[k] for k in ("right", "expected") if k in params), None)
    return Finding(
        rule=rule.id, severity=rule.severity, message=_message(rule.message, params), sheet=sheet, cell=address, key=key,
        table=cell.table if cell else None, row=cell.row_label if cell else None, column=cell.column_label if cell else None,
        expected=expected, actual=actual, source=values.origins.get(key) if key else None, places=places,
        id=finding_id(rule.id, hit.keys, hit.anchor or ("" if hit.keys else f"{hit.sheet}:{hit.params.get('detail', '')}")),
    )


def _order(sheets: list[str]):
    """Findings in reading order: by sheet, then row, then column."""

    def key(f: Finding):
        sheet = sheets.index(f.sheet) if f.sheet in sheets else len(sheets)
        match = re.match(r"([A-Z]+)(\d+)", f.cell or "")
        place = (int(match.group(2)), len(match.group(1)), match.group(1)) if match else (0, 0, "")
        return (sheet, place, f.rule)

    return key


def sort_findings(spec, findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=_order([s.name for s in form_layout(spec).sheets]))


def findings_of(values: Values, hits: list[Hit]) -> list[Finding]:
    rules = ruleset(values.spec)
    return sort_findings(values.spec, [to_finding(rules, values, h) for h in hits])


def check_values(values: Values, previous: Values | None = None) -> list[Finding]:
    """All findings for one report's values: the REPORT stage, and PAIR with last year's report."""
    rules = ruleset(values.spec)
    (hits,) = report_stage(rules, [values])
    return findings_of(values, hits + (pair_stage(rules, values, previous) if previous is not None else []))


def read_any(path: Path) -> Values:
    """A filled template, or a published report (text, web page, Word, PDF) imported first."""
    from nianbao.discovery import OTHER_FORMATS
    from nianbao.importers import importable, read_report

    if path.suffix.lower() in OTHER_FORMATS:  # a WPS .et, an .ods: said as what it is, not as a damaged workbook
        raise ReadError(OTHER_FORMATS[path.suffix.lower()])
    return read_report(path) if importable(path) else read_workbook(path)


def check(path: str | Path, previous: str | Path | Values | None = None) -> Result:
    """Check one filled template or published report. Never raises for a bad file: ``Result.reason``
    says why it could not be checked."""
    result = Result(Path(path))
    try:
        values = read_any(Path(path))
    except Exception as exc:  # any file, however broken, gets a result, not a traceback
        return result.fail(exc)
    try:
        prev = read_any(Path(previous)) if isinstance(previous, (str, Path)) else previous
    except Exception as exc:
        result.fail(exc)
        result.reason = f"上一年度报告 {Path(previous).name} 无法读取：{result.reason}"
        return result
    try:
        result.values = values
        describe(result, values)
        result.findings = check_values(values, prev)
        result.stale = explain(result.findings, values.explanations)
    except Exception as exc:
        result.fail(exc)
    return result
