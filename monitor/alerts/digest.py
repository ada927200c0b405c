"""Messages that gather others: the digest of held (info/blue) alerts sent at
``[alerts] digest_times``, and the summary a recipient gets of the alerts their rate
cap held back, once the cap allows another message."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ..durations import describe_duration
from ..incidents.tone import incident_tones
from ..models import Delivery, Incident
from ..timefmt import zone
from .channels import targets_of
from .links import incident_url
from .plan import Planner
from .render import render_digest, render_summary
from .routing import quiet_until

log = logging.getLogger(__name__)

MARK = "digest"


def digest_slot(times: list[str], last: datetime, now: datetime) -> datetime | None:
    """The latest digest time in ``(last, now]`` (times of day in the display zone)."""
    local_now = now.astimezone(zone())
    best = None
    for back in range(0, 8):
        day = (local_now - timedelta(days=back)).date()
        for t in times:
            h, m = (int(x) for x in t.split(":"))
            slot = datetime(day.year, day.month, day.day, h, m, tzinfo=zone())
            if last < slot <= now and (best is None or slot > best):
                best = slot
        if best is not None:
            return best
    return None


def _group(rows: list[Delivery]) -> dict[tuple[str, str], list[Delivery]]:
    groups: dict[tuple[str, str], list[Delivery]] = {}
    for row in rows:
        groups.setdefault((row.recipient, row.channel), []).append(row)
    return groups


def _incidents(planner: Planner, rows: list[Delivery]) -> list[Incident]:
    ids = list(dict.fromkeys(r.incident_id for r in rows if r.incident_id is not None))
    found = planner.store.get_incidents(ids)
    return [found[i] for i in ids if i in found]


def queue_digests(planner: Planner, now: datetime) -> int:
    """At a digest time, one digest per recipient and channel of what was held."""
    store, config = planner.store, planner.config
    last = store.mark(MARK)
    if last is None:   # the first tick ever: digest times count from now on
        store.set_mark(MARK, now)
        return 0
    slot = digest_slot(config.alerts.digest_times, last, now)
    if slot is None:
        return 0
    written = 0
    with store.tx():
        for (name, channel), rows in _group(store.deliveries_with_status("held")).items():
            incidents = _incidents(planner, rows)
            staff = config.person(name)
            target = next((t for t in targets_of(staff, config) if t.channel == channel),
                          None) if staff else None
            if incidents and target is not None:
                pairs = [(inc, incident_url(config, inc.id, name, now=now)) for inc in incidents]
                message = render_digest(pairs, since=last, now=now,
                                        tones=incident_tones(store, [i.id for i in incidents]))
                due = quiet_until(config, name, [], now) or now
                if store.add_delivery(kind="digest", recipient=name, channel=channel,
                                      message=message, target=target.key(),
                                      dedup_key=f"digest:{slot.isoformat()}:{name}:{channel}",
                                      due_at=due, now=now):
                    written += 1
            store.set_delivery_status([r.id for r in rows], "digested",
                                      note=f"已并入 {slot.astimezone(zone()):%H:%M} 的汇总")
        store.set_mark(MARK, now)
    if written:
        log.info("已安排汇总 rows=%d slot=%s", written, slot.isoformat())
    return written


def queue_summaries(planner: Planner, now: datetime) -> int:
    """A summary of the alerts over a recipient's rate cap, once the cap allows."""
    store, config = planner.store, planner.config
    cap = config.alerts.rate_cap
    if cap is None:
        return 0
    written = 0
    with store.tx():
        for (name, channel), rows in _group(store.deliveries_with_status("capped")).items():
            if store.recipient_alerts_since(name, now - timedelta(seconds=cap.per)) >= cap.count:
                continue
            staff = config.person(name)
            target = next((t for t in targets_of(staff, config) if t.channel == channel),
                          None) if staff else None
            incidents = _incidents(planner, rows)
            if incidents and target is not None:
                message = render_summary(name, incidents, window=describe_duration(cap.per),
                                         now=now,
                                         tones=incident_tones(store, [i.id for i in incidents]))
                if store.add_delivery(kind="summary", recipient=name, channel=channel,
                                      message=message, target=target.key(),
                                      dedup_key=f"summary:{rows[0].id}:{name}:{channel}",
                                      due_at=now, now=now):
                    written += 1
            store.set_delivery_status([r.id for r in rows], "digested", note="已并入频率汇总")
    return written
