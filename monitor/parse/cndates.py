"""Dates as Chinese sites write them, relative to an injected ``now`` in the feed's
timezone. (Stub: to be written.)"""

from __future__ import annotations

from datetime import datetime


def parse_cn_date(text: str | None, *, now: datetime, tz: str = "Asia/Shanghai",
                  fmt: str | None = None) -> datetime | None:
    """A timezone-aware UTC datetime, or None when ``text`` holds no usable date."""
    raise NotImplementedError
