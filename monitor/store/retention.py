"""Retention of item bodies (``[storage] retain_bodies``): old bodies are emptied, nothing else.

An item dated (publication time, else fetch time) before the cut-off keeps its row, title,
link, matches, incident membership and every audit event; only ``body`` becomes ``''``
and ``body_pruned_at`` records when. Its full-text row keeps the title's tokens, so the
title stays searchable and the body no longer is. The work goes in batches of
:data:`PRUNE_BATCH` rows, one short write transaction each, so a running daemon is never
held up for long; the stored ``content_hash`` is left as it was, so a re-fetch of the same
item is not taken for an edit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .db import id_chunks, iso, parse_iso, utcnow

PRUNE_BATCH = 5000

# the bodies still kept that are older than the cut-off (the partial index items_body_kept)
_KEPT_BEFORE = ("body_pruned_at IS NULL AND body != '' "
                "AND coalesce(published_at, fetched_at) < ?")


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (or, with ``dry_run``, would do): ``items`` bodies emptied, dated
    from ``oldest`` to ``newest``, all before ``before``."""

    before: datetime
    items: int
    oldest: datetime | None = None
    newest: datetime | None = None
    dry_run: bool = False


class RetentionMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]  # Database.tx: a write transaction
    log_event: Callable[..., None]  # AuditMixin.log_event: the one way into the audit log

    def prunable_bodies(self, before: datetime) -> PruneResult:
        """How many bodies a prune with this cut-off would empty (nothing is changed)."""
        with self.lock:
            count, oldest, newest = self.db.execute(
                "SELECT count(*), min(coalesce(published_at, fetched_at)), "
                f"max(coalesce(published_at, fetched_at)) FROM items WHERE {_KEPT_BEFORE}",
                [iso(before)]).fetchone()
        return PruneResult(before, int(count), parse_iso(oldest), parse_iso(newest),
                           dry_run=True)

    def prune_bodies_batch(self, before: datetime, *, now: datetime | None = None,
                           limit: int = PRUNE_BATCH) -> int:
        """Empty the bodies of up to ``limit`` items dated before ``before``, in one write
        transaction; returns how many (0 when none is left)."""
        now_s = iso(now or utcnow())
        with self.tx():
            ids = [r[0] for r in self.db.execute(
                f"SELECT id FROM items WHERE {_KEPT_BEFORE} LIMIT ?",
                [iso(before), int(limit)]).fetchall()]
            for marks, chunk in id_chunks(ids):
                self.db.execute(f"UPDATE items SET body = '', body_pruned_at = ? "
                                f"WHERE id IN ({marks})", [now_s, *chunk])
                # the title's tokens stay; tombstoned items have no row here at all
                self.db.execute(f"UPDATE items_fts SET body = '' WHERE rowid IN ({marks})",
                                chunk)
        return len(ids)

    def record_prune(self, result: PruneResult, *, retain: str | None,
                     now: datetime | None = None, actor: str | None = "system") -> None:
        """The audit event of a prune that emptied bodies."""
        with self.tx():
            self.log_event("retention.pruned", "items", actor=actor, now=now,
                           data=json.dumps({"items": result.items, "before": iso(result.before),
                                            "retain": retain}, ensure_ascii=False))

    def prune_bodies(self, before: datetime, *, now: datetime | None = None,
                     retain: str | None = None, batch: int = PRUNE_BATCH,
                     stopping: Callable[[], bool] = lambda: False,
                     actor: str | None = "system") -> PruneResult:
        """Empty every body dated before ``before``, batch by batch until none is left or
        ``stopping()`` says so; one ``retention.pruned`` audit event when any was."""
        plan = self.prunable_bodies(before)
        done = 0
        while not stopping():
            n = self.prune_bodies_batch(before, now=now, limit=batch)
            done += n
            if n < batch:
                break
        result = PruneResult(before, done, plan.oldest, plan.newest)
        if done:
            self.record_prune(result, retain=retain, now=now, actor=actor)
        return result
