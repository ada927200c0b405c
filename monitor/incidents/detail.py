"""One incident as people read it, gathered once for ``yuqing incidents show`` and the
console's incident page: its items (each with its tone and the phrases behind it), the
incident's tone (负面舆情 as :mod:`monitor.incidents.tone` defines it), the rules they
matched (with the spans, for highlighting), the sources over time, its alerts, its
handling log and its clocks.

:func:`gather` reads the store; :func:`as_json` is the shape ``incidents show --json``
prints; :func:`item_texts` and :func:`source_times` are what the console adds (each
item's text with its hits, and when each source first carried the story).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import (
    LEVELS,
    Delivery,
    Incident,
    IncidentStep,
    StoredMatch,
    clock_state,
    incident_json,
)
from ..redact import redact_error
from ..store import Store
from ..timefmt import for_json
from .tone import IncidentTone, ItemTone, rows_tone

# the handling log's actions, as people read them
ACTION_NAMES = {
    "opened": "新建事件",
    "joined": "条目并入",
    "raised": "级别上升",
    "lowered": "级别下调",
    "acknowledged": "认领",
    "resolved": "办结",
    "reopened": "重新打开",
    "escalated": "升级通知",
    "clock_missed": "超过时限",
    "silenced": "静默",
}
# how an item joined its incident (``incident_items.how``)
HOW_NAMES = {
    "opened": "首条",
    "link": "链接相同",
    "similar": "内容相似",
    "revision": "同一条目的修改",
}


@dataclass
class Gathered:
    """What the store holds about one incident."""

    incident: Incident
    rows: list[dict[str, Any]]                 # its items, oldest first (incident_item_rows)
    matches: dict[int, list[StoredMatch]]      # item id -> the rules it matched
    deliveries: list[Delivery]                 # its alerts, newest first
    log: list[IncidentStep]
    feeds: list[str]                           # its sources in the order they joined
    tones: dict[int, ItemTone]                 # item id -> its tone (undeleted items)
    tone: IncidentTone                         # the incident's


def gather(store: Store, incident_id: int) -> Gathered:
    """Everything about the incident (``NotFoundError`` when there is none)."""
    inc = store.get_incident(incident_id)
    rows = store.incident_item_rows(incident_id)
    tones, tone = rows_tone(rows)
    return Gathered(incident=inc, rows=rows, matches=store.matches_of([r["id"] for r in rows]),
                    deliveries=store.list_deliveries(incident_id=incident_id),
                    log=store.incident_log(incident_id),
                    feeds=store.incident_sources(incident_id), tones=tones, tone=tone)


def clocks(inc: Incident, at: datetime) -> dict[str, Any]:
    """The acknowledgement and response clocks: when due, and met / missed / running."""
    return {"ack_due_at": for_json(inc.ack_due_at),
            "ack_clock": clock_state(inc.ack_due_at, inc.ack_clock, inc.acknowledged_at, at),
            "respond_due_at": for_json(inc.respond_due_at),
            "respond_clock": clock_state(inc.respond_due_at, inc.respond_clock,
                                          inc.resolved_at, at)}


def _iso(value: Any) -> str | None:
    """A time the store returned as text (raw queries) or as a datetime, for JSON."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return for_json(value)
    return for_json(datetime.fromisoformat(str(value)))


def _rule_matches(g: Gathered) -> list[dict[str, Any]]:
    """One entry per rule: the words it hit and the items it hit them in, highest level
    first."""
    by_rule: dict[str, dict[str, Any]] = {}
    for r in g.rows:
        for m in g.matches.get(r["id"], []):
            doc = by_rule.setdefault(m.rule, {"rule": m.rule, "name": m.name,
                                              "category": m.category, "level": m.level,
                                              "words": [], "items": []})
            for span in m.spans:
                word = span.get("text")
                if word and word not in doc["words"]:
                    doc["words"].append(word)
            if r["id"] not in doc["items"]:
                doc["items"].append(r["id"])
    return sorted(by_rule.values(), key=lambda m: (-LEVELS.index(m["level"])
                                                    if m["level"] in LEVELS else 0, m["rule"]))


def as_json(g: Gathered, at: datetime) -> dict[str, Any]:
    """Everything ``incidents show --json`` prints: the list shape, then the incident's
    items (``entries``, each with its ``tone``), the incident's ``tone``, rule matches,
    alerts, handling log and response clocks."""
    inc = g.incident
    entries = [{"id": r["id"], "feed": r["feed"], "title": r["title"], "link": r["link"],
                "published_at": _iso(r["published_at"]), "fetched_at": _iso(r["fetched_at"]),
                "seen_at": _iso(r["seen_at"]), "level": r["level"], "score": r["score"],
                "how": r["how"], "similarity": r["similarity"],
                "tone": _tone_json(g, r["id"])} for r in g.rows]
    alerts = [{"id": d.id, "kind": d.kind, "recipient": d.recipient, "channel": d.channel,
               "level": d.level, "status": d.status, "attempts": d.attempts,
               "last_error": redact_error(d.last_error),
               "created_at": for_json(d.created_at), "sent_at": for_json(d.sent_at),
               "note": d.note}
              for d in reversed(g.deliveries)]
    log = [{"at": _iso(s.at), "action": s.action, "actor": s.actor, "note": s.note,
            "level": s.level, "item_id": s.item_id} for s in g.log]
    return {**incident_json(inc), "link": inc.link, "rules": inc.rules,
            "categories": inc.categories, "feeds": g.feeds,
            "opened_at": for_json(inc.opened_at), "level_reason": inc.level_reason,
            "outcome": inc.outcome, "resolved_by": inc.resolved_by,
            "clocks": clocks(inc, at), "tone": g.tone.as_json(), "entries": entries, "matches": _rule_matches(g),
            "alerts": alerts, "log": log}


def _tone_json(g: Gathered, item_id: int) -> dict[str, Any] | None:
    t = g.tones.get(item_id)
    return None if t is None else t.as_json()


def incident_detail(store: Store, incident_id: int, at: datetime) -> dict[str, Any]:
    """``incidents show --json`` of one incident."""
    return as_json(gather(store, incident_id), at)


def item_texts(g: Gathered) -> dict[int, dict[str, Any]]:
    """Per item: its title and body as published, the ``[start, end)`` spans the rules hit
    in each, the rules that hit (``rules``), and its tone (``tone``: an
    :class:`~monitor.incidents.tone.ItemTone`, None for a deleted item) with the tone's
    phrases as spans of the title and of the body (``tone_title_spans``,
    ``tone_body_spans``)."""
    out: dict[int, dict[str, Any]] = {}
    for r in g.rows:
        spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
        rules: list[str] = []
        for m in g.matches.get(r["id"], []):
            rules.append(m.rule)
            for s in m.spans:
                if s.get("field") in spans:
                    spans[s["field"]].append((int(s["start"]), int(s["end"])))
        title = r["title"] or ""
        tone = g.tones.get(r["id"])
        tone_title, tone_body = split_tone_spans(tone, len(title))
        out[r["id"]] = {"title": title, "body": r["body"] or "",
                        "title_spans": sorted(set(spans["title"])),
                        "body_spans": sorted(set(spans["body"])),
                        "rules": list(dict.fromkeys(rules)), "tone": tone,
                        "tone_title_spans": tone_title, "tone_body_spans": tone_body}
    return out


def split_tone_spans(tone: ItemTone | None, title_length: int
                     ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The tone's phrases (offsets into ``title + "\n" + body``) as spans of the title
    and spans of the body; a phrase across the line break is split in two. Empty when the
    phrases do not explain the tone shown (staff corrected it to another)."""
    title: list[tuple[int, int]] = []
    body: list[tuple[int, int]] = []
    if tone is None or not tone.explained:
        return title, body
    start_body = title_length + 1
    for a, b, _ in tone.phrases:
        if a < title_length:
            title.append((a, min(b, title_length)))
        if b > start_body:
            body.append((max(a, start_body) - start_body, b - start_body))
    return sorted(set(title)), sorted(set(body))


def source_times(g: Gathered) -> list[dict[str, Any]]:
    """Each source (feed) with when it first and last carried the story and how many of
    its items joined, in the order the sources joined."""
    out: dict[str, dict[str, Any]] = {}
    for r in g.rows:
        seen = _when(r["seen_at"])
        doc = out.setdefault(r["feed"], {"feed": r["feed"], "first": seen, "last": seen,
                                         "items": 0})
        doc["items"] += 1
        if seen is not None:
            if doc["first"] is None or seen < doc["first"]:
                doc["first"] = seen
            if doc["last"] is None or seen > doc["last"]:
                doc["last"] = seen
    return sorted(out.values(), key=lambda d: (d["first"] is None, d["first"] or datetime.min))


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
