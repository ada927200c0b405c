"""The daemon (``yuqing run``): scheduler jobs and signals only.

APScheduler's ``AsyncIOScheduler`` runs one date-triggered job per feed, re-armed after
each run at the time the pipeline stored on the feed (so a restart resumes the schedule),
a health tick (schedule watchdog, database file check) and the rules reload. What the jobs
run on is :class:`~monitor.runtime.Services`; with ``[web] enabled`` the console
(``monitor.web``) serves in the same loop. One daemon per database (a lock file);
SIGTERM and SIGINT stop everything within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .alerts.deliver import STALE_CLAIM
from .config import Config, FeedConfig
from .durations import describe_duration, format_duration
from .errors import DatabaseGoneError, MonitorError
from .runtime import Clock, Services
from .schedule import first_check, is_overdue, overdue_after
from .sdnotify import Notifier
from .store.db import utcnow
from .store.lock import DaemonLock
from .store.retention import PRUNE_BATCH, PruneResult
from .timefmt import for_log, zone
from .workers import join_threads

log = logging.getLogger(__name__)

# A stop takes at most STOP_GRACE + CANCEL_GRACE + CLOSE_GRACE + EXIT_GRACE (8 s) after
# the signal, inside the 10 s that systemd and the contract allow.
STOP_GRACE = 4.0                    # in-flight fetches get this long to finish on stop
CANCEL_GRACE = 0.5                  # then the cancelled ones this long to unwind
CLOSE_GRACE = 2.0                   # the store worker this long to finish its call
EXIT_GRACE = 1.5                    # then threads this long before the process exits anyway
ARM_AHEAD = timedelta(seconds=1)    # a job is never armed sooner than this
PRUNE_AT = (3, 30)                  # the daily retention pass, in the display zone (Beijing)


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
        self._long_runs: set[str] = set()         # feeds whose current run was reported as long
        self.failure: MonitorError | None = None  # why the daemon stopped on its own
        self.signalled_early: list[int] = []      # signals received before the loop ran
        self.rt: Services | None = None
        self.scheduler: Any = None  # AsyncIOScheduler, imported when the daemon runs
        self.console: Any = None    # monitor.web.server.Console when [web] enabled
        self._config_seen = _file_mark(config.source)   # feeds reload when this moves

    def request_stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self.request_stop)
        if self.signalled_early:  # a stop asked for while starting up is honoured
            self.request_stop()
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # not needed by one-shots

        if self.config.web.enabled:     # a missing signing key stops us before anything runs
            from .web.server import web_secret

            web_secret(self.config)
        lock = DaemonLock(self.config.storage.path)
        lock.acquire()
        try:
            self.rt = Services(self.config, transport=self.transport, rng=self.rng,
                              clock=self.now)
            self.scheduler = AsyncIOScheduler(timezone=UTC, event_loop=loop)
            self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
            self.scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
            await self.rt.deliverer.recover()   # rows a killed daemon left "sending"
            rt = self.rt
            await rt.in_store(lambda: rt.record_start(self.now()))
            if not await self._until_stopped(self.rt.load_rules(self.now(),
                                                                stopping=self.stopping.is_set)):
                return  # told to stop while loading the rules: stop now, not after
            self.scheduler.add_job(self._reload_rules, "interval",
                                   seconds=self.config.rules.reload_interval, id="rules-reload",
                                   coalesce=True, max_instances=1)
            self.scheduler.add_job(self._alerts_tick, "interval",
                                   seconds=self.config.alerts.tick, id="alerts",
                                   coalesce=True, max_instances=1,
                                   next_run_time=datetime.now(UTC) + timedelta(seconds=1))
            self.scheduler.add_job(self._health, "interval",
                                   seconds=self.config.daemon.health_interval, id="health",
                                   coalesce=True, max_instances=1)
            if self.config.storage.retain_bodies is not None:
                from apscheduler.triggers.cron import CronTrigger

                self.scheduler.add_job(self._retention, CronTrigger(
                    hour=PRUNE_AT[0], minute=PRUNE_AT[1], timezone=zone()), id="retention",
                    coalesce=True, max_instances=1, misfire_grace_time=3600)
            await self._schedule_all()
            wd = Notifier.watchdog_interval()
            if wd:
                self.scheduler.add_job(self.notifier.notify, "interval", seconds=wd,
                                       args=["WATCHDOG=1"], id="watchdog")
            self.scheduler.start()
            if self.config.web.enabled:
                from .web.server import Console

                self.console = Console(self.config, clock=self.now,
                                       config_path=self.config.source)
                await self.console.start()
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

    async def _until_stopped(self, work: Coroutine[Any, Any, Any]) -> bool:
        """Run ``work`` unless a stop is asked for first; True when it completed."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stop.cancel()
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, CANCEL_GRACE)
        return False

    async def _schedule_all(self) -> None:
        assert self.rt is not None
        states = await self.rt.in_store(self.rt.store.feeds_status)
        by_name = {s.name: s for s in states}
        now = self.now()
        for feed in self.config.feeds:
            if not feed.enabled:
                continue
            state = by_name.get(feed.name)
            when = first_check(now, feed, state.next_check_at if state else None, rng=self.rng,
                               spread_overdue=self.config.fetch.startup_spread)
            self._arm(feed, when)

    def _arm(self, feed: FeedConfig, when: datetime) -> None:
        assert self.scheduler is not None
        when = max(when, self.now() + ARM_AHEAD)
        self._due[feed.name] = when
        self.scheduler.add_job(self._run_feed, "date", run_date=when, args=[feed],
                               id=job_id(feed), replace_existing=True,
                               misfire_grace_time=None, coalesce=True, max_instances=1)
        log.debug("已安排抓取 feed=%s at=%s", feed.name, for_log(when))

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
        except asyncio.CancelledError:  # cut short by a stop: its next check stays stored
            log.info("停止时中断了抓取 feed=%s", feed.name)
            return
        finally:
            self._running.pop(feed.name, None)
            if task is not None:
                self._inflight.discard(task)
        current = self.config.feed(feed.name)    # the config may have been reloaded
        if not self.stopping.is_set() and current is not None and current.enabled:
            self._arm(current, when or self.now() + timedelta(
                seconds=max(self.config.fetch.backoff_base, 60.0)))

    async def _reload_rules(self) -> None:
        assert self.rt is not None
        if not self.stopping.is_set():
            await self.rt.reload_rules(self.now())

    async def _alerts_tick(self) -> None:
        """Queue the escalations, reminders, digests and notices that are due, then send
        what the outbox holds (a failed pass is retried on the next tick: rows stay)."""
        assert self.rt is not None
        if self.stopping.is_set():
            return
        try:
            # a row whose result could not be recorded (the database failing mid-pass) is
            # put back once its claim is stale; live sends renew theirs
            await self.rt.deliverer.recover(stale_after=STALE_CLAIM)
            await self.rt.alerts_tick()
        except Exception:
            log.exception("告警定时任务出错，下次重试")

    async def _retention(self) -> None:
        """Empty the bodies older than ``[storage] retain_bodies``, one batch per store
        call so fetches go on in between; nothing when no retention is configured."""
        assert self.rt is not None
        retain = self.config.storage.retain_bodies
        if retain is None or self.stopping.is_set():
            return
        try:
            await prune_bodies(self.rt, retain, self.now(), stopping=self.stopping.is_set)
        except Exception:
            log.exception("清除旧正文出错，明天重试")

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
        await self._reload_feeds()
        now = self.now()
        for feed in self.config.feeds:
            started = self._running.get(feed.name)
            if started is not None:  # running: say so once if it has been going too long
                long_run = (now - started).total_seconds() > overdue_after(
                    feed, self.config.daemon.overdue_intervals)
                if long_run and feed.name not in self._long_runs:
                    self._long_runs.add(feed.name)
                    log.warning("订阅源的这次抓取已进行 %s 仍未结束 feed=%s",
                                describe_duration((now - started).total_seconds()), feed.name)
                continue
            self._long_runs.discard(feed.name)
            if not feed.enabled:
                continue
            note = self._schedule_problem(feed, now)
            if note is None:
                continue
            log.warning("调度自检：已重新安排订阅源 feed=%s reason=%s",
                        feed.name, note)
            self._arm(feed, now)
            try:
                await self.rt.in_store(self.rt.store.record_rearm, feed.name, now, note)
            except Exception:
                log.exception("无法记录调度自检结果 feed=%s", feed.name)

    async def _reload_feeds(self) -> None:
        """When the config file changed (an admin edited it, or the console's feeds page
        wrote it): load it and bring the feeds in line: new and re-enabled feeds are
        scheduled, removed and disabled ones stop, edited ones run with their new settings
        from their next check. A broken file changes nothing (and is said once); other
        sections still need a restart."""
        assert self.rt is not None
        mark = _file_mark(self.config.source)
        if mark == self._config_seen or self.config.source is None:
            return
        self._config_seen = mark
        from .config import load_config

        try:
            new = load_config(self.config.source)
        except MonitorError as e:
            log.warning("配置文件已改动但有误，订阅源未重新载入（仍按原配置运行）：%s", e)
            return
        old = {f.name: f for f in self.config.feeds}
        fresh = {f.name: f for f in new.feeds}
        added = [n for n in fresh if n not in old]
        removed = [n for n in old if n not in fresh]
        changed = [n for n in fresh if n in old and fresh[n] != old[n]]
        if not (added or removed or changed):
            return
        self.config.feeds[:] = new.feeds
        rt = self.rt
        await rt.in_store(lambda: rt.store.sync_feeds(new.feeds))
        states = {s.name: s for s in await rt.in_store(rt.store.feeds_status)}
        now = self.now()
        for name in removed + changed + added:
            feed = fresh.get(name)
            if feed is None or not feed.enabled:
                with contextlib.suppress(Exception):       # no job: nothing to remove
                    self.scheduler.remove_job(f"feed:{name}")
                self._due.pop(name, None)
            elif name not in self._running:                 # a running one re-arms itself
                state = states.get(name)
                self._arm(feed, first_check(now, feed, state.next_check_at if state else None,
                                            rng=self.rng, spread_overdue=0.0))
        await rt.in_store(lambda: rt.store.log_event(
            "config.changed", None, now=now,
            data={"feeds": {"added": added, "removed": removed, "changed": changed}}))
        log.info("订阅源已按配置文件重新载入 added=%s removed=%s changed=%s",
                 ",".join(added) or "-", ",".join(removed) or "-", ",".join(changed) or "-")

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
        if self.console is not None:
            with contextlib.suppress(Exception):   # the console must not hold up the stop
                await self.console.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # no new runs; the ones in flight get STOP_GRACE to finish
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=STOP_GRACE)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=CANCEL_GRACE)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.rt is not None:
            rt = self.rt
            if not rt.store.file_replaced():
                with contextlib.suppress(Exception):   # a failing database must not stop the stop
                    await rt.in_store(lambda: rt.store.log_event(
                        "daemon.stopped", str(os.getpid()), now=self.now()))
            await self.rt.aclose(timeout=CLOSE_GRACE)
        log.info("守护进程已停止")


def _file_mark(path: Any) -> tuple[int, int] | None:
    """(mtime, size) of the config file, to notice an edit cheaply."""
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st is not None else None


async def prune_bodies(rt: Services, retain: float, now: datetime, *,
                       stopping: Callable[[], bool] = lambda: False) -> PruneResult:
    """The daily retention pass on the store worker thread, batch by batch."""
    store = rt.store
    before = now - timedelta(seconds=retain)
    plan = await rt.in_store(store.prunable_bodies, before)
    done = 0
    while plan.items and not stopping():
        n = await rt.in_store(lambda: store.prune_bodies_batch(before, now=now))
        done += n
        if n < PRUNE_BATCH:
            break
    result = PruneResult(before, done, plan.oldest, plan.newest)
    if done:
        await rt.in_store(lambda: store.record_prune(result, retain=format_duration(retain),
                                                     now=now))
        log.info("已清除超过保留期的正文 items=%d before=%s", done, for_log(before))
    return result


def serve(config: Config, *, early_signals: list[int] | None = None) -> None:
    """``yuqing run``: the daemon until SIGTERM/SIGINT; the process is free to exit at
    once afterwards, whatever thread is still stuck (a hung rules load, a parse).
    ``early_signals`` holds the signals the caller caught while starting up."""
    error: MonitorError | None = None
    daemon = Daemon(config)
    daemon.signalled_early = early_signals if early_signals is not None else []
    for sig in (signal.SIGTERM, signal.SIGINT):  # until the loop takes over: remember, stop later
        signal.signal(sig, lambda signum, _frame: daemon.signalled_early.append(signum))
    try:
        asyncio.run(daemon.run())
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
