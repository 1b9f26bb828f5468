"""Reading published reports: one-line .txt reports (as crawlers save them) read as the checker
reads them, the template stamped from one built once (importers.read_report) against building the
template for each report (importers.write_template, what the annotated copy still does), in one
run; then a batch of --batch such reports through the CLI.

    python benchmarks/imports.py --files 50 --batch 1000 --folder /tmp/nianbao-imports
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nianbao.importers import import_report, read_report, write_template
from nianbao.read import read_workbook


def _one_line(folder: Path, n: int) -> Path:
    path = folder / f"report-{n:05d}.txt"
    path.write_text(f"示例县第{n}局2025年政府信息公开工作年度报告 一、总体情况 本机关认真贯彻落实《中华人民共和国政府信息公开条例》。"
                    f"三、收到和处理政府信息公开申请情况 本年新收政府信息公开申请数量 {n % 50} 件。\n", encoding="utf-8")
    return path


def _built(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        read_workbook(write_template(import_report(path), Path(tmp) / "imported.xlsx"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nianbao-imports"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    (args.folder / "in").mkdir(parents=True)
    paths = [_one_line(args.folder / "in", n) for n in range(max(args.files, args.batch))]
    read_report(paths[0])
    _built(paths[0])  # both warmed: specs, rules and the blank template loaded
    timings = {}
    for name, read in (("stamped (read_report)", read_report), ("built each time", _built)):
        start = time.perf_counter()
        for path in paths[: args.files]:
            read(path)
        timings[name] = (time.perf_counter() - start) / args.files
        print(f"{name:24} {timings[name] * 1000:7.1f} ms per report")
    print(f"built / stamped: {timings['built each time'] / timings['stamped (read_report)']:.1f}x")
    if args.batch:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "nianbao", "check", str(args.folder / "in"), "--out", str(args.folder / "out"),
                              "--copies", "none", "--quiet"], capture_output=True, text=True)
        print(f"check of {args.batch} one-line .txt reports: {time.perf_counter() - start:.1f} s, exit code {run.returncode}")


if __name__ == "__main__":
    main()
