"""Handling steps: ``open -> acknowledged -> resolved`` (and re-open), a level set by hand,
and the response clocks. Each step records who, when and a note in the handling log.

The alerts stage wraps these (``monitor.alerts.handling``) to stop or plan messages.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ..config import AlertsConfig
from ..errors import HandlingError
from ..models import LEVEL_NAMES, LEVELS, OUTCOMES, Incident, IncidentEvent, level_rank
from ..store import Store
from .absorb import Clocks, clocks_for

log = logging.getLogger(__name__)


def outcome_code(value: str) -> str:
    """An outcome given as its code or its Chinese name (已回应 ...)."""
    if value in OUTCOMES:
        return value
    for code, name in OUTCOMES.items():
        if value == name:
            return code
    names = "、".join(f"{n}（{c}）" for c, n in OUTCOMES.items())
    raise HandlingError(f"未知的办结结果 {value!r}：可用 {names}")


def _clock(due: datetime | None, at: datetime) -> str | None:
    return None if due is None else ("met" if at <= due else "missed")


def acknowledge(store: Store, incident_id: int, *, by: str, note: str | None,
                now: datetime) -> Incident:
    with store.tx():
        inc = store.get_incident(incident_id)
        if inc.status == "acknowledged":
            raise HandlingError(f"事件 #{incident_id} 已由 {inc.acknowledged_by} 认领")
        if inc.status == "resolved":
            raise HandlingError(f"事件 #{incident_id} 已办结；如需继续处置请先 reopen")
        fields: dict[str, object] = {"status": "acknowledged", "acknowledged_at": now,
                                     "acknowledged_by": by}
        if inc.ack_clock is None and inc.ack_due_at is not None:
            fields["ack_clock"] = _clock(inc.ack_due_at, now)
        store.update_incident(incident_id, fields)
        store.log_step(incident_id, "acknowledged", now=now, actor=by, note=note)
    log.info("舆情事件已认领 incident=%s by=%s", incident_id, by)
    return store.get_incident(incident_id)


def resolve(store: Store, incident_id: int, *, by: str, note: str, outcome: str,
            now: datetime) -> Incident:
    code = outcome_code(outcome)
    if not note.strip():
        raise HandlingError("办结时必须填写处置说明（--note）")
    with store.tx():
        inc = store.get_incident(incident_id)
        if inc.status == "resolved":
            raise HandlingError(f"事件 #{incident_id} 已于此前办结")
        fields: dict[str, object] = {"status": "resolved", "resolved_at": now,
                                     "resolved_by": by, "outcome": code}
        if inc.acknowledged_at is None:   # closing it is acknowledging it too
            fields.update({"acknowledged_at": now, "acknowledged_by": by})
            if inc.ack_clock is None and inc.ack_due_at is not None:
                fields["ack_clock"] = _clock(inc.ack_due_at, now)
        if inc.respond_clock is None and inc.respond_due_at is not None:
            fields["respond_clock"] = _clock(inc.respond_due_at, now)
        store.update_incident(incident_id, fields)
        store.log_step(incident_id, "resolved", now=now, actor=by, note=note,
                       data={"outcome": code})
    log.info("舆情事件已办结 incident=%s by=%s outcome=%s", incident_id, by, code)
    return store.get_incident(incident_id)


def reopen(store: Store, incident_id: int, *, by: str, note: str | None,
           now: datetime) -> Incident:
    with store.tx():
        inc = store.get_incident(incident_id)
        if inc.status != "resolved":
            raise HandlingError(f"事件 #{incident_id} 尚未办结，无需重新打开")
        store.update_incident(incident_id, {
            "status": "open", "resolved_at": None, "resolved_by": None, "outcome": None,
            "acknowledged_at": None, "acknowledged_by": None, "awaiting_since": now})
        store.log_step(incident_id, "reopened", now=now, actor=by, note=note)
    log.info("舆情事件已重新打开 incident=%s by=%s", incident_id, by)
    return store.get_incident(incident_id)


def set_level(store: Store, incident_id: int, level: str, *, by: str, note: str,
              now: datetime, settings: AlertsConfig | None = None
              ) -> tuple[Incident, IncidentEvent | None]:
    """Raise or lower the level by hand (a note is required). A raise is an event its
    recipients hear about; a lowering is only logged."""
    if level not in LEVELS or level == "info":
        raise HandlingError(f"未知的级别 {level!r}：可用 blue、yellow、orange、red")
    if not note.strip():
        raise HandlingError("手动调整级别必须填写理由（--note）")
    with store.tx():
        inc = store.get_incident(incident_id)
        if level == inc.level:
            raise HandlingError(f"事件 #{incident_id} 已是{LEVEL_NAMES[level]}")
        up = level_rank(level) > level_rank(inc.level)
        reason = f"{by} 手动{'调高' if up else '调低'}：{note}"
        fields: dict[str, object] = {"level": level, "level_reason": reason}
        if up and settings is not None:
            current = Clocks(None if inc.ack_clock else inc.ack_due_at,
                             None if inc.respond_clock else inc.respond_due_at)
            clocks = clocks_for(level, now, settings, current=current)
            if inc.ack_clock is None and inc.acknowledged_at is None:
                fields["ack_due_at"] = clocks.ack_due_at
            if inc.respond_clock is None:
                fields["respond_due_at"] = clocks.respond_due_at
        store.update_incident(incident_id, fields)
        store.log_step(incident_id, "raised" if up else "lowered", now=now, actor=by,
                       note=note, level=level, data={"from": inc.level, "to": level})
    log.info("舆情事件级别已手动调整 incident=%s from=%s to=%s by=%s", incident_id, inc.level,
             level, by)
    event = IncidentEvent(incident_id, "raised", level, previous=inc.level, reason=reason,
                          actor=by) if up else None
    return store.get_incident(incident_id), event


def settle_clocks(store: Store, now: datetime) -> list[int]:
    """Record as missed the clocks whose deadline passed with nothing done; returns the
    incidents whose clock was settled now."""
    settled = []
    with store.tx():
        for inc in store.running_clocks():
            fields: dict[str, object] = {}
            if inc.ack_clock is None and inc.ack_due_at is not None \
                    and inc.acknowledged_at is None and now > inc.ack_due_at:
                fields["ack_clock"] = "missed"
            if inc.respond_clock is None and inc.respond_due_at is not None \
                    and inc.resolved_at is None and now > inc.respond_due_at:
                fields["respond_clock"] = "missed"
            if fields:
                store.update_incident(inc.id, fields)
                which = "、".join({"ack_clock": "认领时限", "respond_clock": "响应时限"}[k]
                                 for k in fields)
                store.log_step(inc.id, "clock_missed", now=now, note=f"已超过{which}")
                log.warning("舆情事件超过处置时限 incident=%s clocks=%s", inc.id,
                            ",".join(fields))
                settled.append(inc.id)
    return settled
