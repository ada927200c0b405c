"""Training the tone model: the bundled build (``make train-tone``) and the unit's retrain
(``yuqing tone train``), with the held-out figures each is judged by.

The bundled build reads the public sets (checked against their checksums) and the shipped
headlines, fits one multinomial logistic regression over character 1-3-gram TF-IDF (see
:mod:`monitor.tone.fit`), calibrates a temperature on the dev split, measures every test
split and writes the model and its card. Everything is determined by the data and the
recipe below: no random numbers are drawn, so the same files give the same model.

The retrain starts from a model (the bundled one, or the unit's last), adds the n-grams of
the staff's corrections to its vocabulary, and fits the corrections plus the shipped
headlines with the old weights as the prior's centre. It is kept only if it is no worse than
the old model on every held-out set: the headlines' test split, the corrections' own held-out
part, and the public test splits when their directory is given.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from monitor.models import TONES
from monitor.tone import corpus, features
from monitor.tone.corpus import Example
from monitor.tone.evaluate import Scores, score
from monitor.tone.fit import fit, fit_temperature
from monitor.tone.model import ToneModel

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Recipe:
    """Every choice the bundled model is built with (recorded in its card)."""

    min_df: int = 3
    alpha: float = 3e-6
    max_iter: int = 400
    # the share of the training signal each source gets, whatever its size
    mass: dict[str, float] = field(default_factory=lambda: {
        "hotel": 0.3, "waimai": 0.3, "shopping": 0.6, "weibo2018": 4.0, "smp_usual": 8.0,
        "smp_virus": 2.0, "smp_virus_eval": 1.0, "headlines": 4.0})
    tone_weight: dict[str, float] = field(default_factory=lambda: {
        "negative": 0.8, "neutral": 1.3, "positive": 1.3})


@dataclass(frozen=True)
class Retrain:
    """How a retrain weighs the unit's corrections against the model it starts from."""

    alpha: float = 1e-3       # pull towards the old weights
    corrections_mass: float = 3.0  # one correction weighs as much as this many headlines
    headlines_mass: float = 1.0    # (per text: a few corrections must not outweigh them all)
    held_out_share: float = 0.25  # of the corrections, never trained on
    tolerance: float = 0.01   # macro-F1 a held-out set may lose and still count as "no worse"
    max_iter: int = 200


def allowed_matrix(examples: Sequence[Example]) -> np.ndarray:
    index = {t: i for i, t in enumerate(TONES)}
    allowed = np.zeros((len(examples), len(TONES)), dtype=bool)
    for i, e in enumerate(examples):
        for t in e.tones:
            allowed[i, index[t]] = True
    return allowed


def source_weights(examples: Sequence[Example], mass: dict[str, float],
                   tone_weight: dict[str, float] | None = None) -> np.ndarray:
    counts = Counter(e.source for e in examples)
    w = np.array([mass.get(e.source, 1.0) / counts[e.source] for e in examples])
    if tone_weight:
        w *= np.array([tone_weight.get(e.label or "", 1.0) for e in examples])
    return w


def measure(model: ToneModel, examples: Sequence[Example]) -> Scores:
    """Scores on examples; "not negative" labels count as right unless called negative."""
    gold: list[str] = []
    predicted = [t.label for t in model.tone_many([e.text for e in examples])]
    for e, p in zip(examples, predicted, strict=True):
        if e.label is not None:
            gold.append(e.label)
        else:  # a label set: right if the prediction is in it, else the first of the set
            gold.append(p if p in e.tones else sorted(e.tones)[0])
    return score(gold, predicted)


def digest_examples(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.source}\t{','.join(sorted(e.tones))}\t{e.text}\n".encode())
    return h.hexdigest()


def build(data_dir: Path, *, recipe: Recipe | None = None,
          progress: Progress = lambda _m: None) -> tuple[ToneModel, dict[str, Any]]:
    """The bundled model from the public sets in ``data_dir`` and the shipped headlines."""
    recipe = recipe or Recipe()
    public, sums = corpus.load_public(data_dir)
    headlines = corpus.load_headlines()
    examples = public + headlines
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev" and e.label is not None]
    progress(f"读入 {len(examples)} 条（训练 {len(train)}），建立字符 1-3 元组词表")
    keys, idf = features.build_vocabulary([e.text for e in train], min_df=recipe.min_df)
    x = features.vectorise([e.text for e in train], keys, idf)
    progress(f"词表 {len(keys)} 项；拟合逻辑回归")
    fitted = fit(x, allowed_matrix(train),
                 source_weights(train, recipe.mass, recipe.tone_weight),
                 alpha=recipe.alpha, max_iter=recipe.max_iter)
    model = ToneModel(keys, idf, fitted.coef.T.copy(), fitted.intercept)
    xd = features.vectorise([e.text for e in dev], keys, idf)
    logits = np.asarray(xd @ model.weights) + model.intercept
    labels = np.array([TONES.index(e.label or "") for e in dev])
    temperature = fit_temperature(logits, labels)
    model = ToneModel(keys, idf, model.weights, model.intercept, temperature)
    progress(f"校准温度 {temperature:.3f}；在留出集上评估")
    figures = {src: measure(model, [e for e in examples if e.split == "test" and e.source == src])
               for src in [d.name for d in corpus.PUBLIC] + [corpus.OWN.name]}
    sizes = {src: dict(Counter(e.split for e in examples if e.source == src))
             for src in figures}
    card: dict[str, Any] = {
        "version": "bundled-" + hashlib.sha256(
            fitted.coef.tobytes() + fitted.intercept.tobytes()).hexdigest()[:12],
        "kind": "bundled",
        "recipe": asdict(recipe),
        "data": sums | {"headlines.tsv": corpus.sha256_file(corpus.HEADLINES)},
        "examples_digest": digest_examples(examples),
        "sizes": sizes,
        "features": len(keys),
        "iterations": fitted.iterations,
        "temperature": temperature,
        "calibration": calibration(model, dev),
        "figures": {k: v.as_dict() for k, v in figures.items()},
    }
    model.card.update(card)
    return model, card


def calibration(model: ToneModel, examples: Sequence[Example], bins: int = 10) -> dict[str, float]:
    """Expected calibration error and Brier score of the ``negative`` probability."""
    if not examples:
        return {"ece": 0.0, "brier": 0.0}
    p = model.probabilities([e.text for e in examples])[:, 0]
    y = np.array([1.0 if e.label == "negative" else 0.0 for e in examples])
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    ece = sum(abs(float(p[which == b].mean() - y[which == b].mean())) * float(np.mean(which == b))
              for b in range(bins) if np.any(which == b))
    return {"ece": round(ece, 4), "brier": round(float(np.mean((p - y) ** 2)), 4)}


@dataclass
class RetrainResult:
    model: ToneModel
    before: dict[str, Scores]  # held-out set name → the old model's scores
    after: dict[str, Scores]
    corrections_used: int
    corrections_held_out: int
    accepted: bool
    reason: str


def retrain(base: ToneModel, corrections: Sequence[tuple[str, str]], *, now: datetime,
            data_dir: Path | None = None, settings: Retrain | None = None,
            headlines: Sequence[Example] | None = None,
            held_out: Mapping[str, Sequence[Example]] | None = None) -> RetrainResult:
    """A new model from ``base`` and the staff's ``(text, tone)`` corrections, and whether it
    may replace ``base`` (no held-out set worse by more than the tolerance). ``held_out``
    adds labelled sets of the unit's own (``yuqing tone train --held-out FILE``), judged
    like the others and never trained on."""
    settings = settings or Retrain()
    shipped = list(headlines) if headlines is not None else corpus.load_headlines()
    fixes = [Example(text, frozenset({tone}), "corrections",
                     corpus.split_of(text, settings.held_out_share)) for text, tone in corrections]
    fix_train = [e for e in fixes if e.split != "test"]
    fix_test = [e for e in fixes if e.split == "test"]
    train = fix_train + [e for e in shipped if e.split == "train"]
    held: dict[str, list[Example]] = {"headlines": [e for e in shipped if e.split == "test"]}
    if fix_test:
        held["corrections"] = fix_test
    if data_dir is not None:
        public, _ = corpus.load_public(data_dir)
        for d in corpus.PUBLIC:
            held[d.name] = [e for e in public if e.split == "test" and e.source == d.name]
    for name, examples in (held_out or {}).items():
        held[name] = list(examples)

    # the vocabulary grows by the corrections' n-grams; new features start at zero weight
    new = np.setdiff1d(np.concatenate(
        [features.ngram_keys(features.codepoints(e.text))[0] for e in fix_train] or
        [np.zeros(0, dtype=np.uint64)]), base.keys)
    keys = np.concatenate([base.keys, np.unique(new)])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    fill = float(base.idf.max()) if len(base.idf) else 1.0
    idf = np.concatenate([base.idf, np.full(len(keys) - len(base.keys), fill, np.float32)])[order]
    w0 = np.concatenate([base.weights / base.temperature,
                         np.zeros((len(keys) - len(base.keys), len(TONES)), np.float32)])[order]
    b0 = base.intercept / base.temperature
    x = features.vectorise([e.text for e in train], keys, idf)
    per_text = {"corrections": settings.corrections_mass, "headlines": settings.headlines_mass}
    weights = np.array([per_text.get(e.source, 1.0) for e in train])
    fitted = fit(x, allowed_matrix(train), weights, alpha=settings.alpha,
                 prior=(w0.T, b0), max_iter=settings.max_iter)
    card = {
        "version": "unit-" + now.strftime("%Y%m%d%H%M%S"), "kind": "retrained",
        "base": base.version, "trained_at": now.isoformat(), "corrections": len(fixes),
        "corrections_used": len(fix_train), "features": len(keys),
        "recipe": asdict(settings),
    }
    model = ToneModel(keys, idf, fitted.coef.T.copy(), fitted.intercept, 1.0, card)
    before = {name: measure(base, ex) for name, ex in held.items() if ex}
    after = {name: measure(model, ex) for name, ex in held.items() if ex}
    worse = [name for name in after
             if after[name].macro_f1 < before[name].macro_f1 - settings.tolerance]
    model.card["figures"] = {k: v.as_dict() for k, v in after.items()}
    reason = "在留出集上变差：" + "、".join(worse) if worse else "在所有留出集上不差于原模型"
    return RetrainResult(model, before, after, len(fix_train), len(fix_test), not worse, reason)
