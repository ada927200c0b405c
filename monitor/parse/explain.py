"""What each selector of a page source found (``yuqing feeds try`` / ``feeds test``): the
selectors of ``[feeds.select]`` applied to one page or API answer, item by item, with the
value each one picked out, so an admin can see which selector works and which does not.

This is a report, not the extractor: the items to store come from ``monitor.parse.pages``
and ``monitor.parse.jsonapi``. It runs their own selection steps (the same decoding, the
same ``css:``/``xpath:`` prefixes, ``item`` first and every other selector inside it),
one alternative of a list at a time, and keeps which alternative found what. It never
raises on a bad page: what cannot be read is reported in ``Explanation.error``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..config import selector_list
from .charset import decode_feed, split_content_type

__all__ = ["Explanation", "Finding", "explain"]

FIELDS = ("title", "link", "date", "author", "body")


@dataclass
class Finding:
    """One selector key's result for one item: the alternative that found a value (or
    every alternative tried, when none did) and the value as found (before links are
    resolved and dates read)."""

    field: str
    selector: str
    value: str | None = None


@dataclass
class Explanation:
    """What the selectors found on one page: how many nodes ``item`` matched (and with
    which alternative), each node's findings in page order, and the ``next`` link."""

    item_selector: str
    nodes: int = 0
    items: list[dict[str, Finding]] = field(default_factory=list)
    next: Finding | None = None
    error: str | None = None


def explain(content: bytes, recipe: dict[str, Any], *, content_type: str = "",
            encoding: str | None = None) -> Explanation:
    """The per-selector findings for a page source's ``recipe`` (``recipe_of(feed)``)."""
    select = recipe["select"]
    try:
        if recipe["type"] == "json":
            return _explain_json(content, select, encoding)
        return _explain_html(content, select, content_type, encoding)
    except Exception as e:  # a report never fails: say what stopped it
        return Explanation(_all(select["item"]), error=str(e) or type(e).__name__)


def _all(spec: Any) -> str:
    return " / ".join(selector_list(spec))


def _first(name: str, spec: Any, value_of: Any) -> Finding:
    """The first alternative of ``spec`` whose value (``value_of(one)``) is not empty."""
    for one in selector_list(spec):
        value = value_of(one)
        if value:
            return Finding(name, one, value)
    return Finding(name, _all(spec))


# ---------------------------------------------------------------- html (parsel)

def _explain_html(content: bytes, select: dict[str, Any], content_type: str,
                  encoding: str | None) -> Explanation:
    from parsel import Selector

    from . import pages
    from .xmlclean import clean_xml_text

    _mime, charset = split_content_type(content_type)
    text, _used = decode_feed(content, http_charset=charset, override=encoding, html=True)
    page = Selector(text=clean_xml_text(text) or "<html></html>", type="html").root
    out = Explanation(_all(select["item"]))
    for one in selector_list(select["item"]):
        nodes = pages._items(page, one)
        if nodes:
            out.item_selector, out.nodes = one, len(nodes)
            break
    else:
        return out
    for node in nodes:
        row = {}
        for name in FIELDS:
            if select.get(name):
                row[name] = _first(name, select[name], _html_value(node, name))
        out.items.append(row)
    if select.get("next"):
        out.next = _first("next", select["next"], _html_value(page, "next"))
    return out


def _html_value(node: Any, name: str) -> Any:
    """How the extractor reads one alternative of ``name`` inside ``node``."""
    from . import pages

    def value_of(one: str) -> str:
        if name in ("link", "next"):  # the first href or attribute, as written
            for found in pages._compiled(one)(node):
                raw = found if isinstance(found, str) else found.get("href")
                if raw and raw.strip():
                    return str(raw).strip()
            return ""
        return pages._value(node, one, body=name == "body")

    return value_of


# ---------------------------------------------------------------- json (JMESPath)

def _explain_json(content: bytes, select: dict[str, Any], encoding: str | None
                  ) -> Explanation:
    from . import jsonapi

    text, _used = decode_feed(content, override=encoding)
    out = Explanation(_all(select["item"]))
    try:
        doc = json.loads(text)
    except ValueError:
        out.error = "内容不是合法的 JSON"
        return out
    for one in selector_list(select["item"]):
        elements = jsonapi._search(one, doc)
        if isinstance(elements, list) and elements:
            out.item_selector, out.nodes = one, len(elements)
            break
    else:
        return out
    for element in elements:
        row = {}
        for name in FIELDS:
            if select.get(name):
                row[name] = _first(name, select[name], _json_value(element))
        template = select.get("link_template")
        if template and not (row.get("link") and row["link"].value):
            row["link"] = Finding("link", f"link_template {template}",
                                  jsonapi.fill_template(template, element))
        out.items.append(row)
    return out


def _json_value(element: Any) -> Any:
    from . import jsonapi

    def value_of(expr: str) -> str:
        return str(jsonapi._value(element, expr))

    return value_of
