"""The score stage: read each stored item's tone (one ``tone_many`` per batch, on title
and body together), evaluate it with the rules in force and store its tone, score, level
and matches (the explanation of every hit) in one transaction.

The tone model is loaded once per process (:class:`ToneKeeper`): the unit's retrained
file (``[tone] model``) when it exists, else the bundled model; before each batch the
file's modification time is checked and a changed file is loaded again (a broken one
keeps the model in use, with an error in the log). A staff correction of an item's tone
wins over the model's in the rules.

Evaluation happens before the write transaction opens, so the database's write lock is
held only for the writes. Items stored while no rules were usable, or whose scoring
failed, are found again by :meth:`Scorer.score_pending`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from .errors import ToneError
from .models import Item, ToneSignal, tone_text
from .rulekeeper import RuleKeeper
from .store import Store
from .tone import Tone, ToneModel, load_tone_model

log = logging.getLogger(__name__)


class ToneKeeper:
    """The tone model in use (thread-safe). ``path`` is the unit's model file: used when
    it exists, else the bundled model; :meth:`refresh` loads it again when it changed."""

    def __init__(self, path: Path | None, *, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self._model: ToneModel | None = None
        self._stamp: tuple[int, int] | None = None     # (mtime_ns, size) of the file loaded
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: object) -> ToneKeeper:
        from .config import Config

        assert isinstance(config, Config)
        return cls(config.tone.model_path(config.storage), enabled=config.tone.enabled)

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def refresh(self) -> ToneModel | None:
        """The model, loaded (again) if the file appeared, changed or went away."""
        if not self.enabled:
            return None
        with self._lock:
            stamp = self._file_stamp()
            if self._model is not None and stamp == self._stamp:
                return self._model
            try:
                model = load_tone_model(self.path if stamp is not None else None)
            except ToneError as e:
                if self._model is None:    # nothing to keep: the bundled model
                    log.error("情感模型文件无法读取，改用内置模型 path=%s error=%s",
                              self.path, e)
                    model = load_tone_model()
                else:
                    log.error("情感模型文件无法读取，继续使用原有模型 path=%s error=%s "
                              "version=%s", self.path, e, self._model.version)
                    self._stamp = stamp    # tell it once per change of the file
                    return self._model
            if self._model is not None:
                log.info("已换用情感模型 version=%s path=%s", model.version, model.source)
            self._model, self._stamp = model, stamp
            return model

    @property
    def model(self) -> ToneModel | None:
        return self.refresh()

    def tones(self, texts: Sequence[str], cut: Callable[[str], list[str]] | None = None
              ) -> tuple[list[Tone], str] | None:
        """The tones of ``texts`` and the model's version (``None`` when tone is off);
        ``cut`` is the ruleset's word segmentation, shared for the phrases."""
        model = self.refresh()
        if model is None:
            return None
        return model.tone_many(list(texts), cut=cut), model.version


def signal_of(item: Item, tone: Tone | None) -> ToneSignal | None:
    """What the rules read: a staff correction wins; else the tone just read, else the
    stored one."""
    if item.tone_corrected or tone is None:
        return item.tone_signal
    return ToneSignal(tone.label, float(tone.negative))


class Scorer:
    def __init__(self, store: Store, rules: RuleKeeper,
                 tones: ToneKeeper | None = None) -> None:
        self.store = store
        self.rules = rules
        self.tones = tones

    def score_items(self, item_ids: list[int], now: datetime) -> int:
        """Score the items; returns how many matched at least one rule."""
        rs = self.rules.ruleset
        if rs is None:
            return 0
        found = self.store.get_items(item_ids)
        items = [found[i] for i in item_ids if i in found]
        read = self.tones.tones([tone_text(i.title, i.body) for i in items], cut=rs.cut) \
            if self.tones is not None and items else None
        tones: list[Tone | None] = list(read[0]) if read else [None] * len(items)
        results = [(item.id, tone, rs.evaluate(title=item.title, body=item.body,
                                              tone=signal_of(item, tone)))
                   for item, tone in zip(items, tones, strict=True)]
        with self.store.tx():  # one transaction per batch
            for item_id, tone, ev in results:
                if tone is not None and read is not None:
                    self.store.save_tone(item_id, tone, model=read[1])
                self.store.save_evaluation(item_id, ev, version=rs.version, now=now)
        matched = 0
        for item_id, _tone, ev in results:
            if ev.matches:
                matched += 1
                log.info("条目命中规则 item=%s score=%s level=%s rules=%s", item_id,
                         ev.score, ev.level, ",".join(m.rule for m in ev.matches))
        return matched

    def score_pending(self, *, now: datetime, batch: int = 500,
                      stopping: Callable[[], bool] = lambda: False,
                      then: Callable[[list[int], datetime], object] | None = None) -> int:
        """Score items stored while no rules were usable, or whose scoring failed (in
        batches; between two, ``stopping()`` may end it: the rest waits for next time);
        ``then`` receives each scored batch (the next stages: incidents and alerts)."""
        rs = self.rules.ruleset
        if rs is None:
            return 0
        done = 0
        while not stopping() and (ids := self.store.unscored_item_ids(limit=batch)):
            with self.store.tx():   # the next stages in the same transaction
                self.score_items(ids, now)
                if then is not None:
                    then(ids, now)
            done += len(ids)
        if done:
            log.info("已为此前未评分的条目评分 items=%d version=%s", done, rs.version)
        return done
