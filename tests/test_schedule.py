"""monitor.schedule: pure functions, exact with a seeded rng and a fixed ``now``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.config import FeedConfig, FetchConfig
from monitor.schedule import MAX_HINT, backoff_delay, next_check

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def cfg(**kw: Any) -> FetchConfig:
    return FetchConfig(**({"backoff_base": 60, "backoff_max": 3600, "jitter": 0.1,
                           "min_interval": 60} | kw))


def feed(interval: float = 900) -> FeedConfig:
    return FeedConfig(name="源", url="http://127.0.0.1/feed", interval=interval)


def delay(**kw: Any) -> float:
    """Seconds until the next check, for one seeded draw."""
    settings = kw.pop("settings", cfg())
    f = kw.pop("feed", feed())
    when = next_check(NOW, f, settings, rng=kw.pop("rng", random.Random(7)), **kw)
    return (when - NOW).total_seconds()


def test_backoff_grows_exponentially_then_caps() -> None:
    s = cfg(jitter=0)
    got = [backoff_delay(n, s, rng=random.Random(1)) for n in range(0, 10)]
    assert got == [0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert backoff_delay(10_000, s, rng=None) == 3600  # no overflow, still capped


@pytest.mark.parametrize("failures", [1, 3, 6, 7, 50])
def test_backoff_jitter_stays_within_bounds_and_under_the_cap(failures: int) -> None:
    s = cfg(jitter=0.2)
    nominal = min(3600, 60 * 2 ** (failures - 1))
    rng = random.Random(42)
    draws = [backoff_delay(failures, s, rng=rng) for _ in range(500)]
    assert all(nominal * 0.8 <= d <= nominal for d in draws)
    assert len({round(d, 6) for d in draws}) > 400  # actually spread, even at the cap


def test_seeded_rng_is_reproducible() -> None:
    assert delay(rng=random.Random(3)) == delay(rng=random.Random(3))
    assert delay(rng=random.Random(3), failures=4) == delay(rng=random.Random(3), failures=4)


def test_success_interval_jitter_bounds() -> None:
    rng = random.Random(5)
    draws = [delay(rng=rng) for _ in range(500)]
    assert all(810 <= d <= 990 for d in draws)
    assert min(draws) < 830 and max(draws) > 970  # both directions used


@pytest.mark.parametrize("kw, low, high", [
    ({}, 900, 900),                                         # the feed's interval
    ({"max_age": 3600}, 3600, 3600),                        # Cache-Control raises it
    ({"feed_ttl": 7200}, 7200, 7200),                       # <ttl> raises it
    ({"max_age": 3600, "feed_ttl": 7200}, 7200, 7200),      # the larger hint wins
    ({"max_age": 60}, 900, 900),                            # a hint never shortens it
    ({"max_age": 0}, 900, 900),
    ({"feed_ttl": 10 * 86400}, MAX_HINT, MAX_HINT),         # hints capped at 24 h
])
def test_success_honours_publisher_hints(kw, low, high) -> None:
    d = delay(settings=cfg(jitter=0), **kw)
    assert low <= d <= high


def test_interval_longer_than_the_hint_cap_is_kept() -> None:
    assert delay(settings=cfg(jitter=0), feed=feed(2 * 86400), feed_ttl=10 * 86400) == 2 * 86400


@pytest.mark.parametrize("interval, failures, want", [
    (10, 0, 300),     # min_interval beats a tiny interval
    (10, 1, 300),     # ...and a tiny backoff
    (900, 0, 900),
])
def test_min_interval(interval, failures, want) -> None:
    s = cfg(jitter=0, min_interval=300, backoff_base=30)
    assert delay(settings=s, feed=feed(interval), failures=failures) == want


@pytest.mark.parametrize("failures, want", [
    (1, 900), (4, 900), (5, 960), (6, 1920), (7, 3600), (30, 3600),
])
def test_failing_feed_waits_at_least_its_interval(failures, want) -> None:
    assert delay(settings=cfg(jitter=0), failures=failures) == want


@pytest.mark.parametrize("failures, retry_after, want", [
    (1, 5000, 5000),            # longer than backoff: honoured
    (1, 30, 900),               # shorter than the interval: ignored
    (7, 4000, 4000),            # honoured beyond backoff_max
    (1, 3 * 86400, MAX_HINT),   # but not beyond 24 h
    (1, None, 900),
])
def test_retry_after(failures, retry_after, want) -> None:
    assert delay(settings=cfg(jitter=0), failures=failures, retry_after=retry_after) == want


def test_never_gives_up() -> None:
    s = cfg()
    for failures in (1, 10, 100, 10_000):
        when = next_check(NOW, feed(), s, failures=failures, rng=random.Random(failures))
        assert NOW < when <= NOW + timedelta(seconds=MAX_HINT)


def test_first_check_keeps_stored_time_but_honours_a_shorter_interval():
    import random
    from datetime import UTC, datetime, timedelta

    from monitor.config import FeedConfig
    from monitor.schedule import first_check

    now = datetime(2026, 3, 1, tzinfo=UTC)
    rng = random.Random(1)
    feed = FeedConfig(name="f", url="http://127.0.0.1/x", interval="1h")
    assert first_check(now, feed, now + timedelta(minutes=40), rng=rng) == now + timedelta(minutes=40)
    short = FeedConfig(name="f", url="http://127.0.0.1/x", interval="5m")
    assert first_check(now, short, now + timedelta(minutes=40), rng=rng) == now + timedelta(minutes=5)
    overdue = first_check(now, feed, now - timedelta(hours=1), rng=rng, spread_overdue=30)
    assert now <= overdue <= now + timedelta(seconds=30)
    new = first_check(now, feed, None, rng=rng, spread_new=5)
    assert now <= new <= now + timedelta(seconds=5)
