"""Article bodies (``[feeds.detail]``): each new item's own page fetched for its full text,
so rules see the whole forum post or news article, not the list's title or excerpt.

Per pass, at most ``max_per_pass`` new items (link not stored yet) have their page fetched,
two at a time, by the feed's own :class:`~.client.Fetcher` (its caps, user agent and
private-network policy: only the feed's own host is trusted, never a host an item links
to). The body is taken by :func:`monitor.parse.article.article_text` (the ``content``
selector, else trafilatura). An item keeps its list body when its
page fails or gives no text. Items already stored are left out of the pass: their stored
text (maybe the full one) must not be replaced by the list's excerpt. Works for every feed
type; pages are fetched over HTTP even for ``render = "browser"`` feeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from ..config import FeedConfig, Selector
from ..errors import FetchError
from ..models import FetchResult, ParsedItem
from ..redact import redact_url
from .client import Fetcher

log = logging.getLogger(__name__)

CONCURRENCY = 2
# an article page -> its body text ("" if none): monitor.parse.article.article_text
Extract = Callable[[FetchResult, Selector | None, str | None], str]


async def fetch_details(fetcher: Fetcher, feed: FeedConfig, items: list[ParsedItem], *,
                        known: set[str], extract: Extract) -> list[ParsedItem]:
    """``items`` less those already stored, with the body of each new one replaced by its
    page's text, at most ``feed.detail.max_per_pass`` pages per pass (the rest keep their
    list body). ``extract`` takes a page's body text (the parse stage's)."""
    cfg = feed.detail
    if cfg is None:
        return items
    fresh = [i for i in items if not (i.link and i.link in known)]
    todo = [n for n, i in enumerate(fresh) if i.link and i.link.startswith(("http://", "https://"))]
    if len(todo) > cfg.max_per_pass:
        log.info("正文抓取达到本轮上限，其余条目先用列表页内容 feed=%s limit=%d rest=%d",
                 feed.name, cfg.max_per_pass, len(todo) - cfg.max_per_pass)
        todo = todo[:cfg.max_per_pass]
    page_feed = feed.model_copy(update={"render": "http",
                                        "max_bytes": cfg.max_bytes or feed.max_bytes})
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(item: ParsedItem) -> ParsedItem:
        assert item.link is not None
        async with slots:
            try:
                result = await fetcher.fetch(page_feed, url=item.link)
            except FetchError as e:
                log.warning("正文页抓取失败，保留列表页内容 feed=%s url=%s kind=%s error=%s",
                            feed.name, redact_url(item.link), e.kind, e)
                return item
        text = await asyncio.to_thread(extract, result, cfg.content, feed.encoding)
        if not text:
            log.info("正文页没有取到文字，保留列表页内容 feed=%s url=%s", feed.name,
                     redact_url(item.link))
            return item
        return replace(item, body=text)

    done = await asyncio.gather(*(one(fresh[n]) for n in todo))
    for n, item in zip(todo, done, strict=True):
        fresh[n] = item
    return fresh
