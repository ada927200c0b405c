"""``yuqing alerts ...``: the outbox (list, flush, retry) and silences (add, list, lift).

Nothing printed here carries a robot URL or token: outbox rows keep only the target's
non-secret key (never shown), and errors are redacted once more before printing.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import click

from ..errors import HandlingError
from ..models import CHANNEL_NAMES, DELIVERY_KINDS, DELIVERY_STATUS_NAMES, Delivery
from ..redact import redact_error
from ..terminal import show
from ..timefmt import for_json, for_people
from . import incidents as _incidents
from .app import (
    Invocation,
    cli_actor,
    emit_json,
    main,
    open_store,
    parse_when,
    pass_invocation,
)
from .incidents import ALL_LIMIT_OPTION, cut, open_existing, status_code, table
from .options import JSON_OPTION
from .render import echo_more

SCOPE_NAMES = {"category": "类别", "rule": "规则", "incident": "事件"}


def now() -> datetime:
    """The same clock as the incidents commands (tests replace that one)."""
    return _incidents.now()


def shown_error(text: str | None) -> str | None:
    """A delivery's last error as the CLI shows it (:func:`monitor.redact.redact_error`)."""
    return redact_error(text)


def delivery_json(d: Delivery) -> dict[str, Any]:
    """The contract's shape of ``alerts list --json`` (exactly these keys)."""
    return {"id": d.id, "incident": d.incident_id, "recipient": d.recipient,
            "channel": d.channel, "status": d.status, "attempts": d.attempts,
            "last_error": shown_error(d.last_error), "sent_at": for_json(d.sent_at)}


@main.group()
def alerts() -> None:
    """告警发件箱和静默：查看、立即发送、重发失败的告警，暂停某类告警。

    \b
    示例：
      yuqing alerts list --status failed
      yuqing alerts flush
      yuqing alerts silence --category 环境扰民 --for 2h --note 已知施工噪声
    """


@alerts.command("list")
@click.option("--status", default=None, metavar="状态",
              help="只看这一状态：" + "、".join(f"{c}（{n}）"
                                          for c, n in DELIVERY_STATUS_NAMES.items()))
@click.option("--incident", "incident_id", default=None, type=int, metavar="ID",
              help="只看这个事件的告警")
@ALL_LIMIT_OPTION
@JSON_OPTION
@pass_invocation
def alerts_list(state: Invocation, status: str | None, incident_id: int | None,
                limit: int | None, as_json: bool) -> None:
    """列出告警（每个收件人每个通道一条），最新的在前。

    示例：yuqing alerts list --status failed --incident 12
    """
    code = status_code(status, DELIVERY_STATUS_NAMES, "告警状态") if status is not None else None
    with open_store(state) as store:
        rows = store.list_deliveries(status=code, incident_id=incident_id, limit=limit)
        total = len(rows)
        if limit and len(rows) >= limit and not as_json:
            total = store.count_deliveries(status=code, incident_id=incident_id)
    if as_json:
        emit_json([delivery_json(r) for r in rows])
        return
    if not rows:
        click.echo("没有符合条件的告警")
        return
    table(["编号", "事件", "收件人", "通道", "类型", "状态", "尝试", "发送时间", "最近错误/说明"],
          [[f"#{r.id}", f"#{r.incident_id}" if r.incident_id else "—", cut(show(r.recipient), 16),
            CHANNEL_NAMES.get(r.channel, r.channel), DELIVERY_KINDS.get(r.kind, r.kind),
            DELIVERY_STATUS_NAMES.get(r.status, r.status), str(r.attempts),
            for_people(r.sent_at),
            cut(show(shown_error(r.last_error) or (r.note if r.status != "sent" else "") or ""),
                60)] for r in rows])
    echo_more(total, len(rows))


@alerts.command("flush")
@pass_invocation
def alerts_flush(state: Invocation) -> None:
    """立即安排到期的升级、提醒和汇总，并把所有待发送的告警发一遍（不等重试间隔），然后退出。

    守护进程每个周期也会这样做。

    示例：yuqing alerts flush
    """
    import asyncio

    from ..logsetup import setup_logging

    cfg = state.config
    setup_logging(cfg, debug=state.debug, one_shot=True)
    queued, result = asyncio.run(_flush(state))
    parts = [f"已发送 {result.sent} 条", f"失败 {result.retried} 条（将重试）"]
    if result.failed:
        parts.append(f"{result.failed} 条已放弃（已达最多尝试次数或无法投递，已通知管理员）")
    if result.deferred:
        parts.append(f"{result.deferred} 条因机器人限速稍后发送")
    head = f"新安排 {queued} 条（升级、提醒、汇总）；" if queued else ""
    click.echo(head + "，".join(parts))
    for error in dict.fromkeys(shown_error(e) for e in result.errors if e):
        click.echo(f"  失败原因：{show(cut(error or '', 200))}")


async def _flush(state: Invocation) -> tuple[int, Any]:
    """What the daemon's alerts tick does, once and with retries due at once: queue what
    is due, then send every pending row. Only the outbox is touched (no fetcher, no rules,
    no worker processes); claims left by a dead process are released first."""
    from ..alerts.deliver import STALE_CLAIM, Deliverer
    from ..alerts.plan import Planner
    from ..alerts.ticks import queue_due

    cfg = state.config
    with open_existing(state) as store:
        deliverer = Deliverer(cfg, store, clock=now)
        try:
            await deliverer.recover(stale_after=STALE_CLAIM)
            # the rules' problems are the daemon's to report: None leaves them alone
            queued = queue_due(Planner(cfg, store), now(), rules_problems=None)
            result = await deliverer.deliver_due(ignore_backoff=True)
        finally:
            await deliverer.aclose()
    return queued, result


@alerts.command("retry")
@click.argument("delivery_id", type=int, metavar="ID")
@pass_invocation
def alerts_retry(state: Invocation, delivery_id: int) -> None:
    """把失败（或已取消）的一条告警重新排队，尝试次数从零算起。

    示例：yuqing alerts retry 57
    """
    from ..errors import NotFoundError

    with open_existing(state) as store:
        row = store.get_delivery(delivery_id)
        if row is None:
            raise NotFoundError(f"没有编号为 {delivery_id} 的告警（用 yuqing alerts list 查看）")
        if not store.retry_delivery(delivery_id, now=now(), actor=cli_actor(None)):
            status = DELIVERY_STATUS_NAMES.get(row.status, row.status)
            raise HandlingError(f"告警 #{delivery_id} 的状态是“{status}”：只有失败或已取消的告警"
                                "可以重新排队")
    click.echo(f"已将告警 #{delivery_id} 重新排队；守护进程会随即发送（也可运行 yuqing alerts flush）")


def _scope_text(scope: str, value: str) -> str:
    return f"事件 #{value}" if scope == "incident" else f"{SCOPE_NAMES[scope]}「{show(value)}」"


@alerts.command("silence")
@click.option("--category", default=None, metavar="类别", help="静默这一类别的事件")
@click.option("--rule", default=None, metavar="规则", help="静默命中这条规则（规则 id）的事件")
@click.option("--incident", "incident_id", default=None, type=int, metavar="ID",
              help="静默这一个事件")
@click.option("--until", default=None, metavar="日期", help="静默到何时（YYYY-MM-DD 或 ISO 8601 时间）")
@click.option("--for", "duration", default=None, metavar="时长", help="静默多久，例如 30m、2h、1d")
@click.option("--note", required=True, metavar="理由", help="为什么静默（必填）")
@click.option("--by", default=None, metavar="姓名", help="操作人（默认当前登录用户）")
@pass_invocation
def alerts_silence(state: Invocation, category: str | None, rule: str | None,
                   incident_id: int | None, until: str | None, duration: str | None,
                   note: str, by: str | None) -> None:
    """暂停一类告警：某个类别、某条规则或某个事件，到期自动恢复。

    静默期间的新告警不发送（记为“已静默”），事件照常生成、照常记录。

    示例：yuqing alerts silence --category 环境扰民 --for 2h --note 夜间施工已报备
    """
    from ..alerts import handling
    from ..durations import parse_duration

    chosen = [(s, v) for s, v in (("category", category), ("rule", rule),
                                  ("incident", None if incident_id is None else str(incident_id)))
              if v is not None]
    if len(chosen) != 1:
        raise click.UsageError("--category、--rule、--incident 须且只能写一个")
    if (until is None) == (duration is None):
        raise click.UsageError("--until 和 --for 须且只能写一个")
    scope, value = chosen[0]
    if not value.strip():
        raise HandlingError(f"--{scope} 不能为空")
    if not note.strip():
        raise HandlingError("静默必须写明理由（--note）")
    at = now()
    if duration is not None:
        try:
            seconds = parse_duration(duration)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--for") from None
        end = at + timedelta(seconds=seconds)
    else:
        end_dt = parse_when(until, param="--until")
        assert end_dt is not None
        end = end_dt
    if end <= at:
        raise HandlingError(f"静默截止时间 {for_people(end)} 已经过去：请写一个将来的时间")
    actor = (by or os.environ.get("USER") or "").strip() or None
    with open_existing(state) as store:
        if scope == "incident":      # NotFoundError names the id
            silence_id = handling.silence_incident(store, int(value), until=end, note=note,
                                                   by=actor, now=at)
        else:
            silence_id = store.add_silence(scope, value, until=end, note=note, actor=actor,
                                           now=at)
    click.echo(f"已添加静默 #{silence_id}：{_scope_text(scope, value)}，至 {for_people(end)}；"
               "期间的新告警不发送")


def _silence_json(s: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"id": s["id"], "scope": s["scope"], "value": s["value"],
            "until": for_json(s["until"]), "note": s["note"], "created_by": s["created_by"],
            "created_at": for_json(s["created_at"]), "lifted_at": for_json(s["lifted_at"]),
            "active": s["lifted_at"] is None and s["until"] > at}


@alerts.command("silences")
@click.option("--all", "show_all", is_flag=True, help="也列出已到期或已解除的静默")
@JSON_OPTION
@pass_invocation
def alerts_silences(state: Invocation, show_all: bool, as_json: bool) -> None:
    """列出生效中的静默（--all：全部，含已到期和已解除的）。

    示例：yuqing alerts silences --json
    """
    at = now()
    with open_store(state) as store:
        rows = store.silences(now=None if show_all else at)
    docs = [_silence_json(s, at) for s in rows]
    if as_json:
        emit_json(docs)
        return
    if not docs:
        click.echo("没有生效中的静默" if not show_all else "没有静默记录")
        return
    table(["编号", "范围", "截止", "状态", "操作人", "理由"],
          [[f"#{d['id']}", _scope_text(d["scope"], d["value"]), for_people(s["until"]),
            "生效中" if d["active"] else ("已解除" if d["lifted_at"] else "已到期"),
            show(d["created_by"]) or "—", cut(show(d["note"]), 60)]
           for d, s in zip(docs, rows, strict=True)])


@alerts.command("unsilence")
@click.argument("silence_id", type=int, metavar="ID")
@click.option("--by", default=None, metavar="姓名", help="操作人（默认当前登录用户）")
@pass_invocation
def alerts_unsilence(state: Invocation, silence_id: int, by: str | None) -> None:
    """提前解除一条静默。

    示例：yuqing alerts unsilence 3
    """
    at = now()
    actor = (by or os.environ.get("USER") or "").strip() or None
    with open_existing(state) as store:
        store.lift_silence(silence_id, now=at, actor=actor)
    click.echo(f"已解除静默 #{silence_id}")
