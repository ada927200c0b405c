"""Run one feed through every stage, each called explicitly, in this order:

    fetch (monitor.fetch)      bytes and headers, politely and within caps
    parse (monitor.parse)      bytes -> items, in a worker process
    store (monitor.store)      dedup, insert or update, full-text index
    score (monitor.score)      the rules in force -> score, level and matches per item
    incidents (monitor.incidents.intake)
                               items at blue or above join (or open) incidents
    alerts (monitor.alerts.plan, .deliver)
                               incidents that opened or rose plan their deliveries in the
                               same transaction; then the due deliveries are sent

The network part runs on the event loop; parsing runs in a pool of worker processes
(``parse_executor``, so both cores work on a large pass) and storing and matching in one
worker thread (``executor``), so the loop stays responsive. Every outcome, good or bad, is
recorded on the feed's state row together with the time of its next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .alerts.deliver import Deliverer
from .alerts.plan import Planner
from .config import Config, FeedConfig
from .errors import FetchError, StoreError
from .fetch import Fetcher
from .incidents.intake import Intake
from .models import FetchResult, ParsedFeed, ParsedItem
from .parse import parse_in_worker
from .redact import redact_text, redact_url
from .schedule import next_check
from .score import Scorer
from .store import Store
from .store.db import utcnow
from .timefmt import for_log

log = logging.getLogger(__name__)


@dataclass
class FeedOutcome:
    """What one pass over one feed did (the ``yuqing fetch --json`` row)."""

    name: str
    ok: bool
    status: int | None = None
    new_items: int = 0
    changed_items: int = 0
    error: str | None = None
    error_kind: str | None = None
    next_check_at: datetime | None = None
    item_ids: list[int] = field(default_factory=list)
    alerts: int = 0               # deliveries planned

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "status": self.status,
                "new_items": self.new_items, "error": self.error}


Clock = Callable[[], datetime]
# Errors of the store itself: not a feed's fault, so never recorded as a feed failure;
# they reach the caller (the daemon re-arms the feed, a one-shot command exits 1).
_STORE_ERRORS = (StoreError, sqlite3.DatabaseError)


def recipe_of(feed: FeedConfig) -> dict[str, Any] | None:
    """What a parse worker needs to know of a page source (picklable), or None for feeds."""
    if feed.type == "feed" or feed.select is None:
        return None
    return {"type": feed.type, "select": feed.select.model_dump()}


def _unique_links(items: list[ParsedItem]) -> list[ParsedItem]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.link or item.guid or item.title
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


class Pipeline:
    def __init__(self, config: Config, store: Store, fetcher: Fetcher, *,
                 executor: Executor | None = None, parse_executor: Executor | None = None,
                 rng: random.Random | None = None, scorer: Scorer | None = None,
                 new_parse_pool: Callable[[], Executor] | None = None,
                 intake: Intake | None = None, planner: Planner | None = None,
                 deliverer: Deliverer | None = None, clock: Clock = utcnow) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self.executor = executor
        self.parse_executor = parse_executor
        self.rng = rng or random.Random()
        self.scorer = scorer
        self.intake = intake
        self.planner = planner
        self.deliverer = deliverer
        self.new_parse_pool = new_parse_pool

    async def run_feed(self, feed: FeedConfig, *, now: datetime) -> FeedOutcome:
        """One pass over ``feed`` started at ``now`` (the items' fetch time). The run's
        outcome, its finish time and the next check (counted from the finish, read from
        ``clock``, so a slow run never schedules its next check in the past) go on the
        feed's state row."""
        loop = asyncio.get_running_loop()
        # Every store call goes to the worker thread: a database busy with another
        # process's write must never freeze the event loop (and the other feeds).
        state = await loop.run_in_executor(self.executor, self.store.feed_state, feed.name)
        try:
            result = await self.fetcher.fetch(                                  # fetch
                feed, etag=state.etag if state else None,
                last_modified=state.last_modified if state else None)
        except FetchError as e:
            return await self._failed(feed, e, now)
        except _STORE_ERRORS:
            raise
        except Exception:  # a bug must not stop the other feeds or the daemon
            log.exception("抓取时出现意外错误 feed=%s", feed.name)
            return await self._failed(feed, _internal_error(), now)
        try:
            parsed = None if result.not_modified else await self._parse(feed, result, now)
            if parsed is not None and feed.type == "html":                     # more pages
                parsed = await self._more_pages(feed, parsed, now)
            if parsed is not None and feed.detail is not None:                 # full texts
                parsed = await self._details(feed, parsed)
            outcome = await loop.run_in_executor(self.executor, self.process, feed, result,
                                                 now, parsed, state.ttl if state else None)
        except FetchError as e:
            return await self._failed(feed, e, now)
        except _STORE_ERRORS:
            raise
        except Exception:
            log.exception("处理时出现意外错误 feed=%s", feed.name)
            return await self._failed(feed, _internal_error(), now)
        if outcome.alerts and self.deliverer is not None:                       # deliver
            try:
                await self.deliverer.deliver_due()
            except _STORE_ERRORS:
                raise
            except Exception:  # the rows stay queued: the alerts tick sends them
                log.exception("发送告警时出现意外错误 feed=%s", feed.name)
        return outcome

    async def _more_pages(self, feed: FeedConfig, first: ParsedFeed,
                          now: datetime) -> ParsedFeed:
        """Follow an html list's ``next`` link up to ``max_pages`` pages, never a page twice;
        items seen on an earlier page (the lists overlap as new posts push old ones down)
        count once. A later page that fails ends the walk with what was read."""
        assert feed.select is not None
        items, seen_pages = list(first.items), {first.link}
        nxt = first.next_url
        for _ in range(feed.select.max_pages - 1):
            if not nxt or nxt in seen_pages:
                break
            seen_pages.add(nxt)
            try:
                result = await self.fetcher.fetch(feed, url=nxt)  # trusts only the feed's host
                page = await self._parse(feed, result, now)
            except FetchError as e:
                log.warning("后续页抓取失败，只用已读到的页 feed=%s url=%s error=%s", feed.name,
                            redact_url(nxt), e)
                break
            items += page.items
            nxt = page.next_url
        return replace(first, items=_unique_links(items), next_url=None)

    async def _details(self, feed: FeedConfig, parsed: ParsedFeed) -> ParsedFeed:
        """Each new item's own page, for its full text (``[feeds.detail]``)."""
        from .fetch.detail import fetch_details
        from .parse.article import article_text

        loop = asyncio.get_running_loop()
        links = [i.link for i in parsed.items if i.link]
        known = await loop.run_in_executor(self.executor, self.store.known_links, feed.name,
                                           links)
        items = await fetch_details(self.fetcher, feed, parsed.items, known=known,
                                    extract=article_text)
        return replace(parsed, items=items)

    async def _parse(self, feed: FeedConfig, result: FetchResult, now: datetime) -> ParsedFeed:
        """Parse in the process pool, within ``[fetch] parse_timeout``. If the pool broke
        (a worker was killed, e.g. by the OOM killer), replace it and parse this body in
        the worker thread instead; if a parse takes too long (hostile input), its worker
        is killed, the pool replaced and the fetch recorded as failed."""
        loop = asyncio.get_running_loop()
        args = (result.content, result.content_type, feed.encoding or None, feed.timezone,
                result.url, now, recipe_of(feed))
        pool = self.parse_executor
        if pool is not None:
            limit = self.config.fetch.parse_timeout
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(pool, parse_in_worker, *args), limit)
            except BrokenProcessPool:
                log.warning("解析进程池已损坏，正在重建 feed=%s", feed.name)
                self._replace_pool(pool)
            except TimeoutError:
                log.error("解析超时，已终止解析进程并重建 feed=%s seconds=%g", feed.name, limit)
                self._replace_pool(pool, kill=True)
                raise FetchError("parse", f"解析超时（超过 {limit:g} 秒），已放弃这次内容，"
                                          "稍后重试") from None
        return await loop.run_in_executor(self.executor, parse_in_worker, *args)

    def _replace_pool(self, pool: Executor, *, kill: bool = False) -> None:
        if self.parse_executor is not pool:
            return  # another feed replaced it already
        if kill:  # a stuck worker never returns: end the processes themselves
            for proc in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self.parse_executor = self.new_parse_pool() if self.new_parse_pool else None

    def process(self, feed: FeedConfig, result: FetchResult, now: datetime,
                parsed: ParsedFeed | None = None, known_ttl: float | None = None
                ) -> FeedOutcome:
        """Store and score one fetched body, parsing it first unless ``parsed`` is given
        (runs in the worker thread). ``known_ttl`` is the publisher's ttl stored with the
        feed, which a 304 leaves in force."""
        if result.not_modified:
            done = self._finished(now)
            nxt = self._next(feed, done, max_age=result.max_age, feed_ttl=known_ttl)
            self.store.record_success(feed.name, now=done, status=304, next_check_at=nxt,
                                      max_age=result.max_age, response_ms=_elapsed_ms(now, done))
            log.info("未变化 feed=%s next=%s", feed.name, for_log(nxt))
            return FeedOutcome(feed.name, True, 304, next_check_at=nxt)
        if parsed is None:
            parsed = parse_in_worker(result.content, result.content_type, feed.encoding or None,
                                     feed.timezone, result.url, now, recipe_of(feed))
        stored = self.store.store_items(feed.name, parsed.items, now=now)         # store
        new = [s.id for s in stored if s.status == "new"]
        changed = [s.id for s in stored if s.status == "changed"]
        # one transaction from the scores to the outbox rows: a process killed at any
        # moment leaves the items unscored (scored again at start) or their alerts queued
        with self.store.tx():
            self._score(feed, new + changed, now)                                 # score
            planned = self.incidents_and_alerts(new + changed, now)      # incidents, alerts
        done = self._finished(now)
        nxt = self._next(feed, done, max_age=result.max_age, feed_ttl=parsed.ttl)
        self.store.record_success(
            feed.name, now=done, status=result.status, next_check_at=nxt, etag=result.etag,
            last_modified=result.last_modified, new_items=len(new), title=parsed.title,
            ttl=parsed.ttl, max_age=result.max_age, encoding=parsed.encoding, fmt=parsed.format,
            response_ms=_elapsed_ms(now, done))
        log.info("已抓取 feed=%s status=%s items=%d new=%d changed=%d encoding=%s next=%s",
                 feed.name, result.status, len(parsed.items), len(new), len(changed),
                 parsed.encoding, for_log(nxt))
        return FeedOutcome(feed.name, True, result.status, len(new), len(changed),
                           next_check_at=nxt, item_ids=new + changed, alerts=planned)

    def _score(self, feed: FeedConfig, item_ids: list[int], now: datetime) -> None:
        if not item_ids or self.scorer is None:
            return
        try:
            self.scorer.score_items(item_ids, now)
        except _STORE_ERRORS:
            raise
        except Exception:  # the items are stored; they are scored again later
            log.exception("评分失败，条目已保存，稍后再评分 feed=%s", feed.name)

    def incidents_and_alerts(self, item_ids: list[int], now: datetime) -> int:
        """Scored items into incidents, and the deliveries of those that opened or rose,
        in one transaction (runs in the worker thread); returns the rows planned."""
        if not item_ids or self.intake is None:
            return 0
        try:
            with self.store.tx():
                events = self.intake.absorb_ids(item_ids, now)                 # incidents
                return self.planner.plan(events, now) if self.planner else 0   # alerts
        except _STORE_ERRORS:
            raise
        except Exception:
            log.exception("生成舆情事件或告警时出现意外错误 items=%s",
                          ",".join(map(str, item_ids[:20])))
            return 0

    def _finished(self, started: datetime) -> datetime:
        """When the run finished: the clock, never before the run started."""
        return max(started, self.clock())

    async def _failed(self, feed: FeedConfig, e: FetchError, now: datetime) -> FeedOutcome:
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self.record_failure, feed, e, now)

    def record_failure(self, feed: FeedConfig, e: FetchError, now: datetime) -> FeedOutcome:
        """Store a failure on the feed with its next check (runs in the worker thread).
        The message is stored, logged and returned with any URL in it redacted."""
        error = redact_text(str(e))
        state = self.store.feed_state(feed.name)
        failures = (state.consecutive_failures if state else 0) + 1
        started, now = now, self._finished(now)
        nxt = next_check(now, feed, self.config.fetch, failures=failures,
                         retry_after=e.retry_after, rng=self.rng)
        count = self.store.record_failure(feed.name, now=now, kind=e.kind, error=error,
                                          next_check_at=nxt, status=e.status,
                                          response_ms=_elapsed_ms(started, now))
        level = logging.WARNING if count >= self.config.fetch.failure_alert_after else logging.INFO
        log.log(level, "抓取失败 feed=%s kind=%s failures=%d error=%s next=%s",
                feed.name, e.kind, count, error, for_log(nxt))
        return FeedOutcome(feed.name, False, e.status, error=error, error_kind=e.kind,
                           next_check_at=nxt)

    def _next(self, feed: FeedConfig, now: datetime, *, max_age: float | None,
              feed_ttl: float | None) -> datetime:
        return next_check(now, feed, self.config.fetch, max_age=max_age, feed_ttl=feed_ttl,
                          rng=self.rng)


def _elapsed_ms(started: datetime, done: datetime) -> int:
    """A fetch's response time as ``feeds status`` shows it: from its start to its outcome
    stored, in whole milliseconds."""
    return max(0, round((done - started).total_seconds() * 1000))


def _internal_error() -> FetchError:
    """What a feed's state says after a bug: no Python repr for people (the traceback is in
    the log, written just before)."""
    return FetchError("internal", "程序内部错误（详情已记入日志），稍后自动重试")
