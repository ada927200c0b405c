"""Which phrases drove a tone: n-gram contributions turned into spans of the original text.

A feature's contribution to tone *c* is its weight in the row times how much more it pulls
towards *c* than towards the other tones on average. The n-grams that pull hardest are marked
where they occur; touching or overlapping marks merge into one phrase (失望 + 望了 → 失望了),
and the strongest few phrases are returned in reading order.
"""

from __future__ import annotations

import numpy as np

MAX_SPANS = 4
MIN_SHARE = 0.25  # of the strongest contribution
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
    strongest = sorted(merged, key=lambda m: -m[2])[:MAX_SPANS]
    return tuple(sorted((int(b), int(e)) for b, e, _ in strongest))
