"""Tone (正面/中性/负面): the bundled model, its loader, training and evaluation.

``load_tone_model()`` gives the bundled model (or the file the config's ``[tone] model``
names); ``tone(text)`` and ``tone_many(texts)`` label texts with a calibrated ``negative``
probability and the phrases that drove the label. Training (``make train-tone``,
``yuqing tone train``) lives in :mod:`monitor.tone.train`; its figures in ``MODEL.md``.
"""

from monitor.tone.model import Tone, ToneModel, load_tone_model

__all__ = ["Tone", "ToneModel", "load_tone_model"]
