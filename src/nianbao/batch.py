"""Checking many reports at once, in parallel, pairing each with last year's report.

1. Worker processes read and check chunks of files (all rules but the cross-year ones; the
   Pandera schema runs once per chunk and format on the stacked values). Each file comes back as
   its findings plus a small extract: the cells the cross-year rules read.
2. The parent pairs reports by office and year (or uses the one ``previous`` file given) and runs
   the cross-year rules on the extracts. Only findings and extracts are kept, so memory stays
   small however many files there are.
3. Workers write the annotated copies.

Every file is isolated: whatever one file does (an exception, a hang past the time budget, a
crash of its worker) becomes that file's failed result, and every other file is checked. A chunk
that fails is run again one file at a time to find the file responsible. Workers stop with the
parent, however it ends.
"""

from __future__ import annotations

import gc
import glob
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from nianbao.annotate import annotate
from nianbao.check import Result, check_values, describe, failure_reason, read_any, sort_findings, to_finding
from nianbao.explanations import explain
from nianbao.files import Destinations
from nianbao.findings import Hit
from nianbao.importers import import_report, importable, write_template
from nianbao.layout import form_layout
from nianbao.limits import LIMITS
from nianbao.read import Values
from nianbao.roster import NameIndex, office_key
from nianbao.rules.catalogue import RuleSet, refs_of, ruleset
from nianbao.rules.engine import run_relations
from nianbao.rules.peers import peer_outliers
from nianbao.rules.similarity import batch_repeats, repeated_keys, run_repeated
from nianbao.schema import validate
from nianbao.spec import FormSpec, load_spec

SUFFIXES = (".xlsx", ".xlsm")  # workbooks; published reports (importers.SUFFIXES) are imported first
LEGACY = (".xls",)  # found and listed with the reason they cannot be read, never passed over in silence
COPY_SUFFIX = ".检查"  # annotated copies written beside their input are named <name>.检查.xlsx
_COPY = re.compile(r"\.检查(?:-\d+)?$")  # ... or, when that name is taken, <name>.检查-2.xlsx
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
def _batch_keys(rules: RuleSet) -> frozenset[str]:
    keys = {"meta.office", "meta.year"} | repeated_keys(rules)
    for rule in rules.of_kind("relation") + rules.of_kind("peer"):
        if rule.cross_year or rule.kind == "peer":
            keys |= {ref.key for instance in rules.instances[rule.id] for ref in refs_of(instance)}
    return frozenset(keys)


def _extract(values: Values) -> Values:
    keys = _batch_keys(ruleset(values.spec))
    return Values(
        values.spec,
        {k: values.data[k] for k in keys if k in values.data},
        where={k: values.where[k] for k in keys if k in values.where},
        source=values.source,
        explanations=values.explanations,
    )


def _is_input(path: Path) -> bool:
    return ((path.suffix.lower() in SUFFIXES + LEGACY or importable(path)) and not path.name.startswith(("~$", ".~lock", ".nianbao-"))
            and not _COPY.search(path.stem) and path.stem != "汇总")


def copy_name(path: Path, beside: bool) -> str:
    """The annotated copy's file name. An imported report keeps its suffix in the name
    (report.html.检查.xlsx), so report.txt, report.html and report.xlsx get three copies."""
    mark = COPY_SUFFIX if beside else ""
    if path.suffix.lower() in SUFFIXES:
        return f"{path.stem}{mark}{path.suffix}"
    return f"{path.name}{mark}.xlsx"


def discover(inputs: Iterable[str | Path], out_dir: Path | None = None,
             destinations: Destinations | None = None) -> tuple[list[Item], list[Result]]:
    """The files named by ``inputs`` (files, folders searched recursively, glob patterns), and a
    failed result for each input that matches nothing. Copies go to ``out_dir`` (mirroring the
    folders below each input folder) or beside their input, never onto an input or a file that
    nianbao did not write (see files.Destinations)."""
    found: list[tuple[Path, Path]] = []  # (file, the folder its copy's place mirrors from)
    missing: list[Result] = []
    seen: set[Path] = set()

    def add(path: Path, root: Path, named: bool = False) -> None:
        resolved = path.resolve()
        # Files found under the output folder are earlier outputs, unless named one by one.
        if resolved in seen or (not named and out_dir is not None and out_dir.resolve() in resolved.parents):
            return
        seen.add(resolved)
        found.append((path, root))

    for given in map(str, inputs):
        path = Path(given)
        if path.is_dir():
            for match in sorted(path.rglob("*")):
                if match.is_file() and _is_input(match):
                    add(match, path)
        elif path.is_file():
            add(path, path.parent, named=True)
        elif matches := sorted(glob.glob(given, recursive=True)):
            for match in map(Path, matches):
                if match.is_file() and _is_input(match):
                    add(match, match.parent)
        else:
            missing.append(Result(path, reason="找不到文件或文件夹"))
    destinations = destinations or Destinations()
    destinations.inputs |= {path.resolve() for path, _ in found}
    items = []
    for path, root in found:
        name = copy_name(path, beside=out_dir is None)
        wanted = path.with_name(name) if out_dir is None else out_dir / path.relative_to(root).with_name(name)
        items.append(Item(path, destinations.choose(wanted)))
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
            describe(result, values)
        except Exception as exc:  # isolated: this file fails, the chunk goes on
            out.append(Checked(result.fail(exc), None))
            continue
        read.append((len(out), values))
        out.append(Checked(result, None))
    by_spec: dict[FormSpec, list[tuple[int, Values]]] = {}
    for index, values in read:
        by_spec.setdefault(values.spec, []).append((index, values))
    for spec, group in by_spec.items():
        try:
            schema_hits = validate(ruleset(spec), [v for _, v in group])
        except Exception:  # one file's values broke the stacked check: validate each on its own
            schema_hits = [None] * len(group)
        for (index, values), hits in zip(group, schema_hits, strict=True):
            try:
                out[index].result.findings = check_values(values, None, hits)
                out[index].extract = _extract(values)
            except Exception as exc:
                out[index].result.fail(exc)
                out[index].extract = None
    return out


@dataclass(frozen=True)
class Failure:
    """What a job that went wrong returns: plain text, so it always crosses back from a worker."""

    reason: str
    error: str


def _annotate_one(job: tuple[Path, Result, Path]) -> Path | Failure:
    source, result, dest = job
    try:
        if importable(source):  # the copy of an imported report is its filled template, its unread cells marked
            inputs = form_layout(load_spec(result.format)).inputs
            unread = {(inputs[k].sheet, inputs[k].address): why for k, why in result.unread.items() if k in inputs}
            with tempfile.TemporaryDirectory() as tmp:
                template = write_template(import_report(source), Path(tmp) / f"{source.name}.xlsx")
                return annotate(template, result.findings, dest, result.stale, result.reading, unread)
        return annotate(source, result.findings, dest, result.stale, result.reading)
    except Exception as exc:
        return Failure(failure_reason(exc), type(exc).__name__)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i: i + size] for i in range(0, len(items), size)]


def _watch_parent() -> None:
    """In a worker: exit as soon as the parent is gone (killed, even by SIGKILL), so no worker
    outlives the run."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _lost(exc: BaseException, budget: float) -> Failure:
    """What a task that never returned tells its file's result."""
    if isinstance(exc, FutureTimeout):
        return Failure(f"检查超过 {budget:.0f} 秒仍未完成，已停止（文件可能过大或结构异常）", "TimeoutError")
    if isinstance(exc, ProcessExpired):
        if exc.exitcode in (-9, 137):
            return Failure(failure_reason(MemoryError()), "MemoryError")
        return Failure(f"读取时程序异常退出（退出码 {exc.exitcode}），文件可能已损坏", "ProcessExpired")
    return Failure(failure_reason(exc), type(exc).__name__)


class Pool:
    """Worker processes with a time budget per task, for one batch."""

    def __init__(self, workers: int):
        self.pool = ProcessPool(max_workers=workers, max_tasks=200, initializer=_watch_parent)

    def map(self, func, jobs: list, budgets: list[float], progress: Progress | None, phase: str, weights: list[int]):
        """``func`` over ``jobs`` in order; a job that raised, hung or crashed its worker gives a Failure."""
        futures = [self.pool.schedule(func, args=(job,), timeout=budget) for job, budget in zip(jobs, budgets, strict=True)]
        total = sum(weights)
        results = []
        for future, budget, weight in zip(futures, budgets, weights, strict=True):
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - anything a job did is that job's result
                if isinstance(exc, KeyboardInterrupt):
                    raise
                results.append(_lost(exc, budget))
            if progress:
                progress(phase, weight, total)
        return results

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """Wait for the workers; on an exception (Ctrl-C, SIGTERM) stop them at once."""
        if kind is not None:
            self.pool.stop()
        else:
            self.pool.close()
        self.pool.join()


def _check_all(pool: Pool, paths: list[Path], size: int, progress: Progress | None, phase: str) -> list[Checked]:
    """Check ``paths`` in chunks; a chunk that fails as a whole is checked again file by file."""
    chunks = _chunks(paths, size)
    budget = LIMITS.seconds
    done = pool.map(_check_chunk, chunks, [budget + 0.5 * len(c) for c in chunks], progress, phase, [len(c) for c in chunks])
    checked: list[Checked] = []
    for chunk, outcome in zip(chunks, done, strict=True):
        if not isinstance(outcome, Failure):
            checked += outcome
            continue
        singles = [outcome] if len(chunk) == 1 else pool.map(_check_chunk, [[p] for p in chunk], [budget] * len(chunk), None, phase,
                                                              [1] * len(chunk))
        for path, single in zip(chunk, singles, strict=True):
            checked += [Checked(Result(path, reason=single.reason, error=single.error), None)] if isinstance(single, Failure) else single
    return checked


@dataclass(frozen=True)
class Pairing:
    """How a report found last year's: the file, and by what (a key of roster.MATCHES)."""

    extract: Values | None
    path: Path | None = None
    match: str | None = None
    note: str | None = None  # why none was found, when one was looked for




def _pair(checked: list[Checked], candidates: list[Checked], explain: bool) -> list[Pairing]:
    """Each report's previous-year report among ``candidates`` (same office, year - 1), and with
    ``explain`` why a report found none. Indexed, so a national batch pairs in one pass."""
    readable = [c for c in candidates if c.extract is not None and c.result.office and c.result.year]
    index = NameIndex((c.result.office, c) for c in readable)
    codes: dict[tuple[str, int], list[Checked]] = {}  # workbooks distributed to a roster code (nianbao distribute)
    for c in readable:
        if c.result.identity.get("roster_code"):
            codes.setdefault((c.result.identity["roster_code"], c.result.year), []).append(c)
    pairs = []
    for c in checked:
        if c.extract is None or not c.result.year or not c.result.office:
            pairs.append(Pairing(None, note="报告的机关名称或年度未能读取，无法配对上一年度报告" if explain and c.extract is not None else None))
            continue
        year = c.result.year - 1
        match, hits = "code", [e for e in codes.get((c.result.identity.get("roster_code", ""), year), []) if e is not c]
        if len(hits) != 1:  # no code, or several files of the code: by name
            match, hits = index.find(c.result.office, lambda e, c=c, year=year: e is not c and e.result.year == year)
        if len(hits) > 1 and match == "area":  # 教育局 could be any of several areas' 教育局: never guess
            note = f"{year} 年度有多份可能是“{c.result.office}”的报告：" + "、".join(str(e.result.path) for e in hits)
            pairs.append(Pairing(None, note=note if explain else None))
        elif hits:
            pairs.append(Pairing(hits[0].extract, hits[0].result.path, match))
        else:
            pairs.append(Pairing(None, note=f"没有找到“{c.result.office}”{year} 年度的报告" if explain else None))
    return pairs


def _twins(checked: list[Checked]) -> dict[int, list[Path]]:
    """Reports of one office and year that came more than once in a batch: index -> the others."""
    groups: dict[tuple[str, int], list[int]] = {}
    for i, c in enumerate(checked):
        if c.extract is not None and c.result.office and c.result.year:
            groups.setdefault((office_key(c.result.office), c.result.year), []).append(i)
    return {i: [checked[j].result.path for j in group if j != i] for group in groups.values() if len(group) > 1 for i in group}


def worker_count(jobs: int | None) -> int:
    return max(1, jobs or os.cpu_count() or 1)


def _chunk_size(files: int, workers: int) -> int:
    # A few chunks per worker: Pandera runs once per chunk and format, so chunks should not be tiny.
    return max(1, min(500, -(-files // (workers * 4))))


def read_many(inputs: Iterable[str | Path], jobs: int | None = None) -> list[Checked]:
    """Read and check every file named by ``inputs`` in isolated workers (as ``check_many`` does):
    each file's result, and the cells the cross-year rules read."""
    items, _ = discover(inputs)
    workers = worker_count(jobs)
    with Pool(workers) as pool:
        return _check_all(pool, [i.path for i in items], _chunk_size(len(items), workers), None, "previous")


class PreviousDirError(Exception):
    """--previous-dir names nothing that can be read; the message is one line of Chinese."""


def check_many(
    inputs: Iterable[str | Path],
    *,
    out_dir: Path | None = None,
    previous: Path | None = None,
    previous_dir: Path | None = None,
    copies: str = "findings",
    jobs: int | None = None,
    progress: Progress | None = None,
    destinations: Destinations | None = None,
) -> list[Result]:
    """Check every workbook and report named by ``inputs``; returns one result per file, in order.

    ``previous`` is last year's report for every input; otherwise reports are paired by office
    and year among the inputs and the files under ``previous_dir``. Never raises for a bad file.
    """
    if copies not in COPIES:
        raise ValueError(f"copies must be one of {COPIES}")
    destinations = destinations or Destinations()
    items, missing = discover(inputs, out_dir, destinations)
    workers = worker_count(jobs)
    size = _chunk_size(len(items), workers)
    with Pool(workers) as pool:
        others: list[Checked] = []
        if previous_dir is not None:  # first, so that a folder with nothing readable stops the run at once
            earlier, _ = discover([previous_dir])
            others = _check_all(pool, [i.path for i in earlier], size, None, "previous")
            if not any(o.extract is not None for o in others):
                raise PreviousDirError(f"--previous-dir {previous_dir} 中没有能读取的上一年度报告（共 {len(others)} 个文件）")
        checked = _check_all(pool, [i.path for i in items], size, progress, "check")
        if previous is not None:
            (prev,) = _check_all(pool, [previous], 1, None, "previous")
            if prev.extract is None:
                for c in checked:
                    if c.result.reason is None:
                        c.result.reason = f"上一年度报告 {previous.name} 无法读取：{prev.result.reason}"
            pairs = [Pairing(prev.extract, previous, "given")] * len(checked)
        else:
            pairs = _pair(checked, checked + others, explain=previous_dir is not None)
        twins = _twins(checked)
        usable = [c.extract is not None and c.result.reason is None for c in checked]
        # Rules that compare a report with the others of the batch: copied sections, shares far above the median.
        batch_rules = [ruleset(c.extract.spec) if ok else None for c, ok in zip(checked, usable, strict=True)]
        batch_data = [c.extract.data if ok else {} for c, ok in zip(checked, usable, strict=True)]
        copied = batch_repeats(batch_rules, batch_data, [c.result.path.name for c in checked])
        outliers = peer_outliers(batch_rules, batch_data)
        for index, (c, pairing) in enumerate(zip(checked, pairs, strict=True)):
            if not usable[index]:
                continue
            c.result.previous = {"path": str(pairing.path), "match": pairing.match} if pairing.extract is not None else None
            c.result.previous_note = pairing.note
            hits = [Hit("Y003", ("meta.office",), {"detail": "、".join(p.name for p in twins[index])})] if index in twins else []
            hits += copied.get(index, []) + outliers.get(index, [])
            try:
                rules = ruleset(c.extract.spec)
                if pairing.extract is not None:
                    hits += run_relations(rules, c.extract, pairing.extract, cross_year=True)
                    hits += run_repeated(rules, c.extract, pairing.extract)
                found = [to_finding(rules, c.extract, h) for h in hits]
                c.result.findings = sort_findings(c.extract.spec, c.result.findings + found)
                c.result.stale = explain(c.result.findings, c.extract.explanations)
            except Exception as exc:
                c.result.fail(exc)

        # With "findings", a copy for every file with something to show: findings, explanations no
        # longer needed, or cells that could not be read.
        wanted = [(item, c.result) for item, c in zip(items, checked, strict=True) if c.result.reason is None
                  and (copies == "all" or (copies == "findings" and (c.result.findings or c.result.stale or c.result.unread)))]
        written = pool.map(_annotate_one, [(i.path, r, i.dest) for i, r in wanted], [LIMITS.seconds] * len(wanted),
                           progress, "annotate", [1] * len(wanted))
    for (item, result), outcome in zip(wanted, written, strict=True):
        if isinstance(outcome, Failure):  # the findings stand; the file still counts as not fully done
            result.reason, result.error = f"无法写出批注副本 {item.dest}：{outcome.reason}", outcome.error
        else:
            result.output = outcome
    destinations.record(r.output for r in (c.result for c in checked) if r.output is not None)
    return [c.result for c in checked] + missing
