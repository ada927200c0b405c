"""Times, said once: the default zone, times for people and for JSON, dates typed by people.

Everything a person reads (CLI text, log lines, and later messages, reports and the
console) shows times in the display zone (``[display] timezone``, default Beijing time),
through :func:`for_people` (in log lines' ``key=value`` fields, :func:`for_log`: the same
zone as one token); JSON keeps ISO 8601 with its UTC offset (:func:`for_json`).
A date typed without an offset (``--since 2026-12-02``) is read in the same zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"   # Chinese sites publish, and staff read, Beijing time
_display = DEFAULT_TIMEZONE


def zone(name: str | None = None) -> ZoneInfo:
    """The zone called ``name`` (the display zone when None); Beijing time if unknown."""
    return _zone(name or _display)


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def set_display_zone(name: str) -> None:
    """Use ``name`` for every time shown to people from now on (from the config)."""
    global _display
    _display = name


def _aware(dt: datetime) -> datetime:
    """A time without an offset is UTC (how the store and the clock give them)."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def for_people(dt: datetime | None, *, seconds: bool = False) -> str:
    """``2026-12-02 14:23`` in the display zone; ``—`` for no time."""
    if dt is None:
        return "—"
    dt = _aware(dt)
    return dt.astimezone(zone()).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def for_log(dt: datetime | None) -> str:
    """A time as a ``key=value`` field of a log line: the display zone, one token
    (``2026-12-02T14:23:05+08:00``), so log lines stay easy to grep and split."""
    if dt is None:
        return "-"
    dt = _aware(dt)
    return dt.astimezone(zone()).isoformat(timespec="seconds")


def for_json(dt: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset, second precision (also how the store keeps times)."""
    if dt is None:
        return None
    dt = _aware(dt)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


_RELATIVE = {"today": 0, "今天": 0, "yesterday": 1, "昨天": 1}


def read_time(value: str, *, now: datetime | None = None) -> datetime:
    """``YYYY-MM-DD``, a full ISO 8601 time, ``today``/``yesterday`` (今天/昨天: the start of
    that day in the display zone) or a span back from ``now`` (``24h``, ``7d``, ``30m``,
    ``2w``) as typed by a person; without an offset a time is read in the display zone.
    Raises ``ValueError``."""
    text = value.strip()
    if text.lower() in _RELATIVE or text in _RELATIVE:
        base = (now or datetime.now(UTC)).astimezone(zone())
        start = base.replace(hour=0, minute=0, second=0, microsecond=0)
        return (start - timedelta(days=_RELATIVE.get(text.lower(), _RELATIVE.get(text, 0)))
                ).astimezone(UTC)
    span = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhdw])", text.lower())
    if span:
        unit = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[span.group(2)]
        return (now or datetime.now(UTC)) - timedelta(seconds=float(span.group(1)) * unit)
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone())
    return dt.astimezone(UTC)
