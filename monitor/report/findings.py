"""Problems the statistics show, and the step each calls for: missed clocks, noisy rules,
dead feeds, failed alerts, escalations, nobody named to receive alerts. Each finding is
drawn from a figure of ``Stats``; nothing here is written without data behind it."""

from __future__ import annotations

from dataclasses import dataclass

from .stats import RulePrecision, Stats
from .wording import listing, num, ratio

NOISY_PRECISION = 0.8       # a rule whose resolved incidents were this often real, or less,
NOISY_MIN_FALSE = 1         # with at least this many 误报, is called noisy


@dataclass(frozen=True)
class Finding:
    key: str                 # "missed_clocks", "noisy_rules", "dead_feeds", ...
    problem: str             # a sentence for (一) 存在的问题
    step: str                # a sentence for (二) 下一步工作


def noisy_rules(stats: Stats) -> list[RulePrecision]:
    """Rules whose incidents were resolved as 误报 too often (lowest precision first)."""
    found = [r for r in stats.rules
             if r.false_positives >= NOISY_MIN_FALSE and r.precision is not None
             and r.precision <= NOISY_PRECISION]
    return sorted(found, key=lambda r: (r.precision or 0.0, r.rule))


def _rule_label(r: RulePrecision) -> str:
    return f"“{r.name}”（{r.rule}）" if r.name else r.rule


def findings(stats: Stats) -> list[Finding]:
    out: list[Finding] = []
    if stats.missed_clocks:
        ids = listing([f"#{i}" for i in stats.missed_clocks])
        out.append(Finding(
            "missed_clocks",
            f"有{num(len(stats.missed_clocks))}起舆情未在规定时限内完成认领或处置（编号{ids}）。",
            "逐起复盘超时舆情的处置过程，压实值守和认领责任，必要时缩短升级时间、"
            "增加接收预警的人员。"))
    if stats.escalations:
        out.append(Finding(
            "escalations",
            f"有{num(stats.escalations)}起舆情因未及时认领而升级通知。",
            "加强值班值守，确保预警发出后及时认领。"))
    noisy = noisy_rules(stats)
    if noisy:
        parts = [f"{_rule_label(r)}命中已办结舆情{num(r.incidents)}起、其中误报"
                 f"{num(r.false_positives)}起（准确率{ratio(r.precision)}）" for r in noisy]
        out.append(Finding(
            "noisy_rules",
            f"部分监测规则误报较多：{'；'.join(parts)}。",
            "对误报较多的规则补充排除词、收窄适用范围，并用历史数据回测后再启用。"))
    if stats.dead_feeds:
        out.append(Finding(
            "dead_feeds",
            f"有{num(len(stats.dead_feeds))}个信息源目前无法正常抓取或本期从未抓取成功："
            f"{listing(stats.dead_feeds)}。",
            "逐一核查失效信息源的地址和页面结构，及时修复或更换，避免监测盲区。"))
    if stats.alerts_failed:
        out.append(Finding(
            "alerts_failed",
            f"有{num(stats.alerts_failed)}条预警通知发送失败。",
            "检查邮件和即时通讯机器人等通知渠道的配置，为重要人员配置备用渠道。"))
    if not stats.staff_named:
        out.append(Finding(
            "no_staff",
            "尚未指定接收舆情预警的工作人员。",
            "明确舆情监测处置责任人并在系统中配置，确保预警有人接收。"))
    if not stats.feeds_configured:
        out.append(Finding(
            "no_feeds",
            "尚未配置监测信息源。",
            "梳理与本单位工作相关的网站、论坛和新媒体账号，纳入监测范围。"))
    elif not stats.items_total:
        out.append(Finding(
            "no_items",
            "本期未采集到任何信息。",
            "核查信息源配置和系统运行情况，确保监测持续开展。"))
    return out
