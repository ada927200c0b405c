"""Signed action links from alerts (``/incidents/ID/link?token=…``): the recipient opens the
incident on the phone and acknowledges it in one tap, without a password, logged as that
recipient. The token (``monitor.alerts.links``) must be intact, unexpired, unused and for
this incident and a person still on the staff list; anything else gets a clear page and
an audit record, never the incident."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...alerts import handling
from ...alerts.links import ActionLink, read_token
from ...errors import HandlingError, LinkError
from ..context import blocking, context
from ..render import message, page
from ..security import csrf_ok, csrf_refused


def _refuse(request: Request, text: str, *, status: int, incident_id: int | None,
            reason: str) -> Response:
    ctx = context(request)
    ctx.store.log_event("user.link_refused", str(incident_id) if incident_id else None,
                        actor="system", data={"reason": reason}, now=ctx.now())
    return message(request, "无法使用此链接", text, status=status,
                   link=(f"/login?next=/incidents/{incident_id}" if incident_id else "/login",
                         "登录控制台"))


def _check(request: Request) -> tuple[ActionLink | None, Response | None]:
    """The link of the request, or the refusal page."""
    ctx = context(request)
    incident_id = int(request.path_params["incident_id"])
    token = request.query_params.get("token", "")
    try:
        link = read_token(ctx.secret, token, now=ctx.now(), max_age=ctx.config.web.link_ttl)
    except LinkError as e:
        reason = "expired" if "过期" in str(e) else "invalid"
        return None, _refuse(request, str(e), status=410 if reason == "expired" else 403,
                             incident_id=incident_id, reason=reason)
    if link.incident_id != incident_id:
        return None, _refuse(request, "链接无效：它属于另一起事件，请从提醒中重新打开。",
                             status=403, incident_id=incident_id, reason="other-incident")
    if ctx.config.person(link.recipient) is None:
        return None, _refuse(request, f"链接的接收人“{link.recipient}”已不在值班名单中，"
                             "请登录控制台处理。", status=403, incident_id=incident_id,
                             reason="unknown-recipient")
    used = ctx.store.link_used(link.nonce)
    if used is not None:
        from ...timefmt import for_people

        return None, _refuse(request, f"此链接已于 {for_people(used)} 使用过，每个链接只能使用"
                             "一次。如需继续处理，请登录控制台。", status=410,
                             incident_id=incident_id, reason="used")
    return link, None


def _view(request: Request, link: ActionLink) -> dict[str, Any]:
    store = context(request).store
    inc = store.get_incident(link.incident_id)
    return {"incident": inc, "items": store.incident_item_rows(inc.id)[:10],
            "recipient": link.recipient}


async def open_link(request: Request) -> Response:
    link, refused = await blocking(_check, request)
    if refused is not None:
        return refused
    assert link is not None
    data = await blocking(_view, request, link)
    return page(request, "link.html", title=f"事件 #{link.incident_id}", done=False,
                token=request.query_params.get("token", ""), **data)


def _acknowledge(request: Request, link: ActionLink) -> Response:
    ctx = context(request)
    now = ctx.now()
    with ctx.store.tx():
        if not ctx.store.use_link(link.nonce, link.incident_id, link.recipient, now=now):
            return message(request, "无法使用此链接", "此链接已使用过，每个链接只能使用一次。",
                           status=410)
        try:
            handling.acknowledge(ctx.config, ctx.store, link.incident_id, by=link.recipient,
                                 note="通过提醒中的链接认领", now=now)
        except HandlingError as e:
            raise _NotNow(str(e)) from None
        ctx.store.log_event("user.link_used", str(link.incident_id), actor=link.recipient,
                            data={"action": "acknowledged"}, now=now)
    return page(request, "link.html", title=f"事件 #{link.incident_id}", done=True,
                token="", **_view(request, link))


class _NotNow(Exception):
    pass


async def act_on_link(request: Request) -> Response:
    if not await csrf_ok(request):
        return csrf_refused(request)
    link, refused = await blocking(_check, request)
    if refused is not None:
        return refused
    assert link is not None
    try:
        return await blocking(_acknowledge, request, link)
    except _NotNow as e:     # already acknowledged or resolved: the link stays unused
        return message(request, "无需认领", str(e), status=409,
                       link=(f"/login?next=/incidents/{link.incident_id}", "登录控制台查看"))


routes = [
    Route("/incidents/{incident_id:int}/link", open_link, methods=["GET"]),
    Route("/incidents/{incident_id:int}/link", act_on_link, methods=["POST"]),
]
