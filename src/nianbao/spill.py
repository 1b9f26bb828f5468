"""What a batch holds of each file while it runs, kept on disk: the parent's memory stays flat
however many files come in (a batch of 20,000 workbooks held every result and every extract, about
9 KB a file).

Each file's result and extract (the cells its PAIR and BATCH rules read), packed by the worker
that checked it, go into one SQLite database in a private temporary folder as soon as they arrive;
the parent keeps a ``Brief`` of each (what pairing looks at) and the few cells its BATCH rules
compare across the batch, and never unpacks the rest until it is needed.
The later stages load one file's result and extract at a time, and ``Results`` reads the results
back in order for the summary and the terminal. SQLite because the standard library has it and it
reads one row by key without loading the rest; pickle because these are this run's own objects,
written and read back by this process alone, in a folder only it can read; zlib's fastest level
because a temporary folder can be memory (tmpfs): about 3 KB a file instead of 9.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import tempfile
import weakref
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nianbao.files import describe_os_error, path_text
from nianbao.result import Result
from nianbao.values import Values

# Only what pairing reads of a distributed workbook's hidden record (pairing.own_code).
PAIRED_IDENTITY = ("roster_code", "roster_office")


@dataclass(slots=True)
class Brief:
    """What the parent keeps of a checked file while the batch runs: where its result is, and what
    pairing by office and year looks at (the attributes of a Result it reads)."""

    key: int
    name: str  # the path as text (files.path_text)
    office: str | None
    year: int | None
    codes: tuple[str, str] | None  # a distributed workbook's roster_code and roster_office (PAIRED_IDENTITY)
    reason: str | None
    no_table: bool  # an imported text with none of the official tables (batch.is_attachment)

    @classmethod
    def of(cls, key: int, result: Result, no_table: bool) -> Brief:
        codes = tuple(result.identity.get(k, "") for k in PAIRED_IDENTITY)
        return cls(key, path_text(result.path), result.office, result.year, codes if any(codes) else None, result.reason, no_table)

    @property
    def identity(self) -> dict[str, str]:
        """What pairing reads of the hidden record, as Result.identity has it."""
        return {k: v for k, v in zip(PAIRED_IDENTITY, self.codes, strict=True) if v} if self.codes else {}

    @property
    def path(self) -> Path:
        return Path(self.name)


class SpillError(OSError):
    """The temporary folder could not hold the batch (full, or gone); the message is one line of Chinese."""


@contextmanager
def _disk(folder: str):
    try:
        yield
    except sqlite3.Error:  # SQLite's words (with no journal, a full disk reads as "malformed") would mislead
        raise SpillError(f"临时文件夹 {Path(folder).parent} 无法写入或读取（磁盘可能已满），检查已停止；"
                         "请清理磁盘，或设置环境变量 TMPDIR 指向空间足够的文件夹") from None


def pack(value: object) -> bytes:
    return zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), 1)


def unpack(blob: bytes) -> object:
    return pickle.loads(zlib.decompress(blob))


@dataclass(slots=True)
class Sealed:
    """A checked file as a worker sends it to a batch's parent: its result and extract packed for
    the spill, its brief (its key set when it is put there) and the cells BATCH compares."""

    result: bytes
    extract: bytes | None
    brief: Brief
    compared: object | None  # pipeline.Compared


def _removed(db: sqlite3.Connection, folder: str, owner: int) -> None:
    db.close()
    if os.getpid() == owner:  # a forked worker that exits through atexit leaves the parent's folder alone
        shutil.rmtree(folder, ignore_errors=True)


class Spill:
    """One batch's results and extracts by key, on disk until the last reader is gone."""

    def __init__(self):
        try:
            self.folder = tempfile.mkdtemp(prefix="nianbao-batch-")  # mode 0700: this user's alone
        except OSError as exc:
            raise SpillError(f"无法在临时文件夹 {tempfile.gettempdir()} 中建立文件夹（{describe_os_error(exc)}）；"
                             "请设置环境变量 TMPDIR 指向可写的文件夹") from None
        with _disk(self.folder):
            self._db = sqlite3.connect(Path(self.folder, "batch.sqlite"), isolation_level=None, check_same_thread=False)
            # A scratch database: if the run dies, the folder goes with it; no journal, no waiting for the disk.
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE files (key INTEGER PRIMARY KEY, result BLOB NOT NULL, extract BLOB)")
        self._gone = weakref.finalize(self, _removed, self._db, self.folder, os.getpid())

    def _run(self, sql: str, *args) -> sqlite3.Cursor:
        with _disk(self.folder):
            return self._db.execute(sql, args)

    def put(self, sealed: Sealed) -> Brief:
        """Keep a worker's sealed file: its brief, with the key it is kept under."""
        brief = sealed.brief
        brief.key = self._run("INSERT INTO files (result, extract) VALUES (?, ?)", sealed.result, sealed.extract).lastrowid
        brief.name = path_text(brief.name)  # one text with the file's item (the worker's came through a pipe)
        return brief

    def save(self, key: int, result: Result) -> None:
        self._run("UPDATE files SET result = ? WHERE key = ?", pack(result), key)

    def result(self, key: int) -> Result:
        return unpack(self._run("SELECT result FROM files WHERE key = ?", key).fetchone()[0])

    def extract(self, key: int) -> Values | None:
        (blob,) = self._run("SELECT extract FROM files WHERE key = ?", key).fetchone()
        return unpack(blob) if blob is not None else None


class Results(Sequence):
    """A batch's results in order, each read from the spill when asked for (a new copy each time:
    change a result through ``Spill.save``, never by assigning to what this returns). Results not
    spilled (files that were named but not found) are held as they are."""

    def __init__(self, spill: Spill, entries: list[int | Result]):
        self.spill, self._entries = spill, entries

    def _load(self, entry: int | Result) -> Result:
        return self.spill.result(entry) if isinstance(entry, int) else entry

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._load(e) for e in self._entries[index]]
        return self._load(self._entries[index])

    def __iter__(self) -> Iterator[Result]:
        return (self._load(e) for e in self._entries)

    def where(self, keep) -> Results:
        """The results for which ``keep(result)`` holds, as another view of the same spill."""
        return Results(self.spill, [e for e in self._entries if keep(self._load(e))])

    def __repr__(self) -> str:
        return f"<Results of {len(self)} files>"
