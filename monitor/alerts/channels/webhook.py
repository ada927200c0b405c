"""The generic JSON webhook (CONTRACT.md, Config: "The generic webhook receives ...").

An HTTP POST of ``message.fields`` as a JSON object (UTF-8, ``Content-Type:
application/json``) with ``"delivery"``: the outbox row id, also sent as the header
``X-Yuqing-Delivery`` so receivers can drop a repeat. With a secret, the request is
signed as GitHub and Stripe sign theirs: ``X-Yuqing-Timestamp`` is the Unix time in
seconds (from ``SendContext.now``) and ``X-Yuqing-Signature: sha256=HEX``, HEX being the
hex HMAC-SHA256 under the secret of ``f"{timestamp}."`` followed by the raw body bytes;
receivers should reject a timestamp more than 5 minutes off (replays). Any 2xx is success.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ...models import Message
from .base import SendContext, Target, post

SIGNATURE_HEADER = "X-Yuqing-Signature"
TIMESTAMP_HEADER = "X-Yuqing-Timestamp"
DELIVERY_HEADER = "X-Yuqing-Delivery"


def body_of(message: Message, ctx: SendContext) -> bytes:
    """The JSON body: the message's fields plus the delivery id."""
    data: dict[str, Any] = {**message.fields, "delivery": ctx.delivery_id}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=HEX`` for the ``X-Yuqing-Signature`` header."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return f"sha256={digest}"


async def send(target: Target, message: Message, ctx: SendContext) -> str | None:
    body = body_of(message, ctx)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        DELIVERY_HEADER: str(ctx.delivery_id),
    }
    if target.secret:
        ts = int(ctx.timestamp())
        headers[TIMESTAMP_HEADER] = str(ts)
        headers[SIGNATURE_HEADER] = signature(target.secret, ts, body)
    response = await post(target, ctx, target.address, body, headers)
    return f"HTTP {response.status_code}"
