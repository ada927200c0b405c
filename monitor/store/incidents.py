"""Incidents: their rows, the items that joined each one, the near-duplicate keys that
find them again, the append-only handling log, and silences.

The decisions (which incident an item joins, whether the level rises, which transitions
are allowed) belong to ``monitor.incidents``; this module only reads and writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..errors import NotFoundError
from ..models import Incident, IncidentStep
from .db import id_chunks, iso, parse_iso, to_model, utcnow

_JSON_LISTS = ("rules", "categories")


def _incident(row: dict[str, Any]) -> Incident:
    for key in _JSON_LISTS:
        row[key] = json.loads(row.get(key) or "[]")
    # first_seen / last_seen do not end in _at: read them here
    for key in ("first_seen", "last_seen", "awaiting_since"):
        row[key] = parse_iso(row.get(key))
    return to_model(Incident, row)


class IncidentsMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]
    log_event: Callable[..., None]  # AuditMixin.log_event: the one way into the audit log

    # ---- finding the incident an item belongs to ------------------------------------
    def incident_candidates(self, keys: list[str], since: datetime) -> dict[int, list[str]]:
        """Incidents that had an item with one of the near-duplicate ``keys`` seen since
        ``since``, each with the signatures of those items (an index lookup: the work
        does not grow with the number of incidents)."""
        out: dict[int, list[str]] = {}
        if not keys:
            return out
        with self.lock:
            marks = ",".join("?" * len(keys))
            for incident_id, sig in self.db.execute(
                    f"SELECT DISTINCT ii.incident_id, ii.signature FROM incident_keys k "
                    f"JOIN incident_items ii ON ii.item_id = k.item_id "
                    f"WHERE k.key IN ({marks}) AND k.seen_at >= ?", [*keys, iso(since)]):
                out.setdefault(incident_id, []).append(sig)
        return out

    def incident_by_link(self, link: str, since: datetime) -> int | None:
        """The incident that already holds an item with this link (seen since ``since``)."""
        with self.lock:
            row = self.db.execute(
                "SELECT ii.incident_id FROM items i JOIN incident_items ii ON ii.item_id = i.id "
                "WHERE i.link = ? AND ii.seen_at >= ? ORDER BY ii.seen_at DESC LIMIT 1",
                [link, iso(since)]).fetchone()
        return row[0] if row else None

    def incident_of_item(self, item_id: int) -> int | None:
        with self.lock:
            row = self.db.execute("SELECT incident_id FROM incident_items WHERE item_id = ?",
                                  [item_id]).fetchone()
        return row[0] if row else None

    # ---- writing ------------------------------------------------------------------------
    def create_incident(self, fields: dict[str, Any]) -> int:
        row = _to_row(fields)
        with self.tx():
            cur = self.db.execute(
                f"INSERT INTO incidents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))
            return int(cur.lastrowid)

    def update_incident(self, incident_id: int, fields: dict[str, Any]) -> None:
        row = _to_row(fields)
        if not row:
            return
        with self.tx():
            self.db.execute(
                f"UPDATE incidents SET {', '.join(f'{k} = ?' for k in row)} WHERE id = ?",
                [*row.values(), incident_id])

    def add_incident_item(self, incident_id: int, *, item_id: int, feed: str, level: str,
                          how: str, similarity: float | None, seen_at: datetime,
                          now: datetime, keys: list[str], signature: str) -> None:
        with self.tx():
            self.db.execute(
                "INSERT OR REPLACE INTO incident_items (item_id, incident_id, feed, level, how, "
                "similarity, signature, seen_at, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item_id, incident_id, feed, level, how, similarity, signature, iso(seen_at),
                 iso(now)])
            self.db.execute("DELETE FROM incident_keys WHERE item_id = ?", [item_id])
            self.db.conn.executemany(
                "INSERT INTO incident_keys (key, incident_id, item_id, seen_at) "
                "VALUES (?, ?, ?, ?)", [(k, incident_id, item_id, iso(seen_at)) for k in keys])

    def log_step(self, incident_id: int, action: str, *, now: datetime,
                 actor: str | None = None, note: str | None = None, level: str | None = None,
                 item_id: int | None = None, data: dict[str, Any] | None = None) -> None:
        """Append one step to the incident's handling log (never updated or deleted)."""
        with self.tx():
            self.db.execute(
                "INSERT INTO incident_log (incident_id, at, action, actor, note, level, item_id, "
                "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [incident_id, iso(now), action, actor, note, level, item_id,
                 json.dumps(data, ensure_ascii=False) if data else None])
            details = {k: v for k, v in (("note", note), ("level", level), ("item", item_id))
                       if v is not None}
            self.log_event(f"incident.{action}", str(incident_id), actor=actor,
                           data={**details, **(data or {})} or None, now=now)

    # ---- reading ------------------------------------------------------------------------
    def get_incident(self, incident_id: int) -> Incident:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM incidents WHERE id = ?", [incident_id]))
        if not rows:
            raise NotFoundError(f"没有编号为 {incident_id} 的舆情事件（用 yuqing incidents list 查看）")
        return _incident(rows[0])

    def get_incidents(self, ids: list[int]) -> dict[int, Incident]:
        out: dict[int, Incident] = {}
        with self.lock:
            for marks, chunk in id_chunks(ids):
                for r in self.db.query(f"SELECT * FROM incidents WHERE id IN ({marks})", chunk):
                    out[r["id"]] = _incident(r)
        return out

    def incident_signature(self, incident_id: int) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT signature FROM incidents WHERE id = ?",
                                  [incident_id]).fetchone()
        return row[0] if row else None

    def spread_steps(self, incident_id: int) -> int:
        with self.lock:
            row = self.db.execute("SELECT spread_steps FROM incidents WHERE id = ?",
                                  [incident_id]).fetchone()
        return int(row[0]) if row else 0

    def incident_sources(self, incident_id: int, *, since: datetime | None = None) -> list[str]:
        """The distinct sources (feeds) of the incident's items, in the order they joined;
        with ``since``, only items seen since then."""
        sql = "SELECT feed, min(seen_at) AS first FROM incident_items WHERE incident_id = ?"
        params: list[Any] = [incident_id]
        if since is not None:
            sql += " AND seen_at >= ?"
            params.append(iso(since))
        sql += " GROUP BY feed ORDER BY first"
        with self.lock:
            return [r[0] for r in self.db.execute(sql, params)]

    def incident_item_count(self, incident_id: int) -> int:
        with self.lock:
            row = self.db.execute("SELECT count(*) FROM incident_items WHERE incident_id = ?",
                                  [incident_id]).fetchone()
        return int(row[0])

    def incident_item_rows(self, incident_id: int) -> list[dict[str, Any]]:
        """The incident's items (joined with how and when they joined, with their tone
        columns), oldest first."""
        with self.lock:
            return list(self.db.query(
                "SELECT i.id, i.feed, i.title, i.body, i.link, i.published_at, i.fetched_at, "
                "i.score, i.level AS item_level, i.deleted, i.tone, i.tone_negative, "
                "i.tone_spans, i.tone_model, i.tone_corrected, ii.level, ii.how, ii.similarity, "
                "ii.seen_at, ii.joined_at FROM incident_items ii JOIN items i ON i.id = ii.item_id "
                "WHERE ii.incident_id = ? ORDER BY ii.seen_at, i.id", [incident_id]))

    def incident_log(self, incident_id: int) -> list[IncidentStep]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT id, incident_id, at, action, actor, note, level, item_id "
                "FROM incident_log WHERE incident_id = ? ORDER BY id", [incident_id]))
        return [to_model(IncidentStep, r) for r in rows]

    def list_incidents(self, *, since: datetime | None = None, until: datetime | None = None,
                       level: str | None = None, status: str | None = None,
                       category: str | None = None, outcome: str | None = None,
                       feed: str | None = None, text: str | None = None,
                       min_level: str | None = None, limit: int | None = None,
                       offset: int = 0) -> list[Incident]:
        """Incidents first seen in ``[since, until)``, newest first; ``feed``: those holding
        an item of that feed; ``text``: those whose title holds it, or holding an item the
        full-text index finds for it (every word, as ``search_items``); ``offset`` skips
        that many (a page of the console's list)."""
        where, params = _incidents_where(since=since, until=until, level=level,
                                         status=status, category=category, outcome=outcome,
                                         feed=feed, text=text, min_level=min_level)
        sql = "SELECT * FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_seen DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
            if offset:
                sql += f" OFFSET {int(offset)}"
        with self.lock:
            return [_incident(r) for r in self.db.query(sql, params)]

    def count_incidents(self, *, since: datetime | None = None,
                        until: datetime | None = None, level: str | None = None,
                        status: str | None = None, category: str | None = None,
                        outcome: str | None = None, feed: str | None = None,
                        text: str | None = None, min_level: str | None = None) -> int:
        """How many incidents ``list_incidents`` would give with these filters, no limit."""
        where, params = _incidents_where(since=since, until=until, level=level,
                                         status=status, category=category, outcome=outcome,
                                         feed=feed, text=text, min_level=min_level)
        sql = "SELECT count(*) FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.lock:
            return int(self.db.execute(sql, params).fetchone()[0])

    def unresolved_counts(self) -> dict[tuple[str, str], int]:
        """How many incidents are open or acknowledged, by (status, level) (the status
        index's two ranges, however many incidents were ever resolved)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT status, level, count(*) FROM incidents "
                "WHERE status IN ('open', 'acknowledged') GROUP BY status, level").fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def unresolved_incidents(self, *, limit: int = 50) -> list[Incident]:
        """Open and acknowledged incidents, the highest level first, then the open ones
        (nobody has them yet), then the most recently active."""
        from ..models import LEVELS

        rank = " ".join(f"WHEN '{lv}' THEN {i}" for i, lv in enumerate(LEVELS))
        with self.lock:
            return [_incident(r) for r in self.db.query(
                f"SELECT * FROM incidents WHERE status IN ('open', 'acknowledged') "
                f"ORDER BY CASE level {rank} ELSE -1 END DESC, status = 'acknowledged', "
                f"last_seen DESC, id DESC LIMIT ?", [int(limit)])]

    def incidents_sources(self, ids: list[int]) -> dict[int, list[str]]:
        """For each incident, its distinct sources in the order they joined (one query per
        500 incidents)."""
        out: dict[int, list[str]] = {i: [] for i in ids}
        with self.lock:
            for marks, chunk in id_chunks(ids):
                for incident_id, feed, _first in self.db.execute(
                        f"SELECT incident_id, feed, min(seen_at) AS first FROM incident_items "
                        f"WHERE incident_id IN ({marks}) GROUP BY incident_id, feed "
                        f"ORDER BY incident_id, first", chunk):
                    out[incident_id].append(feed)
        return out

    def resolve_notes(self, ids: list[int]) -> dict[int, str]:
        """The note of each incident's latest ``resolved`` step (incidents never resolved
        are absent)."""
        out: dict[int, str] = {}
        with self.lock:
            for marks, chunk in id_chunks(ids):
                for incident_id, note in self.db.execute(
                        f"SELECT incident_id, note FROM incident_log WHERE action = 'resolved' "
                        f"AND incident_id IN ({marks}) ORDER BY id", chunk):
                    out[incident_id] = note or ""
        return out

    def incidents_of_items(self, item_ids: list[int]) -> dict[int, int]:
        """The incident each of these items joined (items in none are absent)."""
        out: dict[int, int] = {}
        with self.lock:
            for marks, chunk in id_chunks(item_ids):
                out.update(self.db.execute(
                    f"SELECT item_id, incident_id FROM incident_items WHERE item_id IN ({marks})",
                    chunk).fetchall())
        return out

    def unacknowledged(self) -> list[Incident]:
        """Open incidents nobody has acknowledged yet (escalation, reminders, clocks)."""
        with self.lock:
            return [_incident(r) for r in self.db.query(
                "SELECT * FROM incidents WHERE status = 'open' ORDER BY id")]

    def running_clocks(self) -> list[Incident]:
        """Incidents whose acknowledgement or response clock is still running."""
        with self.lock:
            return [_incident(r) for r in self.db.query(
                "SELECT * FROM incidents WHERE (ack_clock IS NULL AND ack_due_at IS NOT NULL) "
                "OR (respond_clock IS NULL AND respond_due_at IS NOT NULL) ORDER BY id")]

    # ---- silences -----------------------------------------------------------------------
    def add_silence(self, scope: str, value: str, *, until: datetime, note: str,
                    actor: str | None, now: datetime | None = None) -> int:
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO silences (scope, value, until, note, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [scope, value, iso(until), note, actor, iso(now or utcnow())])
            self.log_event("silence.added", str(cur.lastrowid), actor=actor, now=now,
                           data={"scope": scope, "value": value, "until": iso(until),
                                 "note": note})
            return int(cur.lastrowid)

    def lift_silence(self, silence_id: int, *, now: datetime,
                     actor: str | None = None) -> None:
        with self.tx():
            cur = self.db.execute(
                "UPDATE silences SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL",
                [iso(now), silence_id])
            if cur.rowcount == 0:
                raise NotFoundError(f"没有编号为 {silence_id} 的生效中的静默")
            self.log_event("silence.lifted", str(silence_id), actor=actor, now=now)

    def silences(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Silences in force at ``now`` (every silence ever made when ``now`` is None)."""
        sql = "SELECT * FROM silences"
        params: list[Any] = []
        if now is not None:
            sql += " WHERE lifted_at IS NULL AND until > ?"
            params.append(iso(now))
        with self.lock:
            rows = list(self.db.query(sql + " ORDER BY id", params))
        for r in rows:
            for key in ("until", "created_at", "lifted_at"):
                r[key] = parse_iso(r[key])
        return rows

    def false_positives_by_rule(self, *, since: datetime | None = None) -> dict[str, int]:
        """How many incidents closed as 误报 each rule took part in (rule precision)."""
        sql = ("SELECT value, count(*) FROM incidents, json_each(incidents.rules) "
               "WHERE outcome = 'false_positive'")
        params: list[Any] = []
        if since is not None:
            sql += " AND resolved_at >= ?"
            params.append(iso(since))
        with self.lock:
            return dict(self.db.execute(sql + " GROUP BY value", params).fetchall())


def _to_row(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            value = iso(value)
        elif key in _JSON_LISTS:
            value = json.dumps(list(value), ensure_ascii=False)
        out[key] = value
    return out


def _incidents_where(*, since: datetime | None, until: datetime | None, level: str | None,
                     status: str | None, category: str | None, outcome: str | None,
                     feed: str | None, text: str | None, min_level: str | None
                     ) -> tuple[list[str], list[Any]]:
    """The conditions of ``list_incidents`` and ``count_incidents``."""
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append("first_seen >= ?")
        params.append(iso(since))
    if until is not None:
        where.append("first_seen < ?")
        params.append(iso(until))
    for column, value in (("level", level), ("status", status), ("outcome", outcome)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if min_level is not None:
        from ..models import LEVELS, level_rank

        at_least = [lv for lv in LEVELS if level_rank(lv) >= level_rank(min_level)]
        where.append(f"level IN ({', '.join('?' * len(at_least))})")
        params.extend(at_least)
    if category is not None:
        where.append("(category = ? OR EXISTS (SELECT 1 FROM json_each(categories) "
                     "WHERE value = ?))")
        params.extend([category, category])
    if feed is not None:
        # one range of incident_items_feed (feed, incident_id): no item rows read
        where.append("id IN (SELECT incident_id FROM incident_items WHERE feed = ?)")
        params.append(feed)
    if text is not None:
        from .search import fts_query, like_pattern

        either = ["title LIKE ? ESCAPE '\\'"]
        params.append(like_pattern(text))
        fts = fts_query(text)
        if fts:
            # the index's matches (rowids only), each looked up by incident_items' key
            either.append("id IN (SELECT ii.incident_id FROM items_fts "
                          "JOIN incident_items ii ON ii.item_id = items_fts.rowid "
                          "WHERE items_fts MATCH ?)")
            params.append(fts)
        where.append("(" + " OR ".join(either) + ")")
    return where, params
