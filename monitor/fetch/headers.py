"""HTTP header arithmetic (pure): ``Retry-After`` and cache lifetimes from response headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def retry_after(value: str | None, *, date: str | None = None,
                now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or HTTP-date; ``date`` is the
    response's Date header, the reference for an HTTP-date). ``None`` when absent/invalid."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    when = _http_date(text)
    if when is None:
        return None
    ref = _http_date(date) or now or datetime.now(UTC)
    return max(0.0, (when - ref).total_seconds())


def cache_lifetime(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asks us not to re-fetch: ``Cache-Control: max-age`` (or
    ``s-maxage``), else ``Expires`` minus ``Date``; ``None`` for no-cache/no-store or no hint.
    ``headers`` must have lower-case names."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, val = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = val.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    for key in ("max-age", "s-maxage"):
        if key in directives:
            try:
                return max(0.0, float(int(directives[key])))
            except ValueError:
                return 0.0  # malformed: treat as stale (RFC 9111 §4.2.1)
    if "expires" in headers:
        expires = _http_date(headers["expires"])
        if expires is None:
            return 0.0  # invalid Expires (e.g. "0") means already expired
        ref = _http_date(headers.get("date")) or now or datetime.now(UTC)
        return max(0.0, (expires - ref).total_seconds())
    return None
