"""Rule results: each item's score, level and matches (with spans and the ruleset version
that produced them); the ruleset versions themselves are ``rulesets``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from ..models import Item, StoredMatch
from .db import id_chunks, iso, period_where, to_model, utcnow


class _Evaluation(Protocol):
    """What the rule engine's ``Evaluation`` offers (the store may not import it)."""

    @property
    def score(self) -> int: ...
    @property
    def level(self) -> str | None: ...
    @property
    def matches(self) -> list[Any]: ...


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

    def matches_of(self, item_ids: list[int]) -> dict[int, list[StoredMatch]]:
        """Stored matches of several items (one query per 500 ids), spans decoded."""
        out: dict[int, list[StoredMatch]] = {}
        with self.lock:
            for marks, chunk in id_chunks(item_ids):
                for r in self.db.query(
                        f"SELECT * FROM matches WHERE item_id IN ({marks}) ORDER BY id", chunk):
                    r["spans"] = json.loads(r["spans"])
                    out.setdefault(r["item_id"], []).append(to_model(StoredMatch, r))
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
                     since: datetime | None = None, fetched_since: datetime | None = None,
                     limit: int | None = 50) -> list[Item]:
        """Items with a score, the highest level first and the highest score within it,
        each with its ``matches``; ``levels`` restricts to items whose level is one of
        them; ``fetched_since`` to those first fetched since then."""
        where, params = _scored_where(min_score, levels, since, fetched_since)
        sql = (f"SELECT * FROM items WHERE {' AND '.join(where)} "
               "ORDER BY CASE level WHEN 'red' THEN 4 WHEN 'orange' THEN 3 WHEN 'yellow' "
               "THEN 2 WHEN 'blue' THEN 1 WHEN 'info' THEN 0 ELSE -1 END DESC, score DESC, "
               "coalesce(published_at, fetched_at) DESC, id DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            rows = [to_model(Item, r) for r in self.db.query(sql, params)]
        matches = self.matches_of([r.id for r in rows])
        for r in rows:
            r.matches = matches.get(r.id, [])
        return rows

    def count_scored(self, *, min_score: int = 1, levels: list[str] | None = None,
                     since: datetime | None = None,
                     fetched_since: datetime | None = None) -> int:
        """How many items ``scored_items`` would give with these filters and no limit."""
        where, params = _scored_where(min_score, levels, since, fetched_since)
        with self.lock:
            return int(self.db.execute(f"SELECT count(*) FROM items WHERE {' AND '.join(where)}",
                                       params).fetchone()[0])

    def recent_scored_items(self, levels: list[str], *, since: datetime,
                            until: datetime | None = None, limit: int = 5) -> list[Item]:
        """The newest items dated in ``[since, until)`` whose level is one of ``levels``,
        each with its ``matches`` (read backwards along ``items_sort`` and stopped at
        ``limit``: no sort, no count)."""
        where, params = period_where(since, until)
        where.append(f"level IN ({','.join('?' * len(levels))})")
        params.extend(levels)
        with self.lock:
            rows = [to_model(Item, r) for r in self.db.query(
                f"SELECT * FROM items WHERE {' AND '.join(where)} "
                f"ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT {int(limit)}",
                params)]
        matches = self.matches_of([r.id for r in rows])
        for r in rows:
            r.matches = matches.get(r.id, [])
        return rows

    def iter_items(self, *, since: datetime | None = None, until: datetime | None = None,
                   batch: int = 1000) -> Iterator[Item]:
        """Every stored item in the period (by publication, else fetch time), in id order."""
        where, params = period_where(since, until)
        last = 0
        while True:
            with self.lock:
                rows = list(self.db.query(
                    f"SELECT id, feed, title, body, link, published_at, fetched_at, score, level, "
                    f"ruleset_version FROM items "
                    f"WHERE {' AND '.join(where)} AND id > ? ORDER BY id LIMIT {int(batch)}",
                    [*params, last]))
            if not rows:
                return
            yield from (to_model(Item, r) for r in rows)
            last = rows[-1]["id"]


def _scored_where(min_score: int, levels: list[str] | None, since: datetime | None,
                  fetched_since: datetime | None) -> tuple[list[str], list[Any]]:
    """The conditions of ``scored_items`` and ``count_scored``."""
    where, params = period_where(since)
    if fetched_since is not None:
        where.append("fetched_at >= ?")
        params.append(iso(fetched_since))
    where.append("score >= ?")
    params.append(min_score)
    if levels is not None:
        where.append(f"level IN ({','.join('?' * len(levels))})")
        params.extend(levels)
    return where, params
