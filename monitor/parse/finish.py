"""The last step of every source parser: what a parsed item may carry into the store.

Every parser (RSS/Atom/JSON Feed in ``monitor.parse.feeds``, and the HTML/JSON page sources)
ends with :func:`finish_feed`, the one place where

- C0/C1 control characters are removed from every text field that is stored (title,
  body, author, link, GUID, feed title): item text reaches terminals, logs and mail, where
  ESC, CSI, OSC and BEL must never arrive. The body keeps its line breaks; one-line
  fields keep none;
- a link is checked again *after* that cleaning: only http(s) links are kept;
- the one date policy is applied (:func:`check_date`): a publication date before
  1990-01-01 (Beijing time) or more than one day after the fetch time is not believed,
  and the item is then dated at the fetch time and ``date_note`` says why (``too_old``,
  ``future``; see ``models.DATE_NOTES``); a missing date stays missing. One hour ahead
  is kept: publishers' clocks drift.

The fetch time is a parameter (``now``), never read from the clock here. Without it
(a library caller that fetched nothing) only the lower bound applies and an unbelievable
date is dropped rather than replaced.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from ..models import ParsedFeed, ParsedItem
from ..timefmt import DEFAULT_TIMEZONE
from .xmlclean import strip_controls

__all__ = ["DATE_FLOOR", "FUTURE_SLACK", "check_date", "finish_feed", "finish_item",
           "safe_link"]

DATE_FLOOR = datetime(1990, 1, 1, tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
FUTURE_SLACK = timedelta(days=1)

_ALL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85]+")


def check_date(published: datetime | None, now: datetime | None
               ) -> tuple[datetime | None, str | None]:
    """The one date policy: ``(date to file the item under, note)``. A believed date is
    kept (note ``None``); a missing one stays missing (listings fall back to the fetch
    time, and JSON says ``null`` as the source did); an unbelievable one is replaced by
    ``now`` (the fetch time) with the note ``too_old`` or ``future``."""
    if published is None:
        return None, None
    if published < DATE_FLOOR:
        note = "too_old"
    elif now is not None and published > now + FUTURE_SLACK:
        note = "future"
    else:
        return published, None
    if now is None:
        return None, note
    return now, note


def safe_link(link: object, base: str | None = None) -> str | None:
    """``link`` resolved against ``base`` if it is an http(s) URL, else ``None``."""
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    if base:
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    try:
        scheme = urlsplit(link).scheme.lower()
    except ValueError:
        return None
    return link if scheme in ("http", "https") else None


def one_line(text: str) -> str:
    """No control characters at all; tabs and line breaks become one space."""
    return _ALL_CONTROLS.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def _bare(text: str | None) -> str | None:
    """An identifier (link, GUID) without any control character, or ``None`` if empty."""
    return (_ALL_CONTROLS.sub("", text).strip() or None) if text else None


def finish_item(item: ParsedItem, *, now: datetime | None = None) -> ParsedItem:
    """Clean one item in place (see the module docstring) and return it."""
    item.title = one_line(item.title)
    item.body = strip_controls(item.body)
    item.author = (one_line(item.author) or None) if item.author else None
    item.guid = _bare(item.guid)
    item.link = safe_link(_bare(item.link))
    item.published_at, item.date_note = check_date(item.published_at, now)
    return item


def finish_feed(feed: ParsedFeed, *, now: datetime | None = None) -> ParsedFeed:
    """Clean every item and the feed's own title and link; items left with nothing to
    show or identify them are dropped."""
    feed.title = one_line(feed.title)
    feed.link = safe_link(_bare(feed.link))
    feed.items = [finish_item(i, now=now) for i in feed.items]
    feed.items = [i for i in feed.items if i.title or i.body or i.link or i.guid]
    return feed
