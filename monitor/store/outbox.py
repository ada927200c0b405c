"""The outbox: one row per alert per recipient per channel, its retry state (status,
attempts, next attempt, last error) and every attempt's result; the admins' open
problems; named marks (when the last digest went out).

Rows are written by the alerts planner inside the transaction that changed the incident;
the delivery worker only claims due rows (``sending``) and records what happened, so a
restart resumes exactly where the last process stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ..models import Delivery, Message
from .db import id_chunks, iso, parse_iso, to_model, utcnow


def _delivery(row: dict[str, Any]) -> Delivery:
    msg = row.get("message")
    row["message"] = Message(**json.loads(msg)) if msg else None
    return to_model(Delivery, row)


class OutboxMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]
    log_event: Callable[..., None]  # AuditMixin.log_event: the one way into the audit log

    def add_delivery(self, *, kind: str, recipient: str, channel: str, message: Message,
                     dedup_key: str, due_at: datetime, now: datetime, status: str = "pending",
                     incident_id: int | None = None, level: str | None = None,
                     target: str | None = None, note: str | None = None) -> int | None:
        """Queue one delivery; ``None`` when a row with the same ``dedup_key`` exists
        already (each recipient hears of each incident event once)."""
        with self.tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO deliveries (kind, incident_id, recipient, channel, target, "
                "status, level, message, dedup_key, due_at, next_attempt_at, attempts, note, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                [kind, incident_id, recipient, channel, target, status, level,
                 json.dumps(asdict(message), ensure_ascii=False), dedup_key, iso(due_at),
                 iso(due_at), note, iso(now)])
            return int(cur.lastrowid) if cur.rowcount else None

    def has_delivery(self, dedup_key: str) -> bool:
        with self.lock:
            return self.db.execute("SELECT 1 FROM deliveries WHERE dedup_key = ?",
                                   [dedup_key]).fetchone() is not None

    def has_deliveries_like(self, prefix: str) -> bool:
        """Whether any row's dedup key starts with ``prefix`` (an event already planned)."""
        with self.lock:
            return self.db.execute(
                "SELECT 1 FROM deliveries WHERE dedup_key >= ? AND dedup_key < ? LIMIT 1",
                [prefix, prefix + "\U0010ffff"]).fetchone() is not None

    def due_deliveries(self, now: datetime, *, ignore_backoff: bool = False,
                       limit: int = 200) -> list[Delivery]:
        """Pending rows whose time has come (oldest first); with ``ignore_backoff``, also
        those waiting to be retried (but never those held for quiet hours or a digest)."""
        column = "due_at" if ignore_backoff else "next_attempt_at"
        with self.lock:
            rows = list(self.db.query(
                f"SELECT * FROM deliveries WHERE status = 'pending' AND {column} <= ? "
                "ORDER BY next_attempt_at, id LIMIT ?", [iso(now), int(limit)]))
        return [_delivery(r) for r in rows]

    def next_due(self) -> datetime | None:
        with self.lock:
            row = self.db.execute("SELECT min(next_attempt_at) FROM deliveries "
                                  "WHERE status = 'pending'").fetchone()
        return parse_iso(row[0]) if row else None

    def claim_deliveries(self, ids: list[int], now: datetime) -> list[int]:
        """Mark rows as being sent (``sending``); returns the ids this call claimed (a row
        another worker or process claimed first is left to it)."""
        claimed: list[int] = []
        with self.tx():
            for delivery_id in ids:
                cur = self.db.execute(
                    "UPDATE deliveries SET status = 'sending', claimed_at = ? "
                    "WHERE id = ? AND status = 'pending'", [iso(now), delivery_id])
                if cur.rowcount:
                    claimed.append(delivery_id)
        return claimed

    def renew_claim(self, delivery_id: int, *, claimed_at: datetime, now: datetime) -> bool:
        """As its send begins, renew the claim made at ``claimed_at`` on a row, so that
        the claim's age measures this one send, not the whole pass (a pass sends a target's
        rows one by one: the last may start minutes after the claim). False when the claim
        was lost meanwhile (:meth:`release_claims` took it back): the row must not be sent."""
        with self.tx():
            cur = self.db.execute(
                "UPDATE deliveries SET claimed_at = ? WHERE id = ? AND status = 'sending' "
                "AND claimed_at = ?", [iso(now), delivery_id, iso(claimed_at)])
            return bool(cur.rowcount)

    def record_attempt(self, delivery_id: int, *, now: datetime, ok: bool,
                       error: str | None = None, note: str | None = None,
                       status: str, next_attempt_at: datetime | None = None) -> None:
        """Record one attempt and the row's new state (``sent``, ``pending`` again with its
        next attempt, or ``failed`` for good)."""
        with self.tx():
            self.db.execute(
                "INSERT INTO delivery_attempts (delivery_id, at, ok, error, note) "
                "VALUES (?, ?, ?, ?, ?)", [delivery_id, iso(now), int(ok), error, note])
            self.db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, "
                "sent_at = CASE WHEN ? THEN ? ELSE sent_at END, claimed_at = NULL, "
                "next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                [status, None if ok else error, int(ok), iso(now),
                 iso(next_attempt_at) if next_attempt_at else None, delivery_id])
            self._log_delivery(delivery_id, {"sent": "alert.sent", "failed": "alert.failed"}
                               .get(status, "alert.retrying"), now=now, error=error,
                               note=note)

    def _log_delivery(self, delivery_id: int, kind: str, *, now: datetime,
                      actor: str | None = None, error: str | None = None,
                      note: str | None = None) -> None:
        row = self.db.execute("SELECT incident_id, kind, recipient, channel, level, attempts "
                              "FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
        if row is None:
            return
        data = {"incident": row[0], "kind": row[1], "recipient": row[2], "channel": row[3],
                "level": row[4], "attempts": row[5]}
        if error:
            data["error"] = error
        if note:
            data["note"] = note
        self.log_event(kind, str(delivery_id), actor=actor, data=data, now=now)

    def set_pending(self, delivery_id: int, next_attempt_at: datetime) -> None:
        """Return a claimed row to the queue without counting an attempt (deferred by the
        robot's rate limit)."""
        with self.tx():
            self.db.execute("UPDATE deliveries SET status = 'pending', claimed_at = NULL, "
                            "next_attempt_at = ? WHERE id = ?",
                            [iso(next_attempt_at), delivery_id])

    def retry_delivery(self, delivery_id: int, *, now: datetime,
                       actor: str | None = None) -> bool:
        """Queue a failed (or cancelled) row again, its attempts counted from zero."""
        with self.tx():
            cur = self.db.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, "
                "due_at = ? WHERE id = ? AND status IN ('failed', 'cancelled')",
                [iso(now), iso(now), delivery_id])
            if cur.rowcount:
                self._log_delivery(delivery_id, "alert.retried", now=now, actor=actor)
            return bool(cur.rowcount)

    def release_claims(self, *, now: datetime, older_than: datetime | None = None) -> int:
        """Put rows left ``sending`` by a process that died back in the queue (the send
        that was in flight may have gone out: it is the only one that can go twice);
        with ``older_than``, only rows claimed before then."""
        with self.tx():
            cur = self.db.execute(
                "UPDATE deliveries SET status = 'pending', claimed_at = NULL, "
                "next_attempt_at = ? WHERE status = 'sending' AND claimed_at <= ?",
                [iso(now), iso(older_than or now)])
            return int(cur.rowcount)

    def set_delivery_status(self, ids: list[int], status: str, *,
                            note: str | None = None) -> None:
        with self.tx():
            for marks, chunk in id_chunks(ids):
                self.db.execute(f"UPDATE deliveries SET status = ?, note = coalesce(?, note) "
                                f"WHERE id IN ({marks})", [status, note, *chunk])

    def cancel_deliveries(self, incident_id: int, *, note: str) -> int:
        """Cancel every delivery about the incident that has not gone out yet (pending,
        held for a digest, over the cap); returns how many."""
        with self.tx():
            cur = self.db.execute(
                "UPDATE deliveries SET status = 'cancelled', note = ? WHERE incident_id = ? "
                "AND status IN ('pending', 'held', 'capped')", [note, incident_id])
            return int(cur.rowcount)

    def list_deliveries(self, *, status: str | None = None, incident_id: int | None = None,
                        limit: int | None = None) -> list[Delivery]:
        where, params = _deliveries_where(status, incident_id)
        sql = f"SELECT * FROM deliveries WHERE {' AND '.join(where)} ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            return [_delivery(r) for r in self.db.query(sql, params)]

    def count_deliveries(self, *, status: str | None = None,
                         incident_id: int | None = None) -> int:
        """How many deliveries ``list_deliveries`` would give with no limit."""
        where, params = _deliveries_where(status, incident_id)
        with self.lock:
            return int(self.db.execute(
                f"SELECT count(*) FROM deliveries WHERE {' AND '.join(where)}",
                params).fetchone()[0])

    def deliveries_with_status(self, status: str, *, recipient: str | None = None,
                               kinds: tuple[str, ...] | None = None) -> list[Delivery]:
        where, params = ["status = ?"], [status]
        if recipient is not None:
            where.append("recipient = ?")
            params.append(recipient)
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        with self.lock:
            return [_delivery(r) for r in self.db.query(
                f"SELECT * FROM deliveries WHERE {' AND '.join(where)} ORDER BY id", params)]

    def delivery_attempts(self, delivery_id: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM delivery_attempts WHERE delivery_id = ? "
                                      "ORDER BY id", [delivery_id]))
        for r in rows:
            r["at"] = parse_iso(r["at"])
            r["ok"] = bool(r["ok"])
        return rows

    def recipient_alerts_since(self, recipient: str, since: datetime) -> int:
        """Alerts about incidents planned for the recipient since ``since`` (one count per
        incident event, whatever the number of channels): the rate cap's measure."""
        with self.lock:
            row = self.db.execute(
                "SELECT count(DISTINCT coalesce(incident_id, id) || ':' || kind || ':' || level) "
                "FROM deliveries WHERE recipient = ? AND created_at >= ? "
                "AND kind IN ('opened', 'raised') AND status NOT IN ('capped', 'muted', 'held', "
                "'digested')", [recipient, iso(since)]).fetchone()
        return int(row[0])

    def target_sends_since(self, target: str, since: datetime) -> int:
        """Attempts on one robot/webhook since ``since`` (the per-robot rate limit)."""
        with self.lock:
            row = self.db.execute(
                "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
                "WHERE d.target = ? AND a.at >= ?", [target, iso(since)]).fetchone()
        return int(row[0])

    def target_attempt_times(self, target: str, since: datetime) -> list[datetime]:
        """When each attempt on one robot/webhook since ``since`` was made, oldest first
        (the per-robot rate limit, carried across a restart)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT a.at FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
                "WHERE d.target = ? AND a.at >= ? ORDER BY a.at", [target, iso(since)]).fetchall()
        return [t for (at,) in rows if (t := parse_iso(at)) is not None]

    # ---- admins' problems ---------------------------------------------------------------
    def open_problem(self, key: str, *, kind: str, subject: str | None, detail: str,
                     now: datetime) -> bool:
        """Record a problem; True when it is new (the admins are told once per problem)."""
        with self.tx():
            row = self.db.execute("SELECT cleared_at FROM admin_problems WHERE key = ?",
                                  [key]).fetchone()
            if row is not None and row[0] is None:
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO admin_problems (key, kind, subject, detail, opened_at, "
                "cleared_at) VALUES (?, ?, ?, ?, ?, NULL)", [key, kind, subject, detail, iso(now)])
            self.log_event("problem.opened", key, data={"kind": kind, "subject": subject,
                                                        "detail": detail}, now=now)
            return True

    def clear_problem(self, key: str, *, now: datetime) -> dict[str, Any] | None:
        """Mark a problem cleared; returns its row when it was open (tell the admins).
        Called for every healthy feed on each tick and after every sent alert: a read
        first, so the write lock is taken only when there is something to clear."""
        with self.lock:
            if self.db.execute("SELECT 1 FROM admin_problems WHERE key = ? AND "
                               "cleared_at IS NULL", [key]).fetchone() is None:
                return None
        with self.tx():
            rows = list(self.db.query("SELECT * FROM admin_problems WHERE key = ? AND "
                                      "cleared_at IS NULL", [key]))
            if not rows:
                return None
            self.db.execute("UPDATE admin_problems SET cleared_at = ? WHERE key = ?",
                            [iso(now), key])
            found: dict[str, Any] = rows[0]
            self.log_event("problem.cleared", key, data={"kind": found["kind"],
                                                         "subject": found["subject"]}, now=now)
            return found

    def open_problems(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM admin_problems WHERE cleared_at IS NULL"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        with self.lock:
            return list(self.db.query(sql + " ORDER BY opened_at", params))

    # ---- marks ----------------------------------------------------------------------------
    def mark(self, name: str) -> datetime | None:
        with self.lock:
            row = self.db.execute("SELECT at FROM alert_marks WHERE name = ?", [name]).fetchone()
        return parse_iso(row[0]) if row else None

    def set_mark(self, name: str, at: datetime | None = None) -> None:
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO alert_marks (name, at) VALUES (?, ?)",
                            [name, iso(at or utcnow())])

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        """One outbox row by id (``alerts retry``)."""
        with self.lock:
            rows = list(self.db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id]))
        return _delivery(rows[0]) if rows else None


def _deliveries_where(status: str | None, incident_id: int | None
                      ) -> tuple[list[str], list[Any]]:
    """The conditions of ``list_deliveries`` and ``count_deliveries``."""
    where: list[str] = ["1"]
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if incident_id is not None:
        where.append("incident_id = ?")
        params.append(incident_id)
    return where, params
