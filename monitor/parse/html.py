"""HTML -> readable text (lxml, with a tolerant fallback), entities decoded, whitespace tidied."""

from __future__ import annotations

import html as _html
import re
import threading
from html.parser import HTMLParser

import lxml.html
from lxml import etree

from .xmlclean import clean_xml_text

_BLOCK = frozenset((
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend",
    "li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
))
_SKIP = frozenset((
    "script", "style", "noscript", "template", "head", "title", "iframe", "object", "embed",
    "svg", "math", "select", "option", "button", "textarea", "canvas", "audio", "video",
))
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_LOCAL = threading.local()  # lxml parser objects must not be shared between threads


def _parser() -> etree.HTMLParser:
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = lxml.html.HTMLParser(
            remove_comments=True, remove_pis=True, no_network=True, encoding="utf-8",
            default_doctype=False)
    return parser


class _FlatText(HTMLParser):
    """Fallback for documents lxml refuses (nesting deeper than libxml2's limit)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br" or tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def decode_entities(text: str) -> str:
    """Decode leftover (e.g. double-escaped) character references that end in ``;``."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: _html.unescape(m.group(0)), text)


def html_to_text(html: str) -> str:
    """Readable plain text from (hostile) HTML.

    Block elements and ``<br>`` become line breaks; scripts, styles and other non-text
    elements are dropped; entities are decoded; whitespace is collapsed within each line;
    blank lines are removed. Never fetches or evaluates anything.
    """
    if not html or not html.strip():
        return ""
    html = clean_xml_text(html)
    if "<" not in html:
        return tidy_text(decode_entities(html))
    parser = _parser()
    try:
        root = etree.fromstring(html.encode("utf-8", "replace"), parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        flat = _FlatText()
        flat.feed(html)
        flat.close()
        return tidy_text("".join(flat.parts))
    if root is None:
        return ""
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if event == "start":
            if tag in _SKIP:
                walker.skip_subtree()
                continue
            if tag == "br" or tag in _BLOCK:
                parts.append("\n")
            if el.text:
                parts.append(el.text)
        else:
            if tag in _BLOCK:
                parts.append("\n")
            if el.tail:
                parts.append(el.tail)
    return tidy_text("".join(parts))


def tidy_text(text: str) -> str:
    """Plain text -> entities decoded, whitespace collapsed per line, blank lines dropped."""
    lines = (_SPACES.sub(" ", line).strip() for line in decode_entities(text).splitlines())
    return "\n".join(line for line in lines if line)
