"""End to end through the pipeline: every feed or server behaviour ends with the right items
stored or the right error on the feed, and a healthy feed beside it is unaffected."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.runtime import fetch_once
from monitor.store import Store

from servers import FeedServer, closed_port, drip, hang
from support import alive, wait_until, write_config

FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
GOOD = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>好源</title>'
        '<item><title>区重点项目推进会召开</title><guid>g1</guid></item></channel></rss>').encode()


def _fixture_title(name: str) -> str:
    """The first title the fixture generator wrote (the source of truth for expectations)."""
    from monitor.parse import parse_feed

    return parse_feed((FEEDS / name).read_bytes()).items[0].title


# (case id, route kwargs, feed extra config, expected: ("items", first title) or ("error", kind))
CASES = [
    ("utf8", {"body": (FEEDS / "rss20_utf8.xml").read_bytes(),
              "headers": {"Content-Type": "application/rss+xml; charset=utf-8"}}, {}, "items"),
    ("gb2312-declared", {"body": (FEEDS / "gb2312_declared.xml").read_bytes(),
                         "headers": {"Content-Type": "text/xml"}}, {}, "items"),
    ("gbk-undeclared", {"body": (FEEDS / "gbk_undeclared.xml").read_bytes(),
                        "headers": {"Content-Type": "application/xml"}}, {}, "items"),
    ("big5", {"body": (FEEDS / "big5_declared.xml").read_bytes(),
              "headers": {"Content-Type": "application/rss+xml"}}, {}, "items"),
    ("utf16-bom", {"body": (FEEDS / "utf16_bom.xml").read_bytes(),
                   "headers": {"Content-Type": "application/xml"}}, {}, "items"),
    ("wrong-charset-header", {"body": (FEEDS / "wrong_charset_gbk.xml").read_bytes(),
                              "headers": {"Content-Type": "text/xml; charset=utf-8"}}, {}, "items"),
    ("control-chars", {"body": (FEEDS / "control_chars.xml").read_bytes(),
                       "headers": {"Content-Type": "text/xml"}}, {}, "items"),
    ("json-feed", {"body": (FEEDS / "jsonfeed11.json").read_bytes(),
                   "headers": {"Content-Type": "application/feed+json"}}, {}, "items"),
    ("gzip", {"body": gzip.compress((FEEDS / "rss20_utf8.xml").read_bytes()),
              "headers": {"Content-Type": "text/xml", "Content-Encoding": "gzip"}}, {}, "items"),
    ("html-not-feed", {"body": (FEEDS / "html_homepage.html").read_bytes(),
                       "headers": {"Content-Type": "text/html; charset=utf-8"}}, {}, "not_feed"),
    ("http-500", {"status": 500, "body": b"boom"}, {}, "http_status"),
    ("http-429", {"status": 429, "body": b"slow down", "headers": {"Retry-After": "120"}}, {},
     "http_status"),
    ("timeout", {"handler": hang}, {}, "timeout"),
    ("slow-drip", {"handler": drip(0.05)}, {}, "timeout"),
    ("oversize", {"body": b"<rss>" + b"x" * 300_000 + b"</rss>"}, {"max_bytes": 100_000},
     "too_large"),
    ("gzip-bomb", {"body": gzip.compress(b"<" * 20_000_000),
                   "headers": {"Content-Encoding": "gzip"}}, {"max_bytes": 1_000_000}, "too_large"),
    ("redirect-loop", {"status": 302, "headers": {"Location": "/case"}}, {}, "redirect"),
    ("redirect-private", {"status": 302, "headers": {"Location": "http://10.255.0.1/feed.xml"}},
     {}, "blocked"),
]


# what the stored error says (in Chinese, for the person reading `feeds status`)
ERROR_WORDS = {
    "html-not-feed": "返回的是网页（HTML）而不是 RSS/Atom 订阅源",
    "http-500": "HTTP 500 服务器错误",
    "http-429": "HTTP 429 请求过于频繁，服务器要求 120 秒后重试",
    "timeout": "超时：1 秒内未完成下载",
    "slow-drip": "超时：1 秒内未完成下载",
    "oversize": "响应体 300011 字节，超过上限 100000 字节",
    "gzip-bomb": "响应体解压后超过上限 1000000 字节",
    "redirect-loop": "重定向循环：",
    "redirect-private": "重定向到内网地址 http://10.255.0.1/feed.xml（10.255.0.1）已拒绝",
}


@pytest.mark.parametrize(("route", "feed_extra", "expect", "words"),
                         [(*c[1:], ERROR_WORDS.get(c[0])) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_behaviour_ends_in_items_or_error_on_the_feed(tmp_path, route, feed_extra, expect,
                                                      words):
    with FeedServer() as srv:
        srv.route("/case", **route)
        srv.route("/good", body=GOOD, headers={"Content-Type": "application/rss+xml"})
        config_path = write_config(tmp_path, feeds=[
            {"name": "被测源", "url": srv.url("/case"), **feed_extra},
            {"name": "好源", "url": srv.url("/good")},
        ], extra={"fetch": {"timeout": "1s", "connect_timeout": "1s"}})
        config = load_config(config_path)
        outcomes = {o.name: o for o in asyncio.run(fetch_once(config))}
    with Store(config.storage.path) as store:
        status = {r["name"]: r for r in store.feeds_status()}
        tested = store.list_items(feed="被测源", limit=None)
        good = store.list_items(feed="好源", limit=None)
    assert outcomes["好源"].ok and [i["title"] for i in good] == ["区重点项目推进会召开"]
    assert status["好源"]["ok"] == 1
    row = status["被测源"]
    if expect == "items":
        assert outcomes["被测源"].ok, outcomes["被测源"].error
        assert tested, "no items stored"
        assert row["ok"] == 1 and row["consecutive_failures"] == 0
        texts = " ".join(i["title"] + i["body"] for i in tested)
        assert "\ufffd" not in texts and any("\u4e00" <= ch <= "\u9fff" for ch in texts)
        for ch in "\x00\x01\x08\x0b\x1f":
            assert ch not in texts
    else:
        assert not outcomes["被测源"].ok
        assert tested == []
        assert row["ok"] == 0 and row["consecutive_failures"] == 1
        assert row["last_error_kind"] == expect, row["last_error"]
        assert row["last_error"]
        assert words in row["last_error"], row["last_error"]
        assert outcomes["被测源"].error == row["last_error"]
        assert row["next_check_at"] > row["last_checked_at"]


@pytest.mark.parametrize("name", ["gbk_undeclared.xml", "gb2312_declared.xml",
                                  "big5_declared.xml", "utf16_bom.xml", "wrong_charset_gbk.xml"])
def test_decoded_titles_are_stored_exactly(tmp_path, name):
    expected = _fixture_title(name)
    with FeedServer() as srv:
        srv.route("/f", body=(FEEDS / name).read_bytes(), headers={"Content-Type": "text/xml"})
        config = load_config(write_config(tmp_path, feeds=[{"name": "f", "url": srv.url("/f")}]))
        asyncio.run(fetch_once(config))
    with Store(config.storage.path) as store:
        titles = [i["title"] for i in store.list_items(limit=None)]
    assert expected in titles


def test_conditional_get_304_keeps_items_and_resets_nothing(tmp_path):
    with FeedServer() as srv:
        srv.route("/f", body=GOOD, headers={"ETag": '"v1"', "Content-Type": "text/xml"})
        config = load_config(write_config(tmp_path, feeds=[{"name": "f", "url": srv.url("/f")}]))
        asyncio.run(fetch_once(config))
        srv.route("/f", status=304, headers={"ETag": '"v1"'})
        (outcome,) = asyncio.run(fetch_once(config))
        assert srv.requests[-1].headers.get("if-none-match") == '"v1"'
    assert outcome.ok and outcome.status == 304 and outcome.new_items == 0
    with Store(config.storage.path) as store:
        assert store.count_items() == 1
        assert store.feed_state("f")["etag"] == '"v1"'


def test_connection_refused_then_recovery(tmp_path):
    failed_at, recovered_at = T0, T0 + timedelta(minutes=10)
    port = closed_port()
    config_path = write_config(tmp_path, feeds=[{"name": "f",
                                                 "url": f"http://127.0.0.1:{port}/f"}])
    config = load_config(config_path)
    (o,) = asyncio.run(fetch_once(config, now=lambda: failed_at))
    assert not o.ok
    assert o.error == "连接 127.0.0.1 被拒绝（服务未启动或端口错误）"
    with Store(config.storage.path) as store:
        failed = store.feed_state("f")
        assert failed["last_error_kind"] == "connection"
        assert (failed["ok"], failed["consecutive_failures"], failed["last_status"]) == (0, 1, None)
        assert failed["last_error"] == o.error
        assert failed["last_error_at"] == failed["last_checked_at"] == failed_at
        assert failed["last_success_at"] is None
        assert failed["next_check_at"] > failed_at
    with FeedServer() as srv:
        srv.route("/f", body=GOOD, headers={"Content-Type": "text/xml"})
        data = config_path.read_text("utf-8").replace(f"127.0.0.1:{port}", f"127.0.0.1:{srv.port}")
        config_path.write_text(data, "utf-8")
        (o,) = asyncio.run(fetch_once(load_config(config_path), now=lambda: recovered_at))
    assert o.ok
    assert (o.status, o.new_items, o.error) == (200, 1, None)
    with Store(config.storage.path) as store:
        state = store.feed_state("f")
        assert state["ok"] == 1 and state["consecutive_failures"] == 0
        assert state["url"] == srv.url("/f") and state["last_status"] == 200
        assert (state["title"], state["format"], state["encoding"]) == ("好源", "rss20", "utf-8")
        done = recovered_at
        assert state["last_success_at"] == state["last_checked_at"] == done
        assert state["last_new_item_at"] == done
        # the failure stays on record as history, older than the success
        assert (state["last_error_kind"], state["last_error"]) == ("connection", failed["last_error"])
        assert state["last_error_at"] == failed_at
        assert state["failure_alerted_at"] is None
        # next check: the feed's 15 minutes, give or take the 10 % jitter, from the success
        wait = state["next_check_at"] - recovered_at
        assert timedelta(seconds=810) <= wait <= timedelta(seconds=990), wait
        assert [i["title"] for i in store.list_items(feed="f", limit=None)] == ["区重点项目推进会召开"]


def _children(pid: int) -> list[int]:
    import os

    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out.extend(int(c) for c in f.read().split())
    return out


def test_a_killed_parse_worker_does_not_stop_parsing(tmp_path, caplog):
    """The OOM killer takes a parse worker: the pool is replaced and parsing goes on."""
    import os
    import signal

    from monitor.runtime import Services as Runtime

    with FeedServer() as srv:
        srv.route("/f", body=(FEEDS / "rss20_utf8.xml").read_bytes(),
                  headers={"Content-Type": "text/xml"})
        srv.route("/g", body=(FEEDS / "gbk_undeclared.xml").read_bytes(),
                  headers={"Content-Type": "text/xml"})
        config = load_config(write_config(tmp_path, feeds=[
            {"name": "f", "url": srv.url("/f")}, {"name": "g", "url": srv.url("/g")}],
            extra={"fetch": {"parse_workers": 2}}))

        async def scenario() -> list[bool]:
            rt = Runtime(config)
            try:
                from datetime import UTC, datetime

                first = await rt.pipeline.run_feed(config.feeds[0], now=datetime.now(UTC))
                children = set(_children(os.getpid()))
                server = [p for p in children
                          if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
                workers = [w for p in server for w in _children(p)]  # forked by the server
                assert workers, "no parse workers found"
                for p in workers:
                    os.kill(p, signal.SIGKILL)
                await wait_until(lambda: not any(alive(p) for p in workers), timeout=10)
                second = await rt.pipeline.run_feed(config.feeds[1], now=datetime.now(UTC))
                third = await rt.pipeline.run_feed(config.feeds[0], now=datetime.now(UTC))
                return [first.ok, second.ok, third.ok, second.new_items > 0]
            finally:
                await rt.aclose()

        assert asyncio.run(scenario()) == [True, True, True, True]
    assert "解析进程池已损坏，正在重建 feed=g" in caplog.text  # the pool was replaced


def test_a_parse_that_runs_too_long_is_abandoned_and_parsing_goes_on(tmp_path, caplog):
    """A body that takes longer than ``[fetch] parse_timeout`` to parse: its worker is
    killed, the fetch is a ``parse`` failure with a Chinese reason, and the next feed is
    parsed by a fresh pool."""
    from datetime import UTC, datetime

    from monitor.runtime import Services

    item = ("<item><title>第{n}条：某工地施工扰民</title><link>http://example.org/{n}</link>"
            "<description>{d}</description></item>")
    huge = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>大</title>"
            + "".join(item.format(n=i, d="夜间施工噪音扰民，" * 20) for i in range(14000))
            + "</channel></rss>").encode()
    with FeedServer() as srv:
        srv.route("/small", body=(FEEDS / "rss20_utf8.xml").read_bytes(),
                  headers={"Content-Type": "text/xml"})
        srv.route("/huge", body=huge, headers={"Content-Type": "text/xml"})
        config = load_config(write_config(tmp_path, feeds=[
            {"name": "小", "url": srv.url("/small")}, {"name": "大", "url": srv.url("/huge")}],
            extra={"fetch": {"parse_workers": 2, "parse_timeout": "1.5s", "max_bytes": 20 << 20}}))

        async def scenario() -> list[object]:
            rt = Services(config)
            try:
                warm = await rt.pipeline.run_feed(config.feeds[0], now=datetime.now(UTC))
                slow = await rt.pipeline.run_feed(config.feeds[1], now=datetime.now(UTC))
                after = await rt.pipeline.run_feed(config.feeds[0], now=datetime.now(UTC))
                return [warm.ok, slow.ok, slow.error_kind, slow.error, after.ok]
            finally:
                await rt.aclose()

        warm, ok, kind, error, after = asyncio.run(scenario())
    assert warm and not ok and kind == "parse" and after
    assert "解析超时" in error
    assert "解析超时，已终止解析进程并重建 feed=大" in caplog.text
