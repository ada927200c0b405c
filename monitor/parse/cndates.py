"""Dates as Chinese sites write them, relative to an injected ``now`` in the feed's
timezone: :func:`parse_cn_date`.

It reads, in this order (the first that fits wins):

1. the feed's own ``date_format`` (a strptime format; a format without a year means the
   most recent such date);
2. Unix seconds, milliseconds or microseconds (int, float or a string of digits);
3. Weibo's ``Tue Feb 23 12:28:47 +0800 2021``;
4. relative dates: ``刚刚``, ``3分钟前``, ``半小时前``, ``三天前``, ``2周前``, ``3个月前``,
   ``今天 08:00``, ``昨天 14:20``, ``前天``;
5. absolute dates: ``2020-7-30 10:20``, ``2024年3月5日``, ``2019-12`` (a month), and the
   year-less ``3月5日``, ``7-3``, ``03-05 10:20`` (the most recent such date not in the
   future) and ``08:52`` (today, or yesterday if today's would be in the future);
6. anything else with a year in it (ISO 8601, RFC 822 …) through :func:`.dates.parse_date`.

Labels (``发布日期：``, ``发表于``, ``更新时间:``, ``时间：``), weekdays and brackets are
dropped first, full-width digits and colons normalised (NFKC: a no-break space becomes a
space), ``下午3:20`` read as 15:20. "In the future" allows five minutes of clock skew
between the site and us. A date without an offset is wall-clock time in ``tz``. The
result is timezone-aware UTC, or None for a text that holds no date; it never raises.
dateparser is not used: it reads ``03-05 10:20`` as 2003-05-10.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo

from ..timefmt import zone as time_zone
from .dates import parse_date

SKEW = timedelta(minutes=5)        # a site's clock a little ahead of ours is not "future"
_MAX_TEXT = 200

_LABEL = re.compile(
    r"(?:(?:发布|发表|更新|修改|创建|回复|最后回复|最后更新|录入|上传|发帖|提交|留言|答复|回复|"
    r"办结|受理|成文|印发|出版|刊登|采集)?(?:日期|时间|時間)|(?:发布|发表|更新|回复|写|发)于|"
    r"\b(?:published|updated|posted|date|time)(?:\s+on)?\b)\s*[:：]?", re.IGNORECASE)
_WEEKDAY = re.compile(r"[(（\[]?\s*(?:星期|礼拜|禮拜|周|週)[一二三四五六日天]\s*[)）\]]?")
_BRACKETS = re.compile(r"[\[\]【】()（）<>《》|｜]")
_BEIJING = re.compile(r"北京[时時]间")
_CN_CLOCK = re.compile(r"(\d{1,2})\s*[点點时時]\s*(?:(\d{1,2})\s*分)?(?:\s*(\d{1,2})\s*秒)?")
_HALF_DAY = re.compile(r"(上午|凌晨|早上|早晨|中午|下午|晚上|傍晚|夜里|夜間)\s*(\d{1,2})(?=:)")
_PM = {"下午": 12, "晚上": 12, "傍晚": 12, "夜里": 12, "夜間": 12}

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"\d+|[零〇一二两兩三四五六七八九十百]+|半"
_UNITS: dict[str, str] = {
    "秒": "seconds", "秒钟": "seconds", "秒鐘": "seconds",
    "分": "minutes", "分钟": "minutes", "分鐘": "minutes",
    "小时": "hours", "个小时": "hours", "個小時": "hours", "小時": "hours", "钟头": "hours",
    "个钟头": "hours",
    "天": "days", "日": "days",
    "周": "weeks", "週": "weeks", "星期": "weeks", "个星期": "weeks", "個星期": "weeks",
    "礼拜": "weeks", "个礼拜": "weeks",
    "月": "months", "个月": "months", "個月": "months",
    "年": "years",
}
_AGO = re.compile(
    rf"({_NUMBER})\s*({'|'.join(sorted(_UNITS, key=len, reverse=True))})\s*(?:之前|以前|前)")
_JUST_NOW = re.compile(r"刚刚|剛剛|刚才|剛才|just now", re.IGNORECASE)
_DAY_WORD = re.compile(
    r"(今天|今日|昨天|昨日|前天|前日)\s*(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DAYS_BACK = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "前日": 2}
_TIME = r"(?:\s*T?\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
_YMD = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号號]?"
                  + _TIME + r"(?!\d)")
_YM = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_MD = re.compile(r"(\d{1,2})\s*(?:[-/]|月)\s*(\d{1,2})\s*[日号號]?" + _TIME)
_HM = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_WEIBO = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d{1,2}:\d{2}:\d{2} [+-]\d{4} \d{4}")
_EPOCH = re.compile(r"\d{9,10}(?:\.\d+)?|\d{12,13}|\d{15,16}")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def parse_cn_date(text: str | int | float | None, *, now: datetime, tz: str = "Asia/Shanghai",
                  fmt: str | None = None) -> datetime | None:
    """A timezone-aware UTC datetime, or None when ``text`` holds no usable date.

    ``now`` (aware; naive means UTC) is the reference for relative and year-less dates,
    read as wall-clock time in ``tz``; ``fmt`` is the feed's strptime format, tried first.
    """
    if text is None or isinstance(text, bool):
        return None
    zone = time_zone(tz)
    local_now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(zone)
    try:
        if isinstance(text, int | float):
            return _epoch(float(text))
        found = _parse(str(text)[:_MAX_TEXT], local_now, zone, fmt)
    except (ValueError, OverflowError, OSError):
        return None
    return None if found is None else found.astimezone(UTC)


def _parse(raw: str, now: datetime, zone: tzinfo, fmt: str | None) -> datetime | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    if fmt:
        for candidate in dict.fromkeys((raw.strip(), text, _clean(text))):
            if (dt := _with_format(candidate, fmt, now, zone)) is not None:
                return dt
    if _EPOCH.fullmatch(text):
        return _epoch(float(text))
    if _WEIBO.fullmatch(text):
        return _weibo(text)
    if _BEIJING.search(text):
        zone = time_zone("Asia/Shanghai")
        now = now.astimezone(zone)
    s = _clean(text)
    for rule in _RULES:
        if (dt := rule(s, now, zone)) is not None:
            return dt
    return parse_date(text, getattr(zone, "key", "Asia/Shanghai")) if _YEAR.search(s) else None


def _clean(text: str) -> str:
    """Labels, weekdays, brackets and 北京时间 dropped; 10点20分 as 10:20, 下午3:20 as 15:20."""
    s = _BEIJING.sub(" ", text)
    s = _WEEKDAY.sub(" ", s)
    s = _LABEL.sub(" ", s)
    s = _BRACKETS.sub(" ", s)
    s = _CN_CLOCK.sub(lambda m: f"{m[1]}:{m[2] or '00'}" + (f":{m[3]}" if m[3] else ""), s)
    s = _HALF_DAY.sub(_half_day, s)
    return re.sub(r"\s+", " ", s).strip(" ,;，；:·-")


def _half_day(m: re.Match[str]) -> str:
    word, hour = m[1], int(m[2])
    if (word in _PM and hour < 12) or (word == "中午" and hour < 11):
        hour += 12
    elif word == "凌晨" and hour == 12:
        hour = 0
    return str(hour)


# ---- the rules, in order ---------------------------------------------------------------

def _just_now(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    return now if _JUST_NOW.search(s) else None


def _ago(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    m = _AGO.search(s)
    if m is None:
        return None
    unit = _UNITS[m[2]]
    if m[1] == "半":
        halves = {"years": ("months", 6), "months": ("days", 15), "days": ("hours", 12),
                  "hours": ("minutes", 30), "minutes": ("seconds", 30)}
        if unit not in halves:
            return None
        unit, amount = halves[unit]
    else:
        amount = _number(m[1])
    if unit == "months":
        return _months_back(now, amount)
    if unit == "years":
        return _months_back(now, 12 * amount)
    return now - timedelta(**{unit: amount})


def _day_word(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    m = _DAY_WORD.fullmatch(s) or _DAY_WORD.match(s)
    if m is None:
        return None
    day = now.date() - timedelta(days=_DAYS_BACK[m[1]])
    return _local(day, m[2], m[3], m[4], zone)


def _ymd(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    m = _YMD.fullmatch(s) or (_YMD.search(s) if not _offset_follows(s) else None)
    if m is None:
        return None
    return _local(date(int(m[1]), int(m[2]), int(m[3])), m[4], m[5], m[6], zone)


def _ym(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    m = _YM.fullmatch(s)
    return None if m is None else _local(date(int(m[1]), int(m[2]), 1), None, None, None, zone)


def _md(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    m = _MD.fullmatch(s)
    if m is None:
        return None
    month, day = int(m[1]), int(m[2])
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    for year in range(now.year, now.year - 9, -1):   # 2月29日 may be years back
        try:
            dt = _local(date(year, month, day), m[3], m[4], m[5], zone)
        except ValueError:
            continue
        if dt <= now + SKEW:
            return dt
    return None


def _hm(s: str, now: datetime, zone: tzinfo) -> datetime | None:
    m = _HM.fullmatch(s)
    if m is None:
        return None
    dt = _local(now.date(), m[1], m[2], m[3], zone)
    if dt > now + SKEW:
        dt = _local(now.date() - timedelta(days=1), m[1], m[2], m[3], zone)
    return dt


_RULES: tuple[Callable[[str, datetime, tzinfo], datetime | None], ...] = (
    _just_now, _ago, _day_word, _ymd, _ym, _md, _hm)


# ---- helpers ---------------------------------------------------------------------------

def _offset_follows(s: str) -> bool:
    """An ISO/RFC date with a UTC offset: left to parse_date, which honours the offset."""
    return bool(re.search(r"\d(?:Z|[+-]\d{2}:?\d{2}|\s*(?:UTC|GMT))\s*$", s, re.IGNORECASE))


def _local(day: date, hour: str | None, minute: str | None, second: str | None,
           zone: tzinfo) -> datetime:
    """Wall-clock time on ``day`` in ``zone``; raises ValueError for 25:00 and the like."""
    return datetime(day.year, day.month, day.day, int(hour or 0), int(minute or 0),
                    int(second or 0), tzinfo=zone)


def _epoch(value: float) -> datetime | None:
    """Unix seconds, milliseconds or microseconds (told apart by size), or None."""
    if value >= 1e14:
        value /= 1e6
    elif value >= 1e11:
        value /= 1e3
    if not 1e8 <= value < 1e10:     # 1973 … 2286: anything else is not a timestamp
        return None
    return datetime.fromtimestamp(value, UTC)


def _weibo(text: str) -> datetime:
    """``Tue Feb 23 12:28:47 +0800 2021`` (read as RFC 822: no locale involved)."""
    wday, month, day, clock, offset, year = text.split()
    return email.utils.parsedate_to_datetime(f"{wday}, {day} {month} {year} {clock} {offset}")


def _months_back(now: datetime, months: int) -> datetime:
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def _number(text: str) -> int:
    """``3``, ``三``, ``十二``, ``二十``, ``九十九``, ``一百零五``, ``两`` as an int."""
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch == "十":
            total += (digit or 1) * 10
            digit = 0
        elif ch == "百":
            total += (digit or 1) * 100
            digit = 0
        else:  # pragma: no cover - the pattern admits only the characters above
            raise ValueError(text)
    return total + digit


def _with_format(text: str, fmt: str, now: datetime, zone: tzinfo) -> datetime | None:
    """``text`` read with the feed's strptime ``fmt``; a format without a year gives the
    most recent such date (read in a leap year, so 2月29日 is possible)."""
    has_year = "%Y" in fmt or "%y" in fmt
    try:
        parsed = datetime.strptime(text if has_year else f"2000 {text}",
                                   fmt if has_year else f"%Y {fmt}")
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    if has_year:
        return parsed.replace(tzinfo=zone)
    for year in range(now.year, now.year - 9, -1):
        try:
            dt = parsed.replace(year=year, tzinfo=zone)
        except ValueError:
            continue
        if dt <= now + SKEW:
            return dt
    return None
