"""Writing files without ever losing one.

- Atomic writes: a temporary file beside the destination, renamed over it in one step, so a
  crash or a full disk never leaves a half-written workbook where a good one was. The file gets
  the permissions the user's umask gives (colleagues on a shared folder can open it).
- Never overwrite: a destination is used only if nothing is there, or if what is there is a file
  nianbao wrote and nobody changed since (recorded in the folder's ``.nianbao-outputs.json``);
  otherwise the next free numbered name is taken. Inputs are never destinations.
- One run per output folder: ``.nianbao.lock`` stops a second run from mixing its results in.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

MANIFEST = ".nianbao-outputs.json"
SUMMARY_FILES = ("汇总.xlsx", "summary.csv", "summary.json")  # what a run with --out writes into it besides the copies
LOCK = ".nianbao.lock"

_umask = os.umask(0)
os.umask(_umask)

_ERRNO = {
    errno.ENOENT: "找不到文件或文件夹",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EROFS: "所在位置只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "磁盘配额已满",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中有一部分不是文件夹",
    errno.EEXIST: "已存在",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EMFILE: "打开的文件过多",
    errno.EIO: "读写出错（磁盘或网络故障）",
    errno.EFBIG: "文件超过系统允许的大小",
}


def describe_os_error(exc: OSError) -> str:
    """An operating-system error in Chinese, without the system's English text."""
    return _ERRNO.get(exc.errno, f"系统错误（错误号 {exc.errno}）" if exc.errno else type(exc).__name__)


class OutputError(Exception):
    """An output cannot be written where asked; the message is one line of Chinese."""


@contextmanager
def atomic_path(dest: Path) -> Iterator[str]:
    """Yield a temporary path to write to; it replaces ``dest`` only if the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=dest.suffix, prefix=".nianbao-", dir=dest.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask)  # mkstemp makes 0600
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def close_workbook(wb) -> None:
    """Close an xlsxwriter workbook, raising the OSError behind its FileCreateError (a full disk,
    a folder without write permission) so callers handle every write failure alike."""
    from xlsxwriter.exceptions import FileCreateError

    try:
        wb.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args else None
        raise cause if isinstance(cause, OSError) else OSError(str(exc)) from None


TEXT_ONLY = {"strings_to_formulas": False, "strings_to_urls": False}  # text from reports stays text


def listing_workbook(path: str):
    """An xlsxwriter workbook for nianbao's listings (汇总.xlsx, 下发清单.xlsx): text from reports
    stays text, and each row goes to disk as the next is begun (``constant_memory``: a listing of
    20,000 files is never held whole; listing.Listing writes rows in order and every string
    through ``writable``)."""
    import xlsxwriter

    return xlsxwriter.Workbook(path, {**TEXT_ONLY, "constant_memory": True})


def inert_text(value: object) -> object:
    """Text that a spreadsheet opens as text, never as a formula, for writers that cannot mark a
    cell as text (a CSV field, a value typed into Excel through xlwings): a leading = + - @, tab
    or carriage return is preceded by an apostrophe (OWASP CSV injection), which Excel does not show."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_SURROGATE = re.compile("[\ud800-\udfff]")


def writable(text: str) -> str:
    """``text`` as any UTF-8 writer takes it: a file name's bytes that are not valid UTF-8 (carried
    as lone surrogates) written as shown() shows them, wherever the text came from, instead of
    failing the whole workbook when it is closed."""
    return _SURROGATE.sub(_escaped, text) if _SURROGATE.search(text) else text


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name not valid in the file system's encoding (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object) -> str:
    """Text from a file name (or a file), safe to show and to write anywhere: bytes that are not
    valid UTF-8, control characters (a terminal escape) and direction overrides are written as
    \\xff, \\x1b, \\u202e, so a name can neither break a UTF-8 writer nor drive a terminal."""
    text = str(text)
    return _UNSHOWN.sub(_escaped, text) if _UNSHOWN.search(text) else text


def json_text(document: object) -> str:
    """``document`` as JSON text that any UTF-8 writer takes: a file name's bytes that are not
    valid UTF-8 (lone surrogates) are written as JSON escapes."""
    text = json.dumps(document, ensure_ascii=False, indent=1)
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


def json_pieces(document: dict, key: str, items: Iterable[dict]) -> Iterator[str]:
    """``document`` as json_text writes it, with its list ``key`` (empty in ``document``) filled
    with ``items`` one at a time: 20,000 files' results are never one text, nor one list."""
    marker = f'\n "{key}": '
    head, tail = json_text(document).split(marker + "[]", 1)  # a top-level key: the only one indented one space
    yield head + marker
    n = -1
    for n, item in enumerate(items):
        yield ("[" if n == 0 else ",") + "\n  " + json_text(item).replace("\n", "\n  ")
    yield ("[]" if n < 0 else "\n ]") + tail


NAME_BYTES = 255  # the longest file name most file systems take, in bytes of UTF-8


def fit_name(name: str, limit: int = NAME_BYTES) -> str:
    """A file name any file system takes, made from ``name``: what cannot be written as UTF-8
    replaced, and cut to ``limit`` bytes before its suffixes (报告.检查.xlsx keeps .检查.xlsx)."""
    name = shown(name)
    if len(name.encode()) <= limit:
        return name
    dot = name.find(".", 1)
    tail = name[dot:][-(limit // 2):] if dot > 0 else ""
    return name[: len(name) - len(tail)].encode()[: limit - len(tail.encode())].decode("utf-8", "ignore") + tail


def _stamp(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _manifest(folder: Path) -> dict[str, list[int]]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {str(k): list(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def path_text(path: Path) -> str:
    """A path as text, one object wherever the same path is held (a batch holds each file's path
    as its item, its brief, an input and a destination: 20,000 files, four times each)."""
    return sys.intern(str(path))


class Destinations:
    """Chooses where each output goes, so that nothing but nianbao's own unchanged outputs is
    replaced, and records what was written for the next run."""

    def __init__(self, inputs: Iterable[Path] = ()):
        # Resolved paths as text (a third of the memory of a Path: a batch of 20,000 files holds two each).
        self.inputs = {path_text(p.resolve()) for p in inputs}
        self.taken: set[str] = set()
        self.reserved: set[str] = set()  # kept for the summary: an input named 汇总.xlsx gets 汇总-2.xlsx as its copy
        self.started = time.time_ns()
        self._manifests: dict[Path, dict[str, list[int]]] = {}

    def is_ours(self, path: Path) -> bool:
        """Whether ``path`` is an output nianbao wrote and nobody changed since (a copy an office
        opened and saved again is theirs: a report to check)."""
        return self._ours(path)

    def _ours(self, path: Path) -> bool:
        folder = path.parent.resolve()
        if folder not in self._manifests:
            self._manifests[folder] = _manifest(folder)
        recorded = self._manifests[folder].get(path.name)
        return recorded is not None and recorded == _stamp(path)

    def reserve(self, paths: Iterable[Path]) -> None:
        self.reserved |= {path_text(p.resolve()) for p in paths}

    def choose(self, wanted: Path, reserved: bool = False) -> Path:
        """``wanted``, or ``stem-2.ext``, ``stem-3.ext`` … : the first that is free (and not
        reserved, unless asked for what was reserved)."""
        wanted = wanted.with_name(fit_name(wanted.name, NAME_BYTES - 8))  # room for -2, -3 ...
        stem, suffix, n = wanted.name[: -len(wanted.suffix) or None], wanted.suffix, 2
        path = wanted
        while True:
            resolved = path_text(path.resolve())
            free = (resolved not in self.inputs and resolved not in self.taken and (reserved or resolved not in self.reserved)
                    and (not path.exists() or self._ours(path)))
            if free:
                self.taken.add(resolved)
                return path
            path = wanted.with_name(f"{stem}-{n}{suffix}")
            n += 1

    def record(self, written: Iterable[Path]) -> None:
        """Remember ``written`` in their folders' manifests (best effort: a manifest that cannot be
        written only means the next run will not replace these files)."""
        by_folder: dict[Path, list[Path]] = {}
        for path in written:
            by_folder.setdefault(path.parent.resolve(), []).append(path)
        for folder, paths in by_folder.items():
            data = _manifest(folder)
            data = {name: stamp for name, stamp in data.items() if (folder / name).exists()}
            for path in paths:
                if (stamp := _stamp(path)) is not None:
                    data[path.name] = stamp
            try:
                with atomic_path(folder / MANIFEST) as tmp:
                    Path(tmp).write_text(json.dumps(data, ensure_ascii=False, indent=0), encoding="utf-8")
            except OSError:
                pass


    def settle(self) -> None:
        """At the end of a run, however it ended (Ctrl-C, SIGTERM, a worker killed past its time
        budget): record every output this run wrote, so a run again into the folder replaces
        them instead of writing -2 copies beside them, and remove the temporary files a killed
        writer left (``.nianbao-*`` beside a destination, never a finished output)."""
        taken = [Path(p) for p in self.taken]
        written = [p for p in taken if (stamp := _stamp(p)) is not None and stamp[1] >= self.started]
        self.record(written)
        for folder in {p.parent for p in taken}:
            try:
                leftovers = [f for f in folder.iterdir() if _PARTIAL.match(f.name) and f.stat().st_mtime_ns >= self.started]
            except OSError:
                continue
            for leftover in leftovers:
                leftover.unlink(missing_ok=True)


_PARTIAL = re.compile(r"\.nianbao-(?!outputs\.json$|probe-)[a-z0-9_]{8}\.[A-Za-z]+$")  # atomic_path's temporary files


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


def prepare_folder(folder: Path) -> None:
    """Create an output folder, or say in Chinese why it cannot be one."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"输出位置 {folder} 是一个文件，不是文件夹")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".nianbao-probe-")
        probe.close()
    except OSError as exc:
        raise OutputError(f"无法写入输出文件夹 {folder}：{describe_os_error(exc)}") from None


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder`` for this run; a second run into it stops with the holder's process id.
    A lock left by a process that is gone (killed) is taken over."""
    prepare_folder(folder)
    lock = folder / LOCK
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_umask)
        except FileExistsError:
            try:
                host, pid = lock.read_text(encoding="utf-8").split()
                stale = host == socket.gethostname() and not _alive(int(pid))
            except (OSError, ValueError):
                host, pid, stale = "?", "?", False
            if not stale:
                raise OutputError(f"输出文件夹 {folder} 正被另一次检查使用（{host} 上的进程 {pid}）；"
                                  f"请等它结束，或换一个 --out 文件夹（若确认没有在运行，删除 {lock}）") from None
            lock.unlink(missing_ok=True)
            continue
        except OSError as exc:
            raise OutputError(f"无法写入输出文件夹 {folder}：{describe_os_error(exc)}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(me)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
