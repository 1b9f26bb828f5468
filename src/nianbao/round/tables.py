"""The round store's schema (SQLAlchemy Core), and its migrations.

A new store is created at the latest schema and stamped with its version; a store of an older
version is brought up to date by the migrations after its version, each in one transaction. A
store written by a newer nianbao is refused, never altered. The event log is append-only (on
SQLite a trigger refuses UPDATE and DELETE on it).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, MetaData, String, Table, Text, inspect, select, text
from sqlalchemy.engine import Connection, Engine

SCHEMA_VERSION = 1

metadata = MetaData()

settings = Table(  # the round: year, format, deadline, grace deadline, base URL, the supervisor's password hash...
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

offices = Table(
    "offices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("position", Integer, nullable=False),  # order on the roster
    Column("name", String(300), nullable=False),
    Column("name_key", String(300), nullable=False, unique=True),  # roster.office_key(name)
    Column("code", String(100), nullable=False, default=""),
    Column("contact", String(200), nullable=False, default=""),
    Column("phone", String(100), nullable=False, default=""),
    Column("kind", String(100), nullable=False, default=""),
    Column("template", String(64), ForeignKey("blobs.digest"), nullable=True),  # the workbook distributed to it
    Column("template_name", String(300), nullable=True),
)

tokens = Table(  # an office's upload links: only a hash of each token is kept
    "tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("office_id", Integer, ForeignKey("offices.id"), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("issued_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
)

blobs = Table(  # every file's bytes, once, by their SHA-256
    "blobs", metadata,
    Column("digest", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the order submissions were received in
    Column("office_id", Integer, ForeignKey("offices.id"), nullable=True),  # None: no roster office's
    Column("digest", String(64), ForeignKey("blobs.digest"), nullable=False),
    Column("name", String(300), nullable=False),  # the file name it is checked under (its suffix from its content)
    Column("origin", Text, nullable=False),  # where it came from: the file's path, or 上传/<name>
    Column("source", String(16), nullable=False),  # "upload" or "folder"
    Column("received_at", String(40), nullable=False),
    Column("result", Text, nullable=True),  # the check's Result.to_dict() as JSON
    Column("copy", String(64), ForeignKey("blobs.digest"), nullable=True),  # the annotated copy
)

explanations = Table(  # 说明 written on the office page, by finding id; the newest per finding counts
    "explanations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("office_id", Integer, ForeignKey("offices.id"), nullable=False),
    Column("finding", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("written_at", String(40), nullable=False),
    Column("decision", String(16), nullable=True),  # None (not yet reviewed), "accepted" or "rejected"
    Column("comment", Text, nullable=True),
    Column("decided_at", String(40), nullable=True),
)

events = Table(  # append-only: everything that happened in the round, with who and when
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("office_id", Integer, ForeignKey("offices.id"), nullable=True),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=True),
    Column("actor", String(40), nullable=False),  # "office", "supervisor", "cli", "anonymous"
    Column("detail", Text, nullable=False, default="{}"),  # JSON
)

sessions = Table(  # the supervisor's logins: hashes of the cookie's token, each with its CSRF token
    "sessions", metadata,
    Column("hash", String(64), primary_key=True),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", String(40), nullable=False),
)

_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
)

# version -> the step from version - 1. Add a step (and bump SCHEMA_VERSION) with every change to the tables above.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


class StoreVersionError(Exception):
    """The store is of a schema this nianbao does not know; the message is one line of Chinese."""


def _version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("settings"):
        return None
    value = conn.execute(select(settings.c.value).where(settings.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(settings.delete().where(settings.c.key == "schema_version"))
    conn.execute(settings.insert().values(key="schema_version", value=str(version)))


def migrate(engine: Engine) -> int:
    """Create the schema in an empty store, or bring an older one up to date; returns the version."""
    with engine.begin() as conn:
        version = _version(conn)
        if version is None:
            metadata.create_all(conn)
            version = SCHEMA_VERSION
            _stamp(conn, version)
        if version > SCHEMA_VERSION:
            raise StoreVersionError(f"轮次数据库的版本为 {version}，是更新版本的 nianbao 创建的（本程序支持到 {SCHEMA_VERSION}）；请升级 nianbao")
        while version < SCHEMA_VERSION:
            version += 1
            MIGRATIONS[version](conn)
            _stamp(conn, version)
        if conn.dialect.name == "sqlite":
            for statement in _APPEND_ONLY:
                conn.execute(text(statement))
    return version
