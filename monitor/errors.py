"""Domain exceptions: the one place where everything that can go wrong is named.

Only ``monitor.cli`` (and the web layer) turn these into user-facing messages.

    MonitorError                 base; ``str(e)`` is a complete Chinese message
    ├── ConfigError              bad config file / key / value (file, key, hint)
    ├── StoreError               database cannot be opened or migrated
    │   ├── DatabaseMissingError a read-only command found no database file
    │   ├── DatabaseGoneError    the daemon's database file was deleted or replaced
    │   └── MaintenanceError     a backup, restore or vacuum refused or failed (``yuqing db``)
    ├── AlreadyRunningError      another daemon holds this database's lock (``holder``: its PID)
    ├── FetchError               one feed could not be fetched (``kind`` classifies it)
    ├── ParseError               bytes are not a usable feed (``kind`` = "not_feed"/"parse"),
    │                            or a page source whose layout changed (``kind`` = "layout")
    ├── RuleError                rule file invalid (``problems``: list of (file, line, message))
    ├── NotFoundError            an id/name the user gave does not exist
    ├── HandlingError            a handling step that does not fit the incident's state
    ├── ExportError              a ledger that cannot be written in the format asked for
    ├── DeliveryError            an alert could not be delivered on one channel
    └── ReportError              a report cannot be written (no CJK font, bad format or path)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime


class MonitorError(Exception):
    """Base of every domain error; the message is meant for the user (Chinese)."""


_ARRAY_NAMES = {"feeds": ("个", "订阅源"), "routes": ("条", "告警路由"), "staff": ("位", "监测人员")}
_INDEX = re.compile(r"([A-Za-z_][\w-]*)\[(\d+)\](\.?)")


def people_key(key: str) -> str:
    """A config key as people count: ``feeds[0].url`` -> ``第 1 个订阅源的 url``,
    ``fetch.allow_private_networks[0]`` -> ``fetch.allow_private_networks 第 1 项``."""
    def one(m: re.Match[str]) -> str:
        name, index, dot = m.group(1), int(m.group(2)) + 1, m.group(3)
        unit, noun = _ARRAY_NAMES.get(name, ("", ""))
        text = f"第 {index} {unit}{noun}" if noun else f"{name} 第 {index} 项"
        return f"{text}的 " if dot else text
    return _INDEX.sub(one, key)


class ConfigError(MonitorError):
    """``file``, ``key`` and ``hint`` are the first problem's; ``more``: the other problems
    found in the same run (one line each in ``str(e)``)."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 hint: str | None = None, more: tuple[ConfigError, ...] = ()) -> None:
        self.file = file
        self.key = key
        self.hint = hint
        self.message = message
        self.more = more
        parts = []
        if file:
            parts.append(str(file))
        if key:
            parts.append(f"配置项 {people_key(key)}")
        head = ": ".join(parts)
        text = f"{head}: {message}" if head else message
        if hint:
            text += f"（{hint}）"
        super().__init__("\n".join([text, *(str(e) for e in more)]))

    @property
    def all(self) -> list[ConfigError]:
        """This problem and every other one found with it."""
        return [self, *self.more]

    @classmethod
    def of(cls, errors: list[ConfigError]) -> ConfigError:
        """One error standing for ``errors`` (the first, with the rest as ``more``)."""
        first = errors[0]
        return cls(first.message, file=first.file, key=first.key, hint=first.hint,
                   more=tuple(errors[1:]))


class StoreError(MonitorError):
    pass


class DatabaseMissingError(StoreError):
    """A command that only reads found no database file (and did not create one)."""


class DatabaseGoneError(StoreError):
    """The database file the daemon opened was deleted or replaced under it."""


class AuditError(StoreError):
    """The audit log's hash chain does not hold: a row was altered, removed or inserted
    behind the program's back."""


class MaintenanceError(StoreError):
    """A backup, restore or vacuum that was refused (the target exists, the file given is
    not an intact yuqing database) or failed part-way (nothing was replaced then)."""


class AlreadyRunningError(MonitorError):
    """Another ``yuqing run`` holds the database's lock; ``holder`` is its PID if known."""

    def __init__(self, message: str, *, holder: int | None = None) -> None:
        self.holder = holder
        super().__init__(message)


class FetchError(MonitorError):
    """A fetch failed. ``kind`` is one of: timeout, connection, http_status, too_large,
    not_feed, blocked, redirect, parse, layout (an html/json source's selectors no longer
    find its items: the page changed), rsshub (RSSHub's own error page), browser (no
    Chromium for a rendered page)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # survive pickling (parsing runs in worker processes) with kind and status intact
        return (_rebuild_fetch_error, (type(self), self.kind, str(self), self.status,
                                       self.retry_after))


def _rebuild_fetch_error(cls: type[FetchError], kind: str, message: str, status: int | None,
                         retry_after: float | None) -> FetchError:
    e = cls.__new__(cls)
    FetchError.__init__(e, kind, message, status=status, retry_after=retry_after)
    return e


class ParseError(FetchError):
    def __init__(self, message: str, *, kind: str = "parse") -> None:
        super().__init__(kind, message)


@dataclass(frozen=True)
class RuleProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RuleError(MonitorError):
    """One or more problems in rule files; each names ``file:line``."""

    def __init__(self, problems: list[RuleProblem] | RuleProblem) -> None:
        if isinstance(problems, RuleProblem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NotFoundError(MonitorError):
    pass


class HandlingError(MonitorError):
    """A handling step (acknowledge, resolve, reopen, level) that does not apply to the
    incident as it stands, or lacks what it needs (a note, a known outcome)."""


class ExportError(MonitorError):
    """A ledger (舆情台账) that cannot be written as asked (too many rows for xlsx...)."""


class DeliveryError(MonitorError):
    """One attempt to deliver an alert on one channel failed. ``permanent``: retrying
    cannot help (e.g. the platform rejected the robot's token); ``retry_after``: the
    platform asked us to wait this many seconds (a robot's "sending too fast")."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)


class ReportError(MonitorError):
    """A report cannot be written: no font that shows Chinese for its charts, an unknown
    format, or an output path that cannot be used. The message names the fix."""


class ToneError(MonitorError):
    """The tone model: a missing or damaged model file, training data or labelled file."""


class AccountError(MonitorError):
    """A console account that cannot be made or changed as asked (a taken name, an unknown
    role, a password too short)."""


class LoginError(MonitorError):
    """A refused login: wrong name or password (never saying which), a disabled account, or
    one locked after repeated failures (``locked_until`` says till when)."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        self.locked_until = locked_until
        super().__init__(message)


class LinkError(MonitorError):
    """A signed action link that cannot act: altered, expired, already used, or for an
    incident or person that no longer exists. The message is the page the user sees."""
