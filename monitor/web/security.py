"""Who may do what in the console, and the protections every response carries.

- Sessions live in a signed cookie (Starlette's ``SessionMiddleware``: itsdangerous,
  ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when ``base_url`` is https), holding the user's
  name, the account's session epoch (a password change, role change or disable ends every
  older session) and an expiry checked against our own clock.
- Roles grant capabilities (:data:`CAPABILITIES`); :func:`require` guards each endpoint and,
  for a POST, checks the form's CSRF token against the session's before the view runs.
- :class:`SecurityHeaders` adds CSP without inline scripts or styles, frame denial,
  ``Referrer-Policy: no-referrer`` (an action link's token must not leak), ``nosniff`` and
  ``no-store``; :class:`BodyLimit` refuses oversized requests before they are read.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..models import ROLES, User
from .context import blocking, context

SESSION_COOKIE = "yuqing_session"
MAX_BODY = 2 * 1024 * 1024           # the largest form (a rule file being edited) is far less

# read: see incidents, items, feeds, rules, reports' data; handle: act on incidents;
# report: generate and download reports and ledgers; admin: rules, feeds, users, silences
CAPABILITIES: dict[str, frozenset[str]] = {
    "staff": frozenset({"read", "handle"}),
    "reporter": frozenset({"read", "report"}),
    "admin": frozenset({"read", "handle", "report", "admin"}),
}
CAPABILITY_NAMES = {"read": "查看", "handle": "处置舆情", "report": "生成报告",
                    "admin": "管理规则、订阅源、用户和静默"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

Endpoint = Callable[[Request], Awaitable[Response]]


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response; ``no-store`` on all
    but static files (pages hold incident details and action links)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


class BodyLimit:
    """Refuse a request whose declared or actual body exceeds :data:`MAX_BODY`."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await _too_large(send)


class TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = "提交的内容过大".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ---- sessions ------------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use: anonymous pages with a form too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_ok(request: Request) -> bool:
    form = await request.form()
    sent = form.get("csrf")
    token = request.session.get("csrf")
    return (isinstance(sent, str) and isinstance(token, str)
            and hmac.compare_digest(sent.encode(), token.encode()))


def start_session(request: Request, user: User) -> None:
    """A fresh session for ``user`` (a new CSRF token too: nothing carried over from
    before the login)."""
    ctx = context(request)
    request.session.clear()
    request.session.update({
        "u": user.name, "e": user.session_epoch,
        "x": ctx.now().timestamp() + ctx.config.web.session_ttl,
        "csrf": secrets.token_urlsafe(32)})


def end_session(request: Request) -> None:
    request.session.clear()


async def current_user(request: Request) -> User | None:
    """The logged-in user, or None when there is no session, it expired, the account was
    disabled or its session epoch moved on (password or role changed)."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    name, epoch, expires = (request.session.get(k) for k in ("u", "e", "x"))
    if not isinstance(name, str) or not isinstance(expires, (int, float)):
        return None
    ctx = context(request)
    if expires <= ctx.now().timestamp():
        request.session.pop("u", None)
        return None
    user = await blocking(ctx.store.get_user, name)
    if user is None or not user.active or user.session_epoch != epoch:
        request.session.pop("u", None)
        return None
    request.state.user = user
    return user


def can(user: User | None, capability: str) -> bool:
    return user is not None and capability in CAPABILITIES.get(user.role, frozenset())


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never ``//host`` or a URL)."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(c in target for c in "\r\n")):
        return "/"
    return target


def require(capability: str) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: a login (GET without one goes to the login page and back), the
    capability (else a 403 page naming what the role cannot do) and, on a POST, the CSRF
    token. The user is on ``request.state.user``."""
    if capability not in CAPABILITY_NAMES:
        raise ValueError(capability)

    def wrap(fn: Endpoint) -> Endpoint:
        @functools.wraps(fn)
        async def guarded(request: Request) -> Response:
            from .render import message

            user = await current_user(request)
            if user is None:
                if request.method in ("GET", "HEAD"):
                    path = request.url.path + (f"?{request.url.query}" if request.url.query
                                               else "")
                    return RedirectResponse("/login?next=" + quote(path, safe=""), 303)
                return message(request, "请先登录", "登录已过期或尚未登录，请重新登录后再操作。",
                               status=401, link=("/login", "登录"))
            if not can(user, capability):
                return message(request, "权限不足",
                               f"{ROLES.get(user.role, user.role)}不能"
                               f"{CAPABILITY_NAMES[capability]}。如需此权限，请联系管理员。",
                               status=403)
            if request.method not in ("GET", "HEAD") and not await csrf_ok(request):
                return csrf_refused(request)
            return await fn(request)

        guarded.capability = capability  # type: ignore[attr-defined]
        return guarded

    return wrap


def csrf_refused(request: Request) -> Response:
    from .render import message

    return message(request, "请求已失效", "页面已过期或来源不明（缺少有效的表单令牌），"
                   "请返回刷新页面后重试。", status=403)


def user_of(request: Request) -> User:
    """The user :func:`require` put on the request."""
    user: Any = getattr(request.state, "user", None)
    assert isinstance(user, User)
    return user
