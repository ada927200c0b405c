"""The services the pipeline runs on (store, worker thread and processes, fetcher, rules,
scorer), how they start and stop, and the one-shot pass over the feeds (``yuqing fetch``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx

from .alerts.deliver import STALE_CLAIM, Deliverer, PassResult
from .alerts.plan import Planner
from .alerts.ticks import queue_due
from .config import Config, FeedConfig
from .durations import format_duration
from .errors import NotFoundError, RuleError
from .fetch import Fetcher
from .incidents.intake import Intake
from .pipeline import FeedOutcome, Pipeline
from .rescore import Rescorer, RescoreResult
from .rulekeeper import RuleKeeper, fingerprint
from .rules import Ruleset
from .score import Scorer, ToneKeeper
from .store import Store
from .store.db import utcnow
from .workers import LogForwarder, in_daemon_thread, new_parse_pool

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")


class Services:
    """The long-lived parts the pipeline runs on, shared by the daemon and one-shot
    commands: the store and its worker thread, the parse processes, the fetcher, the rules
    in force and the scorer, and the pipeline wired from them."""

    def __init__(self, config: Config, *, transport: httpx.AsyncBaseTransport | None = None,
                 rng: random.Random | None = None, clock: Clock = utcnow) -> None:
        self.config = config
        self.store = Store(config.storage.path, busy_timeout=config.storage.busy_timeout)
        self.store.sync_feeds(config.feeds)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuqing-work")
        self.parse_workers = config.fetch.parse_workers or min(os.cpu_count() or 1, 4)
        self.worker_logs = LogForwarder() if self.parse_workers > 1 else None
        parse_executor = self.new_parse_pool() if self.parse_workers > 1 else None
        self.fetcher = Fetcher(config.fetch, transport=transport)
        self.rng = rng or random.Random()
        self.rules = RuleKeeper(config.rules.dir, self.store)
        self.tones = ToneKeeper.from_config(config)
        self.scorer = Scorer(self.store, self.rules, self.tones)
        self.intake = Intake(config, self.store)
        self.planner = Planner(config, self.store)
        self.rescorer = Rescorer(self.store, self.intake, self.planner,
                                 alert_within=config.rules.rescore_alert_within,
                                 tones=self.tones)
        self.deliverer = Deliverer(config, self.store, clock=clock, in_store=self.in_store,
                                   rng=self.rng)
        self.clock = clock
        self._compiling = False
        self._stuck_reported = False
        self.pipeline = Pipeline(config, self.store, self.fetcher, executor=self.executor,
                                 parse_executor=parse_executor, rng=self.rng,
                                 scorer=self.scorer, intake=self.intake,
                                 planner=self.planner, deliverer=self.deliverer,
                                 new_parse_pool=self.new_parse_pool, clock=clock)

    def new_parse_pool(self) -> Executor:
        return new_parse_pool(self.parse_workers, self.worker_logs)

    async def in_store(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store call in the store worker thread (never on the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _compile_rules(self) -> Ruleset | RuleError | None:
        """Compile the rule files on a thread of their own within ``[rules] load_timeout``;
        ``None`` when it took too long (the thread is abandoned: it can never hold up
        storing items or stopping the daemon)."""
        limit = self.config.rules.load_timeout

        def work() -> Ruleset | RuleError:
            try:
                return self.rules.compile()
            finally:
                self._compiling = False

        self._compiling = True
        try:
            return await asyncio.wait_for(in_daemon_thread(work, name="yuqing-rules"), limit)
        except TimeoutError:
            log.error("规则加载超时，继续使用原有规则 seconds=%s dir=%s",
                      format_duration(limit), self.config.rules.dir)
            return None
        except Exception:  # a bug in loading must not stop the daemon: keep the old rules
            log.exception("规则加载出错，继续使用原有规则 dir=%s", self.config.rules.dir)
            return None

    async def load_rules(self, now: datetime,
                         stopping: Callable[[], bool] = lambda: False) -> None:
        """The first rules (within the time limit), then the items left unscored, in
        batches that stop as soon as ``stopping()`` says so."""
        fp = fingerprint(self.rules.rules_dir)
        result = await self._compile_rules()
        await self.in_store(lambda: self.rules.adopt_initial(fp, result, now=now))
        await self.in_store(lambda: self.scorer.score_pending(
            now=now, stopping=stopping, then=self.pipeline.incidents_and_alerts))

    async def reload_rules(self, now: datetime) -> bool:
        fp = self.rules.pending_change()
        changed = False
        if self._compiling:  # an earlier load is still stuck: do not pile up threads
            if fp is not None and not self._stuck_reported:
                log.error("上一次规则加载仍未结束，暂不重新加载 dir=%s", self.config.rules.dir)
                self._stuck_reported = True
        elif fp is not None:
            self._stuck_reported = False
            result = await self._compile_rules()
            changed = await self.in_store(lambda: self.rules.adopt(fp, result, now=now))
        await self.in_store(lambda: self.scorer.score_pending(
            now=now, then=self.pipeline.incidents_and_alerts))
        if changed and self.config.rules.rescore_after_reload is not None:
            await self.rescore_recent(now)
        return changed

    async def rescore_recent(self, now: datetime) -> RescoreResult | None:
        """After a reload: re-score the items of ``[rules] rescore_after_reload`` with the
        new rules (as ``yuqing rules apply`` does), then send what it planned. A failure
        is logged; the new rules stay in force either way."""
        window = self.config.rules.rescore_after_reload
        ruleset = self.rules.ruleset
        if window is None or ruleset is None:
            return None
        since = now - timedelta(seconds=window)
        try:
            result = await self.in_store(lambda: self.rescorer.rescore(
                ruleset, since=since, now=now))
            if result.alerts:
                await self.deliverer.deliver_due()
        except Exception:
            log.exception("规则重新加载后重新评分失败 since=%s", format_duration(window))
            return None
        return result

    def record_start(self, now: datetime) -> None:
        """The audit log's record of a daemon start, and of the config when it differs
        from the one the last start recorded (the config is read only at start-up): the
        effective config with secrets redacted, and the lines that changed."""
        import difflib
        import hashlib

        from . import __version__
        from .config import dump_config

        dump = dump_config(self.config)
        digest = hashlib.sha256(dump.encode("utf-8")).hexdigest()[:16]
        last = self.store.list_log(kinds=["config.changed"], limit=1, newest_first=True)
        before = last[0].details() if last else None
        if not isinstance(before, dict) or before.get("digest") != digest:
            old = before.get("config", "") if isinstance(before, dict) else ""
            diff = list(difflib.unified_diff(str(old).splitlines(), dump.splitlines(),
                                             "之前", "现在", lineterm="", n=0))
            self.store.log_event("config.changed", None, now=now,
                                 data={"digest": digest, "config": dump,
                                       "diff": "\n".join(diff[2:]) if old else None})
        self.store.log_event("daemon.started", str(os.getpid()), now=now, data={
            "version": __version__, "config": digest,
            "feeds": sum(1 for f in self.config.feeds if f.enabled)})

    async def alerts_tick(self, *, flush: bool = False) -> PassResult:
        """Queue what is due (clocks, escalations, reminders, digests, summaries, the
        admins' notices), then send the due deliveries (``flush``: retries too)."""
        now = self.clock()
        problems = list(self.rules.problems)
        await self.in_store(lambda: queue_due(self.planner, now, rules_problems=problems))
        return await self.deliverer.deliver_due(ignore_backoff=flush)

    async def aclose(self, timeout: float = 3.0) -> None:
        """Release everything; waits at most ``timeout`` for the store worker to finish
        the call it is in (a stop never hangs on it)."""
        await self.fetcher.aclose()
        await self.deliverer.aclose()
        if self.pipeline.parse_executor is not None:
            self.pipeline.parse_executor.shutdown(wait=False, cancel_futures=True)

        def close_store() -> None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.store.close()

        try:
            await asyncio.wait_for(in_daemon_thread(close_store, name="yuqing-close"), timeout)
        except TimeoutError:
            log.warning("停止时存储线程仍在工作，不再等待")
        if self.worker_logs is not None:
            self.worker_logs.stop()


async def fetch_once(config: Config, *, feed: str | None = None, now: Clock = utcnow,
                     transport: httpx.AsyncBaseTransport | None = None,
                     on_start: Callable[[int], None] | None = None,
                     on_done: Callable[[FeedOutcome], None] | None = None
                     ) -> list[FeedOutcome]:
    """One pass over every enabled feed (or the one named) through the whole pipeline.
    ``on_start`` hears how many feeds will be fetched, ``on_done`` each feed's outcome as
    it finishes; the list returned is in config order."""
    if feed is not None:
        chosen = [f for f in config.feeds if f.name == feed]
        if not chosen:
            names = "、".join(f.name for f in config.feeds) or "（无）"
            raise NotFoundError(f"没有名为 {feed!r} 的订阅源；已配置：{names}")
    else:
        chosen = [f for f in config.feeds if f.enabled]
    rt = Services(config, transport=transport, clock=now)
    try:
        await rt.deliverer.recover(stale_after=STALE_CLAIM)
        await rt.load_rules(now())
        if on_start is not None:
            on_start(len(chosen))

        async def one(f: FeedConfig) -> FeedOutcome:
            outcome = await rt.pipeline.run_feed(f, now=now())
            if on_done is not None:
                on_done(outcome)
            return outcome

        outcomes = list(await asyncio.gather(*(one(f) for f in chosen)))
        await rt.alerts_tick()
        return outcomes
    finally:
        await rt.aclose()
