"""Article bodies (``[feeds.detail]``): each new item's own page fetched for its full text,
so rules see the whole forum post or news article, not the list's title or excerpt.

Per pass, at most ``max_per_pass`` new items (link not stored yet) have their page fetched,
two at a time, by the feed's own :class:`~.client.Fetcher` (its caps, user agent and
private-network policy: only the feed's own host is trusted, never a host an item links
to). The body is the ``content`` selector's text (parsel: ``css:``/``xpath:``/bare CSS, a
list tried in turn), else what trafilatura finds. An item keeps its list body when its
page fails or gives no text. Items already stored are left out of the pass: their stored
text (maybe the full one) must not be replaced by the list's excerpt. Works for every feed
type; pages are fetched over HTTP even for ``render = "browser"`` feeds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from ..config import FeedConfig, Selector, selector_list, split_selector
from ..errors import FetchError
from ..models import FetchResult, ParsedItem
from ..parse.charset import decode_feed, split_content_type
from ..parse.html import html_to_text, tidy_text
from ..redact import redact_url
from .client import Fetcher

log = logging.getLogger(__name__)

CONCURRENCY = 2


async def fetch_details(fetcher: Fetcher, feed: FeedConfig, items: list[ParsedItem], *,
                        known: set[str]) -> list[ParsedItem]:
    """``items`` less those already stored, with the body of each new one replaced by its
    page's text, at most ``feed.detail.max_per_pass`` pages per pass (the rest keep their
    list body)."""
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
        text = await asyncio.to_thread(article_text, result, cfg.content, feed.encoding)
        if not text:
            log.info("正文页没有取到文字，保留列表页内容 feed=%s url=%s", feed.name,
                     redact_url(item.link))
            return item
        return replace(item, body=text)

    done = await asyncio.gather(*(one(fresh[n]) for n in todo))
    for n, item in zip(todo, done, strict=True):
        fresh[n] = item
    return fresh


def article_text(result: FetchResult, content: Selector | None, encoding: str | None) -> str:
    """An article page's body as plain text: the ``content`` selector's, else trafilatura's
    (``""`` when neither finds any)."""
    _, charset = split_content_type(result.content_type)
    html, _ = decode_feed(result.content, http_charset=charset, override=encoding, html=True)
    if selectors := selector_list(content):
        text = select_text(html, selectors)
        if text:
            return text
        log.debug("正文选择器没有匹配，改用自动提取 url=%s", redact_url(result.url))
    return extracted_text(html)


def select_text(html: str, selectors: list[str]) -> str:
    """The text of the first selector that finds any (``css:``, ``xpath:`` or bare CSS)."""
    import parsel

    page = parsel.Selector(text=html)
    for selector in selectors:
        kind, expr = split_selector(selector)
        nodes = page.css(expr) if kind == "css" else page.xpath(expr)
        parts = [html_to_text(node.get()) for node in nodes]
        text = tidy_text("\n".join(p for p in parts if p))
        if text:
            return text
    return ""


def extracted_text(html: str) -> str:
    """The main text of an article page, found by trafilatura (comments left out)."""
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, favor_recall=True)
    return tidy_text(text) if text else ""
