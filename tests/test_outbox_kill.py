"""The outbox across a crash: a real ``yuqing run`` daemon, a real feed server, real
receivers (robots that check signatures, an SMTP server with a password), SIGKILL while a
delivery is in flight, a restart.

What it proves: the rows survive the kill; at the restart the daemon puts the rows it had
claimed back in the queue and sends them; every planned delivery ends ``sent``; each
delivery reached its receiver at least once and none more than once, except the one send
that was in flight when the process died (the only one that can go twice, by design:
its id travels as ``X-Yuqing-Delivery`` / ``"delivery"`` / ``Message-ID`` so receivers can
drop the repeat). Then: no robot token, webhook or robot signing secret, or SMTP password
appears in the daemon's logs (the restarted daemon runs with ``--debug``, so httpx's
request lines with every URL are in them), its stderr, the outbox's recorded errors,
``yuqing config check --dump`` or ``yuqing alerts list`` (after the kill, when errors are
recorded, and at the end; when that command exists).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from receivers import RobotReceiver, SmtpInbox
from servers import FeedServer
from support import ALERT_RULES, run_yuqing, wait_for, write_config

STORIES = [
    ("城南重点工程工地基坑坍塌 两名工人被困",
     "今天上午，城南区滨江路重点工程项目工地发生基坑坍塌，两名工人被困，消防正在救援。"),
    ("北郊物流园仓库屋顶垮塌 无人员伤亡",
     "北郊物流园一处仓库屋顶因积雪垮塌，所幸无人员伤亡，园区已封闭检查。"),
    ("东湖学校围墙夜间垮塌 砸中三辆停放车辆",
     "东湖路小学西侧围墙昨夜突然垮塌，压坏路边停放的三辆私家车，校方称将尽快修复。"),
    ("西山隧道施工段发生塌方坍塌 进城方向封闭",
     "西山隧道扩建工程施工段今晨发生坍塌，进城方向全部封闭，请司机绕行环城高速。"),
]

SLOW = "zs-slow-hook-4f8a2c9e71d3b605"         # the robot tokens (secrets in their URLs)
FAST = "ls-fast-hook-9c2e5a7f13b8d460"
DING = "ls-ding-7e3f1a9c5b2d8e4f6a0c1b3d5e7f9a2b"
HOOK_SECRET = "whsec-kill-2b7d9f4a6c8e0a1b3c5d"     # signing secrets and the SMTP password
DING_SECRET = "SECkill8f6e4d2c0b9a7f5e3d1c2b4a6f8e0d"
SMTP_PASSWORD = "smtp-pw-Kill-5e1c9a7b3d"
ENV = {"YQ_KILL_HOOK_SECRET": HOOK_SECRET, "YQ_KILL_DING_SECRET": DING_SECRET,
       "YQ_KILL_SMTP_PASSWORD": SMTP_PASSWORD}
SECRETS = {"slow token": SLOW, "fast token": FAST, "dingtalk token": DING,
           "webhook secret": HOOK_SECRET, "dingtalk secret": DING_SECRET,
           "smtp password": SMTP_PASSWORD}
MESSAGE_ID = re.compile(r"<yuqing-delivery-(\d+)@")


def rss() -> bytes:
    items = "".join(
        f"<item><title>{t}</title><guid>kill-{i}</guid><link>http://news.example/kill/{i}</link>"
        f"<description>{b}</description></item>" for i, (t, b) in enumerate(STORIES))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
             f"<title>区融媒体中心</title>{items}</channel></rss>").encode()


def rows(db: Path) -> list[dict[str, Any]]:
    """The outbox as another process sees it (the daemon may be writing)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM deliveries ORDER BY id")]
    except sqlite3.OperationalError:      # tables not created yet
        return []
    finally:
        conn.close()


def attempt_errors(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [e for (e,) in conn.execute("SELECT error FROM delivery_attempts "
                                           "WHERE error IS NOT NULL")]
    finally:
        conn.close()


@dataclass
class Run:
    tmp: Path
    config: Path
    db: Path
    robots: RobotReceiver
    inbox: SmtpInbox
    inflight: int = 0
    before_kill: list[dict[str, Any]] = field(default_factory=list)
    final: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    restart_log: str = ""
    listings: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def list_alerts(self, when: str) -> None:
        """``yuqing alerts list`` (table and JSON) as it is at ``when``."""
        for extra in ((), ("--json",)):
            self.listings[f"alerts list {' '.join(extra)} ({when})"] = run_yuqing(
                "--config", str(self.config), "alerts", "list", *extra, env=ENV)

    def start(self, name: str, *options: str) -> subprocess.Popen[bytes]:
        out = self.tmp / f"{name}.out"
        self.outputs.append(out)
        with out.open("wb") as f:   # a file, not a pipe: a DEBUG daemon fills a pipe
            return subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(self.config), *options,
                 "run"], stdout=f, stderr=subprocess.STDOUT, env={**os.environ, **ENV})

    def hook_ids(self, token: str) -> Counter[int]:
        """Delivery ids the webhook received (header and body agree)."""
        got = self.robots.received("webhook", token)
        for r in got:
            assert r.headers["x-yuqing-delivery"] == str(r.body["delivery"])
        return Counter(int(r.body["delivery"]) for r in got)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(timeout=15)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("outbox-kill")
    (tmp / "rules").mkdir()
    (tmp / "rules" / "r.yaml").write_text(ALERT_RULES, encoding="utf-8")
    feeds = FeedServer().__enter__()
    feeds.route("/rss.xml", body=rss(), headers={"Content-Type": "application/rss+xml"})
    robots = RobotReceiver().start()
    inbox = SmtpInbox(users={"yuqing": SMTP_PASSWORD})   # not started: SMTP is down at first
    signed = {"webhook_secret_env": "YQ_KILL_HOOK_SECRET"}
    config = write_config(tmp, feeds=[{"name": "区融媒体中心", "interval": "1h",
                                       "url": feeds.url("/rss.xml")}], extra={
        "fetch": {"startup_spread": "1s"},
        "logging": {"dir": "../logs", "level": "DEBUG"},
        "smtp": {"host": inbox.host, "port": inbox.port, "username": "yuqing",
                 "password_env": "YQ_KILL_SMTP_PASSWORD", "timeout": "3s"},
        "staff": [
            {"name": "张三", "webhook": robots.url_for("webhook", SLOW, HOOK_SECRET), **signed},
            {"name": "李四", "webhook": robots.url_for("webhook", FAST, HOOK_SECRET), **signed,
             "email": "lisi@qu.example",
             "dingtalk": {"webhook": robots.url_for("dingtalk", DING, DING_SECRET),
                          "secret_env": "YQ_KILL_DING_SECRET"}}],
        "routes": [{"categories": ["*"], "min_level": "yellow", "notify": ["张三", "李四"]}],
        "alerts": {"tick": "1s", "retry_base": "1s", "retry_max": "2s"},
    })
    r = Run(tmp, config, tmp / "data" / "monitor.db", robots, inbox)
    robots.delay(SLOW, 60, times=1)      # 张三's first alert: posted, then no answer
    robots.fail(DING, times=1)           # 李四's robot: one HTTP 500 (an error to log)
    try:
        proc = r.start("first")
        try:
            def in_flight() -> bool:
                got = r.hook_ids(SLOW)
                if not got:
                    return False
                state = {row["id"]: row for row in rows(r.db)}
                others = [x for x in state.values() if x["recipient"] == "李四"]
                r.inflight = next(iter(got))
                # 李四's rows settled: each tried once (sent, or waiting to be retried)
                return (state[r.inflight]["status"] == "sending"
                        and len(others) == 3 * len(STORIES)
                        and all(x["status"] in ("sent", "pending") and x["attempts"] == 1
                                for x in others))

            wait_for(in_flight, timeout=60)
            r.before_kill = rows(r.db)
        finally:
            stop(proc, signal.SIGKILL)             # mid-send: no cleanup of any kind
        assert proc.returncode == -signal.SIGKILL
        r.list_alerts("after the kill: errors recorded, rows waiting")
        inbox.start()                              # SMTP is back for the second run
        log = tmp / "logs" / "yuqing.log"
        offset = log.stat().st_size
        proc = r.start("second", "--debug")     # libraries' debug lines too (httpx...)
        try:
            def all_sent() -> bool:
                now = rows(r.db)
                return bool(now) and all(x["status"] == "sent" for x in now)

            wait_for(all_sent, timeout=60)
            r.final = rows(r.db)
        finally:
            stop(proc)
        assert proc.returncode == 0, (tmp / "second.out").read_text("utf-8", "replace")
        r.restart_log = log.read_bytes()[offset:].decode("utf-8", "replace")
        r.list_alerts("at the end")
        yield r
    finally:
        robots.stop()
        inbox.stop()
        feeds.__exit__(None, None, None)


def test_kill_mid_send_then_restart_sends_everything_once(run: Run) -> None:
    before = {x["id"]: x for x in run.before_kill}
    slow_rows = [x for x in run.before_kill if x["recipient"] == "张三"]
    # four stories, four incidents; each planned for 张三 (1 channel) and 李四 (3 channels)
    assert len(slow_rows) == len(STORIES) and len(run.before_kill) == 4 * len(STORIES)
    assert {x["kind"] for x in run.before_kill} == {"opened"}
    # at the kill: 张三's rows all claimed (one on the wire, the rest waiting behind it
    # on the same target), 李四's webhook rows sent, his email and one robot row retrying
    assert before[run.inflight]["status"] == "sending"
    assert {x["status"] for x in slow_rows} == {"sending"}
    by_channel = Counter((x["channel"], x["status"]) for x in run.before_kill
                         if x["recipient"] == "李四")
    assert by_channel[("webhook", "sent")] == len(STORIES)
    assert by_channel[("email", "pending")] == len(STORIES)
    assert by_channel[("dingtalk", "pending")] == 1
    assert by_channel[("dingtalk", "sent")] == len(STORIES) - 1

    # after the restart: everything sent, and the daemon said it re-queued the claims
    assert "条告警停在“发送中”" in run.restart_log
    assert [x["id"] for x in run.final] == sorted(before)
    assert all(x["status"] == "sent" and x["claimed_at"] is None for x in run.final)
    sent_before = {i for i, x in before.items() if x["status"] == "sent"}
    for x in run.final:       # a row sent before the kill was not touched by the restart
        if x["id"] in sent_before:
            assert (x["attempts"], x["sent_at"]) == (before[x["id"]]["attempts"],
                                                     before[x["id"]]["sent_at"])

    # each delivery reached its receiver at least once, none twice but the one in flight
    slow = run.hook_ids(SLOW)
    assert set(slow) == {x["id"] for x in slow_rows}
    assert slow[run.inflight] == 2
    assert all(n == 1 for i, n in slow.items() if i != run.inflight), slow
    fast = run.hook_ids(FAST)
    assert fast == Counter({x["id"]: 1 for x in run.final
                            if x["recipient"] == "李四" and x["channel"] == "webhook"})
    assert len(run.robots.received("dingtalk", DING)) == len(STORIES)
    assert [r.status for r in run.robots.rejected("dingtalk", DING)] == [500]
    mails = Counter(int(MESSAGE_ID.match(m.message["Message-ID"]).group(1))
                    for m in run.inbox.messages)
    assert mails == Counter({x["id"]: 1 for x in run.final if x["channel"] == "email"})
    assert all(m.auth_user == "yuqing" for m in run.inbox.messages)
    assert run.robots.rejected("webhook") == []     # every signature checked out


HTTPX_REQUEST = re.compile(r"^.*httpx: HTTP Request: .*$", re.M)


def output_texts(run: Run) -> dict[str, str]:
    """Every log file and the daemons' own output, by path."""
    logs = sorted((run.tmp / "logs").glob("*.log*"))
    assert logs
    return {str(p): p.read_text("utf-8", "replace") for p in [*logs, *run.outputs]}


def test_no_secret_in_logs_dumps_or_listings(run: Run) -> None:
    texts = output_texts(run)
    joined = "\n".join(texts.values())
    # the failure paths were logged (so the check below means something)
    assert "告警发送失败，稍后重试" in joined and "无法连接邮件服务器" in joined
    assert "HTTP 500" in joined and "告警已发送" in joined
    errors = attempt_errors(run.db) + [x["last_error"] or "" for x in run.final]
    texts["delivery_attempts.error"] = "\n".join(errors)

    dump = run_yuqing("--config", str(run.config), "config", "check", "--dump", env=ENV)
    assert dump.returncode == 0, dump.stderr
    assert "YQ_KILL_SMTP_PASSWORD" in dump.stdout and "127.0.0.1" in dump.stdout
    texts["config check --dump"] = dump.stdout + dump.stderr
    for what, listing in run.listings.items():
        if listing.returncode == 2 and "alerts" in listing.stderr:
            continue      # no `yuqing alerts list` on this branch: nothing to check there
        assert listing.returncode == 0, listing.stderr
        if "--json" in what:
            json.loads(listing.stdout)
        texts[what] = listing.stdout + listing.stderr
    mid = run.listings["alerts list --json (after the kill: errors recorded, rows waiting)"]
    if mid.returncode == 0:     # the listing showed the errors the check is about
        shown = [x.get("last_error") or "" for x in json.loads(mid.stdout)]
        assert any("HTTP 500" in e for e in shown), shown
        assert any("无法连接邮件服务器" in e for e in shown), shown

    leaks = [(what, where) for what, secret in SECRETS.items()
             for where, text in texts.items() if secret in text]
    assert leaks == []


def test_debug_log_hides_webhook_and_robot_tokens(run: Run) -> None:
    """With --debug, httpx logs every request's URL: the robot's query token and the
    generic webhook's path token are masked there too."""
    lines = [m.group(0) for text in output_texts(run).values()
             for m in HTTPX_REQUEST.finditer(text)]
    assert any("/robot/send?access_token=***" in line for line in lines)
    assert any("/hook/***" in line for line in lines)
    leaks = [(what, line) for what, secret in SECRETS.items() for line in lines
             if secret in line]
    assert leaks == []
