"""Sending the template to every office on a roster (下发).

One workbook per office, its office name and year filled and locked, with a hidden identity
record (roster code and office, year, a distribution id, besides the format, template version
and structure fingerprint every template carries) so that collection can tell a workbook made
for another office or year, or from an older template. With last year's collection, the cells
that rules mark ``prefill`` (上年结转 = last year's 结转下年度) are filled from each office's
report of last year, with a note saying where the numbers came from. A 下发清单.xlsx lists it all.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.batch import read_many
from nianbao.files import Destinations, atomic_path, close_workbook, listing_workbook
from nianbao.layout import form_layout
from nianbao.listing import Cell, Listing, sheet_formats
from nianbao.live_layer import last_year_cells, last_year_keys
from nianbao.pairing import Checked, LastYear
from nianbao.result import failure_reason
from nianbao.roster import MATCHES, Office, Offices, Roster
from nianbao.rules.catalogue import prefills, ruleset
from nianbao.spec import FormSpec
from nianbao.stamp import placeholder, stamp
from nianbao.workers import Failure, Pool, worker_count

LIST_XLSX = "下发清单.xlsx"
LOCKED = frozenset({"meta.office", "meta.year"})  # filled by the 政务公开办, not by the office
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 120  # characters of a file name: room for the folder within Windows' 260


def safe_file_name(text: str) -> str:
    """``text`` as a file name on Windows, macOS and Linux: characters they refuse become "_"."""
    name = _UNSAFE.sub("_", text).strip(" .")[:MAX_NAME].strip(" .")
    if not name or name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name


def file_name(office: Office, year: int, macro: bool) -> str:
    """编码-机关名称-2025年度报告.xlsx (without the code when the roster has none)."""
    parts = [office.code, office.name, f"{year}年度报告"] if office.code else [office.name, f"{year}年度报告"]
    return safe_file_name("-".join(parts)) + (".xlsm" if macro else ".xlsx")


@dataclass
class Sent:
    """One office's workbook: where it went, and what was prefilled from where (or why not)."""

    office: Office
    path: Path | None = None
    prefilled: dict[str, object] = field(default_factory=dict)  # key -> value
    previous: Path | None = None  # last year's workbook the values came from
    note: str = ""  # where the values came from, or why nothing was prefilled
    cell_note: str = ""  # the note put on each prefilled cell
    last_year: dict[str, object] = field(default_factory=dict)  # last year's values the live cross-year checks read
    reason: str | None = None  # why the workbook could not be written


@dataclass
class Distribution:
    id: str
    spec: FormSpec
    year: int
    sent: list[Sent]
    list_path: Path | None = None


def _last_year(roster: Roster, earlier: list[Checked], year: int) -> list[tuple[Checked | None, str]]:
    """Each office's report of ``year`` among ``earlier`` (by roster code, then by name), and how it
    was found; or None, and why none was."""
    index = LastYear(earlier)
    offices = Offices(roster)
    unreadable = {id(offices.by_file_name(c.result.path)): c for c in earlier if c.extract is None}
    found = []
    for office in roster.offices:
        match, hits = index.find(office.code, office.name, year)
        if len(hits) == 1:
            found.append((hits[0], MATCHES[match]))
        elif hits:
            found.append((None, f"有 {len(hits)} 份可能是该机关 {year} 年度的报告，未预填：" + "、".join(h.result.path.name for h in hits)))
        elif id(office) in unreadable:
            lost = unreadable[id(office)].result
            found.append((None, f"{year} 年度报告 {lost.path.name} 无法读取：{lost.reason}"))
        else:
            found.append((None, f"上一年度文件夹中没有该机关 {year} 年度的报告"))
    return found


def _prefill(spec: FormSpec, previous: Checked) -> tuple[dict[str, object], str | None]:
    """The prefilled cells from last year's report, or why it cannot give them."""
    values, bad = {}, []
    for key, prev_key in prefills(ruleset(spec)):
        value = previous.extract.data.get(prev_key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            values[key] = value
        else:
            bad.append(previous.extract.spec.cells[prev_key].column_label or prev_key)
    if bad:
        return {}, f"上一年度报告 {previous.result.path.name} 中有 {len(bad)} 个单元格未填或不是数字（{'、'.join(bad[:4])}），未预填"
    return values, None


def _note(spec: FormSpec, previous: Checked, year: int) -> str:
    source = {prev for _, prev in prefills(ruleset(spec))}
    rows = "、".join(dict.fromkeys(previous.extract.spec.cells[k].row_label or k for k in sorted(source)))
    return (f"按 {year} 年度报告（{previous.result.path.name}）的“{rows}”预填。"
            "上年结转必须与上一年度报告的结转数一致，改动后为错误（Y301），不能以说明代替；"
            "如认为上一年度报告有误，请联系政务公开办核实，不要自行修改。")


def build_one(job: tuple) -> Path | Failure:
    """Write one office's workbook (in a worker): a copy of the built template, stamped."""
    base, path, cells, notes, identity = job
    try:
        return stamp(base, path, cells, notes, identity)
    except Exception as exc:
        return Failure(failure_reason(exc), type(exc).__name__)


class _Bases:
    """The template, built once for each set of identity entries that are given (a roster without
    codes prints no 编码), every entry a placeholder the stamp replaces."""

    def __init__(self, spec: FormSpec, folder: Path, macro: bool):
        self.spec, self.folder, self.macro = spec, folder, macro
        self.built: dict[tuple[str, ...], Path] = {}

    def __call__(self, identity: dict[str, str]) -> Path:
        from nianbao.template import build

        given = tuple(k for k, v in identity.items() if v)
        if given not in self.built:
            path = self.folder / f"base-{len(self.built)}{'.xlsm' if self.macro else '.xlsx'}"
            self.built[given] = build(self.spec, path, macro=self.macro, locked=LOCKED,
                                      identity={k: placeholder(k) if v else v for k, v in identity.items()})
        return self.built[given]


def distribute(roster: Roster, spec: FormSpec, year: int, out_dir: Path, *, previous_dir: Path | None = None,
               macro: bool = False, jobs: int | None = None, destinations: Destinations | None = None,
               links: dict[str, str] | None = None) -> Distribution:
    """Write one workbook per roster office into ``out_dir`` and the 下发清单.xlsx listing them; ``links``
    (office name -> its upload link in a round) go on each workbook's 说明 sheet and in the list."""
    destinations = destinations or Destinations()
    distribution = Distribution(uuid.uuid4().hex[:12], spec, year, [Sent(o) for o in roster.offices])
    if previous_dir is not None:
        earlier = read_many([previous_dir], jobs)
        for sent, (previous, how) in zip(distribution.sent, _last_year(roster, earlier, year - 1), strict=True):
            if previous is None:
                sent.note = how
                continue
            sent.prefilled, problem = _prefill(spec, previous)
            sent.previous = previous.result.path
            sent.note = problem or f"{previous.result.path.name}（{how}）"
            sent.cell_note = _note(spec, previous, year - 1)
            # Into locked hidden cells, so that Y301 and the other cross-year checks are live too.
            sent.last_year = {k: previous.extract.data.get(k) for k in last_year_keys(spec)}
    today = dt.date.today().isoformat()
    inputs = form_layout(spec).inputs
    with tempfile.TemporaryDirectory(prefix=".nianbao-") as tmp:
        bases, jobs_ = _Bases(spec, Path(tmp), macro), []
        for sent in distribution.sent:
            sent.path = destinations.choose(out_dir / file_name(sent.office, year, macro))
            identity = {"roster_code": sent.office.code, "roster_office": sent.office.name, "roster_year": str(year),
                        "distribution": distribution.id, "distributed": today}
            if links and sent.office.name in links:
                identity["upload_link"] = links[sent.office.name]
            values = {"meta.office": sent.office.name, "meta.year": year, **sent.prefilled}
            cells = {(inputs[k].sheet, inputs[k].address): v for k, v in values.items()}
            cells |= last_year_cells(spec, sent.last_year)  # into the live sheet's locked hidden cells
            notes = {(inputs[k].sheet, inputs[k].address): sent.cell_note for k in sent.prefilled}
            jobs_.append((bases(identity), sent.path, cells, notes, identity))
        with Pool(worker_count(jobs)) as pool:
            written = pool.map(build_one, jobs_, [60.0] * len(jobs_), None, "distribute", [1] * len(jobs_))
    for sent, outcome in zip(distribution.sent, written, strict=True):
        if isinstance(outcome, Failure):
            sent.reason, sent.path = outcome.reason, None
    destinations.record(s.path for s in distribution.sent if s.path is not None)
    distribution.list_path = write_list(distribution, destinations.choose(out_dir / LIST_XLSX), links or {})
    destinations.record([distribution.list_path])
    return distribution


def write_list(distribution: Distribution, path: Path, links: dict[str, str]) -> Path:
    """下发清单.xlsx: one row per office: its file, and what was prefilled from where, or why not; and
    its upload link when the round has them."""
    spec = distribution.spec
    prefilled = sum(bool(s.prefilled) for s in distribution.sent)
    header = ["序号", "编码", "机关名称", "文件", "上年结转预填", "预填来源或未预填原因", "预填的单元格", "联系人", "联系电话"]
    header += ["上传链接"] if links else []
    rows = []
    for i, sent in enumerate(distribution.sent, 1):
        cells = "；".join(f"{spec.cells[k].column_label}={v}" for k, v in sent.prefilled.items())
        status = "无法写出：" + sent.reason if sent.reason else ("是" if sent.prefilled else "否")
        link = links.get(sent.office.name)
        rows.append([i, sent.office.code, sent.office.name, sent.path.name if sent.path else "", status, sent.note, cells,
                     sent.office.contact, sent.office.phone] + ([Cell(link, "link", link) if link else ""] if links else []))
    with atomic_path(path) as tmp:
        wb = listing_workbook(tmp)
        Listing(wb, sheet_formats(wb), "下发清单", [5, 10, 24, 34, 12, 44, 30, 10, 16, 60]).title(
            f"{distribution.year} 年度报告模板下发清单：{len(distribution.sent)} 个机关，"
            f"其中 {prefilled} 个按上一年度报告预填了“上年结转”").title(
            f"格式：{spec.title}（{spec.notice}）；模板版本 {spec.template_version}；下发编号 {distribution.id}；"
            f"{dt.date.today().isoformat()}", "note").table(header, rows).finish()
        close_workbook(wb)
    return path
