"""Validated, compiled rules: what the loader produces and the matcher consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.rules.condition import Node
from monitor.rules.regex import Regex

__all__ = ["CompiledRule", "Example", "Group"]


@dataclass(frozen=True)
class Group:
    """One word group of one rule, with its effective modifiers.

    ``words`` are normalized literals (or, for ``|re``, the patterns as written);
    ``field`` is "title", "body" or ``None`` (both).
    """

    name: str
    words: tuple[str, ...]
    field: str | None = None
    word: bool = False
    regex: bool = False
    cased: bool = False
    patterns: tuple[Regex, ...] = ()      # ``|re``: compiled with RE2 (``regex.py``)

    @property
    def label(self) -> str:
        mods = [m for m, on in (("title", self.field == "title"), ("body", self.field == "body"),
                                ("word", self.word), ("re", self.regex), ("cased", self.cased))
                if on]
        return self.name + "".join("|" + m for m in mods)


@dataclass(frozen=True)
class Example:
    """One entry of ``examples``: the text to evaluate and whether the rule must match."""

    title: str
    body: str
    expect: bool
    line: int

    @property
    def text(self) -> str:
        if not self.body or self.body == self.title:
            return self.title
        return f"{self.title} / {self.body}" if self.title else self.body


@dataclass(frozen=True)
class CompiledRule:
    id: str
    name: str
    category: str
    level: str
    weight: int
    file: str
    line: int
    groups: tuple[Group, ...]
    condition: Node                      # every Ref has ``index`` into ``groups``
    condition_text: str | None = None    # as written (None: all groups must match)
    positive: frozenset[int] = frozenset()   # groups not under ``not``: they explain a match
    examples: tuple[Example, ...] = field(default=())
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "category": self.category,
                "level": self.level, "weight": self.weight, "file": self.file,
                "line": self.line, "condition": self.condition_text,
                "groups": {g.label: list(g.words) for g in self.groups}}
