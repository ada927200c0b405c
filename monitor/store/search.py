"""Full-text search that finds Chinese words.

SQLite's default FTS5 tokenizer treats a run of Han characters as one token, so 欠薪 is
never found inside 农民工讨薪欠薪. The trigram tokenizer finds substrings but only of three
characters or more, and most Chinese words have two (tests/test_store.py shows both
failures). We therefore index the *normalized* text (simplified, folded) cut into words by
jieba's search mode (via jieba-rs), space-separated, under ``unicode61``; queries are cut
the same way and every token must match, ranked by BM25 with the title weighing three
times the body. Queries that still find nothing fall back to a substring scan of the
newest items (``SCAN_LIMIT``: the scan reads whole rows, so it is bounded).

Queries may say more than "all these words" (:func:`parse_query`): ``-招标`` excludes a
word, ``A OR B`` takes either, and a trailing ``*`` takes every word beginning so
(``滨江*``). ``query_terms`` and ``term_spans`` say where a query's wanted words stand in an
item's original text (through the normalization's offset map), for highlighting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import Item
from ..normalize import normalize
from .db import period_where, to_model

# the substring fallback looks at this many of the newest items at most
SCAN_LIMIT = 20000
RANK_WINDOW = 5000     # a search ranks at most the newest this many matches by relevance


def tokens(text: str) -> list[str]:
    """Normalized search tokens of ``text``: jieba's search mode (jieba-rs, the same
    dictionary and algorithm as jieba, 16x faster); FTS5 drops punctuation tokens itself.
    jieba-rs loads its dictionary on first use, not when the store is opened."""
    import rjieba

    return rjieba.cut_for_search(normalize(text).text, hmm=False)


@dataclass(frozen=True)
class Query:
    """A search as typed, read: the FTS5 expression, the words wanted (for highlighting),
    the words excluded, and whether it is plain words only (the substring fallback then
    applies)."""

    fts: str
    wanted: list[str]
    excluded: list[str]
    plain: bool


def _words(text: str) -> list[str]:
    return [t for t in dict.fromkeys(tokens(text)) if any(ch.isalnum() for ch in t)]


def _phrase(text: str) -> tuple[str, list[str]]:
    """One typed term as an FTS5 expression (all its words; ``*`` at its end: the last
    word as a prefix) and its words."""
    prefix = text.endswith("*")
    words = _words(text.rstrip("*"))
    if not words:
        return "", []
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix:
        quoted[-1] += " *"
    expr = " AND ".join(quoted)
    return (f"({expr})" if len(quoted) > 1 else expr), words


def parse_query(query: str) -> Query:
    """Read a search: terms separated by spaces must all match; ``A OR B`` takes either;
    ``-word`` excludes; ``word*`` is a prefix. A query of exclusions only has no ``fts``."""
    groups: list[list[str]] = []
    wanted: list[str] = []
    excluded: list[str] = []
    negs: list[str] = []
    pending_or, plain = False, True
    for raw in query.split():
        if raw == "OR":
            pending_or = bool(groups)
            plain = False
            continue
        if raw.startswith("-") and len(raw) > 1:
            expr, words = _phrase(raw[1:])
            if expr:
                negs.append(expr)
                excluded += words
            plain = False
            continue
        if raw.endswith("*"):
            plain = False
        expr, words = _phrase(raw)
        if not expr:
            continue
        wanted += [w for w in words if w not in wanted]
        if pending_or:
            groups[-1].append(expr)
        else:
            groups.append([expr])
        pending_or = False
    if not groups:
        return Query("", wanted, excluded, plain)
    fts = " AND ".join(g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups)
    for neg in negs:
        fts = f"({fts}) NOT {neg}"
    return Query(fts, wanted, excluded, plain)


def query_terms(query: str) -> list[str]:
    """The normalized words of ``query`` to highlight (the wanted ones, those holding a
    letter or digit), plus the whole normalized query when it is plain words and more than
    one (what the substring fallback looks for)."""
    q = parse_query(query)
    words = list(q.wanted)
    whole = normalize(query.strip()).text
    if q.plain and whole and whole not in words and any(ch.isalnum() for ch in whole):
        words.append(whole)
    return words


def fts_query(query: str) -> str:
    """The FTS5 MATCH expression for ``query`` ("" when it wants no word)."""
    return parse_query(query).fts


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ... ESCAPE '\\'``."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return "%" + escaped + "%"


def term_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """``(start, end)`` offsets in ``text`` as given of every occurrence of ``terms``
    (normalized words, see :func:`query_terms`) in its normalized form: 歡迎 and ＡＢＣ are
    found by 欢迎 and abc, 欠 薪 by 欠薪. Overlapping spans are left for the caller to merge."""
    if not text or not terms:
        return []
    norm = normalize(text)
    out: list[tuple[int, int]] = []
    for term in terms:
        pos = norm.text.find(term)
        while pos >= 0:
            out.append(norm.span(pos, pos + len(term)))
            pos = norm.text.find(term, pos + len(term))
    return sorted(set(out))


class SearchMixin:
    db: Any
    lock: Any

    def _index(self, item_id: int, title: str, body: str, *, replace: bool) -> None:
        if replace:
            self.db.execute("DELETE FROM items_fts WHERE rowid = ?", [item_id])
        self.db.execute("INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)",
                        [item_id, " ".join(tokens(title)), " ".join(tokens(body))])

    def _any_match(self, fts: str) -> bool:
        """Whether the index finds anything for ``fts`` (a page past the last result is
        empty; the substring fallback is only for queries the index cannot answer)."""
        return self.db.execute("SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT 1",
                               [fts]).fetchone() is not None

    def search_items(self, query: str, *, limit: int = 50, offset: int = 0,
                     feed: str | None = None, since: datetime | None = None,
                     until: datetime | None = None) -> list[Item]:
        """Items matching ``query`` (see :func:`parse_query`), best match first (BM25, the
        title weighing three times the body; equal ranks newest first); ``offset`` skips
        that many (a page further on); ``feed``/``since``/``until`` (by the item's date)
        narrow it. Unfiltered, when a word is so common that more than
        :data:`RANK_WINDOW` items match, the ranking is among the newest of them (by
        arrival), so a search costs the same however common its words are."""
        q = parse_query(query)
        narrowed = _filters(feed, since, until)
        filters, params = narrowed or ("deleted = 0", [])
        rows: list[dict[str, Any]] = []
        with self.lock:
            if q.fts and narrowed:
                # ranked among the items that pass the filters (read through the join)
                rows = list(self.db.query(
                    "SELECT items.* FROM (SELECT items_fts.rowid AS id, "
                    "bm25(items_fts, 3.0, 1.0) AS rank FROM items_fts "
                    "JOIN items AS i ON i.id = items_fts.rowid "
                    f"WHERE items_fts MATCH ? AND {filters} "
                    "ORDER BY rank, items_fts.rowid DESC LIMIT ? OFFSET ?) AS hit "
                    "JOIN items ON items.id = hit.id ORDER BY hit.rank, hit.id DESC",
                    [q.fts, *params, int(limit), int(offset)]))
            elif q.fts:
                # the newest RANK_WINDOW matches (at least as many as the page needs): the
                # index walks its rowids backwards without ranking anything
                window = max(RANK_WINDOW, int(offset) + int(limit))
                floor = self.db.execute(
                    "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC "
                    "LIMIT 1 OFFSET ?", [q.fts, window - 1]).fetchone()
                # ranked on the index alone; only the rows shown are read from items
                # (deleted items have left the index)
                rows = list(self.db.query(
                    "SELECT items.* FROM (SELECT rowid AS id, bm25(items_fts, 3.0, 1.0) AS rank "
                    "FROM items_fts WHERE items_fts MATCH ? AND rowid >= ? "
                    "ORDER BY rank, rowid DESC LIMIT ? OFFSET ?) AS hit "
                    "JOIN items ON items.id = hit.id "
                    "WHERE items.deleted = 0 ORDER BY hit.rank, hit.id DESC",
                    [q.fts, floor[0] if floor else 0, int(limit), int(offset)]))
            if (not rows and q.plain and query.strip()
                    and not (offset and q.fts and self._any_match(q.fts))):
                like = like_pattern(query)
                rows = list(self.db.query(
                    f"SELECT * FROM (SELECT * FROM items WHERE {filters} "
                    "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT ?) "
                    "WHERE title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\' "
                    "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT ? OFFSET ?",
                    [*params, SCAN_LIMIT, like, like, int(limit), int(offset)]))
        return [to_model(Item, r) for r in rows]

    def count_search(self, query: str, *, feed: str | None = None,
                     since: datetime | None = None, until: datetime | None = None) -> int:
        """How many items the index finds for ``query`` (with the same filters), to say
        how many a cut list leaves out."""
        q = parse_query(query)
        if not q.fts:
            return 0
        narrowed = _filters(feed, since, until)
        with self.lock:
            if narrowed:
                filters, params = narrowed
                row = self.db.execute(
                    "SELECT count(*) FROM items_fts JOIN items AS i ON i.id = items_fts.rowid "
                    f"WHERE items_fts MATCH ? AND {filters}",
                    [q.fts, *params]).fetchone()
            else:
                row = self.db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH ?",
                                      [q.fts]).fetchone()
        return int(row[0])


def _filters(feed: str | None, since: datetime | None, until: datetime | None
             ) -> tuple[str, list[Any]] | None:
    """The conditions on an item row (the store's own ``period_where``, plus the feed) and
    their values; None when nothing narrows the search."""
    if feed is None and since is None and until is None:
        return None
    where, params = period_where(since, until)
    if feed is not None:
        where.append("feed = ?")
        params.append(feed)
    return " AND ".join(where), params
