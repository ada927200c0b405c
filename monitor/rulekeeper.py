"""The ruleset in force: load it, hot-reload it when files change, record every version,
and keep the last good rules when an edit is broken (scoring with it is ``monitor.score``).

A broken edit never replaces the rules in use: the new files are validated first and the
swap is one assignment. At start-up, if the files on disk are broken, the newest version
recorded in the database (the last rules known to be good) is used instead.
"""

from __future__ import annotations

import logging
import os
import pwd
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from .errors import RuleError
from .rules import Ruleset, load_ruleset, load_ruleset_texts
from .rules.loader import RULE_SUFFIXES
from .store import Store
from .store.rulesets import changed_files

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(rules_dir: Path) -> Fingerprint:
    """Cheap change detection: (name, mtime_ns, size) of every rule file."""
    try:
        entries = sorted(p for p in rules_dir.iterdir() if p.suffix in RULE_SUFFIXES)
    except OSError:
        return ()
    out = []
    for p in entries:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def _owner(rules_dir: Path, names: Iterable[str]) -> str | None:
    """Best guess at who edited the rules: the owner of the newest changed file."""
    newest: tuple[int, int] | None = None
    for name in names:
        try:
            st = (rules_dir / name).stat()
        except OSError:
            continue
        if newest is None or st.st_mtime_ns > newest[0]:
            newest = (st.st_mtime_ns, st.st_uid)
    if newest is None:
        return None
    try:
        return pwd.getpwuid(newest[1]).pw_name
    except KeyError:
        return str(newest[1])


class RuleKeeper:
    def __init__(self, rules_dir: Path, store: Store) -> None:
        self.rules_dir = Path(rules_dir)
        self.store = store
        self.ruleset: Ruleset | None = None
        self.problems: list[str] = []
        self._seen: Fingerprint | None = None

    # ---- loading ------------------------------------------------------------------------
    # ``load`` and ``reload_if_changed`` do everything in the calling thread. The daemon
    # uses the pieces instead: ``compile`` (pure, may be slow on hostile files) on a
    # thread of its own under a time limit, then ``adopt_initial``/``adopt`` (database
    # writes) in the store worker.
    def load(self, *, now: datetime) -> Ruleset | None:
        """Initial load: the files on disk, else the last good version from the database."""
        fp = fingerprint(self.rules_dir)
        self.adopt_initial(fp, self.compile(), now=now)
        return self.ruleset

    def reload_if_changed(self, *, now: datetime) -> bool:
        """Reload when the files changed; returns True when a new ruleset went live."""
        fp = self.pending_change()
        if fp is None:
            return False
        return self.adopt(fp, self.compile(), now=now)

    def pending_change(self) -> Fingerprint | None:
        """The files' fingerprint when they changed since last seen, else ``None``."""
        current = fingerprint(self.rules_dir)
        return None if current == self._seen else current

    def compile(self) -> Ruleset | RuleError:
        """Load the files on disk (no database access); problems are returned, not raised."""
        try:
            return load_ruleset(self.rules_dir)
        except RuleError as e:
            return e

    def adopt_initial(self, fp: Fingerprint, result: Ruleset | RuleError | None, *,
                      now: datetime) -> None:
        """Put the first ruleset in force; ``result`` is what :meth:`compile` gave, or
        ``None`` when it took too long. Broken or late files: the last good version."""
        self._seen = fp
        if isinstance(result, Ruleset):
            self._activate(result, now=now)
            return
        if isinstance(result, RuleError):
            self._report(result, now=now)
        files = self.store.last_ruleset_files()
        if files:
            try:
                self.ruleset = load_ruleset_texts(files)
            except RuleError as e:  # e.g. recorded before an upgrade made it invalid
                log.error("最近一次可用的规则也无法加载 problems=%s", "；".join(
                    str(p) for p in e.problems[:3]))
            else:
                log.warning("磁盘上的规则不可用，改用最近一次可用的规则 version=%s rules=%d",
                            self.ruleset.version, len(self.ruleset))
                return
        log.error("没有可用的规则：条目照常保存，规则修好后再评分")

    def adopt(self, fp: Fingerprint, result: Ruleset | RuleError | None, *,
              now: datetime) -> bool:
        """Put a reloaded ruleset in force unless it is broken (or ``None``: too slow);
        returns True when a new ruleset went live."""
        self._seen = fp
        if not isinstance(result, Ruleset):
            if result is not None:
                self._report(result, now=now)
            kept = self.ruleset.version if self.ruleset else "无"
            log.error("规则重新加载被拒绝，继续使用原有规则 version=%s", kept)
            return False
        if self.ruleset is not None and result.version == self.ruleset.version:
            self.problems = []   # the broken edit was undone: nothing is wrong any more
            return False
        self._activate(result, now=now)
        return True

    def _activate(self, ruleset: Ruleset, *, now: datetime) -> None:
        changed = changed_files(self.ruleset.files if self.ruleset else {}, ruleset.files)
        actor = _owner(self.rules_dir, changed) or os.environ.get("USER")
        self.store.record_ruleset(ruleset.version, ruleset.files, len(ruleset), actor=actor,
                                  now=now)
        self.ruleset = ruleset  # the swap: one assignment, readers see old or new
        self.problems = []
        log.info("规则已加载 version=%s rules=%d words=%d", ruleset.version, len(ruleset),
                 ruleset.word_count)

    def _report(self, e: RuleError, *, now: datetime) -> None:
        self.problems = [str(p) for p in e.problems]
        self.store.log_event("rules.rejected", str(self.rules_dir), now=now,
                             data={"problems": self.problems[:20]})
        for p in e.problems:
            log.error("规则错误 %s", p)
