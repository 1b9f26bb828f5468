"""Checking many reports at once, in parallel, pairing each with last year's report.

1. Workers read and check chunks of files (all rules but the cross-year ones; the Pandera
   schema runs once per chunk and format on the stacked values). Each file comes back as its
   findings plus a small extract: the cells the cross-year rules read.
2. The parent pairs reports by office and year (or uses the one ``previous`` file given) and runs
   the cross-year rules on the extracts. Only findings and extracts are kept, so memory stays
   small however many files there are.
3. Workers write the annotated copies.
"""

from __future__ import annotations

import gc
import glob
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nianbao.annotate import annotate
from nianbao.check import Result, check_values, describe, read_any, sort_findings, to_finding
from nianbao.importers import import_report, importable, write_template
from nianbao.read import ReadError, Values
from nianbao.rules.catalogue import RuleSet, refs_of, ruleset
from nianbao.rules.engine import run_relations
from nianbao.schema import validate
from nianbao.spec import FormSpec

SUFFIXES = (".xlsx", ".xlsm")  # workbooks; published reports (importers.SUFFIXES) are imported first
LEGACY = (".xls",)  # found and listed with the reason they cannot be read, never passed over in silence
COPY_SUFFIX = ".检查"  # annotated copies written beside their input are named <stem>.检查.xlsx
COPIES = ("all", "findings", "none")
Progress = Callable[[str, int, int], None]  # (phase, files done since the last call, files in the phase)


@dataclass
class Item:
    """One file to check: where it is, and where its annotated copy goes."""

    path: Path
    dest: Path


@dataclass
class Checked:
    result: Result
    extract: Values | None  # the cells cross-year rules read; None when the file was unreadable


@cache
def _cross_year_keys(rules: RuleSet) -> frozenset[str]:
    keys = {"meta.office", "meta.year"}
    for rule in rules.of_kind("relation"):
        if rule.cross_year:
            keys |= {ref.key for instance in rules.instances[rule.id] for ref in refs_of(instance)}
    return frozenset(keys)


def _extract(values: Values) -> Values:
    keys = _cross_year_keys(ruleset(values.spec))
    return Values(
        values.spec,
        {k: values.data[k] for k in keys if k in values.data},
        where={k: values.where[k] for k in keys if k in values.where},
        source=values.source,
    )


def _is_input(path: Path) -> bool:
    return ((path.suffix.lower() in SUFFIXES + LEGACY or importable(path)) and not path.name.startswith(("~$", ".~lock", ".nianbao-"))
            and not path.stem.endswith(COPY_SUFFIX) and path.stem != "汇总")


def discover(inputs: Iterable[str | Path], out_dir: Path | None = None) -> tuple[list[Item], list[Result]]:
    """The files named by ``inputs`` (files, folders searched recursively, glob patterns), and a
    failed result for each input that matches nothing. Copies go to ``out_dir`` (mirroring the
    folders below each input folder) or beside their input."""
    items: list[Item] = []
    missing: list[Result] = []
    seen: set[Path] = set()
    taken: set[Path] = set()

    def add(path: Path, root: Path, named: bool = False) -> None:
        resolved = path.resolve()
        # Files found under the output folder are earlier outputs, unless named one by one.
        if resolved in seen or (not named and out_dir is not None and out_dir.resolve() in resolved.parents):
            return
        seen.add(resolved)
        suffix = path.suffix if path.suffix.lower() in SUFFIXES else ".xlsx"  # an imported report's copy is a workbook
        if out_dir is None:
            dest = path.with_name(f"{path.stem}{COPY_SUFFIX}{suffix}")
        else:
            dest = (out_dir / path.relative_to(root)).with_suffix(suffix)
            stem, n = dest.stem, 2
            while dest in taken:
                dest = dest.with_name(f"{stem}-{n}{dest.suffix}")
                n += 1
        taken.add(dest)
        items.append(Item(path, dest))

    for given in map(str, inputs):
        path = Path(given)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.is_file() and _is_input(found):
                    add(found, path)
        elif path.is_file():
            add(path, path.parent, named=True)
        elif matches := sorted(glob.glob(given, recursive=True)):
            for match in map(Path, matches):
                if match.is_file() and _is_input(match):
                    add(match, match.parent)
        else:
            missing.append(Result(path, reason="找不到文件或文件夹"))
    return items, missing


def _check_chunk(paths: list[Path]) -> list[Checked]:
    """Read and check a chunk of files (in a worker): everything but the cross-year rules."""
    # Reading makes many small objects and no reference cycles: the cyclic collector only costs time.
    gc.disable()
    try:
        return _check_files(paths)
    finally:
        gc.enable()


def _check_files(paths: list[Path]) -> list[Checked]:
    read: list[tuple[int, Values]] = []
    out: list[Checked] = []
    for path in paths:
        result = Result(path)
        try:
            values = read_any(path)
        except ReadError as exc:
            result.reason = str(exc)
            out.append(Checked(result, None))
            continue
        describe(result, values)
        read.append((len(out), values))
        out.append(Checked(result, None))
    by_spec: dict[FormSpec, list[tuple[int, Values]]] = {}
    for index, values in read:
        by_spec.setdefault(values.spec, []).append((index, values))
    for spec, group in by_spec.items():
        schema_hits = validate(ruleset(spec), [v for _, v in group])
        for (index, values), hits in zip(group, schema_hits, strict=True):
            out[index].result.findings = check_values(values, None, hits)
            out[index].extract = _extract(values)
    return out


def _annotate_one(job: tuple[Path, list, Path]) -> tuple[Path | None, str | None]:
    source, findings, dest = job
    try:
        if importable(source):  # the copy of an imported report is its filled template
            with tempfile.TemporaryDirectory() as tmp:
                template = write_template(import_report(source), Path(tmp) / f"{source.stem}.xlsx")
                return annotate(template, findings, dest), None
        return annotate(source, findings, dest), None
    except ValueError as exc:
        return None, f"{exc}；请用 --out 指定其他文件夹"
    except OSError as exc:
        return None, f"无法写出批注副本 {dest}：{exc.strerror or exc}"


def _chunks(items: list, size: int) -> list[list]:
    return [items[i: i + size] for i in range(0, len(items), size)]


def _run(func, jobs: list, workers: int, progress: Progress | None, phase: str, weight=len) -> list:
    """``func`` over ``jobs`` in order, in ``workers`` processes (inline for one)."""
    results = []
    total = sum(weight(job) for job in jobs)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(func(job))
            if progress:
                progress(phase, weight(job), total)
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for job, result in zip(jobs, pool.map(func, jobs), strict=True):
            results.append(result)
            if progress:
                progress(phase, weight(job), total)
    return results


def _office_key(office: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(office or "")))


def _pair(checked: list[Checked], candidates: list[Checked]) -> list[Values | None]:
    """Each report's previous-year report among ``candidates``: same office, year - 1."""
    index: dict[tuple[str, int], Values] = {}
    for c in candidates:
        if c.extract is not None and c.result.office and c.result.year:
            index.setdefault((_office_key(c.result.office), c.result.year), c.extract)
    return [
        index.get((_office_key(c.result.office), c.result.year - 1)) if c.extract is not None and c.result.year else None
        for c in checked
    ]


def check_many(
    inputs: Iterable[str | Path],
    *,
    out_dir: Path | None = None,
    previous: Path | None = None,
    previous_dir: Path | None = None,
    copies: str = "findings",
    jobs: int | None = None,
    progress: Progress | None = None,
) -> list[Result]:
    """Check every workbook named by ``inputs``; returns one result per file, in order.

    ``previous`` is last year's report for every input; otherwise reports are paired by office
    and year among the inputs and the files under ``previous_dir``.
    """
    if copies not in COPIES:
        raise ValueError(f"copies must be one of {COPIES}")
    items, missing = discover(inputs, out_dir)
    workers = max(1, jobs or os.cpu_count() or 1)
    # A few chunks per worker: Pandera runs once per chunk and format, so chunks should not be tiny.
    size = max(1, min(500, -(-len(items) // (workers * 4)))) if items else 1
    checked = [c for chunk in _run(_check_chunk, _chunks([i.path for i in items], size), workers, progress, "check")
               for c in chunk]

    if previous is not None:
        (prev,) = _check_chunk([previous])
        if prev.extract is None:
            for c in checked:
                c.result.reason = f"上一年度报告 {previous.name} 无法读取：{prev.result.reason}"
        pairs = [prev.extract] * len(checked)
    else:
        others: list[Checked] = []
        if previous_dir is not None:
            earlier, _ = discover([previous_dir])
            others = [c for chunk in _run(_check_chunk, _chunks([i.path for i in earlier], size), workers, None, "previous")
                      for c in chunk]
        pairs = _pair(checked, checked + others)
    for c, prev in zip(checked, pairs, strict=True):
        if prev is not None and c.extract is not None and c.result.reason is None:
            rules = ruleset(c.extract.spec)
            hits = run_relations(rules, c.extract, prev, cross_year=True)
            found = [to_finding(rules, c.extract, h) for h in hits]
            c.result.findings = sort_findings(c.extract.spec, c.result.findings + found)

    wanted = [(item, c.result) for item, c in zip(items, checked, strict=True)
              if c.result.reason is None and (copies == "all" or (copies == "findings" and c.result.findings))]
    written = _run(_annotate_one, [(i.path, r.findings, i.dest) for i, r in wanted], workers, progress, "annotate",
                   weight=lambda job: 1)
    for (_, result), (output, reason) in zip(wanted, written, strict=True):
        result.output, result.reason = output, reason
    return [c.result for c in checked] + missing
