"""Login and logout: a form with a CSRF token, argon2 verification and lockout in
``monitor.accounts``, a fresh session on success, and a return to the page asked for."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import accounts
from ...errors import LoginError
from ..context import blocking, context
from ..render import page
from ..security import csrf_ok, csrf_refused, current_user, end_session, safe_next, start_session


async def login_form(request: Request) -> Response:
    if await current_user(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), 303)
    return page(request, "login.html", title="登录",
                next=safe_next(request.query_params.get("next")), name="", error=None)


async def login(request: Request) -> Response:
    if not await csrf_ok(request):
        return csrf_refused(request)
    form = await request.form()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    ctx = context(request)
    source = request.client.host if request.client else None
    try:
        user = await blocking(accounts.authenticate, ctx.store, name, password,
                              now=ctx.now(), source=source)
    except LoginError as e:
        return page(request, "login.html", status=401, title="登录", next=target,
                    name=name, error=str(e))
    start_session(request, user)
    return RedirectResponse(target, 303)


async def logout(request: Request) -> Response:
    if not await csrf_ok(request):
        return csrf_refused(request)
    user = await current_user(request)
    if user is not None:
        ctx = context(request)
        await blocking(ctx.store.log_event, "user.logout", user.name, actor=user.name,
                       now=ctx.now())
    end_session(request)
    return RedirectResponse("/login", 303)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
