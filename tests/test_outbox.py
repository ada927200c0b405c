"""The outbox end to end: rows planned for real incidents in a real SQLite file, sent by the
real Deliverer to the fake platforms of tests/receivers.py (which check signatures and
answer as the platforms do) and to a real SMTP server, with the clock injected (nothing
sleeps: "later" is the Deliverer's ``clock`` moved on).

Covers: an SMTP outage (capped, jittered exponential backoff within ``[alerts]
retry_base``/``retry_max``, then every alert delivered exactly once); a webhook answering
500 then 200 (attempts recorded, the error cleared, only the failing channel retried);
``max_attempts`` (failed, one admin notice per problem, one "recovered" notice); a robot's
"too fast" (retried after the platform's wait); the per-robot rate limit (the rest deferred
without counting attempts).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.channels import dingtalk, feishu, wecom
from monitor.alerts.deliver import STALE_CLAIM, Deliverer, PassResult
from monitor.alerts.plan import Planner
from monitor.config import Config, load_config
from monitor.models import Delivery, IncidentEvent
from monitor.store import Store

from receivers import RobotReceiver, SmtpInbox
from support import wait_until, write_config

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)      # a Monday, 10:00 in Beijing
HOOK_SECRET = "whsec-outbox-7c1e9a40d2b65f83"
DING_SECRET = "SECoutbox5a7d1e3f9b2c4a6d8e0f1a2b3c4d5e6f"
FEISHU_SECRET = "feishuSecOutbox83bd21aa"
SECRETS_ENV = {"YQ_OUTBOX_HOOK_SECRET": HOOK_SECRET, "YQ_OUTBOX_DING_SECRET": DING_SECRET,
               "YQ_OUTBOX_FEISHU_SECRET": FEISHU_SECRET}
MESSAGE_ID = re.compile(r"<yuqing-delivery-(\d+)@")


@dataclass
class Outbox:
    """One deployment: config, store, planner and deliverer on an injected clock."""

    tmp: Path
    robots: RobotReceiver
    now: datetime = T0
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    config: Config | None = None
    store: Store | None = None
    deliverer: Deliverer | None = None
    _titles: int = 0

    def clock(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def setup(self, staff: list[dict[str, Any]], *, routes: list[dict[str, Any]] | None = None,
              alerts: dict[str, Any] | None = None, **extra: Any) -> None:
        routes = routes or [{"categories": ["*"], "min_level": "yellow",
                             "notify": [staff[0]["name"]]}]
        path = write_config(self.tmp, extra={"staff": staff, "routes": routes,
                                             "alerts": {"digest_times": ["09:00"],
                                                        **(alerts or {})}, **extra})
        self.config = load_config(path)
        self.store = Store(self.config.storage.path)
        self.deliverer = Deliverer(self.config, self.store, clock=self.clock)

    def close(self) -> None:
        if self.deliverer is not None:
            self.loop.run_until_complete(self.deliverer.aclose())
        if self.store is not None:
            self.store.close()
        self.loop.close()

    # ---- incidents and their rows ---------------------------------------------------------
    def incidents(self, n: int = 1, *, category: str = "安全生产", level: str = "yellow"
                  ) -> list[int]:
        """``n`` new incidents, planned by the real Planner (routes, dedup keys, messages)."""
        assert self.store is not None and self.config is not None
        ids = []
        for _ in range(n):
            self._titles += 1
            ids.append(self.store.create_incident({
                "title": f"城南第{self._titles}标段工地基坑坍塌", "category": category,
                "level": level, "status": "open", "first_seen": self.now,
                "last_seen": self.now, "items": 1, "sources": 1, "rules": ["collapse"],
                "categories": [category], "link": f"https://news.example/{self._titles}",
                "opened_at": self.now, "awaiting_since": self.now}))
        Planner(self.config, self.store).plan(
            [IncidentEvent(i, "opened", level) for i in ids], self.now)
        return ids

    def rows(self, *, kind: str | None = None, recipient: str | None = None,
             channel: str | None = None) -> list[Delivery]:
        assert self.store is not None
        return sorted((r for r in self.store.list_deliveries()
                       if kind in (None, r.kind) and recipient in (None, r.recipient)
                       and channel in (None, r.channel)), key=lambda r: r.id)

    def attempts(self, row: Delivery) -> list[dict[str, Any]]:
        assert self.store is not None
        return self.store.delivery_attempts(row.id)

    # ---- sending ------------------------------------------------------------------------
    def deliver(self, **kw: Any) -> PassResult:
        assert self.deliverer is not None
        return self.loop.run_until_complete(self.deliverer.deliver_due(**kw))

    def until_due(self, rows: list[Delivery]) -> None:
        """Move the clock to the latest next attempt of ``rows``."""
        latest = max(r.next_attempt_at for r in rows if r.next_attempt_at is not None)
        self.now = max(self.now, latest)


@pytest.fixture
def ob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outbox]:
    for name, value in SECRETS_ENV.items():
        monkeypatch.setenv(name, value)
    o = Outbox(tmp_path, RobotReceiver())
    o.robots.clock = lambda: o.now.timestamp()     # signatures are checked at our "now"
    o.robots.start()
    try:
        yield o
    finally:
        o.close()
        o.robots.stop()


def hook(ob: Outbox, token: str) -> dict[str, Any]:
    return {"webhook": ob.robots.url_for("webhook", token, secret=HOOK_SECRET),
            "webhook_secret_env": "YQ_OUTBOX_HOOK_SECRET"}


def robot(ob: Outbox, platform: str, token: str) -> dict[str, Any]:
    secret = {"dingtalk": (DING_SECRET, "YQ_OUTBOX_DING_SECRET"),
              "feishu": (FEISHU_SECRET, "YQ_OUTBOX_FEISHU_SECRET")}.get(platform)
    url = ob.robots.url_for(platform, token, secret=secret[0] if secret else None)
    return {platform: {"webhook": url, **({"secret_env": secret[1]} if secret else {})}}


def backoff_bounds(ob: Outbox, attempts: int) -> tuple[float, float]:
    """Where the wait after the ``attempts``-th failure may fall: the capped exponential
    ``min(retry_max, retry_base * 2**(attempts-1))``, less up to 20 % of jitter, never
    past ``retry_max`` (the store keeps whole seconds: up to a second earlier)."""
    assert ob.config is not None
    a = ob.config.alerts
    wait = min(a.retry_max, a.retry_base * 2 ** (attempts - 1))
    return 0.8 * wait - 1.0, wait


# ---- 1. SMTP down, then up ------------------------------------------------------------------

def test_smtp_outage_backs_off_then_every_alert_arrives_exactly_once(ob: Outbox) -> None:
    inbox = SmtpInbox()          # its port is chosen, nobody listens there yet: the outage
    ob.setup([{"name": "张三", "email": "zhangsan@example.org"}],
             smtp={"host": inbox.host, "port": inbox.port, "sender": "yuqing@qu.example",
                   "timeout": "5s"},
             alerts={"retry_base": "10s", "retry_max": "1m", "max_attempts": 10})
    ob.incidents(3)
    rows = ob.rows()
    assert [r.channel for r in rows] == ["email"] * 3
    waits: list[list[float]] = []
    try:
        for attempt in range(1, 7):
            result = ob.deliver()
            assert (result.sent, result.retried, result.failed) == (0, 3, 0), result
            rows = ob.rows()
            lo, hi = backoff_bounds(ob, attempt)
            waits.append([])
            for row in rows:
                assert (row.status, row.attempts) == ("pending", attempt)
                assert row.last_error and "无法连接邮件服务器" in row.last_error
                assert row.claimed_at is None and row.sent_at is None
                wait = (row.next_attempt_at - ob.now).total_seconds()
                assert lo <= wait <= hi, (attempt, wait, lo, hi)
                waits[-1].append(wait)
                assert [a["ok"] for a in ob.attempts(row)] == [False] * attempt
            # not due yet: a pass just before the earliest retry sends nothing
            earliest = min(r.next_attempt_at for r in rows)
            ob.now = earliest - timedelta(seconds=1)
            assert ob.deliver() == PassResult()
            ob.until_due(rows)
        # about 10, 20, 40 s, then capped at a minute
        assert [max(w) <= 60 for w in waits] == [True] * 6
        assert min(waits[1]) > max(waits[0]) and min(waits[2]) > max(waits[1])

        inbox.start()                                    # the server is back
        result = ob.deliver()
        assert (result.sent, result.retried) == (3, 0), result
        for _ in range(3):                               # later passes send nothing again
            ob.advance(3600)
            assert ob.deliver(ignore_backoff=True).sent == 0
        mails = inbox.messages
    finally:
        inbox.stop()
    ids = Counter(int(MESSAGE_ID.match(m.message["Message-ID"]).group(1)) for m in mails)
    assert ids == Counter({r.id: 1 for r in rows})
    assert all(m.rcpt_tos == ["zhangsan@example.org"] for m in mails)
    for row in ob.rows():
        assert (row.status, row.last_error, row.attempts) == ("sent", None, 7)
        tries = ob.attempts(row)
        assert [a["ok"] for a in tries] == [False] * 6 + [True]
        assert tries[-1]["error"] is None and row.sent_at is not None


# ---- 2. a webhook answering 500, then 200 ---------------------------------------------------

def test_failing_channel_alone_is_retried_and_its_error_cleared(ob: Outbox) -> None:
    ob.setup([{"name": "张三", **hook(ob, "zs-hook-9b3e71c2a8d4"),
               **robot(ob, "dingtalk", "zs-ding-3f0c9a8b7e6d5c4b")}],
             alerts={"retry_base": "30s"})
    ob.robots.fail("zs-hook-9b3e71c2a8d4", times=2)
    (incident,) = ob.incidents(1)
    hook_row, = ob.rows(channel="webhook")
    ding_row, = ob.rows(channel="dingtalk")

    result = ob.deliver()
    assert (result.sent, result.retried) == (1, 1)
    for attempt in (1, 2):
        row = ob.rows(channel="webhook")[0]
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "HTTP 500" in (row.last_error or ""), row.last_error
        ob.until_due([row])
        result = ob.deliver()
        assert result.sent == (1 if attempt == 2 else 0)
        assert len(ob.robots.received("dingtalk")) == 1      # never re-sent

    hook_row = ob.rows(channel="webhook")[0]
    assert (hook_row.status, hook_row.attempts, hook_row.last_error) == ("sent", 3, None)
    tries = ob.attempts(hook_row)
    assert [a["ok"] for a in tries] == [False, False, True]
    assert all("HTTP 500" in a["error"] for a in tries[:2]) and tries[2]["error"] is None
    assert tries[2]["note"] == "HTTP 200"
    (got,) = ob.robots.received("webhook")
    assert got.body["delivery"] == hook_row.id and got.body["incident"] == incident
    assert got.headers["x-yuqing-delivery"] == str(hook_row.id)
    assert [r.status for r in ob.robots.rejected("webhook")] == [500, 500]

    ding_row = ob.rows(channel="dingtalk")[0]
    assert (ding_row.status, ding_row.attempts) == ("sent", 1)
    assert [a["ok"] for a in ob.attempts(ding_row)] == [True]
    assert len(ob.robots.received("dingtalk")) == 1 and ob.robots.rejected("dingtalk") == []
    ob.advance(7200)
    assert ob.deliver(ignore_backoff=True) == PassResult()


# ---- 3. max_attempts, the admins told once, and told of the recovery ----------------------

def test_failed_for_good_tells_admins_once_and_recovery_once(ob: Outbox) -> None:
    zs_token = "zs-hook-1d2c3b4a5f6e"
    ob.setup([{"name": "张三", **hook(ob, zs_token)},
              {"name": "管理员", **hook(ob, "admin-hook-0f9e8d7c6b5a")}],
             alerts={"admins": ["管理员"], "max_attempts": 3, "retry_base": "10s"})
    ob.robots.fail(zs_token, times=10_000)

    def fail_to_the_end() -> Delivery:
        for attempt in range(1, 4):
            (row,) = [r for r in ob.rows(recipient="张三") if r.status == "pending"]
            ob.until_due([row])
            result = ob.deliver()
            row = next(r for r in ob.rows() if r.id == row.id)
            if attempt < 3:
                assert (row.status, row.attempts) == ("pending", attempt)
                assert result.failed == 0
            else:
                assert (row.status, row.attempts) == ("failed", 3) and result.failed == 1
        return row

    ob.incidents(1)
    # while it is retried, nobody is told; when it fails for good, the admins are
    for _ in range(2):
        (row,) = ob.rows(recipient="张三")
        ob.until_due([row])
        ob.deliver()
        assert ob.rows(kind="admin") == []
    ob.until_due(ob.rows(recipient="张三"))
    assert ob.deliver().failed == 1
    first = ob.rows(recipient="张三")[0]
    assert (first.status, first.attempts) == ("failed", 3)
    assert "HTTP 500" in (first.last_error or "")
    (notice,) = ob.rows(kind="admin")
    assert notice.recipient == "管理员" and notice.status == "pending"
    assert notice.message is not None and "告警投递失败" in notice.message.subject
    assert f"编号 {first.id}" in notice.message.text
    assert ob.deliver().sent == 1                            # the notice goes out
    (told,) = ob.robots.received("webhook", "admin-hook-0f9e8d7c6b5a")
    assert told.body["cleared"] is False and told.body["problem"] == "delivery_failed"

    # a second alert failing the same way: the problem is open already, no second notice
    ob.incidents(1)
    fail_to_the_end()
    assert len(ob.rows(kind="admin")) == 1

    # the target works again: the next alert goes out and one "recovered" notice is queued
    ob.robots.fail(zs_token, times=0)
    ob.incidents(1)
    result = ob.deliver()
    assert result.sent == 1
    notices = ob.rows(kind="admin")
    assert len(notices) == 2 and ":clear:" in (notices[1].dedup_key or "")
    assert notices[1].message is not None and "告警通道已恢复" in notices[1].message.subject
    assert ob.deliver().sent == 1
    told = ob.robots.received("webhook", "admin-hook-0f9e8d7c6b5a")
    assert [t.body["cleared"] for t in told] == [False, True]
    # more successes: nothing more for the admins
    ob.incidents(2)
    assert ob.deliver().sent == 2
    assert len(ob.rows(kind="admin")) == 2
    assert ob.store is not None and ob.store.open_problems("delivery_failed") == []
    # a row failed for good can be queued again by hand and then goes out once
    assert ob.store.retry_delivery(first.id, now=ob.now)
    assert ob.deliver().sent == 1
    assert next(r for r in ob.rows() if r.id == first.id).status == "sent"
    assert len(ob.rows(kind="admin")) == 2


# ---- 4. the robots' limits ----------------------------------------------------------------

@pytest.mark.parametrize("platform, wait", [
    ("dingtalk", dingtalk.TOO_FAST_WAIT), ("feishu", feishu.TOO_FAST_WAIT),
    ("wecom", wecom.TOO_FAST_WAIT), ("webhook", 30.0)])   # webhook: its Retry-After: 30
def test_too_fast_is_retried_after_the_platforms_wait(ob: Outbox, platform: str,
                                                       wait: float) -> None:
    token = f"{platform}-tok-8a7b6c5d4e3f2a1b"
    target = hook(ob, token) if platform == "webhook" else robot(ob, platform, token)
    ob.setup([{"name": "张三", **target}], alerts={"retry_base": "5s"})
    ob.robots.too_fast(token, times=1)
    ob.incidents(1)
    result = ob.deliver()
    assert (result.sent, result.retried) == (0, 1)
    (row,) = ob.rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "太频繁" in (row.last_error or "")
    assert (row.next_attempt_at - ob.now).total_seconds() == pytest.approx(wait)
    ob.now = row.next_attempt_at - timedelta(seconds=1)
    assert ob.deliver() == PassResult()                     # not before the platform's wait
    ob.now = row.next_attempt_at
    assert ob.deliver().sent == 1
    (row,) = ob.rows()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(ob.robots.received(platform, token)) == 1
    assert len(ob.robots.rejected(platform, token)) == 1


def test_per_robot_rate_limit_defers_the_rest_without_counting_attempts(ob: Outbox) -> None:
    busy, quiet = "ding-busy-6e5d4c3b2a19", "wecom-quiet-1a2b3c4d5e6f"
    ob.setup([{"name": "张三", **robot(ob, "dingtalk", busy)},
              {"name": "李四", **robot(ob, "wecom", quiet)}],
             routes=[{"categories": ["安全生产"], "min_level": "yellow", "notify": ["张三"]},
                     {"categories": ["环境扰民"], "min_level": "yellow", "notify": ["李四"]}],
             alerts={"robot_per_minute": 5})
    # the receiver enforces the same 5 a minute (by our clock): one more would be refused
    ob.robots.rate(busy, 5)
    ob.incidents(12, category="安全生产")
    ob.incidents(3, category="环境扰民")
    assert len(ob.rows(recipient="张三")) == 12 and len(ob.rows(recipient="李四")) == 3

    start = ob.now
    result = ob.deliver()
    assert (result.sent, result.deferred, result.retried) == (5 + 3, 7, 0), result
    assert len(ob.robots.received("dingtalk", busy)) == 5
    assert len(ob.robots.received("wecom", quiet)) == 3     # another robot: its own limit
    rows = ob.rows(recipient="张三")
    sent = [r for r in rows if r.status == "sent"]
    deferred = [r for r in rows if r.status != "sent"]
    assert [r.id for r in sent] == [r.id for r in rows[:5]]          # oldest first
    for row in deferred:
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
        assert ob.attempts(row) == [] and row.claimed_at is None
        assert 59 <= (row.next_attempt_at - start).total_seconds() <= 61

    ob.advance(30)                       # within the minute: still nothing for that robot
    assert ob.deliver() == PassResult()
    ob.until_due(deferred)
    result = ob.deliver()
    assert (result.sent, result.deferred) == (5, 2)
    ob.until_due([r for r in ob.rows(recipient="张三") if r.status == "pending"])
    assert ob.deliver().sent == 2

    rows = ob.rows(recipient="张三")
    assert all((r.status, r.attempts) == ("sent", 1) for r in rows)
    assert all(len(ob.attempts(r)) == 1 for r in rows)
    assert len(ob.robots.received("dingtalk", busy)) == 12
    assert ob.robots.rejected() == []
    # never more than 5 in any minute, as the robot saw them
    times = sorted(r.at for r in ob.robots.received("dingtalk", busy))
    assert all(b - a >= 60 for a, b in zip(times, times[5:], strict=False))


# ---- a one-shot command beside a running pass ---------------------------------------------

def test_one_shot_recovery_never_resends_rows_a_running_pass_still_holds(ob: Outbox) -> None:
    """``yuqing fetch`` beside the daemon puts back claims older than STALE_CLAIM (a dead
    process's). A long pass (rows to one target go one by one) holds claims that old
    without being dead: the rows it has not reached yet, and the one it is sending. Those
    must not go out twice: the send in flight is not taken away, and a row taken back
    is not sent by the pass that lost it."""
    token = "zs-slow-hook-1f2e3d4c5b6a"
    ob.setup([{"name": "张三", **hook(ob, token)}])
    ob.incidents(3)
    r1, r2, r3 = ob.rows()
    ob.robots.delay(token, 1.0, times=2)           # r1 and r2 are answered a second late
    assert ob.config is not None
    other_store = Store(ob.config.storage.path)    # the one-shot command: its own connection
    other = Deliverer(ob.config, other_store, clock=ob.clock)

    async def scenario() -> tuple[int, PassResult, PassResult]:
        daemon_pass = asyncio.create_task(ob.deliverer.deliver_due())
        await wait_until(lambda: len(ob.robots.received("webhook", token)) == 1)
        ob.advance(125)                  # r1 took long: r2 starts 125 s after the claim
        await wait_until(lambda: len(ob.robots.received("webhook", token)) == 2)
        ob.advance(5)                    # 130 s after the claim, r2 on the wire for 5 s
        released = await other.recover(stale_after=STALE_CLAIM)
        theirs = await other.deliver_due()
        ours = await daemon_pass
        return released, theirs, ours

    try:
        released, theirs, ours = ob.loop.run_until_complete(scenario())
    finally:
        ob.loop.run_until_complete(other.aclose())
        other_store.close()
    got = Counter(r.body["delivery"] for r in ob.robots.received("webhook", token))
    assert got == Counter({r1.id: 1, r2.id: 1, r3.id: 1})
    assert released == 1 and (theirs.sent, ours.sent) == (1, 2)       # r3 went to the other
    assert all(r.status == "sent" and r.attempts == 1 for r in ob.rows())


def test_per_robot_rate_limit_holds_across_a_restart(ob: Outbox) -> None:
    """The sends of the last minute are counted from the outbox's attempts, not only in
    memory: a daemon restarted during a burst does not send a second full minute's worth
    (DingTalk answers that with ten minutes of "too fast")."""
    busy = "ding-busy-0a9b8c7d6e5f4a3b"
    ob.setup([{"name": "张三", **robot(ob, "dingtalk", busy)}],
             alerts={"robot_per_minute": 5})
    ob.robots.rate(busy, 5)
    ob.incidents(5)
    assert ob.deliver().sent == 5                   # the minute's five
    assert ob.config is not None and ob.store is not None and ob.deliverer is not None
    ob.loop.run_until_complete(ob.deliverer.aclose())
    ob.deliverer = Deliverer(ob.config, ob.store, clock=ob.clock)      # the restart
    ob.loop.run_until_complete(ob.deliverer.recover())
    ob.advance(20)
    ob.incidents(3)                                 # three more, 20 s into the minute
    result = ob.deliver()
    assert (result.sent, result.deferred) == (0, 3)
    pending = ob.rows()[5:]
    assert all(r.attempts == 0 and 39 <= (r.next_attempt_at - ob.now).total_seconds() <= 41
               for r in pending)
    ob.until_due(pending)
    assert ob.deliver().sent == 3
    assert ob.robots.rejected() == [] and len(ob.robots.received("dingtalk", busy)) == 8
