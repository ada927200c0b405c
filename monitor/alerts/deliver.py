"""The delivery worker: send the outbox rows that are due and record what happened.

Each pass reads the due rows, claims them (``sending``, committed before anything goes
out), sends them (rows to different targets at once, rows to one target one by one,
under the per-robot rate limit, whose last minute a restarted process reads from the
recorded attempts) and records each attempt right after it: ``sent``, or
``pending`` again with a capped, jittered exponential backoff (or the platform's own
"wait"), or ``failed`` once ``[alerts] max_attempts`` tries failed or the failure is
permanent; a failed row tells the admins (``monitor.alerts.admin``). A row left
``sending`` by a process that died is put back by :meth:`Deliverer.recover`: the one
send that was in flight may go twice, no other. Each row's claim is renewed as its send
begins, so a one-shot command (which puts back claims older than ``STALE_CLAIM``) never
takes a row that a long pass still holds, and a pass never sends a row taken back.

Store calls run through ``in_store`` (the store's worker thread), never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx

from ..config import Config, SmtpConfig
from ..errors import DeliveryError
from ..models import CHANNEL_NAMES, Delivery
from ..redact import redact_text
from ..store import Store
from . import admin
from .channels import SendContext, Target, send, targets_of
from .plan import Planner

log = logging.getLogger(__name__)

T = TypeVar("T")
InStore = Callable[..., Awaitable[Any]]
Clock = Callable[[], datetime]
CONCURRENCY = 8              # targets served at once
STALE_CLAIM = 120.0          # a claim this old is a dead process's (sends time out sooner)
ROBOTS = ("wecom", "dingtalk", "feishu")


async def _direct(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


@dataclass
class PassResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


class Deliverer:
    def __init__(self, config: Config, store: Store, *, clock: Clock,
                 in_store: InStore = _direct, http: httpx.AsyncClient | None = None,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.in_store = in_store
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=10.0),
                                              follow_redirects=False, trust_env=False)
        self.rng = rng or random.Random()
        self.planner = Planner(config, store)
        self._lock = asyncio.Lock()
        self._recent: dict[str, list[datetime]] = {}   # target key -> attempts this minute

    async def aclose(self) -> None:
        await self.http.aclose()

    async def recover(self, *, stale_after: float = 0.0) -> int:
        """Put rows a dead process left ``sending`` back in the queue: at the daemon's
        start all of them (it holds the lock), from a one-shot command only claims older
        than ``stale_after`` seconds (a running daemon may be sending the others)."""
        now = self.clock()
        n: int = await self.in_store(lambda: self.store.release_claims(
            now=now, older_than=now - timedelta(seconds=stale_after)))
        if n:
            log.warning("有 %d 条告警停在“发送中”（进程中断或记录失败），已重新排队（可能重复发送这几条）", n)
        return n

    async def deliver_due(self, *, ignore_backoff: bool = False) -> PassResult:
        """One pass over the rows that are due (``ignore_backoff``: retries too)."""
        async with self._lock:   # one pass at a time: rows are claimed by one pass only
            result = PassResult()
            now = self.clock()
            rows: list[Delivery] = await self.in_store(
                lambda: self.store.due_deliveries(now, ignore_backoff=ignore_backoff,
                                                  limit=1000))
            if not rows:
                return result
            rows = await self.in_store(lambda: self._unmuted(rows, now))
            claimed = set(await self.in_store(
                lambda: self.store.claim_deliveries([r.id for r in rows], now)))
            groups: dict[str, list[Delivery]] = {}
            for row in rows:
                if row.id in claimed:
                    groups.setdefault(row.target or f"{row.recipient}:{row.channel}",
                                      []).append(row)
            gate = asyncio.Semaphore(CONCURRENCY)

            async def serve(batch: list[Delivery]) -> None:
                async with gate:
                    for row in batch:
                        await self._one(row, result, claimed_at=now)

            await asyncio.gather(*(serve(b) for b in groups.values()))
            return result

    def _unmuted(self, rows: list[Delivery], now: datetime) -> list[Delivery]:
        """The rows no silence holds back; a silence made after a row was queued mutes it
        too (runs in the store thread)."""
        if not self.store.silences(now=now):
            return rows
        keep, muted = [], []
        incidents = self.store.get_incidents(
            list({r.incident_id for r in rows if r.incident_id is not None}))
        for row in rows:
            inc = incidents.get(row.incident_id) if row.incident_id is not None else None
            silence = self.planner.silence_for(inc, now) if inc is not None else None
            if silence is None:
                keep.append(row)
            else:
                muted.append(row.id)
        if muted:
            self.store.set_delivery_status(muted, "muted", note="静默中，未发送")
            log.info("静默中，未发送 rows=%d", len(muted))
        return keep

    # ---- one row ------------------------------------------------------------------------
    def _target(self, row: Delivery) -> Target | None:
        person = self.config.person(row.recipient)
        if person is None:
            return None
        return next((t for t in targets_of(person, self.config) if t.channel == row.channel),
                    None)

    async def _one(self, row: Delivery, result: PassResult, *, claimed_at: datetime) -> None:
        now = self.clock()
        # Renew the claim as this row's turn comes: a one-shot command puts back claims
        # older than STALE_CLAIM, which a long pass also holds (a target's rows go one by
        # one). A row taken back meanwhile is another process's now: not sent here.
        if not await self.in_store(lambda: self.store.renew_claim(
                row.id, claimed_at=claimed_at, now=now)):
            log.warning("告警已由另一进程重新排队，本次不再发送 delivery=%s", row.id)
            return
        target = self._target(row)
        if target is None:
            await self._record(row, None, now, ok=False, result=result, permanent=True,
                               error=f"收件人 {row.recipient} 或其{CHANNEL_NAMES.get(row.channel, row.channel)}"
                                     "已不在配置中")
            return
        key = target.key()
        if target.channel in ROBOTS and key not in self._recent:
            # this process's first send to the robot: its last minute is in the outbox (a
            # restart during a burst must not send another minute's worth)
            since = now - timedelta(minutes=1)
            self._recent[key] = await self.in_store(
                lambda: self.store.target_attempt_times(key, since))
        wait = self._rate_wait(target, now)
        if wait > 0:   # keep under the robot's cap: try again when a slot frees up
            result.deferred += 1
            later = now + timedelta(seconds=wait)
            await self.in_store(lambda: self.store.set_pending(row.id, later))
            return
        self._recent.setdefault(target.key(), []).append(now)
        assert row.message is not None
        smtp = self.config.smtp or SmtpConfig()
        ctx = SendContext(http=self.http, smtp=smtp,
                          smtp_password=self.config.secret(smtp.password_env)
                          if smtp.username else None, now=now, delivery_id=row.id)
        try:
            note = await send(target, row.message, ctx)
        except DeliveryError as e:
            await self._record(row, target, self.clock(), ok=False, result=result,
                               error=redact_text(str(e)), permanent=e.permanent,
                               retry_after=e.retry_after)
            return
        except Exception as e:  # a bug in a channel must not lose the row
            log.exception("发送告警时出现意外错误 delivery=%s", row.id)
            await self._record(row, target, self.clock(), ok=False, result=result,
                               error=redact_text(f"内部错误：{type(e).__name__}"))
            return
        await self._record(row, target, self.clock(), ok=True, result=result, note=note)

    def _rate_wait(self, target: Target, now: datetime) -> float:
        if target.channel not in ROBOTS:
            return 0.0
        cap = self.config.alerts.robot_per_minute
        recent = [t for t in self._recent.get(target.key(), []) if now - t < timedelta(minutes=1)]
        self._recent[target.key()] = recent
        if len(recent) < cap:
            return 0.0
        return 60.0 - (now - recent[0]).total_seconds() + 0.5

    async def _record(self, row: Delivery, target: Target | None, now: datetime, *, ok: bool,
                      result: PassResult, error: str | None = None, note: str | None = None,
                      permanent: bool = False, retry_after: float | None = None) -> None:
        alerts = self.config.alerts
        attempts = row.attempts + 1
        channel = CHANNEL_NAMES.get(row.channel, row.channel)
        if ok:
            result.sent += 1
            await self.in_store(lambda: self.store.record_attempt(
                row.id, now=now, ok=True, note=note, status="sent"))
            log.info("告警已发送 delivery=%s incident=%s recipient=%s channel=%s", row.id,
                     row.incident_id or "-", row.recipient, row.channel)
            await self.in_store(lambda: admin.delivery_recovered(self.planner, row, now))
            return
        result.errors.append(error or "")
        if permanent or attempts >= alerts.max_attempts:
            result.failed += 1
            await self.in_store(lambda: self.store.record_attempt(
                row.id, now=now, ok=False, error=error, status="failed"))
            log.error("告警投递失败，不再重试 delivery=%s recipient=%s channel=%s attempts=%d "
                      "error=%s", row.id, row.recipient, row.channel, attempts, error)
            await self.in_store(lambda: admin.delivery_failed(self.planner, row, error or "",
                                                              now))
            return
        # capped exponential backoff, jittered downward (the same 20 % spread as +-10 %)
        # so that the wait never exceeds [alerts] retry_max, as the fetch backoff does
        delay = min(alerts.retry_max, alerts.retry_base * 2 ** (attempts - 1))
        delay *= 1 - self.rng.uniform(0.0, 0.2)
        if retry_after:
            delay = max(delay, retry_after)
        nxt = now + timedelta(seconds=delay)
        result.retried += 1
        await self.in_store(lambda: self.store.record_attempt(
            row.id, now=now, ok=False, error=error, status="pending", next_attempt_at=nxt))
        log.warning("告警发送失败，稍后重试 delivery=%s recipient=%s channel=%s attempts=%d "
                    "retry_in=%ds error=%s", row.id, row.recipient, channel, attempts,
                    int(delay), error)
