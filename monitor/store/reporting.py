"""The counting queries that statistics and reports are built from (``monitor.report.stats``
does the arithmetic). Each is one indexed query over a period ``[since, until)``; items
are dated by publication (fetch time when they have none), incidents by first seen."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from ..models import Item
from .db import id_chunks, iso, parse_iso, to_model

_ITEM_DATE = "coalesce(published_at, fetched_at)"


class ReportingMixin:
    db: Any
    lock: Any

    def count_items_between(self, since: datetime, until: datetime,
                            feed: str | None = None) -> int:
        sql = (f"SELECT count(*) FROM items WHERE {_ITEM_DATE} >= ? AND {_ITEM_DATE} < ? "
               "AND deleted = 0")
        params: list[Any] = [iso(since), iso(until)]
        if feed is not None:
            sql += " AND feed = ?"
            params.append(feed)
        with self.lock:
            return int(self.db.execute(sql, params).fetchone()[0])

    def items_per_feed(self, since: datetime, until: datetime) -> dict[str, int]:
        with self.lock:
            rows = self.db.execute(
                f"SELECT feed, count(*) FROM items WHERE {_ITEM_DATE} >= ? AND {_ITEM_DATE} < ? "
                "AND deleted = 0 GROUP BY feed", [iso(since), iso(until)]).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def toned_items_between(self, since: datetime, until: datetime) -> list[Item]:
        """The period's undeleted items that have a tone (the model's or a correction):
        id, feed, dates and tone columns, for counting by ``Item.effective_tone``."""
        with self.lock:
            rows = list(self.db.query(
                "SELECT id, feed, published_at, fetched_at, tone, tone_negative, tone_model, "
                f"tone_corrected FROM items WHERE {_ITEM_DATE} >= ? AND {_ITEM_DATE} < ? "
                "AND deleted = 0 AND (tone IS NOT NULL OR tone_corrected IS NOT NULL)",
                [iso(since), iso(until)]))
        return [to_model(Item, r) for r in rows]

    def item_categories(self, ids: Iterable[int]) -> dict[int, set[str]]:
        """The categories of the rules each item matched (items without matches absent)."""
        out: dict[int, set[str]] = {}
        with self.lock:
            for marks, chunk in id_chunks(list(ids)):
                for item_id, category in self.db.execute(
                        f"SELECT DISTINCT item_id, category FROM matches WHERE item_id IN "
                        f"({marks})", chunk):
                    out.setdefault(item_id, set()).add(category)
        return out

    def incident_item_tones(self, ids: Iterable[int]) -> dict[int, list[Item]]:
        """Each incident's undeleted items with their text and tone columns (every id
        present, oldest item first)."""
        wanted = list(ids)
        out: dict[int, list[Item]] = {i: [] for i in wanted}
        with self.lock:
            for marks, chunk in id_chunks(wanted):
                for r in self.db.query(
                        "SELECT ii.incident_id, i.id, i.feed, i.title, i.body, i.tone, "
                        "i.tone_negative, i.tone_spans, i.tone_model, i.tone_corrected "
                        "FROM incident_items ii JOIN items i ON "
                        f"i.id = ii.item_id WHERE ii.incident_id IN ({marks}) AND i.deleted = 0 "
                        "ORDER BY i.id", chunk):
                    out[r.pop("incident_id")].append(to_model(Item, r))
        return out

    def fetch_counts(self, first_day: date, last_day: date) -> dict[str, tuple[int, int]]:
        """Per feed, (successful, failed) fetches on the Beijing days between the two
        (inclusive)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT feed, sum(ok), sum(failed) FROM fetch_days WHERE day >= ? AND day <= ? "
                "GROUP BY feed", [first_day.isoformat(), last_day.isoformat()]).fetchall()
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    def feed_rows(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT name, ok, consecutive_failures, last_success_at, last_error FROM feeds"))
        for r in rows:
            r["last_success_at"] = parse_iso(r["last_success_at"])
        return {r["name"]: r for r in rows}

    def incidents_with_step(self, ids: Iterable[int], action: str) -> set[int]:
        """Which of the incidents have at least one handling-log step ``action``."""
        out: set[int] = set()
        with self.lock:
            for marks, chunk in id_chunks(list(ids)):
                out.update(r[0] for r in self.db.execute(
                    f"SELECT DISTINCT incident_id FROM incident_log WHERE action = ? "
                    f"AND incident_id IN ({marks})", [action, *chunk]))
        return out

    def last_step_notes(self, ids: Iterable[int], action: str) -> dict[int, str]:
        """The note of each incident's latest ``action`` step (e.g. what resolving said)."""
        out: dict[int, str] = {}
        with self.lock:
            for marks, chunk in id_chunks(list(ids)):
                for incident_id, note in self.db.execute(
                        f"SELECT incident_id, note FROM incident_log WHERE action = ? AND "
                        f"incident_id IN ({marks}) ORDER BY id", [action, *chunk]):
                    if note:
                        out[incident_id] = note
        return out

    def delivery_counts(self, since: datetime, until: datetime) -> dict[str, int]:
        """Alerts about incidents (not the admins' notices) created in the period, by
        status."""
        with self.lock:
            rows = self.db.execute(
                "SELECT status, count(*) FROM deliveries WHERE created_at >= ? AND "
                "created_at < ? AND kind != 'admin' GROUP BY status",
                [iso(since), iso(until)]).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def rule_names(self, rules: Iterable[str]) -> dict[str, str]:
        """The name each rule had in its latest match."""
        out: dict[str, str] = {}
        wanted = sorted(set(rules))
        with self.lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for rule, name in self.db.execute(
                        f"SELECT rule, name FROM matches WHERE id IN (SELECT max(id) FROM "
                        f"matches WHERE rule IN ({marks}) GROUP BY rule)", chunk):
                    if name:
                        out[rule] = name
        return out

    def ruleset_changes(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT version, loaded_at, actor, rules, changed, NOT EXISTS (SELECT 1 FROM "
                "ruleset_versions AS e WHERE e.rowid < v.rowid) AS initial "
                "FROM ruleset_versions AS v "
                "WHERE loaded_at >= ? AND loaded_at < ? ORDER BY id",
                [iso(since), iso(until)]))
        for r in rows:
            r["loaded_at"] = parse_iso(r["loaded_at"])
            r["changed"] = json.loads(r["changed"] or "[]")
            r["initial"] = bool(r["initial"])
        return rows
