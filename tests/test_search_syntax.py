"""Search as people type it: ``-word`` excludes, ``A OR B`` takes either, ``word*`` is a
prefix, ``--feed``/``--since``/``--until`` narrow, an empty query is a usage error, and a
list cut by ``--limit`` says how many more there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import ParsedItem
from monitor.store import Store

from support import Cli, write_config

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
ITEMS = [  # (feed, title, days after T0)
    ("甲", "滨江大道施工封闭三个月", 0),
    ("甲", "滨江大道改造工程招标公告", 1),
    ("乙", "某工地发生坍塌 两人受伤", 2),
    ("乙", "高架桥垮塌系谣言", 3),
    ("甲", "滨江新区地铁站开工", 4),
]


@pytest.fixture
def searched(tmp_path):
    cfg = write_config(tmp_path, feeds=[{"name": "甲", "url": "http://127.0.0.1:9/a"},
                                        {"name": "乙", "url": "http://127.0.0.1:9/b"}])
    db = tmp_path / "data" / "monitor.db"
    with Store(db) as store:
        for n, (feed, title, days) in enumerate(ITEMS):
            store.store_items(feed, [ParsedItem(guid=str(n), link=f"http://x.org/{n}",
                                                title=title, body="",
                                                published_at=T0 + timedelta(days=days))],
                              now=T0 + timedelta(days=days))
        yield store, Cli(cfg)


def titles(store: Store, query: str, **kw) -> set[str]:
    return {i.title for i in store.search_items(query, **kw)}


def test_exclusion_or_and_prefix(searched) -> None:
    store, _ = searched
    assert titles(store, "滨江大道") == {"滨江大道施工封闭三个月", "滨江大道改造工程招标公告"}
    assert titles(store, "滨江大道 -招标") == {"滨江大道施工封闭三个月"}
    assert titles(store, "坍塌 OR 垮塌") == {"某工地发生坍塌 两人受伤", "高架桥垮塌系谣言"}
    assert titles(store, "坍塌 OR 垮塌 -谣言") == {"某工地发生坍塌 两人受伤"}
    assert titles(store, "滨江*") == {"滨江大道施工封闭三个月", "滨江大道改造工程招标公告",
                                      "滨江新区地铁站开工"}
    assert titles(store, "-招标") == set()                 # nothing wanted: nothing found


def test_filters_narrow_the_search(searched) -> None:
    store, _ = searched
    assert titles(store, "滨江*", feed="甲", since=T0 + timedelta(days=1)) == {
        "滨江大道改造工程招标公告", "滨江新区地铁站开工"}
    assert titles(store, "滨江*", until=T0 + timedelta(days=1)) == {"滨江大道施工封闭三个月"}
    assert titles(store, "坍塌", feed="甲") == set()
    assert store.count_search("滨江*", feed="甲") == 3


def test_the_cli_says_how_many_more_and_refuses_an_empty_query(searched) -> None:
    _, cli = searched
    r = cli("items", "search", "滨江*", "--limit", "1")
    assert r.exit_code == 0 and "还有 2 条未显示" in r.stdout
    assert "〖滨江" in r.stdout
    found = cli.json("items", "search", "滨江大道 -招标", "--since", "2026-11-01")
    assert [f["title"] for f in found] == ["滨江大道施工封闭三个月"]
    assert cli.json("items", "search", "坍塌 OR 垮塌", "--feed", "甲") == []
    empty = cli("items", "search", "  ")
    assert empty.exit_code == 2 and "搜索词不能为空" in empty.stderr
    only_not = cli("items", "search", "--", "-招标")
    assert only_not.exit_code == 2 and "只有要排除的词" in only_not.stderr
    assert "还有" not in cli("items", "search", "滨江*", "--limit", "5").stdout


@pytest.mark.parametrize(("typed", "expected"), [
    ("today", datetime(2026, 12, 2, 16, 0, tzinfo=UTC)),        # Beijing midnight
    ("今天", datetime(2026, 12, 2, 16, 0, tzinfo=UTC)),
    ("yesterday", datetime(2026, 12, 1, 16, 0, tzinfo=UTC)),
    ("24h", datetime(2026, 12, 2, 2, 0, tzinfo=UTC)),
    ("7d", datetime(2026, 11, 26, 2, 0, tzinfo=UTC)),
    ("30m", datetime(2026, 12, 3, 1, 30, tzinfo=UTC)),
    ("2w", datetime(2026, 11, 19, 2, 0, tzinfo=UTC)),
    ("2026-12-01", datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),
])
def test_relative_dates_as_people_type_them(typed: str, expected: datetime) -> None:
    from monitor.timefmt import read_time

    assert read_time(typed, now=datetime(2026, 12, 3, 2, 0, tzinfo=UTC)) == expected


def test_since_takes_relative_dates_on_the_command_line(searched) -> None:
    _, cli = searched
    assert cli.json("items", "search", "滨江*", "--since", "today") == []   # all in Nov
    assert len(cli.json("items", "search", "滨江*", "--since", "3650d")) == 3
    bad = cli("items", "search", "滨江*", "--since", "上周")
    assert bad.exit_code == 2 and "24h、7d" in bad.stderr
