"""Pages rendered by Chromium (``render = "browser"``): items built by the page's
JavaScript, every request of the page through our fetcher and its private-network policy,
the page timeout, and a clear error when there is no browser.

Driven only through the async fetcher inside ``asyncio.run`` (Playwright's sync API in this
process would break later ``asyncio.run`` calls in the worker). Tests that need Chromium
are skipped, with tests/browser.py's reason, when Debian's chromium is not installed."""

from __future__ import annotations

import asyncio
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from monitor.config import FeedConfig, FetchConfig, load_config
from monitor.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.browser import MISSING
from monitor.models import FetchResult
from monitor.runtime import fetch_once

from browser import CHROMIUM, SKIP_REASON
from servers import FeedServer, hang, send
from support import Cli, write_config

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

APP_JS = b"""
fetch('/api/posts.json').then(r => r.json()).then(posts => {
  const list = document.getElementById('list');
  for (const p of posts) {
    const li = document.createElement('li');
    li.className = 'post';
    const a = document.createElement('a');
    a.href = p.href; a.textContent = p.title;
    li.appendChild(a);
    list.appendChild(li);
  }
  document.body.setAttribute('data-done', '1');
});
"""
POSTS = [{"href": "/thread-1.html", "title": "小区停水三天无人管"},
         {"href": "/thread-2.html", "title": "学校门口道路积水"}]
LIST = ('<!doctype html><html><head><meta charset="gbk"><title>论坛</title></head><body>'
        '<ul id="list"></ul><script src="/app.js"></script></body></html>').encode("gbk")


def _html(h: BaseHTTPRequestHandler, body: bytes, charset: str = "utf-8") -> None:
    send(h, 200, body, {"Content-Type": f"text/html; charset={charset}"})


def _site(srv: FeedServer) -> None:
    srv.route("/list", body=LIST, headers={"Content-Type": "text/html; charset=gbk"})
    srv.route("/app.js", body=APP_JS, headers={"Content-Type": "application/javascript"})
    srv.route("/api/posts.json", body=json.dumps(POSTS).encode(),
              headers={"Content-Type": "application/json"})


def _settings(**kw: Any) -> FetchConfig:
    return FetchConfig(browser=str(CHROMIUM), **kw)


def _feed(url: str, **kw: Any) -> FeedConfig:
    return FeedConfig(name="论坛", url=url, type="html", render="browser",
                      select={"item": "li.post", "title": "a::text", "link": "a::attr(href)"},
                      **kw)


def render(settings: FetchConfig, feed: FeedConfig, **fetcher: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings, **fetcher) as f:
            return await f.fetch(feed)
    return asyncio.run(go())


def render_error(settings: FetchConfig, feed: FeedConfig) -> FetchError:
    with pytest.raises(FetchError) as info:
        render(settings, feed)
    return info.value


@needs_chromium
def test_items_built_by_javascript_are_in_the_rendered_page() -> None:
    with FeedServer() as srv:
        _site(srv)
        result = render(_settings(), _feed(srv.url("/list")))
        requests = {r.path: r for r in srv.requests}
    html = result.content.decode("utf-8")
    assert result.status == 200 and result.url == srv.url("/list")
    assert result.content_type == "text/html; charset=utf-8"
    assert '<li class="post"><a href="/thread-1.html">小区停水三天无人管</a></li>' in html
    assert "学校门口道路积水" in html and 'data-done="1"' in html
    assert 'charset="utf-8"' in html and "gbk" not in html  # the bytes are UTF-8 now
    # every request went through our fetcher (its user agent), none from Chromium itself
    assert set(requests) == {"/list", "/app.js", "/api/posts.json"}
    assert all(r.headers["user-agent"] == FetchConfig().user_agent for r in requests.values())


@needs_chromium
def test_chromium_resolves_no_names_itself_our_resolver_does() -> None:
    """A host name only our resolver knows: the page and its requests still load, so they
    went through the fetcher (pinned to what it checked), not Chromium's own DNS."""
    async def resolve(host: str) -> list[str]:
        assert host == "forum.example"
        return ["127.0.0.1"]

    with FeedServer() as srv:
        _site(srv)
        result = render(_settings(), _feed(srv.url("/list", host="forum.example")),
                        resolve=resolve)
    assert "小区停水三天无人管" in result.content.decode()


class Internal:
    """A server on 127.0.0.2 (private, and not the feed's host), recording its requests."""

    def __init__(self) -> None:
        from pytest_httpserver import HTTPServer

        self.server = HTTPServer(host="127.0.0.2", port=0)
        self.server.expect_request("/secret").respond_with_data(
            "internal-data", headers={"Access-Control-Allow-Origin": "*"})

    def __enter__(self) -> Internal:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.clear()
        self.server.stop()

    @property
    def secret(self) -> str:
        return self.server.url_for("/secret")

    def hits(self) -> int:
        return len(self.server.log)


def _probe_site(srv: FeedServer, target: str) -> None:
    """A page whose script asks ``target`` for data and writes what happened."""
    script = (f"fetch({target!r}).then(r => r.text()).then(t => {{"
              "document.getElementById('out').textContent = 'got:' + t; })"
              ".catch(() => { document.getElementById('out').textContent = 'refused'; });")
    page = (f'<html><body><p id="out">waiting</p><img src="{target}">'
            f"<script>{script}</script></body></html>").encode()
    srv.route("/page", body=page, headers={"Content-Type": "text/html"})
    srv.route("/go", status=302, headers={"Location": target})


@needs_chromium
@pytest.mark.parametrize("via", ["direct", "redirect"])
def test_a_request_to_a_blocked_address_is_aborted(via: str) -> None:
    with FeedServer() as srv, Internal() as internal:
        _probe_site(srv, internal.secret)
        if via == "redirect":  # a same-site URL redirecting there: still refused
            srv.routes["/page"].body = srv.routes["/page"].body.replace(
                internal.secret.encode(), b"/go")
        result = render(_settings(), _feed(srv.url("/page")))
        hits = internal.hits()
        paths = srv.paths()
    assert '<p id="out">refused</p>' in result.content.decode()
    assert hits == 0
    assert paths == (["/page", "/go"] if via == "redirect" else ["/page"])


@needs_chromium
@pytest.mark.parametrize("allow", ["feed", "network"])
def test_allowed_private_addresses_are_fetched(allow: str) -> None:
    """The same request passes when the feed or [fetch] allow_private_networks allows it
    (so the test above can fail)."""
    with FeedServer() as srv, Internal() as internal:
        _probe_site(srv, internal.secret)
        if allow == "feed":
            settings, feed = _settings(), _feed(srv.url("/page"), allow_private=True)
        else:
            settings = _settings(allow_private_networks=["127.0.0.2/32"])
            feed = _feed(srv.url("/page"))
        result = render(settings, feed)
        hits = internal.hits()
    assert '<p id="out">got:internal-data</p>' in result.content.decode()
    assert hits == 1  # the script's fetch; the image is never requested


@needs_chromium
def test_the_page_url_itself_is_guarded() -> None:
    with FeedServer() as srv:
        _site(srv)
        e = render_error(_settings(), _feed(srv.url("/list"), allow_private=False))
        assert srv.paths() == []
    assert e.kind == "blocked" and "127.0.0.1" in str(e)


@needs_chromium
def test_a_page_that_fails_is_the_feeds_http_error() -> None:
    with FeedServer() as srv:
        e = render_error(_settings(), _feed(srv.url("/missing")))
    assert e.kind == "http_status" and e.status == 404


@needs_chromium
def test_page_timeout() -> None:
    with FeedServer() as srv:
        srv.route("/list", body=b'<html><body><script src="/app.js"></script></body></html>',
                  headers={"Content-Type": "text/html"})
        srv.route("/app.js", handler=hang)  # "load" never comes
        started = time.monotonic()
        e = render_error(_settings(browser_timeout=2), _feed(srv.url("/list")))
        elapsed = time.monotonic() - started
    assert e.kind == "timeout" and "2 秒" in str(e)
    assert elapsed < 15  # the launch plus the 2 s page limit, not the 30 s fetch timeout


@needs_chromium
def test_rendered_page_over_the_size_cap() -> None:
    with FeedServer() as srv:
        srv.route("/list", body=b"<html><body><script>document.body.textContent = "
                                b"'x'.repeat(200000)</script></body></html>",
                  headers={"Content-Type": "text/html"})
        e = render_error(_settings(), _feed(srv.url("/list"), max_bytes=100_000))
    assert e.kind == "too_large"


@needs_chromium
def test_one_browser_for_many_pages_closed_with_the_fetcher() -> None:
    async def go(url: str) -> tuple[list[FetchResult], bool, bool]:
        async with Fetcher(_settings(browser_concurrency=2)) as f:
            feed = _feed(url)
            results = list(await asyncio.gather(*(f.fetch(feed) for _ in range(3))))
            renderer = f.browser()
            browser = renderer._browser
            assert browser is not None
        return results, browser.is_connected(), renderer._browser is None

    with FeedServer() as srv:
        _site(srv)
        results, connected, gone = asyncio.run(go(srv.url("/list")))
    assert all("小区停水三天无人管" in r.content.decode() for r in results)
    assert not connected and gone


def test_without_chromium_a_browser_feed_fails_clearly() -> None:
    with FeedServer() as srv:
        _site(srv)
        settings = FetchConfig(browser="/nonexistent/chromium")
        e = render_error(settings, _feed(srv.url("/list")))
        assert srv.paths() == []
    assert e.kind == "browser" and str(e) == MISSING


def test_without_chromium_other_feeds_are_unaffected(tmp_path: Any) -> None:
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t'
           '</title><item><title>区里召开推进会</title><guid>g1</guid></item></channel></rss>')
    with FeedServer() as srv:
        _site(srv)
        srv.route("/rss", body=rss.encode(), headers={"Content-Type": "text/xml"})
        path = write_config(tmp_path, extra={"fetch": {"browser": "/nonexistent/chromium"}},
                            feeds=[{"name": "论坛", "url": srv.url("/list"), "type": "html",
                                    "render": "browser",
                                    "select": {"item": "li.post", "title": "a::text"}},
                                   {"name": "新闻", "url": srv.url("/rss")}])
        outcomes = {o.name: o for o in asyncio.run(fetch_once(load_config(path)))}
        cli = Cli(path)
        status = cli("feeds", "status")
    assert outcomes["新闻"].ok and outcomes["新闻"].new_items == 1
    forum = outcomes["论坛"]
    assert not forum.ok and forum.error_kind == "browser" and forum.error == MISSING
    assert "浏览器不可用" in status.output or MISSING in status.output


def test_config_check_warns_about_a_missing_browser(tmp_path: Any) -> None:
    feeds = [{"name": "论坛", "url": "https://bbs.example.cn/list", "type": "html",
              "render": "browser", "select": {"item": "li", "title": "a"}}]
    path = write_config(tmp_path, extra={"fetch": {"browser": "/nonexistent/chromium"}},
                        feeds=feeds)
    r = Cli(path)("config", "check")
    assert r.exit_code == 0
    assert "注意：" in r.stderr and "/nonexistent/chromium" in r.stderr and "论坛" in r.stderr
    # no note when no feed needs the browser
    plain = write_config(tmp_path / "b", extra={"fetch": {"browser": "/nonexistent/chromium"}},
                         feeds=[{"name": "新闻", "url": "https://news.example.cn/rss"}])
    assert "chromium" not in Cli(plain)("config", "check").stderr.lower()


def _extractor_landed() -> bool:
    from monitor.parse.pages import parse_html_list

    try:
        parse_html_list(b"<ul><li><a href='/x'>t</a></li></ul>", {"item": "li", "title": "a"})
    except NotImplementedError:
        return False
    except Exception:
        return True
    return True


@needs_chromium
def test_a_rendered_page_is_extracted_and_stored(tmp_path: Any) -> None:
    if not _extractor_landed():
        pytest.skip("the html extractor (monitor/parse/pages.py) is still a stub")
    with FeedServer() as srv:
        _site(srv)
        path = write_config(tmp_path, feeds=[{
            "name": "论坛", "url": srv.url("/list"), "type": "html", "render": "browser",
            "select": {"item": "li.post", "title": "a::text", "link": "a::attr(href)"}}])
        [outcome] = asyncio.run(fetch_once(load_config(path)))
        rows = Cli(path).json("items", "list")
    assert outcome.ok and outcome.new_items == 2, outcome.error
    links = {r["title"]: r["link"] for r in rows}
    assert links == {"小区停水三天无人管": srv.url("/thread-1.html"),
                     "学校门口道路积水": srv.url("/thread-2.html")}
