"""Dates as Chinese sites write them (``monitor.parse.cndates.parse_cn_date``): one table
with a frozen ``now`` (2026-03-10 09:00 Beijing time), plus other timezones, the year
rollover and the feed's own ``date_format``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.parse.cndates import parse_cn_date

BJ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=BJ)


def bj(*args: int) -> datetime:
    """A Beijing wall-clock time, as the UTC instant the parser must return."""
    return datetime(*args, tzinfo=BJ).astimezone(UTC)  # type: ignore[misc]


TABLE: list[tuple[object, datetime | None]] = [
    # absolute
    ("2020-7-30", bj(2020, 7, 30)),
    ("2020-7-30 14:05", bj(2020, 7, 30, 14, 5)),
    ("2020-07-30 14:05:09", bj(2020, 7, 30, 14, 5, 9)),
    ("2020/7/30 8:05", bj(2020, 7, 30, 8, 5)),
    ("2024.03.05", bj(2024, 3, 5)),
    ("2024年3月5日", bj(2024, 3, 5)),
    ("2024年3月5日 10:20", bj(2024, 3, 5, 10, 20)),
    ("2024年03月05日10:20", bj(2024, 3, 5, 10, 20)),
    ("2024年3月5日 10点20分", bj(2024, 3, 5, 10, 20)),
    ("2024年3月5日 下午3:20", bj(2024, 3, 5, 15, 20)),
    ("2024-03-05（星期二）", bj(2024, 3, 5)),
    ("3月5日", bj(2026, 3, 5)),
    ("3月10日", bj(2026, 3, 10)),             # today counts as "not in the future"
    ("3月11日", bj(2025, 3, 11)),             # tomorrow: last year's
    ("7-3", bj(2025, 7, 3)),
    ("03-05", bj(2026, 3, 5)),
    ("03-05 10:20", bj(2026, 3, 5, 10, 20)),  # not 2003-05-10 (dateparser's reading)
    ("03-10 10:20", bj(2025, 3, 10, 10, 20)),  # later today: a year ago
    ("3/5", bj(2026, 3, 5)),
    ("2019-12", bj(2019, 12, 1)),
    ("2019年12月", bj(2019, 12, 1)),
    ("08:52", bj(2026, 3, 10, 8, 52)),
    ("09:30", bj(2026, 3, 9, 9, 30)),          # would be in the future: yesterday
    ("09:03", bj(2026, 3, 10, 9, 3)),          # within the clock-skew allowance: today
    ("8:52:30", bj(2026, 3, 10, 8, 52, 30)),
    # relative
    ("刚刚", NOW.astimezone(UTC)),
    ("3分钟前", (NOW - timedelta(minutes=3)).astimezone(UTC)),
    ("30秒前", (NOW - timedelta(seconds=30)).astimezone(UTC)),
    ("半小时前", (NOW - timedelta(minutes=30)).astimezone(UTC)),
    ("1小时前", (NOW - timedelta(hours=1)).astimezone(UTC)),
    ("2 个小时前", (NOW - timedelta(hours=2)).astimezone(UTC)),
    ("3 天前", (NOW - timedelta(days=3)).astimezone(UTC)),
    ("3\u00a0天前", (NOW - timedelta(days=3)).astimezone(UTC)),     # no-break space
    ("三天前", (NOW - timedelta(days=3)).astimezone(UTC)),
    ("十二天前", (NOW - timedelta(days=12)).astimezone(UTC)),
    ("二十分钟前", (NOW - timedelta(minutes=20)).astimezone(UTC)),
    ("九十九分钟之前", (NOW - timedelta(minutes=99)).astimezone(UTC)),
    ("两小时前", (NOW - timedelta(hours=2)).astimezone(UTC)),
    ("2周前", (NOW - timedelta(weeks=2)).astimezone(UTC)),
    ("3个月前", bj(2025, 12, 10, 9, 0)),
    ("1年前", bj(2025, 3, 10, 9, 0)),
    ("今天 08:00", bj(2026, 3, 10, 8, 0)),
    ("今天08:00", bj(2026, 3, 10, 8, 0)),
    ("昨天 14:20", bj(2026, 3, 9, 14, 20)),
    ("昨天", bj(2026, 3, 9)),
    ("前天", bj(2026, 3, 8)),
    ("前天 23:59", bj(2026, 3, 8, 23, 59)),
    # machine formats
    (1741568400, datetime(2025, 3, 10, 1, 0, tzinfo=UTC)),
    (1741568400000, datetime(2025, 3, 10, 1, 0, tzinfo=UTC)),
    ("1741568400", datetime(2025, 3, 10, 1, 0, tzinfo=UTC)),
    ("1741568400000", datetime(2025, 3, 10, 1, 0, tzinfo=UTC)),
    (1741568400.5, datetime(2025, 3, 10, 1, 0, 0, 500000, tzinfo=UTC)),
    ("Tue Feb 23 12:28:47 +0800 2021", datetime(2021, 2, 23, 4, 28, 47, tzinfo=UTC)),
    ("2024-03-05T10:20:00+08:00", datetime(2024, 3, 5, 2, 20, tzinfo=UTC)),
    ("2024-03-05T10:20:00Z", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
    ("Tue, 05 Mar 2024 10:20:00 +0000", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
    ("Tue, 05 Mar 2024 10:20:00 GMT", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
    # labels, full-width characters, surrounding words
    ("发布日期：2024-03-05", bj(2024, 3, 5)),
    ("发表于 2024-3-5 10:20", bj(2024, 3, 5, 10, 20)),
    ("更新时间:2024年3月5日", bj(2024, 3, 5)),
    ("时间：08:52", bj(2026, 3, 10, 8, 52)),
    ("发表于 3分钟前", (NOW - timedelta(minutes=3)).astimezone(UTC)),
    ("［2024-03-05］", bj(2024, 3, 5)),
    ("２０２４－０３－０５　１０：２０", bj(2024, 3, 5, 10, 20)),
    ("时间：０８：５２", bj(2026, 3, 10, 8, 52)),
    ("作者：张三 发布时间：2024-03-05 10:20 来源：区融媒体中心", bj(2024, 3, 5, 10, 20)),
    ("北京时间 2024年3月5日 10:20", bj(2024, 3, 5, 10, 20)),
    # garbage
    ("", None),
    ("   ", None),
    (None, None),
    ("不是日期", None),
    ("abc", None),
    ("12345", None),
    ("99:99", None),
    ("2月30日", None),
    ("13-45", None),
    ("很久以前", None),
    (True, None),
    (42, None),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[repr(t) for t, _ in TABLE])
def test_table(text: object, expected: datetime | None) -> None:
    got = parse_cn_date(text, now=NOW)  # type: ignore[arg-type]
    assert got == expected
    if got is not None:
        assert got.tzinfo is UTC


def test_now_in_another_zone_is_the_same_instant() -> None:
    assert parse_cn_date("08:52", now=NOW.astimezone(UTC)) == bj(2026, 3, 10, 8, 52)
    assert parse_cn_date("3分钟前", now=NOW.astimezone(UTC)) == \
        (NOW - timedelta(minutes=3)).astimezone(UTC)


def test_the_feeds_timezone() -> None:
    # 2026-03-10 09:00 Beijing is 01:00 UTC: in a UTC feed "08:52" is yesterday's
    assert parse_cn_date("08:52", now=NOW, tz="UTC") == datetime(2026, 3, 9, 8, 52, tzinfo=UTC)
    assert parse_cn_date("00:30", now=NOW, tz="UTC") == datetime(2026, 3, 10, 0, 30, tzinfo=UTC)
    assert parse_cn_date("2024-03-05 10:20", now=NOW, tz="UTC") == \
        datetime(2024, 3, 5, 10, 20, tzinfo=UTC)
    assert parse_cn_date("昨天 14:20", now=NOW, tz="UTC") == \
        datetime(2026, 3, 9, 14, 20, tzinfo=UTC)
    # "today" is the feed's today: 00:30 UTC on 10 March is 08:30 on 10 March in Beijing
    late = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)   # 07:30 on 10 March in Beijing
    assert parse_cn_date("今天 07:00", now=late) == bj(2026, 3, 10, 7, 0)
    assert parse_cn_date("今天 07:00", now=late, tz="UTC") == \
        datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    # an explicit offset wins over the feed's timezone
    assert parse_cn_date("2024-03-05T10:20:00+08:00", now=NOW, tz="UTC") == \
        datetime(2024, 3, 5, 2, 20, tzinfo=UTC)
    assert parse_cn_date("2024-03-05 10:20", now=NOW, tz="America/New_York") == \
        datetime(2024, 3, 5, 15, 20, tzinfo=UTC)


def test_new_year_rollover() -> None:
    new_year = datetime(2026, 1, 1, 0, 10, tzinfo=BJ)
    assert parse_cn_date("12-31", now=new_year) == bj(2025, 12, 31)
    assert parse_cn_date("12-31 23:50", now=new_year) == bj(2025, 12, 31, 23, 50)
    assert parse_cn_date("12月31日", now=new_year) == bj(2025, 12, 31)
    assert parse_cn_date("01-01", now=new_year) == bj(2026, 1, 1)
    assert parse_cn_date("23:50", now=new_year) == bj(2025, 12, 31, 23, 50)
    assert parse_cn_date("昨天 12:00", now=new_year) == bj(2025, 12, 31, 12, 0)
    assert parse_cn_date("2个月前", now=new_year) == bj(2025, 11, 1, 0, 10)
    # a month back from 31 March is the last day of February
    assert parse_cn_date("1个月前", now=datetime(2026, 3, 31, 12, 0, tzinfo=BJ)) == \
        bj(2026, 2, 28, 12, 0)


def test_leap_day_without_a_year_is_the_last_leap_year() -> None:
    assert parse_cn_date("2月29日", now=NOW) == bj(2024, 2, 29)


def test_feed_date_format_is_tried_first() -> None:
    fmt = "%Y年%m月%d日 %H:%M"
    assert parse_cn_date("2024年03月05日 10:20", now=NOW, fmt=fmt) == bj(2024, 3, 5, 10, 20)
    # day/month order that our own patterns would read the other way round
    assert parse_cn_date("05/03/2024", now=NOW, fmt="%d/%m/%Y") == bj(2024, 3, 5)
    assert parse_cn_date("05/03/2024", now=NOW) != bj(2024, 3, 5)
    # a format without a year: the most recent such date
    assert parse_cn_date("03/11 08:00", now=NOW, fmt="%m/%d %H:%M") == bj(2025, 3, 11, 8, 0)
    assert parse_cn_date("02/29", now=NOW, fmt="%m/%d") == bj(2024, 2, 29)
    # a format with an offset keeps it
    assert parse_cn_date("2024-03-05 10:20 +0000", now=NOW, fmt="%Y-%m-%d %H:%M %z") == \
        datetime(2024, 3, 5, 10, 20, tzinfo=UTC)
    # labels are stripped before the format is tried too
    assert parse_cn_date("发布时间：2024年03月05日 10:20", now=NOW, fmt=fmt) == \
        bj(2024, 3, 5, 10, 20)
    # a text the format does not fit falls back to our own patterns
    assert parse_cn_date("3分钟前", now=NOW, fmt=fmt) == (NOW - timedelta(minutes=3)).astimezone(UTC)


def test_no_exception_for_hostile_text() -> None:
    for text in ("9" * 400, "年" * 300, "2024-99-99", "前" * 100, "\x00\x01", "1e400",
                 "九" * 50 + "天前", "99999999999999999999"):
        got = parse_cn_date(text, now=NOW)
        assert got is None or got.tzinfo is UTC
