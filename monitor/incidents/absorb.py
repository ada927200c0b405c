"""Pure decisions about one incident: the level an item or a spread brings it to, the
title and category it takes, and the response clocks of a level. No I/O, ``now=`` given.

A level never falls here: a higher-level item lifts the incident to that level, and
each spread step (``[[incidents.spread]]``: so many distinct sources within a window)
lifts it one level more, once; only staff lower a level, by hand and with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import AlertsConfig, SpreadStep
from ..durations import describe_duration
from ..models import LEVEL_NAMES, LEVELS, Item, StoredMatch, level_rank

INCIDENT_MIN_LEVEL = "blue"   # items below stay records


def opens_incident(level: str | None) -> bool:
    return level_rank(level) >= level_rank(INCIDENT_MIN_LEVEL)


def higher(a: str, b: str | None) -> str:
    return b if b is not None and level_rank(b) > level_rank(a) else a


def step_up(level: str, steps: int) -> str:
    """``level`` raised by ``steps`` levels, at most red."""
    return LEVELS[min(len(LEVELS) - 1, level_rank(level) + steps)]


def top_match(matches: Sequence[StoredMatch]) -> StoredMatch | None:
    """The match that names the incident's category: highest level, then weight."""
    if not matches:
        return None
    return max(matches, key=lambda m: (level_rank(m.level), m.weight or 0))


def incident_title(item: Item) -> str:
    title = " ".join(item.title.split())
    if title:
        return title[:200]
    body = " ".join(item.body.split())
    return (body[:60] + "…") if len(body) > 60 else (body or "（无标题）")


@dataclass(frozen=True)
class Spread:
    """Spread steps reached: how many, and the words that say why."""

    steps: int
    reason: str | None


def spread_reached(steps: Sequence[SpreadStep], counts: Sequence[int]) -> Spread:
    """How many spread steps the incident has reached, given ``counts[i]``: the distinct
    sources seen within ``steps[i].within``. Steps count in the order configured, each
    only once all before it are reached."""
    reached = 0
    reason = None
    for step, count in zip(steps, counts, strict=True):
        if count < step.sources:
            break
        reached += 1
        reason = f"传播扩散：{describe_duration(step.within)}内已有 {count} 个来源"
    return Spread(reached, reason)


@dataclass(frozen=True)
class LevelChange:
    level: str
    reason: str | None
    spread_steps: int


def level_after(current: str, *, item_level: str | None, spread_done: int,
                spread: Spread) -> LevelChange:
    """The incident's level once an item of ``item_level`` joined and the spread is
    ``spread`` (``spread_done``: steps that already raised it). Never lower than now."""
    level, reason = current, None
    if item_level is not None and level_rank(item_level) > level_rank(level):
        level = item_level
        reason = f"新条目级别为{LEVEL_NAMES[item_level]}"
    extra = spread.steps - spread_done
    if extra > 0:
        raised = step_up(level, extra)
        if raised != level:
            level, reason = raised, spread.reason
    return LevelChange(level, reason, max(spread.steps, spread_done))


@dataclass(frozen=True)
class Clocks:
    ack_due_at: datetime | None
    respond_due_at: datetime | None


def clocks_for(level: str, since: datetime, settings: AlertsConfig, *,
               current: Clocks | None = None) -> Clocks:
    """The acknowledgement and response deadlines of ``level`` counted from ``since``;
    an earlier deadline already running (``current``) is kept."""
    def due(within: Mapping[str, float], now_due: datetime | None) -> datetime | None:
        seconds = within.get(level)
        new = since + timedelta(seconds=seconds) if seconds else None
        if now_due is None:
            return new
        return min(now_due, new) if new else now_due

    cur = current or Clocks(None, None)
    return Clocks(due(settings.ack_within, cur.ack_due_at),
                  due(settings.respond_within, cur.respond_due_at))
