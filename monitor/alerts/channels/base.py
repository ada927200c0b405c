"""What every channel shares: the target, the send context, and one careful HTTP POST.

A :class:`Target` is where one recipient hears on one channel; its ``address`` (a robot
URL carries the robot's token) and ``secret`` are secrets, so its ``repr`` hides them and
:meth:`Target.key` names it for rate limiting without them. :func:`post` sends a body and
turns every way HTTP can fail into a :class:`~monitor.errors.DeliveryError` whose
message is Chinese, names the platform and what it answered, and never contains the
URL's token, the signing secret or anything else :func:`scrub` knows to hide (httpx error
strings can carry the URL, so they are never passed through raw).

HTTP outcomes: 2xx is handed back to the channel (robots then read their ``errcode``);
429 is "too fast" with ``Retry-After``; 5xx, timeouts and network errors are retryable;
other 4xx are permanent (the URL, token or payload is wrong: retrying cannot help).
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from ...config import SmtpConfig
from ...errors import DeliveryError
from ...models import CHANNEL_NAMES
from ...redact import MASK, redact_hook, redact_text

TOO_FAST_DEFAULT = 60.0      # seconds to wait when a platform says "too fast" without a time
_MAX_SHOWN = 300             # characters of a platform's answer kept in an error message


@dataclass(frozen=True)
class Target:
    """One channel of one recipient. ``address`` is an email address or the webhook/robot
    URL (a secret: it carries the token); ``secret`` the signing secret, if any."""

    channel: str          # "email" | "webhook" | "wecom" | "dingtalk" | "feishu"
    address: str
    secret: str | None = field(default=None, repr=False)

    def key(self) -> str:
        """A stable id without secrets, e.g. ``dingtalk:3f9a0c12be45`` (for rate caps)."""
        digest = hashlib.sha256(self.address.strip().encode("utf-8")).hexdigest()[:12]
        return f"{self.channel}:{digest}"

    def shown(self) -> str:
        """The address as people may see it: an email address as is, a URL redacted."""
        return self.address if self.channel == "email" else redact_hook(self.address)

    def __repr__(self) -> str:
        signed = ", signed" if self.secret else ""
        return f"Target({self.channel!r}, {self.shown()!r}{signed})"


@dataclass
class SendContext:
    """What one delivery attempt needs besides the target and the message."""

    http: httpx.AsyncClient
    smtp: SmtpConfig
    smtp_password: str | None
    now: datetime                 # aware UTC; the source of every timestamp and signature
    delivery_id: int              # idempotency key (X-Yuqing-Delivery, "delivery", Message-ID)
    tls_context: ssl.SSLContext | None = None   # SMTP TLS trust (None: the system's CAs)

    def timestamp(self) -> float:
        now = self.now if self.now.tzinfo is not None else self.now.replace(tzinfo=UTC)
        return now.timestamp()


def channel_name(target: Target) -> str:
    return CHANNEL_NAMES.get(target.channel, target.channel)


# ---- hiding secrets -----------------------------------------------------------------

_PLAIN_SEGMENT = re.compile(r"[a-z][a-z-]{0,15}|v\d{1,2}")   # robot, send, open-apis, v2


def secrets_of(target: Target, extra: tuple[str | None, ...] = ()) -> list[str]:
    """Every value that must not be shown: the address (URL) itself, each of its query
    values and path segments that are not plain words (as ``redact_hook`` hides them), the signing secret, and ``extra``."""
    found: list[str] = []
    if target.channel != "email":
        found.append(target.address)
        parts = urlsplit(target.address)
        for _, value in parse_qsl(parts.query, keep_blank_values=False):
            found.append(value)
        for segment in parts.path.split("/"):
            segment = unquote(segment)
            if segment and not _PLAIN_SEGMENT.fullmatch(segment):
                found.append(segment)
        if parts.password:
            found.append(parts.password)
    found.extend(v for v in (target.secret, *extra) if v)
    return sorted({v for v in found if len(v) >= 4}, key=len, reverse=True)


def scrub(text: str, target: Target, extra: tuple[str | None, ...] = ()) -> str:
    """``text`` without any secret of ``target`` (nor the registered ones, nor tokens in
    any URL inside it), shortened for a record."""
    for secret in secrets_of(target, extra):
        text = text.replace(secret, MASK)
    text = redact_text(text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


def fail(target: Target, what: str, *, permanent: bool = False,
         retry_after: float | None = None, extra: tuple[str | None, ...] = ()) -> DeliveryError:
    """A DeliveryError about ``target``: ``钉钉机器人（https://…access_token=***）：what``."""
    message = scrub(f"{channel_name(target)}（{target.shown()}）：{what}", target, extra)
    return DeliveryError(message, permanent=permanent, retry_after=retry_after)


# ---- HTTP -----------------------------------------------------------------------------

def retry_after_seconds(value: str | None, now: datetime,
                        default: float = TOO_FAST_DEFAULT) -> float:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def os_reason(exc: BaseException) -> str:
    """The operating-system error at the bottom of an exception chain, in Chinese."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "连接被拒绝，对方未在该端口监听"
        if isinstance(seen, socket.gaierror):
            return "主机名无法解析"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS 证书校验失败：{seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return "TLS 握手失败"
        if isinstance(seen, TimeoutError):
            return "连接超时"
        if isinstance(seen, OSError) and seen.strerror:
            return f"系统错误 {seen.errno}：{seen.strerror}"
        seen = seen.__cause__ or seen.__context__
    return "网络不通或对方拒绝连接"


def _network_reason(exc: httpx.HTTPError) -> str:
    """What went wrong on the network, in Chinese, from the exception's type only."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "连接超时"
    if isinstance(exc, httpx.TimeoutException):
        return "等待应答超时"
    if isinstance(exc, httpx.ConnectError):
        return f"无法连接（{os_reason(exc)}）"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "对方断开了连接或应答不合 HTTP 规范"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "地址不是 http 或 https"
    return f"网络错误（{type(exc).__name__}）"


async def post(target: Target, ctx: SendContext, url: str, body: bytes,
               headers: dict[str, str]) -> httpx.Response:
    """POST ``body`` to ``url``; a 2xx response is returned, anything else raises."""
    if not url.lower().startswith(("http://", "https://")):
        raise fail(target, "地址不是 http:// 或 https:// 开头，请检查配置", permanent=True)
    try:
        response = await ctx.http.post(url, content=body, headers=headers)
    except httpx.InvalidURL:
        raise fail(target, "地址无法解析，请检查配置", permanent=True) from None
    except httpx.HTTPError as exc:
        raise fail(target, _network_reason(exc)) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    answer = response.text.strip()
    said = f"：{answer}" if answer else ""
    if status == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"), ctx.now)
        raise fail(target, f"发送太频繁（HTTP 429）{said}", retry_after=wait)
    if status >= 500 or status in (408, 425):
        raise fail(target, f"对方暂时出错（HTTP {status}）{said}")
    # retried like the rest (up to [alerts] max_attempts): the contract retries every
    # failure, and a receiver's configuration is often fixed while the row waits
    raise fail(target, f"请求被拒绝（HTTP {status}）{said}")


def answer_json(target: Target, response: httpx.Response) -> dict[str, Any]:
    """A robot's JSON answer; a 2xx that is not a JSON object is a (retryable) failure."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = response.text.strip() or "（空）"
        raise fail(target, f"应答不是预期的 JSON：{text}")
    return data
