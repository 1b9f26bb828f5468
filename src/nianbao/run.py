"""A supervisor's run as a library call: check what came back, match it against the roster, write the
annotated copies and the summary, and say what the exit code is. The CLI's ``check`` declares
parameters and renders a ``Run``; Python users call ``check_round`` directly."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.batch import PreviousDirError, check_many
from nianbao.choices import Copies, FailOn, Status
from nianbao.files import Destinations, OutputError, describe_os_error, folder_lock, json_pieces
from nianbao.result import Result
from nianbao.spill import SpillError
from nianbao.workers import Progress


class RunError(Exception):
    """The run could not be done as asked (a locked or unwritable output folder, an empty
    --previous-dir); the message is one line of Chinese."""


@dataclass
class Run:
    """What a run found: a result per file, the roster's collection, and the summary files written."""

    results: Sequence[Result]  # spill.Results from check_round: each read from disk as it is asked for
    collection: object | None = None  # collect.Collection, with a roster
    summary: list[Path] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        """Files in any of ``statuses``."""
        return sum(r.status in statuses for r in self.results)

    @property
    def partial(self) -> int:
        """Files with cells the importer could not read."""
        return sum(not r.complete for r in self.results)

    def exit_code(self, fail_on: FailOn | str = FailOn.ERROR) -> int:
        """2: a file could not be checked or only in part; 1: errors (or open 提示 with ``fail_on`` warning); else 0."""
        from nianbao.summary import tally

        counted = tally(self.results)  # one pass: each result is read from disk
        if counted["files"][Status.FAILED.value] or counted["files"]["partial"]:
            return 2
        warnings = FailOn(fail_on).counts_warnings and counted["findings"]["warnings"]
        return 1 if counted["findings"]["errors"] or warnings else 0

    def json_pieces(self) -> Iterator[str]:
        """The findings document (``check --json``), a file at a time."""
        document = {"version": 1, "files": []}
        if self.collection is not None:  # texts that are no report: listed, not checked
            document["attachments"] = [{"path": str(r.path), "office": o.name if o else None} for r, o in self.collection.attachments]
        return json_pieces(document, "files", (r.to_dict() for r in self.results))


def check_round(
    inputs: Iterable[str | Path],
    *,
    roster=None,
    year: int | None = None,
    previous: Path | None = None,
    previous_dir: Path | None = None,
    out: Path | None = None,
    copies: Copies | str = Copies.FINDINGS,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Run:
    """Check every file named by ``inputs`` (annotated copies beside them, or in ``out`` with the
    summary); with a ``roster`` (roster.Roster), each office's status, and texts with none of the
    official tables listed as attachments (``Collection.attachments``), not checked. Raises RunError when the run
    cannot be done as asked; never for a bad file."""
    from nianbao.collect import collect
    from nianbao.summary import write_summary

    destinations = Destinations()
    try:
        with folder_lock(out) if out is not None else nullcontext():
            checked = check_many(inputs, out_dir=out, previous=previous, previous_dir=previous_dir, copies=Copies(copies).value,
                                 jobs=jobs, progress=progress, destinations=destinations, roster=roster)
            run = Run(checked)
            if roster is not None:  # a cover note (only set aside with a roster) counts for nothing: no status, no exit code
                run.results = checked.where(lambda r: not r.attachment)
                run.collection = collect(roster, run.results, year, [r for r in checked if r.attachment])
            if out is not None and (run.results or run.collection):
                run.summary = write_summary(run.results, out, destinations, run.collection)
                destinations.record(run.summary)
    except (OutputError, PreviousDirError, SpillError) as exc:
        raise RunError(str(exc)) from None
    except OSError as exc:  # the disk filled or the folder went away while writing the summary
        raise RunError(f"无法写出汇总到 {out}：{describe_os_error(exc)}（已写出的文件完整，汇总未写出）") from None
    finally:  # however the run ended (Ctrl-C, SIGTERM): what was written recorded, what a killed writer left removed
        destinations.settle()
    return run
