"""Rule results: each item's score, level and matches (with spans and the ruleset version
that produced them), and the history of ruleset versions (who/when/what changed)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from .db import id_chunks, iso, period_where, utcnow


class _Span(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class _Match(Protocol):
    rule: str
    name: str
    category: str
    level: str
    weight: int
    spans: list[Any]


class _Evaluation(Protocol):
    score: int
    level: str | None
    matches: list[Any]


class MatchesMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]  # Database.tx: a write transaction

    def save_evaluation(self, item_id: int, ev: _Evaluation, *, version: str,
                        now: datetime | None = None) -> None:
        """Replace an item's stored result with ``ev``."""
        with self.tx():
            self.db.execute("DELETE FROM matches WHERE item_id = ?", [item_id])
            self.db.execute(
                "UPDATE items SET score = ?, level = ?, ruleset_version = ?, scored_at = ? "
                "WHERE id = ?", [ev.score, ev.level, version, iso(now or utcnow()), item_id])
            self.db.conn.executemany(
                "INSERT INTO matches (item_id, rule, name, category, level, weight, spans, "
                "ruleset_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(item_id, m.rule, m.name, m.category, m.level, m.weight,
                  json.dumps([s.to_dict() for s in m.spans], ensure_ascii=False), version)
                 for m in ev.matches])

    def item_matches(self, item_id: int) -> list[dict[str, Any]]:
        return self.matches_of([item_id]).get(item_id, [])

    def matches_of(self, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Stored matches of several items (one query per 500 ids), spans decoded."""
        out: dict[int, list[dict[str, Any]]] = {}
        with self.lock:
            for marks, chunk in id_chunks(item_ids):
                for r in self.db.query(
                        f"SELECT * FROM matches WHERE item_id IN ({marks}) ORDER BY id", chunk):
                    r["spans"] = json.loads(r["spans"])
                    out.setdefault(r["item_id"], []).append(r)
        return out

    def unscored_item_ids(self, *, limit: int = 500) -> list[int]:
        with self.lock:
            return [r[0] for r in self.db.execute(
                "SELECT id FROM items WHERE ruleset_version IS NULL AND deleted = 0 "
                "ORDER BY id LIMIT ?", [int(limit)])]

    def stored_rule_hits(self, item_ids: list[int]) -> dict[int, set[str]]:
        """The rules stored as matching each item (for backtest comparisons)."""
        out: dict[int, set[str]] = {i: set() for i in item_ids}
        with self.lock:
            for marks, chunk in id_chunks(item_ids):
                for item_id, rule in self.db.execute(
                        f"SELECT item_id, rule FROM matches WHERE item_id IN ({marks})", chunk):
                    out[item_id].add(rule)
        return out

    def scored_items(self, *, min_score: int = 1, levels: list[str] | None = None,
                     since: datetime | None = None,
                     limit: int | None = 50) -> list[dict[str, Any]]:
        """Items with a score, highest first, each with its ``matches``; ``levels``
        restricts to items whose level is one of them."""
        where, params = period_where(since)
        where.append("score >= ?")
        params.append(min_score)
        if levels is not None:
            where.append(f"level IN ({','.join('?' * len(levels))})")
            params.extend(levels)
        sql = (f"SELECT * FROM items WHERE {' AND '.join(where)} "
               "ORDER BY score DESC, coalesce(published_at, fetched_at) DESC, id DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            rows = list(self.db.query(sql, params))
        matches = self.matches_of([r["id"] for r in rows])
        for r in rows:
            r["matches"] = matches.get(r["id"], [])
        return rows

    def iter_items(self, *, since: datetime | None = None, until: datetime | None = None,
                   batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every stored item in the period (by publication, else fetch time), in id order."""
        where, params = period_where(since, until)
        last = 0
        while True:
            with self.lock:
                rows = list(self.db.query(
                    f"SELECT id, feed, title, body, link, published_at, ruleset_version FROM items "
                    f"WHERE {' AND '.join(where)} AND id > ? ORDER BY id LIMIT {int(batch)}",
                    [*params, last]))
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]

    # ---- ruleset versions -------------------------------------------------------------
    def record_ruleset(self, version: str, files: Mapping[str, str], rules: int, *,
                       actor: str | None = None, now: datetime | None = None) -> bool:
        """Record a ruleset version (once); returns True when it is new.

        The diff against the previous version is stored with it, so rule maintenance can
        be shown in reports (what changed, when, by whom).
        """
        with self.tx():
            if self.db.execute("SELECT 1 FROM ruleset_versions WHERE version = ?",
                               [version]).fetchone():
                # back to a version seen before: it becomes the newest again
                self.db.execute("UPDATE ruleset_versions SET loaded_at = ? WHERE version = ?",
                                [iso(now or utcnow()), version])
                self.db["events"].insert({"at": iso(now or utcnow()), "kind": "rules.version",
                                          "subject": version, "actor": actor, "data": "[]"})
                return False
            prev = self.db.execute("SELECT files FROM ruleset_versions "
                                   "ORDER BY loaded_at DESC, rowid DESC LIMIT 1").fetchone()
            old: dict[str, str] = json.loads(prev[0]) if prev else {}
            changed = sorted(n for n in set(old) | set(files) if old.get(n) != files.get(n))
            diff = "".join(
                "".join(difflib.unified_diff(
                    old.get(n, "").splitlines(keepends=True),
                    files.get(n, "").splitlines(keepends=True),
                    fromfile=f"a/{n}" if n in old else "/dev/null",
                    tofile=f"b/{n}" if n in files else "/dev/null"))
                for n in changed)
            self.db["ruleset_versions"].insert({
                "version": version, "loaded_at": iso(now or utcnow()), "actor": actor,
                "rules": rules, "files": json.dumps(dict(files), ensure_ascii=False),
                "changed": json.dumps(changed, ensure_ascii=False), "diff": diff})
            self.db["events"].insert({"at": iso(now or utcnow()), "kind": "rules.version",
                                      "subject": version, "actor": actor,
                                      "data": json.dumps(changed, ensure_ascii=False)})
        return True

    def ruleset_versions(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT version, loaded_at, actor, rules, changed, diff FROM ruleset_versions "
                "ORDER BY loaded_at DESC, rowid DESC"))
        for r in rows:
            r["changed"] = json.loads(r["changed"] or "[]")
        return rows

    def last_ruleset_files(self) -> dict[str, str] | None:
        """The files of the newest recorded version (the last rules known to be good)."""
        with self.lock:
            row = self.db.execute("SELECT files FROM ruleset_versions "
                                  "ORDER BY loaded_at DESC, rowid DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None
