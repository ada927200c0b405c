"""Feed dates -> timezone-aware UTC datetimes.

Dates (``parse_date``): RFC 822 (also with Chinese weekday/month names), ISO 8601,
``2020/1/10 14:33:00``, ``2020-01-10 14:33``, ``2020年1月10日 14:33``, date-only and Unix
timestamps. **A date without a UTC offset is taken to be local time in the feed's
``timezone`` (default Asia/Shanghai), because Chinese sites publish local time without an
offset.** ``CST`` means China Standard Time (+08:00) when that zone is UTC+8, otherwise US
Central. Results are timezone-aware UTC. Our own parser reads the raw date string first
(feedparser reads offset-less times as UTC and ``2020/1/10`` as 1 November); feedparser's
parsed tuple is the fallback. ``parse_date`` only reads dates; whether one is believed
(not before 1990, not more than a day after the fetch time ``now``) is decided once, for
every source, by ``monitor.finish.check_date``.
"""

from __future__ import annotations

import calendar
import email.utils
import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

try:  # feedparser's own date parsers: the last resort for exotic formats
    from feedparser.datetimes import _parse_date as _feedparser_date
except ImportError:  # pragma: no cover - private API moved
    def _feedparser_date(value: str) -> Any:
        return None

from ..timefmt import DEFAULT_TIMEZONE
from ..timefmt import zone as time_zone

log = logging.getLogger(__name__)

_CN_MONTHS = {"十二": 12, "十一": 11, "十": 10, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAY = re.compile(r"[(（]?(?:星期|礼拜|禮拜|周|週)[一二三四五六日天][)）]?\s*,?\s*")
_CN_YMD = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?")
_CN_HMS = re.compile(r"(\d{1,2})\s*[时時点點]\s*(?:(\d{1,2})\s*分)?(?:\s*(\d{1,2})\s*秒)?")
_CN_MONTH = re.compile(r"(十二|十一|十|[一二三四五六七八九])\s*月|(\d{1,2})\s*月")
_AMPM = re.compile(r"(上午|凌晨|早上|中午|下午|晚上|傍晚|AM|PM)", re.IGNORECASE)
_NUMERIC = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?)?(Z)?$")



def parse_date(value: str | None, tz: str = DEFAULT_TIMEZONE) -> datetime | None:
    """Parse a feed date into a timezone-aware UTC datetime, or ``None`` if unreadable.

    A date without an offset is local time in ``tz`` (default Asia/Shanghai: Chinese sites
    publish local time without an offset). See the module docstring for the formats.
    """
    if not value or not isinstance(value, str):
        return None
    s = unicodedata.normalize("NFKC", value).strip()[:100]
    if not s:
        return None
    zone = time_zone(tz)
    try:
        result = _parse_local(s, zone)
        if result is None:
            struct = _feedparser_date(s)
            result = _from_struct(struct) if struct else None
        return None if result is None else result.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_local(s: str, zone: ZoneInfo) -> datetime | None:
    if s.isdigit() and len(s) in (10, 13):
        return datetime.fromtimestamp(int(s[:10]), UTC)
    pm = None
    if (m := _AMPM.search(s)) is not None:
        pm = m.group(1).lower() in ("下午", "晚上", "傍晚", "pm", "中午")
        s = _AMPM.sub(" ", s)
    beijing = "北京时间" in s or "北京時間" in s
    s = s.replace("北京时间", " ").replace("北京時間", " ")
    s = _WEEKDAY.sub("", s)
    s = _CN_YMD.sub(lambda m: f"{m[1]}-{m[2]}-{m[3]} ", s)
    s = _CN_HMS.sub(lambda m: f"{m[1]}:{m[2] or '00'}" + (f":{m[3]}" if m[3] else ""), s)
    s = re.sub(r"\s+", " ", s).strip()
    if re.search(r"\bCST$", s):
        china = zone.utcoffset(datetime(2020, 1, 1)) == timedelta(hours=8)
        s = s[:-3] + ("+0800" if china else "-0600")
    if beijing and not re.search(r"([+-]\d{2}:?\d{2}|Z|GMT|UTC)$", s):
        s += " +0800"
    dt = _numeric(s, zone) or _rfc822(s, zone)
    if dt is not None and pm is not None and dt.hour < 12 and pm:
        dt += timedelta(hours=12)
    return dt


def _numeric(s: str, zone: ZoneInfo) -> datetime | None:
    m = _NUMERIC.match(s) or _COMPACT.match(s)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, off = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    if not off:
        return dt.replace(tzinfo=zone)
    off = off.upper()
    if off in ("Z", "UTC", "GMT"):
        return dt.replace(tzinfo=UTC)
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return dt.replace(tzinfo=UTC) - sign * delta


def _rfc822(s: str, zone: ZoneInfo) -> datetime | None:
    def month(m: re.Match[str]) -> str:
        n = _CN_MONTHS[m[1]] if m[1] else int(m[2])
        return f" {_EN_MONTHS[n - 1]} " if 1 <= n <= 12 else m[0]

    s = _CN_MONTH.sub(month, s)
    if not re.search(r"[A-Za-z]{3}", s):
        return None
    s = re.sub(r"\s+", " ", s).strip()
    parsed = email.utils.parsedate_tz(s)
    if parsed is None and not re.search(r"\d:\d", s):
        parsed = email.utils.parsedate_tz(s + " 00:00:00")  # date only
    if parsed is None:
        return None
    dt = datetime(*parsed[:6])
    last = s.rsplit(" ", 1)[-1]
    has_zone = re.fullmatch(r"[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}", last) and last[:3].title() not in _EN_MONTHS
    if not has_zone:
        return dt.replace(tzinfo=zone)
    return dt.replace(tzinfo=UTC) - timedelta(seconds=parsed[9] or 0)


def _from_struct(struct: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (TypeError, ValueError, OverflowError):
        return None
