"""The ``yuqing`` command line: the only place that turns domain errors into messages.

Exit codes: 0 success; 1 bad input or a failed operation (one Chinese line on stderr,
a traceback only with ``--debug``); 2 bad usage (click's own).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from . import __version__
from .cli_i18n import ChineseGroup, usage_error_text
from .config import Config, default_config_path, dump_config, load_config
from .errors import ConfigError, MonitorError
from .terminal import show

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")


class AppGroup(ChineseGroup):
    """Turns ``MonitorError`` into one line on stderr and exit 1, and click's own usage
    errors into Chinese with exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as e:
            click.echo(usage_error_text(e), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("已中止", err=True)
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as e:
            if ctx.meta.get("yuqing.debug"):
                traceback.print_exc()
            for line in str(e).splitlines() or [type(e).__name__]:
                click.echo(f"错误：{line}" if not _has_location(line) else line, err=True)
            ctx.exit(1)
        except BrokenPipeError:  # `yuqing items list | head`: the reader had enough
            _silence_stdout()
            ctx.exit(0)
        except KeyboardInterrupt:
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:  # anything unforeseen: one line, a traceback only with --debug
            if ctx.meta.get("yuqing.debug"):
                traceback.print_exc()
            click.echo(f"错误：{_describe(e, ctx)}", err=True)
            ctx.exit(1)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _describe(e: Exception, ctx: click.Context) -> str:
    if isinstance(e, sqlite3.Error):
        from .store.db import describe_database_error

        state = ctx.find_object(State)
        cfg = state._config if state is not None else None
        return describe_database_error(e, cfg.storage.path if cfg else Path("数据库"))
    if isinstance(e, OSError):
        return f"{e.strerror or e}：{e.filename or ''}"
    return f"内部错误 {type(e).__name__}：{e}（加 --debug 查看详情）"


def _has_location(line: str) -> bool:
    head = line.split(":", 2)
    return len(head) >= 3 and head[1].isdigit()


class State:
    def __init__(self, config_path: Path, debug: bool) -> None:
        self.config_path = config_path
        self.debug = debug
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_state = click.make_pass_decorator(State)


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="配置文件（默认 $YUQING_CONFIG，否则 ./config/monitor.toml）")
@click.option("--debug", is_flag=True, help="出错时打印完整的调用栈，日志级别 DEBUG")
@click.version_option(__version__, prog_name="yuqing", help="显示版本并退出",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """yuqing-monitor 舆情监测：抓取订阅源、按规则评分、生成事件并告警、输出年度报告。

    \b
    示例：
      yuqing init /srv/yuqing          # 生成一套可运行的部署目录
      yuqing config check --dump       # 检查配置并打印生效配置（密钥已隐去）
      yuqing fetch --json              # 立即抓取一遍所有订阅源
      yuqing run                       # 前台运行守护进程（systemd 启动的就是它）
    """
    ctx.meta["yuqing.debug"] = debug
    ctx.obj = State(config_path or default_config_path(), debug)


def emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=None, default=str))


def parse_when(value: str | None, *, param: str) -> datetime | None:
    """``YYYY-MM-DD`` or a full ISO 8601 time; naive values are read as UTC+8 (本地时间)."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是日期，应写成 YYYY-MM-DD 或完整的 ISO 8601 时间",
                                 param_hint=param) from None
    if dt.tzinfo is None:
        from zoneinfo import ZoneInfo

        dt = dt.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return dt.astimezone(UTC)


def open_store(state: State, *, create: bool = False) -> Any:
    """The configured store for a command. A command that only reads never creates the
    database: when the file is missing it says so on stderr and works on an empty
    in-memory store (so ``feeds status`` still lists the configured feeds)."""
    from .errors import DatabaseMissingError
    from .store import Store

    cfg = state.config
    try:
        return Store(cfg.storage.path, busy_timeout=cfg.storage.busy_timeout, create=create)
    except DatabaseMissingError as e:
        click.echo(f"注意：{e}；未创建数据库，结果为空", err=True)
        return Store(":memory:")


# ---- init / config -----------------------------------------------------------------

@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """生成部署目录：config/monitor.toml（带中文注释）、rules/（默认规则）、logs/、data/。

    已存在的文件不会被覆盖。示例：yuqing init /srv/yuqing
    """
    from .scaffold import scaffold

    created = scaffold(directory)
    for path in created:
        click.echo(f"已创建 {path}")
    click.echo(f"下一步：编辑 {directory / 'config' / 'monitor.toml'} 中的 [[feeds]]，"
               f"然后运行 yuqing --config {directory / 'config' / 'monitor.toml'} config check")


@main.group("config")
def config_group() -> None:
    """检查配置。"""


@config_group.command("check")
@click.option("--dump", is_flag=True, help="以 TOML 打印生效配置（密钥已隐去）")
@pass_state
def config_check(state: State, dump: bool) -> None:
    """校验配置文件；--dump 打印包含默认值的生效配置。示例：yuqing config check --dump"""
    cfg = state.config
    if dump:
        click.echo(dump_config(cfg), nl=False)
        return
    enabled = sum(1 for f in cfg.feeds if f.enabled)
    click.echo(f"配置有效：{cfg.source}（订阅源 {len(cfg.feeds)} 个，启用 {enabled} 个；"
               f"数据库 {cfg.storage.path}；规则目录 {cfg.rules.dir}）")


# ---- run / fetch -------------------------------------------------------------------

@main.command()
@pass_state
def run(state: State) -> None:
    """前台运行守护进程，按计划抓取；收到 SIGTERM/SIGINT 后 10 秒内退出。示例：yuqing run"""
    from .daemon import serve
    from .logsetup import setup_logging

    cfg = state.config
    setup_logging(cfg, debug=state.debug)
    serve(cfg)


@main.command()
@click.option("--feed", "feed_name", default=None, metavar="名称", help="只抓取这个订阅源")
@JSON_OPTION
@pass_state
def fetch(state: State, feed_name: str | None, as_json: bool) -> None:
    """立即抓取一遍（全部启用的订阅源或 --feed 指定的一个），走完整个处理流程后退出。

    示例：yuqing fetch --feed 区融媒体中心 --json
    """
    from .daemon import fetch_once
    from .logsetup import setup_logging

    cfg = state.config
    setup_logging(cfg, debug=state.debug, one_shot=True)
    outcomes = asyncio.run(fetch_once(cfg, feed=feed_name))
    total = sum(o.new_items for o in outcomes)
    if as_json:
        emit_json({"feeds": [o.to_json() for o in outcomes], "new_items": total})
        return
    for o in outcomes:
        if o.ok:
            note = "未变化" if o.status == 304 else f"新增 {o.new_items} 条"
            if o.changed_items:
                note += f"，更新 {o.changed_items} 条"
            click.echo(f"✓ {o.name}：{note}")
        else:
            click.echo(f"✗ {o.name}：{o.error}")
    click.echo(f"共新增 {total} 条")


# ---- feeds -------------------------------------------------------------------------

@main.group()
def feeds() -> None:
    """订阅源的状态、导入和导出。"""


@feeds.command("status")
@JSON_OPTION
@pass_state
def feeds_status(state: State, as_json: bool) -> None:
    """每个订阅源的状态：是否正常、连续失败次数、最近错误、最近成功时间、条目数。
    地址和错误信息中的令牌、密码等密钥显示为 ***。

    示例：yuqing feeds status --json
    """
    from .config import FeedConfig, secret_of, show_value
    from .durations import describe_duration
    from .redact import redact_text
    from .schedule import is_overdue
    from .store.db import parse_iso, utcnow

    cfg = state.config
    with open_store(state) as store:
        store.sync_feeds(cfg.feeds)
        rows = store.feeds_status([f.name for f in cfg.feeds])

    now = utcnow()
    docs = []
    for r in rows:
        feed = cfg.feed(r["name"])
        enabled = feed.enabled if feed else False
        overdue = bool(feed and enabled and is_overdue(
            now, feed, parse_iso(r["next_check_at"]), cfg.daemon.overdue_intervals))
        docs.append({
            "name": r["name"], "url": show_value(secret_of(FeedConfig, "url"), r["url"]),
            "ok": bool(r["ok"]) if r["ok"] is not None else None, "enabled": enabled,
            "consecutive_failures": r["consecutive_failures"],
            "last_error": redact_text(r["last_error"]) if r["last_error"] else None,
            "last_error_kind": r["last_error_kind"], "last_success_at": r["last_success_at"],
            "last_checked_at": r["last_checked_at"], "next_check_at": r["next_check_at"],
            "overdue": overdue, "rearmed_at": r["rearmed_at"], "rearm_note": r["rearm_note"],
            "items_total": r["items_total"],
        })
    if as_json:
        emit_json(docs)
        return
    if not docs:
        click.echo("尚未配置订阅源（在配置文件中添加 [[feeds]]）")
    for d in docs:
        mark = {True: "正常", False: "异常", None: "未抓取"}[d["ok"]]
        if d["overdue"]:
            late = describe_duration((now - parse_iso(d["next_check_at"])).total_seconds())
            mark += f"，逾期 {late} 未抓取（守护进程是否在运行？）"
        line = f"{show(d['name'])}  [{mark}]  条目 {d['items_total']}  最近成功 {d['last_success_at'] or '—'}"
        if d["consecutive_failures"]:
            line += f"  连续失败 {d['consecutive_failures']} 次：{show(d['last_error'] or '')}"
        if d["rearmed_at"]:
            line += f"  调度自检 {d['rearmed_at']}：{d['rearm_note']}"
        click.echo(line)


@feeds.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--interval", default="15m", help="新订阅源的抓取间隔（默认 15m）")
@pass_state
def feeds_import(state: State, opml: Path, interval: str) -> None:
    """从 OPML 文件导入订阅源，追加到配置文件（已有的地址跳过）。示例：yuqing feeds import feeds.opml"""
    from .opml import append_feeds, read_opml
    from .redact import redact_url

    cfg = state.config
    entries = read_opml(opml)
    rejected: list[Any] = []
    added = append_feeds(cfg, entries, interval=interval, rejected=rejected)
    for e in added:
        click.echo(f"已添加 {e.name}  {redact_url(e.url)}")
    for e, why in rejected:
        click.echo(f"未导入 {e.name}  {redact_url(e.url)}：{why.removeprefix('Value error, ')}", err=True)
    existing = len(entries) - len(added) - len(rejected)
    click.echo(f"导入 {len(added)} 个，已存在 {existing} 个，无效 {len(rejected)} 个")


@feeds.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写入文件（默认输出到屏幕）")
@click.option("--include-secrets", is_flag=True,
              help="导出完整地址，包括其中的令牌、密码等密钥（默认显示为 ***；导出的文件请妥善保管）")
@pass_state
def feeds_export(state: State, output: Path | None, include_secrets: bool) -> None:
    """把配置中的订阅源导出为 OPML；地址中的令牌、密码等密钥默认隐去为 ***。

    示例：yuqing feeds export -o feeds.opml（迁移到另一台机器时加 --include-secrets）
    """
    from .opml import write_opml
    from .redact import redact_url

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


# ---- items -------------------------------------------------------------------------

def _item_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "feed": row["feed"], "title": row["title"], "link": row["link"],
            "published_at": row["published_at"], "fetched_at": row["fetched_at"],
            "body": row["body"]}


def _print_items(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("没有符合条件的条目")
    for r in rows:
        when = r["published_at"] or r["fetched_at"]
        click.echo(f"[{r['id']}] {when}  {r['feed']}\n    {show(r['title'])}")
        if r["link"]:
            click.echo(f"    {show(r['link'])}")


@main.group()
def items() -> None:
    """查看和搜索已抓取的条目。"""


@items.command("list")
@click.option("--feed", "feed_name", default=None, metavar="名称", help="只看这个订阅源")
@click.option("--since", default=None, metavar="日期", help="起始日期 YYYY-MM-DD 或 ISO 8601 时间")
@click.option("--limit", default=50, type=click.IntRange(min=1), metavar="N",
              help="最多显示多少条（默认 50）")
@JSON_OPTION
@pass_state
def items_list(state: State, feed_name: str | None, since: str | None, limit: int,
               as_json: bool) -> None:
    """列出条目，最新的在前。示例：yuqing items list --feed 区融媒体中心 --since 2026-01-01"""
    since_dt = parse_when(since, param="--since")
    with open_store(state) as store:
        rows = store.list_items(feed=feed_name, since=since_dt, limit=limit)
    if as_json:
        emit_json([_item_json(r) for r in rows])
    else:
        _print_items(rows)


@items.command("delete")
@click.argument("item_ids", nargs=-1, required=True, type=int)
@pass_state
def items_delete(state: State, item_ids: tuple[int, ...]) -> None:
    """删除条目（例如广告、垃圾信息）：从列表和搜索中消失，再次抓取也不会回来。

    示例：yuqing items delete 12 13
    """
    from .errors import NotFoundError

    with open_store(state) as store:
        missing = [i for i in item_ids if store.get_item(i) is None]
        if missing:
            raise NotFoundError(f"没有编号为 {'、'.join(map(str, missing))} 的条目"
                                "（用 yuqing items list 查看编号）")
        for i in item_ids:
            store.delete_item(i)
            store.log_event("item.deleted", str(i), actor=os.environ.get("USER"))
    click.echo(f"已删除 {len(item_ids)} 条；它们不会在再次抓取时重新出现")


@items.command("search")
@click.argument("query")
@click.option("--limit", default=50, type=click.IntRange(min=1), metavar="N",
              help="最多显示多少条（默认 50）")
@JSON_OPTION
@pass_state
def items_search(state: State, query: str, limit: int, as_json: bool) -> None:
    """全文搜索（支持中文词语，繁简通搜）。示例：yuqing items search 欠薪"""
    with open_store(state) as store:
        rows = store.search_items(query, limit=limit)
    if as_json:
        emit_json([_item_json(r) for r in rows])
    else:
        _print_items(rows)


from .cli_rules import rules  # noqa: E402  (registers `items scored` too)

main.add_command(rules)


def entry() -> None:
    main(prog_name="yuqing")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["ConfigError", "main"]
