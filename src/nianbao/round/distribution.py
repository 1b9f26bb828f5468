"""A distribution into a round: the roster's offices added, a new upload link issued for every
office a workbook is written for (its earlier links revoked: the new workbook carries the new
one), and each distributed workbook kept, to be downloaded again from the office's page."""

from __future__ import annotations

from pathlib import Path

from nianbao.distribute import Distribution
from nianbao.roster import Roster, office_key
from nianbao.round.store import OfficeRecord, Round


def office_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/o/{token}"


def issue_links(store: Round, roster: Roster, base_url: str | None) -> tuple[list[OfficeRecord], dict[str, str]]:
    """The roster's offices in the round, and (with a base URL) each one's new link by office name."""
    records = store.add_roster(roster)
    if not base_url:
        return records, {}
    return records, {r.office.name: office_link(base_url, store.issue_link(r.id)) for r in records}


def record_distribution(store: Round, records: list[OfficeRecord], done: Distribution, **settings: object) -> None:
    """Keep each written workbook for its office, and the round's settings (year, format, deadline...)."""
    by_key = {office_key(r.office.name): r for r in records}
    for sent in done.sent:
        if sent.path is not None:
            store.set_template(by_key[office_key(sent.office.name)].id, Path(sent.path).read_bytes(), Path(sent.path).name)
    store.configure(year=done.year, format=done.spec.id, distribution=done.id, **settings)
