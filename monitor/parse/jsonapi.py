"""JSON APIs (``type = "json"``, a 留言板 behind its list page): items picked out with
JMESPath (``[feeds.select]``, see ``monitor.config.SelectConfig``).

- The answer (already size-capped by the fetcher) is decoded as feeds are and read with
  ``json.loads``: nothing in it is evaluated; a nesting too deep or a number too long is a
  parse error, never a crash.
- ``item`` is a JMESPath expression yielding the list of items; every other expression is
  evaluated on one element (a list of expressions is tried in turn, the first non-empty
  value wins). Numbers become strings; a list of strings is joined.
- ``link`` resolves against the API URL; without one (APIs that give only ids) the
  ``link_template`` (``https://x/detail?id={tid}``) is filled from the element's top-level
  fields, each value percent-encoded; only plain field names are allowed.
- Titles and bodies that carry HTML are turned into text (``monitor.parse.html``).
- Dates (ISO, ``2024-03-05 10:20``, Unix seconds or milliseconds, Chinese forms) go through
  ``monitor.parse.cndates.parse_cn_date`` relative to the fetch time.
- An ``item`` expression that yields nothing, or a ``title`` (or given ``link``) empty on
  every item, is ``ParseError(kind="layout")``: the API changed.

Items carry no GUID (page sources are deduplicated by link) and end in
``monitor.parse.finish.finish_feed``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jmespath

from ..config import selector_list, template_fields
from ..errors import ParseError
from ..models import ParsedFeed, ParsedItem
from ..redact import redact_url
from ..timefmt import DEFAULT_TIMEZONE
from .charset import decode_feed
from .finish import finish_feed, safe_link
from .html import decode_entities, html_to_text, tidy_text
from .pages import read_date

log = logging.getLogger(__name__)

_WS = re.compile(r"\s+")
_MARKUP = re.compile(r"<[A-Za-z!/][^>]*>")


def parse_json_api(content: bytes, select: dict[str, Any], *, encoding: str | None = None,
                   timezone: str = DEFAULT_TIMEZONE, base_url: str | None = None,
                   now: datetime | None = None) -> ParsedFeed:
    """The items of one API answer (``select`` is ``SelectConfig.model_dump()``,
    ``base_url`` the API's final URL, ``now`` the fetch time)."""
    text, used = decode_feed(content, override=encoding)
    doc = _load(text)
    elements = _elements(doc, select["item"], base_url)
    items = [_item(e, select, base_url, timezone, now) for e in elements]
    _check_layout(items, select, base_url, len(elements))
    feed = ParsedFeed(items=[i for i in items if i.title or i.body], format="json",
                      link=base_url, encoding=used)
    return finish_feed(feed, now=now)


def _load(text: str) -> Any:
    if not text.strip():
        raise ParseError("接口返回的内容为空", kind="parse")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        log.debug("JSON 无法解析：%s", exc)
        head = text.lstrip()[:1]
        what = "返回的是网页而不是 JSON" if head == "<" else \
            f"第 {exc.lineno} 行第 {exc.colno} 列不是合法的 JSON"
        raise ParseError(f"接口内容无法解析：{what}", kind="parse") from exc
    except RecursionError as exc:
        raise ParseError("接口内容无法解析：JSON 嵌套层数过多", kind="parse") from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        log.debug("JSON 无法解析：%s", exc)
        raise ParseError("接口内容无法解析：含有无法读取的值（如位数过多的数字）",
                         kind="parse") from exc


def _search(expr: str, data: Any) -> Any:
    try:
        return jmespath.search(expr, data)
    except jmespath.exceptions.JMESPathError as exc:  # e.g. a function given the wrong type
        log.debug("JMESPath 出错 expr=%s：%s", expr, exc)
        return None


def _elements(doc: Any, spec: Any, url: str | None) -> list[Any]:
    """The list the first ``item`` alternative yields; a layout failure when none does."""
    alternatives = selector_list(spec)
    for expr in alternatives:
        found = _search(expr, doc)
        if isinstance(found, list) and found:
            return found
    raise ParseError(f"接口结构可能已变化：item 表达式 {_shown(spec)} 在 {_where(url)} "
                     "没有取到条目列表", kind="layout")


def _where(url: str | None) -> str:
    return redact_url(url) if url else "接口"


def _shown(spec: Any) -> str:
    return " / ".join(repr(s) for s in selector_list(spec))


def _scalar(value: Any) -> str:
    """A JSON value as text: strings as they are, numbers as written, a list of strings
    joined; objects, null and booleans give nothing."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))     # 1.7e12 milliseconds, 3.0 ids
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return " ".join(s for s in (_scalar(v) for v in value) if s)
    return ""


def _value(element: Any, spec: Any) -> str:
    for expr in selector_list(spec):
        value = _scalar(_search(expr, element)).strip()
        if value:
            return value
    return ""


def _one_line(value: str) -> str:
    text = html_to_text(value) if _MARKUP.search(value) else decode_entities(value)
    return _WS.sub(" ", text).strip()


def _body(value: str) -> str:
    return html_to_text(value) if _MARKUP.search(value) else tidy_text(value)


def fill_template(template: str, element: Any) -> str | None:
    """``link_template`` filled from the element's top-level fields (each value
    percent-encoded), or None when one is missing."""
    if not isinstance(element, dict):
        return None
    values = {}
    for name in template_fields(template):
        value = _scalar(element.get(name)).strip()
        if not value:
            return None
        values[name] = quote(value, safe="")
    return template.format_map(values)


def _link(element: Any, select: dict[str, Any], base: str | None) -> str | None:
    link = safe_link(_value(element, select["link"]), base) if select.get("link") else None
    if link is None and select.get("link_template"):
        filled = fill_template(select["link_template"], element)
        link = safe_link(filled, base) if filled else None
    return link


def _item(element: Any, select: dict[str, Any], base: str | None, tz: str,
          now: datetime | None) -> ParsedItem:
    author = _one_line(_value(element, select["author"])) if select.get("author") else ""
    date_text = _value(element, select["date"]) if select.get("date") else ""
    return ParsedItem(
        guid=None, link=_link(element, select, base),
        title=_one_line(_value(element, select["title"])),
        body=_body(_value(element, select["body"])) if select.get("body") else "",
        author=author or None,
        published_at=read_date(date_text, now=now, tz=tz, fmt=select.get("date_format")))


def _check_layout(items: list[ParsedItem], select: dict[str, Any], url: str | None,
                  count: int) -> None:
    if not any(i.title for i in items):
        raise ParseError(f"接口结构可能已变化：title 表达式 {_shown(select['title'])} 在 "
                         f"{_where(url)} 的 {count} 个条目中都没有取到内容", kind="layout")
    key = "link" if select.get("link") else "link_template" if select.get("link_template") \
        else None
    if key and not any(i.link for i in items):
        raise ParseError(f"接口结构可能已变化：{key} {_shown(select[key])} 在 {_where(url)} 的 "
                         f"{count} 个条目中都没有得到可用的 http(s) 链接", kind="layout")
