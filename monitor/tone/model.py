"""The tone model at run time: load the file, label texts, explain the label.

A model file is one ``.npz``: the n-gram vocabulary (sorted ``uint64`` keys), its idf, the
logistic-regression weights (features × tones), the intercepts, the calibration temperature
and a JSON card of where it came from. Loading is a few array reads; labelling is numpy.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ToneError
from monitor.models import TONE_NAMES, TONES
from monitor.tone import explain, features

FORMAT = 1
BUNDLED = "model.npz"


@dataclass(frozen=True)
class Tone:
    """One text's tone: its label, the three calibrated probabilities, and the phrases."""

    label: str  # negative, neutral or positive
    negative: float
    neutral: float
    positive: float
    spans: tuple[tuple[int, int], ...] = ()  # (start, end) offsets into the text given

    @property
    def name(self) -> str:
        """负面、中性 or 正面."""
        return TONE_NAMES[self.label]

    def phrases(self, text: str) -> list[str]:
        return [text[a:b] for a, b in self.spans]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "negative": round(self.negative, 4),
                "neutral": round(self.neutral, 4), "positive": round(self.positive, 4),
                "spans": [list(s) for s in self.spans]}


@dataclass
class ToneModel:
    keys: np.ndarray  # (features,) uint64, sorted
    idf: np.ndarray  # (features,) float32
    weights: np.ndarray  # (features, tones) float32
    intercept: np.ndarray  # (tones,) float32
    temperature: float = 1.0
    card: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # where it was loaded from, for messages

    @property
    def version(self) -> str:
        return str(self.card.get("version", "?"))

    def tone(self, text: str) -> Tone:
        return self.tone_many([text])[0]

    def tone_many(self, texts: Sequence[str], batch: int = 512,
                  cut: explain.Cut | None = None) -> list[Tone]:
        """The tones of ``texts`` in order; ``cut`` segments words for the phrases (the
        rules' tokenizer, so a process holds one jieba dictionary; default its own)."""
        out: list[Tone] = []
        for i in range(0, len(texts), batch):
            out.extend(self._batch(texts[i:i + batch], cut))
        return out

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts × tones) calibrated probabilities, for evaluation."""
        x = features.vectorise(texts, self.keys, self.idf)
        return _softmax((np.asarray(x @ self.weights) + self.intercept) / self.temperature)

    def _batch(self, texts: Sequence[str], cut: explain.Cut | None) -> list[Tone]:
        """Several texts at once: one vocabulary search for all their n-grams (sorted, so
        the search walks the vocabulary forward), then each text's row and phrases."""
        grams = [features.ngram_keys(features.codepoints(t)) for t in texts]
        sizes = np.array([len(g[0]) for g in grams])
        if sizes.sum() == 0:
            return [self._tone_of(np.zeros(0, dtype=np.int64), t, g, cut)
                    for t, g in zip(texts, grams, strict=True)]
        allkeys = np.concatenate([g[0] for g in grams])
        distinct, which = np.unique(allkeys, return_inverse=True)
        n = len(self.keys)
        pos = np.searchsorted(self.keys, distinct)
        pos[pos >= n] = 0
        found = self.keys[pos] == distinct
        col = np.where(found, pos, -1)[which]  # per occurrence: its feature, or -1
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        return [self._tone_of(col[bounds[i]:bounds[i + 1]], texts[i], grams[i], cut)
                for i in range(len(texts))]

    def _tone_of(self, occ_cols: np.ndarray, text: str,
                 grams: tuple[np.ndarray, np.ndarray, np.ndarray],
                 cut: explain.Cut | None) -> Tone:
        _, starts, lengths = grams
        hit = occ_cols >= 0
        occ = occ_cols[hit].astype(np.int64)
        cols, inverse, tf = np.unique(occ, return_inverse=True, return_counts=True)
        values = (1.0 + np.log(tf)) * self.idf[cols]
        norm = float(np.sqrt(np.dot(values, values)))
        if norm > 0:
            values /= norm
        z = ((values @ self.weights[cols] + self.intercept) / self.temperature).tolist()
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = sum(e)
        p = [v / total for v in e]
        best = p.index(max(p))
        # how much more each feature pulls towards the tone than towards the others
        w = self.weights[cols]
        pull = (w[:, best] - (w.sum(axis=1) - w[:, best]) / (w.shape[1] - 1)) / self.temperature
        contrib = (values * pull)[inverse]
        spans = explain.spans_for(contrib, starts[hit], lengths[hit])
        if spans:
            spans = explain.readable(text[: features.MAX_CHARS], spans, cut)
        return Tone(TONES[best], float(p[0]), float(p[1]), float(p[2]), spans)

    def save(self, path: Path) -> None:
        """Write the model atomically, byte for byte the same for the same model (an ``.npz``
        whose members carry a fixed date, so a rebuild can be compared by checksum)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        card = json.dumps(self.card, ensure_ascii=False, sort_keys=True)
        arrays = {
            "format": np.array(FORMAT), "keys": self.keys, "idf": self.idf.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
            "temperature": np.array(self.temperature, dtype=np.float64),
            "card": np.frombuffer(card.encode("utf-8"), dtype=np.uint8),
        }
        tmp = path.with_name(path.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, buf.getvalue())
        tmp.replace(path)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e: np.ndarray = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def bundled_path() -> Path:
    return Path(str(resources.files("monitor.tone").joinpath(BUNDLED)))


def load_tone_model(path: str | Path | None = None) -> ToneModel:
    """The model at ``path`` (the config's ``[tone] model``), else the bundled one."""
    where = Path(path) if path else bundled_path()
    try:
        with np.load(where, allow_pickle=False) as z:
            if int(z["format"]) != FORMAT:
                raise ToneError(f"情感模型 {where} 的格式版本 {int(z['format'])} 不受支持")
            card = json.loads(bytes(z["card"]).decode("utf-8"))
            model = ToneModel(
                keys=z["keys"], idf=z["idf"], weights=z["weights"], intercept=z["intercept"],
                temperature=float(z["temperature"]), card=card, source=str(where),
            )
    except FileNotFoundError as exc:
        raise ToneError(f"找不到情感模型文件 {where}") from exc
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ToneError(f"情感模型文件 {where} 已损坏或不是本程序的模型：{exc}") from exc
    if model.weights.shape != (len(model.keys), len(TONES)):
        raise ToneError(f"情感模型文件 {where} 的维度不一致")
    return model
