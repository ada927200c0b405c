"""Handling steps as staff take them (CLI and console): the incident's step
(``monitor.incidents.lifecycle``) and what it means for its messages, in one
transaction: acknowledging or resolving cancels every message still queued about it;
raising the level by hand is announced like any rise; silencing one incident holds back
its new alerts until the silence ends, and is logged on the incident."""

from __future__ import annotations

from datetime import datetime

from ..config import Config
from ..errors import HandlingError
from ..incidents import lifecycle
from ..models import Incident
from ..store import Store
from ..timefmt import for_people
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


def silence_incident(store: Store, incident_id: int, *, until: datetime, note: str,
                     by: str | None, now: datetime) -> int:
    """Silence one incident's alerts until ``until`` (a note is required); returns the
    silence's id. ``NotFoundError`` when there is no such incident."""
    if not note.strip():
        raise HandlingError("静默必须写明理由")
    if until <= now:
        raise HandlingError(f"静默截止时间 {for_people(until)} 已经过去：请写一个将来的时间")
    with store.tx():
        store.get_incident(incident_id)
        silence_id = store.add_silence("incident", str(incident_id), until=until, note=note,
                                       actor=by, now=now)
        store.log_step(incident_id, "silenced", now=now, actor=by,
                       note=f"静默至 {for_people(until)}：{note}")
    return silence_id
