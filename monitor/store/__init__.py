"""The single SQLite store (WAL): schema migrations, feeds' state, items, full-text search.

``Store`` is the one handle every stage receives; each concern lives in its own module
(``db`` connection + migrations, ``feeds``, ``items``, ``matches``, ``rulesets``,
``search``, ``incidents``, ``outbox``, ``audit``, ``reporting``, ``retention``,
``users``, ``health``, ``tones``) as a mixin; ``lock`` (one daemon per database) and
``maintenance`` (backup, restore, vacuum, integrity) work on the file itself.
"""

from __future__ import annotations

from .audit import AuditMixin
from .db import Database
from .feeds import FeedStateMixin
from .health import HealthMixin
from .incidents import IncidentsMixin
from .items import ItemsMixin
from .matches import MatchesMixin
from .outbox import OutboxMixin
from .reporting import ReportingMixin
from .retention import RetentionMixin
from .rulesets import RulesetsMixin
from .search import SearchMixin
from .tones import TonesMixin
from .users import UsersMixin


class Store(FeedStateMixin, ItemsMixin, MatchesMixin, RulesetsMixin, SearchMixin,
            IncidentsMixin, TonesMixin, OutboxMixin, AuditMixin, ReportingMixin, RetentionMixin, UsersMixin,
            HealthMixin, Database):
    """All persistence for yuqing-monitor."""


__all__ = ["Store"]
