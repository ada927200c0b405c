"""What the daemon's alerts tick (and ``alerts flush``) queues before sending: response
clocks that ran out, escalations and reminders, digests and rate-cap summaries that are
due, and the admins' problem notices. Runs in the store's worker thread."""

from __future__ import annotations

import logging
from datetime import datetime

from ..incidents.lifecycle import settle_clocks
from . import admin
from .digest import queue_digests, queue_summaries
from .escalation import queue_escalations
from .plan import Planner

log = logging.getLogger(__name__)


def queue_due(planner: Planner, now: datetime, *, rules_problems: list[str] | None = None
              ) -> int:
    """Queue everything that is due at ``now``; returns the rows written."""
    settle_clocks(planner.store, now)
    written = queue_escalations(planner, now)
    written += queue_digests(planner, now)
    written += queue_summaries(planner, now)
    admin.check_feeds(planner, now)
    if rules_problems is not None:
        admin.check_rules(planner, rules_problems, now)
    return written
