"""Statistics built by hand for the report renderer tests: a full year with incidents of
every level (one with a hostile title), and an empty period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.report.stats import (
    Count,
    FeedAvailability,
    MonthLevels,
    Period,
    RuleChange,
    RulePrecision,
    StaffWork,
    Stats,
    Timing,
    Typical,
)

BJ = timedelta(hours=8)
HOSTILE = "<script>alert(1)</script>\"><img src=x onerror=1> 某小区垃圾站异味扰民"


def _bj(y: int, m: int, d: int, h: int = 0) -> datetime:
    """A Beijing wall-clock time as an aware UTC datetime."""
    return datetime(y, m, d, h, tzinfo=UTC) - BJ


def year_period(year: int = 2026) -> Period:
    return Period(_bj(year, 1, 1), _bj(year + 1, 1, 1), f"{year}年")


MONTHLY = {  # month -> level -> incidents
    "2026-01": {"blue": 2, "yellow": 1},
    "2026-02": {"blue": 1},
    "2026-03": {"blue": 3, "yellow": 1, "orange": 1},
    "2026-04": {},
    "2026-05": {"blue": 2},
    "2026-06": {"blue": 1, "yellow": 2},
    "2026-07": {"blue": 4, "red": 1},
    "2026-08": {"blue": 1},
    "2026-09": {"yellow": 1},
    "2026-10": {"blue": 2, "orange": 1},
    "2026-11": {"blue": 1},
    "2026-12": {},
}
LEVELS4 = ("blue", "yellow", "orange", "red")


def full_stats() -> Stats:
    by_month = [MonthLevels(m, {lv: v.get(lv, 0) for lv in LEVELS4}, sum(v.values()))
                for m, v in MONTHLY.items()]
    by_level = {lv: sum(v.get(lv, 0) for v in MONTHLY.values()) for lv in LEVELS4}
    total = sum(by_level.values())            # 25
    serious = total - by_level["blue"]        # 8
    items_by_month = [Count(m, 100 + 7 * i) for i, m in enumerate(MONTHLY)]
    items_total = sum(c.count for c in items_by_month)
    timing = [
        Timing("blue", by_level["blue"], 17, 3 * 3600.0, 20 * 3600.0, 16, 30 * 3600.0,
               46 * 3600.0, 0, 0, 15, 1),
        Timing("yellow", by_level["yellow"], 5, 40 * 60.0, 5 * 3600.0, 5, 10 * 3600.0,
               40 * 3600.0, 0, 0, 4, 1),
        Timing("orange", by_level["orange"], 2, 25 * 60.0, 50 * 60.0, 2, 6 * 3600.0,
               20 * 3600.0, 2, 0, 2, 0),
        Timing("red", by_level["red"], 1, 12 * 60.0, 12 * 60.0, 1, 5 * 3600.0 + 30 * 60,
               5 * 3600.0 + 30 * 60, 1, 0, 1, 0),
    ]
    resolved = sum(t.resolved for t in timing)                 # 24
    in_time = sum(t.respond_clock_met for t in timing)          # 22
    typical = [
        Typical(41, "区重点项目工地夜间施工扰民引发网民集中投诉", "环境", "red",
                _bj(2026, 7, 12, 9), 9, 27, "resolved", "responded",
                "当日约谈施工单位，调整夜间作业时间，并在官方账号发布情况说明",
                _bj(2026, 7, 12, 9) + timedelta(minutes=12),
                _bj(2026, 7, 12, 14, ) + timedelta(minutes=30)),
        Typical(17, HOSTILE, "环境", "orange", _bj(2026, 3, 3, 15), 5, 11, "resolved",
                "clarified", "会同街道现场核查并发布澄清说明", _bj(2026, 3, 3, 16),
                _bj(2026, 3, 4, 2)),
        Typical(55, "项目拆迁补偿标准网传不实信息", "征地拆迁", "orange",
                _bj(2026, 10, 20, 8), 4, 6, "acknowledged", None, None,
                _bj(2026, 10, 20, 9), None),
        Typical(23, "服务中心窗口办事排长队", "政务服务", "yellow", _bj(2026, 6, 2, 10), 2, 3,
                "resolved", "false_positive", "经核实为其他单位窗口", _bj(2026, 6, 2, 11),
                _bj(2026, 6, 2, 16)),
    ]
    return Stats(
        period=year_period(),
        generated_at=_bj(2026, 12, 31, 18),
        items_total=items_total,
        items_by_month=items_by_month,
        items_by_feed=[Count("区政府网站", 820), Count("本地论坛", 490), Count("市级新闻网", 352),
                       Count("已停更的博客", 0)],
        feeds_configured=5,
        staff_named=["张伟", "李娜"],
        incidents_total=total,
        incidents_serious=serious,
        incidents_by_month=by_month,
        incidents_by_level=by_level,
        incidents_by_category=[Count("环境", 12), Count("政务服务", 7), Count("征地拆迁", 4),
                               Count("安全生产", 2)],
        incidents_by_outcome={"responded": 12, "clarified": 5, "referred": 3, "no_action": 2,
                              "false_positive": 2, "open": total - resolved},
        incidents_resolved=resolved,
        resolved_in_time=in_time,
        timing=timing,
        escalations=2,
        alerts_sent=87,
        alerts_failed=3,
        rules=[RulePrecision("env-noise", "施工噪声扰民", 12, 1, 11 / 12),
               RulePrecision("gov-service", "窗口服务", 6, 2, 4 / 6),
               RulePrecision("demolition", "拆迁", 0, 0, None)],    # nothing resolved yet
        feeds=[FeedAvailability("区政府网站", 8760, 8700, 8700 / 8760, 820, _bj(2026, 12, 31, 17),
                                False),
               FeedAvailability("本地论坛", 8760, 8500, 8500 / 8760, 490, _bj(2026, 12, 31, 17),
                                False),
               FeedAvailability("市级新闻网", 4380, 4300, 4300 / 4380, 352,
                                _bj(2026, 12, 31, 16), False),
               FeedAvailability("已停更的博客", 2000, 0, 0.0, 0, None, True)],
        dead_feeds=["已停更的博客"],
        rule_changes=[RuleChange(_bj(2026, 2, 10, 10), "a1b2c3d4e5f6a7b8", "张伟", 8,
                                 ["env-noise", "gov-service"]),
                      RuleChange(_bj(2026, 6, 15, 10), "b2c3d4e5f6a7b8c9", "李娜", 9,
                                 ["demolition"])],
        staff=[StaffWork("张伟", 15, 14), StaffWork("李娜", 11, 10)],
        typical=typical,
        missed_clocks=[23, 31],
    )


def empty_stats() -> Stats:
    period = Period(_bj(2026, 1, 1), _bj(2026, 7, 1), "2026年1月1日至2026年6月30日")
    months = [f"2026-{m:02d}" for m in range(1, 7)]
    return Stats(
        period=period, generated_at=_bj(2026, 7, 1, 9), items_total=0,
        items_by_month=[Count(m, 0) for m in months], items_by_feed=[], feeds_configured=0,
        staff_named=[], incidents_total=0, incidents_serious=0,
        incidents_by_month=[MonthLevels(m, dict.fromkeys(LEVELS4, 0), 0) for m in months],
        incidents_by_level=dict.fromkeys(LEVELS4, 0), incidents_by_category=[],
        incidents_by_outcome={}, incidents_resolved=0, resolved_in_time=0, timing=[],
        escalations=0, alerts_sent=0, alerts_failed=0, rules=[], feeds=[], dead_feeds=[],
        rule_changes=[], staff=[], typical=[], missed_clocks=[])
