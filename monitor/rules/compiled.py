"""Validated, compiled rules: what the loader produces and the matcher consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from monitor.models import TONE_NAMES
from monitor.rules.condition import Node
from monitor.rules.regex import Regex

__all__ = ["CompiledRule", "Example", "Group", "ToneLike"]


class ToneLike(Protocol):
    """An item's tone as rules read it (a ``monitor.tone.Tone`` or a ``ToneSignal``)."""

    @property
    def label(self) -> str: ...
    @property
    def negative(self) -> float: ...


@dataclass(frozen=True)
class Group:
    """One word group of one rule, with its effective modifiers.

    ``words`` are normalized literals (or, for ``|re``, the patterns as written);
    ``field`` is "title", "body" or ``None`` (both).
    """

    name: str
    words: tuple[str, ...]
    field: str | None = None
    word: bool = False
    regex: bool = False
    cased: bool = False
    patterns: tuple[Regex, ...] = ()      # ``|re``: compiled with RE2 (``regex.py``)

    @property
    def label(self) -> str:
        mods = [m for m, on in (("title", self.field == "title"), ("body", self.field == "body"),
                                ("word", self.word), ("re", self.regex), ("cased", self.cased))
                if on]
        return self.name + "".join("|" + m for m in mods)


@dataclass(frozen=True)
class Example:
    """One entry of ``examples``: the text to evaluate and whether the rule must match."""

    title: str
    body: str
    expect: bool
    line: int

    @property
    def text(self) -> str:
        if not self.body or self.body == self.title:
            return self.title
        return f"{self.title} / {self.body}" if self.title else self.body


@dataclass(frozen=True)
class CompiledRule:
    id: str
    name: str
    category: str
    level: str
    weight: int
    file: str
    line: int
    groups: tuple[Group, ...]
    condition: Node                      # every Ref has ``index`` into ``groups``
    condition_text: str | None = None    # as written (None: all groups must match)
    positive: frozenset[int] = frozenset()   # groups not under ``not``: they explain a match
    examples: tuple[Example, ...] = field(default=())
    description: str = ""
    tones: tuple[str, ...] = ()          # ``tone:``: matches only an item of these tones
    min_negative: float | None = None    # ``min_negative:``: and only this negative or more

    @property
    def needs_tone(self) -> bool:
        return bool(self.tones) or self.min_negative is not None

    def tone_refusal(self, tone: ToneLike | None) -> str | None:
        """Why the item's tone keeps this rule from matching (Chinese), or ``None``."""
        if not self.needs_tone:
            return None
        want = "、".join(TONE_NAMES.get(t, t) for t in self.tones)
        if tone is None:
            return "本规则要求倾向" + (f"为{want}" if want else "") + "，但条目没有倾向（未启用倾向判定）"
        if self.tones and tone.label not in self.tones:
            return f"倾向为{TONE_NAMES.get(tone.label, tone.label)}，本规则只在倾向为{want}时命中"
        if self.min_negative is not None and tone.negative < self.min_negative:
            return (f"负面概率 {tone.negative:.2f} 低于本规则要求的 "
                    f"{self.min_negative:.2f}（min_negative）")
        return None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id, "name": self.name, "category": self.category,
            "level": self.level, "weight": self.weight, "file": self.file,
            "line": self.line, "condition": self.condition_text,
            "groups": {g.label: list(g.words) for g in self.groups}}
        if self.tones:
            out["tone"] = list(self.tones)
        if self.min_negative is not None:
            out["min_negative"] = self.min_negative
        return out
