"""The incident pages: the list (``/incidents``, the filters of ``yuqing incidents list``
as a GET form, 50 a page), one incident (``/incidents/ID``: its items with the rules'
hits and the phrases behind their tone marked, each item's tone (staff and admins correct
it there), its sources over time, alerts, handling log and clocks), and the handling
steps taken on it (acknowledge, level, resolve, reopen: staff and admins; silence:
admins), each a POST that redirects back to the incident with a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...alerts import handling
from ...durations import describe_duration, parse_duration
from ...errors import HandlingError, NotFoundError
from ...incidents.detail import ACTION_NAMES, HOW_NAMES, as_json, gather, item_texts, source_times
from ...models import INCIDENT_STATUS_NAMES, LEVEL_NAMES, LEVELS, OUTCOMES
from ...timefmt import read_time
from ..context import WebContext, blocking, context
from ..render import message, page
from ..security import require, user_of
from . import tone_views

PAGE_SIZE = 50
MAX_SILENCE = 30 * 86400         # a silence longer than a month is a rule change, not a pause
SET_LEVELS = [lv for lv in LEVELS if lv != "info"]      # levels staff may set by hand
FILTER_KEYS = ("since", "until", "level", "min_level", "status", "category", "text",
               "outcome", "feed")
# what the detail page says after each step (the ``done`` flag of the redirect)
DONE = {
    "ack": "已认领：升级提醒已停止，尚未发出的提醒已取消。",
    "level": "级别已调整，已记入处置记录。",
    "resolve": "已办结，已记入处置记录；尚未发出的提醒已取消。",
    "reopen": "已重新打开，等待认领。",
    "silence": "已静默：到期前此事件的新告警不发送。",
}


class Invalid(Exception):
    """A form field the user must correct (shown on the page, status 400)."""


# ---- the list -------------------------------------------------------------------------
@dataclass
class Filters:
    """The list's filters as typed (``values``), as ``list_incidents`` arguments
    (``args``), and what was wrong with them (``errors``)."""

    values: dict[str, str] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    page: int = 1


def _time(value: str, what: str, errors: list[str]) -> datetime | None:
    try:
        return read_time(value)
    except ValueError:
        errors.append(f"{what}“{value}”不是日期：应写成 YYYY-MM-DD 或完整的 ISO 8601 时间")
        return None


def _choice(value: str, names: dict[str, str], what: str, errors: list[str]) -> str | None:
    if value in names:
        return value
    for code, name in names.items():        # the Chinese name typed by hand works too
        if value == name:
            return code
    errors.append(f"未知的{what}“{value}”：可选 " + "、".join(names.values()))
    return None


def read_filters(params: Any) -> Filters:
    """The query string's filters, checked; empty fields are no filter."""
    f = Filters()
    for key in FILTER_KEYS:
        value = (params.get(key) or "").strip()
        if value:
            f.values[key] = value
    v, errors, args = f.values, f.errors, f.args
    if "since" in v:
        args["since"] = _time(v["since"], "起始日期", errors)
    if "until" in v:
        args["until"] = _time(v["until"], "截止日期", errors)
    if args.get("since") and args.get("until") and args["until"] <= args["since"]:
        errors.append("截止日期须晚于起始日期")
    for key, names, what in (("level", LEVEL_NAMES, "级别"), ("min_level", LEVEL_NAMES, "最低级别"),
                             ("status", INCIDENT_STATUS_NAMES, "状态"),
                             ("outcome", OUTCOMES, "办结结果")):
        if key in v:
            args[key] = _choice(v[key], names, what, errors)
    for key in ("category", "text", "feed"):
        if key in v:
            args[key] = v[key]
    raw_page = (params.get("page") or "1").strip()
    if not raw_page.isdigit() or int(raw_page) < 1 or int(raw_page) > 100000:
        errors.append(f"页码“{raw_page}”应为正整数")
    else:
        f.page = int(raw_page)
    return f


def _page_href(f: Filters, page_no: int) -> str:
    query = dict(f.values)
    if page_no > 1:
        query["page"] = str(page_no)
    return "/incidents" + (f"?{urlencode(query)}" if query else "")


def _list(ctx: WebContext, f: Filters) -> dict[str, Any]:
    rows = ctx.store.list_incidents(**f.args, limit=PAGE_SIZE + 1,
                                    offset=(f.page - 1) * PAGE_SIZE)
    feeds = [feed.name for feed in ctx.config.feeds]
    return {"rows": rows[:PAGE_SIZE], "feeds": feeds,
            "next_href": _page_href(f, f.page + 1) if len(rows) > PAGE_SIZE else None,
            "prev_href": _page_href(f, f.page - 1) if f.page > 1 else None}


@require("read")
async def incident_list(request: Request) -> Response:
    ctx = context(request)
    f = read_filters(request.query_params)
    if f.errors:
        return page(request, "incidents/list.html", title="舆情事件", status=400, f=f, rows=[],
                    feeds=[feed.name for feed in ctx.config.feeds], next_href=None,
                    prev_href=None)
    data = await blocking(_list, ctx, f)
    return page(request, "incidents/list.html", title="舆情事件", f=f, **data)


# ---- one incident ---------------------------------------------------------------------
def _clock_rows(clocks: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for label, due_key, state_key in (("认领时限", "ack_due_at", "ack_clock"),
                                      ("响应时限", "respond_due_at", "respond_clock")):
        due = clocks[due_key]
        if due is None:
            continue
        state = clocks[state_key]
        left = None
        if state == "running":
            left = describe_duration((datetime.fromisoformat(due) - now).total_seconds())
        rows.append({"label": label, "due": due, "state": state, "left": left})
    return rows


def _detail(ctx: WebContext, incident_id: int) -> dict[str, Any]:
    now = ctx.now()
    g = gather(ctx.store, incident_id)
    d = as_json(g, now)
    silences = [s for s in ctx.store.silences(now=now)
                if s["scope"] == "incident" and s["value"] == str(incident_id)]
    items = ctx.store.get_items([r["id"] for r in g.rows])
    return {"incident": g.incident, "d": d, "texts": item_texts(g),
            "tones": tone_views(ctx.store, items.values()), "sources": source_times(g),
            "clocks": _clock_rows(d["clocks"], now), "silences": silences,
            "set_levels": [lv for lv in SET_LEVELS if lv != g.incident.level]}


async def _show(request: Request, incident_id: int, *, status: int = 200,
                error: str | None = None, sent: dict[str, str] | None = None) -> Response:
    ctx = context(request)
    try:
        data = await blocking(_detail, ctx, incident_id)
    except NotFoundError:
        return message(request, "没有这个事件", f"没有编号为 {incident_id} 的舆情事件。",
                       status=404, link=("/incidents", "返回事件列表"))
    done = DONE.get(request.query_params.get("done", "")) if error is None else None
    return page(request, "incidents/detail.html", title=f"事件 #{incident_id}", status=status,
                error=error, done=done, sent=sent or {}, ACTION_NAMES=ACTION_NAMES,
                HOW_NAMES=HOW_NAMES, **data)


@require("read")
async def incident_detail(request: Request) -> Response:
    return await _show(request, int(request.path_params["incident_id"]))


# ---- handling steps -------------------------------------------------------------------
def _note(form: FormData, *, required: str | None = None) -> str | None:
    value = form.get("note")
    note = value.strip() if isinstance(value, str) else ""
    if not note and required:
        raise Invalid(required)
    return note or None


def _field(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _ack(ctx: WebContext, incident_id: int, form: FormData, by: str) -> None:
    handling.acknowledge(ctx.config, ctx.store, incident_id, by=by, note=_note(form),
                         now=ctx.now())


def _level(ctx: WebContext, incident_id: int, form: FormData, by: str) -> None:
    level = _field(form, "level")
    if level not in SET_LEVELS:
        raise Invalid("请选择新的级别：" + "、".join(LEVEL_NAMES[lv] for lv in SET_LEVELS))
    note = _note(form, required="调整级别必须写明理由")
    assert note is not None
    handling.set_level(ctx.config, ctx.store, incident_id, level, by=by, note=note,
                       now=ctx.now())


def _resolve(ctx: WebContext, incident_id: int, form: FormData, by: str) -> None:
    outcome = _field(form, "outcome")
    if outcome not in OUTCOMES:
        raise Invalid("请选择办结结果：" + "、".join(OUTCOMES.values()))
    note = _note(form, required="办结必须写明处置情况（写入处置记录和年度报告）")
    assert note is not None
    handling.resolve(ctx.config, ctx.store, incident_id, by=by, note=note, outcome=outcome,
                     now=ctx.now())


def _reopen(ctx: WebContext, incident_id: int, form: FormData, by: str) -> None:
    handling.reopen(ctx.config, ctx.store, incident_id, by=by, note=_note(form),
                    now=ctx.now())


def _silence(ctx: WebContext, incident_id: int, form: FormData, by: str) -> None:
    raw = _field(form, "duration")
    try:
        seconds = parse_duration(raw) if raw else 0.0
    except ValueError as e:
        raise Invalid(str(e)) from None
    if not 60 <= seconds <= MAX_SILENCE:
        raise Invalid("静默时长应在 1 分钟到 30 天之间，例如 30m、2h、1d")
    note = _note(form, required="静默必须写明理由")
    assert note is not None
    now = ctx.now()
    handling.silence_incident(ctx.store, incident_id, until=now + timedelta(seconds=seconds),
                              note=note, by=by, now=now)


Step = Callable[[WebContext, int, FormData, str], None]


def _said(e: HandlingError) -> str:
    """The handling step's refusal, in the console's words (not the command line's)."""
    return str(e).replace("（--note）", "").replace("如需继续处置请先 reopen",
                                                    "如需继续处置，请先重新打开")


def _step(action: str, fn: Step) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        ctx = context(request)
        incident_id = int(request.path_params["incident_id"])
        form = await request.form()
        sent = {"action": action, **{k: v for k, v in form.items()
                                     if k != "csrf" and isinstance(v, str)}}
        try:
            await blocking(fn, ctx, incident_id, form, user_of(request).name)
        except NotFoundError:
            return message(request, "没有这个事件", f"没有编号为 {incident_id} 的舆情事件。",
                           status=404, link=("/incidents", "返回事件列表"))
        except Invalid as e:
            return await _show(request, incident_id, status=400, error=str(e), sent=sent)
        except HandlingError as e:
            return await _show(request, incident_id, status=409, error=_said(e), sent=sent)
        return RedirectResponse(f"/incidents/{incident_id}?done={action}", status_code=303)

    endpoint.__name__ = f"incident_{action}"
    return endpoint


incident_ack = require("handle")(_step("ack", _ack))
incident_level = require("handle")(_step("level", _level))
incident_resolve = require("handle")(_step("resolve", _resolve))
incident_reopen = require("handle")(_step("reopen", _reopen))
incident_silence = require("admin")(_step("silence", _silence))

routes = [
    Route("/incidents", incident_list, methods=["GET"]),
    Route("/incidents/{incident_id:int}", incident_detail, methods=["GET"]),
    Route("/incidents/{incident_id:int}/ack", incident_ack, methods=["POST"]),
    Route("/incidents/{incident_id:int}/level", incident_level, methods=["POST"]),
    Route("/incidents/{incident_id:int}/resolve", incident_resolve, methods=["POST"]),
    Route("/incidents/{incident_id:int}/reopen", incident_reopen, methods=["POST"]),
    Route("/incidents/{incident_id:int}/silence", incident_silence, methods=["POST"]),
]
