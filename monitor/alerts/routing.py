"""Who hears about an incident: the ``[[routes]]`` that match its categories and level,
with duty rosters (``[[duty]]``) resolved to the staff on duty that day, each recipient
once however many routes name them; and the quiet hours that apply to a recipient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from ..config import Config, DutyConfig, RouteConfig
from ..models import level_rank
from ..timefmt import zone


@dataclass
class Recipient:
    name: str
    routes: list[int] = field(default_factory=list)   # indexes of the routes naming them


def route_matches(route: RouteConfig, categories: Iterable[str], level: str) -> bool:
    cats = set(categories)
    wanted = set(route.categories)
    return level_rank(level) >= level_rank(route.min_level) and (
        "*" in wanted or bool(wanted & cats))


def on_duty(duty: DutyConfig, now: datetime) -> list[str]:
    """The staff on duty at ``now`` (the day in the display zone): a dated shift covering
    the day wins over weekday shifts; nobody covering it means the fallback."""
    day = now.astimezone(zone()).date()
    dated = [s for s in duty.shifts if s.start and s.end and s.start <= day <= s.end]
    if dated:
        return _unique(n for s in dated for n in s.staff)
    weekly = [s for s in duty.shifts if day.isoweekday() in s.weekdays]
    if weekly:
        return _unique(n for s in weekly for n in s.staff)
    return list(duty.fallback)


def expand(config: Config, names: Iterable[str], now: datetime) -> list[str]:
    """Staff names, with roster names replaced by who is on duty."""
    rosters = {d.name: d for d in config.duty}
    out: list[str] = []
    for name in names:
        out.extend(on_duty(rosters[name], now) if name in rosters else [name])
    return _unique(out)


def recipients(config: Config, categories: Iterable[str], level: str, now: datetime
               ) -> list[Recipient]:
    """Everyone the matching routes notify, in route order, each once."""
    cats = list(categories)
    found: dict[str, Recipient] = {}
    for i, route in enumerate(config.routes):
        if not route_matches(route, cats, level):
            continue
        for name in expand(config, route.notify, now):
            found.setdefault(name, Recipient(name)).routes.append(i)
    return list(found.values())


def quiet_until(config: Config, recipient: str, routes: Iterable[int], now: datetime
                ) -> datetime | None:
    """When the quiet hours in force for this recipient at ``now`` end (theirs, their
    routes', everyone's), or ``None`` when it is not quiet for them."""
    spans = list(config.alerts.quiet_hours)
    person = config.person(recipient)
    if person is not None:
        spans += person.quiet_hours
    for i in routes:
        spans += config.routes[i].quiet_hours
    ends = [end for span in spans if (end := _quiet_end(span, now)) is not None]
    return max(ends) if ends else None


def _quiet_end(span: str, now: datetime) -> datetime | None:
    start_s, end_s = span.split("-")
    local = now.astimezone(zone())
    start, end = _clock(start_s), _clock(end_s)
    today = local.date()
    t = local.time()
    if start < end:                              # 12:00-14:00
        if start <= t < end:
            return datetime.combine(today, end, local.tzinfo)
        return None
    if t >= start:                               # 22:00-07:00, before midnight
        return datetime.combine(today + timedelta(days=1), end, local.tzinfo)
    if t < end:                                  # after midnight
        return datetime.combine(today, end, local.tzinfo)
    return None


def _clock(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
