"""Character n-gram features: the one featurizer that training and scoring share.

A text becomes sublinear-tf × idf weights over its character 1- to 3-grams, L2-normalised
(the TF-IDF of the model card). An n-gram is one 63-bit integer, its code points packed
21 bits each, so the vocabulary is a sorted ``uint64`` array searched with numpy and the
model needs no dictionary of strings. Normalisation maps character to character (ASCII and
full-width letters to lower case, full-width forms to half-width, digits to 0, whitespace to
a space), so every n-gram's position is a position in the original text: the spans of
:mod:`monitor.tone.explain` need no second mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

MAX_N = 3
MAX_CHARS = 600  # longer texts are cut: the tone of an item is in its title and opening
_SHIFT = np.uint64(21)


def _table() -> dict[int, int]:
    table: dict[int, int] = {}
    for c in range(ord("A"), ord("Z") + 1):
        table[c] = c + 32
    for c in range(0xFF01, 0xFF5F):  # full-width ASCII forms
        half = c - 0xFEE0
        table[c] = half + 32 if ord("A") <= half <= ord("Z") else half
    for ch in "0123456789０１２３４５６７８９":
        table[ord(ch)] = ord("0")
    for ch in "\t\n\r\x0b\x0c\x00\u3000\u00a0":
        table[ord(ch)] = ord(" ")
    return table


_TRANSLATE = _table()


def normalise(text: str) -> str:
    """The text as the model reads it: same length, one character for one character."""
    return text[:MAX_CHARS].translate(_TRANSLATE)


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(normalise(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def ngram_keys(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every 1-3-gram of a code-point array: (keys, starts, lengths), in that order."""
    keys, starts, lengths = [], [], []
    size = len(cps)
    for n in range(1, MAX_N + 1):
        if size < n:
            break
        k = cps[: size - n + 1].copy()
        for j in range(1, n):
            k = (k << _SHIFT) | cps[j : size - n + 1 + j]
        keys.append(k)
        starts.append(np.arange(size - n + 1, dtype=np.int32))
        lengths.append(np.full(size - n + 1, n, dtype=np.int8))
    if not keys:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int8)
    return np.concatenate(keys), np.concatenate(starts), np.concatenate(lengths)


def key_text(key: int) -> str:
    """The n-gram a key stands for (for the model card and debugging)."""
    chars = []
    while key:
        chars.append(chr(key & 0x1FFFFF))
        key >>= 21
    return "".join(reversed(chars))


def doc_keys(texts: Sequence[str]) -> list[np.ndarray]:
    """Each text's distinct n-gram keys (for document frequencies at training time)."""
    return [np.unique(ngram_keys(codepoints(t))[0]) for t in texts]


def build_vocabulary(texts: Sequence[str], min_df: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(sorted keys, smoothed idf) of the n-grams found in at least ``min_df`` texts."""
    per_doc = doc_keys(texts)
    allkeys = np.concatenate(per_doc) if per_doc else np.zeros(0, dtype=np.uint64)
    keys, df = np.unique(allkeys, return_counts=True)
    keep = df >= min_df
    keys, df = keys[keep], df[keep]
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    return keys, idf.astype(np.float32)


def vectorise(texts: Sequence[str], keys: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    """The TF-IDF rows of ``texts`` over the vocabulary ``keys``."""
    import scipy.sparse as sp  # here, not at the top: labelling one text needs no scipy
    indptr = [0]
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    nkeys = len(keys)
    for text in texts:
        k = ngram_keys(codepoints(text))[0]
        pos = np.searchsorted(keys, k)
        pos[pos >= nkeys] = 0
        found = pos[keys[pos] == k] if nkeys else pos[:0]
        col, tf = np.unique(found, return_counts=True)
        w = (1.0 + np.log(tf)) * idf[col]
        norm = np.sqrt(np.dot(w, w))
        if norm > 0:
            w /= norm
        cols.append(col)
        vals.append(w.astype(np.float32))
        indptr.append(indptr[-1] + len(col))
    data = np.concatenate(vals) if vals else np.zeros(0, dtype=np.float32)
    indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sp.csr_matrix((data, indices, np.array(indptr)), shape=(len(texts), nkeys))
