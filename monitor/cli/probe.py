"""``yuqing feeds try URL`` and ``yuqing feeds test NAME``: one fetch through the real
fetcher (guard, caps, redirects) and one parse through the real parser, with what each
selector found per item, the next page and the layout error the daemon would record.
Nothing is stored: the database is never opened.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from ..terminal import show
from .app import Invocation, emit_json, pass_invocation
from .feeds import feeds
from .options import JSON_OPTION

if TYPE_CHECKING:
    from ..config import Config, FeedConfig
    from ..errors import FetchError
    from ..models import FetchResult, ParsedFeed, ParsedItem
    from ..parse.explain import Explanation, Finding

BODY_PREVIEW = 80
TRY_NAME = "试抓"          # the name a `feeds try` source goes by (logs, messages)
_INT_KEYS = ("max_pages",)


@dataclass
class Probe:
    """What one try found: the fetch, the parse (or its error) and the findings."""

    feed: FeedConfig
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: FetchError | None = None
    explained: Explanation | None = None
    pairs: list[tuple[ParsedItem, dict[str, Finding]]] = field(default_factory=list)


@feeds.command("try")
@click.argument("url")
@click.option("--type", "kind", type=click.Choice(["html", "json", "feed"]), default=None,
              help="来源类型：html 网页列表、json 接口、feed 订阅源（有 --select 时默认 html，否则 feed）")
@click.option("--select", "selects", multiple=True, metavar="KEY=SELECTOR",
              help="[feeds.select] 的一项，可重复：item、title、link、date、author、body、"
                   "link_template、date_format、max_pages；同一项写多次即依次尝试的列表")
@click.option("--next", "next_selector", default=None, metavar="SELECTOR",
              help="下一页链接的选择器（同 --select next=…）")
@click.option("--encoding", default=None, help="指定编码（如 gb18030），不写则自动识别")
@JSON_OPTION
@pass_invocation
def feeds_try(state: Invocation, url: str, kind: str | None, selects: tuple[str, ...],
              next_selector: str | None, encoding: str | None, as_json: bool) -> None:
    """试抓一个地址：抓取一次、按选择器解析，列出将会保存的条目和每个选择器取到的内容、
    下一页地址和页面结构错误；什么也不保存。用它逐步写出 [feeds.select]。

    \b
    示例：
      yuqing feeds try 'https://bbs.example.org/forum-9-1.html' \\
        --select item='css:tbody[id^=normalthread_]' --select title='css:a.xst::text' \\
        --select link='css:a.xst::attr(href)' --select date='css:td.by em::text'
      yuqing feeds try 'https://liuyan.example.org/api/list' --type json \\
        --select item=data.list --select title=title --select date=createTime
    """
    select = _select_options(selects, next_selector)
    feed = _try_feed(url, kind or ("html" if select else "feed"), select, encoding)
    _report(state.config, feed, as_json)


@feeds.command("test")
@click.argument("name")
@JSON_OPTION
@pass_invocation
def feeds_test(state: Invocation, name: str, as_json: bool) -> None:
    """试抓一个已配置的订阅源（用它自己的地址、选择器、编码），列出将会保存的条目和每个
    选择器取到的内容；什么也不保存。订阅源（type = "feed"）也可以，显示解析器读到的条目。

    示例：yuqing feeds test 某社区论坛
    """
    from ..errors import NotFoundError

    cfg = state.config
    feed = cfg.feed(name)
    if feed is None:
        names = "、".join(f.name for f in cfg.feeds) or "（无）"
        raise NotFoundError(f"没有名为 {name!r} 的订阅源；已配置：{names}")
    _report(cfg, feed, as_json)


# ---------------------------------------------------------------- building the source

def _select_options(selects: tuple[str, ...], next_selector: str | None) -> dict[str, Any]:
    """``KEY=SELECTOR`` options as a ``[feeds.select]`` table; a key given twice is a list."""
    import difflib

    from ..config import SelectConfig
    from ..errors import ConfigError

    table: dict[str, Any] = {}
    for option in selects:
        key, sep, value = option.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{option!r} 应写成 KEY=SELECTOR，例如 title='css:a.xst::text'",
                                     param_hint="--select")
        if key not in SelectConfig.model_fields:
            close = difflib.get_close_matches(key, list(SelectConfig.model_fields), n=1)
            hint = f"是不是想写 {close[0]}？" if close else \
                f"可用的项：{'、'.join(SelectConfig.model_fields)}"
            raise ConfigError(f"--select {key}：未知的选择项（{hint}）")
        if key in _INT_KEYS:
            if not value.strip().isdigit():
                raise click.BadParameter(f"{key} 应为整数（当前值：{value!r}）", param_hint="--select")
            table[key] = int(value)
        elif key in table:
            before = table[key]
            table[key] = [*(before if isinstance(before, list) else [before]), value]
        else:
            table[key] = value
    if next_selector is not None:
        table["next"] = next_selector
    return table


def _try_feed(url: str, kind: str, select: dict[str, Any], encoding: str | None) -> FeedConfig:
    """The source as the config would hold it, validated the same way (pydantic)."""
    from pydantic import ValidationError

    from ..config import FeedConfig
    from ..config_errors import to_config_error
    from ..errors import ConfigError

    data: dict[str, Any] = {"name": TRY_NAME, "url": url, "type": kind}
    if select:
        data["select"] = select
    if encoding:
        data["encoding"] = encoding
    try:
        return FeedConfig.model_validate(data)
    except ValidationError as e:
        err = to_config_error(FeedConfig, e, "", "")
        where = _option_of(err.key)
        hint = f"（{err.hint}）" if err.hint and "yuqing init" not in err.hint else ""
        if not hint and where.startswith("--select ") and err.message == "缺少必填项":
            hint = f"（加上 {where}=选择器）"
        raise ConfigError(f"{where}：{err.message}{hint}") from None


def _option_of(key: str | None) -> str:
    """Which command-line option a config key came from."""
    if not key:
        return "选项"
    head, _, rest = key.partition(".")
    if head == "select":
        return f"--select {rest.split('[')[0]}" if rest else "--select"
    return {"url": "地址", "type": "--type", "encoding": "--encoding"}.get(head, f"选项 {key}")


# ---------------------------------------------------------------- fetch, parse, explain

def _probe(cfg: Config, feed: FeedConfig, now: datetime) -> Probe:
    from ..errors import FetchError
    from ..parse import parse_in_worker
    from ..pipeline import recipe_of

    probe = Probe(feed)
    try:
        probe.result = asyncio.run(_fetch_once(cfg, feed))
    except FetchError as e:
        probe.error = e
        return probe
    result, recipe = probe.result, recipe_of(feed)
    try:
        probe.parsed = parse_in_worker(result.content, result.content_type,
                                       feed.encoding or None, feed.timezone, result.url, now,
                                       recipe)
    except FetchError as e:
        probe.error = e
    if recipe is not None:
        from ..parse.explain import explain

        probe.explained = explain(result.content, recipe, content_type=result.content_type,
                                  encoding=feed.encoding or None)
    probe.pairs = _pair(probe.parsed.items if probe.parsed else [], probe.explained)
    return probe


async def _fetch_once(cfg: Config, feed: FeedConfig) -> FetchResult:
    from ..fetch import Fetcher

    async with Fetcher(cfg.fetch) as fetcher:
        return await fetcher.fetch(feed)


def _pair(items: list[ParsedItem], explained: Explanation | None
          ) -> list[tuple[ParsedItem, dict[str, Finding]]]:
    """Each item the parser kept with the findings of its node: in order when the parser
    kept every node, else by title (the parser drops nodes without a title or link)."""
    rows = explained.items if explained else []
    if len(rows) == len(items):
        return list(zip(items, rows, strict=True))
    by_title: dict[str, dict[str, Finding]] = {}
    for row in rows:
        title = row.get("title")
        if title is not None and title.value:
            by_title.setdefault(title.value, row)
    return [(item, by_title.get(item.title, {})) for item in items]


def _report(cfg: Config, feed: FeedConfig, as_json: bool) -> None:
    from ..store.db import utcnow

    now = utcnow()
    probe = _probe(cfg, feed, now)
    if as_json:
        emit_json(_as_doc(probe))
    else:
        _print(probe)
    if probe.error is not None:
        raise probe.error  # one line on stderr, exit 1: the message the daemon would store


# ---------------------------------------------------------------- output

def _finding_doc(f: Finding) -> dict[str, Any]:
    return {"selector": f.selector, "value": f.value}


def _as_doc(probe: Probe) -> dict[str, Any]:
    from ..redact import redact_text, redact_url

    r, parsed, ex = probe.result, probe.parsed, probe.explained
    items = [{"title": item.title, "link": item.link, "published_at": item.published_at,
              "date_note": item.date_note, "author": item.author, "body": item.body,
              "findings": {k: _finding_doc(v) for k, v in found.items()}}
             for item, found in probe.pairs]
    error = None
    if probe.error is not None:
        error = {"kind": probe.error.kind, "message": redact_text(str(probe.error))}
    return {
        "name": probe.feed.name, "type": probe.feed.type, "url": redact_url(probe.feed.url),
        "final_url": redact_url(r.url) if r else None, "status": r.status if r else None,
        "bytes": len(r.content) if r else None,
        "encoding": parsed.encoding if parsed else None,
        "item_selector": ex.item_selector if ex else None, "nodes": ex.nodes if ex else None,
        "items": items, "next_url": _next_url(probe), "error": error, "stored": False,
    }


def _next_url(probe: Probe) -> str | None:
    if probe.parsed is not None and probe.parsed.next_url:
        return probe.parsed.next_url
    found = probe.explained.next if probe.explained else None
    return found.value if found and found.value else None


def _print(probe: Probe) -> None:
    from ..models import FETCH_ERROR_NAMES
    from ..redact import redact_text, redact_url

    r = probe.result
    if r is None:
        click.echo(f"抓取 {redact_url(probe.feed.url)} 失败")
        return
    encoding = f"，编码 {probe.parsed.encoding}" if probe.parsed and probe.parsed.encoding else ""
    click.echo(f"抓取 {redact_url(r.url)}：HTTP {r.status}，{_size(len(r.content))}{encoding}")
    for n, (item, found) in enumerate(probe.pairs, 1):
        _print_item(n, item, found)
    if probe.explained is not None:
        _print_unmatched(probe)
    if probe.explained is not None and probe.feed.select and probe.feed.select.next:
        nxt = _next_url(probe)
        click.echo(f"\n下一页：{show(nxt) if nxt else '未找到（next 选择器没有取到链接）'}")
    if probe.error is not None:
        kind = FETCH_ERROR_NAMES.get(probe.error.kind, probe.error.kind)
        click.echo(f"\n守护进程会记为抓取失败（{kind}，{probe.error.kind}）："
                   f"{show(redact_text(str(probe.error)))}")
        if probe.error.kind == "not_feed" and probe.feed.type == "feed":
            click.echo("这是网页而不是订阅源：用 --select item=… --select title=… 按网页来源试抓"
                       "（接口用 --type json）")
    click.echo("\n" + _summary(probe))


def _print_item(n: int, item: ParsedItem, found: dict[str, Finding]) -> None:
    from ..models import DATE_NOTES
    from ..timefmt import for_people

    click.echo(f"\n{n}. {show(item.title) or '（无标题）'}")
    click.echo(f"   链接：{show(item.link) or '（无）'}")
    if item.date_note:
        date = f"{for_people(item.published_at)}（{DATE_NOTES.get(item.date_note, item.date_note)}）"
    elif item.published_at is None:
        date = "（无，按抓取时间排序）"
    else:
        date = for_people(item.published_at)
    click.echo(f"   日期：{date}")
    if item.author:
        click.echo(f"   作者：{show(item.author)}")
    if item.body:
        body = " ".join(item.body.split())
        more = "…" if len(body) > BODY_PREVIEW else ""
        click.echo(f"   正文：{show(body[:BODY_PREVIEW])}{more}")
    for f in found.values():
        click.echo(f"   {_finding_line(f, item)}")


def _finding_line(f: Finding, item: ParsedItem | None) -> str:
    from ..timefmt import for_people

    if not f.value:
        return f"{f.field} ← {show(f.selector)}：未找到"
    value = f.value if len(f.value) <= BODY_PREVIEW else f.value[:BODY_PREVIEW] + "…"
    line = f"{f.field} ← {show(f.selector)} = \"{show(value)}\""
    if item is not None and f.field == "date":
        read = for_people(item.published_at) if item.published_at and not item.date_note else "无法识别"
        line += f" → {read}"
    elif item is not None and f.field == "link" and item.link and item.link != f.value:
        line += f" → {show(item.link)}"
    return line


def _print_unmatched(probe: Probe) -> None:
    """The nodes the parser did not keep (no title or link), or every node when the
    parse failed: what each selector found there."""
    assert probe.explained is not None
    kept = {id(found) for _, found in probe.pairs}
    rest = [row for row in probe.explained.items if id(row) not in kept]
    if not rest:
        return
    head = "各节点的选择器结果" if probe.parsed is None else "没有保存的节点（缺标题或链接）"
    click.echo(f"\n{head}：")
    for n, row in enumerate(rest[:20], 1):
        click.echo(f"  节点 {n}：")
        for f in row.values():
            click.echo(f"    {_finding_line(f, None)}")
    if len(rest) > 20:
        click.echo(f"  …… 另有 {len(rest) - 20} 个节点")


def _summary(probe: Probe) -> str:
    items = [item for item, _ in probe.pairs]
    parts = []
    ex = probe.explained
    if ex is not None:
        parts.append(f"item 选择器 {show(ex.item_selector)} 匹配 {ex.nodes} 个节点")
        if ex.error:
            parts.append(f"选择器出错：{show(ex.error)}")
    if probe.parsed is not None:
        dated = sum(1 for i in items if i.published_at is not None and not i.date_note)
        authored = sum(1 for i in items if i.author)
        parts.append(f"将保存 {len(items)} 条（有日期 {dated} 条，有作者 {authored} 条）")
    else:
        parts.append("解析失败，不会保存任何条目")
    return "汇总：" + "，".join(parts) + "；这是试抓，什么也没有保存"


def _size(n: int) -> str:
    return f"{n} 字节" if n < 10240 else f"{n / 1024:.1f} KB"
