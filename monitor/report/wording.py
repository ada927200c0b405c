"""How the report writes a figure in Chinese: counts, shares, durations, dates and months (in
the display zone, Beijing time by default), level and outcome names. Pure functions, one
spelling for every renderer and chart."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..models import INCIDENT_STATUS_NAMES, LEVEL_NAMES, LEVELS, OUTCOMES
from ..timefmt import zone
from .stats import Period

INCIDENT_LEVELS: tuple[str, ...] = tuple(level for level in LEVELS if level != "info")  # blue..red


def num(n: int) -> str:
    """``1,234``: digits grouped by thousands, as in the figures of an official report."""
    return f"{n:,}"


def share(part: int, whole: int) -> str | None:
    """``12.5%`` (one decimal); None when there is no whole to divide by."""
    if whole <= 0:
        return None
    return f"{part * 100 / whole:.1f}%"


def ratio(value: float | None) -> str:
    """A share already divided (0..1) as ``97.5%``; ``—`` for none."""
    return "—" if value is None else f"{value * 100:.1f}%"


def duration(seconds: float | None) -> str:
    """``3小时25分钟``, ``40分钟``, ``不足1分钟``; ``—`` for none. Minutes are rounded."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "不足1分钟"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes}分钟"
    return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"


def local(dt: datetime) -> datetime:
    return dt.astimezone(zone())


def date_cn(dt: datetime, *, year: bool = True) -> str:
    """``2026年3月5日`` (or ``3月5日``) in the display zone."""
    d = local(dt)
    return f"{d.year}年{d.month}月{d.day}日" if year else f"{d.month}月{d.day}日"


def month_cn(month: str, *, year: bool = False) -> str:
    """``2026-03`` -> ``3月`` (or ``2026年3月``)."""
    y, m = month.split("-")
    return f"{int(y)}年{int(m)}月" if year else f"{int(m)}月"


def is_annual(period: Period) -> bool:
    """The period is one calendar year (Beijing), 1 January to 1 January."""
    since, until = local(period.since), local(period.until)
    return (since.month, since.day, since.hour, since.minute) == (1, 1, 0, 0) \
        and (until.month, until.day, until.hour, until.minute) == (1, 1, 0, 0) \
        and until.year == since.year + 1


def spans_years(period: Period) -> bool:
    """The period's days fall in more than one calendar year (dates then carry the year)."""
    last = local(period.until) - timedelta(microseconds=1)
    return local(period.since).year != last.year


def scope_word(period: Period) -> str:
    """``全年`` for a calendar year, ``本期`` otherwise."""
    return "全年" if is_annual(period) else "本期"


def level_name(level: str) -> str:
    """``较大（黄）`` for tables and legends."""
    return LEVEL_NAMES.get(level, level)


def level_short(level: str) -> str:
    """``较大`` for running prose."""
    return level_name(level).split("（")[0]


def level_prose(level: str) -> str:
    """``较大（黄色）级`` is heavy; prose uses ``较大（黄色）``."""
    name = level_name(level)
    return name.replace("）", "色）") if "（" in name else name


def outcome_name(code: str | None, status: str | None = None) -> str:
    """The outcome of a resolved incident, or its state when it is not resolved."""
    if code:
        return OUTCOMES.get(code, code)
    if code is None and status is None:
        return "—"
    return INCIDENT_STATUS_NAMES.get(status or "", status or "—")


def listing(parts: list[str]) -> str:
    """``甲、乙、丙``."""
    return "、".join(parts)
