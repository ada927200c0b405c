"""Console accounts (``/users``, admins only): the list with role, status and last login
(never a password hash), and adding an account, changing its role, setting a new
password, disabling and enabling it, all through ``monitor.accounts`` with the admin as
actor. An admin cannot disable or demote themself (the console must keep an admin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import accounts
from ...errors import AccountError
from ...models import ROLES, User
from ...timefmt import for_people
from ..context import blocking, context
from ..render import page
from ..security import require, start_session, user_of
from .fields import text

FLASH = "users_flash"


def status_text(user: User, now: datetime) -> str:
    if not user.active:
        return "停用"
    if user.locked_until is not None and user.locked_until > now:
        return f"锁定至 {for_people(user.locked_until)}"
    return "正常"


def _name(request: Request) -> str:
    return str(request.path_params["name"])


async def _page(request: Request, *, status: int = 200, error: str | None = None,
                form: dict[str, str] | None = None) -> Response:
    ctx = context(request)
    now = ctx.now()
    users: list[User] = await blocking(ctx.store.list_users)
    rows = [{"name": u.name, "role": u.role, "active": u.active, "status": status_text(u, now),
             "last_login_at": u.last_login_at, "created_at": u.created_at} for u in users]
    return page(request, "users/list.html", status=status, title="用户", rows=rows,
                error=error, notice=request.session.pop(FLASH, None), roles=ROLES,
                form=form or {"name": "", "role": "staff"},
                quote_name=lambda n: quote(n, safe=""))


@require("admin")
async def users_page(request: Request) -> Response:
    return await _page(request)


async def _change(request: Request, work: Callable[[], Any], done: str, *,
                  form: dict[str, str] | None = None) -> Response:
    """Run ``work`` in a thread; on success back to the list with ``done`` said once, on
    an ``AccountError`` the list with the error."""
    try:
        await blocking(work)
    except AccountError as e:
        return await _page(request, status=400, error=str(e), form=form)
    request.session[FLASH] = done
    return RedirectResponse("/users", 303)


@require("admin")
async def user_add(request: Request) -> Response:
    ctx, admin = context(request), user_of(request)
    raw = await request.form()
    name, role = text(raw, "name", 200), text(raw, "role", 40)
    password = raw.get("password")
    password = password if isinstance(password, str) else ""

    def work() -> None:
        accounts.add_user(ctx.store, name, role, password, by=admin.name, now=ctx.now())

    return await _change(request, work, f"已添加用户 {name}（{ROLES.get(role, role)}）",
                         form={"name": name, "role": role})


@require("admin")
async def user_role(request: Request) -> Response:
    ctx, admin, name = context(request), user_of(request), _name(request)
    role = text(await request.form(), "role", 40)

    def work() -> None:
        if name == admin.name and accounts.check_role(role) != "admin":
            raise AccountError("不能取消自己的管理员角色：请由另一位管理员操作，"
                               "以免控制台没有管理员")
        accounts.set_role(ctx.store, name, role, by=admin.name, now=ctx.now())

    return await _change(request, work, f"已将 {name} 的角色改为{ROLES.get(role, role)}"
                         "（其已登录的会话需重新登录）")


@require("admin")
async def user_password(request: Request) -> Response:
    ctx, admin, name = context(request), user_of(request), _name(request)
    password = (await request.form()).get("password")
    password = password if isinstance(password, str) else ""

    def work() -> None:
        accounts.set_password(ctx.store, name, password, by=admin.name, now=ctx.now())

    response = await _change(request, work, f"已为 {name} 设置新密码（其已登录的会话需重新登录）")
    if name == admin.name and response.status_code == 303:
        # the new password ended every session of this account: this one goes on
        fresh = await blocking(ctx.store.get_user, name)
        if fresh is not None:
            start_session(request, fresh)
            request.session[FLASH] = "已设置新密码；其他设备上的登录已失效"
    return response


async def _set_active(request: Request, active: bool) -> Response:
    ctx, admin, name = context(request), user_of(request), _name(request)

    def work() -> None:
        if name == admin.name and not active:
            raise AccountError("不能停用自己的账号：请由另一位管理员操作")
        accounts.set_active(ctx.store, name, active, by=admin.name, now=ctx.now())

    return await _change(request, work, f"已{'启用' if active else '停用'}用户 {name}")


@require("admin")
async def user_disable(request: Request) -> Response:
    return await _set_active(request, False)


@require("admin")
async def user_enable(request: Request) -> Response:
    return await _set_active(request, True)


routes = [
    Route("/users", users_page, methods=["GET"]),
    Route("/users", user_add, methods=["POST"]),
    Route("/users/{name}/role", user_role, methods=["POST"]),
    Route("/users/{name}/password", user_password, methods=["POST"]),
    Route("/users/{name}/disable", user_disable, methods=["POST"]),
    Route("/users/{name}/enable", user_enable, methods=["POST"]),
]
