"""What an evaluation returns (Span, RuleMatch, Evaluation) and the score formula.

Score (0-100) from the rules that matched one item:

1. each matched rule contributes ``weight × 1.25`` if any of its spans is in the title,
   else ``weight``; a contribution is capped at 100;
2. within one category the largest contribution counts fully and every other one counts
   half (several rules of one category firing on one story are mostly one signal);
3. ``score = min(100, round_half_up(sum over categories))``.

``level`` is the highest level among the matched rules (``None`` if none matched).

Explanations are built only as far as they are read: the matcher decides which rules
matched and whether each has a hit in the title (all that score, level and order need),
and :func:`evaluate_found` makes each :class:`RuleMatch` with its spans still unbuilt.
``match.spans`` (or ``match["spans"]``, ``to_dict()``) builds them on first access from
the item's hits, exactly as an eager evaluation would have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.models import level_rank
from monitor.rules.compiled import CompiledRule

__all__ = ["TITLE_BONUS", "Evaluation", "RuleMatch", "Span", "contribution", "evaluate_found",
           "match_keys", "score_matches"]

TITLE_BONUS = 1.25
_KEYS = ("rule", "category", "level", "name")


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
    def unexplained(cls, rules: list[CompiledRule], found: Iterable[tuple[int, bool]],
                    source: Explainer) -> list[RuleMatch]:
        """Matches of ``rules[r]`` for each (r, has a title hit) in ``found``, whose spans
        ``source.spans(r)`` builds when first read."""
        out = []
        new = cls.__new__
        for r, in_title in found:
            rule = rules[r]
            m = new(cls)
            m.rule, m.category, m.level, m.name, m.weight = (
                rule.id, rule.category, rule.level, rule.name, rule.weight)
            m._spans, m._source, m._index, m.in_title = None, source, r, in_title
            out.append(m)
        return out

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
    return _contribution(match.weight, match.in_title)


def _contribution(weight: int, in_title: bool) -> float:
    return min(100.0, weight * (TITLE_BONUS if in_title else 1.0))


def _score(shares: Iterable[tuple[str, float]]) -> int:
    """The formula over (category, contribution) pairs, in the order the rules matched."""
    by_category: dict[str, list[float]] = {}
    for category, share in shares:
        values = by_category.get(category)
        if values is None:
            by_category[category] = [share]
        else:
            values.append(share)
    total = 0.0
    for values in by_category.values():
        values.sort(reverse=True)
        total += values[0] + sum(values[1:]) / 2
    return min(100, int(total + 0.5))


def score_matches(matches: list[RuleMatch]) -> Evaluation:
    """Score and level for a set of matches; matches come back most serious first."""
    score = _score((m.category, contribution(m)) for m in matches)
    level = max((m.level for m in matches), key=level_rank, default=None)
    ordered = sorted(matches, key=lambda m: (-level_rank(m.level), -contribution(m), m.rule))
    return Evaluation(score=score, level=level, matches=ordered)


_Key = tuple[int, float, str, int, bool, str]


def match_keys(rules: list[CompiledRule]) -> list[tuple[_Key, _Key]]:
    """Per rule, the sort key of its match without and with a title hit: most serious
    first (level, then contribution, then rule id), carrying what scoring needs."""
    keys = []
    for r, rule in enumerate(rules):
        rank = -level_rank(rule.level)
        keys.append(tuple((rank, -_contribution(rule.weight, t), rule.id, r, t, rule.category)
                          for t in (False, True)))
    return keys  # type: ignore[return-value]


def evaluate_found(rules: list[CompiledRule], keys: list[tuple[_Key, _Key]],
                   found: list[tuple[int, bool]], source: Explainer) -> Evaluation:
    """Like :func:`score_matches` for matched rules given as (rule index, has a title
    hit), in rule order; each match's spans are left for ``source`` to build when read.
    ``keys`` is :func:`match_keys` of ``rules``."""
    if not found:
        return Evaluation(score=0, level=None, matches=[])
    entries = [keys[r][t] for r, t in found]
    score = _score([(e[5], -e[1]) for e in entries])
    entries.sort()                    # rule ids are unique: the rest never compares
    matches = RuleMatch.unexplained(rules, [(e[3], e[4]) for e in entries], source)
    return Evaluation(score=score, level=matches[0].level, matches=matches)
