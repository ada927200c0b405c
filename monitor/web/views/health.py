"""``/healthz``: no login, JSON, for monitoring. Says whether fetching (no feed failing or
overdue), delivery (nothing due and unsent) and the database are healthy; 503 when any
is not, so a plain HTTP check alerts on it. No names, errors or secrets in it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...timefmt import for_json
from ..context import blocking, context


async def healthz(request: Request) -> Response:
    ctx = context(request)
    now = ctx.now()
    doc: dict[str, Any]
    try:
        doc = await blocking(ctx.store.health, now)
        doc["database"] = {"ok": True}
    except Exception as e:   # a broken database is reported, not raised
        doc = {"fetching": {"ok": False}, "delivery": {"ok": False},
               "database": {"ok": False, "error": type(e).__name__}}
    daemon = ctx.state.get("daemon")
    if daemon is not None:
        doc["fetching"]["scheduler"] = daemon
    doc["ok"] = all(doc[k]["ok"] for k in ("fetching", "delivery", "database"))
    doc["at"] = for_json(now)
    return JSONResponse(doc, status_code=200 if doc["ok"] else 503)


routes = [Route("/healthz", healthz, methods=["GET"])]
