"""Item search (``/items``): with a query, the ranked full-text results of
``store.search_items`` (as ``yuqing items search``), their words marked in the title and in
a snippet of the body at their places in the original text; without one, the latest
items, filtered by feed and dates. 50 a page, through the store's limited queries only.
Every item shows its tone (the badge, the negative probability, the phrases behind it
marked); staff and admins correct it with ``POST /items/ID/tone``, which records who and
when (``store.correct_tone``, audited) and goes back to the page the form was on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...models import TONE_NAMES, TONES, Item
from ...store import Store
from ...store.search import query_terms, term_spans
from ..context import blocking, context
from ..render import Span, ToneView, message, page
from ..security import require, safe_next, user_of
from . import tone_views
from .fields import FieldError, date, page_number

PER_PAGE = 50
SNIPPET = 60          # characters either side of the body's first hit, about


@dataclass(frozen=True)
class Found:
    """One result as shown: the item, its title's marked spans and a body snippet."""

    item: Item
    title_spans: list[Span]
    snippet: str
    snippet_spans: list[Span]


@dataclass(frozen=True)
class Filters:
    q: str
    feed: str
    since: str
    until: str

    def query(self, page_no: int) -> str:
        params = {k: v for k, v in (("q", self.q), ("feed", self.feed), ("since", self.since),
                                    ("until", self.until)) if v}
        if page_no > 1:
            params["page"] = str(page_no)
        return "/items" + ("?" + urlencode(params) if params else "")


def snippet(text: str, spans: list[Span], width: int = SNIPPET, *,
            around: list[Span] | None = None) -> tuple[str, list[Span]]:
    """A window of ``text`` around its first span (or the first of ``around``; the whole
    text when short), line breaks as spaces, with the spans inside shifted into it (a
    mark's class kept)."""
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) <= width * 2:
        return text, spans
    first = min((s[0] for s in (around or spans)), default=0)
    lo = max(0, first - width // 2)
    hi = min(len(text), lo + width * 2)
    lead = "…" if lo else ""
    shift = len(lead) - lo
    inside: list[Span] = [(s[0] + shift, s[1] + shift, *s[2:])
                          for s in spans if s[0] >= lo and s[1] <= hi]
    return lead + text[lo:hi] + ("…" if hi < len(text) else ""), inside


def found(items: list[Item], query: str, tones: dict[int, ToneView]) -> list[Found]:
    """The results as shown: the query's words marked, and the phrases behind each item's
    tone (the body's snippet is around the first of the words, else of the phrases)."""
    terms = query_terms(query)
    out = []
    for item in items:
        tv = tones.get(item.id)
        words: list[Span] = list(term_spans(item.body, terms))
        phrases: list[Span] = list(tv.body_marks) if tv else []
        body, body_spans = snippet(item.body, words + phrases, around=words)
        title: list[Span] = [*term_spans(item.title, terms), *(tv.title_marks if tv else ())]
        out.append(Found(item, title, body, body_spans))
    return out


def latest(items: list[Item], tones: dict[int, ToneView]) -> list[Found]:
    """The latest items as shown: the phrases behind the tone marked in the title, and a
    snippet of the body around them when the body has some."""
    out = []
    for item in items:
        tv = tones.get(item.id)
        marks: list[Span] = list(tv.body_marks) if tv else []
        body, body_spans = snippet(item.body, marks) if marks else ("", [])
        out.append(Found(item, list(tv.title_marks) if tv else [], body, body_spans))
    return out


def _fetch(store: Store, f: Filters, since: datetime | None, until: datetime | None,
           page_no: int) -> list[Item]:
    """One page and one more item (to tell whether a next page exists)."""
    offset = (page_no - 1) * PER_PAGE
    if f.q:
        return store.search_items(f.q, limit=PER_PAGE + 1, offset=offset,
                                  feed=f.feed or None, since=since, until=until)
    return store.list_items(feed=f.feed or None, since=since, until=until,
                            limit=PER_PAGE + 1, offset=offset)


@require("read")
async def items_page(request: Request) -> Response:
    ctx = context(request)
    qp = request.query_params
    f = Filters(q=qp.get("q", "").strip()[:200], feed=qp.get("feed", "").strip()[:200],
                since=qp.get("since", "").strip(), until=qp.get("until", "").strip())
    page_no = page_number(qp.get("page"))
    error = None
    rows: list[Item] = []
    try:
        since, until = date(f.since, "起始日期"), date(f.until, "截止日期")
        rows = await blocking(_fetch, ctx.store, f, since, until, page_no)
    except FieldError as e:
        error = str(e)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    tones = await blocking(tone_views, ctx.store, rows)
    shown = found(rows, f.q, tones) if f.q else latest(rows, tones)
    return page(request, "items/list.html", title="信息检索", f=f, error=error,
                results=shown if f.q else [], items=[] if f.q else shown, tones=tones,
                feeds=[feed.name for feed in ctx.config.feeds], page_no=page_no, more=more,
                first=(page_no - 1) * PER_PAGE + 1,
                next_href=f.query(page_no + 1) if more else None,
                prev_href=f.query(page_no - 1) if page_no > 1 else None)


def back_to(target: str, item_id: int) -> str:
    """The page the tone form was on (this site's paths only), at the item."""
    return safe_next(target.split("#", 1)[0] or "/items") + f"#item-{item_id}"


@require("handle")
async def item_tone(request: Request) -> Response:
    """A staff member's tone for one item: it wins over the model's from now on, is kept
    with who and when (and audited), and trains the next model (``yuqing tone train``)."""
    ctx = context(request)
    item_id = int(request.path_params["item_id"])
    form = await request.form()
    tone = form.get("tone")
    if tone not in TONES:
        return message(request, "请选择倾向",
                       "请选择" + "、".join(TONE_NAMES.values()) + "之一。", status=400)
    assert isinstance(tone, str)
    target = form.get("next")
    await blocking(ctx.store.correct_tone, item_id, tone, actor=user_of(request).name,
                   now=ctx.now())
    return RedirectResponse(back_to(target if isinstance(target, str) else "", item_id),
                            status_code=303)


routes = [Route("/items", items_page, methods=["GET"]),
          Route("/items/{item_id:int}/tone", item_tone, methods=["POST"])]
