"""Feed bytes -> ``ParsedFeed``: decoding, feedparser (RSS 0.9x/1.0/2.0, Atom), JSON Feed, dates.

Pipeline: ``decode_feed`` (see ``monitor.textutil``) -> drop characters XML 1.0 forbids ->
rewrite the XML declaration to UTF-8 -> feedparser on UTF-8 bytes (so it never re-decodes).
feedparser's ``bozo`` flag alone does not reject a feed: whatever its lenient parser
recovers is used. A page with no feed structure (an HTML 404 page or homepage served in
place of the feed) raises ``ParseError(kind="not_feed")``; empty or hopeless input raises
``ParseError(kind="parse")``.

Dates (``parse_date``): RFC 822 (also with Chinese weekday/month names), ISO 8601,
``2020/1/10 14:33:00``, ``2020-01-10 14:33``, ``2020年1月10日 14:33``, date-only and Unix
timestamps. **A date without a UTC offset is taken to be local time in the feed's
``timezone`` (default Asia/Shanghai), because Chinese sites publish local time without an
offset.** ``CST`` means China Standard Time (+08:00) when that zone is UTC+8, otherwise US
Central. Results are timezone-aware UTC. Our own parser reads the raw date string first
(feedparser reads offset-less times as UTC and ``2020/1/10`` as 1 November); feedparser's
parsed tuple is the fallback. ``parse_date`` only reads dates; whether one is believed
(not before 1990, not more than a day after the fetch time ``now``) is decided once, for
every source, by ``monitor.finish.check_date``.

Every item ends in ``monitor.finish.finish_feed``: control characters removed from every
stored field, links checked again, the date policy applied. Error messages are Chinese;
the parser's own (English) exception text goes only to a DEBUG log line.

Item text is hostile: nothing is evaluated, no external entity or DTD is ever loaded
(feedparser removes entity declarations, expat does not fetch external entities) and
only http(s) links are kept.
"""

from __future__ import annotations

import calendar
import email.utils
import io
import json
import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import feedparser

try:  # feedparser's own date parsers: the last resort for exotic formats
    from feedparser.datetimes import _parse_date as _feedparser_date
except ImportError:  # pragma: no cover - private API moved
    def _feedparser_date(value: str) -> Any:
        return None

from .errors import ParseError
from .finish import finish_feed, safe_link
from .models import ParsedFeed, ParsedItem
from .textutil import (
    clean_xml_text,
    decode_entities,
    decode_feed,
    fix_xml_declaration,
    html_to_text,
    tidy_text,
)

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
               timezone: str = "Asia/Shanghai", base_url: str | None = None,
               now: datetime | None = None) -> ParsedFeed:
    """Parse feed bytes (RSS, Atom, RDF or JSON Feed) into a ``ParsedFeed``.

    ``content_type`` is the HTTP Content-Type (its ``charset`` is used for decoding),
    ``encoding`` the per-feed override, ``timezone`` the zone of offset-less dates,
    ``base_url`` the feed's URL (relative links are resolved against it) and ``now`` the
    fetch time (items whose date is missing or not believable are dated then).
    """
    if not content or not content.strip():
        raise ParseError("订阅源返回的内容为空", kind="parse")
    mime, charset = _split_content_type(content_type)
    text, used = decode_feed(content, http_charset=charset, override=encoding)
    text = clean_xml_text(text)
    head = text.lstrip()[:1]
    if head in ("{", "[") or (mime.endswith("json") and head != "<"):
        feed = _parse_json_feed(text, mime, timezone, base_url)
    else:
        feed = _parse_xml_feed(text, timezone, base_url)
    feed.encoding = used
    return finish_feed(feed, now=now)  # JSON escapes and C1 controls can still carry ESC/CSI


def _split_content_type(content_type: str) -> tuple[str, str | None]:
    mime, _, params = (content_type or "").partition(";")
    m = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
    return mime.strip().lower(), (m.group(1) if m else None)


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
        log.debug("feedparser raised: %r", exc)
        raise ParseError("订阅源解析失败：解析器无法处理这份内容", kind="parse") from exc
    version = result.get("version") or ""
    meta = result.get("feed", {})
    entries = result.get("entries", [])
    if not entries and not version:
        raise ParseError("内容中没有 RSS/Atom 订阅源结构（不是订阅源）", kind="not_feed")
    if not entries and result.get("bozo") and not meta.get("title"):
        exc = result.get("bozo_exception")
        log.debug("feed XML is broken: %r", exc)
        raise ParseError(f"订阅源 XML 损坏，无法解析{_where(exc, shift)}", kind="parse")
    feed_link = safe_link(meta.get("link"), base_url)
    items = []
    for entry in entries:
        item = _xml_item(entry, tz, feed_link or base_url)
        if item is not None:
            items.append(item)
    if result.get("bozo"):
        log.info("feed is not well-formed, recovered %d items: %s", len(items),
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
        log.debug("JSON Feed does not decode: %s", exc)
        raise ParseError(f"JSON Feed 格式错误：第 {exc.lineno} 行第 {exc.colno} 列不是合法的 JSON",
                         kind="parse") from exc
    except RecursionError as exc:
        raise ParseError("JSON Feed 格式错误：嵌套层数过多，无法解析", kind="parse") from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        log.debug("JSON Feed does not decode: %s", exc)
        raise ParseError("JSON Feed 格式错误：含有无法读取的值（如位数过多的数字）",
                         kind="parse") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    is_jsonfeed = isinstance(version, str) and version.startswith("https://jsonfeed.org/")
    if not is_jsonfeed and not (mime == "application/feed+json" and isinstance(doc, dict)
                                and isinstance(doc.get("items"), list)):
        raise ParseError("JSON 内容不是 JSON Feed（缺少 version/items）", kind="not_feed")
    fmt = "json11" if is_jsonfeed and version.rstrip("/").endswith("1.1") else "json10"
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
    authors = it.get("authors") if isinstance(it.get("authors"), list) else [it.get("author")]
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return ParsedItem(guid=guid, link=link, title=title, body=body,
                      published_at=parse_date(s("date_published") or s("date_modified"), tz),
                      author=", ".join(names) or None)


# ---------------------------------------------------------------- dates

_CN_MONTHS = {"十二": 12, "十一": 11, "十": 10, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAY = re.compile(r"[(（]?(?:星期|礼拜|禮拜|周|週)[一二三四五六日天][)）]?\s*,?\s*")
_CN_YMD = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?")
_CN_HMS = re.compile(r"(\d{1,2})\s*[时時点點]\s*(?:(\d{1,2})\s*分)?(?:\s*(\d{1,2})\s*秒)?")
_CN_MONTH = re.compile(r"(十二|十一|十|[一二三四五六七八九])\s*月|(\d{1,2})\s*月")
_AMPM = re.compile(r"(上午|凌晨|早上|中午|下午|晚上|傍晚|AM|PM)", re.IGNORECASE)
_NUMERIC = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?)?(Z)?$")


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown timezone %r, using Asia/Shanghai", name)
        return ZoneInfo("Asia/Shanghai")


def parse_date(value: str | None, tz: str = "Asia/Shanghai") -> datetime | None:
    """Parse a feed date into a timezone-aware UTC datetime, or ``None`` if unreadable.

    A date without an offset is local time in ``tz`` (default Asia/Shanghai: Chinese sites
    publish local time without an offset). See the module docstring for the formats.
    """
    if not value or not isinstance(value, str):
        return None
    s = unicodedata.normalize("NFKC", value).strip()[:100]
    if not s:
        return None
    zone = _zone(tz)
    try:
        result = _parse_local(s, zone)
        if result is None:
            struct = _feedparser_date(s)
            result = _from_struct(struct) if struct else None
        return None if result is None else result.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_local(s: str, zone: ZoneInfo) -> datetime | None:
    if s.isdigit() and len(s) in (10, 13):
        return datetime.fromtimestamp(int(s[:10]), UTC)
    pm = None
    if (m := _AMPM.search(s)) is not None:
        pm = m.group(1).lower() in ("下午", "晚上", "傍晚", "pm", "中午")
        s = _AMPM.sub(" ", s)
    beijing = "北京时间" in s or "北京時間" in s
    s = s.replace("北京时间", " ").replace("北京時間", " ")
    s = _WEEKDAY.sub("", s)
    s = _CN_YMD.sub(lambda m: f"{m[1]}-{m[2]}-{m[3]} ", s)
    s = _CN_HMS.sub(lambda m: f"{m[1]}:{m[2] or '00'}" + (f":{m[3]}" if m[3] else ""), s)
    s = re.sub(r"\s+", " ", s).strip()
    if re.search(r"\bCST$", s):
        china = zone.utcoffset(datetime(2020, 1, 1)) == timedelta(hours=8)
        s = s[:-3] + ("+0800" if china else "-0600")
    if beijing and not re.search(r"([+-]\d{2}:?\d{2}|Z|GMT|UTC)$", s):
        s += " +0800"
    dt = _numeric(s, zone) or _rfc822(s, zone)
    if dt is not None and pm is not None and dt.hour < 12 and pm:
        dt += timedelta(hours=12)
    return dt


def _numeric(s: str, zone: ZoneInfo) -> datetime | None:
    m = _NUMERIC.match(s) or _COMPACT.match(s)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, off = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    if not off:
        return dt.replace(tzinfo=zone)
    off = off.upper()
    if off in ("Z", "UTC", "GMT"):
        return dt.replace(tzinfo=UTC)
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return dt.replace(tzinfo=UTC) - sign * delta


def _rfc822(s: str, zone: ZoneInfo) -> datetime | None:
    def month(m: re.Match[str]) -> str:
        n = _CN_MONTHS[m[1]] if m[1] else int(m[2])
        return f" {_EN_MONTHS[n - 1]} " if 1 <= n <= 12 else m[0]

    s = _CN_MONTH.sub(month, s)
    if not re.search(r"[A-Za-z]{3}", s):
        return None
    s = re.sub(r"\s+", " ", s).strip()
    parsed = email.utils.parsedate_tz(s)
    if parsed is None and not re.search(r"\d:\d", s):
        parsed = email.utils.parsedate_tz(s + " 00:00:00")  # date only
    if parsed is None:
        return None
    dt = datetime(*parsed[:6])
    last = s.rsplit(" ", 1)[-1]
    has_zone = re.fullmatch(r"[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}", last) and last[:3].title() not in _EN_MONTHS
    if not has_zone:
        return dt.replace(tzinfo=zone)
    return dt.replace(tzinfo=UTC) - timedelta(seconds=parsed[9] or 0)


def _from_struct(struct: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def parse_in_worker(content: bytes, content_type: str, encoding: str | None, timezone: str,
                    base_url: str | None, now: datetime | None = None) -> ParsedFeed:
    """:func:`parse_feed` with positional arguments, for a process pool: a worker process
    needs to import only this module (every argument pickles; ``now`` is the fetch time)."""
    return parse_feed(content, content_type=content_type, encoding=encoding,
                      timezone=timezone, base_url=base_url, now=now)
