"""Which files a batch checks, and where each one's annotated copy goes.

Inputs are files, folders (searched recursively) and glob patterns. Copies go to ``--out``
(mirroring the folders below each input folder) or beside their input, never onto an input or a
file that nianbao did not write (files.Destinations)."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nianbao.files import Destinations
from nianbao.importers import importable
from nianbao.result import Result

SUFFIXES = (".xlsx", ".xlsm")  # workbooks; published reports (importers.SUFFIXES) are imported first
LEGACY = (".xls",)  # found and listed with the reason they cannot be read, never passed over in silence
COPY_SUFFIX = ".检查"  # annotated copies written beside their input are named <name>.检查.xlsx
_COPY = re.compile(r"\.检查(?:-\d+)?$")  # ... or, when that name is taken, <name>.检查-2.xlsx


@dataclass
class Item:
    """One file to check: where it is, and where its annotated copy goes."""

    path: Path
    dest: Path


def is_input(path: Path) -> bool:
    return ((path.suffix.lower() in SUFFIXES + LEGACY or importable(path)) and not path.name.startswith(("~$", ".~lock", ".nianbao-"))
            and not _COPY.search(path.stem) and path.stem != "汇总")


def copy_name(path: Path, beside: bool) -> str:
    """The annotated copy's file name. An imported report keeps its suffix in the name
    (report.html.检查.xlsx), so report.txt, report.html and report.xlsx get three copies."""
    mark = COPY_SUFFIX if beside else ""
    if path.suffix.lower() in SUFFIXES:
        return f"{path.stem}{mark}{path.suffix}"
    return f"{path.name}{mark}.xlsx"


def discover(inputs: Iterable[str | Path], out_dir: Path | None = None,
             destinations: Destinations | None = None) -> tuple[list[Item], list[Result]]:
    """The files named by ``inputs`` (files, folders searched recursively, glob patterns), and a
    failed result for each input that matches nothing. Copies go to ``out_dir`` (mirroring the
    folders below each input folder) or beside their input, never onto an input or a file that
    nianbao did not write (see files.Destinations)."""
    found: list[tuple[Path, Path]] = []  # (file, the folder its copy's place mirrors from)
    missing: list[Result] = []
    seen: set[Path] = set()

    def add(path: Path, root: Path, named: bool = False) -> None:
        resolved = path.resolve()
        # Files found under the output folder are earlier outputs, unless named one by one.
        if resolved in seen or (not named and out_dir is not None and out_dir.resolve() in resolved.parents):
            return
        seen.add(resolved)
        found.append((path, root))

    for given in map(str, inputs):
        path = Path(given)
        if path.is_dir():
            for match in sorted(path.rglob("*")):
                if match.is_file() and is_input(match):
                    add(match, path)
        elif path.is_file():
            add(path, path.parent, named=True)
        elif matches := sorted(glob.glob(given, recursive=True)):
            for match in map(Path, matches):
                if match.is_file() and is_input(match):
                    add(match, match.parent)
        else:
            missing.append(Result(path, reason="找不到文件或文件夹"))
    destinations = destinations or Destinations()
    destinations.inputs |= {path.resolve() for path, _ in found}
    items = []
    for path, root in found:
        name = copy_name(path, beside=out_dir is None)
        wanted = path.with_name(name) if out_dir is None else out_dir / path.relative_to(root).with_name(name)
        items.append(Item(path, destinations.choose(wanted)))
    return items, missing


