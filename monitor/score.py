"""The score stage: evaluate stored items with the rules in force and store each item's
score, level and matches (the explanation of every hit).

Evaluation happens before the write transaction opens, so the database's write lock is
held only for the writes. Items stored while no rules were usable, or whose scoring
failed, are found again by :meth:`Scorer.score_pending`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from .rulekeeper import RuleKeeper
from .store import Store

log = logging.getLogger(__name__)


class Scorer:
    def __init__(self, store: Store, rules: RuleKeeper) -> None:
        self.store = store
        self.rules = rules

    def score_items(self, item_ids: list[int], now: datetime) -> int:
        """Score the items; returns how many matched at least one rule."""
        rs = self.rules.ruleset
        if rs is None:
            return 0
        items = self.store.get_items(item_ids)
        results = [(i, rs.evaluate(title=items[i].title, body=items[i].body))
                   for i in item_ids if i in items]
        with self.store.tx():  # one transaction per batch
            for item_id, ev in results:
                self.store.save_evaluation(item_id, ev, version=rs.version, now=now)
        matched = 0
        for item_id, ev in results:
            if ev.matches:
                matched += 1
                log.info("条目命中规则 item=%s score=%s level=%s rules=%s", item_id,
                         ev.score, ev.level, ",".join(m.rule for m in ev.matches))
        return matched

    def score_pending(self, *, now: datetime, batch: int = 500,
                      stopping: Callable[[], bool] = lambda: False,
                      then: Callable[[list[int], datetime], object] | None = None) -> int:
        """Score items stored while no rules were usable, or whose scoring failed (in
        batches; between two, ``stopping()`` may end it: the rest waits for next time);
        ``then`` receives each scored batch (the next stages: incidents and alerts)."""
        rs = self.rules.ruleset
        if rs is None:
            return 0
        done = 0
        while not stopping() and (ids := self.store.unscored_item_ids(limit=batch)):
            with self.store.tx():   # the next stages in the same transaction
                self.score_items(ids, now)
                if then is not None:
                    then(ids, now)
            done += len(ids)
        if done:
            log.info("已为此前未评分的条目评分 items=%d version=%s", done, rs.version)
        return done
