"""Full-text search that finds Chinese words.

SQLite's default FTS5 tokenizer treats a run of Han characters as one token, so 欠薪 is
never found inside 农民工讨薪欠薪. The trigram tokenizer finds substrings but only of three
characters or more, and most Chinese words have two (tests/test_store.py shows both
failures). We therefore index the *normalized* text (simplified, folded) cut into words by
jieba's search mode (via jieba-rs), space-separated, under ``unicode61``; queries are cut
the same way and every token must match, ranked by BM25 with the title weighing three
times the body. Queries that still find nothing fall back to a substring scan of the
newest items (``SCAN_LIMIT``: the scan reads whole rows, so it is bounded).

``query_terms`` and ``term_spans`` say where a query's words stand in an item's original
text (through the normalization's offset map), for highlighting.
"""

from __future__ import annotations

from typing import Any

from ..models import Item
from ..normalize import normalize
from .db import to_model

# the substring fallback looks at this many of the newest items at most
SCAN_LIMIT = 20000
RANK_WINDOW = 5000     # a search ranks at most the newest this many matches by relevance


def tokens(text: str) -> list[str]:
    """Normalized search tokens of ``text``: jieba's search mode (jieba-rs, the same
    dictionary and algorithm as jieba, 16x faster); FTS5 drops punctuation tokens itself.
    jieba-rs loads its dictionary on first use, not when the store is opened."""
    import rjieba

    return rjieba.cut_for_search(normalize(text).text, hmm=False)


def query_terms(query: str) -> list[str]:
    """The normalized words of ``query`` that the index is searched for (those holding a
    letter or digit), plus the whole normalized query when it is more than one word (what
    the substring fallback looks for)."""
    words = [t for t in dict.fromkeys(tokens(query)) if any(ch.isalnum() for ch in t)]
    whole = normalize(query.strip()).text
    if whole and whole not in words and any(ch.isalnum() for ch in whole):
        words.append(whole)
    return words


def fts_query(query: str) -> str:
    """The FTS5 MATCH expression for ``query``: every word, each quoted ("" when none)."""
    words = dict.fromkeys(t for t in tokens(query) if any(ch.isalnum() for ch in t))
    return " ".join('"' + t.replace('"', '""') + '"' for t in words)


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

    def search_items(self, query: str, *, limit: int = 50, offset: int = 0) -> list[Item]:
        """Items matching every word of ``query``, best match first (BM25, the title
        weighing three times the body; equal ranks newest first); ``offset`` skips that
        many (a page further on). When a word is so common that more than
        :data:`RANK_WINDOW` items match, the ranking is among the newest of them (by
        arrival), so a search costs the same however common its words are."""
        fts = fts_query(query)
        rows: list[dict[str, Any]] = []
        with self.lock:
            if fts:
                # the newest RANK_WINDOW matches (at least as many as the page needs): the
                # index walks its rowids backwards without ranking anything
                window = max(RANK_WINDOW, int(offset) + int(limit))
                floor = self.db.execute(
                    "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC "
                    "LIMIT 1 OFFSET ?", [fts, window - 1]).fetchone()
                # ranked on the index alone; only the rows shown are read from items
                # (deleted items have left the index)
                rows = list(self.db.query(
                    "SELECT items.* FROM (SELECT rowid AS id, bm25(items_fts, 3.0, 1.0) AS rank "
                    "FROM items_fts WHERE items_fts MATCH ? AND rowid >= ? "
                    "ORDER BY rank, rowid DESC LIMIT ? OFFSET ?) AS hit "
                    "JOIN items ON items.id = hit.id "
                    "WHERE items.deleted = 0 ORDER BY hit.rank, hit.id DESC",
                    [fts, floor[0] if floor else 0, int(limit), int(offset)]))
            if not rows and query.strip() and not (offset and fts and self._any_match(fts)):
                like = like_pattern(query)
                rows = list(self.db.query(
                    "SELECT * FROM (SELECT * FROM items WHERE deleted = 0 "
                    "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT ?) "
                    "WHERE title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\' "
                    "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC LIMIT ? OFFSET ?",
                    [SCAN_LIMIT, like, like, int(limit), int(offset)]))
        return [to_model(Item, r) for r in rows]
