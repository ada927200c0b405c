"""Article pages -> their body text (``[feeds.detail]``): the ``content`` selector's text
(parsel: ``css:``/``xpath:``/bare CSS, a list tried in turn), else what trafilatura finds
(navigation, footers and comments left out); decoded as list pages are (HTTP charset,
``<meta charset>`` checked against the bytes, detection), whitespace normalised."""

from __future__ import annotations

import logging

from ..config import Selector, selector_list, split_selector
from ..models import FetchResult
from ..redact import redact_url
from .charset import decode_feed, split_content_type
from .html import html_to_text, tidy_text

log = logging.getLogger(__name__)


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
