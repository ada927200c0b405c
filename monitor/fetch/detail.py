"""Article bodies (``[feeds.detail]``): each new item's own page fetched for its full text.
(Stub: returns the items unchanged until written.)"""

from __future__ import annotations

from ..config import FeedConfig
from ..models import ParsedItem
from .client import Fetcher


async def fetch_details(fetcher: Fetcher, feed: FeedConfig, items: list[ParsedItem], *,
                        known: set[str]) -> list[ParsedItem]:
    """``items`` with the body of each new one (link not in ``known``) replaced by its
    page's text, at most ``feed.detail.max_per_pass`` pages per pass."""
    return items
