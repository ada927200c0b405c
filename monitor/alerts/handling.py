"""Handling steps as staff take them (CLI, later the console): the incident's step
(``monitor.incidents.lifecycle``) and what it means for its messages, in one
transaction: acknowledging or resolving cancels every message still queued about it;
raising the level by hand is announced like any rise."""

from __future__ import annotations

from datetime import datetime

from ..config import Config
from ..incidents import lifecycle
from ..models import Incident
from ..store import Store
from .plan import Planner


def acknowledge(config: Config, store: Store, incident_id: int, *, by: str,
                note: str | None, now: datetime) -> tuple[Incident, int]:
    with store.tx():
        inc = lifecycle.acknowledge(store, incident_id, by=by, note=note, now=now)
        cancelled = store.cancel_deliveries(incident_id, note=f"{by} 已认领")
    return inc, cancelled


def resolve(config: Config, store: Store, incident_id: int, *, by: str, note: str,
            outcome: str, now: datetime) -> tuple[Incident, int]:
    with store.tx():
        inc = lifecycle.resolve(store, incident_id, by=by, note=note, outcome=outcome, now=now)
        cancelled = store.cancel_deliveries(incident_id, note=f"{by} 已办结")
    return inc, cancelled


def reopen(config: Config, store: Store, incident_id: int, *, by: str, note: str | None,
           now: datetime) -> Incident:
    return lifecycle.reopen(store, incident_id, by=by, note=note, now=now)


def set_level(config: Config, store: Store, incident_id: int, level: str, *, by: str,
              note: str, now: datetime) -> tuple[Incident, int]:
    with store.tx():
        inc, event = lifecycle.set_level(store, incident_id, level, by=by, note=note, now=now,
                                         settings=config.alerts)
        queued = Planner(config, store).plan([event], now) if event else 0
    return inc, queued
