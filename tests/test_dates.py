"""One date policy for every source: a publication date before 1990 or more than a day after
the fetch time is not believed; the item is dated at its fetch time and the reason is
stored (a missing date stays missing), so it neither sits at the top of every listing nor passes --since."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.models import DATE_NOTES, ParsedItem
from monitor.parse import parse_feed, parse_in_worker
from monitor.store import Store
from monitor.store.db import MIGRATIONS, iso

from support import Cli, write_config

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # the fetch time

# case id, published (None: the item has no date), expected note (None: the date is kept)
TABLE = [
    ("9999-12-31", datetime(9999, 12, 31, tzinfo=UTC), "future"),
    ("1900-01-01", datetime(1900, 1, 1, tzinfo=UTC), "too_old"),
    ("1969", datetime(1969, 7, 20, 20, 17, tzinfo=UTC), "too_old"),
    ("1989-12-31", datetime(1989, 12, 31, 12, 0, tzinfo=UTC), "too_old"),
    ("year-2100", datetime(2100, 1, 1, tzinfo=UTC), "future"),
    ("+2-days", NOW + timedelta(days=2), "future"),
    ("+1-hour", NOW + timedelta(hours=1), None),           # clock skew: kept
    ("normal", datetime(2024, 3, 10, 1, 30, tzinfo=UTC), None),
    ("missing", None, None),                                # stays missing (null)
]


def _rss(cases: list[tuple[str, datetime | None]], raw: dict[str, str] | None = None) -> bytes:
    items = "".join(
        f"<item><title>条目 {cid}</title><guid>{cid}</guid>"
        + (f"<pubDate>{(raw or {}).get(cid) or format_datetime(dt)}</pubDate>" if dt else "")
        + "</item>" for cid, dt in cases)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title>'
            f"{items}</channel></rss>").encode()


def _atom(cases: list[tuple[str, datetime | None]]) -> bytes:
    entries = "".join(
        f"<entry><title>条目 {cid}</title><id>{cid}</id>"
        + (f"<published>{dt.isoformat()}</published>" if dt else "") + "</entry>"
        for cid, dt in cases)
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>源</title>{entries}</feed>").encode()


def _json(cases: list[tuple[str, datetime | None]]) -> bytes:
    items = [{"id": cid, "title": f"条目 {cid}", "content_text": "正文",
              **({"date_published": dt.isoformat()} if dt else {})} for cid, dt in cases]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "源",
                       "items": items}).encode()


def _row(item) -> dict:
    """A stored item as its row reads: times as the ISO text the store keeps."""
    return {**dataclasses.asdict(item), "published_at": iso(item.published_at),
            "fetched_at": iso(item.fetched_at)}


def _stored(tmp_path, data: bytes, *, now: datetime = NOW) -> dict[str, dict]:
    feed = parse_in_worker(data, "", None, "Asia/Shanghai", "http://127.0.0.1/feed", now)
    with Store(tmp_path / "m.db") as store:
        store.store_items("f", feed.items, now=now)
        return {r.guid: _row(r) for r in store.list_items(limit=None)}


@pytest.mark.parametrize("build", [_rss, _atom, _json], ids=["rss", "atom", "json-feed"])
def test_date_table_through_parse_and_store(tmp_path, build):
    feed = parse_feed(build([(c, dt) for c, dt, _ in TABLE]), now=NOW)
    parsed = {i.guid: i for i in feed.items}
    rows = _stored(tmp_path, build([(c, dt) for c, dt, _ in TABLE]))
    for cid, published, note in TABLE:
        expected = published if note is None else NOW
        assert (parsed[cid].published_at, parsed[cid].date_note) == (expected, note), cid
        assert (rows[cid]["published_at"], rows[cid]["date_note"]) == (iso(expected), note), cid
        if note is not None:  # dated at the fetch time, exactly
            assert rows[cid]["published_at"] == rows[cid]["fetched_at"]
        assert note is None or DATE_NOTES[note].endswith("按抓取时间计")


def test_feedparser_own_date_parser_is_held_to_the_same_policy(tmp_path):
    """Dates only feedparser reads (here its Korean parser) were stored unchecked."""
    cases = [("ko-9999", datetime(9999, 12, 31, tzinfo=UTC)),
             ("ko-1900", datetime(1900, 1, 1, tzinfo=UTC)),
             ("ko-ok", datetime(2024, 3, 10, tzinfo=UTC))]
    raw = {"ko-9999": "9999-12-31 오후 11:00:00", "ko-1900": "1900-01-01 오전 10:00:00",
           "ko-ok": "2024-03-10 오전 10:00:00"}
    rows = _stored(tmp_path, _rss(cases, raw))
    assert rows["ko-9999"]["date_note"] == "future" and rows["ko-9999"]["published_at"] == iso(NOW)
    assert rows["ko-1900"]["date_note"] == "too_old" and rows["ko-1900"]["published_at"] == iso(NOW)
    assert rows["ko-ok"]["date_note"] is None
    assert rows["ko-ok"]["published_at"].startswith("2024-03-10")  # as feedparser reads it


def test_without_a_fetch_time_unbelievable_dates_are_dropped_not_invented():
    data = _rss([("old", datetime(1900, 1, 1, tzinfo=UTC)), ("none", None),
                 ("far", datetime(9999, 1, 1, tzinfo=UTC))])
    items = {i.guid: i for i in parse_feed(data).items}
    assert (items["old"].published_at, items["old"].date_note) == (None, "too_old")
    assert (items["none"].published_at, items["none"].date_note) == (None, None)
    assert items["far"].published_at == datetime(9999, 1, 1, tzinfo=UTC)  # no "now" to judge by


def test_a_changed_item_keeps_the_fetch_time_it_was_first_dated_at(tmp_path):
    later = NOW + timedelta(hours=6)
    with Store(tmp_path / "m.db") as store:
        for when, body in ((NOW, "初稿"), (later, "终稿")):
            item = ParsedItem(guid="g", link=None, title="无日期", body=body,
                              published_at=when, date_note="future")
            store.store_items("f", [item], now=when)
        (row,) = map(_row, store.list_items())
        assert row["body"] == "终稿" and row["published_at"] == iso(NOW)
        assert row["date_note"] == "future"
        # a real date arriving later replaces the stand-in
        good = datetime(2026, 2, 28, tzinfo=UTC)
        store.store_items("f", [ParsedItem(guid="g", link=None, title="有日期", body="终稿",
                                           published_at=good)], now=later)
        (row,) = map(_row, store.list_items())
        assert (row["published_at"], row["date_note"]) == (iso(good), None)


def test_upgrade_dates_rows_stored_under_the_old_policy(tmp_path):
    path = tmp_path / "m.db"
    with Store(path, migrate=False) as store:
        store.migrate(MIGRATIONS[:4])
    conn = sqlite3.connect(path)
    fetched = iso(NOW)
    for guid, published in (("far", "9999-12-31T00:00:00+00:00"), ("old", "1900-01-01T00:00:00+00:00"),
                            ("none", None), ("ok", "2026-02-28T00:00:00+00:00"),
                            ("skew", iso(NOW + timedelta(hours=1)))):
        conn.execute("INSERT INTO items (feed, dedup_key, guid, content_hash, published_at, "
                     "fetched_at) VALUES ('f', ?, ?, ?, ?, ?)",
                     [guid, guid, guid, published, fetched])
    conn.commit()
    conn.close()
    with Store(path) as store:
        rows = {r.guid: _row(r) for r in store.list_items(limit=None)}
    assert {g: (r["published_at"], r["date_note"]) for g, r in rows.items()} == {
        "far": (fetched, "future"), "old": (fetched, "too_old"), "none": (None, None),
        "ok": ("2026-02-28T00:00:00+00:00", None), "skew": (iso(NOW + timedelta(hours=1)), None)}


def test_items_list_since_and_order_no_longer_favour_absurd_dates(tmp_path, httpserver):
    now = datetime.now(UTC)
    cases = [("far", datetime(9999, 12, 31, tzinfo=UTC)), ("y2100", datetime(2100, 1, 1, tzinfo=UTC)),
             ("soon", now + timedelta(days=2)), ("skew", now + timedelta(hours=1)),
             ("old", datetime(1900, 1, 1, tzinfo=UTC)),
             ("normal", now - timedelta(days=3))]
    httpserver.expect_request("/feed.xml").respond_with_data(
        _rss(cases), content_type="application/rss+xml")
    cli = Cli(write_config(tmp_path, feeds=[{"name": "源", "url": httpserver.url_for("/feed.xml")}]))
    assert cli.json("fetch")["new_items"] == len(cases)
    rows = cli.json("items", "list")
    titles = [r["title"] for r in rows]
    assert titles[0] == "条目 skew"             # the only item really dated after the fetch
    assert titles[-1] == "条目 normal"
    fetched = {r["title"]: r for r in rows}
    for cid in ("far", "y2100", "soon", "old"):
        assert fetched[f"条目 {cid}"]["published_at"] == fetched[f"条目 {cid}"]["fetched_at"]
    assert cli.json("items", "list", "--since", "2999-01-01") == []
    later = (now + timedelta(hours=2)).isoformat()
    assert cli.json("items", "list", "--since", later) == []
    # period boundaries (period_where) see the fetch time for the absurd ones
    recent = cli.json("items", "list", "--since", (now - timedelta(days=1)).isoformat())
    assert {r["title"] for r in recent} == {f"条目 {c}" for c in ("far", "y2100", "soon", "skew", "old")}
