"""HTML list pages (``type = "html"``): items picked out with parsel selectors. (Stub: to be
written.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import ParsedFeed


def parse_html_list(content: bytes, select: dict[str, Any], *, content_type: str = "",
                    encoding: str | None = None, timezone: str = "Asia/Shanghai",
                    base_url: str | None = None, now: datetime | None = None) -> ParsedFeed:
    """The items of one list page; ``ParsedFeed.next_url`` is its next page (``next``)."""
    raise NotImplementedError
