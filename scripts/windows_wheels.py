"""The offline install folder for the clerks' Windows computers (docs/excel.md): nianbao's wheel and
every wheel it needs on 64-bit Windows with Python 3.11, built on Linux or on Windows alike.

    python scripts/windows_wheels.py dist/nianbao-0.1.0-py3-none-any.whl 共享文件夹/

``pip download --platform win_amd64`` fetches Windows wheels, but judges the environment markers of
their requirements against the machine pip runs on: built on Linux, the folder lacked pywin32
(xlwings: ``platform_system == "Windows"``) and colorama (click: ``platform_system == "Windows"``),
and ``pip install --no-index`` on Windows then failed. This script runs the same ``pip download``,
then reads the Requires-Dist of every wheel in the folder, judges the markers as Windows with
Python 3.11 would (packaging.markers, the library pip itself uses), and downloads what is missing,
until nothing is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

# The marker environment of the clerks' computers: 64-bit Windows, CPython 3.11 (docs/excel.md step 1).
WINDOWS = {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64",
           "platform_release": "10", "platform_version": "10.0.19045", "python_version": "3.11", "python_full_version": "3.11.9",
           "implementation_name": "cpython", "implementation_version": "3.11.9", "platform_python_implementation": "CPython"}
TARGET = ["--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp", "--only-binary=:all:"]
ROUNDS = 10  # each round adds what the wheels of the last one need; a dependency chain is never that deep


def needs(root: str, requires: Callable[[str], Iterable[str]], environment: dict) -> dict[str, list[Requirement]]:
    """Every distribution ``root`` needs in ``environment`` (its requirements' markers judged there,
    extras followed), by canonical name, with the requirements that asked for it."""
    wanted: dict[str, list[Requirement]] = {canonicalize_name(root): []}
    todo, seen = [(canonicalize_name(root), "")], set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for text in requires(name):
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate(environment | {"extra": extra}):
                continue
            dep = canonicalize_name(req.name)
            wanted.setdefault(dep, []).append(req)
            todo += [(dep, e) for e in ("", *req.extras)]
    return wanted


def wheels(folder: Path) -> dict[str, tuple[str, list[str]]]:
    """The wheels in ``folder``: canonical name -> (version, Requires-Dist lines)."""
    found = {}
    for path in sorted(folder.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as z:
            metadata = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
            headers = HeaderParser().parsestr(z.read(metadata).decode("utf-8"))
        found[canonicalize_name(name)] = (str(version), headers.get_all("Requires-Dist") or [])
    return found


def missing(folder: Path, root: str = "nianbao", environment: dict = WINDOWS) -> list[str]:
    """What ``root``'s wheel in ``folder`` needs on Windows that no wheel there gives, as pip requirements."""
    present = wheels(folder)
    wanted = needs(root, lambda name: present.get(name, ("", []))[1], environment)
    lacking = []
    for name, asked in sorted(wanted.items()):
        version = present.get(name, (None,))[0]
        if version is None or not all(r.specifier.contains(version, prereleases=True) for r in asked):
            lacking.append(name + ",".join(str(r.specifier) for r in asked if r.specifier))
    return lacking


def build(wheel: Path, folder: Path) -> list[str]:
    """Download ``wheel``'s Windows dependencies into ``folder``; what is still missing (nothing, when it worked)."""
    pip = [sys.executable, "-m", "pip", "download", "--dest", str(folder), *TARGET]
    subprocess.run([*pip, str(wheel)], check=True)
    root = canonicalize_name(parse_wheel_filename(wheel.name)[0])
    for _ in range(ROUNDS):
        lacking = missing(folder, root)
        if not lacking:
            break
        subprocess.run([*pip, *lacking], check=True)
    return missing(folder, root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="nianbao 的安装包（pip wheel --no-deps . -w dist 生成）")
    parser.add_argument("folder", type=Path, help="共享文件夹")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    lacking = build(args.wheel, args.folder)
    if lacking:
        print("仍缺少：" + "，".join(lacking), file=sys.stderr)
        return 1
    print(f"{args.folder} 中已有 Windows（64 位，Python 3.11）安装 nianbao 所需的全部 {len(wheels(args.folder))} 个安装包")
    return 0


if __name__ == "__main__":
    sys.exit(main())
