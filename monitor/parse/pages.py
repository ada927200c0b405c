"""HTML list pages (``type = "html"``): the items of one page picked out with parsel
selectors (``[feeds.select]``, see ``monitor.config.SelectConfig``).

- The bytes are decoded as feeds are (``monitor.parse.charset``), with the page's
  ``<meta charset>`` as one more declaration, rejected when it lies.
- A selector is ``css:…``, ``xpath:…`` or bare CSS (with parsel's ``::text`` and
  ``::attr(name)``); a list is tried in turn, and the first that yields a value wins.
  ``item`` picks one node per item; every other selector runs inside that node, so an
  item missing a date never breaks the page.
- Values are whitespace-normalised: the text nodes a selector yields are joined, runs of
  whitespace collapsed, the ends stripped. An element (no ``::text``) gives its whole
  text; for ``link`` and ``next`` its ``href``. Attribute values are never joined: the
  first non-empty one is taken.
- Links resolve against ``<base href>`` (itself resolved against the page URL), else the
  page URL; ``javascript:``, bare ``#`` and every non-http(s) link is dropped. Without a
  ``link`` selector an item's link is the page URL.
- ``next`` is resolved the same way and returned as ``ParsedFeed.next_url``; the pipeline
  walks the pages. ``ParsedFeed.link`` is the page URL (so a walk never comes back to it).
- Dates go through ``monitor.parse.cndates.parse_cn_date`` relative to the fetch time.
- An ``item`` selector that matches nothing, or a ``title`` (or given ``link``) empty on
  every item, is ``ParseError(kind="layout")``: the page changed. A page that looks like
  it needs JavaScript gets the hint to try ``render = "browser"``.

Items carry no GUID (page sources are deduplicated by link) and end in
``monitor.parse.finish.finish_feed`` as feed items do.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from parsel import Selector, SelectorList

from ..config import selector_list, split_selector
from ..errors import ParseError
from ..models import ParsedFeed, ParsedItem
from ..redact import redact_url
from ..timefmt import DEFAULT_TIMEZONE
from .charset import decode_feed, split_content_type
from .cndates import parse_cn_date
from .dates import parse_date
from .finish import finish_feed, safe_link
from .html import html_to_text
from .xmlclean import clean_xml_text

_WS = re.compile(r"\s+")
_URL_BREAKS = re.compile(r"[\t\r\n]")
_ATTR_XPATH = re.compile(r"(?:@[\w:.*-]+|attribute::[\w:.*-]+)\s*\]?\s*\)?\s*$")
_JS_HINT = "；页面可能要运行 JavaScript 才显示内容，可试试 render = \"browser\""
_NEARLY_EMPTY = 100          # characters (not spaces) of visible text in <body>


def parse_html_list(content: bytes, select: dict[str, Any], *, content_type: str = "",
                    encoding: str | None = None, timezone: str = DEFAULT_TIMEZONE,
                    base_url: str | None = None, now: datetime | None = None) -> ParsedFeed:
    """The items of one list page; ``ParsedFeed.next_url`` is its next page (``next``).

    ``select`` is ``SelectConfig.model_dump()``; ``base_url`` the page's final URL;
    ``now`` the fetch time (relative dates such as ``08:52`` or ``3分钟前`` count from it;
    without it only absolute dates are read)."""
    if not content or not content.strip():
        raise ParseError("网页返回的内容为空", kind="parse")
    _mime, charset = split_content_type(content_type)
    text, used = decode_feed(content, http_charset=charset, override=encoding, html=True)
    page = Selector(text=clean_xml_text(text), type="html")
    base = _base_of(page, base_url)
    nodes = _items(page, select["item"])
    if not nodes:
        hint = _JS_HINT if _needs_js(page) else ""
        raise ParseError(f"页面结构可能已变化：item 选择器 {_shown(select['item'])} 在 "
                         f"{_where(base_url)} 没有匹配到任何条目{hint}", kind="layout")
    items = [_item(node, select, base or base_url, timezone, now) for node in nodes]
    _check_layout(items, select, base_url, len(nodes))
    feed = ParsedFeed(items=[i for i in items if i.title or i.body], format="html",
                      title=_text(page.xpath("//title"), attr=False), link=base_url,
                      encoding=used)
    if select.get("next"):
        feed.next_url = _first_link(page, select["next"], base or base_url)
    return finish_feed(feed, now=now)


def _shown(spec: Any) -> str:
    return " / ".join(repr(s) for s in selector_list(spec))


def _where(url: str | None) -> str:
    return redact_url(url) if url else "页面"


def _base_of(page: Selector, url: str | None) -> str | None:
    """``<base href>`` resolved against the page URL, when it is http(s)."""
    href = page.xpath("//head/base/@href | //base/@href").get()
    return safe_link(_URL_BREAKS.sub("", href), url) if href else None


def _select(node: Selector, spec: str) -> SelectorList[Selector]:
    kind, expr = split_selector(spec)
    return node.css(expr) if kind == "css" else node.xpath(expr)


def _items(page: Selector, spec: Any) -> SelectorList[Selector]:
    """The nodes of the first ``item`` alternative that matches any."""
    for one in selector_list(spec):
        nodes = _select(page, one)
        if nodes:
            return nodes
    return SelectorList()


def _is_attribute(spec: str) -> bool:
    kind, expr = split_selector(spec)
    if kind == "css":
        return "::attr(" in expr
    return bool(_ATTR_XPATH.search(expr))


def _join(pieces: list[str]) -> str:
    """Text nodes as one line: joined as they stand (Chinese has no spaces between words),
    a space only where two Latin words or numbers would run together."""
    out = ""
    for piece in pieces:
        if out and piece and out[-1].isascii() and out[-1].isalnum() \
                and piece[0].isascii() and piece[0].isalnum():
            out += " "
        out += piece
    return _WS.sub(" ", out).strip()


def _text(found: SelectorList[Selector], *, attr: bool) -> str:
    """One value out of what a selector found (see the module docstring)."""
    if attr:
        for sel in found:
            value = _WS.sub(" ", str(sel.get() or "")).strip()
            if value:
                return value
        return ""
    pieces = []
    for sel in found:
        root = sel.root
        pieces.append(root if isinstance(root, str) else "".join(root.itertext()))
    return _join(pieces)


def _value(node: Selector, spec: Any, *, body: bool = False) -> str:
    """The first non-empty value of the alternatives of ``spec`` inside ``node``."""
    for one in selector_list(spec):
        found = _select(node, one)
        if body and found and not isinstance(found[0].root, str):
            value = "\n".join(html_to_text(sel.get()) for sel in found).strip()
        else:
            value = _text(found, attr=_is_attribute(one))
        if value:
            return value
    return ""


def _usable_link(raw: str | None, base: str | None) -> str | None:
    """An http(s) link out of an ``href`` as pages write it, or None (``javascript:``,
    bare ``#``, ``mailto:`` ...)."""
    if not raw:
        return None
    href = _URL_BREAKS.sub("", raw).strip()
    if not href or href == "#" or href.startswith("#!"):
        return None
    return safe_link(href, base)


def _first_link(node: Selector, spec: Any, base: str | None) -> str | None:
    """The first usable link any alternative of ``spec`` yields inside ``node``."""
    for one in selector_list(spec):
        for sel in _select(node, one):
            root = sel.root
            raw = root if isinstance(root, str) else root.get("href")
            link = _usable_link(raw, base)
            if link:
                return link
    return None


def read_date(text: str, *, now: datetime | None, tz: str, fmt: str | None) -> datetime | None:
    """A page's date text as a UTC datetime (Chinese forms relative to ``now``), or None."""
    if not text:
        return None
    if now is None:
        return parse_date(text, tz)
    try:
        return parse_cn_date(text, now=now, tz=tz, fmt=fmt)
    except NotImplementedError:  # until monitor.parse.cndates lands
        return parse_date(text, tz)


def _item(node: Selector, select: dict[str, Any], base: str | None, tz: str,
          now: datetime | None) -> ParsedItem:
    link = _first_link(node, select["link"], base) if select.get("link") else base
    date_text = _value(node, select["date"]) if select.get("date") else ""
    return ParsedItem(
        guid=None, link=link, title=_value(node, select["title"]),
        body=_value(node, select["body"], body=True) if select.get("body") else "",
        author=(_value(node, select["author"]) or None) if select.get("author") else None,
        published_at=read_date(date_text, now=now, tz=tz, fmt=select.get("date_format")))


def _check_layout(items: list[ParsedItem], select: dict[str, Any], url: str | None,
                  count: int) -> None:
    """A title, or a given link, empty on every item: the page changed its layout."""
    if not any(i.title for i in items):
        raise ParseError(f"页面结构可能已变化：title 选择器 {_shown(select['title'])} 在 "
                         f"{_where(url)} 的 {count} 个条目中都没有取到内容", kind="layout")
    if select.get("link") and not any(i.link for i in items):
        raise ParseError(f"页面结构可能已变化：link 选择器 {_shown(select['link'])} 在 "
                         f"{_where(url)} 的 {count} 个条目中都没有取到可用的 http(s) 链接",
                         kind="layout")


def _needs_js(page: Selector) -> bool:
    """Does the page look like it is drawn by JavaScript: a ``<noscript>``, a nearly empty
    ``<body>``, or much more script than text?"""
    if page.xpath("//noscript"):
        return True
    visible = "".join(page.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())
    visible = _WS.sub("", visible)
    script = sum(len(s) for s in page.xpath("//script/text()").getall())
    return len(visible) < _NEARLY_EMPTY or script > 4 * len(visible)
