"""The dashboard (``/``): open incidents by level, clocks about to be missed, today's
items, feed health."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..render import page
from ..security import require


@require("read")
async def dashboard(request: Request) -> Response:
    return page(request, "dashboard.html", title="总览")


routes = [Route("/", dashboard, methods=["GET"])]
