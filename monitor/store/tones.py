"""Item tones: the model's label stored at scoring time, and the staff's corrections
(append-only, with who, when and the text corrected), which win and train the next model."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..errors import NotFoundError
from ..models import TONE_NAMES, TONES, tone_text
from .db import iso, parse_iso, utcnow


class _Tone(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def negative(self) -> float: ...
    @property
    def spans(self) -> tuple[tuple[int, int], ...]: ...


@dataclass(frozen=True)
class ToneCorrection:
    id: int
    item_id: int
    tone: str
    previous: str | None
    text: str
    actor: str
    at: datetime


class TonesMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]
    log_event: Callable[..., Any]

    def save_tone(self, item_id: int, tone: _Tone, *, model: str) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE items SET tone = ?, tone_negative = ?, tone_spans = ?, tone_model = ? "
                "WHERE id = ?",
                [tone.label, round(float(tone.negative), 4),
                 json.dumps([list(s) for s in tone.spans]), model, item_id])

    def correct_tone(self, item_id: int, tone: str, *, actor: str,
                     now: datetime | None = None) -> ToneCorrection:
        """Record a staff member's tone for an item; it wins over the model's from now on."""
        if tone not in TONES:
            raise ValueError(tone)
        now = now or utcnow()
        with self.tx():
            row = self.db.execute(
                "SELECT title, body, tone, tone_corrected FROM items WHERE id = ? AND deleted = 0",
                [item_id]).fetchone()
            if row is None:
                raise NotFoundError(f"没有编号为 {item_id} 的条目")
            title, body, model_tone, corrected = row
            previous = corrected or model_tone
            text = tone_text(title or "", body or "")
            cur = self.db.execute(
                "INSERT INTO tone_corrections (item_id, tone, previous, text, actor, at) "
                "VALUES (?, ?, ?, ?, ?, ?)", [item_id, tone, previous, text, actor, iso(now)])
            self.db.execute("UPDATE items SET tone_corrected = ? WHERE id = ?", [tone, item_id])
            self.log_event("item.tone_corrected", str(item_id), actor=actor, now=now,
                           data={"tone": tone, "previous": previous,
                                 "words": f"{TONE_NAMES.get(previous or '', '未判定')} → "
                                          f"{TONE_NAMES[tone]}"})
        return ToneCorrection(int(cur.lastrowid), item_id, tone, previous, text, actor, now)

    def tone_corrections(self, *, item_id: int | None = None,
                         latest_only: bool = False) -> list[ToneCorrection]:
        """Corrections in order; ``latest_only`` keeps each item's last (for training)."""
        sql = "SELECT * FROM tone_corrections"
        params: list[Any] = []
        if item_id is not None:
            sql += " WHERE item_id = ?"
            params.append(item_id)
        with self.lock:
            rows = list(self.db.query(sql + " ORDER BY id", params))
        out = [ToneCorrection(r["id"], r["item_id"], r["tone"], r["previous"], r["text"],
                              r["actor"], _when(r["at"])) for r in rows]
        if latest_only:
            last = {c.item_id: c for c in out}
            out = sorted(last.values(), key=lambda c: c.id)
        return out


def _when(value: str) -> datetime:
    parsed = parse_iso(value)
    assert parsed is not None
    return parsed
