"""``yuqing stats``: the figures of a period, the same ones the report is written from."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import click

from ..models import LEVEL_NAMES, OUTCOMES
from ..timefmt import for_json, zone
from .app import Invocation, emit_json, main, open_store, parse_when, pass_invocation
from .options import JSON_OPTION


def resolve_period(year: int | None, since: str | None, until: str | None,
                   now: datetime) -> Any:
    """``--year``, or ``--since``/``--until`` (until exclusive, default now); the current
    year when neither is given."""
    from ..report.stats import annual, between

    if year is not None:
        if since or until:
            raise click.UsageError("--year 与 --since/--until 只能选一种")
        return annual(year)
    if since is None and until is None:
        return annual(now.astimezone(zone()).year)
    start = parse_when(since, param="--since")
    end = parse_when(until, param="--until") or now
    if start is None:
        raise click.UsageError("给了 --until 也要给 --since（或用 --year）")
    if end <= start:
        raise click.BadParameter("截止时间必须晚于起始时间", param_hint="--until")
    return between(start, end)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return for_json(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def stats_json(stats: Any) -> dict[str, Any]:
    doc: dict[str, Any] = _plain(dataclasses.asdict(stats))
    for t, src in zip(doc["timing"], stats.timing, strict=True):
        t["ack_clock_share"] = src.ack_clock_share
        t["respond_clock_share"] = src.respond_clock_share
    return doc


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return "不到1分钟"
    minutes = round(seconds / 60)
    return f"{minutes // 60}小时{minutes % 60}分钟" if minutes >= 60 else f"{minutes}分钟"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def negative_lines(s: Any) -> list[str]:
    """The 负面舆情 lines of ``yuqing stats`` (the same figures as the report's)."""
    if not s.items_toned:
        return ["  负面舆情：本时段的信息尚未判定倾向"]
    out = [f"  负面舆情 {s.negative_incidents} 起（占舆情事件 "
           f"{_share(s.negative_incidents, s.incidents_total)}）；负面信息 {s.negative_items} 条"
           f"（已判定倾向的信息 {s.items_toned} 条，占 {_share(s.negative_items, s.items_toned)}）"]
    months = [m for m in s.negative_by_month if m.incidents or m.items]
    if months:
        out.append("  负面按月：" + "，".join(f"{m.key} {m.incidents} 起/{m.items} 条"
                                          for m in months))
    if s.negative_by_category:
        out.append("  负面按类别：" + "，".join(f"{c.key} {c.incidents} 起/{c.items} 条"
                                            for c in s.negative_by_category)
                   + (f"；未命中规则的负面信息 {s.negative_items_unmatched} 条"
                      if s.negative_items_unmatched else ""))
    return out


@main.command("stats")
@click.option("--year", type=int, default=None, metavar="年份", help="一个自然年（北京时间）")
@click.option("--since", default=None, metavar="日期", help="起始日期 YYYY-MM-DD 或 ISO 8601 时间")
@click.option("--until", default=None, metavar="日期", help="截止日期（不含），默认现在")
@JSON_OPTION
@pass_invocation
def stats_command(state: Invocation, year: int | None, since: str | None, until: str | None,
                  as_json: bool) -> None:
    """一个时段的统计：监测条目、舆情事件（按月、级别、类别、处置结果）、
    负面舆情（按月、类别）、认领与办结用时（中位数、90 分位）和时限达成率、升级、误报、订阅源可用率、规则变更、处置人员。
    年度报告用的就是这些数字。不给时段时为今年。

    示例：yuqing stats --year 2026
    """
    from ..report.stats import compute
    from ..store.db import utcnow

    now = utcnow()
    period = resolve_period(year, since, until, now)
    with open_store(state) as store:
        stats = compute(store, period, config=state.config, now=now)
    if as_json:
        emit_json(stats_json(stats))
        return
    s = stats
    echo = click.echo
    echo(f"{s.period.label}统计（北京时间）")
    echo(f"  监测信息 {s.items_total} 条，来自 {len(s.items_by_feed)} 个来源"
         f"（配置启用 {s.feeds_configured} 个）；接收告警的人员 {len(s.staff_named)} 名")
    echo(f"  舆情事件 {s.incidents_total} 起，其中较大及以上 {s.incidents_serious} 起；"
         f"已办结 {s.incidents_resolved} 起，按时办结 {s.resolved_in_time} 起")
    if s.incidents_total:
        echo("  按级别：" + "，".join(f"{LEVEL_NAMES[lv]} {n}"
                                    for lv, n in s.incidents_by_level.items() if n))
        echo("  按类别：" + "，".join(f"{c.key} {c.count}" for c in s.incidents_by_category))
        echo("  按结果：" + "，".join(f"{OUTCOMES.get(k, '未办结')} {n}"
                                    for k, n in s.incidents_by_outcome.items()))
    for line in negative_lines(s):
        echo(line)
    for t in s.timing:
        echo(f"  {LEVEL_NAMES[t.level]}：{t.incidents} 起；认领用时中位数 {_hours(t.ack_median)}、"
             f"90分位 {_hours(t.ack_p90)}，认领按时 "
             f"{_share(t.ack_clock_met, t.ack_clock_met + t.ack_clock_missed)}；办结用时中位数 "
             f"{_hours(t.resolve_median)}、90分位 {_hours(t.resolve_p90)}，办结按时 "
             f"{_share(t.respond_clock_met, t.respond_clock_met + t.respond_clock_missed)}")
    echo(f"  未认领升级 {s.escalations} 起；告警发出 {s.alerts_sent} 条，失败 {s.alerts_failed} 条")
    noisy = [r for r in s.rules if r.false_positives]
    if noisy:
        echo("  误报：" + "，".join(f"{r.rule} {r.false_positives}/{r.incidents}" for r in noisy))
    if s.dead_feeds:
        echo("  失效的订阅源：" + "、".join(s.dead_feeds))
    echo(f"  规则集变更 {len(s.rule_changes)} 次；处置人员 "
         + ("、".join(f"{w.name}（认领 {w.acknowledged}、办结 {w.resolved}）" for w in s.staff)
            or "无"))
