"""``yuqing log``: the audit log, listed and verified (the hash chain)."""

from __future__ import annotations

from typing import Any

import click

from ..models import AUDIT_FAMILIES, AUDIT_KINDS
from ..timefmt import for_json, for_people
from .app import Invocation, emit_json, main, open_store, parse_when, pass_invocation
from .incidents import cut, open_existing, table
from .options import JSON_OPTION
from .render import echo_more


@main.group("log")
def log_group() -> None:
    """审计日志：抓取、事件、告警、处置、规则和配置的每一步，只追加、不可改动。

    \b
    示例：
      yuqing log list --since 2026-01-01 --kind incident
      yuqing log list --actor 张三
      yuqing log list --incident 12
      yuqing log verify
    """


def _kinds(values: tuple[str, ...]) -> list[str]:
    out = []
    for value in values:
        v = value.strip()
        if v in AUDIT_KINDS or v.endswith((".", "*")):
            out.append(v)
        elif v in AUDIT_FAMILIES:
            out.append(v + ".")
        else:
            by_name = [k for k, n in AUDIT_KINDS.items() if n == v]
            fam = [f for f, n in AUDIT_FAMILIES.items() if n == v]
            if not by_name and not fam:
                raise click.BadParameter(
                    f"不认识的类型“{v}”：可用 {'、'.join(AUDIT_FAMILIES)}（一类），"
                    f"或具体类型如 incident.resolved（yuqing log list --help 列出全部）",
                    param_hint="--kind")
            out.extend(by_name + [f + "." for f in fam])
    return out


def event_json(e: Any) -> dict[str, Any]:
    return {"id": e.id, "at": for_json(e.at), "kind": e.kind, "subject": e.subject,
            "actor": e.actor, "details": e.details()}


def _details(e: Any) -> str:
    d = e.details()
    if isinstance(d, dict):
        return "；".join(f"{k}={v}" for k, v in d.items() if v not in (None, ""))
    return "" if d is None else str(d)


# numbered subjects say what they number: 条目 8, 事件 5 and 告警 5 are three things
NUMBERED = {"item": "条目", "incident": "事件", "alert": "告警"}


def _subject(e: Any) -> str:
    if not e.subject:
        return "—"
    family = NUMBERED.get(e.kind.split(".", 1)[0])
    return f"{family}#{e.subject}" if family and e.subject.isdigit() else str(e.subject)


@log_group.command("list")
@click.option("--since", default=None, metavar="日期", help="起始日期 YYYY-MM-DD 或 ISO 8601 时间")
@click.option("--until", default=None, metavar="日期", help="截止日期（不含）")
@click.option("--kind", "kinds", multiple=True, metavar="类型",
              help="只看这一类（可重复）：" + "、".join(f"{k}（{n}）"
                                            for k, n in AUDIT_FAMILIES.items())
              + "，或具体类型：" + "、".join(AUDIT_KINDS))
@click.option("--actor", default=None, metavar="操作人", help="只看这个人（或 system）做的")
@click.option("--subject", default=None, metavar="对象",
              help="只看这个对象（订阅源名称、规则文件……；条目、事件、告警各有编号，"
                   "同一个数字可能分属三者，按事件核对请用 --incident）")
@click.option("--incident", type=click.IntRange(min=1), default=None, metavar="编号",
              help="一起舆情事件的全部记录：事件本身的每一步、它的告警和它所含条目的入库")
@click.option("--limit", default=200, type=click.IntRange(min=0), metavar="N",
              help="最多显示多少条（默认 200，0 为不限）")
@JSON_OPTION
@pass_invocation
def log_list(state: Invocation, since: str | None, until: str | None, kinds: tuple[str, ...],
             actor: str | None, subject: str | None, incident: int | None, limit: int,
             as_json: bool) -> None:
    """列出审计日志，按时间先后；时间为北京时间。

    给了 --since 时从那时起列出；没给时列出最近的 N 条（--limit）。

    示例：yuqing log list --since 2026-01-01 --until 2027-01-01 --kind incident.resolved
    """
    start = parse_when(since, param="--since")
    end = parse_when(until, param="--until")
    with open_store(state) as store:
        # from --since onwards; without it, the newest (like tail), still oldest first
        filters: dict[str, Any] = {"since": start, "until": end, "kinds": _kinds(kinds) or None,
                                   "actor": actor, "subject": subject, "incident": incident}
        events = store.list_log(**filters, limit=limit or None, newest_first=start is None)
        total = len(events)
        if limit and len(events) >= limit and not as_json:
            total = store.count_log(**filters)
        if start is None:
            events.reverse()
    if as_json:
        emit_json([event_json(e) for e in events])
        return
    if not events:
        click.echo("没有符合条件的记录")
        return
    table(["编号", "时间", "类型", "对象", "操作人", "详情"],
          [[str(e.id), for_people(e.at, seconds=True), AUDIT_KINDS.get(e.kind, e.kind),
            cut(_subject(e), 20), cut(e.actor or "—", 12), cut(_details(e), 70)]
           for e in events])
    echo_more(total, len(events))


@log_group.command("verify")
@JSON_OPTION
@pass_invocation
def log_verify(state: Invocation, as_json: bool) -> None:
    """从第一条起逐条核对哈希链：任何一条被改动、删除或插入都会被发现。

    发现问题时退出码为 1，并指出第一处问题所在的记录编号。

    示例：yuqing log verify
    """
    from ..errors import AuditError

    with open_existing(state) as store:
        result = store.verify_log()
    if as_json:
        emit_json({"ok": result.ok, "rows": result.rows, "head": result.head,
                   "problems": [{"id": i, "problem": p} for i, p in result.problems]})
        if not result.ok:
            raise SystemExit(1)
        return
    if result.ok:
        click.echo(f"审计日志完整：共 {result.rows} 条记录，哈希链首尾相接；"
                   f"最后一条的哈希 {result.head}（可抄录存档，日后对照）")
        return
    first_id, what = result.problems[0]
    more = f"（另有 {len(result.problems) - 1} 处）" if len(result.problems) > 1 else ""
    raise AuditError(f"审计日志被改动：第 {first_id} 条记录{what}{more}；"
                     "请从备份恢复或保全现场后联系管理员")
