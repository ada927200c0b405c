"""Item search (``/items``): with a query, the ranked full-text results of
``store.search_items`` (as ``yuqing items search``), their words marked in the title and in
a snippet of the body at their places in the original text; without one, the latest
items, filtered by feed and dates. 50 a page, through the store's limited queries only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...models import Item
from ...store import Store
from ...store.search import query_terms, term_spans
from ..context import blocking, context
from ..render import page
from ..security import require
from .fields import FieldError, date, page_number

PER_PAGE = 50
SNIPPET = 60          # characters either side of the body's first hit, about


@dataclass(frozen=True)
class Found:
    """One result as shown: the item, its title's marked spans and a body snippet."""

    item: Item
    title_spans: list[tuple[int, int]]
    snippet: str
    snippet_spans: list[tuple[int, int]]


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


def snippet(text: str, spans: list[tuple[int, int]], width: int = SNIPPET
            ) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around its first span (the whole text when short), line breaks
    as spaces, with the spans inside shifted into it."""
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) <= width * 2:
        return text, spans
    first = min((a for a, _ in spans), default=0)
    lo = max(0, first - width // 2)
    hi = min(len(text), lo + width * 2)
    lead = "…" if lo else ""
    shift = len(lead) - lo
    inside = [(a + shift, b + shift) for a, b in spans if a >= lo and b <= hi]
    return lead + text[lo:hi] + ("…" if hi < len(text) else ""), inside


def found(items: list[Item], query: str) -> list[Found]:
    terms = query_terms(query)
    out = []
    for item in items:
        body, body_spans = snippet(item.body, term_spans(item.body, terms))
        out.append(Found(item, term_spans(item.title, terms), body, body_spans))
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
    results = await blocking(found, rows, f.q) if f.q else []
    return page(request, "items/list.html", title="信息检索", f=f, error=error,
                results=results, items=[] if f.q else rows,
                feeds=[feed.name for feed in ctx.config.feeds], page_no=page_no, more=more,
                first=(page_no - 1) * PER_PAGE + 1,
                next_href=f.query(page_no + 1) if more else None,
                prev_href=f.query(page_no - 1) if page_no > 1 else None)


routes = [Route("/items", items_page, methods=["GET"])]
