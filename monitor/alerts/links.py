"""Signed action links to an incident in the console: ``[web] base_url`` +
``/incidents/ID/link?token=…``, the token signed (itsdangerous, HMAC-SHA256 under the key
in ``$YUQING_WEB_SECRET``) over the incident, the recipient, a one-time nonce and the time
it was issued. Whoever holds a recipient's message can open that incident and acknowledge
it once, as that recipient, without a password, until ``[web] link_ttl`` has passed; an
altered, expired or reused token, or one shown with another incident, is refused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from ..config import Config
from ..errors import LinkError

SALT = "yuqing-monitor incident link"


@dataclass(frozen=True)
class ActionLink:
    incident_id: int
    recipient: str
    nonce: str
    issued_at: datetime


def _serializer(secret: str, now: datetime) -> URLSafeTimedSerializer:
    class Signer(TimestampSigner):             # the clock is ``now``, not time.time()
        def get_timestamp(self) -> int:
            return int(now.timestamp())

    return URLSafeTimedSerializer(secret, salt=SALT, signer=Signer)


def make_token(secret: str, incident_id: int, recipient: str, *, now: datetime) -> str:
    payload: list[Any] = [incident_id, recipient, secrets.token_urlsafe(12)]
    return str(_serializer(secret, now).dumps(payload))


def read_token(secret: str, token: str, *, now: datetime, max_age: float) -> ActionLink:
    """The link the token stands for; ``LinkError`` (the words for the page) when it was
    altered or made with another key, or is older than ``max_age`` seconds."""
    s = _serializer(secret, now)
    try:
        payload, issued = s.loads(token, max_age=int(max_age), return_timestamp=True)
    except SignatureExpired as e:
        when = e.date_signed
        raise LinkError("链接已过期：提醒中的链接只在发出后一段时间内有效"
                        + (f"（发出于 {_people(when)}）" if when else "")
                        + "，请登录控制台处理") from None
    except BadSignature:
        raise LinkError("链接无效：可能被改动过或不完整，请从提醒中重新打开，"
                        "或登录控制台处理") from None
    if (not isinstance(payload, list) or len(payload) != 3
            or not isinstance(payload[0], int) or not isinstance(payload[1], str)):
        raise LinkError("链接无效：内容不完整，请登录控制台处理")
    return ActionLink(payload[0], payload[1], str(payload[2]), issued.astimezone(UTC))


def _people(dt: datetime) -> str:
    from ..timefmt import for_people

    return for_people(dt.astimezone(UTC))


def link_path(incident_id: int, token: str) -> str:
    return f"/incidents/{incident_id}/link?" + urlencode({"token": token}, quote_via=quote)


def incident_url(config: Config, incident_id: int, recipient: str, *,
                 now: datetime | None = None) -> str | None:
    """The recipient's signed link, or ``None`` when the console is off, has no
    ``base_url`` or no signing key is set."""
    base = config.web.base_url
    secret = config.secret(config.web.secret_env)
    if not config.web.enabled or not base or not secret:
        return None
    from ..store.db import utcnow

    token = make_token(secret, incident_id, recipient, now=now or utcnow())
    return base.rstrip("/") + link_path(incident_id, token)
