"""Measure batch checking: throughput with all cores, the check-only time against a plain
python-calamine read of the same files (one process, one worker), and peak memory for a quarter
of the files and for all of them. Also checks that every injected error was found.

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

from python_calamine import CalamineWorkbook

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
    print(f"injected errors not found exactly: {len(missed)}" + (f" ({', '.join(missed[:5])})" if missed else ""))
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB peak)")


if __name__ == "__main__":
    main()
