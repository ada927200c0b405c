"""What an evaluation returns (Span, RuleMatch, Evaluation) and the score formula.

Score (0-100) from the rules that matched one item:

1. each matched rule contributes ``weight × 1.25`` if any of its spans is in the title,
   else ``weight``; a contribution is capped at 100;
2. within one category the largest contribution counts fully and every other one counts
   half (several rules of one category firing on one story are mostly one signal);
3. ``score = min(100, round_half_up(sum over categories))``.

``level`` is the highest level among the matched rules (``None`` if none matched).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.models import level_rank

__all__ = ["TITLE_BONUS", "Evaluation", "RuleMatch", "Span", "contribution", "score_matches"]

TITLE_BONUS = 1.25


@dataclass(frozen=True, slots=True)
class Span:
    """A hit: ``field`` is "title" or "body"; offsets are characters in the original text."""

    field: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}

    def __getitem__(self, key: str) -> Any:
        """``span["start"]`` as well as ``span.start``: the JSON shape, read either way."""
        return self.to_dict()[key]


@dataclass(frozen=True)
class RuleMatch:
    rule: str
    category: str
    level: str
    name: str
    weight: int
    spans: list[Span] = field(default_factory=list)

    @property
    def in_title(self) -> bool:
        return any(s.field == "title" for s in self.spans)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "category": self.category, "level": self.level,
                "name": self.name, "spans": [s.to_dict() for s in self.spans]}

    def __getitem__(self, key: str) -> Any:
        """``match["rule"]`` as well as ``match.rule`` (``match["spans"]`` gives Spans)."""
        if key == "spans":
            return self.spans
        return self.to_dict()[key]


@dataclass(frozen=True)
class Evaluation:
    score: int
    level: str | None
    matches: list[RuleMatch] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    @property
    def categories(self) -> list[str]:
        """Categories of the matches, most serious first, without repeats."""
        return list(dict.fromkeys(m.category for m in self.matches))

    def to_dict(self) -> dict[str, Any]:
        """Exactly the ``rules test --json`` document (plus each match's ``name``)."""
        return {"score": self.score, "level": self.level,
                "matches": [m.to_dict() for m in self.matches]}


def contribution(match: RuleMatch) -> float:
    """One rule's share of the score before the per-category discount."""
    return min(100.0, match.weight * (TITLE_BONUS if match.in_title else 1.0))


def score_matches(matches: list[RuleMatch]) -> Evaluation:
    """Score and level for a set of matches; matches come back most serious first."""
    by_category: dict[str, list[float]] = {}
    for m in matches:
        by_category.setdefault(m.category, []).append(contribution(m))
    total = 0.0
    for values in by_category.values():
        values.sort(reverse=True)
        total += values[0] + sum(values[1:]) / 2
    score = min(100, int(total + 0.5))
    level = max((m.level for m in matches), key=level_rank, default=None)
    ordered = sorted(matches, key=lambda m: (-level_rank(m.level), -contribution(m), m.rule))
    return Evaluation(score=score, level=level, matches=ordered)
