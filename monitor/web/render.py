"""Pages from Jinja2 templates (``templates/``, autoescaped: item text is hostile and always
shown as text), with the filters every page uses (Beijing time, level names and colours,
safe links) and the one message page for refusals and errors."""

from __future__ import annotations

from dataclasses import dataclass
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
    TONE_NAMES,
    TONES,
    Item,
    distinct_phrases,
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


Span = tuple[int, int] | tuple[int, int, str]
MARK_CLASSES = frozenset({"tone-negative", "tone-neutral", "tone-positive"})


def marked(text: str | None, spans: list[Span] | None = None) -> Markup:
    """``text`` escaped, with ``[start, end)`` character spans wrapped in ``<mark>``; a span
    ``(start, end, cls)`` gets ``<mark class="cls">`` (one of :data:`MARK_CLASSES`: the
    phrases behind a tone). Each segment is escaped on its own, so hostile text inside a
    span stays text; overlapping spans are cut where the earlier one ends."""
    text = text or ""
    out: list[str] = []
    at = 0
    for span in sorted(spans or []):
        start, end = max(span[0], at), min(span[1], len(text))
        if start >= end:
            continue
        cls = span[2] if len(span) > 2 else None
        tag = f'<mark class="{escape(cls)}">' if cls in MARK_CLASSES else "<mark>"
        out += [str(escape(text[at:start])), tag, str(escape(text[start:end])), "</mark>"]
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


@dataclass(frozen=True)
class ToneView:
    """An item's tone as the console shows it: the badge (the tone that counts: a staff
    correction, else the model's), the model's negative probability, who corrected it and
    when, and the phrases behind the model's tone as marks in the title and in the body
    (``Item.tone_phrases`` are offsets into the title, a line break and the body)."""

    tone: str | None                 # negative / neutral / positive; None: not labelled yet
    model_tone: str | None
    negative: float | None
    corrected_by: str | None = None
    corrected_at: datetime | None = None
    phrases: tuple[str, ...] = ()
    title_marks: tuple[tuple[int, int, str], ...] = ()
    body_marks: tuple[tuple[int, int, str], ...] = ()

    @property
    def name(self) -> str:
        return TONE_NAMES.get(self.tone or "", "未判定")

    @property
    def corrected(self) -> bool:
        return self.corrected_by is not None


def tone_view(item: Item, correction: tuple[str, datetime] | None = None) -> ToneView:
    """The :class:`ToneView` of ``item``; ``correction`` is the latest staff correction's
    (actor, time) when the item has one."""
    cls = f"tone-{item.tone}" if item.tone in TONES else "tone-neutral"
    cut = len(item.title)
    title: list[tuple[int, int, str]] = []
    body: list[tuple[int, int, str]] = []
    phrases: list[str] = []
    for start, end, text in item.tone_phrases():
        phrases.append(text)
        if start < cut:
            title.append((start, min(end, cut), cls))
        if end > cut + 1:
            body.append((max(start - cut - 1, 0), end - cut - 1, cls))
    by, at = correction if correction and item.tone_corrected else (None, None)
    return ToneView(tone=item.effective_tone, model_tone=item.tone,
                    negative=item.tone_negative, corrected_by=by, corrected_at=at,
                    phrases=tuple(distinct_phrases(phrases)), title_marks=tuple(title), body_marks=tuple(body))


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
    "tone_name": lambda c: TONE_NAMES.get(c or "", "未判定"),
})
env.globals.update({"LEVEL_NAMES": LEVEL_NAMES, "OUTCOMES": OUTCOMES, "ROLES": ROLES,
                    "INCIDENT_STATUS_NAMES": INCIDENT_STATUS_NAMES, "TONES": TONES,
                    "TONE_NAMES": TONE_NAMES})

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
        "can": lambda cap: can(user, cap), "path": request.url.path,
        "here": here(request), **context},
        status_code=status)


def here(request: Request) -> str:
    """This page's path and query: where a form on it sends the user back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def message(request: Request, title: str, text: str, *, status: int = 200,
            link: tuple[str, str] | None = None) -> Response:
    """The one page for refusals, errors and confirmations: a heading and a sentence."""
    return page(request, "message.html", status=status, title=title, text=text, link=link)


def plain(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(str(escape(text)), status_code=status)
