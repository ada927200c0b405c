"""When to check a feed: first after a (re)start, next after a run, and when it is overdue;
pure functions of ``now``, the feed, the fetch settings and what
the last fetch taught us (failures, Retry-After, cache lifetime, the publisher's ``ttl``).

No I/O and no clock: ``now`` and the random source are parameters, so tests are exact.

Policy:

* success: the feed's ``interval``, raised to the publisher's hint (``max_age`` from
  Cache-Control/Expires, ``feed_ttl`` from ``<ttl>``) when that is longer, but a hint never
  pushes the wait past :data:`MAX_HINT` (24 h); then ±``jitter``; never below ``min_interval``.
* failure: capped exponential backoff ``min(backoff_max, backoff_base * 2**(failures-1))``
  with downward jitter, but never sooner than the feed's own interval (a failing feed is not
  hammered more than a healthy one). A server's Retry-After wins when longer, up to 24 h.
* a feed is never disabled: :func:`next_check` always returns a time.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .config import FeedConfig, FetchConfig

__all__ = ["MAX_HINT", "backoff_delay", "first_check", "is_overdue", "next_check",
           "overdue_after"]

MAX_HINT = 24 * 3600.0  # longest wait a server hint (max-age, ttl, Retry-After) may impose
_MAX_EXPONENT = 62       # 2**62 * any sane base is far above any cap; avoids float overflow
_RNG = random.Random()


def backoff_delay(failures: int, settings: FetchConfig, *, rng: random.Random | None) -> float:
    """Seconds to wait after ``failures`` consecutive failures (0 -> 0.0).

    ``min(backoff_max, backoff_base * 2**(failures-1))``, then jittered downward by up to
    ``settings.jitter`` so the result never exceeds ``backoff_max`` and feeds that fail
    together do not retry in lockstep.
    """
    if failures <= 0:
        return 0.0
    rng = rng if rng is not None else _RNG
    raw = settings.backoff_base * 2.0 ** min(failures - 1, _MAX_EXPONENT)
    delay = min(settings.backoff_max, raw)
    return delay * (1.0 - rng.uniform(0.0, settings.jitter))


def next_check(
    now: datetime,
    feed: FeedConfig,
    settings: FetchConfig,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    feed_ttl: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The time ``feed`` should next be fetched (always a time: feeds are never disabled)."""
    rng = rng if rng is not None else _RNG
    if failures <= 0:
        base = feed.interval
        hint = max(max_age or 0.0, feed_ttl or 0.0)
        if hint > base:
            base = max(base, min(hint, MAX_HINT))
        delay = base * (1.0 + rng.uniform(-settings.jitter, settings.jitter))
    else:
        interval = feed.interval * (1.0 + rng.uniform(-settings.jitter, settings.jitter))
        delay = max(interval, backoff_delay(failures, settings, rng=rng))
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_HINT))
    delay = max(delay, settings.min_interval)
    return now + timedelta(seconds=delay)


def overdue_after(feed: FeedConfig, intervals: int) -> float:
    """Seconds past its due time after which a feed counts as overdue: ``intervals`` of
    its own intervals, and never less than two minutes (a busy pass is not "overdue")."""
    return max(intervals * feed.interval, 120.0)


def is_overdue(now: datetime, feed: FeedConfig, due: datetime | None, intervals: int) -> bool:
    """Whether a feed due at ``due`` and still not checked at ``now`` is overdue."""
    return due is not None and (now - due).total_seconds() > overdue_after(feed, intervals)


def first_check(now: datetime, feed: FeedConfig, stored: datetime | None, *,
                rng: random.Random, spread_new: float = 5.0,
                spread_overdue: float = 30.0) -> datetime:
    """When a (re)started daemon should first check a feed.

    A stored future time is kept (the schedule resumes across restarts), capped at one
    interval from now so a shortened interval takes effect at once. Feeds never
    checked start within ``spread_new`` seconds; overdue ones are spread over
    ``spread_overdue`` seconds instead of all firing at once.
    """
    if stored is not None and stored > now:
        # keep the schedule, but a shortened interval in the config applies at once
        return min(stored, now + timedelta(seconds=feed.interval))
    spread = spread_new if stored is None else spread_overdue
    return now + timedelta(seconds=rng.uniform(0, min(spread, feed.interval)))
