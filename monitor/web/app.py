"""The console as one Starlette app: the routes of every ``views`` module, static files,
and the middleware every request passes (security headers, a body cap, the signed session
cookie); domain errors become the message page here, never a traceback."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from ..errors import MonitorError, NotFoundError
from .context import WebContext
from .render import HERE, message
from .security import SESSION_COOKIE, BodyLimit, SecurityHeaders
from .views import (
    auth,
    dashboard,
    feeds,
    health,
    incidents,
    items,
    links,
    reports,
    rules,
    silences,
    users,
)

log = logging.getLogger(__name__)

VIEWS = [auth, health, links, dashboard, incidents, items, feeds, rules, silences, reports,
         users]


def all_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [route for view in VIEWS for route in view.routes]
    routes.append(Mount("/static", app=StaticFiles(directory=str(HERE / "static")),
                        name="static"))
    return routes


async def _not_found(request: Request, exc: Exception) -> Response:
    return message(request, "找不到", str(exc), status=404)


async def _domain(request: Request, exc: Exception) -> Response:
    return message(request, "无法完成", str(exc), status=400)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "找不到此页面", 405: "不支持此操作", 400: "请求有误"}
    return message(request, titles.get(exc.status_code, "请求未完成"),
                   "请检查地址，或从导航重新进入。" if exc.status_code == 404 else str(exc.detail),
                   status=exc.status_code)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("控制台请求出错 path=%s", request.url.path)
    return message(request, "内部错误", "处理请求时出错，已记入日志。请稍后重试或联系管理员。",
                   status=500)


def create_app(ctx: WebContext) -> Starlette:
    app = Starlette(
        routes=all_routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit),
            Middleware(SessionMiddleware, secret_key=ctx.secret, session_cookie=SESSION_COOKIE,
                       max_age=int(ctx.config.web.session_ttl), same_site="lax",
                       https_only=ctx.config.web.secure),
        ],
        exception_handlers={NotFoundError: _not_found, MonitorError: _domain,
                            HTTPException: _http, Exception: _crash},
    )
    app.state.ctx = ctx
    return app
