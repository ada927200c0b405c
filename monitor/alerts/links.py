"""Signed links to an incident in the console: ``[web] base_url`` + the incident's path,
signed for one recipient with the key in ``$YUQING_WEB_SECRET`` (HMAC-SHA256), so a
message's link opens that incident for that person and cannot be altered."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

from ..config import Config


def link_signature(secret: str, incident_id: int, recipient: str) -> str:
    msg = f"incident:{incident_id}:{recipient}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:32]


def verify_link(secret: str, incident_id: int, recipient: str, sig: str) -> bool:
    return hmac.compare_digest(link_signature(secret, incident_id, recipient), sig)


def incident_url(config: Config, incident_id: int, recipient: str) -> str | None:
    """The recipient's signed link, or ``None`` when the console has no ``base_url`` or
    no signing key is set."""
    base = config.web.base_url
    secret = config.secret(config.web.secret_env)
    if not config.web.enabled or not base or not secret:
        return None
    query = urlencode({"to": recipient, "sig": link_signature(secret, incident_id, recipient)},
                      quote_via=quote)
    return f"{base.rstrip('/')}/incidents/{incident_id}?{query}"
