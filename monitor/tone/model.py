"""The tone model at run time: load the file, label texts, explain the label.

A model file is one ``.npz``: the n-gram vocabulary (sorted ``uint64`` keys), its idf, the
logistic-regression weights (features × tones), the intercepts, the calibration temperature
and a JSON card of where it came from. Loading is a few array reads; labelling is numpy.
"""

from __future__ import annotations

import json
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

    def __post_init__(self) -> None:
        # how much more each feature pulls towards a tone than towards the others on average
        k = self.weights.shape[1]
        total = self.weights.sum(axis=1, keepdims=True)
        self._pull = (self.weights - (total - self.weights) / (k - 1)) / self.temperature

    @property
    def version(self) -> str:
        return str(self.card.get("version", "?"))

    def tone(self, text: str) -> Tone:
        return self.tone_many([text])[0]

    def tone_many(self, texts: Sequence[str]) -> list[Tone]:
        return [self._one(t) for t in texts]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts × tones) calibrated probabilities, for evaluation."""
        x = features.vectorise(texts, self.keys, self.idf)
        return _softmax((np.asarray(x @ self.weights) + self.intercept) / self.temperature)

    def _one(self, text: str) -> Tone:
        keys, starts, lengths = features.ngram_keys(features.codepoints(text))
        n = len(self.keys)
        pos = np.searchsorted(self.keys, keys)
        pos[pos >= n] = 0
        hit = self.keys[pos] == keys
        pos, starts, lengths = pos[hit], starts[hit], lengths[hit]
        cols, inverse, tf = np.unique(pos, return_inverse=True, return_counts=True)
        values = (1.0 + np.log(tf)) * self.idf[cols]
        norm = float(np.sqrt(np.dot(values, values)))
        if norm > 0:
            values /= norm
        logits = (values @ self.weights[cols] + self.intercept) / self.temperature
        p = _softmax(logits[None, :])[0]
        best = int(np.argmax(p))
        contrib = (values * self._pull[cols, best])[inverse]
        spans = explain.spans_for(contrib, starts, lengths)
        return Tone(TONES[best], float(p[0]), float(p[1]), float(p[2]), spans)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        card = json.dumps(self.card, ensure_ascii=False, sort_keys=True)
        np.savez_compressed(
            tmp, format=np.array(FORMAT), keys=self.keys, idf=self.idf.astype(np.float32),
            weights=self.weights.astype(np.float32), intercept=self.intercept.astype(np.float32),
            temperature=np.array(self.temperature, dtype=np.float64),
            card=np.frombuffer(card.encode("utf-8"), dtype=np.uint8),
        )
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
    except (OSError, KeyError, ValueError) as exc:
        raise ToneError(f"情感模型文件 {where} 已损坏或不是本程序的模型：{exc}") from exc
    if model.weights.shape != (len(model.keys), len(TONES)):
        raise ToneError(f"情感模型文件 {where} 的维度不一致")
    return model
