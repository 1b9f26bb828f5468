"""Generate N realistic filled workbooks of both formats, some with one injected error at a known
cell and some deliberately corrupt, plus manifest.json saying what the checker must find.

    python benchmarks/generate.py 2000 /tmp/reports --corrupt 5
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from nianbao.samples import generate, plan


def _generate(args: tuple[list[dict], Path]) -> dict:
    return generate(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--corrupt", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    jobs = plan(args.n, args.seed, args.corrupt)
    # Keep each consecutive-year pair in one chunk: its second report follows on from the first.
    chunks, current = [], []
    for job in jobs:
        if len(current) >= 50 and not job["name"].startswith(current[-1]["name"][:5]):
            chunks.append(current)
            current = []
        current.append(job)
    chunks.append(current)
    manifest: dict = {}
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        for part in pool.map(_generate, [(chunk, args.folder) for chunk in chunks]):
            manifest |= part
    (args.folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(manifest)} workbooks in {args.folder} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
