"""Article bodies (``[feeds.detail]``) end to end: a list whose items link to their own
pages on a local server; each new item's body taken from its page (a ``content`` selector,
or trafilatura), at most ``max_per_pass`` pages a pass, failures leaving the list body,
stored items never fetched again, the private-network policy on every link, and rules
scoring words that only the article page has."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.runtime import fetch_once

from servers import FeedServer, delayed, hang
from support import Cli, write_config

T0_TEXT = "夜间施工噪音持续到凌晨两点，附近居民多次投诉无果。"


def rss(srv: FeedServer, n: int, *, link: Any = None) -> bytes:
    items = "".join(
        f"<item><title>帖子{i}</title><guid>g{i}</guid>"
        f"<link>{link(i) if link else srv.url(f'/a/{i}.html')}</link>"
        f"<description>摘要{i}……</description></item>" for i in range(1, n + 1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>论坛</title>{items}</channel></rss>").encode()


def article(i: int, text: str | None = None) -> bytes:
    body = text or f"第{i}号帖子的全文。{T0_TEXT}"
    return (f'<html><head><meta charset="utf-8"><title>帖子{i}</title></head><body>'
            '<div class="nav">首页 | 论坛 | 登录</div>'
            f'<div id="main"><div class="post-body"><p>{body}</p><p>第二段。</p></div></div>'
            '<div class="footer">版权所有 某某论坛</div></body></html>').encode()


def serve(srv: FeedServer, n: int, **rss_kw: Any) -> None:
    srv.route("/rss", body=rss(srv, n, **rss_kw), headers={"Content-Type": "text/xml"})
    for i in range(1, n + 1):
        srv.route(f"/a/{i}.html", body=article(i),
                  headers={"Content-Type": "text/html; charset=utf-8"})


def config(tmp_path: Path, srv: FeedServer, detail: dict[str, Any], *,
           fetch: dict[str, Any] | None = None, rules_dir: Path | None = None) -> Path:
    return write_config(tmp_path, rules_dir=rules_dir, extra={"fetch": fetch or {}},
                        feeds=[{"name": "论坛", "url": srv.url("/rss"), "detail": detail}])


def run(path: Path) -> Any:
    [outcome] = asyncio.run(fetch_once(load_config(path)))
    return outcome


def bodies(tmp_path: Path) -> dict[str, str]:
    with sqlite3.connect(tmp_path / "data" / "monitor.db") as db:
        return dict(db.execute("SELECT title, body FROM items").fetchall())


def detail_paths(srv: FeedServer) -> list[str]:
    return [p for p in srv.paths() if p.startswith(("/a/", "/slow", "/gone"))]


@pytest.mark.parametrize("content", ["div.post-body", "css:div.post-body",
                                     ["div.missing", "xpath://div[@id='main']"]])
def test_the_content_selector_gives_each_new_item_its_full_text(tmp_path: Path,
                                                                 content: Any) -> None:
    with FeedServer() as srv:
        serve(srv, 3)
        outcome = run(config(tmp_path, srv, {"content": content}))
        assert sorted(detail_paths(srv)) == ["/a/1.html", "/a/2.html", "/a/3.html"]
    assert outcome.ok and outcome.new_items == 3
    got = bodies(tmp_path)
    assert got["帖子2"] == f"第2号帖子的全文。{T0_TEXT}\n第二段。"
    assert all("首页" not in b and "版权所有" not in b for b in got.values())


def test_without_a_selector_trafilatura_finds_the_article(tmp_path: Path) -> None:
    long = ("夜间施工噪音持续到凌晨两点，附近居民多次投诉无果，有人拨打了热线电话，"
            "工地负责人表示将调整施工时间，但第二天夜里噪音依旧。") * 3
    with FeedServer() as srv:
        serve(srv, 1)
        srv.route("/a/1.html", body=article(1, long), headers={"Content-Type": "text/html"})
        run(config(tmp_path, srv, {}))
    body = bodies(tmp_path)["帖子1"]
    assert long in body and "摘要" not in body
    assert "版权所有" not in body and "登录" not in body


def test_at_most_max_per_pass_pages_and_two_at_a_time(tmp_path: Path) -> None:
    with FeedServer() as srv:
        serve(srv, 6)
        for i in range(1, 7):
            srv.route(f"/a/{i}.html", handler=delayed(0.3, article(i)))
        outcome = run(config(tmp_path, srv, {"content": "div.post-body", "max_per_pass": 4}))
        assert len(detail_paths(srv)) == 4
        assert srv.max_active == 2
    assert outcome.new_items == 6  # the rest are stored with their list body
    got = bodies(tmp_path)
    assert sum("全文" in b for b in got.values()) == 4
    assert sum(b == f"摘要{t[-1]}……" for t, b in got.items()) == 2


def test_failing_pages_keep_the_list_body_and_never_stop_the_pass(tmp_path: Path) -> None:
    def link(i: int) -> str:
        return srv.url({1: "/gone", 2: "/slow"}.get(i, f"/a/{i}.html"))

    with FeedServer() as srv:
        serve(srv, 3, link=link)
        srv.route("/gone", status=404, body=b"not here")
        srv.route("/slow", handler=hang)
        started = time.monotonic()
        outcome = run(config(tmp_path, srv, {"content": "div.post-body"}, fetch={"timeout": 1}))
        elapsed = time.monotonic() - started
    assert outcome.ok and outcome.new_items == 3
    got = bodies(tmp_path)
    assert got["帖子1"] == "摘要1……" and got["帖子2"] == "摘要2……"
    assert got["帖子3"].startswith("第3号帖子的全文")
    assert elapsed < 10


def test_stored_items_are_not_fetched_again_and_keep_their_full_text(tmp_path: Path) -> None:
    with FeedServer() as srv:
        serve(srv, 2)
        path = config(tmp_path, srv, {"content": "div.post-body"})
        run(path)
        first = bodies(tmp_path)
        srv.requests.clear()
        srv.route("/rss", body=rss(srv, 3), headers={"Content-Type": "text/xml"})
        srv.route("/a/3.html", body=article(3), headers={"Content-Type": "text/html"})
        outcome = run(path)
        assert detail_paths(srv) == ["/a/3.html"]
    assert outcome.new_items == 1 and outcome.changed_items == 0
    after = bodies(tmp_path)
    assert after["帖子1"] == first["帖子1"] and "全文" in after["帖子1"]
    assert "全文" in after["帖子3"]


def test_a_link_to_a_private_address_is_refused(tmp_path: Path) -> None:
    from pytest_httpserver import HTTPServer

    internal = HTTPServer(host="127.0.0.2", port=0)  # private, and not the feed's host
    internal.expect_request("/admin").respond_with_data(article(1, "内网管理页面"),
                                                        content_type="text/html")
    internal.start()
    try:
        with FeedServer() as srv:
            serve(srv, 2, link=lambda i: internal.url_for("/admin") if i == 1
                  else srv.url(f"/a/{i}.html"))
            outcome = run(config(tmp_path, srv, {"content": "div.post-body"}))
        hits = len(internal.log)
    finally:
        internal.clear()
        internal.stop()
    assert hits == 0 and outcome.new_items == 2
    got = bodies(tmp_path)
    assert got["帖子1"] == "摘要1……" and "全文" in got["帖子2"]


def test_gbk_article_pages_are_decoded(tmp_path: Path) -> None:
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            '</head><body><div class="post-body">老旧小区加装电梯进展缓慢</div></body>'
            "</html>").encode("gbk")
    with FeedServer() as srv:
        serve(srv, 1)
        srv.route("/a/1.html", body=page, headers={"Content-Type": "text/html"})
        run(config(tmp_path, srv, {"content": "div.post-body"}))
    assert bodies(tmp_path)["帖子1"] == "老旧小区加装电梯进展缓慢"


WAGE = """- id: wage
  name: 欠薪
  category: 欠薪讨薪
  level: yellow
  weight: 40
  words:
    主体: [工地, 项目部]
    事件: [欠薪, 讨薪]
  condition: 主体 and 事件
"""


def test_rules_score_words_only_the_article_page_has(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "wage.yaml").write_text(WAGE, "utf-8")
    with FeedServer() as srv:
        serve(srv, 2)
        srv.route("/a/1.html", body=article(1, "某工地项目部拖欠农民工工资，工人集体讨薪。"),
                  headers={"Content-Type": "text/html"})
        path = config(tmp_path, srv, {"content": "div.post-body"}, rules_dir=rules)
        run(path)
    scored = {r["title"]: r for r in Cli(path).json("items", "scored")}
    assert set(scored) == {"帖子1"}  # the list says only "帖子1" and "摘要1……"
    assert scored["帖子1"]["level"] == "yellow"


def test_the_feeds_headers_go_to_its_own_site_only(tmp_path: Path) -> None:
    with FeedServer() as srv:
        serve(srv, 2, link=lambda i: srv.url(f"/a/{i}.html", host="127.0.0.1" if i == 1
                                             else "localhost"))
        path = write_config(tmp_path, feeds=[{
            "name": "论坛", "url": srv.url("/rss"), "allow_private": True,
            "headers": {"Cookie": "sid=secret"}, "detail": {"content": "div.post-body"}}])
        run(path)
        cookies = {r.path: r.headers.get("cookie") for r in srv.requests}
    assert cookies == {"/rss": "sid=secret", "/a/1.html": "sid=secret", "/a/2.html": None}


@pytest.mark.parametrize("kind", ["html", "json"])
def test_page_sources_get_their_bodies_too(tmp_path: Path, kind: str) -> None:
    with FeedServer() as srv:
        serve(srv, 2)
        if kind == "html":
            page = "".join(f'<li><a href="/a/{i}.html">帖子{i}</a><span>摘要{i}……</span></li>'
                           for i in (1, 2))
            srv.route("/list", body=f"<html><body><ul>{page}</ul></body></html>".encode(),
                      headers={"Content-Type": "text/html; charset=utf-8"})
            select = {"item": "li", "title": "a::text", "link": "a::attr(href)",
                      "body": "span"}
        else:
            rows = ",".join(f'{{"t": "帖子{i}", "u": "/a/{i}.html", "s": "摘要{i}……"}}'
                            for i in (1, 2))
            srv.route("/list", body=f'{{"data": [{rows}]}}'.encode(),
                      headers={"Content-Type": "application/json"})
            select = {"item": "data", "title": "t", "link": "u", "body": "s"}
        path = write_config(tmp_path, feeds=[{"name": "论坛", "url": srv.url("/list"),
                                              "type": kind, "select": select,
                                              "detail": {"content": "div.post-body"}}])
        outcome = run(path)
    assert outcome.ok and outcome.new_items == 2, outcome.error
    assert all("全文" in b for b in bodies(tmp_path).values())


def test_a_content_selector_that_cannot_run_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, feeds=[{"name": "论坛", "url": "https://bbs.example.cn/rss",
                                          "detail": {"content": "div[["}}])
    r = Cli(path)("config", "check")
    assert r.exit_code != 0 and "CSS 选择器" in r.output + r.stderr
