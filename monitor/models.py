"""Plain dataclasses shared by every stage (no I/O, no behaviour beyond small helpers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

LEVELS: tuple[str, ...] = ("info", "blue", "yellow", "orange", "red")
LEVEL_NAMES: dict[str, str] = {
    "info": "记录",
    "blue": "一般（蓝）",
    "yellow": "较大（黄）",
    "orange": "重大（橙）",
    "red": "特别重大（红）",
}
# Why an item is dated at its fetch time (``items.date_note``; see ``monitor.finish``).
DATE_NOTES: dict[str, str] = {
    "missing": "来源未提供发布时间，按抓取时间计",
    "too_old": "发布时间不可信（早于 1990 年），按抓取时间计",
    "future": "发布时间不可信（晚于抓取时间一天以上），按抓取时间计",
}


def level_rank(level: str | None) -> int:
    """Order of a level code; ``None`` ranks below ``info``."""
    return -1 if level is None else LEVELS.index(level)


@dataclass
class FetchResult:
    """What one HTTP fetch of a feed produced (before parsing)."""

    url: str                      # final URL after redirects
    status: int                   # HTTP status; 304 means not modified
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None  # seconds the server asks us not to re-fetch (Cache-Control/Expires)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class ParsedItem:
    """One entry as the source published it: ``body`` is readable text (markup removed)."""

    guid: str | None
    link: str | None
    title: str
    body: str
    published_at: datetime | None = None  # timezone-aware UTC
    author: str | None = None
    date_note: str | None = None          # set when published_at is the fetch time (DATE_NOTES)


@dataclass
class ParsedFeed:
    items: list[ParsedItem]
    title: str = ""
    link: str | None = None
    format: str = ""              # e.g. rss20, atom10, json1
    encoding: str = ""            # the encoding the bytes were decoded with
    ttl: float | None = None      # seconds, from <ttl> / <sy:updatePeriod>


@dataclass
class Item:
    """A stored item."""

    id: int
    feed: str
    title: str
    link: str | None
    body: str
    published_at: datetime | None
    fetched_at: datetime
    guid: str | None = None
    score: int | None = None
    level: str | None = None
    date_note: str | None = None
