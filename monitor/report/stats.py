"""Statistics of a period, computed from the store: the one source of every figure that the
report, ``yuqing stats`` and (later) the console show, so prose, tables and charts agree.

Periods are half-open ``[since, until)`` in UTC; months and days are Beijing months and days.
Items count by their publication date (their fetch time when they have none); incidents by
``first_seen``. Durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
    staff_named: list[str]                   # the [[staff]] who receive alerts
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
