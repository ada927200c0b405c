"""Matching: one Aho-Corasick automaton for every literal of every rule, run once per field.

Each distinct normalized literal is one automaton key whose payload is a word id; the
word id lists the (rule, group) uses of that word. All overlapping hits are reported
(讨薪拆迁 yields 讨薪 and 拆迁; 拆迁安置 yields 拆迁 and 拆迁安置). ``|word`` hits are
kept only on jieba word boundaries (``segment.py``); ``|cased`` words live in a second
automaton run over the normalized-but-not-case-folded text; ``|re`` groups run their
regexes on the normalized field, only for rules whose literal groups already hit (or
always, for rules that have no literal group). A rule's condition is evaluated only when
it has a hit: the loader rejects conditions that could hold without one.

``near/N`` distances are counted in the normalized text of one field (for a ``|cased``
operand: its case-preserving normalization, which differs only after a case-folding
expansion such as ß -> ss).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import cast

import ahocorasick

from monitor.normalize import Normalized
from monitor.rules.compiled import CompiledRule, Group
from monitor.rules.condition import And, Near, Node, Not, Or, Ref
from monitor.rules.scoring import RuleMatch, Span
from monitor.rules.segment import WordBoundaries

__all__ = ["FieldText", "Matcher"]

FieldText = tuple[str, Normalized, Normalized | None]   # field name, normalized, cased
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")
_Cond = Callable[[set[int], "_Context"], bool]


class _Scan:
    """The hits of one field."""

    __slots__ = ("cache", "cased", "ends", "field", "lits", "norm", "spans")

    def __init__(self, field: str, norm: Normalized, cased: Normalized | None) -> None:
        self.field = field
        self.norm = norm
        self.cased = cased
        self.ends: dict[int, list[int]] = {}        # word id -> end positions (inclusive)
        self.lits: dict[int, list[int]] = {}        # group -> word ids that hit
        self.spans: dict[int, list[tuple[int, int]]] = {}  # group -> checked/regex spans
        self.cache: dict[int, list[tuple[int, int]]] = {}


class _Context:
    """Gives conditions access to positions (for ``near``)."""

    __slots__ = ("matcher", "scans")

    def __init__(self, matcher: Matcher, scans: list[_Scan]) -> None:
        self.matcher = matcher
        self.scans = scans

    def near(self, a: int, b: int, n: int) -> bool:
        spans_of = self.matcher.group_spans
        for scan in self.scans:
            sa, sb = spans_of(scan, a), spans_of(scan, b)
            if sa and sb and _close(sa, sb, n, same=a == b):
                return True
        return False


def _units(text: str) -> str:
    """``text`` as UTF-16-BE code units, one latin-1 character per byte.

    pyahocorasick finds a node's child by a linear search, so a trie over CJK characters
    (thousands of distinct first characters under the root) scans slowly; over bytes a
    node has at most 256 children and the root about a hundred. A hit must end on an odd
    byte (start on a code unit boundary); others are discarded.
    """
    return text.encode("utf-16-be", "surrogatepass").decode("latin-1")


def _hits(auto: ahocorasick.Automaton, text: str, ends: dict[int, list[int]]) -> None:
    """Add every hit of ``auto`` in ``text``: word id -> inclusive end (characters)."""
    astral = [m.start() + k for k, m in enumerate(_ASTRAL_RE.finditer(text))]
    for x, wid in auto.iter(_units(text)):
        if not x & 1:
            continue
        e = x >> 1
        if astral:                       # surrogate pairs: code units -> characters
            e -= bisect_left(astral, e)
        lst = ends.get(wid)
        if lst is None:
            ends[wid] = [e]
        else:
            lst.append(e)


def _close(sa: list[tuple[int, int]], sb: list[tuple[int, int]], n: int,
           same: bool = False) -> bool:
    """Some a in sa and b in sb with at most n characters between them (overlap: 0).

    ``sb`` is sorted. With ``same`` (``A near/N A``) the two hits must be different hits.
    b qualifies for a when it starts at most n after a ends and ends at most n before a
    starts: among the b that start early enough (a prefix of ``sb``), the two latest
    ends are enough to decide, so each a costs one bisection.
    """
    starts = [s for s, _ in sb]
    best: list[tuple[tuple[int, int], tuple[int, int]]] = []   # prefix: (end, index) x 2
    first = second = (-(1 << 62), -1)                          # no end yet
    for j, (_, e) in enumerate(sb):
        if e > first[0]:
            first, second = (e, j), first
        elif e > second[0]:
            second = (e, j)
        best.append((first, second))
    for s1, e1 in sa:
        i = bisect_right(starts, e1 + n) - 1      # b must start at most n after a ends
        if i < 0:
            continue
        (end, j), (end2, _) = best[i]
        if same and sb[j] == (s1, e1):
            end = end2
        if end >= s1 - n:                         # ...and end at most n before a starts
            return True
    return False


def _expr(node: Node, gids: tuple[int, ...]) -> str:
    if isinstance(node, Ref):
        return f"({gids[node.index]} in P)"
    if isinstance(node, Not):
        return f"(not {_expr(node.operand, gids)})"
    if isinstance(node, Near):
        a, b = gids[node.left.index], gids[node.right.index]
        return f"({a} in P and {b} in P and C.near({a}, {b}, {int(node.distance)}))"
    joiner = " and " if isinstance(node, And) else " or "
    assert isinstance(node, And | Or)
    return "(" + joiner.join(_expr(x, gids) for x in node.operands) + ")"


def _compile(node: Node, gids: tuple[int, ...]) -> _Cond:
    """The condition as one Python function of (present groups, context).

    The source is generated from the AST and holds only integers, ``in``, ``and``,
    ``or``, ``not`` and ``C.near`` calls, so evaluating it costs a few bytecodes.
    """
    code = compile(f"lambda P, C: {_expr(node, gids)}", "<condition>", "eval")
    return cast(_Cond, eval(code, {"__builtins__": {}}))


class Matcher:
    """Everything compiled from a list of rules; read-only once built (thread-safe)."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules
        self.groups: list[Group] = []
        self.group_rule: list[int] = []
        self.rule_gids: list[tuple[int, ...]] = []
        self.word_len: list[int] = []
        self.word_groups: list[list[int]] = []
        words: dict[tuple[bool, str], int] = {}
        boundary_words: set[str] = set()
        self.always: list[int] = []
        self.rule_regex: list[tuple[int, ...]] = []
        for r, rule in enumerate(rules):
            gids = []
            for group in rule.groups:
                gid = len(self.groups)
                gids.append(gid)
                self.groups.append(group)
                self.group_rule.append(r)
                if group.regex:
                    continue
                for w in group.words:
                    wid = words.setdefault((group.cased, w), len(self.word_len))
                    if wid == len(self.word_len):
                        self.word_len.append(len(w))
                        self.word_groups.append([])
                    self.word_groups[wid].append(gid)
                if group.word:
                    boundary_words.update(group.words)
            self.rule_gids.append(tuple(gids))
            regex = tuple(g for g, grp in zip(gids, rule.groups, strict=True) if grp.regex)
            self.rule_regex.append(regex)
            if len(regex) == len(gids):
                self.always.append(r)
        self.word_count = len(words)
        self.has_cased = any(cased for cased, _ in words) or any(
            g.cased for g in self.groups)
        self.auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        self.auto_cased = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for (cased, w), wid in words.items():
            (self.auto_cased if cased else self.auto).add_word(_units(w), wid)
        for a in (self.auto, self.auto_cased):
            if len(a):
                a.make_automaton()
        self.conds = [_compile(rule.condition, self.rule_gids[r]) for r, rule in enumerate(rules)]
        self.positive = [tuple(self.rule_gids[r][i] for i in sorted(rule.positive))
                         for r, rule in enumerate(rules)]
        self.boundaries = WordBoundaries(boundary_words)

    # -- scanning -------------------------------------------------------------------
    def _scan(self, field: str, norm: Normalized, cased: Normalized | None,
              present: set[int]) -> _Scan:
        scan = _Scan(field, norm, cased)
        ends = scan.ends
        for auto, text in ((self.auto, norm.text),
                           (self.auto_cased, cased.text if cased is not None else "")):
            if text and len(auto):
                _hits(auto, text, ends)
        groups, word_len, lits = self.groups, self.word_len, scan.lits
        for wid, es in ends.items():
            for gid in self.word_groups[wid]:
                g = groups[gid]
                if g.field is not None and g.field != field:
                    continue
                if g.word:
                    size = word_len[wid]
                    text = cased.text if g.cased and cased is not None else norm.text
                    ok = [(e - size + 1, e + 1) for e in es
                          if self.boundaries.is_word(text, e - size + 1, e + 1)]
                    if not ok:
                        continue
                    scan.spans.setdefault(gid, []).extend(ok)
                else:
                    lst = lits.get(gid)
                    if lst is None:
                        lits[gid] = [wid]
                    else:
                        lst.append(wid)
                present.add(gid)
        return scan

    def _run_regex(self, gid: int, scans: list[_Scan], present: set[int]) -> None:
        g = self.groups[gid]
        for scan in scans:
            if g.field is not None and g.field != scan.field:
                continue
            norm = scan.cased if g.cased and scan.cased is not None else scan.norm
            found = [span for p in g.patterns for span in p.spans(norm.text)]
            if g.word:
                found = [(s, e) for s, e in found if self.boundaries.is_word(norm.text, s, e)]
            if found:
                scan.spans.setdefault(gid, []).extend(found)
                present.add(gid)

    def group_spans(self, scan: _Scan, gid: int) -> list[tuple[int, int]]:
        """Sorted normalized (start, end) hits of one group in one field."""
        cached = scan.cache.get(gid)
        if cached is not None:
            return cached
        out = list(scan.spans.get(gid, ()))
        for wid in scan.lits.get(gid, ()):
            size = self.word_len[wid]
            out.extend((e - size + 1, e + 1) for e in scan.ends[wid])
        out = sorted(set(out))
        scan.cache[gid] = out
        return out

    # -- evaluation -----------------------------------------------------------------
    def match(self, fields: list[FieldText], only: int | None = None) -> list[RuleMatch]:
        """Every rule that matches (or only rule number ``only``)."""
        present: set[int] = set()
        scans = [self._scan(f, n, c, present) for f, n, c in fields]
        candidates = {self.group_rule[g] for g in present}
        candidates.update(self.always)
        if only is not None:
            candidates &= {only}
        ctx = _Context(self, scans)
        out: list[RuleMatch] = []
        for r in sorted(candidates):
            for gid in self.rule_regex[r]:
                self._run_regex(gid, scans, present)
            if self.conds[r](present, ctx):
                out.append(self._explain(r, scans, present))
        return out

    def _explain(self, r: int, scans: list[_Scan], present: set[int]) -> RuleMatch:
        rule = self.rules[r]
        spans: set[Span] = set()
        for gid in self.positive[r]:
            if gid not in present:
                continue
            cased = self.groups[gid].cased
            for scan in scans:
                norm = scan.cased if cased and scan.cased is not None else scan.norm
                for s, e in self.group_spans(scan, gid):
                    a, b = norm.span(s, e)
                    spans.add(Span(scan.field, a, b, norm.source[a:b]))
        ordered = sorted(spans, key=lambda s: (s.field != "title", s.start, s.end))
        return RuleMatch(rule=rule.id, category=rule.category, level=rule.level,
                         name=rule.name, weight=rule.weight, spans=ordered)
