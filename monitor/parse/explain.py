"""What each selector of a page source found (``yuqing feeds try`` / ``feeds test``): the
selectors of ``[feeds.select]`` applied to one page or API answer, item by item, with the
raw text each one picked out, so an admin can see which selector works and which does not.

This is a report, not the extractor: the items to store come from ``monitor.parse.pages``
and ``monitor.parse.jsonapi``; this module only repeats their selection step (the same
``css:``/``xpath:`` prefixes, a list tried in turn, ``item`` first and every other
selector inside it) and keeps what each selector returned. Nothing here raises on a bad
page: a selector that cannot run is reported as a finding with its error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .charset import decode_feed

__all__ = ["Explanation", "Finding", "explain"]

FIELDS = ("title", "link", "date", "author", "body")
_WS = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)


@dataclass
class Finding:
    """One selector's result for one item: the selector that found a value (or the first
    one tried, when none did), the value as found, and why it failed if it did."""

    field: str
    selector: str
    value: str | None = None
    error: str | None = None


@dataclass
class Explanation:
    """What the selectors found on one page: how many nodes ``item`` matched (and with
    which selector), each item's findings in page order, and the ``next`` link."""

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
        text = _decode(content, content_type, encoding)
    except Exception as e:  # undecodable bytes: nothing to select from
        return Explanation(_shown(select["item"]), error=f"无法解码内容：{e}")
    if recipe["type"] == "json":
        return _explain_json(text, select)
    return _explain_html(text, select)


def _decode(content: bytes, content_type: str, encoding: str | None) -> str:
    m = _HTTP_CHARSET.search(content_type or "")
    charset = m.group(1) if m else None
    if charset is None:  # a page's <meta charset>; a lying one is rejected by decode_feed
        meta = _META_CHARSET.search(content[:4096])
        charset = meta.group(1).decode("ascii", "replace") if meta else None
    text, _ = decode_feed(content, http_charset=charset, override=encoding)
    return text


def _candidates(selector: Any) -> list[str]:
    if selector is None:
        return []
    return [selector] if isinstance(selector, str) else [str(s) for s in selector]


def _shown(selector: Any) -> str:
    return " | ".join(_candidates(selector))


def _one_line(value: str) -> str:
    return _WS.sub(" ", value).strip()


# ---------------------------------------------------------------- html (parsel)

def _run_css_or_xpath(node: Any, selector: str) -> Any:
    if selector.startswith("xpath:"):
        return node.xpath(selector.removeprefix("xpath:").strip())
    return node.css(selector.removeprefix("css:").strip())


def _texts(selection: Any) -> list[str]:
    """The strings a selection holds: text and attribute values as they are, an element
    as its whole text."""
    out = []
    for sel in selection:
        root = sel.root
        value = root if isinstance(root, str) else sel.xpath("string()").get() or ""
        value = _one_line(str(value))
        if value:
            out.append(value)
    return out


def _first_value(node: Any, name: str, selector: Any) -> Finding:
    tried = _candidates(selector)
    for sel in tried:
        try:
            values = _texts(_run_css_or_xpath(node, sel))
        except Exception as e:  # a selector parsel cannot compile
            return Finding(name, sel, error=_one_line(str(e)) or type(e).__name__)
        if values:
            joined = values[0] if name in ("link", "date") else " ".join(values)
            return Finding(name, sel, joined)
    return Finding(name, tried[0] if tried else "")


def _explain_html(text: str, select: dict[str, Any]) -> Explanation:
    from parsel import Selector

    page = Selector(text=text or "<html></html>", type="html")
    tried = _candidates(select["item"])
    out = Explanation(tried[0] if tried else "")
    nodes: Any = []
    for sel in tried:
        try:
            nodes = _run_css_or_xpath(page, sel)
        except Exception as e:
            out.item_selector, out.error = sel, _one_line(str(e)) or type(e).__name__
            return out
        if nodes:
            out.item_selector = sel
            break
    out.nodes = len(nodes)
    for node in nodes:
        out.items.append({name: _first_value(node, name, select.get(name))
                          for name in FIELDS if select.get(name)})
    if select.get("next"):
        out.next = _first_value(page, "next", select["next"])
    return out


# ---------------------------------------------------------------- json (JMESPath)

def _as_text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return _one_line(value)
    return json.dumps(value, ensure_ascii=False)


def _jmespath() -> Any:
    """The jmespath module (untyped: imported as a module object, not by name)."""
    import importlib

    return importlib.import_module("jmespath")


def _json_value(element: Any, name: str, selector: Any) -> Finding:
    jmespath = _jmespath()
    tried = _candidates(selector)
    for expr in tried:
        try:
            value = _as_text(jmespath.search(expr, element))
        except Exception as e:  # a bad expression (config validation should catch it)
            return Finding(name, expr, error=_one_line(str(e)) or type(e).__name__)
        if value is not None:
            return Finding(name, expr, value)
    return Finding(name, tried[0] if tried else "")


def _template_value(element: Any, template: str) -> Finding:
    try:
        fields = element if isinstance(element, dict) else {}
        return Finding("link", f"link_template {template}", template.format(**fields))
    except (KeyError, IndexError, ValueError) as e:
        return Finding("link", f"link_template {template}", error=f"缺少字段 {e}")


def _explain_json(text: str, select: dict[str, Any]) -> Explanation:
    jmespath = _jmespath()
    tried = _candidates(select["item"])
    out = Explanation(tried[0] if tried else "")
    try:
        doc = json.loads(text)
    except ValueError as e:
        out.error = f"内容不是合法的 JSON：{e}"
        return out
    elements: Any = None
    for expr in tried:
        try:
            elements = jmespath.search(expr, doc)
        except Exception as e:
            out.item_selector, out.error = expr, _one_line(str(e)) or type(e).__name__
            return out
        if elements:
            out.item_selector = expr
            break
    elements = elements if isinstance(elements, list) else ([elements] if elements else [])
    out.nodes = len(elements)
    for element in elements:
        found = {name: _json_value(element, name, select.get(name))
                 for name in FIELDS if select.get(name)}
        if select.get("link_template") and ("link" not in found or found["link"].value is None):
            found["link"] = _template_value(element, select["link_template"])
        out.items.append(found)
    return out
