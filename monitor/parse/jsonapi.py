"""JSON APIs (``type = "json"``): items picked out with JMESPath. (Stub: to be written.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import ParsedFeed


def parse_json_api(content: bytes, select: dict[str, Any], *, encoding: str | None = None,
                   timezone: str = "Asia/Shanghai", base_url: str | None = None,
                   now: datetime | None = None) -> ParsedFeed:
    """The items of one API answer."""
    raise NotImplementedError
