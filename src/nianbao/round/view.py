"""The round as it stands: each office's latest submission as a check Result (rebuilt from the
stored JSON, with the explanations written on the office page and the supervisor's rejections
applied), its versions, lateness and the supervisor's last decision. The pages, the API and the
exports all read this one view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from pathlib import Path

from nianbao.collect import NEEDS_FIXING, Collection, Returned, identity_problems
from nianbao.explanations import Explanation
from nianbao.findings import Finding
from nianbao.result import Result
from nianbao.roster import Offices, Roster
from nianbao.round.store import ExplanationRecord, OfficeRecord, Round, Submission

_FINDING_FIELDS = {f.name for f in fields(Finding)} - {"places"}
REVIEW = {"returned": "退回修改", "approved": "通过"}


def result_from_dict(data: dict) -> Result:
    """A Result again from ``Result.to_dict()``."""
    findings = [Finding(**{k: v for k, v in f.items() if k in _FINDING_FIELDS}, places=[tuple(c.split("!", 1)) for c in f.get("cells", [])])
                for f in data.get("findings", [])]
    return Result(Path(data["path"]), data.get("format"), data.get("office"), data.get("year"), findings, data.get("reason"), data.get("error"),
                  previous=data.get("previous"), previous_note=data.get("previous_note"), identity=data.get("identity") or {},
                  stale=[Explanation(**e) for e in data.get("stale_explanations", [])],
                  unread={u["key"]: u["reason"] for u in data.get("unread", [])})


def apply_explanations(result: Result, written: dict[str, ExplanationRecord], rejected: set[tuple[str, str]]) -> Result:
    """What the office wrote on its page wins over the workbook's 说明 column (a blank one there gives the
    workbook's back); a text the supervisor rejected explains nothing."""
    for f in result.findings:
        given = written.get(f.id)
        text = given.text if given is not None and given.text else f.explanation
        f.explanation = None if not text or (f.id, text) in rejected else text
    return result


def local_time(at: str | None) -> str:
    """A stored UTC time as a supervisor reads it: local, to the minute."""
    return dt.datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M") if at else ""


def lateness(received_at: str | None, deadline: str | None, grace: str | None, today: dt.date | None = None) -> str:
    """"" (in time or no deadline), "宽限期内" or "逾期": by the day received (local time), or today when nothing was."""
    if not deadline:
        return ""
    day = dt.datetime.fromisoformat(received_at).astimezone().date() if received_at else (today or dt.date.today())
    if day <= dt.date.fromisoformat(deadline):
        return ""
    return "宽限期内" if grace and day <= dt.date.fromisoformat(grace) else "逾期"


@dataclass
class OfficeView:
    record: OfficeRecord
    latest: Submission | None
    result: Result | None
    versions: int
    review: dict | None  # the supervisor's newest decision on the latest submission
    last_event: dict | None
    late: str  # lateness()

    @property
    def status(self) -> str:
        return self.result.status if self.result is not None else "missing"

    @property
    def needs_fixing(self) -> bool:
        return self.status in NEEDS_FIXING or (self.review or {}).get("kind") == "returned"

    def to_dict(self) -> dict:
        """The summary.json roster entry, with the round's received_at, versions, review and lateness."""
        entry = Returned(self.record.office, [self.result] if self.result else []).to_dict()
        review = self.review or {}
        return entry | {"received_at": self.latest.received_at if self.latest else None, "versions": self.versions,
                        "review": review.get("kind"), "review_comment": (review.get("detail") or {}).get("comment"), "late": self.late}


@dataclass
class RoundView:
    roster: Roster
    year: int | None
    offices: list[OfficeView]
    unmatched: list[tuple[Submission, Result]]

    def collection(self) -> Collection:
        """The collection as today's summary writer takes it: the latest submission of each office."""
        index = Offices(self.roster)
        problems = []
        for view in self.offices:
            if view.result is not None:
                ident = view.result.identity
                meant = index.by_identity(ident.get("roster_code"), ident.get("roster_office"))
                problems += [(view.result, p) for p in identity_problems(view.result, view.record.office, meant, self.year)]
        returned = [Returned(v.record.office, [v.result] if v.result else []) for v in self.offices]
        return Collection(self.roster, self.year, returned, [r for _, r in self.unmatched], problems)

    def results(self) -> list[Result]:
        return [v.result for v in self.offices if v.result is not None] + [r for _, r in self.unmatched]


def _result(submission: Submission | None) -> Result | None:
    return result_from_dict(submission.result) if submission is not None and submission.result is not None else None


def round_view(store: Round, only: int | None = None) -> RoundView:
    """The round as it stands (with ``only``, just that office's entry)."""
    settings = store.settings()
    records = [r for r in store.offices() if only is None or r.id == only]
    latest, versions, reviews, last = store.latest(), store.versions(), store.reviews(), store.last_events()
    written, rejected = store.explanations(), store.rejected()
    views = []
    for record in records:
        sub = latest.get(record.id)
        result = _result(sub)
        if result is not None:
            apply_explanations(result, written.get(record.id, {}), rejected.get(record.id, set()))
        views.append(OfficeView(record, sub, result, versions.get(record.id, 0), reviews.get(record.id), last.get(record.id),
                                lateness(sub.received_at if sub else None, settings.get("deadline"), settings.get("grace"))))
    seen: set[str] = set()
    unmatched = []
    for sub in store.submissions(unmatched=True):  # newest first; one entry per distinct file
        if sub.digest not in seen and sub.result is not None:
            seen.add(sub.digest)
            unmatched.append((sub, _result(sub)))
    year = int(settings["year"]) if settings.get("year") else None
    return RoundView(Roster(Path(settings.get("roster", "名单")), [r.office for r in records]), year, views, unmatched)
