"""Rule changes reach stored items: ``yuqing rules apply --since`` re-scores them with the
rules in force, keeps the earlier results in the audit log, puts items that now reach an
alerting level into incidents (alerting only for recent ones), and the daemon's option
does the same after a hot reload."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.runtime import Services
from monitor.store import Store

from receivers import RobotReceiver
from servers import FeedServer
from support import ALERT_RULES, Cli, write_config

DUST_ONLY = """- id: dust
  name: 扬尘
  category: 环境扰民
  level: blue
  weight: 20
  words:
    事件: [扬尘]
"""
RECENT = ("城南重点工程工地基坑坍塌 两名工人被困", "城南区滨江路工地发生基坑坍塌，两名工人被困。")
OLD = ("北郊物流园仓库屋顶垮塌 无人员伤亡", "北郊物流园一处仓库屋顶因积雪垮塌，园区已封闭检查。")


def rss(items: list[tuple[str, str, datetime]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><guid>g{i}</guid><link>http://news.example/{i}</link>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{b}</description></item>"
        for i, (t, b, when) in enumerate(items))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>a'
            f"</title>{body}</channel></rss>").encode()


@pytest.fixture
def robots() -> Iterator[RobotReceiver]:
    r = RobotReceiver()
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as f:
        yield f


def deploy(tmp_path: Path, feeds: FeedServer, robots: RobotReceiver, now: datetime,
           **rules: Any) -> Path:
    """A feed with a recent and an old item (two different stories), the dust rule only,
    and 张三 hearing of yellow and above on a local webhook."""
    feeds.route("/a.xml", body=rss([(*RECENT, now - timedelta(hours=1)),
                                    (*OLD, now - timedelta(days=10))]),
                headers={"Content-Type": "application/rss+xml"})
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    (d / "r.yaml").write_text(DUST_ONLY, encoding="utf-8")
    return write_config(tmp_path, feeds=[{"name": "a", "url": feeds.url("/a.xml")}], extra={
        "fetch": {"parse_workers": 1},
        "rules": {"dir": "../rules", **rules},
        "staff": [{"name": "张三", "webhook": robots.url_for("webhook", "zs")}],
        "routes": [{"categories": ["*"], "min_level": "yellow", "notify": ["张三"]}],
        "alerts": {"digest_times": ["09:00"]},
    })


def add_alert_rules(tmp_path: Path) -> None:
    (tmp_path / "rules" / "r.yaml").write_text(ALERT_RULES, encoding="utf-8")


def test_apply_rescores_stored_items_into_incidents(tmp_path: Path, feeds: FeedServer,
                                                    robots: RobotReceiver) -> None:
    now = datetime.now(UTC)
    cli = Cli(deploy(tmp_path, feeds, robots, now))
    assert cli.json("fetch")["new_items"] == 2
    assert [r for r in cli.json("items", "scored") if r["title"] in (RECENT[0], OLD[0])] == []
    add_alert_rules(tmp_path)                         # a new rule after the items were stored

    r = cli("rules", "apply", "--since", "30d")
    assert r.exit_code == 0, r.output
    assert ("重新评分 2 条：新增命中 2 条、级别变化 2 条、新开事件 2 起、提醒 1 封"
            "（超过 24 小时的只归入事件不提醒）") in r.output

    scored = {r["title"]: r for r in cli.json("items", "scored")}
    assert scored[RECENT[0]]["level"] == "yellow" and scored[OLD[0]]["level"] == "yellow"
    incidents = {i["title"]: i for i in cli.json("incidents", "list")}
    assert set(incidents) == {RECENT[0], OLD[0]}
    # the recent item's incident alerted (delivered to the webhook), the old one's did not
    got = [x.body for x in robots.received("webhook", "zs")]
    assert [(b["kind"], b["incident"]) for b in got] == [("opened", incidents[RECENT[0]]["id"])]
    assert {(a["incident"], a["status"]) for a in cli.json("alerts", "list")} == {
        (incidents[RECENT[0]]["id"], "sent")}

    store = Store(tmp_path / "data" / "monitor.db")
    try:
        for inc in incidents.values():       # both joined as found by re-scoring
            notes = [s.note or "" for s in store.incident_log(inc["id"])]
            assert any("重新评分发现" in n for n in notes), notes
        events = store.list_log(kinds=["item.rescored"])
        assert len(events) == 2               # the earlier results stay on record
        for e in events:
            data = e.details()
            assert isinstance(data, dict)
            assert data["from"]["level"] is None and data["from"]["rules"] == []
            assert data["to"]["level"] == "yellow" and data["to"]["rules"] == ["collapse"]
    finally:
        store.close()

    # a second run finds nothing new: no change, no second alert
    again = cli.json("rules", "apply", "--since", "30d")
    assert again["newly_matched"] == 0 and again["alerts"] == 0
    assert len(robots.received("webhook", "zs")) == 1


def test_apply_json_counts_and_old_items_never_alert(tmp_path: Path, feeds: FeedServer,
                                                     robots: RobotReceiver) -> None:
    now = datetime.now(UTC)
    cli = Cli(deploy(tmp_path, feeds, robots, now, rescore_alert_within="30m"))
    cli.json("fetch")
    add_alert_rules(tmp_path)
    doc = cli.json("rules", "apply", "--since", "30d")
    assert {k: doc[k] for k in ("items", "newly_matched", "level_changed", "incidents_opened",
                                "alerts", "joined_without_alert")} == {
        "items": 2, "newly_matched": 2, "level_changed": 2, "incidents_opened": 2,
        "alerts": 0, "joined_without_alert": 2}
    assert len(cli.json("incidents", "list")) == 2
    assert cli.json("alerts", "list") == []
    assert robots.received("webhook", "zs") == []
    # no reminder later either: the archive's incidents are silenced
    r = cli("alerts", "flush")
    assert r.exit_code == 0, r.output
    assert robots.received("webhook", "zs") == []


def reload_after_new_rules(tmp_path: Path, feeds: FeedServer, robots: RobotReceiver,
                           **rules: Any) -> Store:
    """Store the items with the dust rule, add the alert rules, and let the runtime's hot
    reload (what the daemon's reload job runs) find them; the store is returned open."""
    now = datetime.now(UTC)
    config = load_config(deploy(tmp_path, feeds, robots, now, **rules))

    async def go() -> None:
        rt = Services(config, clock=lambda: now)
        try:
            await rt.load_rules(now)
            await rt.pipeline.run_feed(config.feeds[0], now=now)
            add_alert_rules(tmp_path)
            assert await rt.reload_rules(now)
        finally:
            await rt.aclose()

    asyncio.run(go())
    return Store(config.storage.path)


def test_reload_rescores_recent_window_when_configured(tmp_path: Path, feeds: FeedServer,
                                                       robots: RobotReceiver) -> None:
    store = reload_after_new_rules(tmp_path, feeds, robots, rescore_after_reload="2d")
    try:
        levels = {i.title: i.level for i in store.scored_items(min_score=0, limit=None)}
        assert levels[RECENT[0]] == "yellow"       # within 2 days: re-scored
        assert levels[OLD[0]] is None              # ten days old: outside the window
        assert [i.title for i in store.list_incidents()] == [RECENT[0]]
        assert len(store.list_log(kinds=["item.rescored"])) == 1
    finally:
        store.close()
    assert [b.body["kind"] for b in robots.received("webhook", "zs")] == ["opened"]


def test_reload_without_the_option_leaves_stored_items(tmp_path: Path, feeds: FeedServer,
                                                       robots: RobotReceiver) -> None:
    store = reload_after_new_rules(tmp_path, feeds, robots)
    try:
        assert store.list_incidents() == []
        assert store.list_log(kinds=["item.rescored"]) == []
    finally:
        store.close()
