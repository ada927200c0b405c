"""OPML import/export of feeds (``yuqing feeds import`` / ``feeds export``).

Import appends ``[[feeds]]`` tables to the config file as text, so the admin's comments
and layout survive; the result is validated before it is written.

Export writes feed URLs redacted (:func:`~monitor.redact.redact_url`) unless asked for
the secrets; import refuses a URL whose secrets were redacted (it would be a broken feed).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

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


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str


def read_opml(path: Path) -> list[OpmlFeed]:
    try:
        root = SafeET.parse(str(path)).getroot()
    except SafeET.ParseError as e:
        line, col = getattr(e, "position", (None, None))
        where = f"{path}:{line}" if line else str(path)
        message = "XML 格式错误" + (f"（第 {col + 1} 列附近）" if col is not None else "")
        raise ConfigError(f"不是有效的 OPML 文件：{message}", file=where) from None
    except DefusedXmlException:
        raise ConfigError("不是有效的 OPML 文件：含有实体或 DTD 声明（出于安全考虑不予处理）",
                          file=str(path)) from None
    feeds: list[OpmlFeed] = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        url = url.strip()
        name = (outline.get("title") or "").strip() or (outline.get("text") or "").strip() or url
        feeds.append(OpmlFeed(name, url))
    if not feeds:
        raise ConfigError("OPML 文件中没有带 xmlUrl 的订阅源", file=str(path))
    return feeds


def append_feeds(cfg: Config, entries: list[OpmlFeed], *, interval: str = "15m",
                 rejected: list[tuple[OpmlFeed, str]] | None = None) -> list[OpmlFeed]:
    """Append the entries not yet configured (by URL); names are made unique. Entries
    that would not be valid feeds (e.g. a ``feed://`` address) are skipped and, when
    ``rejected`` is given, listed there with the reason."""
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
        added.append(OpmlFeed(name, entry.url))
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
        table = tomlkit.table() if isinstance(feeds, tomlkit.items.AoT) else tomlkit.inline_table()
        table.update(fields)
        feeds.append(table)
    new_text = tomlkit.dumps(doc)
    # validate before writing anything
    parse_config(tomllib.loads(new_text), source=cfg.source, text=new_text)
    cfg.source.write_text(new_text, encoding="utf-8")
    load_config(cfg.source)
    return added


def write_opml(feeds: list[FeedConfig], *, include_secrets: bool = False) -> str:
    """The feeds as an OPML document; their URLs redacted unless ``include_secrets``."""
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = "yuqing-monitor 订阅源"
    body = SubElement(root, "body")
    for f in feeds:
        url = f.url if include_secrets else redact_url(f.url)
        SubElement(body, "outline", type="rss", text=f.name, title=f.name, xmlUrl=url,
                   interval=format_duration(f.interval))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"
