"""Explanations built on demand equal an eager reference, on random texts.

``eager_evaluate`` below is written from the rule semantics alone (CONTRACT.md and the
matcher's docstring): every occurrence of every word found with ``str.find``, ``near``
decided over all pairs, every span built, then ``score_matches``. Its ``to_dict()`` must
be exactly what ``Ruleset.evaluate`` gives, whose spans are built only when read.
"""

from __future__ import annotations

import json
import pickle
import random
from functools import cache
from pathlib import Path

import opencc
import pytest

from monitor.normalize import Normalized, normalize
from monitor.rules import RuleMatch, Ruleset, Span, load_ruleset, load_ruleset_texts
from monitor.rules.compiled import CompiledRule, Group
from monitor.rules.condition import Near, evaluate
from monitor.rules.scoring import score_matches
from monitor.rules.segment import WordBoundaries

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("title", "body")
Spans = list[tuple[int, int]]


# -- the eager reference ------------------------------------------------------------

def _occurrences(text: str, word: str) -> Spans:
    out, i = [], text.find(word)
    while i >= 0:
        out.append((i, i + len(word)))
        i = text.find(word, i + 1)
    return out


def _group_hits(group: Group, norm: Normalized, cased: Normalized,
                bounds: WordBoundaries) -> Spans:
    text = (cased if group.cased else norm).text
    if group.regex:
        found = [span for p in group.patterns for span in p.spans(text)]
    else:
        found = [span for w in group.words for span in _occurrences(text, w)]
    if group.word:
        found = [(s, e) for s, e in found if bounds.is_word(text, s, e)]
    return sorted(set(found))


def _close(sa: Spans, sb: Spans, n: int, same: bool) -> bool:
    return any(b[0] <= a[1] + n and b[1] >= a[0] - n and not (same and a == b)
               for a in sa for b in sb)


def _rule_match(rule: CompiledRule, fields: list[tuple[str, Normalized, Normalized]],
                bounds: WordBoundaries) -> RuleMatch | None:
    hits: dict[tuple[int, str], Spans] = {}
    for i, group in enumerate(rule.groups):
        for name, norm, cased in fields:
            if group.field in (None, name):
                hits[(i, name)] = _group_hits(group, norm, cased, bounds)
    has = {i for (i, _), spans in hits.items() if spans}
    # a rule is looked at only when one of its literal groups hit (or it has none)
    if not any(i in has for i, g in enumerate(rule.groups) if not g.regex) \
            and not all(g.regex for g in rule.groups):
        return None

    def near(node: Near) -> bool:
        a, b = node.left.index, node.right.index
        return any(_close(hits.get((a, f), []), hits.get((b, f), []), node.distance, a == b)
                   for f, _, _ in fields)

    if not evaluate(rule.condition, lambda ref: ref.index in has, near):
        return None
    spans = set()
    for i in rule.positive:
        for name, norm, cased in fields:
            source = cased if rule.groups[i].cased else norm
            for s, e in hits.get((i, name), []):
                a, b = source.span(s, e)
                spans.add(Span(name, a, b, source.source[a:b]))
    ordered = sorted(spans, key=lambda s: (s.field != "title", s.start, s.end))
    return RuleMatch(rule=rule.id, category=rule.category, level=rule.level, name=rule.name,
                     weight=rule.weight, spans=ordered)


@cache
def _boundaries(rs: Ruleset) -> WordBoundaries:
    return WordBoundaries(w for r in rs.rules for g in r.groups if g.word and not g.regex
                          for w in g.words)


def eager_evaluate(rs: Ruleset, title: str, body: str) -> dict[str, object]:
    fields = [(name, normalize(text), normalize(text, casefold=False))
              for name, text in zip(FIELDS, (title, body), strict=True) if text]
    # no tone given: a rule that requires one (``tone:``, ``min_negative:``) never matches
    found = [_rule_match(rule, fields, _boundaries(rs)) for rule in rs.rules
             if rule.tone_refusal(None) is None]
    return score_matches([m for m in found if m is not None]).to_dict()


# -- random texts -------------------------------------------------------------------

GENERATED = """
- id: g-near
  category: 甲类
  level: orange
  weight: 35
  words:
    主体: [工地, 项目部, 拆迁办]
    事件: [坍塌, 讨薪, 欠薪资]
    排除: [演练, 招聘]
  condition: 主体 near/6 事件 and not 排除
- id: g-word
  category: 甲类
  level: yellow
  weight: 20
  words:
    事件|word: [和服, 串标, 工地]
  condition: 事件 or "强拆"
- id: g-title
  category: 乙类
  level: red
  weight: 90
  words:
    标题|title: [突发, 快讯]
    正文|body: [伤亡, 受伤, 坍塌]
- id: g-re
  category: 乙类
  level: blue
  weight: 15
  words:
    主体: [工地, 公司]
    金额|re: ['\\d+万元', '欠\\d+个月']
  condition: 主体 and 金额
- id: g-re-only
  category: 丙类
  level: info
  weight: 5
  words:
    编号|re|cased: ['[A-Z]{2}\\d{2}']
- id: g-cased
  category: 丙类
  level: blue
  weight: 25
  words:
    品牌|cased: [ABC, GDP]
    事件: [abc, 坍塌, 投诉]
  condition: 品牌 near/3 事件 or 事件 near/0 事件
- id: g-not
  category: 丁类
  level: yellow
  weight: 45
  words:
    地域: [青山区, 滨江, 江北街道]
    事件: [拆迁, 拆迁安置, 安置, 讨薪]
    排除: [招聘, 演练]
  condition: (地域 or 事件|title) and not (排除 and 地域) and not 排除|body
- id: g-overlap
  category: 丁类
  level: orange
  weight: 60
  words:
    甲: [拆迁, 迁安, 安置房, 乾隆, 𠀀坝]
    乙: [安置, 置房]
  condition: 甲 near/0 乙 or 甲|word
"""

FILLER = [*"的一是在有人这中大为上个我以要他时来用们生到作于出就分对成会可发年动同也能下过子说产"
          "种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高",
          "xyz", "a1", "2024", "AB12", "ab12", "30万元", "欠3个月", "她穿着", "服务", "标签", "永和"]
NOISE = ["*", " ", "-", "，", "\u200b", "\ufeff", "　", "&nbsp;", "\n", "~", "😀", "𠀀"]
_S2T = opencc.OpenCC("s2t")


def _words(rs: Ruleset) -> list[str]:
    return sorted({w for r in rs.rules for g in r.groups if not g.regex for w in g.words})


def _disguise(word: str, rng: random.Random) -> str:
    """The word in traditional, full-width, upper-case, entity or noisy form, or as is."""
    form = rng.choice(["plain", "plain", "trad", "wide", "upper", "entity", "noise"])
    if form == "trad":
        return _S2T.convert(word)
    if form == "wide":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    if form == "upper":
        return word.upper()
    if form == "entity":
        return "".join(f"&#x{ord(c):X};" if rng.random() < 0.5 else c for c in word)
    if form == "noise" and len(word) > 1:
        cut = rng.randrange(1, len(word))
        return word[:cut] + rng.choice(NOISE) + word[cut:]
    return word


def _text(words: list[str], rng: random.Random, size: int) -> str:
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        r = rng.random()
        if r < 0.35:
            parts.append(_disguise(rng.choice(words), rng))
        elif r < 0.5:
            parts.append(rng.choice(NOISE))
        else:
            parts.append(rng.choice(FILLER))
    return "".join(parts)


def _texts(rs: Ruleset, seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = _words(rs)
    out = []
    for _ in range(count):
        title = _text(words, rng, rng.choice([0, 8, 20, 30]))
        body = _text(words, rng, rng.choice([0, 10, 60, 200]))
        out.append((title, body))
    return out


RULESETS = {
    "default": lambda: load_ruleset(ROOT / "rules"),
    "generated": lambda: load_ruleset_texts({"gen.yaml": GENERATED}),
}


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_lazy_explanations_equal_the_eager_reference(name: str) -> None:
    rs = RULESETS[name]()
    matched = 0
    for title, body in _texts(rs, seed=len(name), count=300):
        ev = rs.evaluate(title=title, body=body)
        expected = eager_evaluate(rs, title, body)
        score, level = ev.score, ev.level           # read before any span is built
        assert (score, level) == (expected["score"], expected["level"]), (title, body)
        assert [m.rule for m in ev.matches] == [m["rule"] for m in expected["matches"]]
        assert ev.to_dict() == expected, (title, body)
        assert json.loads(json.dumps(ev.to_dict(), ensure_ascii=False)) == expected
        matched += bool(ev.matches)
    assert matched >= 100          # the texts do exercise the rules


def test_generated_rules_all_fire_on_the_random_texts() -> None:
    rs = RULESETS["generated"]()
    fired = {m.rule for t, b in _texts(rs, seed=9, count=300)
             for m in rs.evaluate(title=t, body=b).matches}
    assert fired == {r.id for r in rs.rules}


def test_spans_read_in_any_order_and_matches_copied() -> None:
    rs = RULESETS["generated"]()
    title, body = "突发：青山区工地坍塌", "工地坍塌造成2人受伤，ABC公司欠3个月工资30万元，AB12"
    expected = eager_evaluate(rs, title, body)
    ev = rs.evaluate(title=title, body=body)
    for m in reversed(ev.matches):                  # mapping access first, last match first
        assert m["spans"] is m.spans
        assert m["rule"] == m.rule and m["name"] == m.name
        assert m.in_title == any(s.field == "title" for s in m.spans)
    assert ev.to_dict() == expected
    assert [pickle.loads(pickle.dumps(m)) for m in ev.matches] == ev.matches
    with pytest.raises(KeyError):
        ev.matches[0]["weight"]                     # not in the JSON shape, as before
    assert ev.matches[0].weight == rs.rule(ev.matches[0].rule).weight
    copy = pickle.loads(pickle.dumps(ev))
    assert copy == ev and copy.to_dict() == expected
    assert repr(copy) == repr(ev)
    hit = rs.match_rule("g-near", title=title, body=body)
    assert hit is not None and hit.to_dict() == next(
        m for m in expected["matches"] if m["rule"] == "g-near")
