"""The tone of an incident's items as people read it, and the one definition of 负面舆情.

Every item's tone is :attr:`~monitor.models.Item.effective_tone` (the staff's correction
wins over the model's); its phrases are :meth:`~monitor.models.Item.tone_phrases`. An
incident is 负面舆情 when any of its (undeleted) items' effective tone is negative:
:func:`is_negative_incident` is that rule, and everything that shows or counts negative
incidents (``incidents show``, alerts, ``yuqing stats``, the report) goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..models import TONE_NAMES, TONES, Item, distinct_phrases

if TYPE_CHECKING:
    from ..store import Store

NEGATIVE = "negative"
UNKNOWN = "未判定"           # an item the model has not labelled (yet)
MAX_PHRASES = 3              # phrases quoted in one line (alerts, summaries)


@dataclass(frozen=True)
class ItemTone:
    """One item's tone as everything shows it."""

    label: str | None                          # effective: negative, neutral, positive
    negative: float | None                     # the model's calibrated probability
    phrases: list[tuple[int, int, str]] = field(default_factory=list)  # in tone_text()
    corrected: bool = False                    # staff corrected it
    model_label: str | None = None             # what the model said

    @property
    def name(self) -> str:
        """负面、中性、正面, or 未判定."""
        return TONE_NAMES.get(self.label or "", UNKNOWN)

    @property
    def explained(self) -> bool:
        """Whether the phrases explain the tone shown: they are the model's, so not when
        staff corrected it to another tone."""
        return bool(self.phrases) and self.label == self.model_label

    def words(self) -> list[str]:
        """The phrases' text, each once, in order (for a line of prose)."""
        return distinct_phrases(text for _, _, text in self.phrases)

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name,
                "negative": None if self.negative is None else round(self.negative, 4),
                "phrases": [{"start": a, "end": b, "text": t} for a, b, t in self.phrases],
                "corrected": self.corrected, "model_label": self.model_label}


def item_tone(item: Item | Mapping[str, Any]) -> ItemTone:
    """The tone of a stored item, or of a row holding its title, body and tone columns
    (``incident_item_rows``)."""
    if not isinstance(item, Item):
        item = Item(id=int(item["id"]), feed=str(item.get("feed") or ""),
                    title=item.get("title") or "", body=item.get("body") or "",
                    tone=item.get("tone"), tone_negative=item.get("tone_negative"),
                    tone_spans=item.get("tone_spans"), tone_corrected=item.get("tone_corrected"),
                    deleted=bool(item.get("deleted")))
    try:
        phrases = item.tone_phrases()
    except (ValueError, TypeError):       # a damaged spans column: the tone still shows
        phrases = []
    return ItemTone(label=item.effective_tone, negative=item.tone_negative, phrases=phrases,
                    corrected=item.tone_corrected is not None, model_label=item.tone)


def is_negative_incident(tones: Iterable[str | None]) -> bool:
    """THE definition of 负面舆情: an incident is negative when any of its items' effective
    tone is negative (deleted items left out by the caller)."""
    return any(t == NEGATIVE for t in tones)


@dataclass(frozen=True)
class IncidentTone:
    """An incident's tone: how many of its items have each tone, and the phrases of its
    negative items."""

    counts: dict[str, int]                      # negative/neutral/positive + "unknown"
    negative: bool                              # 负面舆情 (is_negative_incident)
    words: list[str] = field(default_factory=list)   # the most negative items' phrases
    top_negative: float | None = None           # the highest negative probability

    @property
    def name(self) -> str:
        """负面舆情, or the items' prevailing tone when none is negative."""
        if self.negative:
            return "负面舆情"
        known = {t: n for t, n in self.counts.items() if t in TONES and n}
        if not known:
            return UNKNOWN
        return TONE_NAMES[max(known, key=lambda t: (known[t], -TONES.index(t)))]

    def summary(self) -> str:
        """e.g. 负面 3 条、中性 1 条 (未判定 ones last)."""
        parts = [f"{TONE_NAMES[t]} {self.counts[t]} 条" for t in TONES if self.counts.get(t)]
        if self.counts.get("unknown"):
            parts.append(f"{UNKNOWN} {self.counts['unknown']} 条")
        return "、".join(parts) or "尚无条目"

    def as_json(self) -> dict[str, Any]:
        return {"negative": self.negative, "name": self.name, "summary": self.summary(),
                "counts": dict(self.counts), "phrases": list(self.words),
                "top_negative": None if self.top_negative is None
                else round(self.top_negative, 4)}


def incident_tone(tones: Iterable[ItemTone]) -> IncidentTone:
    """The incident-level tone of its items' tones."""
    tones = list(tones)
    counts = {t: 0 for t in TONES}
    counts["unknown"] = 0
    for t in tones:
        counts[t.label if t.label in TONES else "unknown"] += 1
    negative = is_negative_incident(t.label for t in tones)
    words: list[str] = []
    ranked = sorted((t for t in tones if t.label == NEGATIVE),
                    key=lambda t: -(t.negative if t.negative is not None else 0.0))
    for t in ranked:
        if t.explained:
            words += t.words()
    words = distinct_phrases(words)
    probs = [t.negative for t in tones if t.negative is not None]
    return IncidentTone(counts, negative, words[:MAX_PHRASES], max(probs) if probs else None)


def rows_tone(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[int, ItemTone], IncidentTone]:
    """Each undeleted row's tone by item id, and the incident's tone of them."""
    each = {int(r["id"]): item_tone(r) for r in rows if not r.get("deleted")}
    return each, incident_tone(each.values())


def incident_tones(store: Store, ids: Iterable[int]) -> dict[int, IncidentTone]:
    """The tone of each incident (every id present), read from the store at once."""
    return {iid: incident_tone(item_tone(i) for i in items)
            for iid, items in store.incident_item_tones(ids).items()}


def tone_line(t: ItemTone) -> str:
    """倾向：负面（负面概率 0.93），依据：“太失望了”“没人管” - what alerts say of an item
    (phrases are the item's own text: the caller escapes them for its channel)."""
    if t.label is None:
        return f"倾向：{UNKNOWN}"
    bits = []
    if t.negative is not None:
        bits.append(f"负面概率 {t.negative:.2f}")
    if t.corrected:
        bits.append("人工更正" if t.label == t.model_label or t.model_label is None
                    else f"人工更正，模型判为{TONE_NAMES.get(t.model_label, t.model_label)}")
    line = f"倾向：{t.name}" + (f"（{'，'.join(bits)}）" if bits else "")
    words = t.words()[:MAX_PHRASES] if t.explained else []
    if words:
        line += "，依据：" + "".join(f"“{w}”" for w in words)
    return line



def incident_line(t: IncidentTone) -> str:
    """倾向：负面舆情（负面 3 条、中性 1 条），依据：“…” - what digests say of an incident."""
    line = f"倾向：{t.name}（{t.summary()}）"
    if t.words:
        line += "，依据：" + "".join(f"“{w}”" for w in t.words)
    return line
