"""Deciding who gets which message, apart from sending it: incident events become outbox
rows, one per recipient per channel, written in the caller's transaction (the one that
opened or raised the incident), so nothing is lost and nothing is planned twice.

On the way each row meets the noise controls, in this order: a silence in force mutes
it; a digest level holds it for the next digest; the recipient's rate cap holds it for
a summary; quiet hours delay blue and yellow (never orange or red) until they end. A row
that already exists for the same event, recipient and channel (its ``dedup_key``) is not
written again: a recipient named by several routes hears once, and an incident whose
level did not rise is never announced twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..incidents.tone import IncidentTone, item_tone, rows_tone
from ..models import Incident, IncidentEvent, level_rank
from ..store import Store
from .channels import targets_of
from .links import incident_url
from .render import Evidence, render_admin, render_incident, snippet
from .routing import Recipient, quiet_until, recipients

log = logging.getLogger(__name__)

QUIET_LEVELS = ("info", "blue", "yellow")     # quiet hours hold these back, never orange/red


class Planner:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store

    # ---- incident events ----------------------------------------------------------------
    def plan(self, events: Iterable[IncidentEvent], now: datetime) -> int:
        """Queue the deliveries of incidents that opened or rose; returns rows written."""
        written = 0
        with self.store.tx():
            for event in events:
                inc = self.store.get_incident(event.incident_id)
                key = "open" if event.kind == "opened" else f"lv-{event.level}"
                for person in recipients(self.config, [inc.category, *inc.categories],
                                         inc.level, now):
                    written += self.queue(event.kind, inc, person, now, event_key=key,
                                          item_id=event.item_id, note=event.reason,
                                          previous=event.previous)
        return written

    def queue(self, kind: str, inc: Incident, person: Recipient, now: datetime, *,
              event_key: str, item_id: int | None = None, note: str | None = None,
              previous: str | None = None, held_by_digest: bool = True) -> int:
        """Queue one message about ``inc`` for ``person`` on every channel they have."""
        staff = self.config.person(person.name)
        if staff is None:
            return 0
        status, due, why = self._gate(kind, inc, person, now, held_by_digest=held_by_digest)
        message = None
        written = 0
        for target in targets_of(staff, self.config):
            dedup = f"i{inc.id}:{event_key}:{person.name}:{target.channel}"
            if self.store.has_delivery(dedup):
                continue
            if message is None:
                evidence, tone = self.evidence_and_tone(inc, item_id)
                message = render_incident(
                    kind, inc, evidence, tone=tone,
                    sources=self.store.incident_sources(inc.id),
                    url=incident_url(self.config, inc.id, person.name, now=now), note=note,
                    previous=previous, now=now)
            if self.store.add_delivery(
                    kind=kind, recipient=person.name, channel=target.channel, message=message,
                    dedup_key=dedup, due_at=due, now=now, status=status,
                    incident_id=inc.id, level=inc.level, target=target.key(), note=why):
                written += 1
        if written:
            log.info("已安排告警 incident=%s kind=%s recipient=%s status=%s rows=%d", inc.id,
                     kind, person.name, status, written)
        return written

    def _gate(self, kind: str, inc: Incident, person: Recipient, now: datetime, *,
              held_by_digest: bool) -> tuple[str, datetime, str | None]:
        """(status, due time, why) of a new row under the noise controls."""
        silence = self.silence_for(inc, now)
        if silence is not None:
            return "muted", now, f"静默中：{silence['note']}"
        alerts = self.config.alerts
        if held_by_digest and inc.level in alerts.digest_levels:
            return "held", now, "等待汇总发送"
        cap = alerts.rate_cap
        if cap is not None and kind in ("opened", "raised") and self.store.recipient_alerts_since(
                person.name, now - timedelta(seconds=cap.per)) >= cap.count:
            return "capped", now, "超出频率上限，稍后合并发送"
        if inc.level in QUIET_LEVELS:
            until = quiet_until(self.config, person.name, person.routes, now)
            if until is not None:
                return "pending", until, "免打扰时段，结束后发送"
        return "pending", now, None

    def silence_for(self, inc: Incident, now: datetime) -> dict[str, Any] | None:
        for s in self.store.silences(now=now):
            if (s["scope"] == "incident" and s["value"] == str(inc.id)) or (
                    s["scope"] == "category" and s["value"] in {inc.category, *inc.categories}
            ) or (s["scope"] == "rule" and s["value"] in inc.rules):
                return s
        return None

    def evidence(self, inc: Incident, item_id: int | None, limit: int = 3) -> list[Evidence]:
        """The matched items shown in a message: the one that caused it first, then the
        earliest ones, each with its matched words in context and its tone."""
        return self.evidence_and_tone(inc, item_id, limit)[0]

    def evidence_and_tone(self, inc: Incident, item_id: int | None, limit: int = 3
                          ) -> tuple[list[Evidence], IncidentTone]:
        """:meth:`evidence`, and the incident's tone over all its items."""
        rows = self.store.incident_item_rows(inc.id)
        _, tone = rows_tone(rows)
        rows.sort(key=lambda r: (r["id"] != item_id, r["seen_at"], r["id"]))
        rows = rows[:limit]
        matches = self.store.matches_of([r["id"] for r in rows])
        out = []
        for r in rows:
            found = sorted(matches.get(r["id"], []),
                           key=lambda m: (-level_rank(m.level), -(m.weight or 0)))
            if not found:
                continue
            top = found[0]
            snippets = []
            for span in top.spans[:3]:
                text = r["title"] if span.get("field") == "title" else r["body"]
                snippets.append(snippet(text or "", int(span["start"]), int(span["end"])))
            when = r["published_at"] or r["fetched_at"]
            out.append(Evidence(
                feed=r["feed"], title=r["title"], link=r["link"],
                when=datetime.fromisoformat(when) if when else None, rule=top.rule,
                rule_name=top.name, category=top.category, level=top.level,
                snippets=snippets, tone=item_tone(r)))
        return out, tone

    # ---- the admins ---------------------------------------------------------------------
    def queue_admin(self, problem: str, title: str, detail: str, *, cleared: bool,
                    opened_at: datetime, now: datetime,
                    fields: dict[str, Any] | None = None, skip_target: str | None = None) -> int:
        """Tell every admin about a system problem (or that it cleared) on all their
        channels; once per problem and state (the key holds when the problem opened)."""
        message = render_admin(title, detail, cleared=cleared, now=now, fields=fields)
        state = "clear" if cleared else "open"
        written = 0
        with self.store.tx():
            for name in self.config.alerts.admins:
                staff = self.config.person(name)
                if staff is None:
                    continue
                for target in targets_of(staff, self.config):
                    if target.key() == skip_target:
                        continue
                    dedup = f"admin:{problem}:{opened_at.isoformat()}:{state}:{name}:{target.channel}"
                    if self.store.add_delivery(kind="admin", recipient=name,
                                               channel=target.channel, message=message,
                                               dedup_key=dedup, due_at=now, now=now,
                                               target=target.key()):
                        written += 1
        if written:
            log.warning("已通知管理员 problem=%s state=%s rows=%d", problem, state, written)
        return written
