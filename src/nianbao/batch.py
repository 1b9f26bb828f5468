"""Checking many reports at once, in parallel, pairing each with last year's report.

1. Workers read chunks of files and run the REPORT stage (the Pandera schema once per chunk and
   format, on the stacked values). Each file comes back as its findings plus a small extract: the
   cells its PAIR and BATCH rules read (RuleSet.kept_in_batch).
2. The parent puts each result and extract on disk as it arrives (spill.py), keeping a brief of
   each and the few cells its BATCH rules compare; pairs reports by office and year (or uses the
   one ``previous`` file given; pairing.py); runs the BATCH stage across the batch, then each
   report's PAIR stage and findings, one report at a time. Its memory stays flat however many
   files there are.
3. Workers write the annotated copies, a few in flight at a time.

Every file is isolated: whatever one file does (an exception, a hang past the time budget, a
crash of its worker) becomes that file's failed result, and every other file is checked. A chunk
that fails is run again one file at a time to find the file responsible.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from nianbao.annotate import annotate
from nianbao.choices import Copies
from nianbao.collect import claim
from nianbao.discovery import Item, discover
from nianbao.explanations import explain
from nianbao.files import Destinations, shown
from nianbao.importers import importable, imported_for_check, write_template
from nianbao.layout import form_layout
from nianbao.limits import LIMITS
from nianbao.pairing import Checked, Pairing, pair
from nianbao.pipeline import batch_stage, compact, compared, extract, findings_of, pair_stage, read_any, report_stage, sort_findings
from nianbao.result import Result, describe, failure_reason
from nianbao.roster import Offices, Roster
from nianbao.rules.catalogue import ruleset
from nianbao.rules.kinds import BatchReport
from nianbao.spec import FormSpec, load_spec
from nianbao.spill import Brief, Results, Sealed, Spill, pack
from nianbao.values import Values
from nianbao.workers import Failure, Pool, Progress, chunk_size, chunks, worker_count

COPIES = tuple(c.value for c in Copies)


def _check_chunk(paths: list[str | Path], roster: Roster | None = None, sealed: bool = False) -> list[Checked] | list[Sealed]:
    """Read a chunk of files and run their REPORT stage (in a worker); ``sealed``, each packed for a batch's spill."""
    # Reading makes many small objects and no reference cycles: the cyclic collector only costs time.
    gc.disable()
    try:
        checked = _check_files([Path(p) for p in paths], Offices(roster) if roster is not None else None)
        return [_sealed(c) for c in checked] if sealed else checked
    finally:
        gc.enable()


def _context(offices: Offices | None, result: Result) -> dict:
    """What the roster says of the office a report counts for (its 类型 and local 公布期限), for the REPORT stage."""
    office = claim(offices, result)[0] if offices is not None else None
    return {"kind": office.kind, "deadline": office.deadline} if office is not None else {}


def _read(paths: list[Path], offices: Offices | None) -> tuple[list[Checked], dict[FormSpec, list[tuple[int, Values]]]]:
    out: list[Checked] = []
    by_spec: dict[FormSpec, list[tuple[int, Values]]] = {}
    for path in paths:
        result = Result(path)
        try:
            values = read_any(path)
            describe(result, values)
            values.context = _context(offices, result)
        except Exception as exc:  # isolated: this file fails, the chunk goes on
            out.append(Checked(result.fail(exc), None))
            continue
        by_spec.setdefault(values.spec, []).append((len(out), values))
        out.append(Checked(result, None))
    return out, by_spec


def _report_stage(spec: FormSpec, group: list[Values]) -> list[list | Exception]:
    """The REPORT stage for reports of one format together; if one report's values break the
    stacked run, each report on its own, so only that report fails."""
    rules = ruleset(spec)
    try:
        return report_stage(rules, group)
    except Exception:
        alone: list[list | Exception] = []
        for values in group:
            try:
                alone += report_stage(rules, [values])
            except Exception as exc:
                alone.append(exc)
        return alone


def _check_files(paths: list[Path], offices: Offices | None = None) -> list[Checked]:
    out, by_spec = _read(paths, offices)
    for spec, group in by_spec.items():
        for (index, values), hits in zip(group, _report_stage(spec, [v for _, v in group]), strict=True):
            try:
                if isinstance(hits, Exception):
                    raise hits
                out[index].result.findings = findings_of(values, hits)
                out[index].extract = extract(values)
            except Exception as exc:
                out[index].result.fail(exc)
                out[index].extract = None
    return out


def _annotate_one(job: tuple[Path, Result, Path]) -> Path | Failure:
    source, result, dest = job
    try:
        if importable(source):  # the copy of an imported report is its filled template, its unread cells marked
            inputs = form_layout(load_spec(result.format)).inputs
            unread = {(inputs[k].sheet, inputs[k].address): why for k, why in result.unread.items() if k in inputs}
            with tempfile.TemporaryDirectory() as tmp:
                template = write_template(imported_for_check(source), Path(tmp) / f"{source.name}.xlsx")
                return annotate(template, result.findings, dest, result.stale, result.reading, unread)
        return annotate(source, result.findings, dest, result.stale, result.reading, formulas=result.formulas)
    except Exception as exc:
        return Failure(failure_reason(exc), type(exc).__name__)


def _compacted(checked: list[Checked]) -> list[Checked]:
    """What the parent keeps of a chunk's files: each extract compacted as it arrives."""
    for c in checked:
        c.extract = compact(c.extract) if c.extract is not None else None
    return checked


def _sealed(c: Checked) -> Sealed:
    """A checked file packed for a batch's spill, where it was checked: the parent only stores it."""
    return Sealed(pack(c.result), pack(c.extract) if c.extract is not None else None,
                  Brief.of(0, c.result, is_attachment(c.result)), compared(c.extract) if c.extract is not None else None)


def _spilled(spill: Spill, sealed: list[Sealed]) -> list[Checked]:
    """What the parent keeps of a chunk's files in a batch: a brief of each, and the cells the BATCH
    stage compares; the result and the extract go to disk as they came."""
    return [Checked(spill.put(s), s.compared) for s in sealed]


def _alone(pool: Pool, task, path: str | Path, phase: str, keep, sealed: bool) -> list[Checked]:
    """One file checked with nothing else in flight: a worker that dies now died of this file. (While
    other tasks run, a worker killed just after finishing one task and taking the next can have its
    death put on the task it had finished: an innocent file, or a chunk of them.)"""
    (single,) = pool.map(task, [[path]], [LIMITS.seconds], None, phase, [1], keep)
    if not isinstance(single, Failure):
        return single
    failed = Checked(Result(Path(path), reason=single.reason, error=single.error), None)
    return keep([_sealed(failed)] if sealed else [failed])


def _check_all(pool: Pool, paths: list[str | Path], size: int, progress: Progress | None, phase: str, spill: Spill | None = None,
               roster: Roster | None = None) -> list[Checked]:
    """Check ``paths`` in chunks (with ``roster``, each report knows what the roster says of its
    office), each file kept in ``spill`` (a batch) or compacted in memory; every file of a chunk
    that failed is checked again alone."""
    parts = chunks(paths, size)
    sealed = spill is not None
    task = partial(_check_chunk, roster=roster, sealed=sealed)
    keep = partial(_spilled, spill) if sealed else _compacted
    done = pool.map(task, parts, [LIMITS.seconds + 0.5 * len(c) for c in parts], progress, phase, [len(c) for c in parts], keep)
    checked: list[Checked] = []
    for chunk, outcome in zip(parts, done, strict=True):
        checked += [c for path in chunk for c in _alone(pool, task, path, phase, keep, sealed)] if isinstance(outcome, Failure) else outcome
    return checked


def read_many(inputs: Iterable[str | Path], jobs: int | None = None) -> list[Checked]:
    """Read and check every file named by ``inputs`` in isolated workers (as ``check_many`` does):
    each file's result, and the cells its PAIR and BATCH rules read."""
    items, _ = discover(inputs)
    workers = worker_count(jobs)
    with Pool(workers) as pool:
        return _check_all(pool, [i.source for i in items], chunk_size(len(items), workers), None, "previous")


class PreviousDirError(Exception):
    """--previous-dir names nothing that can be read; the message is one line of Chinese."""


def _given(pool: Pool, spill: Spill, checked: list[Checked], previous: Path) -> list[Pairing]:
    """Every report paired with the one ``previous`` file."""
    (prev,) = _check_all(pool, [previous], 1, None, "previous", spill)
    if prev.extract is None:
        for c in checked:
            if c.result.reason is None:
                c.result.reason = f"上一年度报告 {previous.name} 无法读取：{prev.result.reason}"
                _change(spill, c.result.key, reason=c.result.reason)
    return [Pairing(prev if prev.extract is not None else None, previous, "given")] * len(checked)


def _earlier(pool: Pool, spill: Spill, previous_dir: Path | None, size: int) -> list[Checked]:
    """Last year's collection, read first, so that a folder with nothing readable stops the run at once."""
    if previous_dir is None:
        return []
    earlier, _ = discover([previous_dir])
    others = _check_all(pool, [i.source for i in earlier], size, None, "previous", spill)
    if not any(o.extract is not None for o in others):
        raise PreviousDirError(f"--previous-dir {previous_dir} 中没有能读取的上一年度报告（共 {len(others)} 个文件）")
    return others


def _change(spill: Spill, key: int, **changes) -> None:
    result = spill.result(key)
    for name, value in changes.items():
        setattr(result, name, value)
    spill.save(key, result)


def _finish(result: Result, values: Values, hits: list, pairing: Pairing, spill: Spill) -> None:
    """One report's PAIR stage, and every hit of the later stages added to its findings."""
    result.previous = {"path": str(pairing.path), "match": pairing.match} if pairing.found is not None else None
    result.previous_note = pairing.note
    try:
        if pairing.found is not None:
            hits = hits + pair_stage(ruleset(values.spec), values, spill.extract(pairing.found.result.key))
        result.findings = sort_findings(values.spec, result.findings + findings_of(values, hits))
        result.stale = explain(result.findings, values.explanations)
    except Exception as exc:
        result.fail(exc)


def _later_stages(spill: Spill, checked: list[Checked], pairs: list[Pairing]) -> None:
    """The BATCH stage across the batch's compared cells, then each report's PAIR stage, one report at a time."""
    usable = [c.extract is not None and c.result.reason is None for c in checked]
    batch = batch_stage([BatchReport(ruleset(c.extract.spec), c.extract, shown(c.result.path.name)) if ok else None
                         for c, ok in zip(checked, usable, strict=True)])
    for index, (c, pairing) in enumerate(zip(checked, pairs, strict=True)):
        if usable[index]:
            result = spill.result(c.result.key)
            _finish(result, spill.extract(c.result.key), batch.get(index, []), pairing, spill)
            spill.save(c.result.key, result)


def is_attachment(result: Result) -> bool:
    """A text that is no report (a cover note such as 情况说明.txt): not one cell of any official table in it."""
    return importable(result.path) and result.has_no_table()


def _set_aside(spill: Spill, checked: list[Checked]) -> None:
    """Texts that are no report: not checked further, nothing to pair or copy."""
    for c in checked:
        if c.result.no_table:
            _change(spill, c.result.key, attachment=True, findings=[], unread={})
            c.extract = None


def _wanted(result: Result, copies: str) -> bool:
    # With "findings", a copy for every file with something to show: findings, explanations no
    # longer needed, or cells that could not be read.
    return result.reason is None and not result.attachment and (
        copies == "all" or (copies == "findings" and bool(result.findings or result.stale or result.unread)))


def _copies(pool: Pool, spill: Spill, items: list[Item], checked: list[Checked], copies: str, progress: Progress | None) -> list[Path]:
    """The annotated copies wanted, written in workers: the paths written."""
    wanted = [(item, c.result.key) for item, c in zip(items, checked, strict=True)
              if copies != "none" and _wanted(spill.result(c.result.key), copies)]
    jobs = ((item.path, spill.result(key), item.dest) for item, key in wanted)  # read as the pool takes them
    written = pool.map(_annotate_one, jobs, [LIMITS.seconds] * len(wanted), progress, "annotate", [1] * len(wanted))
    for (item, key), outcome in zip(wanted, written, strict=True):
        if isinstance(outcome, Failure):  # the findings stand; the file still counts as not fully done
            _change(spill, key, reason=f"无法写出批注副本 {item.dest}：{outcome.reason}", error=outcome.error)
        else:
            _change(spill, key, output=outcome)
    return [outcome for outcome in written if not isinstance(outcome, Failure)]


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
    roster: Roster | None = None,
) -> Results:
    """Check every workbook and report named by ``inputs``; returns one result per file, in order.

    ``previous`` is last year's report for every input; otherwise reports are paired by office
    and year among the inputs and the files under ``previous_dir``. With a ``roster``, each report
    is checked knowing its office's 类型 and 公布期限 (F101), and an imported text with none of the
    official tables is set aside (``Result.attachment``): no findings, no pairing, no copy. The
    results are read back from disk as they are asked for (spill.Results). Never raises for a bad file.
    """
    if copies not in COPIES:
        raise ValueError(f"copies must be one of {COPIES}")
    destinations = destinations or Destinations()
    items, missing = discover(inputs, out_dir, destinations)
    workers = worker_count(jobs)
    size = chunk_size(len(items), workers)
    spill = Spill()
    with Pool(workers) as pool:
        others = _earlier(pool, spill, previous_dir, size)
        checked = _check_all(pool, [i.source for i in items], size, progress, "check", spill, roster)
        if roster is not None:
            _set_aside(spill, checked)
        pairs = _given(pool, spill, checked, previous) if previous is not None else pair(checked, checked + others, previous_dir is not None)
        del others
        _later_stages(spill, checked, pairs)
        del pairs
        written = _copies(pool, spill, items, checked, copies, progress)
    destinations.record(written)
    return Results(spill, [c.result.key for c in checked] + missing)
