"""Silences (``/silences``): everyone with a login sees the silences in force; admins add
one (a category, a rule or an incident, for a while like ``2h``/``1d``, with a required
reason) and lift one early, as ``yuqing alerts silence`` / ``unsilence`` do, logged with
the admin as actor (a silenced incident also gets the step in its record)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...durations import parse_duration
from ...errors import HandlingError, NotFoundError
from ...store import Store
from ...timefmt import for_people
from ..context import blocking, context
from ..render import page
from ..security import require, user_of
from .fields import text

SCOPES = {"category": "类别", "rule": "规则", "incident": "事件"}
DONE = re.compile(r"(added|lifted)-(\d+)")


def scope_text(scope: str, value: str) -> str:
    return f"事件 #{value}" if scope == "incident" else f"{SCOPES.get(scope, scope)}「{value}」"


def check(form: dict[str, str], now: datetime) -> tuple[str, str, datetime, str]:
    """``(scope, value, until, note)`` from the form, or ``HandlingError`` saying what is
    missing or wrong."""
    scope, value, note = form["scope"], form["value"], form["note"]
    if scope not in SCOPES:
        raise HandlingError("请选择静默范围：类别、规则或事件")
    if not value:
        raise HandlingError(f"请填写要静默的{SCOPES[scope]}")
    if scope == "incident":
        value = value.lstrip("#")
        if not value.isdigit():
            raise HandlingError(f"事件编号“{value}”应是数字，如 12")
    if not note:
        raise HandlingError("静默必须写明理由")
    try:
        seconds = parse_duration(form["duration"])
    except ValueError as e:
        raise HandlingError(str(e)) from None
    if seconds <= 0:
        raise HandlingError("静默时长必须大于零，例如 2h、1d")
    return scope, value, now + timedelta(seconds=seconds), note


def add(store: Store, scope: str, value: str, until: datetime, note: str, *, by: str,
        now: datetime) -> int:
    """The silence, and for an incident the step in its record, in one transaction."""
    with store.tx():
        if scope == "incident":
            store.get_incident(int(value))      # NotFoundError names the id
        silence_id = store.add_silence(scope, value, until=until, note=note, actor=by, now=now)
        if scope == "incident":
            store.log_step(int(value), "silenced", now=now, actor=by,
                           note=f"静默至 {for_people(until)}：{note}")
    return silence_id


async def _page(request: Request, *, status: int = 200, error: str | None = None,
                form: dict[str, str] | None = None) -> Response:
    ctx = context(request)
    rows: list[dict[str, Any]] = await blocking(ctx.store.silences, now=ctx.now())
    return page(request, "silences/list.html", status=status, title="静默", rows=rows,
                error=error, scopes=SCOPES, scope_text=scope_text,
                form=form or {"scope": "category", "value": "", "duration": "2h", "note": ""},
                notice=notice(request.query_params.get("done", "")))


def notice(done: str) -> str | None:
    """The confirmation after a POST/redirect/GET: ``added-3`` or ``lifted-3``."""
    m = DONE.fullmatch(done)
    if m is None:
        return None
    return f"已{'添加' if m.group(1) == 'added' else '解除'}静默 #{m.group(2)}"


@require("read")
async def silences_page(request: Request) -> Response:
    return await _page(request)


@require("admin")
async def silence_add(request: Request) -> Response:
    ctx = context(request)
    raw = await request.form()
    form = {k: text(raw, k, 500) for k in ("scope", "value", "duration", "note")}
    now = ctx.now()
    try:
        scope, value, until, note = check(form, now)
        silence_id = await blocking(add, ctx.store, scope, value, until, note,
                                    by=user_of(request).name, now=now)
    except (HandlingError, NotFoundError) as e:
        return await _page(request, status=400, error=str(e), form=form)
    return RedirectResponse(f"/silences?done=added-{silence_id}", 303)


@require("admin")
async def silence_lift(request: Request) -> Response:
    ctx = context(request)
    silence_id = int(request.path_params["silence_id"])
    try:
        await blocking(ctx.store.lift_silence, silence_id, now=ctx.now(),
                       actor=user_of(request).name)
    except NotFoundError as e:
        return await _page(request, status=404, error=str(e))
    return RedirectResponse(f"/silences?done=lifted-{silence_id}", 303)


routes = [
    Route("/silences", silences_page, methods=["GET"]),
    Route("/silences", silence_add, methods=["POST"]),
    Route("/silences/{silence_id:int}/lift", silence_lift, methods=["POST"]),
]
