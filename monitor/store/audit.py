"""The audit log: the append-only, hash-chained ``events`` table of everything that happened.

Every row carries the hash of the row before it (``prev_hash``) and its own hash over that
and its fields (``hash``), so :meth:`AuditMixin.verify_log` finds a row edited or removed
behind the program's back. SQLite triggers refuse UPDATE and DELETE on the table; the
program only ever inserts, with one statement that reads the last hash and writes the new
row atomically, so two processes appending at once still form one chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..timefmt import for_json as iso

HASH_FUNCTION = "yuqing_audit_hash"
GENESIS = ""                       # the prev_hash of the first row

_APPEND = (
    "INSERT INTO events (at, kind, subject, actor, data, prev_hash, hash) "
    f"SELECT ?, ?, ?, ?, ?, p, {HASH_FUNCTION}(p, ?, ?, ?, ?, ?) FROM (SELECT coalesce("
    "(SELECT hash FROM events ORDER BY id DESC LIMIT 1), '') AS p)")

TRIGGERS = [
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN "
    "SELECT RAISE(ABORT, 'audit log is append-only: events cannot be updated'); END",
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN "
    "SELECT RAISE(ABORT, 'audit log is append-only: events cannot be deleted'); END",
]


def chain_hash(prev: str | None, at: str | None, kind: str | None, subject: str | None,
               actor: str | None, data: str | None) -> str:
    """SHA-256 over the previous row's hash and this row's fields (canonical JSON)."""
    doc = json.dumps([prev or GENESIS, at, kind, subject, actor, data], ensure_ascii=False,
                     separators=(",", ":"))
    return hashlib.sha256(doc.encode("utf-8", "surrogatepass")).hexdigest()


def register(conn: Any) -> None:
    """Make the chain's hash function available to SQL on this connection."""
    conn.create_function(HASH_FUNCTION, 6, chain_hash, deterministic=True)


def seal_existing(db: Any) -> None:
    """Migration 8: give the rows written before the chain their hashes, in order, then
    install the append-only triggers."""
    conn = db.conn
    conn.execute("ALTER TABLE events ADD COLUMN prev_hash TEXT")
    conn.execute("ALTER TABLE events ADD COLUMN hash TEXT")
    prev = GENESIS
    rows = conn.execute("SELECT id, at, kind, subject, actor, data FROM events ORDER BY id")
    sealed = []
    for row_id, at, kind, subject, actor, data in rows.fetchall():
        h = chain_hash(prev, at, kind, subject, actor, data)
        sealed.append((prev, h, row_id))
        prev = h
    conn.executemany("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?", sealed)
    for statement in TRIGGERS:
        conn.execute(statement)


def _text(data: Any) -> str | None:
    if data is None or isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Event:
    """One row of the audit log."""

    id: int
    at: datetime
    kind: str
    subject: str | None
    actor: str | None
    data: str | None

    def details(self) -> Any:
        """``data`` as JSON when it is JSON, else the text."""
        if self.data is None:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return self.data


@dataclass
class Verification:
    """What :meth:`AuditMixin.verify_log` found: ``problems`` is empty when intact."""

    rows: int = 0
    head: str = GENESIS                       # the last row's hash (write it down)
    problems: list[tuple[int, str]] = field(default_factory=list)   # (row id, what)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditMixin:
    db: Any
    lock: Any

    def log_event(self, kind: str, subject: str | None = None, *, actor: str | None = None,
                  data: Any = None, now: datetime | None = None) -> None:
        """Append one event (every stored item, incident step, alert, rules change, feed
        failure, change made by a person...). ``data`` is text or a JSON-able value."""
        from .db import utcnow

        at = iso(now or utcnow())
        fields = [at, kind, subject, actor or "system", _text(data)]
        with self.lock:
            self.db.execute(_APPEND, fields + fields)

    def list_log(self, *, since: datetime | None = None, until: datetime | None = None,
                 kinds: list[str] | None = None, actor: str | None = None,
                 subject: str | None = None, incident: int | None = None,
                 limit: int | None = None, newest_first: bool = False) -> list[Event]:
        """Events in the period (``until`` exclusive); ``kinds`` may end in ``.`` or ``*``
        to take a whole family (``incident.`` is every incident event). ``incident`` takes
        the whole story of one incident: its own events, its alerts' and its items'."""
        where, params = _log_where(since=since, until=until, kinds=kinds, actor=actor,
                                   subject=subject, incident=incident)
        sql = (f"SELECT id, at, kind, subject, actor, data FROM events WHERE "
               f"{' AND '.join(where)} ORDER BY id {'DESC' if newest_first else 'ASC'}")
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            rows = self.db.execute(sql, params).fetchall()
        return [Event(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5])
                for r in rows]

    def count_log(self, *, since: datetime | None = None, until: datetime | None = None,
                  kinds: list[str] | None = None, actor: str | None = None,
                  subject: str | None = None, incident: int | None = None) -> int:
        """How many events ``list_log`` would give with these filters and no limit."""
        where, params = _log_where(since=since, until=until, kinds=kinds, actor=actor,
                                   subject=subject, incident=incident)
        with self.lock:
            return int(self.db.execute(
                f"SELECT count(*) FROM events WHERE {' AND '.join(where)}",
                params).fetchone()[0])

    def verify_log(self, *, max_problems: int = 20) -> Verification:
        """Walk the chain from the first row: each row's ``prev_hash`` must be the hash of
        the row before it, and its ``hash`` must match its fields."""
        out = Verification()
        prev = GENESIS
        with self.lock:
            for row in self._event_rows():
                row_id, at, kind, subject, actor, data, prev_hash, h = row
                out.rows += 1
                if h is None:
                    out.problems.append((row_id, "没有哈希：这一行不是本程序写入的"))
                elif (prev_hash or GENESIS) != prev:
                    out.problems.append(
                        (row_id, "与上一行的哈希接不上：之前有记录被删除、插入或改动"))
                elif chain_hash(prev_hash, at, kind, subject, actor, data) != h:
                    out.problems.append((row_id, "内容与哈希不符：这一行被改动过"))
                prev = h or GENESIS
                if len(out.problems) >= max_problems:
                    break
        out.head = prev
        return out

    def _event_rows(self) -> Iterator[tuple[Any, ...]]:
        cur = self.db.conn.execute(
            "SELECT id, at, kind, subject, actor, data, prev_hash, hash FROM events ORDER BY id")
        while True:
            batch = cur.fetchmany(5000)
            if not batch:
                return
            yield from batch


def _log_where(*, since: datetime | None, until: datetime | None, kinds: list[str] | None,
               actor: str | None, subject: str | None, incident: int | None
               ) -> tuple[list[str], list[str | int | None]]:
    """The conditions of ``list_log`` and ``count_log``."""
    where: list[str] = ["1"]
    params: list[str | int | None] = []
    if since is not None:
        where.append("at >= ?")
        params.append(iso(since))
    if until is not None:
        where.append("at < ?")
        params.append(iso(until))
    if kinds:
        ors = []
        for k in kinds:
            if k.endswith((".", "*")):
                ors.append("kind LIKE ?")
                params.append(k.rstrip("*").rstrip(".") + ".%")
            else:
                ors.append("kind = ?")
                params.append(k)
        where.append("(" + " OR ".join(ors) + ")")
    if actor is not None:
        where.append("actor = ?")
        params.append(actor)
    if subject is not None:
        where.append("subject = ?")
        params.append(subject)
    if incident is not None:
        # kind ranges rather than LIKE, so each part is read through events_subject or
        # events_kind; details are JSON except for old free-text rows (CASE guards them)
        where.append(
            "id IN (SELECT id FROM events WHERE subject = ? AND kind >= 'incident.' "
            "AND kind < 'incident/' "
            "UNION SELECT id FROM events WHERE kind >= 'alert.' AND kind < 'alert/' AND "
            "CASE WHEN json_valid(data) THEN json_extract(data, '$.incident') END = ? "
            "UNION SELECT id FROM events WHERE kind >= 'item.' AND kind < 'item/' AND "
            "subject IN (SELECT CAST(item_id AS TEXT) FROM incident_items "
            "WHERE incident_id = ?))")
        params += [str(incident), incident, incident]
    return where, params
