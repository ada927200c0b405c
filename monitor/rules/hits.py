"""The hits of one field, kept compact: positions are worked out only when asked for.

Scanning a field records the automaton's raw output and the set of groups that hit
(``present``); that is all scoring needs. Hit positions (word id -> end positions) are
built from the raw output the first time something needs them: a ``near`` condition, a
``|word`` boundary check, or an explanation (spans). :func:`close` decides ``near``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from monitor.normalize import Normalized

__all__ = ["FieldHits", "close"]

_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")
_FEW_PAIRS = 16


class FieldHits:
    """What one field of one item hit.

    ``runs`` holds, per automaton run, the text scanned and the raw ``(end byte, word id)``
    pairs over its UTF-16 code units; ``present`` the groups that hit in this field;
    ``spans`` the checked hits of ``|word`` and ``|re`` groups (normalized ``(start,
    end)``). ``plain`` (word id -> the plain literal groups it puts present in this
    field) and ``word_len`` are the matcher's tables.
    """

    __slots__ = ("_cache", "_ends", "_words", "cased", "field", "norm", "plain", "present",
                 "runs", "spans", "word_len")

    def __init__(self, field: str, norm: Normalized, cased: Normalized | None,
                 plain: list[tuple[int, ...]], word_len: list[int]) -> None:
        self.field = field
        self.norm = norm
        self.cased = cased
        self.plain = plain
        self.word_len = word_len
        self.runs: list[tuple[str, list[tuple[int, int]]]] = []
        self.present: set[int] = set()
        self.spans: dict[int, list[tuple[int, int]]] = {}
        self._ends: dict[int, list[int]] | None = None
        self._words: dict[int, list[int]] | None = None
        self._cache: dict[int, list[tuple[int, int]]] = {}

    def ends(self) -> dict[int, list[int]]:
        """Word id -> inclusive end positions (characters of the normalized text)."""
        ends = self._ends
        if ends is None:
            ends = {}
            for text, found in self.runs:
                if _ASTRAL_RE.search(text) is not None:
                    _astral_ends(text, found, ends)
                    continue
                for x, wid in found:
                    if x & 1:                # a hit ends on a code unit boundary
                        lst = ends.get(wid)
                        if lst is None:
                            ends[wid] = [x >> 1]
                        else:
                            lst.append(x >> 1)
            self._ends = ends
        return ends

    def _group_words(self) -> dict[int, list[int]]:
        """Plain literal group -> the word ids behind its hits in this field."""
        words: dict[int, list[int]] = {}
        plain = self.plain
        for w in self.ends():
            for gid in plain[w]:
                lst = words.get(gid)
                if lst is None:
                    words[gid] = [w]
                else:
                    lst.append(w)
        self._words = words
        return words

    def group_spans(self, gid: int) -> list[tuple[int, int]]:
        """Sorted normalized ``(start, end)`` hits of group ``gid`` in this field."""
        out = self._cache.get(gid)
        if out is None:
            if gid not in self.present:
                out = []
            else:
                spans = self.spans.get(gid)
                if spans is None:            # a plain literal group: its words' hits
                    ends, word_len = self._ends or self.ends(), self.word_len
                    spans = []
                    for w in (self._words or self._group_words())[gid]:
                        size = word_len[w] - 1
                        for e in ends[w]:
                            spans.append((e - size, e + 1))
                out = spans if len(spans) == 1 else sorted(set(spans))
            self._cache[gid] = out
        return out


def _astral_ends(text: str, found: list[tuple[int, int]], ends: dict[int, list[int]]) -> None:
    """:meth:`FieldHits.ends` for a text with surrogate pairs (two code units, one
    character)."""
    astral = [m.start() + k for k, m in enumerate(_ASTRAL_RE.finditer(text))]
    for x, wid in found:
        if x & 1:
            e = x >> 1
            ends.setdefault(wid, []).append(e - bisect_left(astral, e))


def close(sa: list[tuple[int, int]], sb: list[tuple[int, int]], n: int,
          same: bool = False) -> bool:
    """Some a in sa and b in sb with at most n characters between them (overlap: 0).

    ``sb`` is sorted. With ``same`` (``A near/N A``) the two hits must be different hits.
    b qualifies for a when it starts at most n after a ends and ends at most n before a
    starts: among the b that start early enough (a prefix of ``sb``), the two latest
    ends are enough to decide, so each a costs one bisection. A few pairs (the usual
    case) are simply all tried.
    """
    if len(sa) * len(sb) <= _FEW_PAIRS:
        for s1, e1 in sa:
            for s2, e2 in sb:
                if s2 <= e1 + n and e2 >= s1 - n and not (same and s1 == s2 and e1 == e2):
                    return True
        return False
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
