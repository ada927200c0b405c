"""Matching: one Aho-Corasick automaton for every literal of every rule, run once per field.

Each distinct normalized literal is one automaton key whose payload is a word id; the
word id lists the (rule, group) uses of that word. All overlapping hits are reported
(讨薪拆迁 yields 讨薪 and 拆迁; 拆迁安置 yields 拆迁 and 拆迁安置). ``|word`` hits are
kept only on jieba word boundaries (``segment.py``); ``|cased`` words live in a second
automaton run over the normalized-but-not-case-folded text; ``|re`` groups run their
regexes on the normalized field, only for rules whose literal groups already hit (or
always, for rules that have no literal group). A rule's condition is evaluated only when
it has a hit: the loader rejects conditions that could hold without one.

Matching one item yields a :class:`Found`: the matched rules and each field's compact
hits (``hits.py``); spans are built from them only when an explanation is read.

``near/N`` distances are counted in the normalized text of one field (for a ``|cased``
operand: its case-preserving normalization, which differs only after a case-folding
expansion such as ß -> ss).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import ahocorasick

from monitor.normalize import Normalized
from monitor.rules.compiled import CompiledRule, Group
from monitor.rules.condition import And, Near, Node, Not, Or, Ref
from monitor.rules.hits import FieldHits, close
from monitor.rules.scoring import Span
from monitor.rules.segment import WordBoundaries

__all__ = ["FIELDS", "FieldText", "Found", "Matcher"]

FIELDS = ("title", "body")
FieldText = tuple[str, Normalized, Normalized | None]   # field name, normalized, cased
_CHECK = -1     # in a field's present groups while scanning: some |word hit needs checking
_Cond = Callable[[set[int], "_Context"], bool]


class _Context:
    """Gives conditions access to positions (for ``near``)."""

    __slots__ = ("scans",)

    def __init__(self, scans: list[FieldHits]) -> None:
        self.scans = scans

    def near(self, a: int, b: int, n: int) -> bool:
        for scan in self.scans:
            present = scan.present
            if a in present and b in present and close(
                    scan.group_spans(a), scan.group_spans(b), n, a == b):
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


class Found:
    """The rules one item matched and the hits behind them.

    ``rules`` lists the indexes of the matched rules, in order; ``in_title`` holds every
    rule with a positive group that hit in the title (and possibly -1): all that score,
    level and order need. ``spans(r)`` explains matched rule ``r``.
    """

    __slots__ = ("in_title", "matcher", "present", "rules", "scans")

    def __init__(self, matcher: Matcher, scans: list[FieldHits], present: set[int],
                 rules: list[int], in_title: set[int]) -> None:
        self.matcher = matcher
        self.scans = scans
        self.present = present
        self.rules = rules
        self.in_title = in_title

    def spans(self, r: int) -> list[Span]:
        """Every hit of the rule's positive groups, mapped back to the original text."""
        m = self.matcher
        found: set[tuple[int, int, int]] = set()
        for gid in m.positive[r]:
            if gid not in self.present:
                continue
            cased = m.groups[gid].cased
            for scan in self.scans:
                if gid not in scan.present:
                    continue
                norm = scan.cased if cased and scan.cased is not None else scan.norm
                order = scan.field != "title"
                for s, e in scan.group_spans(gid):
                    a, b = norm.span(s, e)
                    found.add((order, a, b))
        by_order = {scan.field != "title": scan for scan in self.scans}
        out = []
        for in_body, a, b in sorted(found):
            scan = by_order[bool(in_body)]
            out.append(Span(scan.field, a, b, scan.norm.source[a:b]))
        return out


class Matcher:
    """Everything compiled from a list of rules; read-only once built (thread-safe)."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules
        self.groups: list[Group] = []
        self.group_rule: list[int] = []
        self.rule_gids: list[tuple[int, ...]] = []
        self.word_len: list[int] = []
        word_groups: list[list[int]] = []
        words: dict[tuple[bool, str], int] = {}
        boundary_words: set[str] = set()
        self.always: list[int] = []
        self.rule_regex: list[tuple[int, ...]] = []
        plain_group: list[bool] = []                   # a literal group, neither |word nor |re
        for r, rule in enumerate(rules):
            gids = []
            for group in rule.groups:
                gid = len(self.groups)
                gids.append(gid)
                self.groups.append(group)
                self.group_rule.append(r)
                if not group.regex:
                    for w in group.words:
                        wid = words.setdefault((group.cased, w), len(self.word_len))
                        if wid == len(self.word_len):
                            self.word_len.append(len(w))
                            word_groups.append([])
                        if word_groups[wid][-1:] != [gid]:    # a word twice in a group
                            word_groups[wid].append(gid)
                    if group.word:
                        boundary_words.update(group.words)
                plain_group.append(not group.regex and not group.word)
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
        # per field: word id -> the plain groups it puts present (and _CHECK when |word
        # groups of the field use it); the |word groups to check (only words that have)
        self.plain: dict[str, list[tuple[int, ...]]] = {}
        self.checked: dict[str, dict[int, tuple[int, ...]]] = {}
        shared: dict[tuple[int, ...], tuple[int, ...]] = {}    # one object per distinct tuple
        for name in FIELDS:
            ok = [g.field is None or g.field == name for g in self.groups]
            checked = {wid: word_gids for wid, gs in enumerate(word_groups)
                       if (word_gids := tuple(g for g in gs
                                              if ok[g] and self.groups[g].word))}
            self.checked[name] = checked
            plain = []
            for wid, gs in enumerate(word_groups):
                plain_gids = tuple(g for g in gs if ok[g] and plain_group[g])
                plain_gids += (_CHECK,) if wid in checked else ()
                plain.append(shared.setdefault(plain_gids, plain_gids))
            self.plain[name] = plain
        self.conds = [_compile(rule.condition, self.rule_gids[r]) for r, rule in enumerate(rules)]
        self.positive = [tuple(self.rule_gids[r][i] for i in sorted(rule.positive))
                         for r, rule in enumerate(rules)]
        self.positive_rule = [-1] * len(self.groups)      # group -> its rule, if positive
        for r, positive_gids in enumerate(self.positive):
            for g in positive_gids:
                self.positive_rule[g] = r
        self.regex_rules = frozenset(r for r, gids in enumerate(self.rule_regex) if gids)
        self.boundaries = WordBoundaries(boundary_words)

    # -- scanning -------------------------------------------------------------------
    def _scan(self, field: str, norm: Normalized, cased: Normalized | None) -> FieldHits:
        """Run the automata over one field; only which groups hit is worked out here."""
        plain = self.plain[field]
        scan = FieldHits(field, norm, cased, plain, self.word_len)
        present = scan.present
        for auto, text in ((self.auto, norm.text),
                           (self.auto_cased, cased.text if cased is not None else "")):
            if text and len(auto):
                found = list(auto.iter(_units(text)))
                if found:
                    scan.runs.append((text, found))
                    present.update(*[plain[wid] for x, wid in found if x & 1])
        if _CHECK in present:
            present.discard(_CHECK)
            self._check_words(scan)
        return scan

    def _check_words(self, scan: FieldHits) -> None:
        """Keep the hits of ``|word`` groups that start and end on word boundaries."""
        ends, checked = scan.ends(), self.checked[scan.field]
        norm, cased = scan.norm, scan.cased
        for wid in checked.keys() & ends.keys():
            size = self.word_len[wid]
            for gid in checked[wid]:
                g = self.groups[gid]
                text = cased.text if g.cased and cased is not None else norm.text
                ok = [(e - size + 1, e + 1) for e in ends[wid]
                      if self.boundaries.is_word(text, e - size + 1, e + 1)]
                if ok:
                    scan.spans.setdefault(gid, []).extend(ok)
                    scan.present.add(gid)

    def _run_regex(self, gid: int, scans: list[FieldHits], present: set[int]) -> None:
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
                scan.present.add(gid)
                present.add(gid)

    # -- evaluation -----------------------------------------------------------------
    def match(self, fields: list[FieldText], only: int | None = None) -> Found:
        """Every rule that matches (or only rule number ``only``)."""
        scans = [self._scan(f, n, c) for f, n, c in fields]
        present: set[int] = set().union(*[s.present for s in scans])
        candidates = set(map(self.group_rule.__getitem__, present))
        candidates.update(self.always)
        if only is not None:
            candidates &= {only}
        for r in self.regex_rules.intersection(candidates):
            for gid in self.rule_regex[r]:      # a rule's own groups: order does not matter
                self._run_regex(gid, scans, present)
        ctx = _Context(scans)
        conds = self.conds
        matched = [r for r in sorted(candidates) if conds[r](present, ctx)]
        in_title: set[int] = set()
        if scans and scans[0].field == "title":
            in_title.update(map(self.positive_rule.__getitem__, scans[0].present))
        return Found(self, scans, present, matched, in_title)
