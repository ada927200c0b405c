"""Word boundaries for ``|word`` groups: jieba segmentation of a small window around a hit.

Segmentation is jieba's ``cut(HMM=False)`` (DAG + max route over jieba's dictionary) as
implemented by jieba-rs (``rjieba``): same dictionary, same algorithm, a fraction of the
memory of Python jieba's prefix dictionary. Each ruleset gets its own tokenizer instance,
built lazily on the first ``|word`` hit, in which rule words jieba does not know are added
with the smallest frequency that makes the word one token when it stands alone (jieba's
``suggest_freq``), so rule words never override ordinary segmentation: 和服 stays
unmatched in 和服务 and 永和服装. The instance is only read after it is built, so
evaluation from several threads and rulesets being swapped are safe.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

import rjieba

__all__ = ["WordBoundaries"]

WINDOW = 10


class WordBoundaries:
    """Decides whether ``text[start:end]`` starts and ends on jieba word boundaries."""

    def __init__(self, words: Iterable[str]) -> None:
        self._words = sorted(set(words))
        self._jieba: rjieba.Jieba | None = None
        self._lock = threading.Lock()

    def _tokenizer(self) -> rjieba.Jieba:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    jieba = rjieba.Jieba()
                    for word in self._words:
                        if len(word) >= 2 and not jieba.has_word(word):
                            jieba.add_word(word, jieba.suggest_freq(word), None)
                    self._jieba = jieba
        return self._jieba

    def is_word(self, text: str, start: int, end: int) -> bool:
        """True if the hit ``text[start:end]`` begins and ends on a word boundary."""
        lo = max(0, start - WINDOW)
        window = text[lo:min(len(text), end + WINDOW)]
        cuts = self.cuts(window)
        return (start - lo) in cuts and (end - lo) in cuts

    def cuts(self, text: str) -> set[int]:
        """Positions (0..len) where jieba's segmentation of ``text`` has a boundary."""
        return set(itertools.accumulate(map(len, self._tokenizer().cut(text, False)),
                                        initial=0))

    def cut(self, text: str) -> list[str]:
        """jieba's words of ``text`` (this ruleset's tokenizer: shared with the tone model's
        phrases, so one process keeps one dictionary)."""
        words: list[str] = self._tokenizer().cut(text, False)
        return words

    def segment(self, text: str) -> list[str]:
        """The words of ``text`` (for tests and explanations)."""
        cuts = sorted(self.cuts(text))
        return [text[a:b] for a, b in itertools.pairwise(cuts)]
