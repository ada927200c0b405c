"""OPML import/export of feeds (``yuqing feeds import`` / ``feeds export``).

Import appends ``[[feeds]]`` tables to the config file as text, so the admin's comments
and layout survive; the result is validated before it is written.

Folders (an ``<outline>`` without ``xmlUrl`` holding others) become the feeds' ``group``
(nested folders joined with ``/``) and are written back as folders on export.

Export writes feed URLs redacted (:func:`~monitor.redact.redact_url`) unless asked for
the secrets; import refuses a URL whose secrets were redacted (it would be a broken feed).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, indent, tostring

import defusedxml.ElementTree as SafeET
import tomlkit
import tomlkit.items
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from .config import Config, FeedConfig, load_config, parse_config
from .durations import format_duration, parse_duration
from .errors import ConfigError
from .redact import MASK, redact_url

REDACTED_HINT = "地址中的密钥已隐去（***），无法使用：请用 `yuqing feeds export --include-secrets` 重新导出"


GROUP_SEP = "/"


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str
    group: str | None = None


@dataclass
class OpmlDoc:
    """What an OPML file holds: its feeds and the outlines that are neither a feed nor a
    folder (no ``xmlUrl``, no children), by their text."""

    feeds: list[OpmlFeed]
    no_url: list[str]


def _parse(path: Path) -> Element:
    try:
        root: Element = SafeET.parse(str(path)).getroot()
    except SafeET.ParseError as e:
        line, col = getattr(e, "position", (None, None))
        where = f"{path}:{line}" if line else str(path)
        message = "XML 格式错误" + (f"（第 {col + 1} 列附近）" if col is not None else "")
        raise ConfigError(f"不是有效的 OPML 文件：{message}", file=where) from None
    except DefusedXmlException:
        raise ConfigError("不是有效的 OPML 文件：含有实体或 DTD 声明（出于安全考虑不予处理）",
                          file=str(path)) from None
    return root


def _label(outline: Element) -> str:
    return (outline.get("title") or "").strip() or (outline.get("text") or "").strip()


def _walk(parent: Element, folders: list[str], doc: OpmlDoc) -> None:
    for outline in parent.findall("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            group = GROUP_SEP.join(folders) or None
            doc.feeds.append(OpmlFeed(_label(outline) or url, url, group))
        elif outline.find("outline") is not None:
            label = _label(outline)
            _walk(outline, [*folders, label] if label else folders, doc)
        else:
            doc.no_url.append(_label(outline) or "（无名称）")
        if url and outline.find("outline") is not None:
            _walk(outline, folders, doc)


def read_opml_doc(path: Path) -> OpmlDoc:
    """The feeds of an OPML file with their folders, and the outlines skipped."""
    root = _parse(path)
    doc = OpmlDoc([], [])
    body = root.find("body")
    _walk(body if body is not None else root, [], doc)
    if not doc.feeds:
        raise ConfigError("OPML 文件中没有带 xmlUrl 的订阅源", file=str(path))
    return doc


def read_opml(path: Path) -> list[OpmlFeed]:
    return read_opml_doc(path).feeds


def append_feeds(cfg: Config, entries: list[OpmlFeed], *, interval: str = "15m",
                 rejected: list[tuple[OpmlFeed, str]] | None = None,
                 present: list[OpmlFeed] | None = None) -> list[OpmlFeed]:
    """Append the entries not yet configured (by URL); names are made unique. Entries
    that would not be valid feeds (e.g. a ``feed://`` address) are skipped and, when
    ``rejected`` is given, listed there with the reason; those already configured (or
    twice in the file) are listed in ``present``."""
    if cfg.source is None:
        raise ConfigError("没有配置文件可写入")
    try:
        parse_duration(interval)
    except ValueError as e:
        raise ConfigError(str(e), key="--interval") from None
    urls = {f.url for f in cfg.feeds}
    names = {f.name for f in cfg.feeds}
    added: list[OpmlFeed] = []
    for entry in entries:
        if entry.url in urls:
            if present is not None:
                present.append(entry)
            continue
        if MASK in entry.url and redact_url(entry.url) == entry.url:
            if rejected is not None:
                rejected.append((entry, REDACTED_HINT))
            continue
        try:
            FeedConfig.model_validate({"name": entry.name, "url": entry.url,
                                       "interval": interval})
        except ValidationError as err:
            if rejected is not None:
                rejected.append((entry, err.errors()[0].get("msg", "无效")))
            continue
        name, n = entry.name, 2
        while name in names:
            name, n = f"{entry.name} ({n})", n + 1
        names.add(name)
        urls.add(entry.url)
        added.append(OpmlFeed(name, entry.url, entry.group))
    if not added:
        return added
    text = cfg.source.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    feeds = doc.get("feeds")
    if feeds is None:
        feeds = tomlkit.aot()
        doc["feeds"] = feeds
    for a in added:
        fields = {"name": a.name, "url": a.url, "interval": interval}
        if a.group:
            fields["group"] = a.group
        table = tomlkit.table() if isinstance(feeds, tomlkit.items.AoT) else tomlkit.inline_table()
        table.update(fields)
        feeds.append(table)
    new_text = tomlkit.dumps(doc)
    # validate before writing anything
    parse_config(tomllib.loads(new_text), source=cfg.source, text=new_text)
    cfg.source.write_text(new_text, encoding="utf-8")
    load_config(cfg.source)
    return added


def _folder(body: Element, folders: dict[str, Element], group: str | None) -> Element:
    """The outline element for ``group`` (nested by ``/``), made on first use."""
    if not group:
        return body
    parent, path = body, ""
    for part in [p for p in group.split(GROUP_SEP) if p]:
        path = f"{path}{GROUP_SEP}{part}"
        if path not in folders:
            folders[path] = SubElement(parent, "outline", text=part, title=part)
        parent = folders[path]
    return parent


def write_opml(feeds: list[FeedConfig], *, include_secrets: bool = False) -> str:
    """The feeds as an indented OPML document, their groups as folders; their URLs
    redacted unless ``include_secrets``."""
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = "yuqing-monitor 订阅源"
    body = SubElement(root, "body")
    folders: dict[str, Element] = {}
    for f in feeds:
        url = f.url if include_secrets else redact_url(f.url)
        SubElement(_folder(body, folders, f.group), "outline", type="rss", text=f.name,
                   title=f.name, xmlUrl=url, interval=format_duration(f.interval))
    indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"
