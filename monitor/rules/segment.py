"""Word boundaries for ``|word`` groups: jieba segmentation of a small window around a hit.

jieba's default tokenizer supplies the dictionary; it is loaded once per process, lazily,
and only ever read (nothing here adds words to it), so the full-text index, which uses the
same tokenizer, shares the one copy in memory. Each ruleset keeps its own
overlay of extra words (rule words jieba does not know) with the smallest frequency that
makes the word one token when it stands alone (jieba's ``suggest_freq(word, tune=False)``
level), so rule words never override ordinary segmentation: 和服 stays unmatched in
和服务 and 永和服装. The segmentation is jieba's ``cut(HMM=False)`` (DAG + max route),
re-implemented over dictionary lookups so that it needs no shared mutable state.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
from collections.abc import Iterable

__all__ = ["WordBoundaries"]

WINDOW = 10
_BLOCK_RE = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
_ENG_RE = re.compile(r"[a-zA-Z0-9]")

_base_lock = threading.Lock()
_base: tuple[dict[str, int], float, int] | None = None


def _base_dict() -> tuple[dict[str, int], float, int]:
    """jieba's prefix dictionary, log of its total frequency, and the total."""
    global _base
    if _base is None:
        with _base_lock:
            if _base is None:
                import jieba

                logging.getLogger("jieba").setLevel(logging.WARNING)
                tok = jieba.dt  # shared with store/search.py; read-only here
                tok.initialize()
                _base = (tok.FREQ, math.log(tok.total), tok.total)
    return _base


class WordBoundaries:
    """Decides whether ``text[start:end]`` starts and ends on jieba word boundaries."""

    def __init__(self, words: Iterable[str]) -> None:
        self._words = sorted(set(words))
        self._overlay: dict[str, int] | None = None
        self._lock = threading.Lock()

    def _extra(self) -> dict[str, int]:
        if self._overlay is None:
            with self._lock:
                if self._overlay is None:
                    self._overlay = self._build_overlay()
        return self._overlay

    def _build_overlay(self) -> dict[str, int]:
        freq, _logtotal, total = _base_dict()
        overlay: dict[str, int] = {}
        for word in self._words:
            if len(word) < 2 or freq.get(word):
                continue
            p = 1.0
            for a, b in self._tokens(word, {}):
                p *= (freq.get(word[a:b]) or 1) / total
            overlay[word] = max(int(p * total) + 1, 1)
        for word in list(overlay):
            for i in range(1, len(word)):
                frag = word[:i]
                if frag not in freq and frag not in overlay:
                    overlay[frag] = 0
        return overlay

    def is_word(self, text: str, start: int, end: int) -> bool:
        """True if the hit ``text[start:end]`` begins and ends on a word boundary."""
        lo = max(0, start - WINDOW)
        window = text[lo:min(len(text), end + WINDOW)]
        cuts = self.cuts(window)
        return (start - lo) in cuts and (end - lo) in cuts

    def cuts(self, text: str) -> set[int]:
        """Positions (0..len) where jieba's segmentation of ``text`` has a boundary."""
        overlay = self._extra()
        result = {0, len(text)}
        pos = 0
        for m in _BLOCK_RE.finditer(text):
            a, b = m.span()
            result.update(range(pos, a + 1))
            for x, y in self._tokens(m.group(), overlay):
                result.add(a + x)
                result.add(a + y)
            pos = b
        result.update(range(pos, len(text) + 1))
        return result

    def segment(self, text: str) -> list[str]:
        """The words of ``text`` (for tests and explanations)."""
        cuts = sorted(self.cuts(text))
        return [text[a:b] for a, b in itertools.pairwise(cuts)]

    @staticmethod
    def _tokens(block: str, overlay: dict[str, int]) -> list[tuple[int, int]]:
        """jieba ``cut(HMM=False)`` of one block, as (start, end) pairs."""
        freq, logtotal, _ = _base_dict()
        n = len(block)
        dag: list[list[int]] = []
        for k in range(n):
            ends = []
            i = k
            frag = block[k]
            while i < n and (frag in freq or frag in overlay):
                if overlay.get(frag) or freq.get(frag):
                    ends.append(i)
                i += 1
                frag = block[k:i + 1]
            dag.append(ends or [k])
        route: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        log = math.log
        for idx in range(n - 1, -1, -1):
            route[idx] = max(
                (log(overlay.get(block[idx:x + 1]) or freq.get(block[idx:x + 1]) or 1)
                 - logtotal + route[x + 1][0], x)
                for x in dag[idx])
        out: list[tuple[int, int]] = []
        x = 0
        eng_start = -1
        while x < n:
            y = route[x][1] + 1
            if y - x == 1 and _ENG_RE.match(block[x]):
                if eng_start < 0:
                    eng_start = x
            else:
                if eng_start >= 0:
                    out.append((eng_start, x))
                    eng_start = -1
                out.append((x, y))
            x = y
        if eng_start >= 0:
            out.append((eng_start, n))
        return out
