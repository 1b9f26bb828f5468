"""Measure batch checking: throughput with all cores, the check-only time against a plain
python-calamine read of the same files (one process, one worker), and peak memory for a quarter
of the files and for all of them; per file with findings, its annotated copy against the raw read
(and against an openpyxl load and save); one office's distributed workbook stamped and built, and a
distribution of 300 offices.
Also checks that every injected error was found.

    python benchmarks/bench.py --files 2000 --folder /tmp/nianbao-bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from nianbao.annotate import annotate
from nianbao.batch import check_many

HERE = Path(__file__).resolve().parent


def calamine_read_all(files: list[Path]) -> None:
    """The baseline: every sheet of every file read with python-calamine, nothing else."""
    for path in files:
        try:
            book = CalamineWorkbook.from_path(str(path))
            for name in book.sheet_names:
                book.get_sheet_by_name(name).to_python()
        except Exception:  # the corrupt files fail here too, as in the checker
            pass


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def best(func, runs: int = 3) -> float:
    return min(timed(func) for _ in range(runs))


def copies_side_by_side(results: list, folder: Path) -> tuple[float, float, float]:
    """Per file with findings: a raw calamine read, the annotated copy patched into the package, and
    the copy written by openpyxl (load and save, what nianbao did before), in ms. Each file's three
    are timed one after another, best of three, so a machine whose load changes affects them alike."""
    with_findings = [r for r in results if r.findings and not r.reason][:200]
    out = folder / "copies"
    out.mkdir(exist_ok=True)
    read = patched = old = 0.0
    for n, r in enumerate(with_findings):
        read += best(lambda r=r: calamine_read_all([r.path]))
        patched += best(lambda r=r: annotate(r.path, r.findings, out / r.path.name, r.stale, r.reading))
        if n < 50:
            old += best(lambda r=r: load_workbook(r.path).save(out / f"openpyxl-{r.path.name}"), 1)
    n = len(with_findings)
    return read / n * 1e3, patched / n * 1e3, old / min(n, 50) * 1e3 * (1 if n else 0)


def one_office(folder: Path) -> tuple[float, float]:
    """ms for one office's distributed workbook: stamped into the template built once, and built."""
    from nianbao.distribute import LOCKED, _Bases
    from nianbao.layout import form_layout
    from nianbao.spec import load_spec
    from nianbao.stamp import stamp
    from nianbao.template import build

    spec = load_spec("2021")
    inputs = form_layout(spec).inputs
    identity = {"roster_code": "5001", "roster_office": "示例县财政局", "roster_year": "2025", "distribution": "0" * 12, "distributed": "2026-01-05"}
    values = {"meta.office": "示例县财政局", "meta.year": 2025, "t3.carry_in.natural": 3, "t3.carry_in.total": 3}
    notes = {k: "按 2024 年度报告预填。" for k in ("t3.carry_in.natural", "t3.carry_in.total")}
    cells = {(inputs[k].sheet, inputs[k].address): v for k, v in values.items()}
    where = {(inputs[k].sheet, inputs[k].address): t for k, t in notes.items()}
    base = _Bases(spec, folder, False)(identity)
    stamped = best(lambda: [stamp(base, folder / f"stamped-{i}.xlsx", cells, where, identity) for i in range(50)]) / 50 * 1e3
    built = best(lambda: [build(spec, folder / f"built-{i}.xlsx", values=values, locked=LOCKED, notes=notes, identity=identity)
                          for i in range(10)], 2) / 10 * 1e3
    return stamped, built


def distribute_offices(folder: Path, offices: int = 300) -> float:
    """Seconds for `nianbao distribute` of a roster of ``offices`` (the whole command: start-up, the
    template built once, every workbook stamped with all cores, 下发清单.xlsx)."""
    import csv
    import shutil

    roster, out = folder / "名单.csv", folder / "下发"
    with roster.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["编码", "机关名称", "联系人"]] + [[f"{5000 + i}", f"示例县第{i}局", "张三"] for i in range(offices)])
    shutil.rmtree(out, ignore_errors=True)
    return timed(lambda: subprocess.run([sys.executable, "-m", "nianbao", "distribute", str(roster), "--format", "2021", "--year", "2025",
                                         "-o", str(out)], check=True, capture_output=True))


def peak_memory_mib(files: list[Path]) -> float:
    """Peak resident memory of a fresh process checking ``files`` with all cores (workers included)."""
    code = (
        "import json, resource, sys; from pathlib import Path; from nianbao.batch import check_many;"
        "check_many([Path(p) for p in json.load(sys.stdin)], copies='none');"
        "print(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))"
    )
    run = subprocess.run([sys.executable, "-c", code], input=json.dumps([str(f) for f in files]),
                         capture_output=True, text=True, check=True)
    return int(run.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nianbao-bench"))
    parser.add_argument("--corrupt", type=int, default=5)
    args = parser.parse_args()

    manifest_path = args.folder / "manifest.json"
    if not manifest_path.exists() or len(json.loads(manifest_path.read_text(encoding="utf-8"))) != args.files:
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.files), str(args.folder),
                        "--corrupt", str(args.corrupt)], check=True)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = sorted(args.folder / name for name in manifest)

    # Warm both paths (imports, caches, the OS file cache), then time each twice and keep the best.
    calamine_read_all(files[:50])
    check_many(files[:50], copies="none", jobs=1)
    baseline = min(timed(lambda: calamine_read_all(files)) for _ in range(2))
    single = min(timed(lambda: check_many(files, copies="none", jobs=1)) for _ in range(2))
    results: list = []
    parallel = timed(lambda: results.extend(check_many(files, copies="none")))

    found = {r.path.name: sorted((f.rule, f.key) for f in r.findings) for r in results}
    missed = [name for name, m in manifest.items()
              if not m["corrupt"] and found[name] != sorted(tuple(e) for e in m["expected"])]
    unreadable = sum(r.status == "failed" for r in results)

    cores = os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, {platform.platform()}")
    print(f"files: {len(files)} ({args.corrupt} corrupt; {unreadable} reported unreadable)")
    print(f"python-calamine, read every sheet (1 process): {len(files) / baseline:8.0f} files/s")
    print(f"nianbao check-only (1 worker process):       {len(files) / single:8.0f} files/s")
    print(f"ratio nianbao / calamine:                      {single / baseline:8.2f}")
    print(f"nianbao check-only ({cores} workers):              {len(files) / parallel:8.0f} files/s")
    quarter = files[: len(files) // 4]
    print(f"peak memory, {len(quarter)} files:                 {peak_memory_mib(quarter):8.0f} MiB")
    print(f"peak memory, {len(files)} files:                 {peak_memory_mib(files):8.0f} MiB")
    read_ms, patched_ms, openpyxl_ms = copies_side_by_side(results, args.folder)
    print(f"per file with findings: calamine read {read_ms:.2f} ms, annotated copy {patched_ms:.2f} ms "
          f"(ratio {patched_ms / read_ms:.1f}), openpyxl load+save {openpyxl_ms:.1f} ms (ratio {openpyxl_ms / read_ms:.0f}, first 50 files)")
    stamped_ms, built_ms = one_office(args.folder)
    print(f"one office's distributed workbook: stamped {stamped_ms:.2f} ms, built {built_ms:.1f} ms")
    print(f"nianbao distribute, 300 offices ({cores} cores): {distribute_offices(args.folder):.2f} s")
    print(f"injected errors not found exactly: {len(missed)}" + (f" ({', '.join(missed[:5])})" if missed else ""))
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB peak)")


if __name__ == "__main__":
    main()
