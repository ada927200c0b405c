"""Items: dedup (GUID, then link, then content hash), insert/update, tombstones, listing.

A link another feed already stored (and that only one item has) is that item seen in a
second place, not a new item: the sighting goes into ``item_sightings``.

An item known by its GUID or link is updated in place when its text changes. An item
with neither (or whose link is shared by several items in the feed, e.g. every entry links
to the home page) is known only by the hash of its content, so an edited copy cannot be
told apart from a new story and is stored as a new row; when exactly one earlier row of
the same feed with the same link and a similar title is no longer in the feed, the new
row records it in ``revision_of``, so the two are linked as versions of one story.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import Item, ParsedItem
from .db import id_chunks, iso, period_where, to_model, utcnow

_SAME_STORY = 0.6  # titles at least this similar (difflib ratio) are one story's versions


@dataclass(frozen=True)
class StoredItem:
    """The outcome of storing one parsed item: ``status`` is ``new``, ``changed`` or
    ``seen`` (another feed's item with the same link, now also seen in this feed)."""

    id: int
    status: str


def content_hash(item: ParsedItem) -> str:
    h = hashlib.sha256()
    for part in (item.title, item.body, item.link or ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def dedup_keys(items: list[ParsedItem]) -> list[str]:
    """Key per item: its GUID when unique in the batch, else its link when unique, else a hash.

    Feeds whose GUIDs are missing or repeat (some CMSs give every entry the same one) fall
    back to the next identifier, so distinct stories never collapse into one row.
    """
    guids = Counter(i.guid for i in items if i.guid)
    links = Counter(i.link for i in items if i.link)
    keys = []
    for item in items:
        if item.guid and guids[item.guid] == 1:
            keys.append("g:" + item.guid)
        elif item.link and links[item.link] == 1:
            keys.append("l:" + item.link)
        else:
            keys.append("h:" + content_hash(item))
    return keys


class ItemsMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]  # Database.tx: a write transaction
    log_event: Callable[..., None]  # AuditMixin.log_event: the one way into the audit log
    _index: Callable[..., None]  # SearchMixin keeps the full-text index in step

    def store_items(self, feed: str, items: list[ParsedItem], *,
                    now: datetime | None = None) -> list[StoredItem]:
        """Insert new items and update changed ones; returns only those new or changed.

        An item dated at its fetch time (``date_note`` set, see ``monitor.finish``) keeps
        the date it was first stored under when it changes: a re-fetch never moves it."""
        now_s = iso(now or utcnow())
        out: list[StoredItem] = []
        links = Counter(i.link for i in items if i.link)
        hashes = {content_hash(i) for i in items}
        with self.tx():
            for item, key in zip(items, dedup_keys(items), strict=True):
                chash = content_hash(item)
                row = self._find_existing(feed, key, item, chash, links)
                if row is None and item.link and links[item.link] == 1:
                    seen = self._seen_elsewhere(feed, item.link, now)
                    if seen is not None:
                        if seen.status == "seen":
                            out.append(seen)
                        continue
                record: dict[str, Any] = {
                    "guid": item.guid, "link": item.link, "title": item.title,
                    "body": item.body, "author": item.author, "content_hash": chash,
                    "published_at": iso(item.published_at), "date_note": item.date_note,
                }
                if row is None:
                    record.update({"feed": feed, "dedup_key": key, "fetched_at": now_s})
                    if key.startswith("h:") and item.link:
                        record["revision_of"] = self._earlier_version(feed, item, hashes)
                    cols = ", ".join(record)
                    item_id = self.db.execute(
                        f"INSERT INTO items ({cols}) VALUES ({', '.join('?' * len(record))})",
                        list(record.values())).lastrowid
                    self._index(item_id, item.title, item.body, replace=False)
                    self.log_event("item.stored", str(item_id), now=now, data={
                        "feed": feed, "title": item.title, "link": item.link})
                    out.append(StoredItem(item_id, "new"))
                elif row["deleted"]:
                    continue
                elif row["content_hash"] != chash:
                    if item.date_note:  # dated at a fetch time: keep the first one
                        del record["published_at"], record["date_note"]
                    record["updated_at"] = now_s
                    record["body_pruned_at"] = None  # a new text is kept like any other
                    self.db["items"].update(row["id"], record)
                    self._index(row["id"], item.title, item.body, replace=True)
                    self.log_event("item.changed", str(row["id"]), now=now, data={
                        "feed": feed, "title": item.title, "link": item.link})
                    out.append(StoredItem(row["id"], "changed"))
        return out

    def _find_existing(self, feed: str, key: str, item: ParsedItem, chash: str,
                       links: Counter[str]) -> dict[str, Any] | None:
        cols = "id, deleted, content_hash"
        row = self.db.execute(
            f"SELECT {cols} FROM items WHERE feed = ? AND dedup_key = ?", [feed, key]).fetchone()
        if row is None and item.link and links[item.link] == 1 and not key.startswith("g:"):
            row = self.db.execute(
                f"SELECT {cols} FROM items WHERE feed = ? AND link = ? LIMIT 1",
                [feed, item.link]).fetchone()
        if row is None:
            row = self.db.execute(
                f"SELECT {cols} FROM items WHERE feed = ? AND content_hash = ? LIMIT 1",
                [feed, chash]).fetchone()
        if row is None:
            return None
        return {"id": row[0], "deleted": row[1], "content_hash": row[2]}

    def _seen_elsewhere(self, feed: str, link: str,
                        now: datetime | None) -> StoredItem | None:
        """The one item another feed stored with this link, its sighting in ``feed``
        recorded: status ``seen`` the first time, ``known`` after (None: not elsewhere)."""
        rows = self.db.execute("SELECT id, deleted FROM items WHERE link = ? AND feed != ? "
                               "LIMIT 2", [link, feed]).fetchall()
        if len(rows) != 1:
            return None  # a link many items share (a home page) tells nothing
        item_id, deleted = rows[0]
        if deleted:
            return StoredItem(item_id, "known")
        cur = self.db.execute("INSERT OR IGNORE INTO item_sightings (item_id, feed, seen_at) "
                              "VALUES (?, ?, ?)", [item_id, feed, iso(now or utcnow())])
        if not cur.rowcount:
            return StoredItem(item_id, "known")
        self.log_event("item.seen", str(item_id), now=now, data={"feed": feed, "link": link})
        return StoredItem(item_id, "seen")

    def item_sightings(self, item_id: int) -> list[tuple[str, datetime]]:
        """The other feeds the item was also seen in, with when, in that order."""
        with self.lock:
            rows = self.db.execute("SELECT feed, seen_at FROM item_sightings WHERE item_id = ? "
                                   "ORDER BY seen_at, feed", [item_id]).fetchall()
        return [(r[0], datetime.fromisoformat(r[1])) for r in rows]

    def _earlier_version(self, feed: str, item: ParsedItem,
                         batch_hashes: set[str]) -> int | None:
        """The one stored hash-keyed row of ``feed`` with this link, a similar title, whose
        content is no longer in the feed and that no later row revises (the version an
        edit replaced), or None when not exactly one."""
        rows = self.db.execute(
            "SELECT id, content_hash, title FROM items WHERE feed = ? AND link = ? "
            "AND deleted = 0 AND dedup_key LIKE 'h:%' AND id NOT IN (SELECT revision_of "
            "FROM items WHERE feed = ? AND revision_of IS NOT NULL)",
            [feed, item.link, feed]).fetchall()
        gone = [r[0] for r in rows if r[1] not in batch_hashes
                and difflib.SequenceMatcher(None, r[2], item.title).ratio() >= _SAME_STORY]
        return gone[0] if len(gone) == 1 else None

    def delete_item(self, item_id: int, *, now: datetime | None = None,
                    actor: str | None = None) -> bool:
        """Tombstone an item: it disappears from listings and never comes back on re-fetch."""
        with self.tx():
            cur = self.db.execute("UPDATE items SET deleted = 1, updated_at = ? "
                                  "WHERE id = ? AND deleted = 0", [iso(now or utcnow()), item_id])
            self.db.execute("DELETE FROM items_fts WHERE rowid = ?", [item_id])
            if cur.rowcount:
                title = self.db.execute("SELECT title FROM items WHERE id = ?",
                                        [item_id]).fetchone()
                self.log_event("item.deleted", str(item_id), actor=actor, now=now,
                               data={"title": title[0] if title else None})
        return bool(cur.rowcount > 0)

    def deletion_of(self, item_id: int) -> tuple[datetime, str] | None:
        """When and by whom the item was deleted (its ``item.deleted`` audit record;
        the items table keeps only the tombstone flag)."""
        with self.lock:
            row = self.db.execute(
                "SELECT at, actor FROM events WHERE kind = 'item.deleted' AND subject = ? "
                "ORDER BY id DESC LIMIT 1", [str(item_id)]).fetchone()
        return (datetime.fromisoformat(row[0]), row[1] or "system") if row else None

    def get_item(self, item_id: int) -> Item | None:
        return self.get_items([item_id]).get(item_id)

    def recent_item_times(self, feed: str, *, limit: int = 20) -> list[datetime]:
        """The dates of the feed's newest items, newest first (its usual rhythm)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT coalesce(published_at, fetched_at) AS t FROM items WHERE feed = ? "
                "AND deleted = 0 ORDER BY t DESC LIMIT ?", [feed, int(limit)]).fetchall()
        return [datetime.fromisoformat(r[0]) for r in rows]

    def get_items(self, item_ids: list[int]) -> dict[int, Item]:
        """Items by id (one query per 500 ids); ids that do not exist are absent."""
        out: dict[int, Item] = {}
        with self.lock:
            for marks, chunk in id_chunks(item_ids):
                for r in self.db.query(f"SELECT * FROM items WHERE id IN ({marks})", chunk):
                    out[r["id"]] = to_model(Item, r)
        return out

    def list_items(self, *, feed: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, fetched_since: datetime | None = None,
                   limit: int | None = 50, offset: int = 0) -> list[Item]:
        """Items newest first (by publication time, else fetch time); ``fetched_since``
        keeps those first fetched since then; ``offset`` skips that many (with a
        ``limit``: a page further on)."""
        where, params = _items_where(feed, since, until, fetched_since)
        sql = (f"SELECT * FROM items WHERE {' AND '.join(where)} "
               "ORDER BY coalesce(published_at, fetched_at) DESC, id DESC")
        if limit:
            sql += f" LIMIT {int(limit)} OFFSET {max(0, int(offset))}"
        with self.lock:
            return [to_model(Item, r) for r in self.db.query(sql, params)]

    def known_links(self, feed: str, links: list[str]) -> set[str]:
        """Which of ``links`` the feed has stored already (deleted ones too: never again)."""
        found: set[str] = set()
        with self.lock:
            for start in range(0, len(links), 500):
                chunk = links[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in self.db.execute(
                    f"SELECT link FROM items WHERE feed = ? AND link IN ({marks})",
                    [feed, *chunk]))
        return found

    def count_items(self, *, feed: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, fetched_since: datetime | None = None) -> int:
        """How many items ``list_items`` would give with these filters and no limit."""
        where, params = _items_where(feed, since, until, fetched_since)
        with self.lock:
            return int(self.db.execute(f"SELECT count(*) FROM items WHERE {' AND '.join(where)}",
                                       params).fetchone()[0])


def _items_where(feed: str | None, since: datetime | None, until: datetime | None,
                 fetched_since: datetime | None) -> tuple[list[str], list[Any]]:
    """The conditions of ``list_items`` and ``count_items``."""
    where, params = period_where(since, until)
    if feed:
        where.append("feed = ?")
        params.append(feed)
    if fetched_since is not None:
        where.append("fetched_at >= ?")
        params.append(iso(fetched_since))
    return where, params
