"""Store: migrations, dedup (GUID -> link -> hash), updates, tombstones, Chinese search."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import ParsedItem
from monitor.store import Store
from monitor.store.db import MIGRATIONS

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def item(title: str, *, guid: str | None = None, link: str | None = None, body: str = "",
         published: datetime | None = None) -> ParsedItem:
    return ParsedItem(guid=guid, link=link, title=title, body=body or f"{title}的正文。",
                      published_at=published)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data" / "m.db")
    yield s
    s.close()


def test_database_is_wal_file_with_recorded_migrations(tmp_path):
    path = tmp_path / "m.db"
    with Store(path) as s:
        assert s.schema_version() == MIGRATIONS[-1][0]
    assert path.exists()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [int(r[0].split()[0]) for r in conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = 'yuqing-monitor'")]
    assert versions == [m[0] for m in MIGRATIONS]


def test_upgrade_applies_only_new_migrations(tmp_path):
    path = tmp_path / "m.db"
    with Store(path) as s:
        s.store_items("f", [item("旧条目", guid="1")], now=T0)
    extra = [*MIGRATIONS, (MIGRATIONS[-1][0] + 1, "test column",
                           "ALTER TABLE items ADD COLUMN test_extra TEXT")]
    with Store(path, migrate=False) as s:
        assert s.migrate(extra) == [extra[-1][0]]
        assert s.migrate(extra) == []
        assert s.count_items() == 1
        assert "test_extra" in s.db["items"].columns_dict


@pytest.mark.parametrize(("batch1", "batch2", "expect_rows", "expect_second"), [
    # same GUIDs again: nothing new
    ([item("甲", guid="a"), item("乙", guid="b")], [item("甲", guid="a"), item("乙", guid="b")], 2, []),
    # no GUIDs, links identify
    ([item("甲", link="http://x/1"), item("乙", link="http://x/2")],
     [item("甲", link="http://x/1"), item("丙", link="http://x/3")], 3, ["new"]),
    # GUID repeated within the feed (broken CMS): fall back to link
    ([item("甲", guid="same", link="http://x/1"), item("乙", guid="same", link="http://x/2")],
     [item("甲", guid="same", link="http://x/1"), item("乙", guid="same", link="http://x/2")], 2, []),
    # neither GUID nor link: content hash
    ([item("甲"), item("乙")], [item("甲"), item("乙"), item("丁")], 3, ["new"]),
    # content changed under the same GUID: updated, not duplicated
    ([item("甲", guid="a", body="初稿")], [item("甲（更新）", guid="a", body="终稿")], 1, ["changed"]),
    # GUID regenerated on every fetch but same link: not a new item
    ([item("甲", guid="r1", link="http://x/1")], [item("甲", guid="r2", link="http://x/1")], 1, []),
])
def test_dedup(store, batch1, batch2, expect_rows, expect_second):
    first = store.store_items("f", batch1, now=T0)
    assert [s.status for s in first] == ["new"] * len(batch1)
    second = store.store_items("f", batch2, now=T0 + timedelta(minutes=15))
    assert [s.status for s in second] == expect_second
    assert store.count_items() == expect_rows


def test_changed_item_is_updated_and_reindexed(store):
    (s1,) = store.store_items("f", [item("工地扬尘", guid="a", body="扬尘严重")], now=T0)
    store.store_items("f", [item("工地噪音", guid="a", body="夜间施工噪音")], now=T0)
    row = store.get_item(s1.id)
    assert row["title"] == "工地噪音" and row["updated_at"]
    assert row["updated_at"] == T0 and row["body"] == "夜间施工噪音"
    assert [r["id"] for r in store.search_items("噪音")] == [s1.id]
    assert store.search_items("扬尘") == []


def test_same_guid_without_link_in_two_feeds_is_kept_per_feed(store):
    store.store_items("a", [item("甲", guid="x")], now=T0)
    store.store_items("b", [item("甲", guid="x")], now=T0)
    assert store.count_items() == 2


def test_same_link_in_two_feeds_is_one_item_seen_twice(store):
    (first,) = store.store_items("a", [item("甲", guid="x", link="https://n.example/1")], now=T0)
    later = T0 + timedelta(minutes=5)
    seen = store.store_items("b", [item("甲（转载）", guid="y", link="https://n.example/1")],
                             now=later)
    assert [(s.id, s.status) for s in seen] == [(first.id, "seen")]
    assert store.count_items() == 1
    assert store.item_sightings(first.id) == [("b", later)]
    assert store.store_items("b", [item("甲（转载）", guid="y", link="https://n.example/1")],
                             now=later) == []  # seen once is enough


def test_deleted_item_never_returns(store):
    (s1,) = store.store_items("f", [item("广告", guid="ad")], now=T0)
    assert store.delete_item(s1.id)
    assert store.store_items("f", [item("广告", guid="ad", body="改了")], now=T0) == []
    assert store.list_items() == []
    assert store.search_items("广告") == []


def test_list_newest_first_with_filters(store):
    store.store_items("a", [item("早", guid="1", published=T0),
                            item("晚", guid="2", published=T0 + timedelta(days=2))], now=T0)
    store.store_items("b", [item("无日期", guid="3")], now=T0 + timedelta(days=1))
    assert [r["title"] for r in store.list_items()] == ["晚", "无日期", "早"]
    assert [r["title"] for r in store.list_items(feed="a")] == ["晚", "早"]
    assert [r["title"] for r in store.list_items(since=T0 + timedelta(hours=1))] == ["晚", "无日期"]
    assert len(store.list_items(limit=1)) == 1


@pytest.mark.parametrize(("query", "hits"), [
    ("欠薪", ["农民工讨薪：某工地拖欠工资欠薪三个月"]),
    ("拖欠工资", ["农民工讨薪：某工地拖欠工资欠薪三个月"]),
    ("农民工", ["农民工讨薪：某工地拖欠工资欠薪三个月"]),
    ("地铁 施工", ["地铁五号线施工封路公告"]),
    ("施工", ["地铁五号线施工封路公告", "夜間施工噪音擾民"]),
    ("噪音扰民", ["夜間施工噪音擾民"]),           # simplified query finds traditional text
    ("擾民", ["夜間施工噪音擾民"]),               # and the other way round
    ("ＡＢＣ", ["ABC 项目开工"]),                  # full-width folds to half-width
    ("拆迁", []),
])
def test_search_finds_chinese_words(store, query, hits):
    titles = ["农民工讨薪：某工地拖欠工资欠薪三个月", "地铁五号线施工封路公告",
              "夜間施工噪音擾民", "ABC 项目开工"]
    store.store_items("f", [item(t, guid=str(i), body=t) for i, t in enumerate(titles)], now=T0)
    assert sorted(r["title"] for r in store.search_items(query)) == sorted(hits)


def test_default_and_trigram_tokenizers_miss_two_character_words(tmp_path):
    """Why we index jieba tokens: the alternatives fail on ordinary Chinese queries."""
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("CREATE VIRTUAL TABLE d USING fts5(t)")
    conn.execute("CREATE VIRTUAL TABLE g USING fts5(t, tokenize='trigram')")
    text = "农民工讨薪：某工地拖欠工资欠薪三个月"
    conn.execute("INSERT INTO d VALUES (?)", [text])
    conn.execute("INSERT INTO g VALUES (?)", [text])
    assert conn.execute("SELECT count(*) FROM d WHERE d MATCH '欠薪'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM g WHERE g MATCH '欠薪'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM g WHERE g MATCH '拖欠工资'").fetchone()[0] == 1


def test_feed_state_success_failure_and_status(store):
    from monitor.config import FeedConfig

    store.sync_feeds([FeedConfig(name="f", url="http://127.0.0.1/a")], now=T0)
    assert store.record_failure("f", now=T0, kind="timeout", error="超时",
                                next_check_at=T0 + timedelta(minutes=1)) == 1
    assert store.record_failure("f", now=T0, kind="http_status", error="HTTP 500",
                                next_check_at=T0 + timedelta(minutes=2), status=500) == 2
    (row,) = store.feeds_status(["f"])
    assert row["ok"] == 0 and row["consecutive_failures"] == 2 and row["last_error"] == "HTTP 500"
    store.record_success("f", now=T0, status=200, next_check_at=T0 + timedelta(minutes=15),
                         etag='"v1"', new_items=3)
    (row,) = store.feeds_status(["f"])
    assert row["ok"] == 1 and row["consecutive_failures"] == 0 and row["etag"] == '"v1"'
    # a URL change drops validators that belonged to the old URL
    store.sync_feeds([FeedConfig(name="f", url="http://127.0.0.1/b")], now=T0)
    assert store.feed_state("f")["etag"] is None


def test_edited_hash_only_item_is_linked_to_the_version_it_replaced(tmp_path):
    """Items sharing one link (every entry points at the home page) are known by content
    hash: an edit is a new row, linked to the row it replaced through ``revision_of``."""
    from monitor.models import ParsedItem
    from monitor.store import Store

    home = "http://example.org/"
    first = [ParsedItem(None, home, "甲：工地停工", ""), ParsedItem(None, home, "乙：道路封闭", "")]
    edited = [ParsedItem(None, home, "甲：工地停工（更新）", ""), first[1]]
    with Store(tmp_path / "m.db") as store:
        a, b = (s.id for s in store.store_items("f", first, now=T0))
        (new,) = store.store_items("f", edited, now=T0)
        assert new.status == "new"
        assert store.get_item(new.id)["revision_of"] == a
        # a story added beside unchanged ones is not taken for a revision
        (other,) = store.store_items("f", [*edited, ParsedItem(None, home, "丙：新消息", "")],
                                     now=T0)
        assert store.get_item(other.id)["revision_of"] is None
        assert store.get_item(b)["revision_of"] is None


def test_database_from_the_old_migration_runner_is_carried_over(tmp_path):
    """A database whose migrations 1-4 were recorded in the former ``schema_migrations``
    table: its records move to sqlite-utils' ``_sqlite_migrations``, only 5 and later run,
    and its items survive."""
    from monitor.store.db import _split_sql

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, "
                 "applied_at TEXT)")
    for version, name, script in MIGRATIONS[:4]:
        for statement in _split_sql(script):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                     [version, name, "2026-01-01T00:00:00+00:00"])
    conn.execute("INSERT INTO items (feed, dedup_key, title, content_hash, fetched_at) "
                 "VALUES ('f', 'g:1', '旧条目', 'h', '2026-01-01T00:00:00+00:00')")
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.applied_migrations() == [m[0] for m in MIGRATIONS]
        assert "schema_migrations" not in s.db.table_names()
        assert [i.title for i in s.list_items()] == ["旧条目"]
        assert s.migrate() == []
    conn = sqlite3.connect(path)
    applied = dict(conn.execute("SELECT name, applied_at FROM _sqlite_migrations"))
    conn.close()
    assert applied[f"0001 {MIGRATIONS[0][1]}"] == "2026-01-01T00:00:00+00:00"  # kept, not re-run


def test_a_new_story_is_not_taken_for_a_revision_of_one_that_dropped_off(tmp_path):
    """Every entry links to the home page and the oldest drops off as a new one arrives:
    the new story is not an edit of the dropped one (their titles differ)."""
    from monitor.models import ParsedItem
    from monitor.store import Store

    home = "http://example.org/"
    with Store(tmp_path / "m.db") as store:
        store.store_items("f", [ParsedItem(None, home, "甲：工地停工", ""),
                                ParsedItem(None, home, "乙：道路封闭", "")], now=T0)
        (new,) = store.store_items("f", [ParsedItem(None, home, "乙：道路封闭", ""),
                                         ParsedItem(None, home, "丙：学校开学典礼", "")], now=T0)
        assert store.get_item(new.id)["revision_of"] is None


def test_a_very_common_word_is_ranked_among_its_newest_matches(store, monkeypatch):
    """Past RANK_WINDOW matches, relevance ranks the newest of them only (so a search on
    a word in every seventh item of a million costs what a rare word does); pages beyond
    the window still come, in order, and nothing is lost within it."""
    import monitor.store.search as search

    best = store.store_items("f", [item("坍塌坍塌坍塌", guid="old", body="坍塌")], now=T0)[0]
    rest = store.store_items("f", [item(f"消息{n}", guid=f"n{n}", body=f"提到坍塌的第{n}条")
                                   for n in range(8)], now=T0 + timedelta(minutes=1))
    assert store.search_items("坍塌", limit=3)[0]["id"] == best.id       # all ranked
    monkeypatch.setattr(search, "RANK_WINDOW", 4)
    top = [r["id"] for r in store.search_items("坍塌", limit=4)]
    assert best.id not in top and set(top) <= {s.id for s in rest[-4:]}
    deep = store.search_items("坍塌", limit=3, offset=6)                   # window grows
    assert len(deep) == 3
    everything = [r["id"] for r in store.search_items("坍塌", limit=9)]
    assert sorted(everything) == sorted([best.id, *(s.id for s in rest)])


def test_rule_history_is_append_only_and_a_revert_is_a_change(store):
    """A -> B -> A is three changes, each with its own time and diff; the same rules again
    (a restart) add nothing; and no row can be changed or removed."""
    import sqlite3

    a, b = {"r.yaml": "- id: x\n  weight: 10\n"}, {"r.yaml": "- id: x\n  weight: 20\n"}
    assert store.record_ruleset("A", a, 1, actor="王五", now=T0)
    assert store.record_ruleset("B", b, 1, actor="王五", now=T0 + timedelta(hours=1))
    assert not store.record_ruleset("B", b, 1, now=T0 + timedelta(hours=2))   # restart
    assert store.record_ruleset("A", a, 1, actor="李四", now=T0 + timedelta(hours=3))
    rows = store.ruleset_versions()                       # newest first
    assert [(r.version, r.loaded_at, r.actor) for r in rows] == [
        ("A", T0 + timedelta(hours=3), "李四"), ("B", T0 + timedelta(hours=1), "王五"),
        ("A", T0, "王五")]
    assert "-  weight: 20" in rows[0].diff and "+  weight: 10" in rows[0].diff
    assert rows[0].changed == ["r.yaml"]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE ruleset_versions SET loaded_at = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM ruleset_versions")
    assert store.last_ruleset_files() == a
