"""Items to incidents to alerts through the real pipeline: feeds served on 127.0.0.1, a real
SQLite file, deliveries to receivers that check signatures as the platforms do, and an
injected clock (nothing sleeps).

Covers: a story reposted by several sources is one incident whose level rises by spread;
different stories sharing words stay apart; each recipient hears once per event (however
many routes name them); no second alert without a rise; duty rosters; the digest; quiet
hours holding yellow but not red; escalation and reminders until acknowledged; ack
stopping everything; silences; the per-recipient rate cap with its summary; response
clocks; admin notices once per problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import handling
from monitor.config import Config, load_config
from monitor.runtime import Services

from receivers import RobotReceiver
from servers import FeedServer
from support import ALERT_RULES, write_config

# 2026-03-02 is a Monday; 10:00 in Beijing
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


STORY = "城南重点工程工地基坑坍塌 两名工人被困"
STORY_BODY = "今天上午，城南区滨江路重点工程项目工地发生基坑坍塌，两名工人被困，消防正在救援。"
REPOSTS = [
    ("突发！城南重点工程工地基坑坍塌，两名工人被困", STORY_BODY),
    ("城南重点工程工地基坑坍塌 两名工人被困_某某网", STORY_BODY + "记者将持续关注。"),
    ("【转载】城南重点工程工地基坑坍塌，两名工人被困！", STORY_BODY),
]
OTHER = ("北郊物流园仓库屋顶垮塌 无人员伤亡",
         "北郊物流园一处仓库屋顶因积雪垮塌，所幸无人员伤亡，园区已封闭检查。")


def rss(items: list[tuple[str, str]], prefix: str) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><guid>{prefix}-{i}</guid><link>http://news.example/{prefix}/{i}"
        f"</link><description>{b}</description></item>" for i, (t, b) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{prefix}'
            f"</title>{body}</channel></rss>").encode()


@dataclass
class World:
    tmp: Path
    feeds: FeedServer
    robots: RobotReceiver
    now: datetime = T0
    extra: dict[str, Any] = field(default_factory=dict)
    config: Config | None = None
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def clock(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)

    def serve(self, name: str, items: list[tuple[str, str]]) -> dict[str, Any]:
        self.feeds.route(f"/{name}.xml", body=rss(items, name),
                         headers={"Content-Type": "application/rss+xml"})
        return {"name": name, "url": self.feeds.url(f"/{name}.xml"), "interval": "5m"}

    def setup(self, feeds: list[dict[str, Any]], **extra: Any) -> Config:
        (self.tmp / "rules").mkdir(exist_ok=True)
        (self.tmp / "rules" / "r.yaml").write_text(ALERT_RULES, encoding="utf-8")
        path = write_config(self.tmp, feeds=feeds, extra={**self.extra, **extra})
        self.config = load_config(path)
        return self.config

    def hook(self, token: str, secret: str | None = "hook-secret") -> dict[str, Any]:
        return {"webhook": self.robots.url_for("webhook", token, secret=secret),
                **({"webhook_secret_env": "YQ_TEST_HOOK_SECRET"} if secret else {})}

    def services(self) -> Services:
        assert self.config is not None
        return Services(self.config, clock=self.clock)

    def fetch(self, rt: Services) -> None:
        async def go() -> None:
            await rt.load_rules(self.now)
            for feed in rt.config.feeds:
                await rt.pipeline.run_feed(feed, now=self.now)
            await rt.alerts_tick()
        self.run(go())

    def tick(self, rt: Services, *, flush: bool = False) -> None:
        self.run(rt.alerts_tick(flush=flush))

    def got(self, token: str) -> list[dict[str, Any]]:
        return [r.body for r in self.robots.received("webhook", token)]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("YQ_TEST_HOOK_SECRET", "hook-secret")
    w = World(tmp_path, FeedServer(), RobotReceiver())
    w.robots.clock = lambda: w.now.timestamp()
    w.feeds.__enter__()
    w.robots.start()
    try:
        yield w
    finally:
        w.robots.stop()
        w.feeds.__exit__(None, None, None)
        w.loop.close()


def staff_and_route(world: World, **route: Any) -> dict[str, Any]:
    return {"staff": [{"name": "张三", **world.hook("zs")}, {"name": "李四", **world.hook("ls")}],
            "routes": [{"categories": ["*"], "min_level": "yellow", "notify": ["张三"], **route}],
            "alerts": {"digest_times": ["09:00"]}}


def test_spreading_story_is_one_incident_rising_by_spread(world: World) -> None:
    feeds = [world.serve("a", [(STORY, STORY_BODY), OTHER])]
    feeds += [world.serve(n, [r]) for n, r in zip("bcd", REPOSTS, strict=True)]
    world.setup(feeds, **staff_and_route(world),
                incidents={"spread": [{"sources": 3, "within": "2h"}]})
    rt = world.services()
    try:
        world.fetch(rt)
        incidents = rt.store.list_incidents()
        assert len(incidents) == 2, [(i.title, i.items) for i in incidents]
        story = next(i for i in incidents if "城南" in i.title)
        other = next(i for i in incidents if "北郊" in i.title)
        assert (story.items, story.sources) == (4, 4)
        assert (other.items, other.sources) == (1, 1)
        assert story.level == "orange" and "传播扩散" in (story.level_reason or "")
        got = world.got("zs")
        kinds = sorted((b["incident"], b["kind"], b["level"]) for b in got)
        assert kinds == sorted([(story.id, "opened", "yellow"), (story.id, "raised", "orange"),
                                (other.id, "opened", "yellow")])
        assert world.robots.rejected() == []
        # the same pass again, and later copies of the story: no new alert
        world.advance(minutes=10)
        world.feeds.route("/e.xml", body=rss([REPOSTS[0]], "e"))
        world.fetch(rt)
        assert len(world.got("zs")) == 3
    finally:
        world.run(rt.aclose())


def test_each_recipient_hears_once_and_rosters_resolve(world: World) -> None:
    feeds = [world.serve("a", [(STORY, STORY_BODY)])]
    world.setup(feeds, staff=[{"name": "张三", **world.hook("zs")},
                              {"name": "李四", **world.hook("ls")},
                              {"name": "王五", **world.hook("ww")}],
                duty=[{"name": "值班员", "shifts": [{"staff": ["李四"], "weekdays": [1, 2, 3]},
                                                   {"staff": ["王五"], "weekdays": [4, 5, 6, 7]}]}],
                routes=[{"categories": ["安全生产"], "min_level": "yellow",
                         "notify": ["张三", "值班员"]},
                        {"categories": ["*"], "min_level": "blue", "notify": ["张三"]},
                        {"categories": ["环境扰民"], "min_level": "blue", "notify": ["王五"]}])
    rt = world.services()
    try:
        world.fetch(rt)
        assert len(world.got("zs")) == 1          # two routes name 张三: one alert
        assert len(world.got("ls")) == 1          # Monday: 李四 is on duty
        assert world.got("ww") == []              # not on duty, and not his category
    finally:
        world.run(rt.aclose())


def test_blue_goes_to_the_digest(world: World) -> None:
    world.setup([world.serve("a", [("东区工地扬尘严重", "居民反映工地扬尘"),
                                   ("西区搅拌站扬尘扰民", "夜间扬尘")])],
                staff=[{"name": "张三", **world.hook("zs")}],
                routes=[{"categories": ["*"], "min_level": "blue", "notify": ["张三"]}],
                alerts={"digest_times": ["12:00"]})
    rt = world.services()
    try:
        world.fetch(rt)                            # 10:00: held for the 12:00 digest
        assert world.got("zs") == []
        assert {d.status for d in rt.store.list_deliveries()} == {"held"}
        world.advance(hours=2, minutes=1)
        world.tick(rt)
        got = world.got("zs")
        assert len(got) == 1 and got[0]["kind"] == "digest"
        assert len(got[0]["incidents"]) == 2
        assert all(i["tone"]["line"].startswith("倾向：") for i in got[0]["incidents"])
        world.advance(hours=1)
        world.tick(rt)
        assert len(world.got("zs")) == 1
    finally:
        world.run(rt.aclose())


def test_quiet_hours_hold_yellow_but_never_red(world: World) -> None:
    world.now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)      # 23:00 in Beijing
    world.setup([world.serve("a", [(STORY, STORY_BODY), ("化工园区仓库发生爆炸", "现场浓烟")])],
                staff=[{"name": "张三", "quiet_hours": ["22:00-07:00"], **world.hook("zs")}],
                routes=[{"categories": ["*"], "min_level": "yellow", "notify": ["张三"],
                         "remind_every": "0s"}])
    rt = world.services()
    try:
        world.fetch(rt)
        got = world.got("zs")
        assert [(b["level"], b["kind"]) for b in got] == [("red", "opened")]
        world.advance(hours=7, minutes=30)          # 06:30: still quiet
        world.tick(rt)
        assert len(world.got("zs")) == 1
        world.advance(minutes=31)                   # 07:01
        world.tick(rt)
        assert sorted(b["level"] for b in world.got("zs")) == ["red", "yellow"]
    finally:
        world.run(rt.aclose())


def test_escalation_and_reminders_until_acknowledged(world: World) -> None:
    world.setup([world.serve("a", [(STORY, STORY_BODY)])],
                **staff_and_route(world, escalate_after="30m", escalate_to=["李四"],
                                  remind_every="20m"))
    rt = world.services()
    try:
        world.fetch(rt)
        inc = rt.store.list_incidents()[0]
        assert [b["kind"] for b in world.got("zs")] == ["opened"]
        world.advance(minutes=21)
        world.tick(rt)
        assert [b["kind"] for b in world.got("zs")] == ["opened", "reminder"]
        assert world.got("ls") == []
        world.advance(minutes=10)                   # 31 min: escalated to 李四
        world.tick(rt)
        assert [b["kind"] for b in world.got("ls")] == ["escalation"]
        world.tick(rt)                              # nothing twice
        assert len(world.got("ls")) == 1 and len(world.got("zs")) == 2
        world.advance(minutes=10)                   # 41 min: second reminder to 张三
        world.tick(rt)
        assert [b["kind"] for b in world.got("zs")] == ["opened", "reminder", "reminder"]
        assert [b["kind"] for b in world.got("ls")] == ["escalation"]
        world.advance(minutes=10)                   # 51 min: 李四's first, 20 min after
        world.tick(rt)
        assert [b["kind"] for b in world.got("ls")] == ["escalation", "reminder"]
        steps = [s.action for s in rt.store.incident_log(inc.id)]
        assert "escalated" in steps
        handling.acknowledge(rt.config, rt.store, inc.id, by="张三", note="已联系项目部",
                             now=world.now)
        sent = len(world.got("zs")) + len(world.got("ls"))
        for _ in range(4):
            world.advance(minutes=25)
            world.tick(rt)
        assert len(world.got("zs")) + len(world.got("ls")) == sent
        inc = rt.store.get_incident(inc.id)
        assert inc.status == "acknowledged" and inc.acknowledged_by == "张三"
    finally:
        world.run(rt.aclose())


def test_ack_cancels_what_is_queued(world: World) -> None:
    world.setup([world.serve("a", [(STORY, STORY_BODY)])], **staff_and_route(world))
    world.robots.fail("zs", times=100)
    rt = world.services()
    try:
        world.fetch(rt)
        inc = rt.store.list_incidents()[0]
        rows = rt.store.list_deliveries(incident_id=inc.id)
        assert [r.status for r in rows] == ["pending"] and rows[0].attempts == 1
        _, cancelled = handling.acknowledge(rt.config, rt.store, inc.id, by="张三", note=None,
                                            now=world.now)
        assert cancelled == 1
        world.robots.fail("zs", times=0)
        world.advance(hours=1)
        world.tick(rt, flush=True)
        assert world.got("zs") == []
        assert rt.store.list_deliveries(incident_id=inc.id)[0].status == "cancelled"
        assert rt.store.get_incident(inc.id).ack_clock is None   # yellow: no ack clock
    finally:
        world.run(rt.aclose())


def test_red_response_clocks_are_recorded(world: World) -> None:
    world.setup([world.serve("a", [("化工园区仓库发生爆炸", "现场浓烟")])],
                **staff_and_route(world))
    rt = world.services()
    try:
        world.fetch(rt)
        inc = rt.store.list_incidents()[0]
        assert inc.ack_due_at == world.now + timedelta(minutes=30)
        assert inc.respond_due_at == world.now + timedelta(hours=24)
        world.advance(minutes=31)
        world.tick(rt)
        inc = rt.store.get_incident(inc.id)
        assert inc.ack_clock == "missed" and inc.respond_clock is None
        handling.resolve(rt.config, rt.store, inc.id, by="张三", note="已发布通报",
                         outcome="已回应", now=world.now)
        inc = rt.store.get_incident(inc.id)
        assert (inc.status, inc.outcome, inc.respond_clock) == ("resolved", "responded", "met")
    finally:
        world.run(rt.aclose())


def test_silence_mutes_a_category_until_it_ends(world: World) -> None:
    world.setup([world.serve("a", [(STORY, STORY_BODY)])], **staff_and_route(world))
    rt = world.services()
    try:
        rt.store.add_silence("category", "安全生产", until=world.now + timedelta(hours=1),
                             note="演练期间", actor="admin", now=world.now)
        world.fetch(rt)
        assert world.got("zs") == []
        rows = rt.store.list_deliveries()
        assert [r.status for r in rows] == ["muted"] and "演练期间" in (rows[0].note or "")
    finally:
        world.run(rt.aclose())


def test_rate_cap_sends_a_summary_of_the_rest(world: World) -> None:
    items = [("城南滨江路隧道施工段发生坍塌", "城南区滨江路隧道施工段夜间发生局部坍塌，交通管制"),
             ("北郊物流园仓库屋顶垮塌", "北郊物流园一处仓库屋顶因积雪垮塌，无人员伤亡"),
             ("东湖镇老旧民房墙体坍塌", "东湖镇一处老旧民房外墙坍塌，砸坏两辆汽车"),
             ("西山公园步道护坡垮塌", "西山公园登山步道护坡因降雨垮塌，景区临时关闭"),
             ("高新区地铁站基坑坍塌险情", "高新区地铁三号线站点基坑出现坍塌险情，工人撤离")]
    world.setup([world.serve("a", items)],
                **{**staff_and_route(world),
                   "alerts": {"rate_cap": {"count": 2, "per": "1h"}, "digest_times": ["09:00"],
                              "remind_every": "0s"}})
    rt = world.services()
    try:
        world.fetch(rt)
        assert len(rt.store.list_incidents()) == 5
        assert [b["kind"] for b in world.got("zs")] == ["opened", "opened"]
        world.advance(minutes=61)
        world.tick(rt)
        got = world.got("zs")
        assert [b["kind"] for b in got] == ["opened", "opened", "summary"]
        assert len(got[-1]["incidents"]) == 3
    finally:
        world.run(rt.aclose())


def test_level_raised_by_hand_alerts_once_lowered_does_not(world: World) -> None:
    world.setup([world.serve("a", [(STORY, STORY_BODY)])], **staff_and_route(world))
    rt = world.services()
    try:
        world.fetch(rt)
        inc = rt.store.list_incidents()[0]
        handling.set_level(rt.config, rt.store, inc.id, "orange", by="张三", note="涉及伤亡",
                           now=world.now)
        world.tick(rt)
        assert [b["kind"] for b in world.got("zs")] == ["opened", "raised"]
        handling.set_level(rt.config, rt.store, inc.id, "yellow", by="张三", note="核实无伤亡",
                           now=world.now)
        world.tick(rt)
        assert len(world.got("zs")) == 2
        steps = [(s.action, s.actor) for s in rt.store.incident_log(inc.id)]
        assert ("raised", "张三") in steps and ("lowered", "张三") in steps
    finally:
        world.run(rt.aclose())


def test_failing_feed_tells_admins_once_and_once_when_it_clears(world: World) -> None:
    feeds = [{"name": "坏源", "url": world.feeds.url("/missing.xml"), "interval": "5m"}]
    world.feeds.route("/missing.xml", status=500)
    world.setup(feeds, staff=[{"name": "王五", **world.hook("ww")}],
                alerts={"admins": ["王五"]}, fetch={"failure_alert_after": 2})
    rt = world.services()
    try:
        for _ in range(4):
            world.fetch(rt)
            world.advance(minutes=6)
        got = world.got("ww")
        assert [b["kind"] for b in got] == ["admin"] and got[0]["problem"] == "feed_failing"
        world.feeds.route("/missing.xml", body=rss([("区里召开推进会", "会议")], "m"))
        world.fetch(rt)
        world.fetch(rt)
        got = world.got("ww")
        assert len(got) == 2 and got[1]["cleared"] is True
    finally:
        world.run(rt.aclose())


def test_a_silence_made_later_mutes_what_is_still_queued(world: World) -> None:
    world.setup([world.serve("a", [(STORY, STORY_BODY)])], **staff_and_route(world))
    world.robots.fail("zs", times=100)
    rt = world.services()
    try:
        world.fetch(rt)
        inc = rt.store.list_incidents()[0]
        assert [r.status for r in rt.store.list_deliveries()] == ["pending"]
        rt.store.add_silence("incident", str(inc.id), until=world.now + timedelta(hours=2),
                             note="已在处置", actor="admin", now=world.now)
        world.robots.fail("zs", times=0)
        world.advance(minutes=5)
        world.tick(rt, flush=True)
        assert world.got("zs") == []
        assert [r.status for r in rt.store.list_deliveries()] == ["muted"]
    finally:
        world.run(rt.aclose())


def test_silent_feed_and_broken_rules_tell_admins_once_each(world: World) -> None:
    from email.utils import format_datetime

    hourly = "".join(
        f"<item><title>区里第{i}次例会</title><guid>m{i}</guid><pubDate>"
        f"{format_datetime(T0 - timedelta(hours=i))}</pubDate><description>会议</description></item>"
        for i in range(8))
    world.feeds.route("/news.xml", body=(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>n</title>'
        f"{hourly}</channel></rss>").encode())
    world.setup([{"name": "新闻", "url": world.feeds.url("/news.xml"), "interval": "5m"}],
                staff=[{"name": "王五", **world.hook("ww")}], alerts={"admins": ["王五"]})
    rt = world.services()
    try:
        world.fetch(rt)
        world.advance(hours=5)                 # a median gap of 1 h: silent after 6 h
        world.fetch(rt)
        assert world.got("ww") == []
        world.advance(hours=2)
        world.fetch(rt)
        world.fetch(rt)
        got = world.got("ww")
        assert [b["problem"] for b in got] == ["feed_silent"]
        # a broken edit of the rules: told once, and once when fixed
        (world.tmp / "rules" / "r.yaml").write_text(ALERT_RULES.replace("level: blue", "level: purple"),
                                                    encoding="utf-8")
        world.run(rt.reload_rules(world.now))
        world.tick(rt)
        world.tick(rt)
        assert [b["problem"] for b in world.got("ww")] == ["feed_silent", "rules_reload"]
        (world.tmp / "rules" / "r.yaml").write_text(ALERT_RULES, encoding="utf-8")
        world.run(rt.reload_rules(world.now))
        world.tick(rt)
        last = world.got("ww")[-1]
        assert (last["problem"], last["cleared"]) == ("rules_reload", True)
    finally:
        world.run(rt.aclose())


def test_false_positives_are_counted_per_rule(world: World) -> None:
    world.setup([world.serve("a", [(STORY, STORY_BODY), OTHER])], **staff_and_route(world))
    rt = world.services()
    try:
        world.fetch(rt)
        first, second = rt.store.list_incidents()
        handling.resolve(rt.config, rt.store, first.id, by="张三", note="与本单位无关",
                         outcome="误报", now=world.now)
        handling.resolve(rt.config, rt.store, second.id, by="张三", note="已回应",
                         outcome="responded", now=world.now)
        assert rt.store.false_positives_by_rule() == {"collapse": 1}
    finally:
        world.run(rt.aclose())
