"""``yuqing incidents ...`` and ``yuqing alerts ...`` end to end: real feeds served on
127.0.0.1 go through the real pipeline (``fetch_once``) into a real SQLite file, so
items become incidents and alerts go to receivers that check signatures as the
platforms do; then every command is driven through the CLI. One injected clock serves
the pipeline, the commands and the receivers (nothing sleeps).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.runtime import fetch_once

from receivers import RobotReceiver
from servers import FeedServer
from support import ALERT_RULES, Cli, write_config

# 2026-03-02 is a Monday; 10:00 in Beijing
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


STORY = ("城南重点工程工地基坑坍塌 两名工人被困",
         "今天上午，城南区滨江路重点工程项目工地发生基坑坍塌，两名工人被困，消防正在救援。")
REPOST = ("突发！城南重点工程工地基坑坍塌，两名工人被困", STORY[1])
OTHER = ("北郊物流园仓库屋顶垮塌 无人员伤亡",
         "北郊物流园一处仓库屋顶因积雪垮塌，所幸无人员伤亡，园区已封闭检查。")
DUST = ("东湖路搅拌站扬尘严重 居民投诉", "东湖路一处混凝土搅拌站近日扬尘严重，周边居民多次投诉。")
FIRE = ("西城化工仓库突发大火 浓烟滚滚", "西城工业园一化工仓库下午突发大火，消防已到场处置。")

ZS_HOOK = "zs-hook-token-8f3a"           # tokens that must never show in any output
ZS_DING = "zsDingAccessToken77Q"
LS_HOOK = "ls-hook-token-91c2"

LIST_KEYS = {"id", "title", "category", "level", "status", "first_seen", "last_seen", "items",
             "sources", "acknowledged_at", "acknowledged_by", "resolved_at"}
ALERT_KEYS = {"id", "incident", "recipient", "channel", "status", "attempts", "last_error",
              "sent_at"}


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
    config_path: Path | None = None
    served: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def clock(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)

    def serve(self, name: str, items: list[tuple[str, str]]) -> None:
        self.served[name] = items
        self.feeds.route(f"/{name}.xml", body=rss(items, name),
                         headers={"Content-Type": "application/rss+xml"})

    def setup(self, **alerts: Any) -> Cli:
        """Feeds a (the story and another), b (a repost of the story), c (a blue item);
        张三 hears of yellow and above by signed webhook and DingTalk, 李四 when nobody
        acknowledges within 30 minutes; a yellow incident is to be acknowledged within an
        hour."""
        self.serve("a", [STORY, OTHER])
        self.serve("b", [REPOST])
        self.serve("c", [DUST])
        rules = self.tmp / "rules"
        rules.mkdir(exist_ok=True)
        (rules / "r.yaml").write_text(ALERT_RULES, encoding="utf-8")
        feeds = [{"name": n, "url": self.feeds.url(f"/{n}.xml"), "interval": "5m"}
                 for n in ("a", "b", "c")]
        self.config_path = write_config(self.tmp, feeds=feeds, extra={
            "fetch": {"parse_workers": 1},
            "staff": [
                {"name": "张三", "webhook": self.robots.url_for("webhook", ZS_HOOK, secret="hs"),
                 "webhook_secret_env": "YQ_TEST_HOOK_SECRET",
                 "dingtalk": {"webhook": self.robots.url_for("dingtalk", ZS_DING)}},
                {"name": "李四", "webhook": self.robots.url_for("webhook", LS_HOOK, secret="hs"),
                 "webhook_secret_env": "YQ_TEST_HOOK_SECRET"},
            ],
            "routes": [{"categories": ["*"], "min_level": "yellow", "notify": ["张三"],
                        "escalate_after": "30m", "escalate_to": ["李四"]}],
            "alerts": {"digest_times": ["09:00"],
                       "ack_within": {"yellow": "1h", "orange": "1h", "red": "30m"}, **alerts},
        })
        return Cli(self.config_path)

    def fetch(self) -> None:
        """One pass over the feeds, one feed after the other (a before b: the story's
        first item is a's)."""
        assert self.config_path is not None
        config = load_config(self.config_path)
        for feed in config.feeds:
            asyncio.run(fetch_once(config, feed=feed.name, now=self.clock))

    def got(self, token: str, platform: str = "webhook") -> list[dict[str, Any]]:
        return [r.body for r in self.robots.received(platform, token)]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("YQ_TEST_HOOK_SECRET", "hs")
    w = World(tmp_path, FeedServer(), RobotReceiver())
    w.robots.clock = lambda: w.now.timestamp()
    monkeypatch.setattr("monitor.cli.incidents.now", w.clock)
    w.feeds.__enter__()
    w.robots.start()
    try:
        yield w
    finally:
        w.robots.stop()
        w.feeds.__exit__(None, None, None)


def one_error_line(r: Any) -> str:
    """The command failed with exit 1 and one Chinese line on stderr (no traceback)."""
    assert r.exit_code == 1, (r.exit_code, r.output)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误："), r.stderr
    assert "Traceback" not in r.stderr
    return str(lines[0])


def by_title(incidents: list[dict[str, Any]], word: str) -> dict[str, Any]:
    return next(i for i in incidents if word in i["title"])


# ---- incidents list / show -------------------------------------------------------------
def test_incidents_list_filters_and_exact_json(world: World) -> None:
    cli = world.setup()
    world.fetch()
    rows = cli.json("incidents", "list")
    assert len(rows) == 3, rows
    assert all(set(r) == LIST_KEYS for r in rows)
    story = by_title(rows, "城南")
    assert (story["items"], story["sources"]) == (2, 2)
    assert isinstance(story["items"], int) and isinstance(story["sources"], int)
    assert story["level"] == "yellow" and story["status"] == "open"
    assert story["category"] == "安全生产"
    assert story["first_seen"] == "2026-03-02T02:00:00+00:00"
    assert story["acknowledged_at"] is None and story["resolved_at"] is None

    assert {r["title"] for r in cli.json("incidents", "list", "--level", "yellow")} == \
        {STORY[0], OTHER[0]}
    # levels and statuses also as people say them
    assert [r["title"] for r in cli.json("incidents", "list", "--level", "一般")] == [DUST[0]]
    assert len(cli.json("incidents", "list", "--status", "open")) == 3
    assert len(cli.json("incidents", "list", "--status", "待处置")) == 3
    assert cli.json("incidents", "list", "--status", "resolved") == []
    assert [r["title"] for r in cli.json("incidents", "list", "--category", "环境扰民")] == \
        [DUST[0]]
    assert len(cli.json("incidents", "list", "--since", "2026-03-02")) == 3
    assert cli.json("incidents", "list", "--since", "2026-03-03") == []
    assert cli.json("incidents", "list", "--until", "2026-03-02") == []      # not included
    assert len(cli.json("incidents", "list", "--until", "2026-03-03")) == 3
    assert len(cli.json("incidents", "list", "--limit", "1")) == 1

    # bad values: one Chinese line, exit 1; bad usage: exit 2
    assert "purple" in one_error_line(cli("incidents", "list", "--level", "purple"))
    assert "状态" in one_error_line(cli("incidents", "list", "--status", "closed"))
    assert cli("incidents", "list", "--since", "last week").exit_code == 2
    assert cli("incidents", "list", "--limit", "0").exit_code == 2

    r = cli("incidents", "list")
    assert r.exit_code == 0
    head = r.stdout.splitlines()[0]
    for word in ("编号", "级别", "状态", "类别", "标题", "条目/来源", "首次发现"):
        assert word in head
    line = next(ln for ln in r.stdout.splitlines() if "城南" in ln)
    assert "较大（黄）" in line and "待处置" in line and "2/2" in line
    assert "2026-03-02 10:00" in line                                  # Beijing time


def test_incidents_show_items_matches_alerts_log_and_clocks(world: World) -> None:
    cli = world.setup()
    world.fetch()
    story = by_title(cli.json("incidents", "list"), "城南")
    d = cli.json("incidents", "show", str(story["id"]))
    assert set(d) >= LIST_KEYS
    assert {k: d[k] for k in LIST_KEYS} == story
    for key in ("entries", "matches", "alerts", "log", "outcome", "resolved_by", "link",
                "rules", "categories", "clocks"):
        assert key in d
    assert d["rules"] == ["collapse"] and d["categories"] == ["安全生产"]
    assert d["link"] == "http://news.example/a/0"
    assert [(e["feed"], e["how"]) for e in d["entries"]] == [("a", "opened"), ("b", "similar")]
    assert d["entries"][1]["title"] == REPOST[0] and d["entries"][1]["level"] == "yellow"
    assert d["entries"][0]["link"] == "http://news.example/a/0"
    (match,) = d["matches"]
    assert (match["rule"], match["category"], match["level"]) == ("collapse", "安全生产", "yellow")
    assert match["words"] == ["坍塌"] and len(match["items"]) == 2
    # 张三 heard on both channels, at once
    assert sorted((a["recipient"], a["channel"], a["kind"], a["status"]) for a in d["alerts"]) \
        == [("张三", "dingtalk", "opened", "sent"), ("张三", "webhook", "opened", "sent")]
    assert all(a["attempts"] == 1 and a["sent_at"] for a in d["alerts"])
    assert [s["action"] for s in d["log"]] == ["opened", "joined"]
    assert d["clocks"]["ack_clock"] == "running"
    assert d["clocks"]["ack_due_at"] == "2026-03-02T03:00:00+00:00"
    assert d["clocks"]["respond_clock"] == "running" and d["clocks"]["respond_due_at"]
    assert set(d["clocks"]) == {"ack_due_at", "ack_clock", "respond_due_at", "respond_clock"}
    assert d["outcome"] is None and d["resolved_by"] is None

    r = cli("incidents", "show", str(story["id"]))
    assert r.exit_code == 0
    out = r.stdout.replace("〖", "").replace("〗", "")  # the tone's phrases are marked in titles
    assert "〖" in r.stdout
    for text in (f"事件 #{story['id']}", "较大（黄）", "待处置", STORY[0], REPOST[0], "条目（2）",
                 "内容相似", "命中规则（1）", "collapse", "坍塌", "告警（2）", "张三", "钉钉机器人",
                 "已发送", "处置记录（2）", "新建事件", "条目并入", "认领时限", "进行中",
                 "2026-03-02 10:00"):
        assert text in out, text
    # past the deadline with nobody acknowledging: 已超时
    world.advance(days=3)
    assert "已超时" in cli("incidents", "show", str(story["id"])).stdout
    assert cli.json("incidents", "show", str(story["id"]))["clocks"]["ack_clock"] == "missed"

    assert "9999" in one_error_line(cli("incidents", "show", "9999"))
    assert cli("incidents", "show", "abc").exit_code == 2


def test_read_only_commands_do_not_create_the_database_and_writes_refuse(world: World) -> None:
    cli = world.setup()
    db = world.tmp / "data" / "monitor.db"
    assert cli.json("incidents", "list") == []
    assert cli.json("alerts", "list") == []
    assert cli.json("alerts", "silences") == []
    assert not db.exists()
    for args in (["incidents", "ack", "1", "--by", "张三"], ["incidents", "show", "1"],
                 ["alerts", "flush"], ["alerts", "unsilence", "1"],
                 ["alerts", "silence", "--rule", "dust", "--for", "1h", "--note", "x"]):
        assert "不存在" in one_error_line(cli(*args)), args
    assert not db.exists()


def test_the_real_program_lists_without_loading_the_rule_engine(world: World) -> None:
    """As a separate process: ``--json`` is one document on stdout, and the list commands
    start without jieba, the matcher or the HTTP client."""
    import subprocess
    import sys

    world.setup()
    world.fetch()
    script = ("import atexit, sys\n"
              "atexit.register(lambda: sys.stderr.write('LOADED:' + ','.join(sorted(m for m in "
              "('rjieba', 'ahocorasick', 'monitor.rules', 'monitor.incidents', 'httpx') "
              "if m in sys.modules)) + '\\n'))\n"
              "from monitor.cli import main\n"
              "main(sys.argv[1:])\n")
    for args, keys in ((["incidents", "list", "--json"], LIST_KEYS),
                       (["alerts", "list", "--json"], ALERT_KEYS)):
        r = subprocess.run([sys.executable, "-c", script, "--config", str(world.config_path),
                            *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "LOADED:\n" in r.stderr, r.stderr
        doc = json.loads(r.stdout)
        assert doc and all(set(d) == keys for d in doc)


# ---- handling steps --------------------------------------------------------------------
def test_ack_cancels_what_is_still_queued_and_stops_escalation(world: World) -> None:
    cli = world.setup()
    world.robots.fail(ZS_HOOK, times=100)
    world.robots.fail(ZS_DING, times=100)
    world.fetch()
    story = by_title(cli.json("incidents", "list"), "城南")
    pending = cli.json("alerts", "list", "--status", "pending", "--incident", str(story["id"]))
    assert len(pending) == 2 and all(a["attempts"] == 1 and a["last_error"] for a in pending)

    r = cli("incidents", "ack", str(story["id"]), "--by", "张三", "--note", "已联系项目部")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"已认领事件 #{story['id']}，已取消 2 条待发送的提醒"
    rows = cli.json("alerts", "list", "--incident", str(story["id"]))
    assert {a["status"] for a in rows} == {"cancelled"}
    listed = by_title(cli.json("incidents", "list"), "城南")
    assert listed["status"] == "acknowledged" and listed["acknowledged_by"] == "张三"
    assert listed["acknowledged_at"] == "2026-03-02T02:00:00+00:00"
    d = cli.json("incidents", "show", str(story["id"]))
    assert d["log"][-1]["action"] == "acknowledged" and d["log"][-1]["note"] == "已联系项目部"
    assert d["clocks"]["ack_clock"] == "met"

    # past escalate_after: the acknowledged story is not escalated, the other one is
    world.robots.fail(ZS_HOOK, times=0)
    world.robots.fail(ZS_DING, times=0)
    world.advance(minutes=31)
    assert cli("alerts", "flush").exit_code == 0
    escalated = {b["incident"] for b in world.got(LS_HOOK)}
    assert story["id"] not in escalated
    assert by_title(cli.json("incidents", "list"), "北郊")["id"] in escalated

    assert "已由 张三 认领" in one_error_line(cli("incidents", "ack", str(story["id"]),
                                                    "--by", "李四"))
    assert cli("incidents", "ack", str(story["id"])).exit_code == 2          # --by missing
    assert "9999" in one_error_line(cli("incidents", "ack", "9999", "--by", "张三"))


def test_resolve_needs_a_note_and_a_known_outcome_then_reopen(world: World) -> None:
    cli = world.setup()
    world.fetch()
    story = by_title(cli.json("incidents", "list"), "城南")
    sid = str(story["id"])
    assert cli("incidents", "resolve", sid, "--by", "张三").exit_code == 2   # --note missing
    assert "--note" in one_error_line(cli("incidents", "resolve", sid, "--by", "张三",
                                          "--note", "  "))
    line = one_error_line(cli("incidents", "resolve", sid, "--by", "张三", "--note", "已处理",
                              "--outcome", "随便"))
    assert "未知的办结结果" in line and "已回应" in line
    assert by_title(cli.json("incidents", "list"), "城南")["status"] == "open"

    world.advance(minutes=5)
    r = cli("incidents", "resolve", sid, "--by", "张三", "--note", "系统误判", "--outcome", "误报")
    assert r.exit_code == 0, r.output
    assert f"已办结事件 #{sid}（结果：误报）" in r.stdout
    d = cli.json("incidents", "show", sid)
    assert d["status"] == "resolved" and d["outcome"] == "false_positive"
    assert d["resolved_by"] == "张三" and d["resolved_at"] == "2026-03-02T02:05:00+00:00"
    assert d["acknowledged_by"] == "张三"                    # closing it acknowledged it
    assert d["log"][-1]["action"] == "resolved" and d["log"][-1]["note"] == "系统误判"
    assert [r["id"] for r in cli.json("incidents", "list", "--status", "resolved")] == [story["id"]]
    assert "已于此前办结" in one_error_line(cli("incidents", "resolve", sid, "--by", "张三",
                                               "--note", "再次"))

    r = cli("incidents", "reopen", sid, "--by", "李四", "--note", "当事人再次发帖")
    assert r.exit_code == 0 and f"已重新打开事件 #{sid}" in r.stdout
    d = cli.json("incidents", "show", sid)
    assert d["status"] == "open" and d["acknowledged_by"] is None and d["outcome"] is None
    assert d["log"][-1]["action"] == "reopened" and d["log"][-1]["actor"] == "李四"
    assert "尚未办结" in one_error_line(cli("incidents", "reopen", sid, "--by", "李四"))
    assert "重新打开" in cli("incidents", "show", sid).stdout

    # the default outcome is 已回应; codes work too
    other = str(by_title(cli.json("incidents", "list"), "北郊")["id"])
    assert "结果：已回应" in cli("incidents", "resolve", other, "--by", "张三", "--note", "已回应").stdout
    dust = str(by_title(cli.json("incidents", "list"), "扬尘")["id"])
    assert cli("incidents", "resolve", dust, "--by", "张三", "--note", "已转交城管",
               "--outcome", "referred").exit_code == 0
    assert cli.json("incidents", "show", dust)["outcome"] == "referred"


def test_level_by_hand_raise_queues_an_alert_lowering_only_logs(world: World) -> None:
    cli = world.setup()
    world.fetch()
    story = by_title(cli.json("incidents", "list"), "城南")
    sid = str(story["id"])
    before = {a["id"] for a in cli.json("alerts", "list")}
    assert cli("incidents", "level", sid, "orange", "--by", "张三").exit_code == 2  # no --note
    r = cli("incidents", "level", sid, "orange", "--by", "张三", "--note", "已有媒体跟进")
    assert r.exit_code == 0, r.output
    assert "重大（橙）" in r.stdout and "已安排 2 条告警" in r.stdout
    new = [a for a in cli.json("alerts", "list", "--incident", sid) if a["id"] not in before]
    assert len(new) == 2 and {a["status"] for a in new} == {"pending"}
    d = cli.json("incidents", "show", sid)
    assert d["level"] == "orange"
    assert {a["kind"] for a in d["alerts"] if a["id"] in {n["id"] for n in new}} == {"raised"}
    assert d["log"][-1]["action"] == "raised" and d["log"][-1]["actor"] == "张三"

    r = cli("alerts", "flush")
    assert r.exit_code == 0 and "已发送 2 条" in r.stdout
    raised = [b for b in world.got(ZS_HOOK) if b["incident"] == story["id"] and b["level"] == "orange"]
    assert len(raised) == 1

    r = cli("incidents", "level", sid, "一般", "--by", "张三", "--note", "核实为小事故")
    assert r.exit_code == 0 and "一般（蓝）" in r.stdout and "已安排" not in r.stdout
    assert cli.json("incidents", "show", sid)["log"][-1]["action"] == "lowered"
    assert "已是" in one_error_line(cli("incidents", "level", sid, "blue", "--by", "张三",
                                        "--note", "x"))
    assert "purple" in one_error_line(cli("incidents", "level", sid, "purple", "--by", "张三",
                                          "--note", "x"))
    assert "info" in one_error_line(cli("incidents", "level", sid, "info", "--by", "张三",
                                        "--note", "x"))


def test_incidents_show_and_alerts_carry_each_items_tone(world: World) -> None:
    from monitor.models import tone_text
    from monitor.store import Store
    from monitor.tone import Tone

    cli = world.setup()
    world.fetch()
    story = by_title(cli.json("incidents", "list"), "城南")
    sid = str(story["id"])
    first, repost = cli.json("incidents", "show", sid)["entries"]
    text = tone_text(*STORY)
    spans = tuple((text.index(w), text.index(w) + 2) for w in ("坍塌", "被困"))
    assert spans == ((10, 12), (17, 19))
    assert world.config_path is not None
    with Store(load_config(world.config_path).storage.path, create=False) as store:
        store.save_tone(first["id"], Tone("negative", 0.93, 0.05, 0.02, spans), model="test")
        store.save_tone(repost["id"], Tone("neutral", 0.2, 0.7, 0.1, ((0, 2),)), model="test")
        store.correct_tone(repost["id"], "negative", actor="张三", now=world.now)

    d = cli.json("incidents", "show", sid)
    assert d["tone"] == {"negative": True, "name": "负面舆情", "summary": "负面 2 条",
                         "counts": {"negative": 2, "neutral": 0, "positive": 0, "unknown": 0},
                         "phrases": ["坍塌", "被困"], "top_negative": 0.93}
    first, repost = d["entries"]
    assert first["tone"] == {"label": "negative", "name": "负面", "negative": 0.93,
                             "phrases": [{"start": 10, "end": 12, "text": "坍塌"},
                                         {"start": 17, "end": 19, "text": "被困"}],
                             "corrected": False, "model_label": "negative"}
    assert (repost["tone"]["label"], repost["tone"]["corrected"],
            repost["tone"]["model_label"]) == ("negative", True, "neutral")
    # the list's contract shape is unchanged
    assert all(set(i) == LIST_KEYS for i in cli.json("incidents", "list"))

    out = cli("incidents", "show", sid).stdout
    assert "倾向：负面舆情（负面 2 条）    依据：〖坍塌〗〖被困〗" in out
    assert "城南重点工程工地基坑〖坍塌〗 两名工人〖被困〗" in out
    assert "倾向：负面（负面概率 0.93）  依据：〖坍塌〗〖被困〗" in out
    # corrected to another tone: the model's phrases are not shown as its reasons
    assert "倾向：负面（负面概率 0.20，人工更正，模型判为中性）\n" in out
    assert REPOST[0] in out and "〖突发〗" not in out

    # an alert about it says the tone and the phrases, on every channel
    r = cli("incidents", "level", sid, "orange", "--by", "张三", "--note", "已有媒体跟进")
    assert r.exit_code == 0, r.output
    assert cli("alerts", "flush").exit_code == 0
    [raised] = [b for b in world.got(ZS_HOOK) if b["kind"] == "raised"]
    assert raised["tone"]["line"] == "倾向：负面（负面概率 0.93），依据：“坍塌”“被困”"
    assert raised["tone"]["incident"]["summary"] == "负面 2 条"
    ding = [b["markdown"]["text"] for b in world.got(ZS_DING, "dingtalk")]
    assert "**倾向**：负面（负面概率 0.93），依据：“坍塌”“被困”" in ding[-1]
    assert "倾向：负面（负面概率 0.20，人工更正，模型判为中性）" in ding[-1]


def test_tone_phrases_in_a_hostile_title_are_marked_and_shown_safely() -> None:
    from monitor.cli.incidents import _marked_title, _tone_line

    title = "\u202e物业太失望了\x1b[2J"
    tone = {"label": "negative", "name": "负面", "negative": 0.9, "corrected": False,
            "model_label": "negative",
            "phrases": [{"start": 3, "end": 7, "text": "太失望了"},
                        {"start": 7, "end": 9, "text": "\x1b["}]}
    shown = _marked_title({"title": title, "tone": tone})
    assert shown == "<U+202E>物业〖太失望了〗〖<U+001B>[〗2J"
    assert _tone_line(tone) == "倾向：负面（负面概率 0.90）  依据：〖太失望了〗〖<U+001B>[〗"


# ---- alerts ----------------------------------------------------------------------------
def test_alerts_list_exact_json_and_no_token_or_url_anywhere(world: World) -> None:
    cli = world.setup()
    world.robots.fail(ZS_DING, times=100, status=503)
    world.fetch()
    rows = cli.json("alerts", "list")
    assert rows and all(set(a) == ALERT_KEYS for a in rows)
    assert {(a["channel"], a["status"]) for a in rows} == {("webhook", "sent"),
                                                          ("dingtalk", "pending")}
    failing = [a for a in rows if a["channel"] == "dingtalk"]
    assert all(a["last_error"] and a["sent_at"] is None and a["attempts"] == 1 for a in failing)
    assert all(isinstance(a["incident"], int) for a in rows)
    assert len(cli.json("alerts", "list", "--status", "sent")) == 2
    assert len(cli.json("alerts", "list", "--status", "待发送")) == 2
    assert len(cli.json("alerts", "list", "--limit", "1")) == 1
    assert "告警状态" in one_error_line(cli("alerts", "list", "--status", "lost"))

    story = by_title(cli.json("incidents", "list"), "城南")
    outputs = [cli("alerts", "list").stdout, cli("alerts", "list", "--json").stdout,
               cli("incidents", "show", str(story["id"])).stdout,
               cli("incidents", "show", str(story["id"]), "--json").stdout,
               cli("alerts", "flush").stdout]
    for out in outputs:
        for secret in (ZS_HOOK, ZS_DING, LS_HOOK, "access_token", "/hook/",
                       f"127.0.0.1:{world.robots.port}"):
            assert secret not in out, (secret, out)
    table = outputs[0]
    for word in ("编号", "事件", "收件人", "通道", "状态", "钉钉机器人", "Webhook", "已发送",
                 "待发送", "新舆情"):
        assert word in table, word


def test_flush_sends_pending_rows_once_the_receiver_recovers_and_queues_escalations(
        world: World) -> None:
    cli = world.setup()
    world.robots.fail(ZS_HOOK, times=100)
    world.fetch()
    assert world.got(ZS_HOOK) == []
    pending = cli.json("alerts", "list", "--status", "pending")
    assert len(pending) == 2                   # the two yellow incidents, by webhook

    r = cli("alerts", "flush")                 # still failing: retried at once, not dropped
    assert r.exit_code == 0
    assert "已发送 0 条，失败 2 条（将重试）" in r.stdout and "失败原因" in r.stdout
    assert {a["attempts"] for a in cli.json("alerts", "list", "--status", "pending")} == {2}

    world.robots.fail(ZS_HOOK, times=0)
    world.advance(seconds=1)                   # well inside the backoff: flush ignores it
    r = cli("alerts", "flush")
    assert r.exit_code == 0 and "已发送 2 条，失败 0 条（将重试）" in r.stdout, r.output
    assert len(world.got(ZS_HOOK)) == 2
    assert cli.json("alerts", "list", "--status", "pending") == []
    assert world.robots.rejected(platform="webhook", token=ZS_HOOK) != []   # the 500s
    assert cli("alerts", "flush").stdout.strip() == "已发送 0 条，失败 0 条（将重试）"

    # nobody acknowledged: past escalate_after, flush queues and sends the escalations
    world.advance(minutes=31)
    r = cli("alerts", "flush")
    assert r.exit_code == 0 and "新安排" in r.stdout
    assert sorted(b["title"] for b in world.got(LS_HOOK)) == sorted([STORY[0], OTHER[0]])
    assert {a["kind"] for a in json.loads(cli("incidents", "show", str(
        by_title(cli.json("incidents", "list"), "城南")["id"]), "--json").stdout)["alerts"]} \
        >= {"opened", "escalation"}


def test_retry_requeues_a_failed_delivery(world: World) -> None:
    cli = world.setup(max_attempts=1)
    world.robots.fail(ZS_HOOK, times=1)
    world.fetch()
    failed = cli.json("alerts", "list", "--status", "failed")
    assert len(failed) == 1 and failed[0]["channel"] == "webhook"
    fid = str(failed[0]["id"])
    sent = next(a for a in cli.json("alerts", "list", "--status", "sent"))

    r = cli("alerts", "retry", fid)
    assert r.exit_code == 0 and f"已将告警 #{fid} 重新排队" in r.stdout
    row = next(a for a in cli.json("alerts", "list") if a["id"] == failed[0]["id"])
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert cli("alerts", "flush").exit_code == 0
    row = next(a for a in cli.json("alerts", "list") if a["id"] == failed[0]["id"])
    assert row["status"] == "sent" and row["sent_at"]

    assert "已发送" in one_error_line(cli("alerts", "retry", str(sent["id"])))
    assert "9999" in one_error_line(cli("alerts", "retry", "9999"))


def test_silences_mute_new_alerts_until_lifted(world: World) -> None:
    cli = world.setup()
    world.fetch()
    story = by_title(cli.json("incidents", "list"), "城南")
    assert cli.json("alerts", "silences") == []

    # bad usage (exit 2) and bad values (exit 1)
    note = ["--note", "已知情况"]
    assert cli("alerts", "silence", "--for", "2h", *note).exit_code == 2
    assert cli("alerts", "silence", "--category", "安全生产", "--rule", "fire", "--for", "2h",
               *note).exit_code == 2
    assert cli("alerts", "silence", "--category", "安全生产", *note).exit_code == 2
    assert cli("alerts", "silence", "--category", "安全生产", "--for", "2h", "--until",
               "2026-03-05", *note).exit_code == 2
    assert cli("alerts", "silence", "--category", "安全生产", "--for", "soon", *note).exit_code == 2
    assert cli("alerts", "silence", "--category", "安全生产", "--for", "2h").exit_code == 2
    assert "已经过去" in one_error_line(cli("alerts", "silence", "--category", "安全生产",
                                            "--until", "2026-03-01", *note))
    assert "9999" in one_error_line(cli("alerts", "silence", "--incident", "9999", "--for", "1h",
                                        *note))

    r = cli("alerts", "silence", "--category", "安全生产", "--for", "2h", "--note", "演练期间",
            "--by", "王五")
    assert r.exit_code == 0, r.output
    assert "类别「安全生产」" in r.stdout and "2026-03-02 12:00" in r.stdout
    r = cli("alerts", "silence", "--incident", str(story["id"]), "--until", "2026-03-03",
            "--note", "已在处置")
    assert r.exit_code == 0 and f"事件 #{story['id']}" in r.stdout
    active = cli.json("alerts", "silences")
    assert [(s["scope"], s["value"]) for s in active] == [("category", "安全生产"),
                                                          ("incident", str(story["id"]))]
    assert active[0]["until"] == "2026-03-02T04:00:00+00:00" and active[0]["created_by"] == "王五"
    assert active[0]["note"] == "演练期间" and all(s["active"] for s in active)
    assert "silenced" in [s["action"] for s in cli.json("incidents", "show",
                                                          str(story["id"]))["log"]]
    table = cli("alerts", "silences").stdout
    assert "类别「安全生产」" in table and "生效中" in table and "演练期间" in table

    # a new red story in the silenced category: an incident, but its alerts are muted
    world.advance(minutes=10)
    world.serve("a", [STORY, OTHER, FIRE])
    world.fetch()
    fire = by_title(cli.json("incidents", "list"), "西城")
    assert fire["level"] == "red"
    rows = cli.json("alerts", "list", "--incident", str(fire["id"]))
    assert rows and {a["status"] for a in rows} == {"muted"}
    assert not [b for b in world.got(ZS_HOOK) if b["incident"] == fire["id"]]

    first = str(active[0]["id"])
    r = cli("alerts", "unsilence", first)
    assert r.exit_code == 0 and f"已解除静默 #{first}" in r.stdout
    assert [s["scope"] for s in cli.json("alerts", "silences")] == ["incident"]
    assert "9999" in one_error_line(cli("alerts", "unsilence", "9999"))
    assert one_error_line(cli("alerts", "unsilence", first))        # lifted already
    everything = cli.json("alerts", "silences", "--all")
    assert len(everything) == 2 and everything[0]["lifted_at"] and not everything[0]["active"]

    # lifted: the next story in that category is alerted again
    world.advance(minutes=10)
    world.serve("c", [DUST, ("南站广场发生爆炸 多人受伤", "南站广场今晨发生爆炸，多人受伤送医。")])
    world.fetch()
    blast = by_title(cli.json("incidents", "list"), "南站")
    assert {a["status"] for a in cli.json("alerts", "list", "--incident", str(blast["id"]))} \
        == {"sent"}


def test_every_new_command_has_chinese_help_with_an_example(world: World) -> None:
    cli = world.setup()
    for group, names in (("incidents", ["list", "show", "ack", "resolve", "reopen", "level"]),
                         ("alerts", ["list", "flush", "retry", "silence", "silences",
                                     "unsilence"])):
        for name in names:
            r = cli(group, name, "--help")
            assert r.exit_code == 0 and "示例" in r.stdout and "用法" in r.stdout, (group, name)
