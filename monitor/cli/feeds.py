"""``yuqing feeds ...``: feed status, OPML import and export."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..terminal import show
from .app import Invocation, emit_json, main, open_store, pass_invocation
from .options import JSON_OPTION

if TYPE_CHECKING:
    from ..config import FeedConfig

# A source's type as people read it (``feeds status``)
SOURCE_TYPES = {"feed": "订阅源", "html": "网页", "json": "接口"}


def source_type(feed: FeedConfig | None) -> str:
    """订阅源 / 网页 / 接口, and 网页（浏览器） for a page rendered by Chromium."""
    if feed is None:
        return "已移除"
    if feed.type == "html" and feed.render == "browser":
        return "网页（浏览器）"
    return SOURCE_TYPES.get(feed.type, feed.type)


@main.group()
def feeds() -> None:
    """订阅源的状态、导入和导出。"""


@feeds.command("status")
@JSON_OPTION
@click.option("--failing", is_flag=True, help="只列出抓取异常的订阅源（停用的不算）")
@pass_invocation
def feeds_status(state: Invocation, as_json: bool, failing: bool) -> None:
    """每个订阅源的状态：类型（订阅源、网页、接口）、正常 / 异常 / 停用、错误类型、
    连续失败次数、最近错误、下次抓取、最近新条目时间、响应时间、条目数，最后一行是汇总。
    地址和错误信息中的令牌、密码等密钥显示为 ***。

    示例：yuqing feeds status --failing；yuqing feeds status --json
    """
    from ..config import FeedConfig, secret_of, show_value
    from ..models import FeedState
    from ..redact import redact_text
    from ..schedule import is_overdue
    from ..store.db import utcnow

    cfg = state.config
    with open_store(state) as store:  # only reads: a running daemon owns the feed rows
        known = {r.name: r for r in store.feeds_status([f.name for f in cfg.feeds])}
    rows = [known.get(f.name) or FeedState(name=f.name, url=f.url) for f in cfg.feeds]

    now = utcnow()
    docs, extras = [], []
    for r in rows:
        feed = cfg.feed(r.name)
        enabled = feed.enabled if feed else False
        overdue = bool(feed and enabled and is_overdue(
            now, feed, r.next_check_at, cfg.daemon.overdue_intervals))
        docs.append({
            "name": r.name,
            "url": show_value(secret_of(FeedConfig, "url"), feed.url if feed else r.url),
            "ok": r.ok, "enabled": enabled,
            "consecutive_failures": r.consecutive_failures,
            "last_error": redact_text(r.last_error) if r.last_error else None,
            "last_error_kind": r.last_error_kind, "last_success_at": r.last_success_at,
            "last_checked_at": r.last_checked_at, "next_check_at": r.next_check_at,
            "overdue": overdue, "rearmed_at": r.rearmed_at, "rearm_note": r.rearm_note,
            "items_total": r.items_total,
        })
        # shown to people only: the JSON keys are fixed
        extras.append((source_type(feed), r.last_new_item_at, r.response_ms))
    if failing:
        shown = [(d, x) for d, x in zip(docs, extras, strict=True) if _health(d) == "failing"]
    else:
        shown = list(zip(docs, extras, strict=True))
    if as_json:
        emit_json([d for d, _ in shown])
        return
    if not docs:
        click.echo("尚未配置订阅源（在配置文件中添加 [[feeds]]）")
        return
    for d, (kind, new_at, ms) in shown:
        click.echo(_status_line(d, kind, new_at, ms, now))
    click.echo(_summary(docs))


# A feed's health as ``feeds status`` counts it
_HEALTH_NAMES = {"ok": "正常", "failing": "异常", "disabled": "停用", "new": "未抓取"}


def _health(doc: dict[str, Any]) -> str:
    if not doc["enabled"]:
        return "disabled"
    return {True: "ok", False: "failing", None: "new"}[doc["ok"]]


def _summary(docs: list[dict[str, Any]]) -> str:
    counts = {h: sum(_health(d) == h for d in docs) for h in _HEALTH_NAMES}
    line = f"正常 {counts['ok']} / 异常 {counts['failing']} / 停用 {counts['disabled']}"
    if counts["new"]:
        line += f" / 未抓取 {counts['new']}"
    return line


def _status_line(d: dict[str, Any], kind: str, new_at: datetime | None, ms: int | None,
                 now: datetime) -> str:
    """One feed in ``feeds status``: what it is, how it is, when it runs next."""
    from ..durations import describe_duration
    from ..models import FETCH_ERROR_NAMES
    from ..timefmt import for_people

    health = _health(d)
    mark = _HEALTH_NAMES[health]
    if health == "failing" and d["last_error_kind"]:
        mark += "：" + FETCH_ERROR_NAMES.get(d["last_error_kind"], d["last_error_kind"])
    if d["overdue"]:
        late = describe_duration((now - d["next_check_at"]).total_seconds())
        mark += f"，逾期 {late} 未抓取（守护进程是否在运行？）"
    line = (f"{show(d['name'])}  〈{kind}〉  [{mark}]  条目 {d['items_total']}  "
            f"最近成功 {for_people(d['last_success_at'])}  "
            f"最近新条目 {for_people(new_at)}")
    if ms is not None:
        line += f"  响应 {ms} 毫秒"
    if health != "disabled":
        line += f"  下次抓取 {for_people(d['next_check_at'])}"
    if d["consecutive_failures"]:
        line += f"  连续失败 {d['consecutive_failures']} 次：{show(d['last_error'] or '')}"
    if d["rearmed_at"] and (now - d["rearmed_at"]).total_seconds() < 86400:
        line += f"  调度自检 {for_people(d['rearmed_at'])}：{d['rearm_note']}"
    return line


@feeds.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--interval", default="15m", help="新订阅源的抓取间隔（默认 15m）")
@pass_invocation
def feeds_import(state: Invocation, opml: Path, interval: str) -> None:
    """从 OPML 文件导入订阅源，追加到配置文件；文件夹记为订阅源的 group。
    跳过的逐个列出：地址已在配置中的、密钥已隐去的、没有 xmlUrl 的、地址无效的。

    示例：yuqing feeds import feeds.opml
    """
    from ..opml import append_feeds, read_opml_doc
    from ..redact import redact_url

    doc = read_opml_doc(opml)
    rejected: list[Any] = []
    present: list[Any] = []
    added = append_feeds(state.config, doc.feeds, interval=interval, rejected=rejected,
                         present=present)
    for e in added:
        group = f"  （分组 {show(e.group)}）" if e.group else ""
        click.echo(f"已添加 {show(e.name)}  {redact_url(e.url)}{group}")
    for e in present:
        click.echo(f"跳过 {show(e.name)}  {redact_url(e.url)}：地址已在配置中")
    for e, why in rejected:
        click.echo(f"未导入 {show(e.name)}  {redact_url(e.url)}：{why.removeprefix('Value error, ')}",
                   err=True)
    for label in doc.no_url:
        click.echo(f"跳过 {show(label)}：没有 xmlUrl（不是订阅源）")
    click.echo(f"导入 {len(added)} 个，已存在 {len(present)} 个，无效 {len(rejected)} 个，"
               f"没有地址 {len(doc.no_url)} 个")


@feeds.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写入文件（默认输出到屏幕）")
@click.option("--include-secrets", is_flag=True,
              help="导出完整地址，包括其中的令牌、密码等密钥（默认显示为 ***；导出的文件请妥善保管）")
@pass_invocation
def feeds_export(state: Invocation, output: Path | None, include_secrets: bool) -> None:
    """把配置中的订阅源导出为 OPML；地址中的令牌、密码等密钥默认隐去为 ***。

    示例：yuqing feeds export -o feeds.opml（迁移到另一台机器时加 --include-secrets）
    """
    from ..opml import write_opml
    from ..redact import redact_url

    feeds = state.config.feeds
    text = write_opml(feeds, include_secrets=include_secrets)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"已导出 {len(feeds)} 个订阅源到 {output}")
    else:
        click.echo(text, nl=False)
    hidden = 0 if include_secrets else sum(redact_url(f.url) != f.url for f in feeds)
    if hidden:
        click.echo(f"注意：{hidden} 个订阅源地址中的令牌、密码等密钥已隐去（显示为 ***），"
                   "这样的地址不能直接使用；需要完整地址时加 --include-secrets", err=True)
