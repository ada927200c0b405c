"""SQLite connection (WAL, busy timeout, thread lock) and schema migrations.

Migrations are an ordered list of SQL scripts run by sqlite-utils' migration runner
(``sqlite_utils.Migrations``), which records each one in ``_sqlite_migrations``, so that
opening an older database upgrades it automatically.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlite_utils

from ..errors import DatabaseMissingError, StoreError
from ..timefmt import for_json as iso
from .audit import register as register_audit_hash
from .audit import seal_existing

log = logging.getLogger(__name__)

# A migration is a SQL script (statements split on ';') or a function given the database.
Migration = str | Callable[[sqlite_utils.Database], None]

MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "feeds and items", """
CREATE TABLE feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_status INTEGER,
    ok INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_kind TEXT,
    last_error_at TEXT,
    last_success_at TEXT,
    last_checked_at TEXT,
    last_new_item_at TEXT,
    next_check_at TEXT,
    ttl REAL,
    max_age REAL,
    encoding TEXT,
    format TEXT,
    failure_alerted_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    guid TEXT,
    link TEXT,
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    author TEXT,
    content_hash TEXT NOT NULL,
    published_at TEXT,
    fetched_at TEXT NOT NULL,
    updated_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (feed, dedup_key)
);
CREATE INDEX items_sort ON items (coalesce(published_at, fetched_at) DESC, id DESC);
CREATE INDEX items_feed ON items (feed);
CREATE INDEX items_link ON items (link);
CREATE VIRTUAL TABLE items_fts USING fts5 (title, body, tokenize = 'unicode61');
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    actor TEXT,
    data TEXT
);
CREATE INDEX events_kind ON events (kind, at);
"""),
    (2, "rule results and ruleset versions", """
ALTER TABLE items ADD COLUMN score INTEGER;
ALTER TABLE items ADD COLUMN level TEXT;
ALTER TABLE items ADD COLUMN ruleset_version TEXT;
ALTER TABLE items ADD COLUMN scored_at TEXT;
CREATE INDEX items_score ON items (score DESC) WHERE score > 0;
CREATE TABLE matches (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items (id),
    rule TEXT NOT NULL,
    name TEXT,
    category TEXT NOT NULL,
    level TEXT NOT NULL,
    weight INTEGER,
    spans TEXT NOT NULL,
    ruleset_version TEXT NOT NULL
);
CREATE INDEX matches_item ON matches (item_id);
CREATE INDEX matches_rule ON matches (rule);
CREATE TABLE ruleset_versions (
    version TEXT PRIMARY KEY,
    loaded_at TEXT NOT NULL,
    actor TEXT,
    rules INTEGER NOT NULL,
    files TEXT NOT NULL,
    changed TEXT,
    diff TEXT
);
"""),
    (3, "index for the content-hash duplicate check", """
CREATE INDEX items_feed_hash ON items (feed, content_hash);
"""),
    (4, "index of items not scored yet", """
CREATE INDEX items_unscored ON items (id) WHERE ruleset_version IS NULL AND deleted = 0;
"""),
    (5, "schedule watchdog notes, item revisions", """
ALTER TABLE feeds ADD COLUMN rearmed_at TEXT;
ALTER TABLE feeds ADD COLUMN rearm_note TEXT;
ALTER TABLE items ADD COLUMN revision_of INTEGER REFERENCES items (id);
"""),
    # Items whose date is not believable are dated at their fetch time;
    # date_note says why (monitor.finish.check_date). Rows stored before are brought in line.
    (6, "publication dates that are not believed", """
ALTER TABLE items ADD COLUMN date_note TEXT;
UPDATE items SET date_note = 'too_old', published_at = fetched_at
    WHERE published_at < '1989-12-31T16:00:00+00:00';
UPDATE items SET date_note = 'future', published_at = fetched_at
    WHERE julianday(published_at) > julianday(fetched_at) + 1;
"""),
    # Incidents and their handling log; the outbox of deliveries with every attempt;
    # silences; the admins' problem notices (one open row per problem).
    (7, "incidents and alerts", """
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    level TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    items INTEGER NOT NULL DEFAULT 0,
    sources INTEGER NOT NULL DEFAULT 0,
    rules TEXT NOT NULL DEFAULT '[]',
    categories TEXT NOT NULL DEFAULT '[]',
    link TEXT,
    signature TEXT,
    spread_steps INTEGER NOT NULL DEFAULT 0,
    level_reason TEXT,
    opened_at TEXT NOT NULL,
    awaiting_since TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    outcome TEXT,
    ack_due_at TEXT,
    respond_due_at TEXT,
    ack_clock TEXT,
    respond_clock TEXT
);
CREATE INDEX incidents_seen ON incidents (last_seen DESC);
CREATE INDEX incidents_status ON incidents (status, opened_at);
CREATE TABLE incident_items (
    item_id INTEGER PRIMARY KEY REFERENCES items (id),
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    feed TEXT NOT NULL,
    level TEXT NOT NULL,
    how TEXT NOT NULL,
    similarity REAL,
    signature TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    joined_at TEXT NOT NULL
);
CREATE INDEX incident_items_incident ON incident_items (incident_id, seen_at);
CREATE TABLE incident_keys (
    key TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    item_id INTEGER NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX incident_keys_key ON incident_keys (key, seen_at);
CREATE INDEX incident_keys_item ON incident_keys (item_id);
CREATE TABLE incident_log (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT,
    note TEXT,
    level TEXT,
    item_id INTEGER,
    data TEXT
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);
CREATE INDEX incident_log_at ON incident_log (at);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    incident_id INTEGER REFERENCES incidents (id),
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    level TEXT,
    message TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    due_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    note TEXT,
    created_at TEXT NOT NULL,
    claimed_at TEXT,
    sent_at TEXT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_incident ON deliveries (incident_id);
CREATE INDEX deliveries_recipient ON deliveries (recipient, created_at);
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT,
    note TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
CREATE TABLE silences (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    until TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    lifted_at TEXT
);
CREATE TABLE admin_problems (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT,
    detail TEXT,
    opened_at TEXT NOT NULL,
    cleared_at TEXT
);
CREATE TABLE alert_marks (
    name TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
"""),
    # The events table becomes the audit log: hash-chained, append-only by trigger
    # (monitor.store.audit); fetch outcomes per feed and Beijing day (feed availability).
    (8, "audit log hash chain, fetch outcomes per day", lambda db: _audit_and_fetch_days(db)),
    # The queries of `incidents list --feed` (the incidents holding an item of a feed: one
    # range of a covering index) and `items list --feed` (a feed's items newest first,
    # read in index order and stopped at the limit instead of sorted).
    (9, "indexes for incident and item queries", """
CREATE INDEX incident_items_feed ON incident_items (feed, incident_id);
CREATE INDEX items_feed_sort ON items (feed, coalesce(published_at, fetched_at) DESC, id DESC);
"""),
    # Retention ([storage] retain_bodies): an old item's body is emptied and the time noted;
    # the partial index finds the bodies still kept by date without scanning pruned rows.
    (10, "item bodies pruned by retention", """
ALTER TABLE items ADD COLUMN body_pruned_at TEXT;
CREATE INDEX items_body_kept ON items (coalesce(published_at, fetched_at))
    WHERE body_pruned_at IS NULL AND body != '';
"""),
    # The web console's accounts (argon2 hashes, lockout after failed logins) and the
    # signed action links already used (each acknowledges once).
    (11, "console accounts and used action links", """
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    disabled_at TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    last_login_at TEXT,
    session_epoch INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE used_links (
    nonce TEXT PRIMARY KEY,
    incident_id INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    used_at TEXT NOT NULL
);
"""),
    # Rule history as evidence: one row per change of the rules in force, in order, never
    # updated (a revert A -> B -> A is a third row with its own diff); the old table kept
    # one row per distinct version and moved its time on every return to it.
    (12, "append-only rule history", """
CREATE TABLE ruleset_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    actor TEXT,
    rules INTEGER NOT NULL,
    files TEXT NOT NULL,
    changed TEXT,
    diff TEXT
);
INSERT INTO ruleset_history (version, loaded_at, actor, rules, files, changed, diff)
    SELECT version, loaded_at, actor, rules, files, changed, diff FROM ruleset_versions
    ORDER BY loaded_at, rowid;
DROP TABLE ruleset_versions;
ALTER TABLE ruleset_history RENAME TO ruleset_versions;
CREATE INDEX ruleset_versions_version ON ruleset_versions (version);
CREATE TRIGGER ruleset_versions_append_only_update BEFORE UPDATE ON ruleset_versions
BEGIN SELECT RAISE(ABORT, 'ruleset_versions is append-only'); END;
CREATE TRIGGER ruleset_versions_append_only_delete BEFORE DELETE ON ruleset_versions
BEGIN SELECT RAISE(ABORT, 'ruleset_versions is append-only'); END;
"""),
    # A feed's stable id ([[feeds]] id: a rename keeps its items and state), the last
    # fetch's response time, and the other feeds an item's link was also seen in (the same
    # story from two feeds is one item seen in two places).
    (13, "feed ids, response times, item sightings", """
ALTER TABLE feeds ADD COLUMN feed_id TEXT;
ALTER TABLE feeds ADD COLUMN response_ms INTEGER;
CREATE TABLE item_sightings (
    item_id INTEGER NOT NULL REFERENCES items (id),
    feed TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (item_id, feed)
) WITHOUT ROWID;
CREATE INDEX item_sightings_feed ON item_sightings (feed);
"""),
    # Tone (正面/中性/负面): the model's label, its negative probability, the phrases behind
    # it (offsets into title + "\n" + body) and the model's version; ``tone_corrected`` is
    # the staff's latest correction, which wins. Corrections themselves are evidence and
    # training data: append-only, with the text as it was corrected.
    (14, "item tones and tone corrections", """
ALTER TABLE items ADD COLUMN tone TEXT;
ALTER TABLE items ADD COLUMN tone_negative REAL;
ALTER TABLE items ADD COLUMN tone_spans TEXT;
ALTER TABLE items ADD COLUMN tone_model TEXT;
ALTER TABLE items ADD COLUMN tone_corrected TEXT;
CREATE TABLE tone_corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items (id),
    tone TEXT NOT NULL,
    previous TEXT,
    text TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX tone_corrections_item ON tone_corrections (item_id);
CREATE TRIGGER tone_corrections_append_only_update BEFORE UPDATE ON tone_corrections
BEGIN SELECT RAISE(ABORT, 'tone_corrections is append-only'); END;
CREATE TRIGGER tone_corrections_append_only_delete BEFORE DELETE ON tone_corrections
BEGIN SELECT RAISE(ABORT, 'tone_corrections is append-only'); END;
"""),
]

_FETCH_DAYS = """
CREATE TABLE fetch_days (
    feed TEXT NOT NULL,
    day TEXT NOT NULL,
    ok INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (feed, day)
) WITHOUT ROWID;
CREATE INDEX incidents_first_seen ON incidents (first_seen);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_subject ON events (subject, at);
"""


def _audit_and_fetch_days(db: sqlite_utils.Database) -> None:
    seal_existing(db)
    for statement in _split_sql(_FETCH_DAYS):
        db.execute(statement)


def utcnow() -> datetime:
    return datetime.now(UTC)


def period_where(since: datetime | None, until: datetime | None = None
                 ) -> tuple[list[str], list[Any]]:
    """SQL conditions (and parameters) for items dated in ``[since, until)``; an item's
    date is its publication time, else the time we fetched it."""
    where, params = ["deleted = 0"], []
    if since:
        where.append("coalesce(published_at, fetched_at) >= ?")
        params.append(iso(since))
    if until:
        where.append("coalesce(published_at, fetched_at) < ?")
        params.append(iso(until))
    return where, params


def id_chunks(ids: list[int], size: int = 500) -> Iterator[tuple[str, list[int]]]:
    """``(placeholders, chunk)`` pairs for ``WHERE x IN (...)`` over many ids, in chunks
    that stay below SQLite's limit on bound parameters."""
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        yield ",".join("?" * len(chunk)), chunk


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


M = TypeVar("M")


def to_model(cls: type[M], row: Mapping[str, Any]) -> M:
    """A model (``monitor.models``) from a row: columns named ``*_at`` are ISO times,
    columns the model does not have are left out."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: parse_iso(v) if k.endswith("_at") else v
                  for k, v in row.items() if k in names})


def open_database(path: str | Path, *, busy_timeout: float = 10.0,
                  create: bool = True) -> sqlite_utils.Database:
    """Open (and with ``create``, create) the database; every failure is a
    :class:`StoreError` that says what is wrong with the file or its directory."""
    p = Path(path)
    if not create and not p.exists():
        raise DatabaseMissingError(
            f"数据库 {p} 不存在：还没有抓取过，或 [storage] path 写错了"
            "（先运行 yuqing fetch 或 yuqing run）")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(p), check_same_thread=False, timeout=busy_timeout,
                               isolation_level=None)
    except (OSError, sqlite3.Error) as e:
        raise StoreError(describe_database_error(e, p)) from e
    db = sqlite_utils.Database(conn)
    register_audit_hash(conn)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise StoreError(describe_database_error(e, p)) from e
    return db


def describe_database_error(e: BaseException, path: Path) -> str:
    """A Chinese explanation of a SQLite or OS error on the database at ``path``.

    A read-only directory or file is named as such: SQLite reports it as "unable to open"
    or even "not a database", and an admin must never be led to delete a healthy file."""
    text = str(e).lower()
    directory = path.parent
    if isinstance(e, PermissionError) or "readonly" in text or "read-only" in text or (
            path.exists() and not os.access(path, os.W_OK)) or (
            directory.exists() and not os.access(directory, os.W_OK)):
        where = directory if directory.exists() and not os.access(directory, os.W_OK) else path
        return (f"数据库 {path} 无法写入：{where} 不可写（只读文件系统或权限不足）。"
                "数据库文件本身没有问题，不要删除它；请检查目录权限和挂载方式"
                "（SQLite 需要在同一目录写入 -wal 和 -shm 文件）")
    if "malformed" in text or "not a database" in text or "file is encrypted" in text:
        return (f"数据库文件 {path} 已损坏或不是 SQLite 数据库：先备份该文件，"
                f"再用 sqlite3 {path.name} \".recover\" 恢复，或从备份还原")
    if "disk i/o" in text or "disk is full" in text or "database or disk is full" in text:
        return f"数据库 {path} 读写失败：磁盘已满或出现 I/O 错误（检查磁盘空间和硬件）"
    if "locked" in text or "busy" in text:
        return (f"数据库 {path} 正被其他进程占用，等待超时"
                "（稍后重试，或调大 [storage] busy_timeout）")
    if "unable to open" in text or isinstance(e, OSError):
        return (f"无法打开数据库 {path}：目录不存在或无法访问"
                "（检查 [storage] path 和目录权限）")
    return f"数据库 {path} 出错（SQLite：{e}）"


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, or ``None`` when it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


__all__ = ["Database", "describe_database_error", "file_identity", "id_chunks", "iso",
           "open_database", "parse_iso", "period_where", "to_model", "utcnow"]


class Database:
    """Connection holder; every public method of the mixins takes ``self.lock``."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0,
                 migrate: bool = True, create: bool = True) -> None:
        self.path = Path(path)
        self.db = open_database(self.path, busy_timeout=busy_timeout, create=create)
        self.identity = file_identity(self.path)
        self.lock = threading.RLock()
        self._depth = 0
        if migrate:
            self.migrate()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def file_replaced(self) -> bool:
        """Whether the database file was deleted or replaced since it was opened (the
        daemon would otherwise go on writing into a deleted file and lose everything)."""
        return file_identity(self.path) != self.identity

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction (nested ones become savepoints).

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a concurrent writer in another
        process makes us wait up to the busy timeout instead of failing half-way through
        (a plain ``BEGIN`` that reads first fails at once with "database is locked")."""
        with self.lock:
            conn = self.db.conn
            if conn.in_transaction:
                name = f"sp_{id(conn)}_{self._depth}"
                self._depth += 1
                conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self.db
                except BaseException:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                    raise
                else:
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                finally:
                    self._depth -= 1
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise StoreError(describe_database_error(e, self.path)) from e
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def applied_migrations(self) -> list[int]:
        """Versions of our migrations applied to this database, in order."""
        with self.lock:
            return [_version(m.name) for m in _migration_set(MIGRATIONS).applied(self.db)]

    def schema_version(self) -> int:
        return max(self.applied_migrations(), default=0)

    def migrate(self, migrations: list[tuple[int, str, Migration]] | None = None) -> list[int]:
        """Apply pending migrations in order (sqlite-utils' own migration runner, each in a
        transaction with its record in ``_sqlite_migrations``); returns the versions
        applied. A database that recorded its migrations in our former
        ``schema_migrations`` table is carried over first."""
        migrations = MIGRATIONS if migrations is None else migrations
        steps = _migration_set(migrations)
        with self.lock:
            try:
                names = self.db.table_names()
                if "schema_migrations" not in names and steps.migrations_table in names \
                        and not steps.pending(self.db):
                    return []  # the usual case: nothing to do, no write lock taken
            except sqlite3.Error as e:
                raise StoreError(describe_database_error(e, self.path)) from e
            try:
                # one write transaction (BEGIN IMMEDIATE): two processes opening an older
                # database at once take turns instead of failing; the runner's own
                # transactions nest inside as savepoints
                with self.tx():
                    self._adopt_old_records(steps, migrations)
                    pending = [_version(m.name) for m in steps.pending(self.db)]
                    steps.apply(self.db)
            except sqlite3.Error as e:
                raise StoreError(f"数据库迁移失败：{describe_database_error(e, self.path)}") from e
        for version in pending:
            log.info("数据库已迁移 database=%s version=%s", self.path, version)
        return pending

    def _adopt_old_records(self, steps: sqlite_utils.Migrations,
                           migrations: list[tuple[int, str, Migration]]) -> None:
        """Record in ``_sqlite_migrations`` the steps the old ``schema_migrations`` table
        says were applied (databases made before sqlite-utils had migrations)."""
        if "schema_migrations" not in self.db.table_names():
            return
        done = {m.name for m in steps.applied(self.db)}
        old = dict(self.db.execute("SELECT version, applied_at FROM schema_migrations"))
        steps.ensure_migrations_table(self.db)
        with self.tx():
            for version, name, _script in migrations:
                step = _step_name(version, name)
                if version in old and step not in done:
                    self.db.execute(
                        f"INSERT INTO {steps.migrations_table} (migration_set, name, applied_at) "
                        "VALUES (?, ?, ?)", [steps.name, step, old[version]])
            self.db.execute("DROP TABLE schema_migrations")



MIGRATION_SET = "yuqing-monitor"


def _migration_set(migrations: list[tuple[int, str, Migration]]) -> sqlite_utils.Migrations:
    """Our migration scripts as a sqlite-utils migration set (names ``0005 ...``)."""
    steps = sqlite_utils.Migrations(MIGRATION_SET)
    for version, name, script in migrations:
        def run(db: sqlite_utils.Database, script: Migration = script) -> None:
            if callable(script):
                script(db)
                return
            for statement in _split_sql(script):
                db.execute(statement)

        steps(name=_step_name(version, name))(run)
    return steps


def _step_name(version: int, name: str) -> str:
    return f"{version:04d} {name}"


def _version(name: str) -> int:
    return int(name.split(" ", 1)[0])


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements: at semicolons, except inside a trigger's
    ``BEGIN … END`` (no semicolons inside our DDL strings)."""
    out: list[str] = []
    current = ""
    for part in script.split(";"):
        current += part
        words = re.findall(r"\b(BEGIN|END)\b", current.upper())
        if words.count("BEGIN") > words.count("END"):
            current += ";"                 # still inside a trigger body
            continue
        if current.strip():
            out.append(current.strip())
        current = ""
    return out
