"""Backtest: re-evaluate stored items with a ruleset, without alerting or writing results,
and compare with the results stored when the items were scored (:func:`backtest`) or with
another ruleset (:func:`compare`: an edit in the console against the rules in force)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .rules import Ruleset
from .store import Store


@dataclass
class BacktestResult:
    items: int = 0
    matched: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    # rule id -> item ids the ruleset newly matches / no longer matches vs the stored results
    added: dict[str, list[int]] = field(default_factory=dict)
    removed: dict[str, list[int]] = field(default_factory=dict)
    ruleset_version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "matched": self.matched,
                "by_rule": dict(sorted(self.by_rule.items())),
                "newly_matched": {k: v for k, v in sorted(self.added.items())},
                "no_longer_matched": {k: v for k, v in sorted(self.removed.items())},
                "ruleset_version": self.ruleset_version}


def backtest(store: Store, ruleset: Ruleset, *, since: datetime | None,
             until: datetime | None = None, batch: int = 1000) -> BacktestResult:
    result = BacktestResult(ruleset_version=ruleset.version)
    pending: list[tuple[int, set[str]]] = []

    def flush() -> None:
        stored = store.stored_rule_hits([i for i, _ in pending])
        for item_id, now_hits in pending:
            before = stored.get(item_id, set())
            for rule in now_hits - before:
                result.added.setdefault(rule, []).append(item_id)
            for rule in before - now_hits:
                result.removed.setdefault(rule, []).append(item_id)
        pending.clear()

    for row in store.iter_items(since=since, until=until, batch=batch):
        ev = ruleset.evaluate(title=row.title, body=row.body, tone=row.tone_signal)
        hits = {m.rule for m in ev.matches}
        result.items += 1
        if hits:
            result.matched += 1
            result.by_rule.update(hits)
        if row.ruleset_version is not None:  # compare only with items scored before
            pending.append((row.id, hits))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return result


@dataclass
class Comparison:
    """Two rulesets over the same stored items: matches per rule under each, and the
    items the candidate newly matches or no longer matches, per rule."""

    items: int = 0
    current: Counter[str] = field(default_factory=Counter)
    candidate: Counter[str] = field(default_factory=Counter)
    added: dict[str, list[int]] = field(default_factory=dict)
    removed: dict[str, list[int]] = field(default_factory=dict)

    def rule_ids(self) -> list[str]:
        """Every rule that matched under either ruleset, in id order."""
        return sorted(set(self.current) | set(self.candidate))


def compare(store: Store, current: Ruleset | None, candidate: Ruleset, *,
            since: datetime | None, until: datetime | None = None,
            batch: int = 1000) -> Comparison:
    """Evaluate the stored items of the period with ``current`` (``None``: no rules yet)
    and ``candidate``, without alerting or writing anything."""
    result = Comparison()
    for row in store.iter_items(since=since, until=until, batch=batch):
        after = {m.rule for m in candidate.evaluate(title=row.title, body=row.body,
                                                    tone=row.tone_signal).matches}
        before = ({m.rule for m in current.evaluate(title=row.title, body=row.body,
                                                    tone=row.tone_signal).matches}
                  if current is not None else set())
        result.items += 1
        result.current.update(before)
        result.candidate.update(after)
        for rule in after - before:
            result.added.setdefault(rule, []).append(row.id)
        for rule in before - after:
            result.removed.setdefault(rule, []).append(row.id)
    return result
