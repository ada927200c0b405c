"""Pages from Jinja2 templates (``templates/``, autoescaped: item text is hostile and always
shown as text), with the filters every page uses (Beijing time, level names and colours,
safe links) and the one message page for refusals and errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from ..models import (
    CHANNEL_NAMES,
    CLOCK_NAMES,
    DELIVERY_KINDS,
    DELIVERY_STATUS_NAMES,
    INCIDENT_STATUS_NAMES,
    LEVEL_NAMES,
    OUTCOMES,
    ROLES,
)
from ..timefmt import for_people
from .security import can, csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
env = templates.env
env.autoescape = True   # every template, whatever its name ends with
env.trim_blocks = True
env.lstrip_blocks = True


def when(dt: datetime | str | None, seconds: bool = False) -> str:
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    return for_people(dt, seconds=seconds)


def safe_href(url: str | None) -> str | None:
    """A link from a feed, only if it is http(s) (``javascript:`` and the like never)."""
    if not url:
        return None
    low = url.strip().lower()
    return url.strip() if low.startswith(("http://", "https://")) else None


def marked(text: str | None, spans: list[tuple[int, int]] | None = None) -> Markup:
    """``text`` escaped, with ``[start, end)`` character spans wrapped in ``<mark>``."""
    text = text or ""
    out: list[str] = []
    at = 0
    for start, end in sorted(spans or []):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        out += [str(escape(text[at:start])), "<mark>", str(escape(text[start:end])), "</mark>"]
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


env.filters.update({
    "when": when, "href": safe_href, "marked": marked,
    "level_name": lambda c: LEVEL_NAMES.get(c or "", c or "—"),
    "status_name": lambda c: INCIDENT_STATUS_NAMES.get(c or "", c or "—"),
    "outcome_name": lambda c: OUTCOMES.get(c or "", c or "—"),
    "clock_name": lambda c: CLOCK_NAMES.get(c or "", "—"),
    "channel_name": lambda c: CHANNEL_NAMES.get(c or "", c or "—"),
    "delivery_name": lambda c: DELIVERY_STATUS_NAMES.get(c or "", c or "—"),
    "delivery_kind": lambda c: DELIVERY_KINDS.get(c or "", c or "—"),
    "role_name": lambda c: ROLES.get(c or "", c or "—"),
})
env.globals.update({"LEVEL_NAMES": LEVEL_NAMES, "OUTCOMES": OUTCOMES, "ROLES": ROLES,
                    "INCIDENT_STATUS_NAMES": INCIDENT_STATUS_NAMES})

NAV = [("/", "总览", "read"), ("/incidents", "舆情事件", "read"), ("/items", "信息检索", "read"),
       ("/feeds", "订阅源", "read"), ("/rules", "规则", "read"), ("/silences", "静默", "read"),
       ("/reports", "报告", "report"), ("/users", "用户", "admin")]


def page(request: Request, template: str, *, status: int = 200, title: str = "",
         **context: Any) -> Response:
    """A page of the console: the template with the user, the CSRF token and the
    navigation the user's role may see."""
    user = getattr(request.state, "user", None)
    nav = [(href, label) for href, label, cap in NAV if can(user, cap)]
    return templates.TemplateResponse(request, template, {
        "user": user, "csrf": csrf_token(request), "nav": nav, "title": title,
        "can": lambda cap: can(user, cap), "path": request.url.path, **context},
        status_code=status)


def message(request: Request, title: str, text: str, *, status: int = 200,
            link: tuple[str, str] | None = None) -> Response:
    """The one page for refusals, errors and confirmations: a heading and a sentence."""
    return page(request, "message.html", status=status, title=title, text=text, link=link)


def plain(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(str(escape(text)), status_code=status)
