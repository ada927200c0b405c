"""``yuqing run`` (the daemon) and ``yuqing fetch`` (one pass through the pipeline)."""

from __future__ import annotations

import click

from .app import Invocation, emit_json, main, pass_invocation
from .options import FEED_OPTION, JSON_OPTION


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
    """立即抓取一遍（全部启用的订阅源或 --feed 指定的一个），走完整个处理流程后退出。

    示例：yuqing fetch --feed 区融媒体中心 --json
    """
    import asyncio

    from ..logsetup import setup_logging
    from ..runtime import fetch_once

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
