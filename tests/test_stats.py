"""Statistics of a period on a database seeded with known incidents, clocks, alerts,
fetches and rule changes (tests/seed.py): every figure asserted exactly, worked out by
hand, including medians, 90th percentiles, clock shares and Beijing month boundaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.report.stats import annual, between, compute, months, percentile
from monitor.store import Store

from seed import NOW, bj, seed
from support import Cli


@pytest.fixture
def seeded(tmp_path: Path):
    cfg, db = seed(tmp_path)
    with Store(db) as store:
        yield cfg, store, compute(store, annual(2026), config=load_config(cfg), now=NOW)


def test_items_count_by_beijing_month_and_feed(seeded) -> None:
    _, _, s = seeded
    assert s.period.label == "2026年"
    assert s.period.since == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert [c.key for c in s.items_by_month] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert [c.count for c in s.items_by_month] == [4, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert s.items_total == 7
    assert [(c.key, c.count) for c in s.items_by_feed] == [("甲源", 6), ("乙源", 1)]
    assert s.feeds_configured == 2
    assert s.staff_named == ["张三", "李四"]


def test_incidents_by_month_level_category_outcome(seeded) -> None:
    _, _, s = seeded
    assert s.incidents_total == 6 and s.incidents_serious == 5
    assert s.incidents_by_level == {"blue": 1, "yellow": 2, "orange": 1, "red": 2}
    by_month = {m.month: (m.by_level, m.total) for m in s.incidents_by_month}
    assert by_month["2026-01"] == ({"blue": 0, "yellow": 0, "orange": 0, "red": 1}, 1)
    assert by_month["2026-03"] == ({"blue": 0, "yellow": 1, "orange": 1, "red": 1}, 3)
    assert by_month["2026-06"][1] == 1 and by_month["2026-07"][1] == 1   # 23:59 / 00:00
    assert sum(t for _, t in by_month.values()) == 6
    assert [(c.key, c.count) for c in s.incidents_by_category] == [
        ("安全生产", 2), ("欠薪讨薪", 2), ("环境扰民", 2)]
    assert s.incidents_by_outcome == {"responded": 1, "clarified": 1, "false_positive": 2,
                                      "open": 2}
    assert s.incidents_resolved == 4 and s.resolved_in_time == 3
    assert s.missed_clocks == [2]
    assert s.escalations == 1


def test_response_times_medians_percentiles_and_clock_shares(seeded) -> None:
    _, _, s = seeded
    t = {x.level: x for x in s.timing}
    red = t["red"]
    assert (red.incidents, red.acknowledged, red.resolved) == (2, 2, 2)
    assert red.ack_median == 1800 and red.ack_p90 == pytest.approx(2760)
    assert red.resolve_median == 57600 and red.resolve_p90 == pytest.approx(97920)
    assert (red.ack_clock_met, red.ack_clock_missed) == (1, 1) and red.ack_clock_share == 0.5
    assert red.respond_clock_share == 0.5
    orange = t["orange"]
    assert (orange.ack_median, orange.resolve_median) == (1200, 18000)
    assert orange.ack_clock_share == 1.0 and orange.respond_clock_share == 1.0
    yellow = t["yellow"]
    assert (yellow.incidents, yellow.acknowledged, yellow.resolved) == (2, 1, 1)
    assert (yellow.ack_median, yellow.ack_p90, yellow.resolve_p90) == (1800, 1800, 36000)
    assert yellow.ack_clock_share is None and yellow.respond_clock_share == 1.0
    blue = t["blue"]
    assert blue.ack_median == 3600 and blue.resolve_median is None and blue.resolve_p90 is None


def test_rules_staff_alerts_feeds_and_rule_changes(seeded) -> None:
    cfg, store, s = seeded
    assert [(r.rule, r.incidents, r.false_positives) for r in s.rules] == [
        ("wage", 2, 2), ("collapse", 3, 1), ("noise", 0, 0)]
    assert s.rules[0].precision == 0.0
    assert s.rules[1].precision == pytest.approx(2 / 3)
    assert s.rules[2].precision is None
    assert [(w.name, w.acknowledged, w.resolved) for w in s.staff] == [
        ("张三", 3, 2), ("李四", 1, 1), ("王五", 1, 1)]
    assert (s.alerts_sent, s.alerts_failed) == (2, 1)
    feeds = {f.name: f for f in s.feeds}
    assert set(feeds) == {"甲源", "乙源"}
    assert (feeds["甲源"].fetches, feeds["甲源"].ok, feeds["甲源"].share) == (5, 4, 0.8)
    assert not feeds["甲源"].dead and feeds["甲源"].items == 6
    assert (feeds["乙源"].fetches, feeds["乙源"].ok, feeds["乙源"].share) == (2, 0, 0.0)
    assert s.dead_feeds == ["乙源"]
    # v0 (December 2025) was the first rule set: 2026's versions are both adjustments
    assert [(c.version, c.actor, c.initial) for c in s.rule_changes] == [
        ("v1", "王五", False), ("v2", "王五", False)]
    since_start = compute(store, between(bj(2025, 12, 1), bj(2027, 1, 1)),
                          config=load_config(cfg), now=NOW)
    assert [(c.version, c.initial) for c in since_start.rule_changes] == [
        ("v0", True), ("v1", False), ("v2", False)]
    assert [t.id for t in s.typical] == [1, 2, 3, 4, 5, 6]
    assert s.typical[0].handling == "已会同住建部门核实并公开回应"
    assert s.typical[0].outcome == "responded" and s.typical[4].outcome is None


def test_a_period_and_an_empty_one(seeded) -> None:
    cfg, store, _ = seeded
    config = load_config(cfg)
    q1 = compute(store, between(bj(2026, 1, 1, 0, 0), bj(2026, 4, 1, 0, 0)), config=config,
                 now=NOW)
    assert q1.period.label == "2026年1月1日至2026年3月31日"
    assert [c.key for c in q1.items_by_month] == ["2026-01", "2026-02", "2026-03"]
    assert q1.incidents_total == 4 and q1.items_total == 7
    empty = compute(store, annual(2024), config=config, now=NOW)
    assert (empty.items_total, empty.incidents_total, empty.timing, empty.typical) == (
        0, 0, [], [])
    assert all(f.share is None for f in empty.feeds) and empty.dead_feeds == []
    assert len(empty.items_by_month) == 12


def test_months_and_percentiles() -> None:
    p = between(datetime(2026, 1, 15, 4, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    assert [m for m, _, _ in months(p)] == ["2026-01", "2026-02", "2026-03"]
    assert months(p)[0][1] == p.since and months(p)[-1][2] == p.until
    assert percentile([], 0.9) is None and percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
                      0.9) == pytest.approx(91.0)


def test_stats_command_json_and_text(seeded) -> None:
    cfg, _, _ = seeded
    cli = Cli(cfg)
    doc = cli.json("stats", "--year", "2026")
    assert doc["incidents_total"] == 6 and doc["items_total"] == 7
    assert doc["period"]["since"] == "2025-12-31T16:00:00+00:00"
    red = next(t for t in doc["timing"] if t["level"] == "red")
    assert red["ack_p90"] == pytest.approx(2760) and red["ack_clock_share"] == 0.5
    assert json.loads(json.dumps(doc)) == doc
    same = cli.json("stats", "--since", "2026-01-01", "--until", "2027-01-01")
    assert same["incidents_by_level"] == doc["incidents_by_level"]
    text = cli("stats", "--year", "2026")
    assert text.exit_code == 0
    assert "舆情事件 6 起，其中较大及以上 5 起" in text.stdout
    assert "失效的订阅源：乙源" in text.stdout
    assert "认领用时中位数 30分钟、90分位 46分钟" in text.stdout     # red: 1800 s, 2760 s
    bad = cli("stats", "--year", "2026", "--since", "2026-01-01")
    assert bad.exit_code == 2


def test_the_headline_figures_trace_to_incidents_list(seeded) -> None:
    """What the report says (较大及以上X起, X起 in a category, 误报X起) is what a report
    writer gets back from ``incidents list`` with the same period."""
    cfg, _, s = seeded
    cli = Cli(cfg)
    year = ("--since", "2026-01-01", "--until", "2027-01-01")
    assert len(cli.json("incidents", "list", *year)) == s.incidents_total
    serious = cli.json("incidents", "list", *year, "--min-level", "较大")
    assert len(serious) == s.incidents_serious > 0
    assert {i["level"] for i in serious} <= {"yellow", "orange", "red"}
    assert len(cli.json("incidents", "list", *year, "--min-level", "red")) == \
        s.incidents_by_level["red"]
    for c in s.incidents_by_category:
        assert len(cli.json("incidents", "list", *year, "--category", c.key)) == c.count
    assert len(cli.json("incidents", "list", *year, "--outcome", "误报")) == \
        s.incidents_by_outcome.get("false_positive", 0)
