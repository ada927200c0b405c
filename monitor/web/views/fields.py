"""Reading the fields of the search, silence, report and user forms: dates typed or picked
by people (Beijing time unless an offset is given), page numbers, short text; a bad value
raises ``FieldError`` with a Chinese message the page shows beside the form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...errors import MonitorError
from ...timefmt import read_time


class FieldError(MonitorError):
    """A form field that cannot be read; the message names the field and the fix."""


def text(form: Any, name: str, limit: int = 2000) -> str:
    """A text field, stripped; '' when missing."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def date(value: str, label: str) -> datetime | None:
    """``YYYY-MM-DD`` or an ISO 8601 time (Beijing time without an offset), as UTC; None
    when empty."""
    if not value.strip():
        return None
    try:
        return read_time(value.strip())
    except ValueError:
        raise FieldError(f"{label}“{value[:40]}”不是日期：请写成 YYYY-MM-DD，"
                         "如 2026-01-01") from None


def page_number(value: str | None, *, last: int = 1000) -> int:
    """A page number from the query string: 1 when missing or unreadable, at most ``last``."""
    try:
        n = int(value or "1")
    except ValueError:
        return 1
    return min(max(n, 1), last)
