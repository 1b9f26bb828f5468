"""Time and peak memory for every hostile input (zip bombs, the 10,000-sheet workbook, deep and
unclosed web pages, a 100 MB text), each checked in a fresh process; then one batch of
--files files holding every hostile case among good ones, through the real CLI.

    python benchmarks/hostile.py --files 500 --folder /tmp/nianbao-hostile
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/hostile.py makes the inputs

from tests.hostile import CASES, SPEC, check_alone, many_sheets  # noqa: E402

from nianbao.samples import fill  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nianbao-hostile"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    cases = args.folder / "cases"
    cases.mkdir(parents=True)
    good = fill(SPEC, args.folder / "good.xlsx", year=2025)

    # A fresh Python with nianbao imported takes this much before it reads anything.
    base = subprocess.run([sys.executable, "-c", "import resource, nianbao; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    print(f"baseline: python + nianbao imported, {base} MiB")
    print(f"{'case':26} {'size':>9} {'seconds':>8} {'peak MiB':>9}  result")
    inputs = [(c.name, c.make(good, cases)) for c in CASES if c.bomb]
    inputs.append(("sheets-499 (under limit)", many_sheets(484)(good, args.folder)))  # 15 sheets of the template + 484
    for name, path in inputs:
        alone = check_alone(path)
        print(f"{name:26} {path.stat().st_size / 1024:8.0f}K {alone.seconds:8.2f} {alone.peak_mib:9d}  {alone.status} {alone.reason[:70]}")

    batch = args.folder / "batch"
    batch.mkdir()
    for case in CASES:
        case.make(good, batch)
    (batch / "report.docx").unlink(missing_ok=True)
    for n in range(args.files - len(list(batch.iterdir()))):  # good reports of as many offices
        fill(SPEC, batch / f"good-{n:04d}.xlsx", {"meta.office": f"示例县第{n}局"}, year=2025)
    out = args.folder / "out"
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "nianbao", "check", str(batch), "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=3600)
    elapsed = time.monotonic() - start
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    files = summary["totals"]["files"]
    print(f"batch of {files['total']} files ({len(CASES)} hostile): {elapsed:.1f} s, exit code {run.returncode}, "
          f"failed {files['failed']}, summary complete: {len(summary['files']) == files['total']}, "
          f"tracebacks: {(run.stdout + run.stderr).count('Traceback')}")


if __name__ == "__main__":
    main()
