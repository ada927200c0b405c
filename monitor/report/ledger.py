"""The 舆情台账: incidents and items as spreadsheet rows under Chinese column headers.

``incident_ledger`` and ``item_ledger`` gather what each row needs in a few batched
queries (sources, resolve notes, matched rules, the incident of each item); the cells are
plain values (text, numbers, aware datetimes, None for empty) that ``report.sheets``
writes as csv or xlsx.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import (
    CLOCK_NAMES,
    INCIDENT_STATUS_NAMES,
    LEVEL_NAMES,
    OUTCOMES,
    Incident,
    Item,
    clock_state,
)
from ..store import Store


@dataclass(frozen=True)
class Column:
    """One column: its header, what its cells hold (``text``, ``number``, ``time`` or
    ``link``) and its width in xlsx (in characters; a Han character counts two)."""

    header: str
    kind: str = "text"
    width: int = 12


@dataclass
class Ledger:
    """A sheet: its name, columns and rows (one value per column)."""

    name: str
    columns: list[Column]
    rows: list[list[Any]]


INCIDENT_COLUMNS = [
    Column("编号", "number", 8), Column("标题", "text", 48), Column("类别", "text", 12),
    Column("级别", "text", 14), Column("状态", "text", 8), Column("首次发现", "time", 17),
    Column("最近发现", "time", 17), Column("信息条数", "number", 9),
    Column("来源数", "number", 7), Column("来源", "text", 30), Column("认领人", "text", 10),
    Column("认领时间", "time", 17), Column("处置结果", "text", 11),
    Column("处置说明", "text", 40), Column("办结时间", "time", 17),
    Column("认领时限", "text", 9), Column("处置时限", "text", 9),
]
ITEM_COLUMNS = [
    Column("编号", "number", 9), Column("标题", "text", 48), Column("来源", "text", 16),
    Column("链接", "link", 40), Column("发布时间", "time", 17), Column("抓取时间", "time", 17),
    Column("级别", "text", 14), Column("得分", "number", 6), Column("命中规则", "text", 24),
    Column("所属事件", "number", 9),
]


def _name(names: dict[str, str], code: str | None) -> str | None:
    return None if code is None else names.get(code, code)


def incident_ledger(store: Store, incidents: Sequence[Incident], *, at: datetime) -> Ledger:
    """The incidents' rows; clocks still running are judged as they stand at ``at``."""
    ids = [inc.id for inc in incidents]
    sources = store.incidents_sources(ids)
    notes = store.resolve_notes(ids)
    rows = []
    for inc in incidents:
        resolved = inc.status == "resolved"
        ack = clock_state(inc.ack_due_at, inc.ack_clock, inc.acknowledged_at, at)
        respond = clock_state(inc.respond_due_at, inc.respond_clock, inc.resolved_at, at)
        rows.append([
            inc.id, inc.title, inc.category, _name(LEVEL_NAMES, inc.level),
            _name(INCIDENT_STATUS_NAMES, inc.status), inc.first_seen, inc.last_seen,
            inc.items, inc.sources, "、".join(sources.get(inc.id, [])), inc.acknowledged_by,
            inc.acknowledged_at, _name(OUTCOMES, inc.outcome),
            notes.get(inc.id) if resolved else None, inc.resolved_at,
            _name(CLOCK_NAMES, ack), _name(CLOCK_NAMES, respond)])
    return Ledger("舆情事件台账", INCIDENT_COLUMNS, rows)


def item_ledger(store: Store, items: Sequence[Item]) -> Ledger:
    """The items' rows: what the rules made of each, and the incident it joined."""
    ids = [item.id for item in items]
    matches = store.matches_of(ids)
    incident_of = store.incidents_of_items(ids)
    rows = []
    for item in items:
        rules = "、".join(dict.fromkeys(m.name or m.rule for m in matches.get(item.id, [])))
        rows.append([
            item.id, item.title, item.feed, item.link, item.published_at, item.fetched_at,
            _name(LEVEL_NAMES, item.level), item.score, rules or None,
            incident_of.get(item.id)])
    return Ledger("信息台账", ITEM_COLUMNS, rows)
