"""Checking a round's submissions with the batch checker, and adding a collection to the round.

Only each office's latest submission is checked with the others of the round (materialised from
its stored bytes into a scratch folder and passed to ``nianbao.check_round``), so an office's
earlier versions are history: never twins (Y003) or copies (Y403) of its latest. An upload is
checked on its own, by the same engine in the same isolated worker processes, limits and time
budget as a batch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.batch import is_attachment, read_many
from nianbao.collect import collect
from nianbao.limits import LIMITS
from nianbao.result import Result
from nianbao.roster import Offices, Roster, office_key
from nianbao.round.store import OfficeRecord, Round, Submission, digest_of
from nianbao.run import check_round

NOT_A_REPORT = "不是年度报告：文件中没有任何一张规定的表格（情况说明等附件不必报送）"


@dataclass(frozen=True)
class File:
    """A file to check: its key in the caller's terms, its bytes, the name it is checked under, and
    the path shown for it in results."""

    key: object
    data: bytes
    name: str
    origin: str


def check_files(files: list[File], *, previous_dir: Path | None = None, jobs: int | None = None,
                roster: Roster | None = None) -> dict[object, tuple[Result, bytes | None]]:
    """Each file's result and annotated copy, checked together as one batch; with the round's
    ``roster``, each report knows its office's 类型 and 公布期限 (F101), as under ``check --roster``,
    and a text with none of the official tables is not checked: its reason says it is no report."""
    with tempfile.TemporaryDirectory(prefix="nianbao-round-") as tmp:
        placed: dict[str, File] = {}
        for n, file in enumerate(files):
            path = Path(tmp, "in", str(n), file.name)
            path.parent.mkdir(parents=True)
            path.write_bytes(file.data)
            placed[str(path)] = file
        run = check_round(list(placed), roster=roster, previous_dir=previous_dir, jobs=jobs)  # copies beside the scratch files
        notes = [r for r, _ in run.collection.attachments] if run.collection else []
        for result in notes:
            result.reason = NOT_A_REPORT
        done = {}
        for result in [*run.results, *notes]:
            file = placed[str(result.path)]
            copy = result.output.read_bytes() if result.output is not None else None
            result.path, result.output = Path(file.origin), None
            done[file.key] = (result, copy)
    return done


def _previous_dir(store: Round, given: Path | None) -> Path | None:
    if given is not None:
        return given
    kept = store.setting("previous_dir")
    return Path(kept) if kept and Path(kept).is_dir() else None


def wrong_office(result: Result, office: OfficeRecord, offices: Offices) -> str | None:
    """Why an upload through an office's link is not that office's report, or None."""
    if result.reason is not None or not result.office:
        return None
    named = offices.by_name(result.office)[1]
    ident = result.identity
    meant = offices.by_identity(ident.get("roster_code"), ident.get("roster_office"))
    other = named if named is not None else meant
    if other is None or other == office.office:
        return None
    return f"上传的报告填写的机关为“{result.office}”，不是本链接所属的“{office.office.name}”：请上传本单位的报告"


def check_upload(store: Round, office: OfficeRecord, data: bytes, name: str, *, jobs: int = 1) -> tuple[int, Result]:
    """Check an office's upload and keep it with its result and annotated copy, in one transaction."""
    origin = f"上传/{name}"
    ((result, copy),) = check_files([File(0, data, name, origin)], previous_dir=_previous_dir(store, None), jobs=jobs,
                                    roster=store.roster()).values()
    if (problem := wrong_office(result, office, Offices(store.roster()))) is not None:
        result.reason, copy = problem, None
    return store.add_submission(office.id, data, name, origin, "upload", result.to_dict(), copy, actor="office"), result


@dataclass
class Intake:
    """What a collection added to the round."""

    files: int = 0
    added: int = 0  # new submissions (a file already in the round is not added again)
    too_big: list[Path] = field(default_factory=list)
    attachments: list = field(default_factory=list)  # (Result, Office | None): cover notes, not added to the round


def _keep(store: Round, office_id: int | None, results: Iterable[Result], intake: Intake) -> None:
    known = store.digests(office_id)
    for result in results:
        try:
            if result.path.stat().st_size > LIMITS.file_bytes:
                intake.too_big.append(result.path)
                continue
            data = result.path.read_bytes()
        except OSError:
            continue  # gone since it was read: nothing to keep
        if digest_of(data) in known:
            continue
        known.add(digest_of(data))
        store.add_submission(office_id, data, result.path.name, str(result.path), "folder")
        intake.added += 1


def add_collection(store: Round, inputs: list[str], *, year: int | None = None, jobs: int | None = None) -> Intake:
    """Add the files of a collection (folders, files) to the round: each goes to the roster office it is
    (as ``check --roster`` decides), oldest first, so that an office's newest file is its latest submission."""
    roster = store.roster()
    found = [c.result for c in read_many(inputs, jobs)]
    # A cover note is listed, never a submission: as the latest of its office it would stand for the report.
    notes = [r for r in found if is_attachment(r)]
    collection = collect(roster, [r for r in found if not is_attachment(r)], year or store.year, notes)
    ids = {office_key(o.office.name): o.id for o in store.offices()}
    intake = Intake(files=len(found), attachments=collection.attachments)
    for entry in collection.offices:
        _keep(store, ids[office_key(entry.office.name)], reversed(entry.results), intake)
    _keep(store, None, collection.unmatched, intake)
    store.log("collection", inputs=[str(i) for i in inputs], files=intake.files, added=intake.added)
    return intake


def check_latest(store: Round, *, previous_dir: Path | None = None, jobs: int | None = None) -> int:
    """Check every office's latest submission (and the files of no office) together, as one batch, and
    keep the results; returns how many were checked."""
    subs: list[Submission] = list(store.latest().values())
    seen: set[str] = set()
    for sub in store.submissions(unmatched=True):
        if sub.digest not in seen:
            seen.add(sub.digest)
            subs.append(sub)
    files = [File(sub.id, store.blob(sub.digest), sub.name, sub.origin) for sub in subs]
    checked = check_files(files, previous_dir=_previous_dir(store, previous_dir), jobs=jobs, roster=store.roster())
    offices = Offices(store.roster())
    records = {r.id: r for r in store.offices()}
    for sub in subs:
        result, copy = checked[sub.id]
        if sub.source == "upload" and (problem := wrong_office(result, records[sub.office_id], offices)) is not None:
            result.reason, copy = problem, None
        store.record_check(sub.id, result.to_dict(), copy)
    return len(subs)
