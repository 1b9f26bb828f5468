"""The round's exports, written from the store: 汇总.xlsx, summary.csv and summary.json (the same
writer and shape as ``check --roster``), the annotated copies they link to, and 催报.xlsx (the
offices still to report or to fix, with their contacts)."""

from __future__ import annotations

from pathlib import Path

from nianbao.collect import ROSTER_STATUS
from nianbao.discovery import copy_name
from nianbao.files import Destinations, atomic_path, close_workbook, listing_workbook
from nianbao.listing import Cell, Listing, sheet_formats
from nianbao.round.store import Round
from nianbao.round.view import REVIEW, RoundView, local_time, round_view
from nianbao.summary import write_summary

REMINDERS_XLSX = "催报.xlsx"


def export(store: Round, out_dir: Path, destinations: Destinations | None = None, view: RoundView | None = None) -> list[Path]:
    """Write the summary of the round as it stands into ``out_dir``, with each latest annotated copy."""
    destinations = destinations or Destinations()
    view = view or round_view(store)
    out_dir.mkdir(parents=True, exist_ok=True)
    for office in view.offices:
        if office.result is not None and office.latest.copy is not None:
            path = destinations.choose(out_dir / copy_name(Path(office.latest.name)))  # marked 检查: never the name sent
            with atomic_path(path) as tmp:
                Path(tmp).write_bytes(store.blob(office.latest.copy))
            destinations.record([path])
            office.result.output = path
    written = write_summary(view.results(), out_dir, destinations, view.collection())
    written.append(write_reminders(view, destinations.choose(out_dir / REMINDERS_XLSX)))
    destinations.record(written)
    store.log("exported", folder=str(out_dir))
    return written


def write_reminders(view: RoundView, path: Path) -> Path:
    """催报.xlsx: the offices that have not reported, or must fix what they sent, with their contacts."""
    due = [v for v in view.offices if v.status == "missing" or v.needs_fixing]
    rows = []
    for n, v in enumerate(due, 1):
        office, status = v.record.office, ROSTER_STATUS[v.status]
        rows.append([n, office.code, office.name, Cell(status, ("fills", status)), REVIEW.get((v.review or {}).get("kind"), ""), v.late,
                     local_time(v.latest.received_at) if v.latest else "", office.contact, office.phone])
    with atomic_path(path) as tmp:
        wb = listing_workbook(tmp)
        Listing(wb, sheet_formats(wb), "催报", [5, 10, 24, 12, 10, 10, 22, 10, 16]).title(
            f"{view.year or ''} 年度报告催报名单：未报送 {sum(v.status == 'missing' for v in due)} 个，"
            f"需要修改 {sum(v.status != 'missing' for v in due)} 个").table(
            ["序号", "编码", "机关名称", "状态", "审核", "逾期", "最近报送", "联系人", "联系电话"], rows).finish()
        close_workbook(wb)
    return path
