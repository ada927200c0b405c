"""The compiled ruleset: immutable once built, safe to evaluate from worker threads."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from monitor.normalize import Normalized, normalize
from monitor.rules.compiled import CompiledRule, ToneLike
from monitor.rules.matcher import FieldText, Matcher
from monitor.rules.scoring import Evaluation, RuleMatch, Scorer

if TYPE_CHECKING:
    from monitor.rules.explain import Explanation

__all__ = ["Ruleset"]


class Ruleset:
    """Rules compiled into one matcher.

    ``version`` is the first 12 hex digits of a SHA-256 over the sorted file names and
    contents; ``files`` maps each file name to its text; ``rules`` lists the compiled
    rules (id, name, category, level, weight, file, line, ...); ``word_count`` is the
    number of distinct normalized literals in the automaton.
    """

    def __init__(self, rules: list[CompiledRule], files: Mapping[str, str]) -> None:
        self.rules: list[CompiledRule] = list(rules)
        self.files: dict[str, str] = dict(sorted(files.items()))
        digest = hashlib.sha256()
        for name, text in self.files.items():
            digest.update(name.encode() + b"\0" + text.encode() + b"\0")
        self.version: str = digest.hexdigest()[:12]
        self._by_id = {r.id: i for i, r in enumerate(self.rules)}
        self._matcher = Matcher(self.rules)
        self.word_count: int = self._matcher.word_count
        self._scorer = Scorer(self.rules)
        self._tone_rules = frozenset(i for i, r in enumerate(self.rules) if r.needs_tone)

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"<Ruleset {self.version}: {len(self.rules)} rules, {self.word_count} words>"

    def cut(self, text: str) -> list[str]:
        """The words of ``text`` by the rules' own jieba tokenizer (see ``segment.py``)."""
        return self._matcher.boundaries.cut(text)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(r.category for r in self.rules))

    def rule(self, rule_id: str) -> CompiledRule | None:
        i = self._by_id.get(rule_id)
        return None if i is None else self.rules[i]

    def _fields(self, title: Normalized | None, body: Normalized | None) -> list[FieldText]:
        out: list[FieldText] = []
        for name, norm in (("title", title), ("body", body)):
            if norm is None or not norm.source:
                continue
            cased = normalize(norm.source, casefold=False) if self._matcher.has_cased else None
            out.append((name, norm, cased))
        return out

    def evaluate(self, title: str = "", body: str = "", *,
                 tone: ToneLike | None = None) -> Evaluation:
        """Score one item; spans are character offsets into ``title``/``body`` as given.
        ``tone`` is the item's tone (label and ``negative`` probability, read by the tone
        model elsewhere): rules with ``tone:``/``min_negative:`` match only when it
        qualifies (never without one), and a strongly negative tone adds the tone bonus.
        Score and level are computed at once; the matches, and each match's spans, are
        built the first time they are read."""
        return self.evaluate_normalized(normalize(title) if title else None,
                                        normalize(body) if body else None, tone=tone)

    def evaluate_normalized(self, title: Normalized | None = None,
                            body: Normalized | None = None, *,
                            tone: ToneLike | None = None) -> Evaluation:
        """Like :meth:`evaluate` for texts already passed through ``normalize``."""
        found = self._matcher.match(self._fields(title, body))
        ev = self._scorer.evaluate(self._tone_filter(found.rules, tone), found.in_title, found)
        return ev.with_tone(tone.negative if tone is not None else None)

    def _tone_filter(self, matched: list[int], tone: ToneLike | None) -> list[int]:
        if not self._tone_rules or not self._tone_rules.intersection(matched):
            return matched
        return [r for r in matched if r not in self._tone_rules
                or self.rules[r].tone_refusal(tone) is None]

    def explain(self, title: str = "", body: str = "", *,
                tone: ToneLike | None = None) -> Explanation:
        """:meth:`evaluate` with the reasons: each rule with a hit, the groups and words
        that hit, exclusions, near-misses, rules the tone kept from matching and each
        matched rule's share of the score (and the tone bonus)."""
        from monitor.rules.explain import explain

        found = self._matcher.match(self._fields(normalize(title) if title else None,
                                                 normalize(body) if body else None))
        matched = self._tone_filter(found.rules, tone)
        ev = self._scorer.evaluate(matched, found.in_title, found)
        return explain(self._matcher, found, ev.with_tone(
            tone.negative if tone is not None else None), matched=matched, tone=tone)

    def match_rule(self, rule_id: str, title: str = "", body: str = "") -> RuleMatch | None:
        """The match of one rule alone, or ``None`` (used by ``rules check``)."""
        i = self._by_id[rule_id]
        fields = self._fields(normalize(title) if title else None,
                              normalize(body) if body else None)
        found = self._matcher.match(fields, only=i)
        if not found.rules:
            return None
        return self._scorer.evaluate(found.rules, found.in_title, found).matches[0]
