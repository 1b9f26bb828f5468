"""Time and peak memory for every hostile input (zip bombs, sheets read as calamine reads them,
long lines, PDF bombs, deep and unclosed web pages, a 100 MB text, what only the copy reads), each
checked in a fresh process with its annotated copy written when it was checked; then one batch
of --files files holding every hostile case among good ones, through the real CLI, with the peak of its whole process tree (parent and workers).

    python benchmarks/hostile.py --files 500 --folder /tmp/nianbao-hostile
    python benchmarks/hostile.py --distinct 20000 --copies-of-one 2000   # the two scale batches only
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/hostile.py makes the inputs

from tests.hostile import CASES, SPEC, check_alone, many_sheets, run_measured  # noqa: E402

from nianbao.samples import fill  # noqa: E402

OFFICE = "示例县人民政府办公室".encode()  # what fill() names the office, in the shared strings


def alone(good: Path, folder: Path) -> None:
    base = subprocess.run([sys.executable, "-c", "import resource, nianbao; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    print(f"baseline: python + nianbao imported, {base} MiB")
    print(f"{'case':26} {'size':>9} {'seconds':>8} {'peak MiB':>9}  result")
    cases = folder / "cases"
    cases.mkdir()
    inputs = [(c.name, c.make(good, cases)) for c in CASES if c.bomb]
    inputs.append(("sheets-499 (under limit)", many_sheets(484)(good, folder)))  # 15 sheets of the template + 484
    for name, path in inputs:
        result = check_alone(path)
        copy = f"; copy: {result.copy[:60]}" if result.copy else ""
        print(f"{name:26} {path.stat().st_size / 1024:8.0f}K {result.seconds:8.2f} {result.peak_mib:9d}  {result.status} {result.reason[:70]}{copy}")


def batch(good: Path, folder: Path, files: int) -> None:
    inputs = folder / "batch"
    inputs.mkdir()
    for case in CASES:
        case.make(good, inputs)
    (inputs / "report.docx").unlink(missing_ok=True)
    for n in range(files - len(list(inputs.iterdir()))):  # good reports of as many offices
        fill(SPEC, inputs / f"good-{n:04d}.xlsx", {"meta.office": f"示例县第{n}局"}, year=2025)
    out = folder / "out"
    run, seconds, peak, _ = run_measured([sys.executable, "-m", "nianbao", "check", str(inputs), "--out", str(out), "--quiet"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    totals = summary["totals"]["files"]
    print(f"batch of {totals['total']} files ({len(CASES)} hostile): {seconds:.1f} s, peak {peak} MiB (all processes), exit code {run.returncode}, "
          f"failed {totals['failed']}, summary complete: {len(summary['files']) == totals['total']}, "
          f"tracebacks: {(run.stdout + run.stderr).count('Traceback')}")


def _renamed(good: bytes, office: str) -> bytes:
    """``good`` with its office name replaced in the shared strings (much faster than filling a template)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data.replace(OFFICE, office.encode()) if info.filename == "xl/sharedStrings.xml" else data)
    return out.getvalue()


def _measure_scale(inputs: Path, out: Path) -> tuple[int, float, int, int]:
    run, seconds, peak, parent = run_measured([sys.executable, "-m", "nianbao", "check", str(inputs), "--out", str(out), "--quiet",
                                               "--copies", "none"], timeout=7200)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    y003 = [len([f for f in r["findings"] if f["rule"] == "Y003"]) for r in summary["files"]]
    count = summary["totals"]["files"]["total"]
    print(f"{count} {inputs.name} workbooks: {seconds:.1f} s, peak {parent} MiB parent, {peak} MiB all processes, exit code {run.returncode}, "
          f"Y003 per file {min(y003)}-{max(y003)}, summary.json {(out / 'summary.json').stat().st_size / (1 << 20):.1f} MB", flush=True)
    return count, seconds, parent, peak


def scale(good: Path, folder: Path, distinct: int, copies: int) -> None:
    """A batch of ``distinct`` workbooks of as many offices, measured beside a tenth of it (the
    parent's memory should not grow with the batch), and one of ``copies`` copies of one workbook (Y003 each)."""
    data = good.read_bytes()
    for name, count, make in (("distinct", distinct, lambda n: _renamed(data, f"示例县第{n}局")), ("copies", copies, lambda n: data)):
        if not count:
            continue
        inputs, tenth = folder / name, folder / f"{name}-tenth"
        inputs.mkdir()
        tenth.mkdir()
        for n in range(count):
            (inputs / f"{name}-{n:05d}.xlsx").write_bytes(make(n))
            if name == "distinct" and n < count // 10:
                (tenth / f"{name}-{n:05d}.xlsx").hardlink_to(inputs / f"{name}-{n:05d}.xlsx")
        if name == "distinct" and count >= 10:
            small = _measure_scale(tenth, folder / "tenth-out")
            large = _measure_scale(inputs, folder / f"{name}-out")
            print(f"{large[0]} files against {small[0]}: time x{large[1] / small[1]:.1f}, parent peak x{large[2] / small[2]:.2f} "
                  f"(+{(large[2] - small[2]) * 1024 / (large[0] - small[0]):.1f} KB a file), all processes x{large[3] / small[3]:.2f}")
        else:
            _measure_scale(inputs, folder / f"{name}-out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nianbao-hostile"))
    parser.add_argument("--distinct", type=int, default=0, help="only: a batch of this many distinct workbooks")
    parser.add_argument("--copies-of-one", type=int, default=0, help="only: a batch of this many copies of one workbook")
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    args.folder.mkdir(parents=True)
    good = fill(SPEC, args.folder / "good.xlsx", year=2025)
    if args.distinct or args.copies_of_one:
        scale(good, args.folder, args.distinct, args.copies_of_one)
        return
    alone(good, args.folder)
    batch(good, args.folder, args.files)


if __name__ == "__main__":
    main()
