"""Escalation and reminders of incidents nobody has acknowledged, queued by the daemon's
tick and by ``alerts flush``: past a route's ``escalate_after`` its ``escalate_to`` hear
of it (once per route and open period); every ``remind_every`` after that the route's
recipients (and those it escalated to) are reminded, until someone acknowledges.
Acknowledging cancels whatever is still queued (``monitor.alerts.handling``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ..models import Incident
from .plan import Planner
from .routing import Recipient, expand, route_matches

log = logging.getLogger(__name__)


def queue_escalations(planner: Planner, now: datetime) -> int:
    """Queue the escalations and reminders that are due; returns rows written."""
    config, store = planner.config, planner.store
    written = 0
    with store.tx():
        for inc in store.unacknowledged():
            since = inc.awaiting_since or inc.opened_at or now
            stamp = int(since.timestamp())
            waited = (now - since).total_seconds()
            for i, route in enumerate(config.routes):
                if not route_matches(route, [inc.category, *inc.categories], inc.level):
                    continue
                escalated = route.escalate_after is not None and waited >= route.escalate_after
                if escalated and route.escalate_to:
                    written += _escalate(planner, inc, i, stamp, now)
                every = route.remind_every if route.remind_every is not None \
                    else config.alerts.remind_every
                if every <= 0 or inc.level in config.alerts.digest_levels:
                    continue
                n = int(waited // every)
                if n >= 1:
                    written += _remind(planner, inc, i, route.notify, f"rem@{stamp}:{n}", n, now)
                if escalated and route.escalate_to:   # theirs count from the escalation
                    m = int((waited - (route.escalate_after or 0.0)) // every)
                    if m >= 1:
                        written += _remind(planner, inc, i, route.escalate_to,
                                           f"rem@{stamp}:e{m}", m, now)
    return written


def _remind(planner: Planner, inc: Incident, route: int, names: list[str], key: str, n: int,
            now: datetime) -> int:
    return sum(planner.queue("reminder", inc, Recipient(name, [route]), now, event_key=key,
                             held_by_digest=False, note=f"第 {n} 次提醒：仍无人认领")
               for name in expand(planner.config, names, now))


def _escalate(planner: Planner, inc: Incident, route: int, stamp: int, now: datetime) -> int:
    config, store = planner.config, planner.store
    key = f"esc{route}@{stamp}"
    first = not store.has_deliveries_like(f"i{inc.id}:{key}:")
    after = config.routes[route].escalate_after or 0.0
    written = 0
    for name in expand(config, config.routes[route].escalate_to, now):
        written += planner.queue("escalation", inc, Recipient(name, [route]), now,
                                 event_key=key, held_by_digest=False,
                                 note=f"超过 {timedelta(seconds=after)} 无人认领，已升级")
    if first and written:
        names = "、".join(expand(config, config.routes[route].escalate_to, now))
        store.log_step(inc.id, "escalated", now=now, level=inc.level,
                       note=f"无人认领，已升级通知：{names}")
        log.warning("舆情事件无人认领，已升级 incident=%s route=%d to=%s", inc.id, route, names)
    return written
