"""Feeds in daily use: ``fetch`` says what each feed did and fails when one failed;
``feeds status`` counts 正常 / 异常 / 停用; a renamed feed keeps its items and state; the
same link from two feeds is one item seen in two places."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from servers import FeedServer, closed_port
from support import run_yuqing, write_config

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>测试</title>{items}</channel></rss>"""
ITEM = ("<item><title>{title}</title><link>http://news.example.org/{n}</link>"
        "<guid>{prefix}{n}</guid><description>{title}的正文</description></item>")


def rss(*titles: str, prefix: str = "g") -> bytes:
    return RSS.format(items="".join(ITEM.format(title=t, n=i, prefix=prefix)
                                    for i, t in enumerate(titles))).encode()


@pytest.fixture
def srv():
    with FeedServer() as s:
        s.route("/a.xml", body=rss("区政府召开会议", "道路施工通告"))
        s.route("/b.xml", body=rss("区政府召开会议", "道路施工通告", prefix="other-"))
        yield s


def yuqing(config: Path, *args: str) -> Any:
    return run_yuqing("--config", str(config), *args)


def db_rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "data" / "monitor.db") as conn:
        return conn.execute(sql).fetchall()


def test_fetch_prints_each_feed_and_exits_1_when_one_failed(tmp_path, srv):
    config = write_config(tmp_path, feeds=[
        {"name": "好源", "url": srv.url("/a.xml")},
        {"name": "坏源", "url": f"http://127.0.0.1:{closed_port()}/rss"}])
    r = yuqing(config, "fetch")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert "✓ 好源：新增 2 条" in lines
    assert any(ln.startswith("✗ 坏源：连接失败：") for ln in lines), r.stdout
    assert lines[-1].startswith("共新增 2 条；1 个订阅源抓取失败")
    assert "正在抓取" not in r.stdout and "\r" not in r.stdout  # not a terminal: no progress
    r = yuqing(config, "fetch", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)  # one document, every feed in it
    assert [(f["name"], f["ok"]) for f in doc["feeds"]] == [("好源", True), ("坏源", False)]


def test_feeds_status_summary_failing_and_disabled(tmp_path, srv):
    dead = f"http://127.0.0.1:{closed_port()}/rss"
    config = write_config(tmp_path, feeds=[
        {"name": "好源", "url": srv.url("/a.xml")},
        {"name": "坏源", "url": dead},
        {"name": "停用源", "url": dead, "enabled": False}])
    yuqing(config, "fetch")
    assert yuqing(config, "fetch", "--feed", "停用源").returncode == 1  # it failed once
    r = yuqing(config, "feeds", "status")
    assert r.returncode == 0, r.stderr
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines()[:-1]}
    assert "[正常]" in lines["好源"] and "响应 " in lines["好源"] and "毫秒" in lines["好源"]
    assert "最近新条目 —" not in lines["好源"] and "下次抓取 2" in lines["好源"]
    assert "[异常：连接失败]" in lines["坏源"] and "下次抓取 2" in lines["坏源"]
    assert "[停用]" in lines["停用源"] and "异常" not in lines["停用源"]
    assert r.stdout.splitlines()[-1] == "正常 1 / 异常 1 / 停用 1"

    failing = yuqing(config, "feeds", "status", "--failing").stdout.splitlines()
    assert [ln.split()[0] for ln in failing[:-1]] == ["坏源"]
    every = json.loads(yuqing(config, "feeds", "status", "--json").stdout)
    only = json.loads(yuqing(config, "feeds", "status", "--failing", "--json").stdout)
    assert [d["name"] for d in only] == ["坏源"] and set(only[0]) == set(every[0])


@pytest.mark.parametrize("by", ["id", "url"])
def test_a_renamed_feed_keeps_its_items_and_state(tmp_path, srv, by):
    ident = {"id": "qu-rongmei"} if by == "id" else {}
    config = write_config(tmp_path, feeds=[{"name": "旧名", "url": srv.url("/a.xml"), **ident}])
    assert yuqing(config, "fetch").returncode == 0
    # renamed; by id it may move to another address too (same stories, other GUIDs)
    url = srv.url("/b.xml") if by == "id" else srv.url("/a.xml")
    config = write_config(tmp_path, feeds=[{"name": "新名", "url": url, **ident}])
    r = yuqing(config, "fetch")
    assert r.returncode == 0, r.stderr
    assert "✓ 新名：新增 0 条" in r.stdout
    assert db_rows(tmp_path, "SELECT feed, count(*) FROM items GROUP BY feed") == [("新名", 2)]
    assert db_rows(tmp_path, "SELECT name FROM feeds") == [("新名",)]
    assert db_rows(tmp_path, "SELECT feed, sum(ok) FROM fetch_days GROUP BY feed") == [("新名", 2)]
    assert db_rows(tmp_path, "SELECT subject FROM events WHERE kind = 'feed.renamed'") == [("新名",)]
    status = json.loads(yuqing(config, "feeds", "status", "--json").stdout)
    assert status[0]["items_total"] == 2


def test_a_feed_with_an_unknown_id_is_new(tmp_path, srv):
    """An id that matches nothing never takes over another feed's row by URL."""
    config = write_config(tmp_path, feeds=[{"name": "旧名", "url": srv.url("/a.xml")}])
    yuqing(config, "fetch")
    config = write_config(tmp_path, feeds=[
        {"name": "新名", "url": srv.url("/a.xml"), "id": "another"}])
    yuqing(config, "fetch")
    assert sorted(db_rows(tmp_path, "SELECT name FROM feeds")) == [("新名",), ("旧名",)]


def test_the_same_link_from_two_feeds_is_one_item_seen_twice(tmp_path, srv):
    config = write_config(tmp_path, feeds=[
        {"name": "甲", "url": srv.url("/a.xml")}, {"name": "乙", "url": srv.url("/b.xml")}])
    r = yuqing(config, "fetch", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["new_items"] == 2
    assert db_rows(tmp_path, "SELECT count(*) FROM items") == [(2,)]
    (first,) = db_rows(tmp_path, "SELECT DISTINCT feed FROM items")
    other = "乙" if first == ("甲",) else "甲"
    assert db_rows(tmp_path, "SELECT feed, count(*) FROM item_sightings "
                             "GROUP BY feed") == [(other, 2)]
    assert json.loads(yuqing(config, "fetch", "--json").stdout)["new_items"] == 0
    assert db_rows(tmp_path, "SELECT count(*) FROM item_sightings") == [(2,)]
