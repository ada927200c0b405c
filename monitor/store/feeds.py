"""Feeds' state: validators, schedule (next check), failures; never disables a feed.
Each fetch's outcome is also counted per feed and Beijing day (``fetch_days``), the record
that feed availability is measured from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from ..models import FeedState
from ..timefmt import zone
from .db import iso, to_model, utcnow


class _FeedLike(Protocol):
    name: str
    url: str


# Where a feed's name is kept (what a rename moves); matches hang off their item's id.
_FEED_NAME_COLUMNS = [("feeds", "name"), ("items", "feed"), ("incident_items", "feed"),
                      ("item_sightings", "feed"), ("fetch_days", "feed")]


class FeedStateMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]  # Database.tx: a write transaction
    log_event: Callable[..., None]  # AuditMixin.log_event: the one way into the audit log

    def sync_feeds(self, feeds: Iterable[_FeedLike], *, now: datetime | None = None) -> None:
        """Make sure every configured feed has a state row (URL and id kept up to date).

        A feed whose URL changed loses its validators (ETag/Last-Modified belong to the old URL).
        A feed under a new name whose ``id`` (else, when it has none, whose URL) matches a
        stored feed no longer configured is that feed renamed: its row, items, incident
        entries, sightings and fetch counts move to the new name (``feed.renamed``).
        """
        feeds = list(feeds)
        when = now or utcnow()
        now_s = iso(when)
        configured = {f.name for f in feeds}
        with self.tx():
            for feed in feeds:
                fid = getattr(feed, "id", None)
                row = self.db.execute("SELECT url FROM feeds WHERE name = ?", [feed.name]).fetchone()
                if row is None:
                    old = self._renamed_from(feed.url, fid, configured)
                    if old is not None:
                        self._rename_feed(old, feed.name, when)
                        row = self.db.execute("SELECT url FROM feeds WHERE name = ?",
                                              [feed.name]).fetchone()
                if row is None:
                    self.db["feeds"].insert({"name": feed.name, "url": feed.url, "feed_id": fid,
                                             "created_at": now_s, "consecutive_failures": 0})
                    continue
                if row[0] != feed.url:
                    self.db.execute(
                        "UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, "
                        "next_check_at = NULL WHERE name = ?", [feed.url, feed.name])
                self.db.execute("UPDATE feeds SET feed_id = ? WHERE name = ? "
                                "AND feed_id IS NOT ?", [fid, feed.name, fid])

    def _renamed_from(self, url: str, fid: str | None, configured: set[str]) -> str | None:
        """The stored feed, no longer configured, that a feed with this id or URL renames:
        by id when it has one, else the only unconfigured row with that URL and no id."""
        if fid is not None:
            rows = self.db.execute("SELECT name FROM feeds WHERE feed_id = ?", [fid]).fetchall()
        else:
            rows = self.db.execute("SELECT name FROM feeds WHERE url = ? AND feed_id IS NULL",
                                   [url]).fetchall()
        orphans = [r[0] for r in rows if r[0] not in configured]
        return orphans[0] if len(orphans) == 1 else None

    def _rename_feed(self, old: str, new: str, now: datetime) -> None:
        """Move everything kept under a feed's name to its new name (inside a transaction)."""
        for table, column in _FEED_NAME_COLUMNS:
            self.db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [new, old])
        self.log_event("feed.renamed", new, now=now, data={"from": old, "to": new})

    def feed_state(self, name: str) -> FeedState | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM feeds WHERE name = ?", [name]))
        return _state(rows[0]) if rows else None

    def record_success(self, name: str, *, now: datetime, status: int, next_check_at: datetime,
                       etag: str | None = None, last_modified: str | None = None,
                       new_items: int = 0, title: str | None = None, ttl: float | None = None,
                       max_age: float | None = None, encoding: str | None = None,
                       fmt: str | None = None, response_ms: int | None = None) -> None:
        fields: dict[str, Any] = {
            "response_ms": response_ms,
            "ok": 1, "last_status": status, "consecutive_failures": 0,
            "last_success_at": iso(now), "last_checked_at": iso(now),
            "next_check_at": iso(next_check_at), "failure_alerted_at": None,
            "max_age": max_age,
        }
        if status != 304:
            fields.update({"etag": etag, "last_modified": last_modified, "ttl": ttl,
                           "encoding": encoding, "format": fmt})
            if title:
                fields["title"] = title
        if new_items:
            fields["last_new_item_at"] = iso(now)
        with self.tx():
            row = self.db.execute("SELECT consecutive_failures, last_error FROM feeds "
                                  "WHERE name = ?", [name]).fetchone()
            self.db["feeds"].update(name, fields)
            self._count_fetch(name, now, ok=True)
            if row is not None and row[0]:
                self.log_event("feed.recovered", name, now=now,
                               data={"failures": row[0], "last_error": row[1]})

    def record_failure(self, name: str, *, now: datetime, kind: str, error: str,
                       next_check_at: datetime, status: int | None = None,
                       response_ms: int | None = None) -> int:
        """Store the error on the feed and return the new consecutive failure count."""
        with self.tx():
            self.db.execute(
                "UPDATE feeds SET ok = 0, consecutive_failures = consecutive_failures + 1, "
                "last_error = ?, last_error_kind = ?, last_error_at = ?, last_checked_at = ?, "
                "last_status = ?, next_check_at = ?, response_ms = ? WHERE name = ?",
                [error, kind, iso(now), iso(now), status, iso(next_check_at), response_ms,
                 name])
            row = self.db.execute("SELECT consecutive_failures FROM feeds WHERE name = ?",
                                  [name]).fetchone()
            self.log_event("feed.failure", name, data=f"{kind}: {error}", now=now)
            self._count_fetch(name, now, ok=False)
        return int(row[0]) if row else 0

    def _count_fetch(self, name: str, now: datetime, *, ok: bool) -> None:
        day = now.astimezone(zone()).date().isoformat()
        column = "ok" if ok else "failed"
        self.db.execute(f"INSERT INTO fetch_days (feed, day, {column}) VALUES (?, ?, 1) "
                        f"ON CONFLICT (feed, day) DO UPDATE SET {column} = {column} + 1",
                        [name, day])

    def record_rearm(self, name: str, now: datetime, note: str) -> None:
        """The daemon's watchdog found the feed's schedule lost or overdue and re-armed it."""
        with self.tx():
            self.db.execute("UPDATE feeds SET rearmed_at = ?, rearm_note = ? WHERE name = ?",
                            [iso(now), note, name])
            self.log_event("feed.rearmed", name, actor="system", data=note, now=now)

    def feeds_status(self, names: Iterable[str] | None = None) -> list[FeedState]:
        """One state per feed with its item count, in config order when ``names`` is given."""
        with self.lock:
            rows = {r["name"]: _state(r) for r in self.db.query(
                "SELECT f.*, (SELECT count(*) FROM items i WHERE i.feed = f.name "
                "AND i.deleted = 0) AS items_total FROM feeds f ORDER BY f.name")}
        if names is None:
            return list(rows.values())
        return [rows[n] for n in names if n in rows]

    def feed_states(self) -> list[FeedState]:
        """Every feed's state row, without counting its items (the dashboard)."""
        with self.lock:
            return [_state(r) for r in self.db.query("SELECT * FROM feeds ORDER BY name")]


def _state(row: dict[str, Any]) -> FeedState:
    state = to_model(FeedState, row)
    state.ok = None if row["ok"] is None else bool(row["ok"])
    return state
