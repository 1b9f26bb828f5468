"""Measure a supervisor's round for a roster of N offices: distributing (with and without last
year's collection to prefill from) against plainly building N templates, and collecting N returned
workbooks against the roster against checking the same folder without one.

    python benchmarks/distribution.py --offices 300 --folder /tmp/nianbao-round
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import time
from pathlib import Path

from openpyxl import Workbook

from nianbao.batch import check_many
from nianbao.collect import collect
from nianbao.distribute import distribute, file_name
from nianbao.files import Destinations
from nianbao.roster import read_roster
from nianbao.samples import PLACES, follow_on, realistic_values
from nianbao.spec import load_spec
from nianbao.summary import write_summary
from nianbao.template import build
from nianbao.workers import Pool, worker_count

SPEC = load_spec("2021")


def _build(path: Path) -> Path:
    return build(SPEC, path)


def timed(func) -> tuple[float, object]:
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def prepare(folder: Path, offices: int) -> tuple[Path, dict[int, dict]]:
    """A roster, last year's collection, and this year's values for every office."""
    rng = random.Random(9)
    names = [f"{PLACES[i % len(PLACES)]}第{i + 1}局" for i in range(offices)]
    wb = Workbook()
    wb.active.append(["编码", "机关名称", "联系人"])
    for i, name in enumerate(names):
        wb.active.append([f"{5000 + i}", name, f"联系人{i}"])
    wb.save(folder / "名单.xlsx")
    this_year = {}
    for i, name in enumerate(names):
        last = realistic_values(SPEC, rng, name, 2024)
        build(SPEC, folder / "去年" / f"{name}.xlsx", values=last)
        carry = {c.key: last[f"t3.carry_out.{c.key}"] for c in SPEC.table("t3").columns if c.key != "total"}
        this_year[i] = realistic_values(SPEC, rng, name, 2025, carry_in=carry)
        follow_on(SPEC, last, this_year[i])
    return folder / "名单.xlsx", this_year


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offices", type=int, default=300)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nianbao-round"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    (args.folder / "去年").mkdir(parents=True)
    roster_path, this_year = prepare(args.folder, args.offices)
    roster = read_roster(roster_path)
    n = args.offices
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {n} offices")

    def plain() -> None:  # N templates built one by one, nothing else (what distribute did before it stamped)
        jobs = [args.folder / "plain" / file_name(o, 2025, False) for o in roster.offices]
        with Pool(worker_count(None)) as pool:
            pool.map(_build, jobs, [60.0] * n, None, "plain", [1] * n)

    floor, _ = timed(plain)
    bare, _ = timed(lambda: distribute(roster, SPEC, 2025, args.folder / "下发0"))
    full, sent = timed(lambda: distribute(roster, SPEC, 2025, args.folder / "下发", previous_dir=args.folder / "去年"))
    prefilled = sum(bool(s.prefilled) for s in sent.sent)
    print(f"build {n} templates one by one:            {floor:6.2f} s")
    print(f"distribute:                               {bare:6.2f} s  (+{bare - floor:.2f} s)")
    print(f"distribute --previous-dir (prefill {prefilled}):  {full:6.2f} s  (+{full - floor:.2f} s)")

    returned = args.folder / "收回"
    returned.mkdir()
    for i, s in enumerate(sent.sent):  # the offices fill their workbooks (built directly: not what is measured)
        values = this_year[i] | {k: v for k, v in s.prefilled.items()}
        build(SPEC, returned / s.path.name, values=values, identity={"roster_code": s.office.code, "roster_office": s.office.name,
                                                                      "roster_year": "2025", "distribution": sent.id})
    checked, results = timed(lambda: check_many([returned], copies="none"))
    grouped, collection = timed(lambda: collect(roster, results))
    summary, _ = timed(lambda: write_summary(results, args.folder / "结果", Destinations(), collection))
    statuses = {s: collection.count(s) for s in ("clean", "errors", "warnings", "missing")}
    print(f"check {n} returned workbooks:              {checked:6.2f} s")
    print(f"match them to the roster:                 {grouped:6.2f} s")
    print(f"write 汇总.xlsx with 报送情况, csv, json:    {summary:6.2f} s   offices: {statuses}")


if __name__ == "__main__":
    main()
