"""``yuqing run`` (the daemon) and ``yuqing fetch`` (one pass through the pipeline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .app import Invocation, emit_json, main, pass_invocation
from .options import FEED_OPTION, JSON_OPTION

if TYPE_CHECKING:
    from ..pipeline import FeedOutcome


@main.command()
@pass_invocation
def run(state: Invocation) -> None:
    """前台运行守护进程，按计划抓取；收到 SIGTERM/SIGINT 后 10 秒内退出。示例：yuqing run"""
    import signal

    early: list[int] = []  # a stop signal during start-up is remembered and honoured
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: early.append(signum))
    from ..daemon import serve
    from ..logsetup import setup_logging

    cfg = state.config
    setup_logging(cfg, debug=state.debug)
    serve(cfg, early_signals=early)


@main.command()
@FEED_OPTION
@JSON_OPTION
@pass_invocation
def fetch(state: Invocation, feed_name: str | None, as_json: bool) -> None:
    """立即抓取一遍（全部启用的订阅源或 --feed 指定的一个），走完整个处理流程后退出；
    每个订阅源抓完即显示结果，有订阅源失败时退出码为 1。

    示例：yuqing fetch --feed 区融媒体中心 --json
    """
    import asyncio
    import sys

    from ..logsetup import setup_logging
    from ..runtime import fetch_once

    cfg = state.config
    setup_logging(cfg, debug=state.debug, one_shot=True)
    progress = None if as_json else _Progress(tty=sys.stdout.isatty())
    outcomes = asyncio.run(fetch_once(
        cfg, feed=feed_name, on_start=progress.start if progress else None,
        on_done=progress.done if progress else None))
    total = sum(o.new_items for o in outcomes)
    failed = sum(not o.ok for o in outcomes)
    if as_json:
        emit_json({"feeds": [o.to_json() for o in outcomes], "new_items": total})
    else:
        assert progress is not None
        progress.finish()
        summary = f"共新增 {total} 条"
        if failed:
            summary += f"；{failed} 个订阅源抓取失败（yuqing feeds status --failing 查看）"
        click.echo(summary)
    if failed:
        click.get_current_context().exit(1)


def outcome_line(o: FeedOutcome) -> str:
    """One feed's result as ``yuqing fetch`` prints it."""
    from ..models import FETCH_ERROR_NAMES

    if not o.ok:
        kind = FETCH_ERROR_NAMES.get(o.error_kind or "", "")
        return f"✗ {o.name}：{kind + '：' if kind else ''}{o.error}"
    note = "未变化" if o.status == 304 else f"新增 {o.new_items} 条"
    if o.changed_items:
        note += f"，更新 {o.changed_items} 条"
    return f"✓ {o.name}：{note}"


class _Progress:
    """Each feed's line as it finishes; on a terminal, a ``[3/12] 正在抓取…`` line below
    them, rewritten in place (``\r``) as feeds finish."""

    def __init__(self, *, tty: bool) -> None:
        self.tty = tty
        self.total = 0
        self.finished = 0

    def start(self, total: int) -> None:
        self.total = total
        self._status()

    def done(self, outcome: FeedOutcome) -> None:
        self.finished += 1
        self._clear()
        click.echo(outcome_line(outcome))
        self._status()

    def finish(self) -> None:
        self._clear()

    def _status(self) -> None:
        if self.tty and self.finished < self.total:
            click.echo(f"[{self.finished}/{self.total}] 正在抓取…", nl=False)

    def _clear(self) -> None:
        if self.tty:
            click.echo("\r\033[K", nl=False)


@main.command("web")
@click.option("--listen", default=None, metavar="主机:端口",
              help="监听地址（默认取 [web] listen）")
@pass_invocation
def web(state: Invocation, listen: str | None) -> None:
    """只运行网页控制台（不抓取、不发提醒），直到 Ctrl-C；守护进程 yuqing run 在
    [web] enabled = true 时自带控制台，无需另开。需要环境变量 $YUQING_WEB_SECRET。

    示例：YUQING_WEB_SECRET=… yuqing web --listen 127.0.0.1:8700
    """
    import asyncio
    import signal

    from ..logsetup import setup_logging
    from ..store.db import utcnow
    from ..web.server import Console

    cfg = state.config
    setup_logging(cfg, debug=state.debug)

    async def serve() -> None:
        console = Console(cfg, clock=utcnow, config_path=cfg.source, listen=listen)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await console.start()
        click.echo(f"控制台已启动：{console.address}（Ctrl-C 停止）")
        try:
            await stop.wait()
        finally:
            await console.stop()

    asyncio.run(serve())
