"""Times, said once: the default zone, times for people and for JSON, dates typed by people.

Everything a person reads (CLI text, log lines, and later messages, reports and the
console) shows times in the display zone (``[display] timezone``, default Beijing time),
through :func:`for_people` (in log lines' ``key=value`` fields, :func:`for_log`: the same
zone as one token); JSON keeps ISO 8601 with its UTC offset (:func:`for_json`).
A date typed without an offset (``--since 2026-12-02``) is read in the same zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def read_time(value: str) -> datetime:
    """``YYYY-MM-DD`` or a full ISO 8601 time as typed by a person; without an offset it is
    read in the display zone. Raises ``ValueError``."""
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone())
    return dt.astimezone(UTC)
