"""What an evaluation returns (Span, RuleMatch, Evaluation) and the score formula.

Score (0-100) from the rules that matched one item:

1. each matched rule contributes ``weight × 1.25`` if any of its spans is in the title,
   else ``weight``; a contribution is capped at 100;
2. within one category the largest contribution counts fully and every other one counts
   half (several rules of one category firing on one story are mostly one signal);
3. ``score = min(100, round_half_up(sum over categories))``.

4. tone: when at least one rule matched and the item's tone is strongly negative
   (``negative`` probability at least :data:`TONE_BONUS_AT`, 0.9), the score gains
   :data:`TONE_BONUS` (10) points, still at most 100 (``Evaluation.tone_bonus``).

``level`` is the highest level among the matched rules (``None`` if none matched); the
tone does not change it by itself (a rule with ``tone: negative`` is how a negative
mention reaches a level).

Explanations are built only as far as they are read: the matcher decides which rules
matched and whether each has a hit in the title (all that score, level and order need);
:class:`Scorer` computes score and level from that alone. ``ev.matches`` makes the
:class:`RuleMatch` objects on first access, with their spans still unbuilt;
``match.spans`` (or ``match["spans"]``, ``to_dict()``) builds them on first access from
the item's hits, exactly as an eager evaluation would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from monitor.models import level_rank
from monitor.rules.compiled import CompiledRule

__all__ = ["TITLE_BONUS", "TONE_BONUS", "TONE_BONUS_AT", "Evaluation", "RuleMatch", "Scorer", "Span", "contribution",
           "score_matches"]

TITLE_BONUS = 1.25
TONE_BONUS = 10          # points added for a strongly negative tone
TONE_BONUS_AT = 0.9      # ... from this ``negative`` probability on
_KEYS = ("rule", "category", "level", "name")
_Info = tuple[str, str, str, str, int, int, bool]   # RuleMatch fields, rule index, in title


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


class Explainer(Protocol):
    """Builds the spans of matched rule number ``index`` (the matcher's ``Found``)."""

    def spans(self, index: int) -> list[Span]: ...


class RuleMatch:
    """One matched rule; read-only. ``spans`` are built on first access when the match
    came from an evaluation (``RuleMatch(...)`` with ``spans=`` gives them directly)."""

    __slots__ = ("_index", "_source", "_spans", "category", "in_title", "level", "name",
                 "rule", "weight")

    def __init__(self, rule: str, category: str, level: str, name: str, weight: int,
                 spans: list[Span] | None = None) -> None:
        self.rule = rule
        self.category = category
        self.level = level
        self.name = name
        self.weight = weight
        self._spans: list[Span] | None = [] if spans is None else spans
        self._source: Explainer | None = None
        self._index = -1
        self.in_title: bool = any(s.field == "title" for s in self._spans)

    @classmethod
    def _deferred(cls, info: _Info, source: Explainer) -> RuleMatch:
        """A match whose spans ``source.spans(index)`` builds when first read."""
        m = cls.__new__(cls)
        m.rule, m.category, m.level, m.name, m.weight, m._index, m.in_title = info
        m._spans, m._source = None, source
        return m

    @property
    def spans(self) -> list[Span]:
        """Every span of the match: title first, then by start and end."""
        spans = self._spans
        if spans is None:
            assert self._source is not None
            spans = self._spans = self._source.spans(self._index)
            self._source = None
        return spans

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "category": self.category, "level": self.level,
                "name": self.name, "spans": [s.to_dict() for s in self.spans]}

    def __getitem__(self, key: str) -> Any:
        """``match["rule"]`` as well as ``match.rule`` (``match["spans"]`` gives Spans)."""
        if key == "spans":
            return self.spans
        if key in _KEYS:
            return getattr(self, key)
        raise KeyError(key)

    def _fields(self) -> tuple[Any, ...]:
        return (self.rule, self.category, self.level, self.name, self.weight, self.spans)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, RuleMatch)
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # spans is a list, as before

    def __repr__(self) -> str:
        return (f"RuleMatch(rule={self.rule!r}, category={self.category!r}, "
                f"level={self.level!r}, name={self.name!r}, weight={self.weight!r}, "
                f"spans={self.spans!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (RuleMatch, self._fields())


class Evaluation:
    """``score`` (0-100), ``level`` (``None`` if nothing matched) and ``matches``, most
    serious first; read-only. From an evaluation, ``matches`` is made on first access."""

    __slots__ = ("_make", "_matches", "level", "score", "tone_bonus")

    def __init__(self, score: int, level: str | None,
                 matches: list[RuleMatch] | None = None, tone_bonus: int = 0) -> None:
        self.score = score
        self.level = level
        self.tone_bonus = tone_bonus     # points of ``score`` owed to a negative tone
        self._matches: list[RuleMatch] | None = [] if matches is None else matches
        self._make: Callable[[], list[RuleMatch]] | None = None

    @classmethod
    def _deferred(cls, score: int, level: str | None,
                  make: Callable[[], list[RuleMatch]]) -> Evaluation:
        ev = cls.__new__(cls)
        ev.score, ev.level, ev._matches, ev._make = score, level, None, make
        ev.tone_bonus = 0
        return ev

    def with_tone(self, negative: float | None) -> Evaluation:
        """This evaluation with the tone bonus applied (itself when there is none)."""
        if negative is None or negative < TONE_BONUS_AT or self.level is None:
            return self
        bonus = min(TONE_BONUS, 100 - self.score)
        if bonus <= 0:
            return self
        ev = Evaluation.__new__(Evaluation)
        ev.score, ev.level, ev.tone_bonus = self.score + bonus, self.level, bonus
        ev._matches, ev._make = self._matches, self._make
        if ev._matches is None:
            ev._make = lambda: self.matches
        return ev

    @property
    def matches(self) -> list[RuleMatch]:
        matches = self._matches
        if matches is None:
            assert self._make is not None
            matches = self._matches = self._make()
            self._make = None
        return matches

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

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Evaluation)
        return (self.score, self.level, self.tone_bonus, self.matches) == (
            other.score, other.level, other.tone_bonus, other.matches)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Evaluation(score={self.score!r}, level={self.level!r}, matches={self.matches!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Evaluation, (self.score, self.level, self.matches, self.tone_bonus))


def contribution(match: RuleMatch) -> float:
    """One rule's share of the score before the per-category discount."""
    return _contribution(match.weight, match.in_title)


def _contribution(weight: int, in_title: bool) -> float:
    return min(100.0, weight * (TITLE_BONUS if in_title else 1.0))


def _score(by_category: dict[str, list[float]]) -> int:
    """The formula over each category's contributions (categories in the order the rules
    matched: the sum is taken in that order)."""
    total = 0.0
    for values in by_category.values():
        if len(values) == 1:
            total += values[0]
        else:
            values.sort(reverse=True)
            total += values[0] + sum(values[1:]) / 2
    return min(100, int(total + 0.5))


def score_matches(matches: list[RuleMatch]) -> Evaluation:
    """Score and level for a set of matches; matches come back most serious first."""
    by_category: dict[str, list[float]] = {}
    for m in matches:
        by_category.setdefault(m.category, []).append(contribution(m))
    level = max((m.level for m in matches), key=level_rank, default=None)
    ordered = sorted(matches, key=lambda m: (-level_rank(m.level), -contribution(m), m.rule))
    return Evaluation(score=_score(by_category), level=level, matches=ordered)


class Scorer:
    """:func:`score_matches` for one list of rules, from compact match data.

    Every (rule, has a title hit) pair gets, once, a place in the order of all such pairs
    (most serious first: level, contribution, rule id), its category and contribution,
    and what its :class:`RuleMatch` holds; scoring an item then groups a few floats and
    sorts small integers.
    """

    def __init__(self, rules: list[CompiledRule]) -> None:
        pairs = [(r, t) for r in range(len(rules)) for t in (False, True)]
        share = [_contribution(rules[r].weight, t) for r, t in pairs]   # at 2 r + t
        pairs.sort(key=lambda p: (-level_rank(rules[p[0]].level), -share[2 * p[0] + p[1]],
                                  rules[p[0]].id))
        self._place = [0] * len(pairs)                    # 2 r + t -> place
        for i, (r, t) in enumerate(pairs):
            self._place[2 * r + t] = i
        self._share = [(rules[r].category, share[2 * r + t]) for r, t in pairs]
        self._info: list[_Info] = [
            (rules[r].id, rules[r].category, rules[r].level, rules[r].name, rules[r].weight,
             r, t) for r, t in pairs]

    def evaluate(self, matched: list[int], in_title: set[int] | frozenset[int],
                 source: Explainer) -> Evaluation:
        """The evaluation of an item that matched rules ``matched`` (indexes, in rule
        order), those in ``in_title`` with a title hit. Matches are made when first read,
        and each one's spans are left for ``source.spans(index)`` to build."""
        if not matched:
            return Evaluation(score=0, level=None)
        place, share = self._place, self._share
        places = []
        by_category: dict[str, list[float]] = {}
        for r in matched:
            p = place[2 * r + (r in in_title)]
            places.append(p)
            category, value = share[p]
            values = by_category.get(category)
            if values is None:
                by_category[category] = [value]
            else:
                values.append(value)
        places.sort()
        return Evaluation._deferred(_score(by_category), self._info[places[0]][2],
                                    partial(self._matches, places, source))

    def _matches(self, places: list[int], source: Explainer) -> list[RuleMatch]:
        info, make = self._info, RuleMatch._deferred
        return [make(info[p], source) for p in places]
