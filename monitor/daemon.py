"""The daemon: scheduler jobs, signals, sd_notify, logging setup; and the one-shot pass.

APScheduler's ``AsyncIOScheduler`` runs one date-triggered job per feed, re-armed after
each run at the time the pipeline stored on the feed (so a restart resumes the schedule),
a health tick (schedule watchdog, database file check) and the rules reload. Storing and
scoring run in one worker thread, parsing in worker processes, rule compilation on a
thread of its own under a time limit; one daemon per database (a lock file); SIGTERM and
SIGINT stop everything within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from .config import Config, FeedConfig
from .durations import describe_duration, format_duration
from .errors import DatabaseGoneError, MonitorError, NotFoundError, RuleError
from .fetch import Fetcher
from .pipeline import FeedOutcome, Pipeline, first_check
from .rulekeeper import RuleKeeper, fingerprint
from .rules import Ruleset
from .schedule import is_overdue
from .store import Store
from .store.db import parse_iso, utcnow
from .store.lock import DaemonLock
from .workers import in_daemon_thread, join_threads, new_parse_pool

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")
STOP_GRACE = 5.0                    # in-flight fetches get this long to finish on stop
EXIT_GRACE = 2.0                    # then threads get this long before the process exits anyway
ARM_AHEAD = timedelta(seconds=1)    # a job is never armed sooner than this


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
            log.warning("sd_notify 失败 error=%s", e)

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
                 rng: random.Random | None = None, clock: Clock = utcnow) -> None:
        self.config = config
        self.store = Store(config.storage.path, busy_timeout=config.storage.busy_timeout)
        self.store.sync_feeds(config.feeds)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuqing-work")
        self.parse_workers = config.fetch.parse_workers or min(os.cpu_count() or 1, 4)
        parse_executor = self.new_parse_pool() if self.parse_workers > 1 else None
        self.fetcher = Fetcher(config.fetch, transport=transport)
        self.rng = rng or random.Random()
        self.rules = RuleKeeper(config.rules.dir, self.store)
        self._compiling = False
        self.pipeline = Pipeline(config, self.store, self.fetcher, executor=self.executor,
                                 parse_executor=parse_executor, rng=self.rng,
                                 on_items=self.rules.score_items,
                                 new_parse_pool=self.new_parse_pool, clock=clock)

    def new_parse_pool(self) -> Executor:
        return new_parse_pool(self.parse_workers)

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

    async def load_rules(self, now: datetime) -> None:
        fp = fingerprint(self.rules.rules_dir)
        result = await self._compile_rules()
        await self.in_store(lambda: self.rules.adopt_initial(fp, result, now=now))
        await self.in_store(lambda: self.rules.score_pending(now=now))

    async def reload_rules(self, now: datetime) -> bool:
        if self._compiling:  # an earlier load is still stuck: do not pile up threads
            return False
        fp = self.rules.pending_change()
        changed = False
        if fp is not None:
            result = await self._compile_rules()
            changed = await self.in_store(lambda: self.rules.adopt(fp, result, now=now))
        await self.in_store(lambda: self.rules.score_pending(now=now))
        return changed

    async def aclose(self, timeout: float = 3.0) -> None:
        """Release everything; waits at most ``timeout`` for the store worker to finish
        the call it is in (a stop never hangs on it)."""
        await self.fetcher.aclose()
        if self.pipeline.parse_executor is not None:
            self.pipeline.parse_executor.shutdown(wait=False, cancel_futures=True)

        def close_store() -> None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.store.close()

        try:
            await asyncio.wait_for(in_daemon_thread(close_store, name="yuqing-close"), timeout)
        except TimeoutError:
            log.warning("停止时存储线程仍在工作，不再等待")


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
    rt = Runtime(config, transport=transport, clock=now)
    try:
        await rt.load_rules(now())
        return list(await asyncio.gather(
            *(rt.pipeline.run_feed(f, now=now()) for f in chosen)))
    finally:
        await rt.aclose()


def job_id(feed: FeedConfig) -> str:
    return f"feed:{feed.name}"


class Daemon:
    """``yuqing run``: fetch on schedule until told to stop.

    Each feed is one date-triggered job, armed again when its run ends, at the next check
    counted from the end of the run (and never in the past: a job armed in the past while
    its own run is still counted would be skipped and dropped by APScheduler). A health
    tick every ``[daemon] health_interval`` re-arms any enabled feed whose job is missing
    or overdue by ``[daemon] overdue_intervals`` intervals (logged and shown in
    ``feeds status``), and stops the daemon if its database file was deleted or replaced.
    """

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
        self._running: dict[str, datetime] = {}   # feed -> when its run started
        self._due: dict[str, datetime] = {}       # feed -> when its job is armed to run
        self.failure: MonitorError | None = None  # why the daemon stopped on its own
        self.rt: Runtime | None = None
        self.scheduler: Any = None  # AsyncIOScheduler, imported when the daemon runs

    def request_stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self.request_stop)
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # not needed by one-shots

        lock = DaemonLock(self.config.storage.path)
        lock.acquire()
        try:
            self.rt = Runtime(self.config, transport=self.transport, rng=self.rng,
                              clock=self.now)
            self.scheduler = AsyncIOScheduler(timezone=UTC, event_loop=loop)
            self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
            self.scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
            await self.rt.load_rules(self.now())
            self.scheduler.add_job(self._reload_rules, "interval",
                                   seconds=self.config.rules.reload_interval, id="rules-reload",
                                   coalesce=True, max_instances=1)
            self.scheduler.add_job(self._health, "interval",
                                   seconds=self.config.daemon.health_interval, id="health",
                                   coalesce=True, max_instances=1)
            await self._schedule_all()
            wd = Notifier.watchdog_interval()
            if wd:
                self.scheduler.add_job(self.notifier.notify, "interval", seconds=wd,
                                       args=["WATCHDOG=1"], id="watchdog")
            self.scheduler.start()
            enabled = sum(1 for f in self.config.feeds if f.enabled)
            log.info("守护进程已启动 feeds=%d database=%s pid=%d", enabled,
                     self.config.storage.path, os.getpid())
            self.notifier.notify(f"READY=1\nSTATUS=监测中：{enabled} 个订阅源")
            await self.stopping.wait()
        finally:
            try:
                await self._shutdown()
            finally:
                lock.release()
        if self.failure is not None:
            raise self.failure

    async def _schedule_all(self) -> None:
        assert self.rt is not None
        states = await self.rt.in_store(self.rt.store.feeds_status)
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
        when = max(when, self.now() + ARM_AHEAD)
        self._due[feed.name] = when
        self.scheduler.add_job(self._run_feed, "date", run_date=when, args=[feed],
                               id=job_id(feed), replace_existing=True,
                               misfire_grace_time=None, coalesce=True, max_instances=1)
        log.debug("已安排抓取 feed=%s at=%s", feed.name, when.isoformat())

    def _skipped(self, event: Any) -> None:
        if event.job_id.startswith("feed:"):
            log.warning("跳过一次抓取：上一次仍在进行 job=%s",
                        event.job_id)

    def _submitted(self, event: Any) -> None:
        # Called as the scheduler hands the job over, before its coroutine first runs: from
        # here until the run ends the feed counts as running (its date job is gone by then).
        if event.job_id.startswith("feed:"):
            self._running.setdefault(event.job_id.removeprefix("feed:"), self.now())

    async def _run_feed(self, feed: FeedConfig) -> None:
        assert self.rt is not None
        if self.stopping.is_set():
            self._running.pop(feed.name, None)
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        self._running[feed.name] = self.now()
        try:
            try:
                outcome = await self.rt.pipeline.run_feed(feed, now=self.now())
                when = outcome.next_check_at
            except Exception:  # e.g. the database itself failing: never lose the feed
                log.exception("订阅源处理出错，稍后重试 feed=%s", feed.name)
                when = None
        finally:
            self._running.pop(feed.name, None)
            if task is not None:
                self._inflight.discard(task)
        if not self.stopping.is_set():
            self._arm(feed, when or self.now() + timedelta(
                seconds=max(self.config.fetch.backoff_base, 60.0)))

    async def _reload_rules(self) -> None:
        assert self.rt is not None
        if not self.stopping.is_set():
            await self.rt.reload_rules(self.now())

    async def _health(self) -> None:
        """The daemon's own check: its database file, then every feed's schedule."""
        assert self.rt is not None and self.scheduler is not None
        if self.stopping.is_set():
            return
        if self.rt.store.file_replaced():
            path = self.config.storage.path
            self.failure = DatabaseGoneError(
                f"数据库文件 {path} 已被删除或替换：守护进程已停止，以免继续写入已删除的文件"
                "而丢失数据（恢复该文件或确认新位置后重新启动）")
            log.critical("数据库文件被删除或替换，守护进程停止 database=%s", path)
            self.request_stop()
            return
        now = self.now()
        for feed in self.config.feeds:
            if not feed.enabled or feed.name in self._running:
                continue
            note = self._schedule_problem(feed, now)
            if note is None:
                continue
            log.warning("调度自检：已重新安排订阅源 feed=%s reason=%s",
                        feed.name, note)
            self._arm(feed, now)
            try:
                await self.rt.in_store(lambda f=feed, n=note: self.rt.store.record_rearm(
                    f.name, now=now, note=n))
            except Exception:
                log.exception("无法记录调度自检结果 feed=%s", feed.name)

    def _schedule_problem(self, feed: FeedConfig, now: datetime) -> str | None:
        """Why ``feed`` needs re-arming (its job is gone, or it is long overdue), or None."""
        job = self.scheduler.get_job(job_id(feed))
        if job is None or job.next_run_time is None:
            return "调度任务丢失，已重新安排"
        due = self._due.get(feed.name, job.next_run_time)
        if is_overdue(now, feed, due, self.config.daemon.overdue_intervals):
            late = (now - due).total_seconds()
            return f"逾期 {describe_duration(late)} 未抓取，已重新安排"
        return None

    async def _shutdown(self) -> None:
        log.info("守护进程正在停止")
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
        log.info("守护进程已停止")


def serve(config: Config) -> None:
    """``yuqing run``: the daemon until SIGTERM/SIGINT; the process is free to exit at
    once afterwards, whatever thread is still stuck (a hung rules load, a parse)."""
    error: MonitorError | None = None
    try:
        asyncio.run(Daemon(config).run())
    except MonitorError as e:
        error = e
    stuck = join_threads(time.monotonic() + EXIT_GRACE)
    if stuck:
        log.warning("退出时仍有线程在运行，强制退出 threads=%s",
                    ",".join(t.name for t in stuck))
        if error is not None:
            sys.stderr.write(f"错误：{error}\n")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(1 if error is not None else 0)
    if error is not None:
        raise error
