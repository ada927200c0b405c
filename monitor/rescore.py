"""Re-score stored items with the rules in force (``yuqing rules apply``, and the daemon
after a hot reload when ``[rules] rescore_after_reload`` is set).

Every item whose result changes keeps its previous score, level and rules on record: an
``item.rescored`` event in the audit log, written before the new result replaces the old.
Items that now reach an incident level (higher than before) join incidents through the
same intake as new items, with "重新评分发现" on their step in the incident's log. Only
those dated within ``[rules] rescore_alert_within`` alert; older ones join quietly, and
an incident that only old items opened is silenced, so no reminder pages anyone about
an old archive either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .alerts.plan import Planner
from .incidents.absorb import opens_incident
from .incidents.intake import Intake
from .models import IncidentEvent, Item, level_rank, tone_text
from .rules import Ruleset
from .score import ToneKeeper, signal_of
from .store import Store
from .tone import Tone

log = logging.getLogger(__name__)

WHY = "重新评分发现"
QUIET_NOTE = "重新评分发现的旧条目：只归入事件，不提醒"
QUIET_FOR = timedelta(days=30)   # how long an old archive's incident stays silenced


@dataclass
class RescoreResult:
    items: int = 0            # items evaluated
    newly_matched: int = 0    # items matched by a rule that did not match them before
    level_changed: int = 0
    incidents_opened: int = 0
    alerts: int = 0           # deliveries planned
    quiet: int = 0            # items that joined incidents without alerting (too old)
    ruleset_version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "newly_matched": self.newly_matched,
                "level_changed": self.level_changed,
                "incidents_opened": self.incidents_opened, "alerts": self.alerts,
                "joined_without_alert": self.quiet, "ruleset_version": self.ruleset_version}


@dataclass
class _Change:
    item: Item
    before: dict[str, Any]
    after: dict[str, Any]


class Rescorer:
    def __init__(self, store: Store, intake: Intake, planner: Planner, *,
                 alert_within: float, tones: ToneKeeper | None = None) -> None:
        self.store = store
        self.intake = intake
        self.planner = planner
        self.alert_within = timedelta(seconds=alert_within)
        self.tones = tones      # reads the tone of items stored before they had one

    def rescore_ids(self, ruleset: Ruleset, item_ids: list[int], *,
                    now: datetime) -> RescoreResult:
        """Re-score these items alone (after a staff member corrected an item's tone)."""
        result = RescoreResult(ruleset_version=ruleset.version)
        found = self.store.get_items(item_ids)
        rows = [found[i] for i in item_ids if i in found]
        if rows:
            self._batch(ruleset, rows, now, result)
        return result

    def rescore(self, ruleset: Ruleset, *, since: datetime | None, now: datetime,
                until: datetime | None = None, batch: int = 500) -> RescoreResult:
        """Re-score the items dated in ``[since, until)`` with ``ruleset``."""
        result = RescoreResult(ruleset_version=ruleset.version)
        rows: list[Item] = []
        for row in self.store.iter_items(since=since, until=until, batch=batch):
            rows.append(row)
            if len(rows) >= batch:
                self._batch(ruleset, rows, now, result)
                rows = []
        if rows:
            self._batch(ruleset, rows, now, result)
        log.info("已重新评分 items=%d newly_matched=%d level_changed=%d incidents=%d "
                 "alerts=%d version=%s", result.items, result.newly_matched,
                 result.level_changed, result.incidents_opened, result.alerts,
                 ruleset.version)
        return result

    def _batch(self, ruleset: Ruleset, rows: list[Item], now: datetime,
               result: RescoreResult) -> None:
        stored = self.store.stored_rule_hits([r.id for r in rows])
        changes = []
        evaluations = {}
        untoned = [r for r in rows if r.tone is None]
        read = self.tones.tones([tone_text(r.title, r.body) for r in untoned],
                                cut=ruleset.cut) \
            if self.tones is not None and untoned else None
        new_tones: dict[int, Tone] = {}
        if read is not None:
            new_tones = {r.id: t for r, t in zip(untoned, read[0], strict=True)}
        for row in rows:            # evaluate before the write transaction opens
            ev = ruleset.evaluate(title=row.title, body=row.body,
                                  tone=signal_of(row, new_tones.get(row.id)))
            before = {"score": row.score, "level": row.level,
                      "rules": sorted(stored.get(row.id, set())),
                      "ruleset": row.ruleset_version}
            after = {"score": ev.score, "level": ev.level,
                     "rules": sorted(m.rule for m in ev.matches)}
            result.items += 1
            if {k: before[k] for k in after} != after:
                changes.append(_Change(row, before, after))
                evaluations[row.id] = ev
        with self.store.tx():
            if read is not None:
                for item_id, tone in new_tones.items():
                    self.store.save_tone(item_id, tone, model=read[1])
            for c in changes:
                self.store.log_event("item.rescored", str(c.item.id), now=now, data={
                    "from": c.before, "to": c.after, "ruleset": ruleset.version})
                self.store.save_evaluation(c.item.id, evaluations[c.item.id],
                                           version=ruleset.version, now=now)
                result.newly_matched += bool(set(c.after["rules"]) - set(c.before["rules"]))
                result.level_changed += c.after["level"] != c.before["level"]
            self._incidents(changes, now, result)

    def _incidents(self, changes: list[_Change], now: datetime,
                   result: RescoreResult) -> None:
        """The items that rose to an incident level: recent ones alert, old ones do not."""
        rising = [c.item for c in changes if opens_incident(c.after["level"])
                  and level_rank(c.after["level"]) > level_rank(c.before["level"])]
        cutoff = now - self.alert_within
        recent = [i.id for i in rising if (i.when or now) >= cutoff]
        old = [i.id for i in rising if (i.when or now) < cutoff]
        if recent:
            events = self.intake.absorb_ids(recent, now, why=WHY)
            result.incidents_opened += _opened(events)
            result.alerts += self.planner.plan(events, now)
        if old:
            events = self.intake.absorb_ids(old, now, why=f"{WHY}（条目较早，不提醒）")
            result.incidents_opened += _opened(events)
            result.quiet += len(old)
            for e in events:
                if e.kind == "opened":
                    self.store.add_silence("incident", str(e.incident_id), until=now + QUIET_FOR,
                                           note=QUIET_NOTE, actor="system", now=now)


def _opened(events: list[IncidentEvent]) -> int:
    return sum(1 for e in events if e.kind == "opened")
