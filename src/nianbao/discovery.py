"""Which files a batch checks, and where each one's annotated copy goes.

Inputs are files, folders (searched recursively) and glob patterns. Copies go to ``--out``
(mirroring the folders below each input folder) or beside their input, never onto an input or a
file that nianbao did not write (files.Destinations)."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nianbao.files import LOCK, MANIFEST, SUMMARY_FILES, Destinations, describe_os_error, path_text, shown
from nianbao.importers import importable
from nianbao.limits import NotRegularFile, check_regular
from nianbao.result import Result

SUFFIXES = (".xlsx", ".xlsm")  # workbooks; published reports (importers.SUFFIXES) are imported first
LEGACY = (".xls",)  # found and listed with the reason they cannot be read, never passed over in silence
COPY_SUFFIX = ".检查"  # annotated copies written beside their input are named <name>.检查.xlsx


@dataclass(frozen=True, slots=True)
class Item:
    """One file to check: where it is, and where its annotated copy goes (as text: a third of the
    memory of two Paths, and a batch of 20,000 files holds every item)."""

    source: str
    target: str

    @property
    def path(self) -> Path:
        return Path(self.source)

    @property
    def dest(self) -> Path:
        return Path(self.target)


# Formats offices send that nianbao cannot read, each said with what to do instead.
_SHEET_AS = "请用 Excel 或 WPS 另存为 .xlsx（在 nianbao 模板中填写）后再报送"
OTHER_FORMATS = {".et": f"这是 WPS 表格文件（.et），{_SHEET_AS}", ".ett": f"这是 WPS 表格模板（.ett），{_SHEET_AS}",
                 ".ods": f"这是 OpenDocument 表格（.ods），{_SHEET_AS}", ".xlsb": f"这是 Excel 二进制工作簿（.xlsb），{_SHEET_AS}",
                 ".xltx": f"这是 Excel 模板文件（.xltx），{_SHEET_AS}", ".xltm": f"这是 Excel 模板文件（.xltm），{_SHEET_AS}",
                 ".csv": f"CSV 文件不是年度报告模板，{_SHEET_AS}", ".doc": "这是旧版 Word 文件（.doc），请另存为 .docx 后再报送",
                 ".wps": "这是 WPS 文字文件（.wps），请另存为 .docx 后再报送"}
_SYSTEM = {"thumbs.db", "desktop.ini", ".ds_store"}  # what file managers leave in a folder
_LOCK_BYTES = 4096  # an Office owner file (~$x.xlsx) or LibreOffice lock is under 200 bytes
SKIP = ""  # not a received file: nianbao's own output, a lock or temporary file, a system file


def _suffix(path: Path) -> str:
    """The suffix as an office program sees it (Windows ignores trailing spaces and dots: "报告.xlsx ")."""
    return Path(path.name.rstrip(" .")).suffix.lower()


def is_input(path: Path) -> bool:
    return _suffix(path) in SUFFIXES + LEGACY or importable(Path(path.name.rstrip(" .")))


def _hidden_or_lock(path: Path, size: int) -> bool:
    name = path.name
    if name.startswith((".nianbao-", "._")) or name.lower() in _SYSTEM or name in (MANIFEST, LOCK):
        return True
    return name.startswith(("~$", ".~lock.")) and size < _LOCK_BYTES


def why_not(path: Path, root: Path | None, destinations: Destinations) -> str | None:
    """Why a file found in an input folder is not checked: a reason to list it with, SKIP for what
    is no received file (nianbao's unchanged outputs, lock files), or None: check it. Never opens
    the file: a FIFO would block, a link to /dev/zero never end."""
    try:
        if path.is_dir():
            return "这是指向文件夹的链接，其中的文件未检查" if path.is_symlink() else SKIP
        size = check_regular(path).st_size
        if path.is_symlink() and root is not None and root.resolve() not in path.resolve().parents:
            return f"这是指向输入文件夹以外（{shown(path.resolve())}）的链接，未检查；请把报告本身放进文件夹"
    except NotRegularFile as exc:
        return str(exc)
    except OSError as exc:
        return f"无法读取：{describe_os_error(exc)}"
    if _hidden_or_lock(path, size) or destinations.is_ours(path):
        return SKIP
    if is_input(path):
        return None
    return OTHER_FORMATS.get(_suffix(path), f"不是可检查的文件（{_suffix(path) or '没有扩展名'}）：只检查 .xlsx/.xlsm 模板和 "
                                             ".txt/.md/.html/.docx/.pdf 报告")


def copy_name(path: Path) -> str:
    """The annotated copy's file name, marked 检查 also in an --out folder (an office never gets
    back a file named like the one it sent). An imported report keeps its suffix in the name
    (report.html.检查.xlsx), so report.txt, report.html and report.xlsx get three copies. Trailing
    spaces and dots (which Windows drops) are dropped."""
    name = Path(path.name.rstrip(" .") or path.name)
    if name.suffix.lower() in SUFFIXES:
        return f"{name.stem}{COPY_SUFFIX}{name.suffix}"
    return f"{name}{COPY_SUFFIX}.xlsx"


def _named(inputs: Iterable[str | Path]) -> Iterator[tuple[Path, Path, bool | None]]:
    """(path, the folder its copy's place mirrors from, whether it was named one by one) for each
    file the inputs name; named None for an input that matches nothing."""
    for given in map(str, inputs):
        path = Path(given)
        if path.is_dir():
            for match in sorted(path.rglob("*")):
                if not any(part.startswith(".") for part in match.relative_to(path).parts[:-1]):  # not inside .git and the like
                    yield match, path, False
        elif path.exists() or path.is_symlink():
            yield path, path.parent, True
        elif matches := sorted(glob.glob(given, recursive=True)):
            yield from ((match, match.parent, False) for match in map(Path, matches))
        else:
            yield path, path.parent, None


def discover(inputs: Iterable[str | Path], out_dir: Path | None = None,
             destinations: Destinations | None = None) -> tuple[list[Item], list[Result]]:
    """The files named by ``inputs`` (files, folders searched recursively, glob patterns), and a
    failed result for every other file found (a WPS .et, a FIFO, a link out of the folder: each
    with its reason) and each input that matches nothing. What is no received file is passed
    over: nianbao's own unchanged outputs (a copy an office changed is checked), lock and system
    files. Copies go to ``out_dir`` (mirroring the folders below each input folder) or beside
    their input, never onto an input or a file that nianbao did not write (files.Destinations)."""
    destinations = destinations or Destinations()
    if out_dir is not None:
        destinations.reserve(out_dir / name for name in SUMMARY_FILES)
    found: list[tuple[Path, Path]] = []  # (file, the folder its copy's place mirrors from)
    listed: list[Result] = []
    seen: set[Path] = set()
    for path, root, named in _named(inputs):
        resolved = path.resolve()
        # Files found under the output folder are earlier outputs, unless named one by one.
        if resolved in seen or (not named and out_dir is not None and out_dir.resolve() in resolved.parents):
            continue
        reason = "找不到文件或文件夹" if named is None else why_not(path, None if named else root, destinations)
        seen.add(resolved)
        if reason is None or (named and reason == SKIP):
            found.append((path, root))
        elif reason:
            listed.append(Result(path, reason=reason, error=None if named is None else "NotChecked"))
    destinations.inputs |= {path_text(path.resolve()) for path, _ in found}
    items = []
    for path, root in found:
        name = copy_name(path)
        wanted = path.with_name(name) if out_dir is None else out_dir / path.relative_to(root).with_name(name)
        items.append(Item(path_text(path), path_text(destinations.choose(wanted))))
    return items, listed


