"""Feed bytes -> ``ParsedFeed``: feedparser (RSS 0.9x/1.0/2.0, Atom) and JSON Feed.

Pipeline: ``decode_feed`` (see ``monitor.parse.charset``) -> drop characters XML 1.0 forbids ->
rewrite the XML declaration to UTF-8 -> feedparser on UTF-8 bytes (so it never re-decodes).
feedparser's ``bozo`` flag alone does not reject a feed: whatever its lenient parser
recovers is used. A page with no feed structure (an HTML 404 page or homepage served in
place of the feed) raises ``ParseError(kind="not_feed")``; empty or hopeless input raises
``ParseError(kind="parse")``.


Every item ends in ``monitor.finish.finish_feed``: control characters removed from every
stored field, links checked again, the date policy applied. Error messages are Chinese;
the parser's own (English) exception text goes only to a DEBUG log line.

Item text is hostile: nothing is evaluated, no external entity or DTD is ever loaded
(feedparser removes entity declarations, expat does not fetch external entities) and
only http(s) links are kept.
"""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime
from typing import Any

import feedparser

from ..errors import ParseError
from ..models import ParsedFeed, ParsedItem
from ..timefmt import DEFAULT_TIMEZONE
from .charset import decode_feed, split_content_type
from .dates import _from_struct, parse_date
from .finish import finish_feed, safe_link
from .html import decode_entities, html_to_text, tidy_text
from .xmlclean import clean_xml_text, fix_xml_declaration

__all__ = ["decode_feed", "html_to_text", "parse_date", "parse_feed"]

log = logging.getLogger(__name__)

_HTML_ROOT = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PERIOD_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 604800,
                   "monthly": 2592000, "yearly": 31536000}
_WS = re.compile(r"[ \t\r\n\f\v\xa0]+")
_UTF8_DECL = '<?xml version="1.0" encoding="utf-8"?>'


def parse_feed(content: bytes, *, content_type: str = "", encoding: str | None = None,
               timezone: str = DEFAULT_TIMEZONE, base_url: str | None = None,
               now: datetime | None = None) -> ParsedFeed:
    """Parse feed bytes (RSS, Atom, RDF or JSON Feed) into a ``ParsedFeed``.

    ``content_type`` is the HTTP Content-Type (its ``charset`` is used for decoding),
    ``encoding`` the per-feed override, ``timezone`` the zone of offset-less dates,
    ``base_url`` the feed's URL (relative links are resolved against it) and ``now`` the
    fetch time (items whose date is missing or not believable are dated then).
    """
    if not content or not content.strip():
        raise ParseError("订阅源返回的内容为空", kind="parse")
    mime, charset = split_content_type(content_type)
    text, used = decode_feed(content, http_charset=charset, override=encoding)
    text = clean_xml_text(text)
    head = text.lstrip()[:1]
    if head in ("{", "[") or (mime.endswith("json") and head != "<"):
        feed = _parse_json_feed(text, mime, timezone, base_url)
    else:
        feed = _parse_xml_feed(text, timezone, base_url)
    feed.encoding = used
    return finish_feed(feed, now=now)  # JSON escapes and C1 controls can still carry ESC/CSI


# ---------------------------------------------------------------- RSS / Atom

def _parse_xml_feed(text: str, tz: str, base_url: str | None) -> ParsedFeed:
    if _HTML_ROOT.match(text[:4096]):
        raise ParseError("返回的是网页（HTML）而不是 RSS/Atom 订阅源，请检查订阅地址", kind="not_feed")
    if "<" not in text[:4096]:
        raise ParseError("内容不是 XML，也不是 JSON Feed，无法识别为订阅源", kind="not_feed")
    xml, shift = fix_xml_declaration(text), 0
    if not xml.startswith("<?xml"):  # ours, on line 1, so expat's line numbers are the feed's
        xml = _UTF8_DECL + xml
        shift = len(_UTF8_DECL)
    data = xml.encode("utf-8")
    # No content-location: feedparser would then "resolve" relative GUIDs into URLs.
    # Links are resolved below against the channel link, else the feed URL.
    headers = {"content-type": "application/xml; charset=utf-8"}
    try:
        result = feedparser.parse(io.BytesIO(data), response_headers=headers,
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser should not raise; never let hostile input crash us
        log.debug("feedparser 出错：%r", exc)
        raise ParseError("订阅源解析失败：解析器无法处理这份内容", kind="parse") from exc
    version = result.get("version") or ""
    meta = result.get("feed", {})
    entries = result.get("entries", [])
    if not entries and not version:
        raise ParseError("内容中没有 RSS/Atom 订阅源结构（不是订阅源）", kind="not_feed")
    if not entries and result.get("bozo") and not meta.get("title"):
        broken = result.get("bozo_exception")
        log.debug("订阅源 XML 损坏：%r", broken)
        raise ParseError(f"订阅源 XML 损坏，无法解析{_where(broken, shift)}", kind="parse")
    feed_link = safe_link(meta.get("link"), base_url)
    items = []
    for entry in entries:
        item = _xml_item(entry, tz, feed_link or base_url)
        if item is not None:
            items.append(item)
    if result.get("bozo"):
        log.info("订阅源格式不规范，已尽量读出 %d 条：%s", len(items),
                 result.get("bozo_exception"))
    return ParsedFeed(items=items, title=_text_field(meta, "title"), link=feed_link,
                      format=version or "unknown", ttl=_ttl(meta))


def _where(exc: Any, shift: int) -> str:
    """Where expat gave up, as Chinese text (``（第 3 行第 14 列附近）``), or nothing;
    ``shift`` is the length of the declaration we put in front of line 1."""
    try:
        line, col = int(exc.getLineNumber()), int(exc.getColumnNumber())
    except (AttributeError, TypeError, ValueError):
        return ""
    col = max(0, col - shift) if line == 1 else col
    return f"（第 {line} 行第 {col + 1} 列附近）" if line > 0 else ""


def _text_field(obj: Any, key: str) -> str:
    """A title-like field as published: markup removed, entities decoded, one line."""
    value = obj.get(key) or ""
    detail = obj.get(f"{key}_detail") or {}
    if detail.get("type", "text/plain") in (*_HTML_TYPES, "html", "xhtml"):
        value = html_to_text(value)
    else:
        value = decode_entities(value)
    return _WS.sub(" ", value).strip()


def _body(entry: Any) -> str:
    candidates = [*entry.get("content", []), entry.get("summary_detail") or {}]
    best = ""
    for c in candidates:
        value = c.get("value") or ""
        if not value:
            continue
        plain = c.get("type", "text/html") == "text/plain"
        text = tidy_text(value) if plain else html_to_text(value)
        if len(text) > len(best):
            best = text
    return best


def _xml_item(entry: Any, tz: str, base: str | None) -> ParsedItem | None:
    title = _text_field(entry, "title")
    body = _body(entry)
    link = safe_link(entry.get("link"), base)
    guid = (entry.get("id") or "").strip() or None
    if not (title or body or link or guid):
        return None
    published = None
    for key in ("published", "updated", "created"):
        published = parse_date(entry.get(key), tz)
        if published is None and entry.get(f"{key}_parsed"):
            published = _from_struct(entry[f"{key}_parsed"])
        if published is not None:
            break
    author = entry.get("author") or None
    if author:
        author = _WS.sub(" ", html_to_text(author)).strip() or None
    return ParsedItem(guid=guid, link=link, title=title, body=body,
                      published_at=published, author=author)


def _ttl(meta: Any) -> float | None:
    ttl = str(meta.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60.0
    period = str(meta.get("sy_updateperiod") or "").strip().lower()
    if period in _PERIOD_SECONDS:
        freq = str(meta.get("sy_updatefrequency") or "1").strip()
        n = int(freq) if freq.isdigit() and int(freq) > 0 else 1
        return _PERIOD_SECONDS[period] / n
    return None


# ---------------------------------------------------------------- JSON Feed

def _parse_json_feed(text: str, mime: str, tz: str, base_url: str | None) -> ParsedFeed:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        log.debug("JSON Feed 无法解析：%s", exc)
        raise ParseError(f"JSON Feed 格式错误：第 {exc.lineno} 行第 {exc.colno} 列不是合法的 JSON",
                         kind="parse") from exc
    except RecursionError as exc:
        raise ParseError("JSON Feed 格式错误：嵌套层数过多，无法解析", kind="parse") from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        log.debug("JSON Feed 无法解析：%s", exc)
        raise ParseError("JSON Feed 格式错误：含有无法读取的值（如位数过多的数字）",
                         kind="parse") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    is_jsonfeed = isinstance(version, str) and version.startswith("https://jsonfeed.org/")
    if not is_jsonfeed and not (mime == "application/feed+json" and isinstance(doc, dict)
                                and isinstance(doc.get("items"), list)):
        raise ParseError("JSON 内容不是 JSON Feed（缺少 version/items）", kind="not_feed")
    fmt = "json11" if isinstance(version, str) and version.rstrip("/").endswith("1.1") \
        else "json10"
    feed_link = safe_link(doc.get("home_page_url"), base_url)
    items = []
    raw_items = doc.get("items")
    for it in raw_items if isinstance(raw_items, list) else []:
        if isinstance(it, dict):
            item = _json_item(it, tz, feed_link or base_url)
            if item is not None:
                items.append(item)
    title = doc.get("title")
    return ParsedFeed(items=items, title=_WS.sub(" ", str(title)).strip() if title else "",
                      link=feed_link, format=fmt)


def _json_item(it: dict[str, Any], tz: str, base: str | None) -> ParsedItem | None:
    def s(key: str) -> str:
        v = it.get(key)
        return v if isinstance(v, str) else ""

    texts = [html_to_text(s("content_html")), tidy_text(s("content_text")),
             tidy_text(s("summary"))]
    body = max(texts, key=len)
    title = _WS.sub(" ", decode_entities(s("title"))).strip()
    guid = it.get("id")
    guid = str(guid).strip() if isinstance(guid, str | int) and str(guid).strip() else None
    link = safe_link(s("url") or s("external_url"), base)
    if not (title or body or link or guid):
        return None
    raw_authors = it.get("authors")
    authors: list[Any] = raw_authors if isinstance(raw_authors, list) else [it.get("author")]
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return ParsedItem(guid=guid, link=link, title=title, body=body,
                      published_at=parse_date(s("date_published") or s("date_modified"), tz),
                      author=", ".join(names) or None)


def parse_in_worker(content: bytes, content_type: str, encoding: str | None, timezone: str,
                    base_url: str | None, now: datetime | None = None,
                    recipe: dict[str, Any] | None = None) -> ParsedFeed:
    """The parser a feed needs, with positional arguments, for a process pool (every
    argument pickles; ``now`` is the fetch time): :func:`parse_feed` for feeds, and for a
    page source (``recipe``: ``{"type": "html"|"json", "select": {...}}``, see
    ``monitor.config.SelectConfig``) the html list or json API extractor."""
    if recipe is not None and recipe.get("type") == "html":
        from .pages import parse_html_list

        return parse_html_list(content, recipe["select"], content_type=content_type,
                               encoding=encoding, timezone=timezone, base_url=base_url,
                               now=now)
    if recipe is not None and recipe.get("type") == "json":
        from .jsonapi import parse_json_api

        return parse_json_api(content, recipe["select"], encoding=encoding,
                              timezone=timezone, base_url=base_url, now=now)
    return parse_feed(content, content_type=content_type, encoding=encoding,
                      timezone=timezone, base_url=base_url, now=now)
