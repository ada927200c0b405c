"""Rule history: every change of the rules in force, appended in order (a revert too), with
when it went live, who made it, the files, which changed and a unified diff against the
rules before it. Never updated or deleted (triggers refuse it)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..models import RulesetVersion
from .db import iso, to_model, utcnow


def changed_files(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The names of the rule files added, removed or edited between two versions."""
    return sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))


class RulesetsMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]  # Database.tx: a write transaction
    log_event: Callable[..., None]  # AuditMixin.log_event: the one way into the audit log

    def record_ruleset(self, version: str, files: Mapping[str, str], rules: int, *,
                       actor: str | None = None, now: datetime | None = None) -> bool:
        """Record that the rules in force changed to ``version``; True when that is a
        change (the newest row holds another version, or there is none).

        The history is append-only: each change is a row of its own with its time, who
        made it, which files changed and the unified diff against the rules before it;
        going back to an earlier version is a new change, never a moved timestamp."""
        with self.tx():
            prev = self.db.execute("SELECT version, files FROM ruleset_versions "
                                   "ORDER BY id DESC LIMIT 1").fetchone()
            if prev is not None and prev[0] == version:
                return False                   # the same rules again (a restart, a reload)
            old: dict[str, str] = json.loads(prev[1]) if prev else {}
            changed = changed_files(old, files)
            diff = "".join(
                "".join(difflib.unified_diff(
                    old.get(n, "").splitlines(keepends=True),
                    files.get(n, "").splitlines(keepends=True),
                    fromfile=f"a/{n}" if n in old else "/dev/null",
                    tofile=f"b/{n}" if n in files else "/dev/null"))
                for n in changed)
            self.db["ruleset_versions"].insert({
                "version": version, "loaded_at": iso(now or utcnow()), "actor": actor,
                "rules": rules, "files": json.dumps(dict(files), ensure_ascii=False),
                "changed": json.dumps(changed, ensure_ascii=False), "diff": diff})
            self.log_event("rules.version", version, actor=actor,
                           data=json.dumps(changed, ensure_ascii=False), now=now)
        return True

    def ruleset_versions(self) -> list[RulesetVersion]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT version, loaded_at, actor, rules, changed, diff FROM ruleset_versions "
                "ORDER BY id DESC"))
        for r in rows:
            r["changed"] = json.loads(r["changed"] or "[]")
        return [to_model(RulesetVersion, r) for r in rows]

    def last_ruleset_files(self) -> dict[str, str] | None:
        """The files of the newest recorded version (the last rules known to be good)."""
        with self.lock:
            row = self.db.execute("SELECT files FROM ruleset_versions "
                                  "ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None
