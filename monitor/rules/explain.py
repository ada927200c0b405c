"""Why an item scored what it did: every rule that matched with its share of the score,
the word groups that hit, the exclusions that fired and the near-misses (``items show``).

Built from one match of the item (``Matcher.match``), so it says exactly what the
evaluation saw: a rule is explained when one of its positive groups hit; it either
matched, was excluded (its condition holds once the ``not`` groups are taken away) or
was a near-miss (some groups hit, the condition did not hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.rules.compiled import CompiledRule, ToneLike
from monitor.rules.matcher import Found, Matcher, _Context
from monitor.rules.scoring import Evaluation, RuleMatch, contribution

__all__ = ["FORMULA", "Explanation", "GroupHit", "RuleExplanation", "explain"]

FORMULA = ("每条命中的规则贡献其权重（命中词出现在标题中时乘以 1.25），单条贡献最多 100；"
           "同一类别中贡献最大的一条全额计入，其余各条减半计入；各类别之和四舍五入即为得分；"
           "有规则命中且倾向为强烈负面（负面概率不低于 0.9）时再加 10 分；最高 100。"
           "级别取命中规则中最高的一级。要求倾向的规则（tone、min_negative）只在条目倾向符合时命中。")


@dataclass(frozen=True)
class GroupHit:
    """One word group of a rule that hit: the words as they stand in the text."""

    group: str
    words: tuple[str, ...]
    exclusion: bool          # a group under ``not``


@dataclass
class RuleExplanation:
    """One rule that had a hit: matched (with its share), excluded, or a near-miss."""

    rule: CompiledRule
    outcome: str             # "matched", "excluded", "near", "tone" (words held, tone did not)
    groups: list[GroupHit] = field(default_factory=list)
    in_title: bool = False
    contribution: float = 0.0   # weight, × 1.25 for a title hit, at most 100
    counted: float = 0.0        # what reached the score (half when not the category's top)
    tone_reason: str = ""       # outcome "tone": why the item's tone kept it from matching

    @property
    def hits(self) -> list[GroupHit]:
        return [g for g in self.groups if not g.exclusion]

    @property
    def exclusions(self) -> list[GroupHit]:
        return [g for g in self.groups if g.exclusion]


@dataclass
class Explanation:
    evaluation: Evaluation
    rules: list[RuleExplanation]
    tone: ToneLike | None = None

    def of(self, outcome: str) -> list[RuleExplanation]:
        return [r for r in self.rules if r.outcome == outcome]

    @property
    def by_category(self) -> dict[str, float]:
        """Each category's sum as the formula takes it."""
        out: dict[str, float] = {}
        for r in self.of("matched"):
            out[r.rule.category] = out.get(r.rule.category, 0.0) + r.counted
        return out


def _group_words(matcher: Matcher, found: Found, gid: int) -> tuple[str, ...]:
    words: dict[str, None] = {}
    cased = matcher.groups[gid].cased
    for scan in found.scans:
        norm = scan.cased if cased and scan.cased is not None else scan.norm
        for s, e in scan.group_spans(gid):
            a, b = norm.span(s, e)
            words[scan.norm.source[a:b]] = None
    return tuple(words)


def _outcome(matcher: Matcher, found: Found, r: int, negated: set[int],
             matched: list[int]) -> str:
    if r in matched:
        return "matched"
    if r in found.rules:
        return "tone"
    without = found.present - negated
    if negated & found.present and matcher.conds[r](without, _Context(found.scans)):
        return "excluded"
    return "near"


def _counted(matches: list[RuleMatch]) -> dict[str, float]:
    """Rule id -> its share after the per-category discount."""
    out: dict[str, float] = {}
    seen: set[str] = set()
    for m in sorted(matches, key=lambda m: -contribution(m)):
        out[m.rule] = contribution(m) / (2 if m.category in seen else 1)
        seen.add(m.category)
    return out


def explain(matcher: Matcher, found: Found, ev: Evaluation, *,
            matched: list[int] | None = None, tone: ToneLike | None = None) -> Explanation:
    """The explanation of one match (``found``) and its evaluation ``ev``; ``matched``
    are the rules that matched once the tone was taken into account (``found.rules``
    when not given)."""
    matched = found.rules if matched is None else matched
    by_rule = {m.rule: m for m in ev.matches}
    counted = _counted(ev.matches)
    out: list[RuleExplanation] = []
    for r in sorted({matcher.group_rule[g] for g in found.present}):
        rule, gids = matcher.rules[r], matcher.rule_gids[r]
        positive = set(matcher.positive[r])
        negated = set(gids) - positive
        groups = [GroupHit(rule.groups[i].name, _group_words(matcher, found, g), g in negated)
                  for i, g in enumerate(gids) if g in found.present]
        if not any(not g.exclusion for g in groups):
            continue                      # only an exclusion word: nothing near a match
        one = RuleExplanation(rule, _outcome(matcher, found, r, negated, matched), groups)
        if one.outcome == "tone":
            one.tone_reason = rule.tone_refusal(tone) or ""
        m = by_rule.get(rule.id)
        if m is not None:
            one.in_title, one.contribution = m.in_title, contribution(m)
            one.counted = counted[rule.id]
        out.append(one)
    order = {"matched": 0, "tone": 1, "excluded": 2, "near": 3}
    out.sort(key=lambda x: (order[x.outcome], -x.counted, x.rule.id))
    return Explanation(ev, out, tone)
