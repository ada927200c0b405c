"""The dashboard (``/``): open incidents by level, clocks about to be missed, today's
items (with their tone), feed health. Every figure is one indexed query (or a read of the
small feeds table), so the page stays fast on a database of millions of items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...config import Config
from ...durations import describe_duration
from ...models import FETCH_ERROR_NAMES, LEVELS, FeedState, Incident
from ...redact import redact_text, redact_url
from ...timefmt import zone
from ..context import WebContext, blocking, context
from ..render import page
from ..security import require
from . import tone_views

SOON = timedelta(hours=2)          # a clock due within this is "about to be missed"
UNRESOLVED_SHOWN = 30              # the dashboard's list; the rest are on /incidents
LATEST_ITEMS = 5
ALERT_LEVELS = [lv for lv in LEVELS if lv != "info"]    # blue or above



@dataclass
class DueClock:
    """A running acknowledgement or response clock due soon (or already past)."""

    incident: Incident
    clock: str            # "ack" or "respond"
    due: datetime
    overdue: bool
    left: str             # how long until due, or since it passed, in words


def beijing_day(now: datetime) -> tuple[datetime, datetime]:
    """The start and end of ``now``'s day in the display zone (Beijing time)."""
    local = now.astimezone(zone())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=3)).replace(hour=0)   # a DST-safe next midnight
    return start, end


def due_clocks(incidents: list[Incident], now: datetime) -> list[DueClock]:
    """The clocks still running (nobody acknowledged, or nobody resolved, yet) that are
    due before ``now + SOON``, the soonest first."""
    out: list[DueClock] = []
    for inc in incidents:
        for clock, due, settled, done in (
                ("ack", inc.ack_due_at, inc.ack_clock, inc.acknowledged_at),
                ("respond", inc.respond_due_at, inc.respond_clock, inc.resolved_at)):
            if due is None or settled is not None or done is not None or due > now + SOON:
                continue
            overdue = due <= now
            out.append(DueClock(inc, clock, due, overdue,
                                describe_duration(abs((due - now).total_seconds()))))
    return sorted(out, key=lambda c: (c.due, c.incident.id))


def feed_health(config: Config, states: list[FeedState]) -> dict[str, Any]:
    """The configured feeds as ok / failing / disabled / not yet fetched, and the failing
    ones with their error kind, time and error (URLs and errors redacted)."""
    by_name = {s.name: s for s in states}
    counts = {"ok": 0, "failing": 0, "disabled": 0, "pending": 0}
    failing: list[dict[str, Any]] = []
    for feed in config.feeds:
        state = by_name.get(feed.name)
        if not feed.enabled:
            counts["disabled"] += 1
        elif state is None or state.ok is None:
            counts["pending"] += 1
        elif state.ok:
            counts["ok"] += 1
        else:
            counts["failing"] += 1
            kind = state.last_error_kind or ""
            failing.append({
                "name": feed.name, "url": redact_url(str(feed.url)),
                "kind": FETCH_ERROR_NAMES.get(kind, kind or "—"),
                "at": state.last_error_at, "failures": state.consecutive_failures,
                "error": redact_text(state.last_error or ""),
                "last_success_at": state.last_success_at})
    failing.sort(key=lambda f: (-f["failures"], f["name"]))
    return {"counts": counts, "failing": failing}


def figures(ctx: WebContext) -> dict[str, Any]:
    """Everything the dashboard shows, at the context's clock."""
    store, now = ctx.store, ctx.now()
    counts = store.unresolved_counts()
    levels: list[dict[str, Any]] = []
    for lv in reversed(LEVELS):
        opened, acked = counts.get(("open", lv), 0), counts.get(("acknowledged", lv), 0)
        if lv != "info" or opened + acked:       # info incidents are rare: shown if any
            levels.append({"level": lv, "open": opened, "acknowledged": acked})
    start, end = beijing_day(now)
    latest = store.recent_scored_items(ALERT_LEVELS, since=start, until=end, limit=LATEST_ITEMS)
    return {
        "levels": levels,
        "unresolved_total": sum(counts.values()),
        "open_total": sum(n for (status, _), n in counts.items() if status == "open"),
        "unresolved": store.unresolved_incidents(limit=UNRESOLVED_SHOWN),
        "clocks": due_clocks(store.running_clocks(), now),
        "today": start,
        "today_items": store.count_items_between(start, end),
        "latest": latest,
        "tones": tone_views(store, latest),
        "feeds": feed_health(ctx.config, store.feed_states()),
    }


@require("read")
async def dashboard(request: Request) -> Response:
    data = await blocking(figures, context(request))
    return page(request, "dashboard.html", title="总览", **data)


routes = [Route("/", dashboard, methods=["GET"])]
