"""Parse and format the short durations used in config and rules ("30s", "15m", "2h", "1d",
and for retention periods "730d" or "2y"; a year is 365 days, ``m`` is always minutes)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdy])\s*$")


def parse_duration(value: str | int | float) -> float:
    """``"15m"`` -> ``900.0``. Bare numbers are seconds. Raises ``ValueError`` (Chinese message)."""
    if isinstance(value, bool):
        raise ValueError("时长应写成 数字+单位，例如 30s、15m、2h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("时长不能为负数")
        return float(value)
    m = _RE.match(str(value))
    if not m:
        raise ValueError(f"无法识别的时长 {value!r}：应写成 数字+单位（s/m/h/d/y），例如 30s、15m、2h、730d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def format_duration(seconds: float) -> str:
    """``900`` -> ``"15m"``; the inverse of :func:`parse_duration` for whole units."""
    s = float(seconds)
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{int(s // size)}{unit}"
    return f"{int(s)}s" if s == int(s) else f"{s}s"


def describe_duration(seconds: float) -> str:
    """A duration for people, in Chinese: ``"2 小时 5 分钟"``, ``"40 秒"``."""
    s = max(0, round(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "天"), (hours, "小时"), (minutes, "分钟"))
             if n]
    if not parts or (secs and not days and not hours):
        parts.append(f"{secs} 秒")
    return " ".join(parts[:2])
