"""RSSHub behind ``rsshub:/route`` feed URLs, with a local HTTP server playing RSSHub: the
route expands onto ``[fetch] rsshub`` (with its access key, which never shows), RSSHub's
error pages become feed errors of kind ``rsshub`` that say what to do, a normal answer is
stored as items, and a route without ``[fetch] rsshub`` is a config error."""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.config import FetchConfig, load_config
from monitor.errors import ConfigError, FetchError
from monitor.fetch.rsshub import expand
from monitor.models import FETCH_ERROR_NAMES
from monitor.runtime import fetch_once
from monitor.store import Store

from servers import FeedServer, hang
from support import Cli, write_config

KEY = "Rk9v-s3cr3t/key+=="          # characters that must be percent-encoded in a query
ROUTE = "/weibo/user/1195230310"
RSS = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
       '<title>人民日报的微博</title><link>https://weibo.com/1195230310/</link>'
       '<description>人民日报的微博 - Powered by RSSHub</description>'
       '<item><title>区重点项目推进会召开</title><link>https://weibo.com/1195230310/Pa1</link>'
       '<guid>https://weibo.com/1195230310/Pa1</guid>'
       '<pubDate>Tue, 10 Mar 2026 01:00:00 GMT</pubDate></item>'
       '<item><title>防汛工作部署</title><link>https://weibo.com/1195230310/Pa2</link>'
       '<guid>https://weibo.com/1195230310/Pa2</guid></item>'
       '</channel></rss>').encode()


def error_page(message: str, route: str = ROUTE) -> bytes:
    """RSSHub's HTML error page (lib/views/error.tsx), trimmed to its structure."""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>RSSHub</title>'
        '<style>.details{color:red}</style></head><body>'
        '<img class="grayscale" src="/logo.png" alt="RSSHub">'
        '<h1 class="text-4xl font-bold">Looks like something went wrong</h1>'
        '<div><p class="mb-2 font-bold">Helpful Information</p>'
        f'<p class="message">Error Message:<br><code class="mt-2 block details">'
        f'{html.escape(message)}</code></p>'
        f'<p class="message">Route: <code class="ml-2 bg-zinc-100">{route}</code></p>'
        f'<p class="message">Full Route: <code class="ml-2 bg-zinc-100">{route}</code></p>'
        '<p class="message">Node Version: <code>v22.11.0</code></p></div>'
        '<p>在仔细阅读文档后，如果你认为这是 RSSHub 的 bug，请在 GitHub 提交 issue。</p>'
        '</body></html>').encode()


HTML = {"Content-Type": "text/html; charset=UTF-8"}
JSON = {"Content-Type": "application/json; charset=UTF-8"}

# case id, route, status, headers, body, the words the stored error must hold
ERRORS = [
    ("weibo-cookies-expired", ROUTE, 503, HTML,
     error_page("Error: Cookies expired. Please update WEIBO_COOKIES"),
     "RSSHub 报告：Cookie 已过期，请在 RSSHub 的配置中更新微博 Cookie（WEIBO_COOKIES）"),
    ("weibo-cookies-expired-json", ROUTE, 503, JSON,
     json.dumps({"error": {"message": "Cookies expired. Msg: 请先登录 "}}).encode(),
     "Cookie 已过期，请在 RSSHub 的配置中更新微博 Cookie"),
    ("weibo-no-visitor-cookies", ROUTE, 503, HTML,
     error_page("Error: Unable to fetch visitor cookies. Please set WEIBO_COOKIES. "
                "Redirection: 0, last URL: https://m.weibo.cn/"),
     "无法取得微博访客 Cookie，请在 RSSHub 的配置中设置 WEIBO_COOKIES"),
    ("bilibili-cookies-expired", "/bilibili/user/dynamic/2267573", 503, HTML,
     error_page("Error: Cookies expired", "/bilibili/user/dynamic/2267573"),
     "更新B站 Cookie（BILIBILI_COOKIE_{uid}）"),
    ("config-not-found", "/youtube/user/@x", 503, HTML,
     error_page('ConfigNotFoundError: YouTube RSS is disabled due to the lack of '
                '<a href="https://docs.rsshub.app/deploy/config#route-specific-configurations">'
                'relevant config</a>', "/youtube/user/@x"),
     "RSSHub 缺少这条路由需要的配置：请按 RSSHub 文档中该路由的说明设置后重启 RSSHub"),
    ("config-not-found-named", "/smzdm/baoliao/1", 503, HTML,
     error_page("ConfigNotFoundError: 什么值得买排行榜 is disabled due to the lack of SMZDM_COOKIE",
                "/smzdm/baoliao/1"),
     "RSSHub 缺少这条路由需要的配置（SMZDM_COOKIE）"),
    ("route-not-found", "/weibo/nosuch/1", 404, HTML,
     error_page("NotFoundError: The route does not exist or has been deleted.",
                "/weibo/nosuch/1"),
     "RSSHub 没有这条路由（检查 rsshub:/weibo/nosuch/1 的写法或升级 RSSHub）"),
    ("route-not-found-text", "/weibo/nosuch/2", 404, {"Content-Type": "text/plain"},
     b"Route not found", "RSSHub 没有这条路由（检查 rsshub:/weibo/nosuch/2 的写法"),
    ("route-empty", ROUTE, 503, HTML,
     error_page("Error: this route is empty, please check the original site or "
                '<a href="https://github.com/DIYgod/RSSHub/issues/new/choose">create an issue</a>'),
     "RSSHub 报告：这条路由没有取到任何内容（rsshub:/weibo/user/1195230310）"),
    ("access-key-rejected", ROUTE, 403, HTML,
     error_page("RejectError: Authentication failed. Access denied."),
     "RSSHub 拒绝访问：访问密钥不对或没有提供"),
    ("target-site-blocking", ROUTE, 503, HTML,
     error_page('FetchError: [GET] "https://m.weibo.cn/api/container/getIndex?type=uid": '
                '432 <no response>'),
     "RSSHub 抓取源站失败，源站可能在拦截 RSSHub"),
    ("request-in-progress", ROUTE, 503, HTML,
     error_page("RequestInProgressError: This path is currently fetching, please come back "
                "later!"),
     "RSSHub 正在抓取这条路由，稍后会自动重试"),
    ("captcha", "/zhihu/people/activities/x", 503, HTML,
     error_page("CaptchaError: 知乎要求验证码", "/zhihu/people/activities/x"),
     "RSSHub 报告：知乎要求验证码"),
    ("other-error", ROUTE, 500, {"Content-Type": "text/html"},
     "RSSHub 发生了一些意外: Error: boom".encode(), "RSSHub 报告错误（HTTP 500）："),
]


def _deployment(tmp_path: Path, srv: FeedServer, route: str, **fetch: object) -> Path:
    return write_config(tmp_path, feeds=[{"name": "微博", "url": f"rsshub:{route}"}],
                        extra={"fetch": {"rsshub": srv.url(""), "timeout": "2s",
                                         "connect_timeout": "1s", **fetch}})


def _status(config_path: Path) -> dict[str, object]:
    config = load_config(config_path)
    asyncio.run(fetch_once(config))
    with Store(config.storage.path) as store:
        return {r["name"]: r for r in store.feeds_status()}["微博"]


def test_route_expands_onto_rsshub_and_items_are_stored(tmp_path, monkeypatch):
    monkeypatch.delenv("YUQING_RSSHUB_KEY", raising=False)
    with FeedServer() as srv:
        srv.route(ROUTE, body=RSS, headers={"Content-Type": "application/xml; charset=utf-8"})
        config_path = _deployment(tmp_path, srv, ROUTE)
        row = _status(config_path)
        assert srv.paths() == [ROUTE]                        # no key=: none was configured
    assert row["ok"] == 1, row["last_error"]
    with Store(load_config(config_path).storage.path) as store:
        items = store.list_items(feed="微博", limit=None)
    assert sorted(i["title"] for i in items) == ["区重点项目推进会召开", "防汛工作部署"]
    assert {i["link"] for i in items} == {"https://weibo.com/1195230310/Pa1",
                                          "https://weibo.com/1195230310/Pa2"}


def test_access_key_goes_in_the_query_and_never_shows(tmp_path, monkeypatch):
    monkeypatch.setenv("YUQING_RSSHUB_KEY", KEY)
    with FeedServer() as srv:
        srv.route(ROUTE, status=503, body=error_page(
            "Error: Cookies expired. Please update WEIBO_COOKIES"), headers=HTML)
        config_path = _deployment(tmp_path, srv, ROUTE)
        row = _status(config_path)
        [path] = srv.paths()
    assert urlsplit(path).path == ROUTE
    assert parse_qs(urlsplit(path).query) == {"key": [KEY]}
    assert row["last_error_kind"] == "rsshub"
    assert KEY not in str(row["last_error"])
    for args in (("feeds", "status", "--json"), ("feeds", "status")):
        r = Cli(config_path)(*args)
        assert r.exit_code == 0, r.output
        assert KEY not in r.output and "s3cr3t" not in r.output
        assert "Cookie 已过期" in r.output
    rows = json.loads(Cli(config_path)("feeds", "status", "--json").stdout)
    assert rows[0]["url"] == f"rsshub:{ROUTE}"


def test_access_key_is_masked_in_an_error_that_shows_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_RSSHUB_KEY", KEY)
    with FeedServer() as srv:
        srv.route(f"{ROUTE}/limit=5", handler=hang)
        config_path = _deployment(tmp_path, srv, f"{ROUTE}/limit=5?brief=100",
                                  rsshub_key_env="MY_RSSHUB_KEY", timeout="1s")
        row = _status(config_path)
        [path] = srv.paths()
    assert parse_qs(urlsplit(path).query) == {"brief": ["100"], "key": [KEY]}
    assert row["last_error_kind"] == "timeout"
    error = str(row["last_error"])
    assert "key=***" in error and "brief=100" in error, error
    assert KEY not in error and "s3cr3t" not in error
    r = Cli(config_path)("feeds", "status", "--json")
    assert KEY not in r.output and "s3cr3t" not in r.output


@pytest.mark.parametrize(("route", "status", "headers", "body", "words"),
                         [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_rsshub_error_pages_become_clear_feed_errors(tmp_path, monkeypatch, route, status,
                                                    headers, body, words):
    monkeypatch.delenv("YUQING_RSSHUB_KEY", raising=False)
    with FeedServer() as srv:
        srv.route(route, status=status, body=body, headers=headers)
        row = _status(_deployment(tmp_path, srv, route))
    assert row["ok"] == 0
    assert row["last_error_kind"] == "rsshub", row["last_error"]
    assert words in str(row["last_error"]), row["last_error"]
    assert "不是订阅源" not in str(row["last_error"])
    assert FETCH_ERROR_NAMES["rsshub"] == "RSSHub 错误"


def test_a_proxy_error_that_is_not_rsshubs_stays_an_http_error(tmp_path, monkeypatch):
    monkeypatch.delenv("YUQING_RSSHUB_KEY", raising=False)
    with FeedServer() as srv:
        srv.route(ROUTE, status=502, headers=HTML,
                  body=b"<html><body><center><h1>502 Bad Gateway</h1></center>"
                       b"<hr><center>nginx</center></body></html>")
        row = _status(_deployment(tmp_path, srv, ROUTE))
    assert row["last_error_kind"] == "http_status"
    assert "HTTP 502 网关错误" in str(row["last_error"])


def test_an_ordinary_feed_is_not_read_as_rsshub(tmp_path):
    with FeedServer() as srv:
        srv.route("/feed", status=503, headers=HTML,
                  body=error_page("Error: Cookies expired. Please update WEIBO_COOKIES"))
        config_path = write_config(tmp_path, feeds=[{"name": "微博", "url": srv.url("/feed")}])
        row = _status(config_path)
    assert row["last_error_kind"] == "http_status"


def test_a_route_without_rsshub_configured_is_a_config_error(tmp_path):
    path = write_config(tmp_path, feeds=[{"name": "微博", "url": f"rsshub:{ROUTE}"}])
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "第 1 个订阅源的 url" in text
    assert "[fetch]" in text and 'rsshub = "http://127.0.0.1:1200"' in text
    r = Cli(path)("config", "check")
    assert r.exit_code != 0
    assert "rsshub" in r.output


@pytest.mark.parametrize(("base", "url", "env", "expected"), [
    ("http://127.0.0.1:1200", "rsshub:/weibo/user/1", {}, "http://127.0.0.1:1200/weibo/user/1"),
    ("http://127.0.0.1:1200/", "rsshub:/weibo/user/1", {},
     "http://127.0.0.1:1200/weibo/user/1"),
    ("http://hub.lan/rsshub", "rsshub:/zhihu/hot", {"YUQING_RSSHUB_KEY": "abc def"},
     "http://hub.lan/rsshub/zhihu/hot?key=abc%20def"),
    ("http://127.0.0.1:1200", "rsshub:/bilibili/user/video/2?limit=5",
     {"YUQING_RSSHUB_KEY": "k&y"}, "http://127.0.0.1:1200/bilibili/user/video/2?limit=5&key=k%26y"),
    ("http://127.0.0.1:1200", "https://example.org/rss.xml", {"YUQING_RSSHUB_KEY": "k"},
     "https://example.org/rss.xml"),
])
def test_expand(base, url, env, expected):
    assert expand(url, FetchConfig(rsshub=base), env) == expected


def test_expand_without_an_instance_raises_a_fetch_error():
    with pytest.raises(FetchError) as caught:
        expand("rsshub:/weibo/user/1", FetchConfig(), {})
    assert caught.value.kind == "rsshub" and "[fetch]" in str(caught.value)
