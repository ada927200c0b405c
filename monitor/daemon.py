"""The daemon: scheduler jobs, signals, sd_notify, logging setup; and the one-shot pass.

APScheduler's ``AsyncIOScheduler`` runs one date-triggered job per feed, re-armed after
each run at the time the pipeline stored on the feed (so a restart resumes the schedule);
CPU work runs in one worker thread; SIGTERM/SIGINT stop everything within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import random
import signal
import socket
import sys
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .config import Config, FeedConfig
from .errors import NotFoundError
from .fetch import Fetcher
from .pipeline import FeedOutcome, Pipeline, first_check
from .rulekeeper import RuleKeeper
from .store import Store
from .store.db import parse_iso, utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STOP_GRACE = 5.0


def setup_logging(config: Config | None, *, debug: bool = False) -> None:
    """Rotating files under ``logs/``, or stderr only when systemd's journal collects it."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    level = logging.DEBUG if debug else getattr(logging, config.logging.level if config else "INFO")
    root.setLevel(level)
    under_systemd = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter(
        "%(levelname)s %(name)s: %(message)s" if under_systemd
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(stream)
    if config is not None and not under_systemd:
        config.logging.dir.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            config.logging.dir / "yuqing.log", maxBytes=config.logging.max_bytes,
            backupCount=config.logging.backups, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    for noisy in ("httpx", "httpcore", "apscheduler", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Notifier:
    """sd_notify when started by systemd (``NOTIFY_SOCKET`` set); a no-op otherwise.

    The protocol is one UTF-8 datagram per message (the ``sdnotify`` package encodes as
    Latin-1 and silently drops Chinese STATUS lines, so we speak it ourselves).
    """

    def __init__(self) -> None:
        addr = os.environ.get("NOTIFY_SOCKET") or ""
        self.address = "\0" + addr[1:] if addr.startswith("@") else addr
        self.enabled = bool(addr)

    def notify(self, message: str) -> None:
        if not self.enabled:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode("utf-8"), self.address)
        except OSError as e:
            log.warning("sd_notify failed error=%s", e)

    @staticmethod
    def watchdog_interval() -> float | None:
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        return max(int(usec) / 1e6 / 2, 0.5)


class Runtime:
    """The long-lived parts shared by the daemon and one-shot commands."""

    def __init__(self, config: Config, *, transport: httpx.AsyncBaseTransport | None = None,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.store = Store(config.storage.path, busy_timeout=config.storage.busy_timeout)
        self.store.sync_feeds(config.feeds)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuqing-work")
        self.parse_workers = config.fetch.parse_workers or min(os.cpu_count() or 1, 4)
        parse_executor = self.new_parse_pool() if self.parse_workers > 1 else None
        self.fetcher = Fetcher(config.fetch, transport=transport)
        self.rng = rng or random.Random()
        self.rules = RuleKeeper(config.rules.dir, self.store)
        self.pipeline = Pipeline(config, self.store, self.fetcher, executor=self.executor,
                                 parse_executor=parse_executor, rng=self.rng,
                                 on_items=self.rules.score_items,
                                 new_parse_pool=self.new_parse_pool)

    def new_parse_pool(self) -> Executor:
        """Worker processes for parsing. forkserver: this threaded process is never forked,
        and the workers load only the parser."""
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["monitor.parse"])
        return ProcessPoolExecutor(max_workers=self.parse_workers, mp_context=ctx)

    async def load_rules(self, now: datetime) -> None:
        await asyncio.get_running_loop().run_in_executor(
            self.executor, lambda: self.rules.load(now=now))

    async def reload_rules(self, now: datetime) -> bool:
        def work() -> bool:
            changed = self.rules.reload_if_changed(now=now)
            self.rules.score_pending(now=now)
            return changed

        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        if self.pipeline.parse_executor is not None:
            self.pipeline.parse_executor.shutdown(wait=True, cancel_futures=True)
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.store.close()


async def fetch_once(config: Config, *, feed: str | None = None, now: Clock = utcnow,
                     transport: httpx.AsyncBaseTransport | None = None) -> list[FeedOutcome]:
    """One pass over every enabled feed (or the one named) through the whole pipeline."""
    if feed is not None:
        chosen = [f for f in config.feeds if f.name == feed]
        if not chosen:
            names = "、".join(f.name for f in config.feeds) or "（无）"
            raise NotFoundError(f"没有名为 {feed!r} 的订阅源；已配置：{names}")
    else:
        chosen = [f for f in config.feeds if f.enabled]
    rt = Runtime(config, transport=transport)
    try:
        await rt.load_rules(now())
        return list(await asyncio.gather(
            *(rt.pipeline.run_feed(f, now=now()) for f in chosen)))
    finally:
        await rt.aclose()


class Daemon:
    """``yuqing run``: fetch on schedule until told to stop."""

    def __init__(self, config: Config, *, now: Clock = utcnow,
                 transport: httpx.AsyncBaseTransport | None = None,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.now = now
        self.rng = rng or random.Random()
        self.transport = transport
        self.notifier = Notifier()
        self.stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self.rt: Runtime | None = None
        self.scheduler: Any = None  # AsyncIOScheduler, imported when the daemon runs

    def request_stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self.request_stop)
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # not needed by one-shots

        self.rt = Runtime(self.config, transport=self.transport, rng=self.rng)
        self.scheduler = AsyncIOScheduler(timezone=UTC, event_loop=loop)
        try:
            await self.rt.load_rules(self.now())
            self.scheduler.add_job(self._reload_rules, "interval",
                                   seconds=self.config.rules.reload_interval, id="rules-reload",
                                   coalesce=True, max_instances=1)
            await self._schedule_all()
            wd = Notifier.watchdog_interval()
            if wd:
                self.scheduler.add_job(self.notifier.notify, "interval", seconds=wd,
                                       args=["WATCHDOG=1"], id="watchdog")
            self.scheduler.start()
            enabled = sum(1 for f in self.config.feeds if f.enabled)
            log.info("daemon started feeds=%d database=%s", enabled, self.config.storage.path)
            self.notifier.notify(f"READY=1\nSTATUS=监测中：{enabled} 个订阅源")
            await self.stopping.wait()
        finally:
            await self._shutdown()

    async def _schedule_all(self) -> None:
        assert self.rt is not None
        states = await asyncio.get_running_loop().run_in_executor(
            self.rt.executor, self.rt.store.feeds_status)
        by_name = {s["name"]: s for s in states}
        now = self.now()
        for feed in self.config.feeds:
            if not feed.enabled:
                continue
            state = by_name.get(feed.name) or {}
            when = first_check(now, feed, parse_iso(state.get("next_check_at")), rng=self.rng,
                               spread_overdue=self.config.fetch.startup_spread)
            self._arm(feed, when)

    def _arm(self, feed: FeedConfig, when: datetime) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(self._run_feed, "date", run_date=when, args=[feed],
                               id=f"feed:{feed.name}", replace_existing=True,
                               misfire_grace_time=None, coalesce=True, max_instances=1)
        log.debug("scheduled feed=%s at=%s", feed.name, when.isoformat())

    async def _run_feed(self, feed: FeedConfig) -> None:
        assert self.rt is not None
        if self.stopping.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            try:
                outcome = await self.rt.pipeline.run_feed(feed, now=self.now())
                when = outcome.next_check_at
            except Exception:  # e.g. the database itself failing: never lose the feed
                log.exception("feed run failed; retrying later feed=%s", feed.name)
                when = None
            if not self.stopping.is_set():
                self._arm(feed, when or self.now() + timedelta(
                    seconds=max(self.config.fetch.backoff_base, 60.0)))
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _reload_rules(self) -> None:
        assert self.rt is not None
        if not self.stopping.is_set():
            await self.rt.reload_rules(self.now())

    async def _shutdown(self) -> None:
        log.info("daemon stopping")
        self.notifier.notify("STOPPING=1")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # no new runs; the ones in flight get STOP_GRACE to finish
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=STOP_GRACE)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.rt is not None:
            await self.rt.aclose()
        log.info("daemon stopped")
