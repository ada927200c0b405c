"""Statistics of a period, computed from the store: the one source of every figure that the
report, ``yuqing stats`` and (later) the console show, so prose, tables and charts agree.

Periods are half-open ``[since, until)`` in UTC; months and days are Beijing months and days.
Items count by their publication date (their fetch time when they have none); incidents by
``first_seen``. Durations are seconds.

负面舆情: an incident is negative as :func:`monitor.incidents.tone.is_negative_incident`
says (any of its items' effective tone negative); a negative item is one whose
``Item.effective_tone`` is negative (the staff's correction wins). Negative items count
by month like items, and by the categories of the rules they matched.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..incidents.tone import NEGATIVE, incident_tones
from ..models import LEVELS, OUTCOMES, Incident, level_rank
from ..timefmt import zone

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store

REPORT_LEVELS = LEVELS[1:]          # blue..red: the levels an incident can have
SERIOUS = "yellow"                   # 较大及以上
TYPICAL = 10


@dataclass(frozen=True)
class Period:
    since: datetime          # inclusive, aware
    until: datetime          # exclusive, aware
    label: str               # e.g. "2026年" or "2026年1月1日至2026年6月30日"


@dataclass(frozen=True)
class Count:
    key: str                 # a month "2026-03", a feed, a category, a level code, an outcome
    count: int


@dataclass(frozen=True)
class NegativeCount:
    """负面舆情 of one month or category."""

    key: str                 # a month "2026-03" or a category
    incidents: int           # negative incidents (first seen that month / of that category)
    items: int               # negative items (dated that month / matching that category)


@dataclass(frozen=True)
class MonthLevels:
    month: str                               # "2026-03" (Beijing)
    by_level: dict[str, int]                 # level code -> incidents first seen that month
    total: int


@dataclass(frozen=True)
class Timing:
    """Handling speed of the incidents of one level first seen in the period."""

    level: str
    incidents: int
    acknowledged: int                        # incidents acknowledged (at any time so far)
    ack_median: float | None                 # seconds from opened to acknowledged
    ack_p90: float | None
    resolved: int
    resolve_median: float | None             # seconds from opened to resolved
    resolve_p90: float | None
    ack_clock_met: int                       # acknowledgement clock: met / missed / running
    ack_clock_missed: int
    respond_clock_met: int                   # response (resolve) clock
    respond_clock_missed: int

    @property
    def ack_clock_share(self) -> float | None:
        done = self.ack_clock_met + self.ack_clock_missed
        return self.ack_clock_met / done if done else None

    @property
    def respond_clock_share(self) -> float | None:
        done = self.respond_clock_met + self.respond_clock_missed
        return self.respond_clock_met / done if done else None


@dataclass(frozen=True)
class RulePrecision:
    rule: str
    name: str | None
    incidents: int                           # resolved incidents the rule matched
    false_positives: int                     # of them resolved as 误报
    precision: float | None                  # 1 - false_positives / incidents


@dataclass(frozen=True)
class FeedAvailability:
    name: str
    fetches: int
    ok: int
    share: float | None                      # ok / fetches
    items: int                               # items of the period from this feed
    last_success_at: datetime | None
    dead: bool                               # failing now, or no success in the period


@dataclass(frozen=True)
class RuleChange:
    at: datetime
    version: str
    actor: str | None
    rules: int
    changed: list[str]                       # rule ids added, changed or removed
    initial: bool = False                    # the first rule set ever loaded, not a change


@dataclass(frozen=True)
class StaffWork:
    name: str
    acknowledged: int
    resolved: int


@dataclass(frozen=True)
class Typical:
    """One of the most serious incidents of the period, for the report's table."""

    id: int
    title: str
    category: str
    level: str
    first_seen: datetime
    sources: int
    items: int
    status: str
    outcome: str | None                      # code, see models.OUTCOMES
    handling: str | None                     # the resolve note (what was done)
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class Stats:
    period: Period
    generated_at: datetime
    items_total: int
    items_by_month: list[Count]              # every month of the period, zeros included
    items_by_feed: list[Count]               # most first
    feeds_configured: int
    staff_named: list[str]                   # the [[staff]] people who receive alerts
    incidents_total: int
    incidents_serious: int                   # yellow and above (较大及以上)
    incidents_by_month: list[MonthLevels]    # every month of the period
    incidents_by_level: dict[str, int]       # every level code blue..red, zeros included
    incidents_by_category: list[Count]       # most first
    incidents_by_outcome: dict[str, int]     # outcome code -> n; "open" for not resolved
    incidents_resolved: int
    resolved_in_time: int                    # respond clock met
    timing: list[Timing]                     # levels blue..red that have incidents
    escalations: int                         # incidents escalated for want of acknowledgement
    alerts_sent: int
    alerts_failed: int
    rules: list[RulePrecision]               # rules that matched incidents of the period
    feeds: list[FeedAvailability]
    dead_feeds: list[str]
    rule_changes: list[RuleChange]
    staff: list[StaffWork]                   # who handled incidents, most first
    typical: list[Typical]                   # the most serious, at most 10
    missed_clocks: list[int] = field(default_factory=list)  # incident ids with a missed clock
    # 负面舆情 (see the module's docstring)
    items_toned: int = 0                     # items of the period that have a tone
    negative_items: int = 0                  # of them negative
    negative_incidents: int = 0              # incidents of the period that are 负面舆情
    negative_by_month: list[NegativeCount] = field(default_factory=list)  # every month
    negative_by_category: list[NegativeCount] = field(default_factory=list)  # most first
    negative_items_unmatched: int = 0        # negative items that matched no rule


# ---- periods ----------------------------------------------------------------------------
def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=zone()).astimezone(UTC)


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def annual(year: int) -> Period:
    """The Beijing calendar year."""
    return Period(_midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1)), f"{year}年")


def between(since: datetime, until: datetime) -> Period:
    """``[since, until)``; the label names the last day included."""
    first = since.astimezone(zone()).date()
    end = until.astimezone(zone())
    last = end.date() - timedelta(days=1) if end.time() == datetime.min.time() else end.date()
    if (first.month, first.day) == (1, 1) and last == date(first.year, 12, 31):
        label = f"{first.year}年"
    else:
        label = f"{_cn_date(first)}至{_cn_date(max(first, last))}"
    return Period(since, until, label)


def months(period: Period) -> list[tuple[str, datetime, datetime]]:
    """The Beijing months the period touches, each as (``YYYY-MM``, start, end) clipped
    to the period."""
    out = []
    local = period.since.astimezone(zone())
    y, m = local.year, local.month
    while True:
        start = _midnight(date(y, m, 1))
        y2, m2 = (y + 1, 1) if m == 12 else (y, m + 1)
        end = _midnight(date(y2, m2, 1))
        if start >= period.until:
            break
        out.append((f"{y:04d}-{m:02d}", max(start, period.since), min(end, period.until)))
        y, m = y2, m2
    return out


# ---- arithmetic -------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between the closest ranks (the
    same as ``statistics.quantiles(method="inclusive")`` and a spreadsheet's PERCENTILE);
    ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _timing(level: str, group: list[Incident]) -> Timing:
    acks = [s for i in group if (s := _seconds(i.opened_at, i.acknowledged_at)) is not None]
    done = [s for i in group if i.status == "resolved"
            and (s := _seconds(i.opened_at, i.resolved_at)) is not None]
    clocks = Counter((i.ack_clock, i.respond_clock) for i in group)
    return Timing(
        level=level, incidents=len(group),
        acknowledged=len(acks),
        ack_median=statistics.median(acks) if acks else None, ack_p90=percentile(acks, 0.9),
        resolved=len(done),
        resolve_median=statistics.median(done) if done else None,
        resolve_p90=percentile(done, 0.9),
        ack_clock_met=sum(n for (a, _), n in clocks.items() if a == "met"),
        ack_clock_missed=sum(n for (a, _), n in clocks.items() if a == "missed"),
        respond_clock_met=sum(n for (_, r), n in clocks.items() if r == "met"),
        respond_clock_missed=sum(n for (_, r), n in clocks.items() if r == "missed"))


# ---- the statistics ---------------------------------------------------------------------
def compute(store: Store, period: Period, *, config: Config, now: datetime) -> Stats:
    """Every figure of the period, from the store (and, for what was configured, the
    config): see :class:`Stats`."""
    month_spans = months(period)
    items_by_month = [Count(m, store.count_items_between(a, b)) for m, a, b in month_spans]
    per_feed = store.items_per_feed(period.since, period.until)
    incidents = sorted(store.list_incidents(since=period.since, until=period.until),
                       key=lambda i: (i.first_seen or period.since, i.id))
    ids = [i.id for i in incidents]

    by_month: dict[str, Counter[str]] = {m: Counter() for m, _, _ in month_spans}
    for inc in incidents:
        seen = (inc.first_seen or period.since).astimezone(zone())
        key = f"{seen.year:04d}-{seen.month:02d}"
        by_month.setdefault(key, Counter())[inc.level] += 1
    by_level = Counter(i.level for i in incidents)
    outcomes = Counter(i.outcome or "open" if i.status == "resolved" else "open"
                       for i in incidents)
    resolved = [i for i in incidents if i.status == "resolved"]

    rule_total: Counter[str] = Counter()
    rule_fp: Counter[str] = Counter()
    matched: set[str] = set()
    for inc in incidents:
        matched.update(inc.rules)
        if inc.status == "resolved":
            for rule in set(inc.rules):
                rule_total[rule] += 1
                if inc.outcome == "false_positive":
                    rule_fp[rule] += 1
    names = store.rule_names(matched)
    rules = sorted((RulePrecision(rule, names.get(rule), rule_total[rule], rule_fp[rule],
                                  1 - rule_fp[rule] / rule_total[rule] if rule_total[rule]
                                  else None) for rule in matched),
                   key=lambda r: (-r.false_positives, r.precision if r.precision is not None
                                  else 2.0, -r.incidents, r.rule))

    feeds = _feeds(store, period, config=config, now=now, items=per_feed)
    deliveries = store.delivery_counts(period.since, period.until)
    staff: dict[str, list[int]] = {}
    for inc in incidents:
        if inc.acknowledged_by:
            staff.setdefault(inc.acknowledged_by, [0, 0])[0] += 1
        if inc.status == "resolved" and inc.resolved_by:
            staff.setdefault(inc.resolved_by, [0, 0])[1] += 1
    notes = store.last_step_notes(ids, "resolved")
    typical = sorted(incidents, key=lambda i: (-level_rank(i.level), -i.sources, -i.items,
                                               i.first_seen or period.since, i.id))[:TYPICAL]
    negative = _negative(store, period, incidents, [m for m, _, _ in month_spans])
    return Stats(
        period=period, generated_at=now,
        items_total=sum(c.count for c in items_by_month),
        items_by_month=items_by_month,
        items_by_feed=[Count(f, n) for f, n in sorted(per_feed.items(),
                                                        key=lambda kv: (-kv[1], kv[0]))],
        feeds_configured=sum(1 for f in config.feeds if f.enabled),
        # people, not group chats: an entry reached only through robots is a group
        staff_named=[s.name for s in config.staff if s.email or s.phone or s.webhook],
        incidents_total=len(incidents),
        incidents_serious=sum(1 for i in incidents if level_rank(i.level) >= level_rank(SERIOUS)),
        incidents_by_month=[MonthLevels(m, {lv: c[lv] for lv in REPORT_LEVELS}, sum(c.values()))
                            for m, c in by_month.items()],
        incidents_by_level={lv: by_level[lv] for lv in REPORT_LEVELS},
        incidents_by_category=[Count(c, n) for c, n in sorted(
            Counter(i.category for i in incidents).items(), key=lambda kv: (-kv[1], kv[0]))],
        incidents_by_outcome={k: outcomes[k] for k in [*OUTCOMES, "open"] if outcomes[k]},
        incidents_resolved=len(resolved),
        resolved_in_time=sum(1 for i in resolved if i.respond_clock == "met"),
        timing=[_timing(lv, g) for lv in REPORT_LEVELS
                if (g := [i for i in incidents if i.level == lv])],
        escalations=len(store.incidents_with_step(ids, "escalated")),
        alerts_sent=deliveries.get("sent", 0) + deliveries.get("digested", 0),
        alerts_failed=deliveries.get("failed", 0),
        rules=rules,
        feeds=feeds,
        dead_feeds=[f.name for f in feeds if f.dead],
        rule_changes=[RuleChange(r["loaded_at"], r["version"], r["actor"], r["rules"],
                                 r["changed"], r["initial"])
                      for r in store.ruleset_changes(period.since, period.until)],
        staff=[StaffWork(n, a, r) for n, (a, r) in sorted(
            staff.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))],
        typical=[Typical(i.id, i.title, i.category, i.level, i.first_seen or period.since,
                         i.sources, i.items, i.status, i.outcome if i.status == "resolved"
                         else None, notes.get(i.id) if i.status == "resolved" else None,
                         i.acknowledged_at, i.resolved_at) for i in typical],
        missed_clocks=[i.id for i in incidents
                       if "missed" in (i.ack_clock, i.respond_clock)],
        **negative,
    )


def _month_of(when: datetime) -> str:
    local = when.astimezone(zone())
    return f"{local.year:04d}-{local.month:02d}"


def _negative(store: Store, period: Period, incidents: list[Incident],
              month_keys: list[str]) -> dict[str, Any]:
    """The 负面舆情 figures of :class:`Stats` (its ``negative_*`` and ``items_toned``)."""
    tones = incident_tones(store, [i.id for i in incidents])
    bad = [i for i in incidents if tones[i.id].negative]
    toned = store.toned_items_between(period.since, period.until)
    bad_items = [i for i in toned if i.effective_tone == NEGATIVE]
    cats = store.item_categories([i.id for i in bad_items])

    inc_month = Counter(_month_of(i.first_seen or period.since) for i in bad)
    item_month = Counter(_month_of(i.when or period.since) for i in bad_items)
    inc_cat = Counter(i.category for i in bad)
    item_cat = Counter(c for i in bad_items for c in cats.get(i.id, ()))
    categories = sorted(set(inc_cat) | set(item_cat),
                        key=lambda c: (-inc_cat[c], -item_cat[c], c))
    return {
        "items_toned": len(toned), "negative_items": len(bad_items),
        "negative_incidents": len(bad),
        "negative_by_month": [NegativeCount(m, inc_month[m], item_month[m])
                              for m in month_keys],
        "negative_by_category": [NegativeCount(c, inc_cat[c], item_cat[c])
                                 for c in categories],
        "negative_items_unmatched": sum(1 for i in bad_items if i.id not in cats),
    }


def _feeds(store: Store, period: Period, *, config: Config, now: datetime,
           items: dict[str, int]) -> list[FeedAvailability]:
    first = period.since.astimezone(zone()).date()
    last = (min(period.until, now) - timedelta(microseconds=1)).astimezone(zone()).date()
    counts = store.fetch_counts(first, last)
    rows = store.feed_rows()
    current = period.since <= now < period.until + timedelta(days=1)
    names = [f.name for f in config.feeds if f.enabled]
    names += sorted(n for n in counts if n not in names)
    out = []
    for name in names:
        ok, failed = counts.get(name, (0, 0))
        row: dict[str, Any] = rows.get(name) or {}
        failing_now = bool(current and row.get("ok") == 0 and
                           (row.get("consecutive_failures") or 0)
                           >= config.fetch.failure_alert_after)
        out.append(FeedAvailability(
            name=name, fetches=ok + failed, ok=ok,
            share=ok / (ok + failed) if ok + failed else None,
            items=items.get(name, 0), last_success_at=row.get("last_success_at"),
            dead=failing_now or (ok == 0 and failed > 0)))
    return out
