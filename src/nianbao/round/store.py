"""A round (轮次) as data: its settings, roster offices, upload links, every submission's bytes and
check result, the offices' explanations and the supervisor's decisions, and an append-only log
of events. SQLite in the round's folder by default, or any database URL SQLAlchemy knows
(PostgreSQL for a province-wide server).

Nothing here knows about the command line or the web server: they call it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Connection, Engine

from nianbao.roster import Office, Roster, office_key
from nianbao.round import tables as t

STORE_FILE = "round.sqlite"
_URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
TOKEN_BYTES = 24  # 192 bits of randomness per upload link
SESSION_HOURS = 12
# scrypt's cost: about 50 ms and 16 MiB per password check, so guessing is slow.
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1, "maxmem": 64 << 20, "dklen": 32}


class RoundError(Exception):
    """A round that cannot be opened or used as asked; the message is one line of Chinese."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _token_hash(token: str) -> str:
    """A link token's hash: the token has 192 random bits, so a fast hash cannot be inverted."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${key.hex()}"


def password_ok(password: str, stored: str | None) -> bool:
    if not stored or stored.count("$") != 2:
        return False
    _, salt, key = stored.split("$")
    given = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(given.hex(), key)


@dataclass(frozen=True)
class OfficeRecord:
    id: int
    office: Office
    template: str | None = None  # digest of the workbook distributed to it
    template_name: str | None = None


@dataclass(frozen=True)
class Submission:
    id: int
    office_id: int | None
    digest: str
    name: str
    origin: str
    source: str
    received_at: str
    result: dict | None
    copy: str | None


@dataclass(frozen=True)
class ExplanationRecord:
    id: int
    office_id: int
    finding: str
    text: str
    written_at: str
    decision: str | None
    comment: str | None


def _engine(location: str | Path, create: bool) -> tuple[Engine, Path | None]:
    if isinstance(location, str) and _URL.match(location):
        return create_engine(location, pool_pre_ping=True), None
    folder = Path(location)
    path = folder / STORE_FILE
    if not path.is_file():
        if not create:
            raise RoundError(f"{folder} 不是一个轮次文件夹（没有 {STORE_FILE}）；轮次由 nianbao distribute --round 创建")
        folder.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(conn, record) -> None:  # WAL: readers never wait for the writer; a crash leaves no half transaction
        cursor = conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine, folder


class Round:
    """One round's store. ``Round.open(folder_or_url)``; ``create=True`` makes an empty one."""

    def __init__(self, engine: Engine, folder: Path | None):
        self.engine = engine
        self.folder = folder

    @classmethod
    def open(cls, location: str | Path, create: bool = False) -> Round:
        engine, folder = _engine(location, create)
        try:
            t.migrate(engine)
        except t.StoreVersionError as exc:
            raise RoundError(str(exc)) from None
        except Exception as exc:  # not a database, a damaged file, a server that refuses
            raise RoundError(f"无法打开轮次数据库 {location}（{type(exc).__name__}）") from None
        return cls(engine, folder)

    # ------------------------------------------------------------------------------ settings

    def settings(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(t.settings.c.key, t.settings.c.value)).all())

    def setting(self, key: str) -> str | None:
        return self.settings().get(key)

    def configure(self, actor: str = "cli", **values: object) -> None:
        """Set round settings (None leaves one as it is) and log what changed (not the password hash)."""
        given = {k: str(v) for k, v in values.items() if v is not None}
        if not given:
            return
        with self.engine.begin() as conn:
            for key, value in given.items():
                conn.execute(t.settings.delete().where(t.settings.c.key == key))
                conn.execute(t.settings.insert().values(key=key, value=value))
            shown = {k: ("***" if k == "admin_password" else v) for k, v in given.items()}
            self._log(conn, "configured", actor=actor, **shown)

    @property
    def year(self) -> int | None:
        year = self.setting("year")
        return int(year) if year else None

    # ------------------------------------------------------------------------------- events

    def _log(self, conn: Connection, kind: str, office_id: int | None = None, submission_id: int | None = None,
             actor: str = "cli", **detail: object) -> None:
        conn.execute(t.events.insert().values(at=now(), kind=kind, office_id=office_id, submission_id=submission_id, actor=actor,
                                              detail=json.dumps(detail, ensure_ascii=False, default=str)))

    def log(self, kind: str, office_id: int | None = None, submission_id: int | None = None, actor: str = "cli", **detail: object) -> None:
        with self.engine.begin() as conn:
            self._log(conn, kind, office_id, submission_id, actor, **detail)

    def events(self, office_id: int | None = None, limit: int | None = None) -> list[dict]:
        """Events, newest first (of one office when given)."""
        query = select(t.events).order_by(t.events.c.id.desc())
        if office_id is not None:
            query = query.where(t.events.c.office_id == office_id)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in conn.execute(query)]

    def last_events(self) -> dict[int, dict]:
        """Each office's newest event."""
        newest = select(func.max(t.events.c.id)).where(t.events.c.office_id.is_not(None)).group_by(t.events.c.office_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.events).where(t.events.c.id.in_(newest))).all()
        return {r.office_id: dict(r._mapping) | {"detail": json.loads(r.detail)} for r in rows}

    # ------------------------------------------------------------------------------- offices

    def add_roster(self, roster: Roster) -> list[OfficeRecord]:
        """Add the roster's offices (an office already in the round, by name, keeps its id, links and
        submissions; its code and contact are updated); returns the roster's offices in order."""
        with self.engine.begin() as conn:
            known = {r.name_key: r.id for r in conn.execute(select(t.offices.c.id, t.offices.c.name_key))}
            start = conn.execute(select(func.coalesce(func.max(t.offices.c.position), 0))).scalar()
            added = 0
            for n, office in enumerate(roster.offices, 1):
                fields = {"name": office.name, "code": office.code, "contact": office.contact, "phone": office.phone, "kind": office.kind}
                key = office_key(office.name)
                if key in known:
                    conn.execute(t.offices.update().where(t.offices.c.id == known[key]).values(**fields))
                else:
                    conn.execute(t.offices.insert().values(position=start + n, name_key=key, **fields))
                    added += 1
            self._log(conn, "roster", roster=str(roster.path), offices=len(roster.offices), added=added)
        by_key = {office_key(r.office.name): r for r in self.offices()}
        return [by_key[office_key(o.name)] for o in roster.offices]

    def offices(self) -> list[OfficeRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.offices).order_by(t.offices.c.position)).all()
        return [OfficeRecord(r.id, Office(r.name, r.code, r.contact, r.phone, r.position, r.kind), r.template, r.template_name) for r in rows]

    def office(self, office_id: int) -> OfficeRecord | None:
        return next((o for o in self.offices() if o.id == office_id), None)

    def roster(self) -> Roster:
        """The round's offices as a roster, in roster order."""
        return Roster(Path(self.setting("roster") or "名单"), [o.office for o in self.offices()])

    def set_template(self, office_id: int, data: bytes, name: str) -> None:
        with self.engine.begin() as conn:
            digest = self._put(conn, data)
            conn.execute(t.offices.update().where(t.offices.c.id == office_id).values(template=digest, template_name=name))
            self._log(conn, "distributed", office_id, name=name, digest=digest)

    # --------------------------------------------------------------------------------- links

    def issue_link(self, office_id: int, actor: str = "cli") -> str:
        """A new upload token for an office (its earlier ones revoked); only its hash is kept."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.engine.begin() as conn:
            at = now()
            conn.execute(t.tokens.update().where(t.tokens.c.office_id == office_id, t.tokens.c.revoked_at.is_(None)).values(revoked_at=at))
            conn.execute(t.tokens.insert().values(office_id=office_id, hash=_token_hash(token), issued_at=at))
            self._log(conn, "link_issued", office_id, actor=actor)
        return token

    def revoke_links(self, office_id: int, actor: str = "supervisor") -> None:
        with self.engine.begin() as conn:
            conn.execute(t.tokens.update().where(t.tokens.c.office_id == office_id, t.tokens.c.revoked_at.is_(None)).values(revoked_at=now()))
            self._log(conn, "link_revoked", office_id, actor=actor)

    def office_by_token(self, token: str) -> OfficeRecord | None:
        """The office a live token belongs to; None for a wrong or revoked one."""
        with self.engine.connect() as conn:
            office_id = conn.execute(select(t.tokens.c.office_id).where(t.tokens.c.hash == _token_hash(token),
                                                                        t.tokens.c.revoked_at.is_(None))).scalar()
        return self.office(office_id) if office_id is not None else None

    # --------------------------------------------------------------------------------- blobs

    def _put(self, conn: Connection, data: bytes) -> str:
        digest = digest_of(data)
        if conn.execute(select(t.blobs.c.digest).where(t.blobs.c.digest == digest)).first() is None:
            conn.execute(t.blobs.insert().values(digest=digest, size=len(data), data=data))
        return digest

    def blob(self, digest: str) -> bytes:
        with self.engine.connect() as conn:
            return conn.execute(select(t.blobs.c.data).where(t.blobs.c.digest == digest)).scalar_one()

    # ---------------------------------------------------------------------------- submissions

    def add_submission(self, office_id: int | None, data: bytes, name: str, origin: str, source: str, result: dict | None = None,
                       copy: bytes | None = None, actor: str = "cli") -> int:
        """Keep one submission, its bytes, and (when checked already) its result and annotated copy, in one
        transaction: a crash keeps all of it or none."""
        with self.engine.begin() as conn:
            digest = self._put(conn, data)
            copy_digest = self._put(conn, copy) if copy is not None else None
            sub_id = conn.execute(t.submissions.insert().values(
                office_id=office_id, digest=digest, name=name, origin=origin, source=source, received_at=now(),
                result=json.dumps(result, ensure_ascii=False) if result is not None else None, copy=copy_digest)).inserted_primary_key[0]
            self._log(conn, "received", office_id, sub_id, actor=actor, name=name, source=source, digest=digest, size=len(data),
                      status=result["status"] if result else None)
        return sub_id

    def record_check(self, submission_id: int, result: dict, copy: bytes | None, actor: str = "cli") -> None:
        """A submission's (new) check result; the event keeps what it said."""
        with self.engine.begin() as conn:
            copy_digest = self._put(conn, copy) if copy is not None else None
            conn.execute(t.submissions.update().where(t.submissions.c.id == submission_id)
                         .values(result=json.dumps(result, ensure_ascii=False), copy=copy_digest))
            office_id = conn.execute(select(t.submissions.c.office_id).where(t.submissions.c.id == submission_id)).scalar()
            self._log(conn, "checked", office_id, submission_id, actor=actor, status=result["status"], errors=result["errors"],
                      warnings=result["warnings"])

    @staticmethod
    def _submission(row) -> Submission:
        return Submission(row.id, row.office_id, row.digest, row.name, row.origin, row.source, row.received_at,
                          json.loads(row.result) if row.result else None, row.copy)

    def submissions(self, office_id: int | None = None, *, unmatched: bool = False) -> list[Submission]:
        """Submissions, newest first: of one office, of no office (``unmatched``), or all."""
        query = select(t.submissions).order_by(t.submissions.c.id.desc())
        if unmatched:
            query = query.where(t.submissions.c.office_id.is_(None))
        elif office_id is not None:
            query = query.where(t.submissions.c.office_id == office_id)
        with self.engine.connect() as conn:
            return [self._submission(r) for r in conn.execute(query)]

    def submission(self, submission_id: int) -> Submission | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.submissions).where(t.submissions.c.id == submission_id)).first()
        return self._submission(row) if row else None

    def latest(self) -> dict[int, Submission]:
        """Each office's latest submission: the one that counts."""
        newest = select(func.max(t.submissions.c.id)).where(t.submissions.c.office_id.is_not(None)).group_by(t.submissions.c.office_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.submissions).where(t.submissions.c.id.in_(newest))).all()
        return {r.office_id: self._submission(r) for r in rows}

    def versions(self) -> dict[int, int]:
        query = select(t.submissions.c.office_id, func.count()).where(t.submissions.c.office_id.is_not(None)).group_by(t.submissions.c.office_id)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def digests(self, office_id: int | None) -> set[str]:
        """The digests an office (or, with None, no office) has submitted."""
        column = t.submissions.c.office_id
        with self.engine.connect() as conn:
            query = select(t.submissions.c.digest).where(column.is_(None) if office_id is None else column == office_id)
            return set(conn.execute(query).scalars())

    # ------------------------------------------------------------------- explanations, decisions

    def explain(self, office_id: int, texts: dict[str, str]) -> int:
        """The office's 说明 by finding id (a blank one withdraws it); returns how many changed."""
        current = self.explanations(office_id)
        changed = 0
        with self.engine.begin() as conn:
            for finding, text in texts.items():
                text = text.strip()[:2000]
                before = current.get(finding)
                if (before.text if before else "") == text:
                    continue
                conn.execute(t.explanations.insert().values(office_id=office_id, finding=finding, text=text, written_at=now()))
                self._log(conn, "explained", office_id, actor="office", finding=finding, text=text)
                changed += 1
        return changed

    def explanations(self, office_id: int | None = None) -> dict:
        """The newest explanation per finding: {finding: record} for one office, else {office: {finding: record}}."""
        query = select(t.explanations).order_by(t.explanations.c.id)
        if office_id is not None:
            query = query.where(t.explanations.c.office_id == office_id)
        found: dict[int, dict[str, ExplanationRecord]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                found.setdefault(r.office_id, {})[r.finding] = ExplanationRecord(r.id, r.office_id, r.finding, r.text, r.written_at,
                                                                                 r.decision, r.comment)
        return found.get(office_id, {}) if office_id is not None else found

    def rejected(self) -> dict[int, set[tuple[str, str]]]:
        """(finding, text) the supervisor rejected, per office: that text no longer explains that finding."""
        query = select(t.explanations.c.office_id, t.explanations.c.finding, t.explanations.c.text).where(
            t.explanations.c.decision == "rejected")
        found: dict[int, set] = {}
        with self.engine.connect() as conn:
            for office_id, finding, text in conn.execute(query):
                found.setdefault(office_id, set()).add((finding, text))
        return found

    def decide_explanation(self, explanation_id: int, accepted: bool, comment: str = "") -> int:
        """Accept or reject an explanation; returns its office's id."""
        with self.engine.begin() as conn:
            row = conn.execute(select(t.explanations).where(t.explanations.c.id == explanation_id)).first()
            if row is None:
                raise RoundError("没有这条说明")
            decision = "accepted" if accepted else "rejected"
            conn.execute(t.explanations.update().where(t.explanations.c.id == explanation_id)
                         .values(decision=decision, comment=comment.strip()[:2000], decided_at=now()))
            self._log(conn, f"explanation_{decision}", row.office_id, actor="supervisor", finding=row.finding, text=row.text,
                      comment=comment.strip())
        return row.office_id

    def review(self, office_id: int, decision: str, comment: str = "") -> None:
        """The supervisor's decision on the office's latest submission: "returned" (退回修改) or "approved" (通过)."""
        if decision not in ("returned", "approved"):
            raise ValueError(decision)
        latest = self.latest().get(office_id)
        with self.engine.begin() as conn:
            self._log(conn, decision, office_id, latest.id if latest else None, actor="supervisor", comment=comment.strip()[:2000])

    def reviews(self) -> dict[int, dict]:
        """Each office's newest decision (returned or approved) on its latest submission."""
        latest = {o: s.id for o, s in self.latest().items()}
        found: dict[int, dict] = {}
        for e in reversed(self.events_of_kind("returned", "approved")):
            if latest.get(e["office_id"]) == e["submission_id"]:
                found[e["office_id"]] = e
        return found

    def events_of_kind(self, *kinds: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.events).where(t.events.c.kind.in_(kinds)).order_by(t.events.c.id.desc())).all()
        return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in rows]

    # ------------------------------------------------------------------------------ sessions

    def login(self) -> tuple[str, str]:
        """A new supervisor session: (cookie token, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=SESSION_HOURS)).isoformat(timespec="seconds")
        with self.engine.begin() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.expires_at < now()))
            conn.execute(t.sessions.insert().values(hash=_token_hash(token), csrf=csrf, expires_at=expires))
            self._log(conn, "login", actor="supervisor")
        return token, csrf

    def session(self, token: str | None) -> str | None:
        """The CSRF token of a live session, or None."""
        if not token:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(t.sessions.c.csrf).where(t.sessions.c.hash == _token_hash(token),
                                                                t.sessions.c.expires_at > now())).scalar()

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.hash == _token_hash(token)))
