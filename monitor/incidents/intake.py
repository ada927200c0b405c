"""Scored items into incidents: each item at blue or above joins the incident that
already tells its story (the same link, an edit of an item in it, or a near-duplicate
signature seen within ``[incidents] window``), or opens a new one.

Runs inside the caller's write transaction (the alerts planner writes its deliveries in
the same one) and returns what the recipients must hear about: incidents that opened,
and incidents whose level rose (a higher-level item joined, or the story spread).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ..config import Config
from ..models import LEVEL_NAMES, Incident, IncidentEvent, Item
from ..store import Store
from .absorb import (
    Clocks,
    clocks_for,
    higher,
    incident_title,
    level_after,
    opens_incident,
    spread_reached,
    top_match,
)
from .similarity import DEFAULT_THRESHOLD, Signature, bucket_keys, signature, similarity

log = logging.getLogger(__name__)


class Intake:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.threshold = config.incidents.similarity or DEFAULT_THRESHOLD
        self.comparisons = 0   # signatures compared so far (the clustering benchmark's measure)

    def absorb_ids(self, item_ids: list[int], now: datetime, *, why: str | None = None
                   ) -> list[IncidentEvent]:
        """Absorb the stored (and scored) items with these ids; ``why`` (e.g. found by
        re-scoring) goes on each item's step in the incident's log."""
        items = self.store.get_items(item_ids)
        matches = self.store.matches_of(item_ids)
        chosen = []
        for item_id in item_ids:
            item = items.get(item_id)
            if item is None or item.deleted or not opens_incident(item.level):
                continue
            item.matches = matches.get(item_id, [])
            chosen.append(item)
        return self.absorb(chosen, now, why=why)

    def absorb(self, items: list[Item], now: datetime, *, why: str | None = None
               ) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        with self.store.tx():
            for item in items:
                event = self._absorb_one(item, now, why)
                if event is not None:
                    events.append(event)
        return events

    # ---- one item -----------------------------------------------------------------------
    def _absorb_one(self, item: Item, now: datetime, why: str | None = None
                    ) -> IncidentEvent | None:
        seen = min(item.when or now, now)
        # windows count back from the item's own date (a backlog fetched late clusters
        # as it happened)
        since = seen - timedelta(seconds=self.config.incidents.window)
        sig = signature(item.title, item.body)
        keys = bucket_keys(sig)
        incident_id, how, score = self._find(item, sig, keys, since)
        if incident_id is None:
            return self._open(item, sig, keys, seen, now, why)
        return self._join(incident_id, item, sig, keys, seen, now, how, score, why)

    def _find(self, item: Item, sig: Signature, keys: list[str], since: datetime
              ) -> tuple[int | None, str, float | None]:
        """The incident this item belongs to, how it was found, and the similarity."""
        known = self.store.incident_of_item(item.id)
        if known is not None:                      # a changed item scored again
            return known, "revision", None
        if item.revision_of is not None:
            earlier = self.store.incident_of_item(item.revision_of)
            if earlier is not None:
                return earlier, "revision", None
        if item.link:
            by_link = self.store.incident_by_link(item.link, since)
            if by_link is not None:
                return by_link, "link", None
        best: tuple[int | None, float] = (None, 0.0)
        for incident_id, dumped in self.store.incident_candidates(keys, since).items():
            for text in dumped:
                self.comparisons += 1
                value = similarity(sig, Signature.load(text))
                if value > best[1]:
                    best = (incident_id, value)
        if best[0] is not None and best[1] >= self.threshold:
            return best[0], "similar", round(best[1], 3)
        return None, "opened", None

    def _open(self, item: Item, sig: Signature, keys: list[str], seen: datetime,
              now: datetime, why: str | None = None) -> IncidentEvent:
        assert item.level is not None
        top = top_match(item.matches)
        rules = sorted({m.rule for m in item.matches})
        categories = sorted({m.category for m in item.matches})
        clocks = clocks_for(item.level, now, self.config.alerts)
        incident_id = self.store.create_incident({
            "title": incident_title(item), "category": top.category if top else "未分类",
            "level": item.level, "status": "open", "first_seen": seen, "last_seen": seen,
            "items": 1, "sources": 1, "rules": rules, "categories": categories,
            "link": item.link, "signature": sig.dump(), "opened_at": now,
            "awaiting_since": now, "ack_due_at": clocks.ack_due_at,
            "respond_due_at": clocks.respond_due_at,
            "level_reason": f"首条条目级别为{LEVEL_NAMES[item.level]}",
        })
        self.store.add_incident_item(incident_id, item_id=item.id, feed=item.feed,
                                     level=item.level, how="opened", similarity=None,
                                     seen_at=seen, now=now, keys=keys, signature=sig.dump())
        self.store.log_step(incident_id, "opened", now=now, level=item.level, item_id=item.id,
                            note=_with_why(f"来源：{item.feed}", why))
        log.info("新舆情事件 incident=%s level=%s category=%s item=%s feed=%s", incident_id,
                 item.level, top.category if top else "-", item.id, item.feed)
        return IncidentEvent(incident_id, "opened", item.level, item_id=item.id)

    def _join(self, incident_id: int, item: Item, sig: Signature, keys: list[str],
              seen: datetime, now: datetime, how: str, score: float | None,
              why: str | None = None) -> IncidentEvent | None:
        assert item.level is not None
        inc = self.store.get_incident(incident_id)
        self.store.add_incident_item(incident_id, item_id=item.id, feed=item.feed,
                                     level=item.level, how=how, similarity=score, seen_at=seen,
                                     now=now, keys=keys, signature=sig.dump())
        sources = self.store.incident_sources(incident_id)
        steps = self.config.incidents.spread
        counts = [len(self.store.incident_sources(incident_id, since=seen - timedelta(
            seconds=s.within))) for s in steps]
        change = level_after(inc.level, item_level=item.level,
                             spread_done=self.store.spread_steps(incident_id),
                             spread=spread_reached(steps, counts))
        n_items = self.store.incident_item_count(incident_id)
        fields: dict[str, object] = {
            "items": n_items, "sources": len(sources),
            "first_seen": min(inc.first_seen or seen, seen),
            "last_seen": max(inc.last_seen or seen, seen),
            "rules": sorted(set(inc.rules) | {m.rule for m in item.matches}),
            "categories": sorted(set(inc.categories) | {m.category for m in item.matches}),
            "spread_steps": change.spread_steps,
        }
        if inc.first_seen is not None and seen < inc.first_seen:   # the original came late
            fields.update({"title": incident_title(item), "link": item.link})
        self.store.log_step(incident_id, "joined", now=now, level=item.level, item_id=item.id,
                            note=_with_why(_how_note(how, item.feed, score), why))
        rose = change.level != inc.level
        if rose:
            fields["level"] = change.level
            fields["level_reason"] = change.reason
            self._raise_clocks(inc, change.level, now, fields)
            if inc.status == "resolved":  # the story came back stronger: handle it again
                fields.update({"status": "open", "resolved_at": None, "resolved_by": None,
                               "outcome": None, "acknowledged_at": None,
                               "acknowledged_by": None, "awaiting_since": now})
                self.store.log_step(incident_id, "reopened", now=now, level=change.level,
                                    note=f"已办结的事件级别上升，自动重新打开：{change.reason}")
            self.store.log_step(incident_id, "raised", now=now, level=change.level,
                                item_id=item.id, note=change.reason,
                                data={"from": inc.level, "to": change.level})
        self.store.update_incident(incident_id, fields)
        log.info("条目并入舆情事件 incident=%s item=%s feed=%s how=%s items=%d sources=%d",
                 incident_id, item.id, item.feed, how, n_items, len(sources))
        if not rose:
            return None
        log.info("舆情事件级别上升 incident=%s from=%s to=%s reason=%s", incident_id, inc.level,
                 change.level, change.reason)
        return IncidentEvent(incident_id, "raised", change.level, previous=inc.level,
                             reason=change.reason, item_id=item.id)

    def _raise_clocks(self, inc: Incident, level: str, now: datetime,
                      fields: dict[str, object]) -> None:
        """A higher level may bring its deadlines closer (those still running)."""
        current = Clocks(None if inc.ack_clock else inc.ack_due_at,
                         None if inc.respond_clock else inc.respond_due_at)
        clocks = clocks_for(higher(inc.level, level), now, self.config.alerts, current=current)
        if inc.ack_clock is None and inc.acknowledged_at is None:
            fields["ack_due_at"] = clocks.ack_due_at
        if inc.respond_clock is None:
            fields["respond_due_at"] = clocks.respond_due_at


def _how_note(how: str, feed: str, score: float | None) -> str:
    if how == "link":
        return f"来源：{feed}（链接相同）"
    if how == "revision":
        return f"来源：{feed}（同一条目的修改）"
    return f"来源：{feed}（相似度 {score:.2f}）" if score is not None else f"来源：{feed}"


def _with_why(note: str, why: str | None) -> str:
    return f"{note}；{why}" if why else note
