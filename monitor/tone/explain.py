"""Which phrases drove a tone: n-gram contributions turned into spans of the original text.

A feature's contribution to tone *c* is its weight in the row times how much more it pulls
towards *c* than towards the other tones on average. The n-grams that pull hardest are marked
where they occur; touching or overlapping marks merge into one phrase (失望 + 望了 → 失望了),
and the strongest few phrases are returned in reading order, widened to whole words (jieba's
segmentation, as the rules use it) and trimmed of punctuation, so a person reads 没人管 and
太失望 rather than 都没人 and ，家长.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_SPANS = 4
MIN_SHARE = 0.3  # of the strongest contribution
SINGLE_SHARE = 0.6  # a one-character phrase must pull this hard to count
MIN_CONTRIBUTION = 0.05  # in logit units: below this nothing "drove" the tone


def spans_for(
    contributions: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> tuple[tuple[int, int], ...]:
    """Spans from per-occurrence contributions (occurrences of the same n-gram share one)."""
    if len(contributions) == 0:
        return ()
    top = float(contributions.max())
    if top < MIN_CONTRIBUTION:
        return ()
    keep = contributions >= max(MIN_CONTRIBUTION, MIN_SHARE * top)
    # the longest n-grams first, so a phrase is marked by its trigrams before its characters
    order = np.lexsort((-contributions[keep], -lengths[keep].astype(np.int64)))
    begins = starts[keep][order].astype(np.int64)
    ends = begins + lengths[keep][order]
    scores = contributions[keep][order]
    marks = sorted(zip(begins.tolist(), ends.tolist(), scores.tolist(), strict=True))
    merged: list[list[float]] = []
    for begin, end, score in marks:
        if merged and begin <= merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            last[2] = max(last[2], score)
        else:
            merged.append([begin, end, score])
    merged = [m for m in merged if m[1] - m[0] > 1 or m[2] >= SINGLE_SHARE * top]
    strongest = sorted(merged, key=lambda m: -m[2])[:MAX_SPANS]
    return tuple(sorted((int(b), int(e)) for b, e, _ in strongest))


_jieba: Any = None
_jieba_lock = threading.Lock()
WINDOW = 8  # characters of context each side that segmentation sees


def _tokenizer() -> Any:
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import rjieba  # its dictionary costs a third of a second: only when needed

                _jieba = rjieba.Jieba()
    return _jieba


def _is_mark(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZ"


def default_cut(text: str) -> list[str]:
    """jieba's words of ``text`` (HMM off, as the rules segment)."""
    words: list[str] = _tokenizer().cut(text, False)
    return words


Cut = Callable[[str], list[str]]


def readable(text: str, spans: tuple[tuple[int, int], ...],
             cut: Cut | None = None) -> tuple[tuple[int, int], ...]:
    """Spans widened to word boundaries (``cut``: a jieba tokenizer's words; the rules'
    own when the score stage passes it, so the process holds one dictionary) and trimmed
    of punctuation and spaces."""
    cut = cut or default_cut
    out: list[tuple[int, int]] = []
    for start, end in spans:
        lo, hi = max(0, start - WINDOW), min(len(text), end + WINDOW)
        cuts = list(itertools.accumulate(map(len, cut(text[lo:hi])), initial=lo))
        start = cuts[bisect.bisect_right(cuts, start) - 1]
        end = cuts[bisect.bisect_left(cuts, end)]
        while start < end and _is_mark(text[start]):
            start += 1
        while end > start and _is_mark(text[end - 1]):
            end -= 1
        if end > start:
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
    return tuple(out)
