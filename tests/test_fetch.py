"""monitor.fetch against real HTTP servers on 127.0.0.1 (tests/servers.py); nothing mocked."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import brotli
import httpx
import pytest

from monitor.config import FeedConfig, FetchConfig
from monitor.errors import FetchError
from monitor.fetch import ACCEPT, Fetcher, cache_lifetime, retry_after
from monitor.models import FetchResult

from servers import FeedServer, closed_port, delayed, drip, hang, send
from support import wait_for

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
MiB = 1024 * 1024


def settings(**kw: Any) -> FetchConfig:
    base: dict[str, Any] = {"timeout": 1.0, "connect_timeout": 0.5, "max_bytes": MiB}
    return FetchConfig(**(base | kw))


def feed(url: str, **kw: Any) -> FeedConfig:
    return FeedConfig(name="测试源", url=url, **kw)


class Resolver:
    """Fake DNS: a fixed table, recording every lookup (unknown names fail like NXDOMAIN)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return self.table[host]


def run(coro_fn: Callable[[Fetcher], Awaitable[Any]], cfg: FetchConfig | None = None,
        resolve: Resolver | None = None) -> Any:
    async def main() -> Any:
        async with Fetcher(cfg or settings(), resolve=resolve) as f:
            return await coro_fn(f)
    return asyncio.run(main())


def fetch(url: str, cfg: FetchConfig | None = None, resolve: Resolver | None = None,
          **feed_kw: Any) -> FetchResult:
    return run(lambda f: f.fetch(feed(url, **feed_kw)), cfg, resolve)


def fetch_error(url: str, cfg: FetchConfig | None = None, resolve: Resolver | None = None,
                **feed_kw: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, cfg, resolve, **feed_kw)
    return info.value


@pytest.fixture
def srv():
    with FeedServer() as server:
        yield server


# ---- success, conditional GET, headers ---------------------------------------------------

def test_200_then_conditional_304(srv: FeedServer) -> None:
    etag, lm = '"v1"', "Wed, 21 Oct 2015 07:28:00 GMT"

    def handler(h, s):
        if h.headers.get("If-None-Match") == etag:
            send(h, 304, headers={"Cache-Control": "max-age=600"})
        else:
            send(h, 200, RSS, {"ETag": etag, "Last-Modified": lm,
                               "Content-Type": "application/rss+xml; charset=utf-8",
                               "Cache-Control": "public, max-age=300"})
    srv.route("/feed", handler=handler)

    async def both(f: Fetcher) -> tuple[FetchResult, FetchResult]:
        first = await f.fetch(feed(srv.url("/feed")))
        second = await f.fetch(feed(srv.url("/feed")), etag=first.etag,
                               last_modified=first.last_modified)
        return first, second

    first, second = run(both)
    assert (first.status, first.content, first.etag, first.last_modified) == (200, RSS, etag, lm)
    assert first.max_age == 300 and first.url == srv.url("/feed")
    assert first.content_type.startswith("application/rss+xml")
    assert all(k == k.lower() for k in first.headers)
    assert second.status == 304 and second.not_modified and second.content == b""
    assert second.etag == etag and second.last_modified == lm  # kept when the 304 omits them
    assert second.max_age == 600
    seen = srv.requests[1].headers
    assert seen["if-none-match"] == etag and seen["if-modified-since"] == lm
    assert "if-none-match" not in srv.requests[0].headers


def test_user_agent_accept_and_feed_headers_reach_the_server(srv: FeedServer) -> None:
    srv.route("/feed", body=RSS)
    fetch(srv.url("/feed"))
    fetch(srv.url("/feed"), user_agent="我的抓取器/1.0",
          headers={"X-Token": "abc", "Accept-Language": "zh-CN", "accept": "application/rss+xml"})
    default, custom = srv.requests[0].headers, srv.requests[1].headers
    assert default["user-agent"] == FetchConfig().user_agent.encode().decode("latin-1")
    assert default["accept"] == ACCEPT
    assert set(default["accept-encoding"].replace(" ", "").split(",")) >= {"gzip", "deflate", "br"}
    assert custom["user-agent"] == "我的抓取器/1.0".encode().decode("latin-1")
    assert custom["x-token"] == "abc" and custom["accept-language"] == "zh-CN"
    assert custom["accept"] == "application/rss+xml"  # replaced, not sent twice


@pytest.mark.parametrize("encoding, encode", [
    ("br", brotli.compress),
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),                                      # zlib-wrapped (RFC)
    ("deflate", lambda b: zlib.compress(b, wbits=-15)),              # raw, as IIS sends it
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
])
def test_compressed_bodies_are_decoded(srv: FeedServer, encoding: str, encode) -> None:
    body = RSS * 500 + "中文内容".encode()
    srv.route("/feed", body=encode(body), headers={"Content-Encoding": encoding})
    assert fetch(srv.url("/feed")).content == body


# ---- HTTP errors and Retry-After ----------------------------------------------------------

def _http_date(delta: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=delta), usegmt=True)


@pytest.mark.parametrize("status, headers, want_retry, words", [
    (500, {}, None, "HTTP 500 服务器错误"),
    (404, {}, None, "HTTP 404"),
    (403, {}, None, "禁止访问"),
    (429, {"Retry-After": "120"}, 120, "120 秒后重试"),
    (429, {"Retry-After": "DATE+300"}, 300, "HTTP 429"),
    (503, {"Retry-After": "30"}, 30, "HTTP 503"),
    (503, {}, None, "HTTP 503"),
    (429, {"Retry-After": "garbage"}, None, "HTTP 429"),
    (500, {"Retry-After": "60"}, None, "HTTP 500"),  # only 429/503 carry a retry hint
])
def test_http_errors(srv: FeedServer, status, headers, want_retry, words) -> None:
    headers = {k: _http_date(300) if v == "DATE+300" else v for k, v in headers.items()}
    srv.route("/feed", status=status, body=b"oops", headers=headers)
    err = fetch_error(srv.url("/feed"))
    assert (err.kind, err.status) == ("http_status", status)
    assert words in str(err)
    if want_retry is None:
        assert err.retry_after is None
    else:
        assert err.retry_after == pytest.approx(want_retry, abs=2)


@pytest.mark.parametrize("value, date, want", [
    ("120", None, 120.0),
    ("0", None, 0.0),
    ("Wed, 21 Oct 2015 07:30:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 120.0),
    ("Wed, 21 Oct 2015 07:00:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
    ("soon", None, None),
    ("", None, None),
    (None, None, None),
])
def test_retry_after_parsing(value, date, want) -> None:
    assert retry_after(value, date=date) == want


NOW = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize("headers, want", [
    ({"cache-control": "max-age=300"}, 300.0),
    ({"cache-control": "public, max-age=3600, must-revalidate"}, 3600.0),
    ({"cache-control": "s-maxage=120"}, 120.0),
    ({"cache-control": 'max-age="60"'}, 60.0),
    ({"cache-control": "max-age=abc"}, 0.0),
    ({"cache-control": "no-cache, max-age=300"}, None),
    ({"cache-control": "no-store"}, None),
    ({"cache-control": "max-age=60", "expires": "Wed, 21 Oct 2015 09:28:00 GMT"}, 60.0),
    ({"expires": "Wed, 21 Oct 2015 08:28:00 GMT", "date": "Wed, 21 Oct 2015 07:28:00 GMT"}, 3600.0),
    ({"expires": "Wed, 21 Oct 2015 07:58:00 GMT"}, 1800.0),               # no Date: use now
    ({"expires": "Wed, 21 Oct 2015 06:00:00 GMT"}, 0.0),
    ({"expires": "0"}, 0.0),
    ({}, None),
    ({"cache-control": "private"}, None),
])
def test_cache_lifetime(headers, want) -> None:
    assert cache_lifetime(headers, now=NOW) == want


# ---- caps: time and size -----------------------------------------------------------------

@pytest.mark.parametrize("handler", [hang, drip(0.05)], ids=["never-answers", "slow-drip"])
def test_total_time_cap(srv: FeedServer, handler) -> None:
    srv.route("/feed", handler=handler)
    started = time.monotonic()
    err = fetch_error(srv.url("/feed"), settings(timeout=0.3))
    elapsed = time.monotonic() - started
    assert err.kind == "timeout" and "0.3 秒" in str(err)
    assert 0.25 < elapsed < 2.0


def test_oversize_content_length_rejected_up_front(srv: FeedServer) -> None:
    def handler(h, s):
        send(h, 200, headers={"Content-Length": str(5 * MiB)})
        h.close_connection = True  # declared but never sent: only the header can stop us
    srv.route("/feed", handler=handler)
    started = time.monotonic()
    err = fetch_error(srv.url("/feed"))
    assert err.kind == "too_large" and "上限" in str(err)
    assert time.monotonic() - started < 0.5  # did not wait for the body


@pytest.mark.parametrize("max_bytes_kw", [{}, {"max_bytes": 64 * 1024}])
def test_oversize_chunked_body_cut_at_cap(srv: FeedServer, max_bytes_kw) -> None:
    from servers import send_chunked

    total = 2048  # 128 MiB, no length announced: more than socket buffers can hold
    sent = []

    def handler(h, s):
        def chunks():
            for _ in range(total):
                sent.append(1)
                yield b"x" * (64 * 1024)
        send_chunked(h, chunks())
    srv.route("/feed", handler=handler)
    err = fetch_error(srv.url("/feed"), **max_bytes_kw)
    assert err.kind == "too_large"
    cap = max_bytes_kw.get("max_bytes", MiB)
    assert str(cap) in str(err)
    assert str(err).startswith("响应体") and f"超过上限 {cap} 字节，已中止下载" in str(err)
    # the client hung up at the cap: the server's next writes failed and it stopped early
    wait_for(lambda: srv.active == 0, timeout=10)
    assert srv.paths() == ["/feed"]
    assert cap // (64 * 1024) <= len(sent) < total, len(sent)


def _bomb(encoding: str, size: int) -> bytes:
    """A small body that decodes to ``size`` zero bytes, built without holding ``size`` bytes."""
    block = b"\0" * MiB
    if encoding == "br":
        c = brotli.Compressor(quality=1)
        return b"".join(c.process(block) for _ in range(size // MiB)) + c.finish()
    # After a full flush deflate forgets its history, so every further 1 MiB block compresses
    # to the same bytes: compress two, repeat the second (no trailer: we never get that far).
    c = zlib.compressobj(9, wbits=31 if encoding == "gzip" else 15)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    return first + again * (size // MiB - 1)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compression_bomb_aborted_early(srv: FeedServer, encoding: str) -> None:
    bomb = _bomb(encoding, 64 * MiB)
    assert len(bomb) < 100 * 1024
    srv.route("/feed", body=bomb, headers={"Content-Encoding": encoding})
    tracemalloc.start()
    try:
        err = fetch_error(srv.url("/feed"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.kind == "too_large" and "解压后" in str(err)
    assert peak < 16 * MiB  # the cap is 1 MiB; the 64 MiB were never materialised


# ---- redirects -----------------------------------------------------------------------------

def test_redirect_chain_within_limit_gives_final_url(srv: FeedServer) -> None:
    for i in range(3):
        srv.route(f"/r{i}", status=302 if i % 2 else 301, headers={"Location": f"/r{i + 1}"})
    srv.route("/r3", body=RSS)
    result = fetch(srv.url("/r0"), settings(max_redirects=3))
    assert result.content == RSS and result.url == srv.url("/r3")


@pytest.mark.parametrize("routes, start, cfg, words", [
    ({"/a": "/b", "/b": "/a"}, "/a", {}, "循环"),
    ({"/a": "/a"}, "/a", {}, "循环"),
    ({f"/r{i}": f"/r{i + 1}" for i in range(10)}, "/r0", {"max_redirects": 3}, "上限 3"),
    ({"/a": "/b"}, "/a", {"max_redirects": 0}, "上限 0"),
])
def test_redirect_loops_and_limits(srv: FeedServer, routes, start, cfg, words) -> None:
    for path, target in routes.items():
        srv.route(path, status=307, headers={"Location": target})
    err = fetch_error(srv.url(start), settings(**cfg))
    assert err.kind == "redirect" and words in str(err)
    assert len(srv.requests) <= cfg.get("max_redirects", 5) + 1


def test_redirect_without_location(srv: FeedServer) -> None:
    srv.route("/a", status=302)
    err = fetch_error(srv.url("/a"))
    assert err.kind == "redirect"
    assert str(err) == "HTTP 302 重定向缺少 Location" and err.status == 302


# ---- private-network policy --------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "http://10.1.2.3/feed",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.1/",
    "http://[::1]:PORT/secret",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]:PORT/secret",
    "http://0.0.0.0:PORT/secret",
    "http://intranet.test:PORT/secret",   # a name that resolves to a private address
    "http://localhost:PORT/secret",
    "file:///etc/passwd",
    "ftp://10.0.0.1/feed.xml",
])
def test_redirect_to_private_address_refused_before_connecting(srv: FeedServer, target) -> None:
    target = target.replace("PORT", str(srv.port))
    srv.route("/feed", status=302, headers={"Location": target})
    srv.route("/secret", body=b"intranet data")
    dns = Resolver({"intranet.test": ["93.184.216.34", "127.0.0.1"], "localhost": ["127.0.0.1"]})
    err = fetch_error(srv.url("/feed"), resolve=dns)
    assert err.kind == "blocked"
    if target.startswith("http"):
        assert "重定向到内网地址" in str(err) and "allow_private = true" in str(err)
    else:
        scheme = target.split(":", 1)[0]
        assert str(err).startswith(f"重定向到不支持的协议 {scheme}:"), str(err)
        assert str(err).endswith("已拒绝")
    assert srv.paths() == ["/feed"]  # nothing reached the refused address
    host = target.split("//")[1].split(":")[0].split("/")[0]
    assert dns.calls == ([host] if host in dns.table else [])


def test_allow_private_false_refuses_even_the_configured_loopback(srv: FeedServer) -> None:
    srv.route("/feed", body=RSS)
    err = fetch_error(srv.url("/feed"), allow_private=False)
    assert err.kind == "blocked" and "allow_private = false" in str(err)
    assert srv.requests == []


def _intranet_redirect(srv: FeedServer) -> Resolver:
    srv.route("/feed", status=302,
              headers={"Location": srv.url("/secret", host="intranet.test")})
    srv.route("/secret", body=RSS)
    return Resolver({"intranet.test": ["127.0.0.1"]})


@pytest.mark.parametrize("cfg, feed_kw", [
    ({"allow_private_networks": ["127.0.0.0/8"]}, {}),
    ({"allow_private_networks": ["10.0.0.0/8", "127.0.0.1/32"]}, {}),
    ({"allow_private_networks": ["127.0.0.0/8"]}, {"allow_private": False}),
    ({}, {"allow_private": True}),
])
def test_private_redirect_allowed_by_policy(srv: FeedServer, cfg, feed_kw) -> None:
    dns = _intranet_redirect(srv)
    result = fetch(srv.url("/feed"), settings(**cfg), dns, **feed_kw)
    assert result.content == RSS
    assert result.url == srv.url("/secret", host="intranet.test")
    assert srv.paths() == ["/feed", "/secret"]
    assert srv.requests[1].headers["host"] == f"intranet.test:{srv.port}"


def test_cidr_not_covering_the_address_still_refuses(srv: FeedServer) -> None:
    dns = _intranet_redirect(srv)
    err = fetch_error(srv.url("/feed"), settings(allow_private_networks=["10.0.0.0/8"]), dns)
    assert err.kind == "blocked" and srv.paths() == ["/feed"]
    assert str(err).startswith(f"重定向到内网地址 {srv.url('/secret', host='intranet.test')}"
                               "（127.0.0.1）已拒绝"), str(err)


def test_connects_to_the_checked_address(srv: FeedServer) -> None:
    """A configured host name is resolved once by our resolver and the connection goes to
    exactly that address (no second, unchecked lookup that DNS rebinding could change)."""
    srv.route("/feed", body=RSS)
    dns = Resolver({"feeds.test": ["127.0.0.1"]})
    result = fetch(srv.url("/feed", host="feeds.test"), resolve=dns)
    assert result.content == RSS and dns.calls == ["feeds.test"]
    assert srv.requests[0].headers["host"] == f"feeds.test:{srv.port}"


def test_credentials_dropped_on_cross_host_redirect(srv: FeedServer) -> None:
    srv.route("/a", status=302, headers={"Location": "/b"})
    srv.route("/b", status=302, headers={"Location": srv.url("/c", host="mirror.test")})
    srv.route("/c", body=RSS)
    dns = Resolver({"mirror.test": ["127.0.0.1"]})
    fetch(srv.url("/a"), settings(allow_private_networks=["127.0.0.0/8"]), dns,
          headers={"Authorization": "Bearer s3cret", "Cookie": "sid=1", "X-Feed": "yes"})
    a, b, c = (r.headers for r in srv.requests)
    assert a["authorization"] == b["authorization"] == "Bearer s3cret"  # same origin: kept
    assert "authorization" not in c and "cookie" not in c
    assert c["x-feed"] == "yes"


# ---- connection failures -------------------------------------------------------------------

def test_connection_refused() -> None:
    err = fetch_error(f"http://127.0.0.1:{closed_port()}/feed")
    assert err.kind == "connection" and "拒绝" in str(err)
    assert str(err) == "连接 127.0.0.1 被拒绝（服务未启动或端口错误）"


def test_dns_failure() -> None:
    err = fetch_error("http://nowhere.test/feed", resolve=Resolver({}))
    assert err.kind == "connection" and "nowhere.test" in str(err)
    assert str(err).startswith("无法解析域名 nowhere.test："), str(err)


# ---- concurrency ----------------------------------------------------------------------------

@pytest.mark.parametrize("per_host, concurrency", [(1, 20), (2, 20), (3, 2)])
def test_concurrency_limits_measured_at_server(srv: FeedServer, per_host, concurrency) -> None:
    srv.route("/feed", handler=delayed(0.05))
    cfg = settings(per_host_concurrency=per_host, concurrency=concurrency)

    async def many(f: Fetcher) -> list[FetchResult]:
        return await asyncio.gather(*(f.fetch(feed(srv.url("/feed"))) for _ in range(6)))

    results = run(many, cfg)
    assert all(r.status == 200 for r in results) and len(srv.requests) == 6
    assert srv.max_active == min(per_host, concurrency)


def test_logs_do_not_leak_secrets(srv: FeedServer, caplog: pytest.LogCaptureFixture) -> None:
    srv.route("/feed", body=RSS)
    caplog.set_level("DEBUG", logger="monitor.fetch")
    fetch(srv.url("/feed?token=abc123"), headers={"Authorization": "Bearer s3cret"})
    text = caplog.text
    assert "feed=测试源" in text and "s3cret" not in text and "abc123" not in text


@pytest.mark.parametrize("query", [
    "sig=PLANTED1&page=2", "password=PLANTED1", "url=https%3A%2F%2Fy%2F%3Fauth%3DPLANTED1",
])
def test_errors_and_logs_naming_a_url_hide_its_secrets(srv: FeedServer, query: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="monitor.fetch")
    url = srv.url(f"/loop?{query}")
    srv.route("/loop", status=302, headers={"Location": url})
    err = fetch_error(url)
    assert "循环" in str(err) and "/loop?" in str(err) and "***" in str(err)
    assert "PLANTED1" not in str(err) and "PLANTED1" not in caplog.text
    assert "重定向 feed=测试源" in caplog.text


def test_unparsable_url_error_hides_the_password_piece() -> None:
    url = "http://reader:PLANTED1#rest@127.0.0.1/feed"  # `#` not percent-encoded
    with pytest.raises(ValueError) as refused:  # the config refuses it, without the secret
        feed(url)
    assert "PLANTED1" not in str(refused.value.errors()[0]["msg"])
    # and should such a URL reach the fetcher anyway, its error hides the password piece
    with pytest.raises(FetchError) as info:
        run(lambda f: f.fetch(FeedConfig.model_construct(
            **{**feed("http://127.0.0.1/").model_dump(), "url": url})), settings(), None)
    err = info.value
    assert err.kind == "connection" and "地址无效" in str(err)
    assert "PLANTED1" not in str(err) and "rest" not in str(err)


# ---- proxies and injected transports ------------------------------------------------------

@pytest.mark.parametrize("where", ["feed", "settings"])
def test_proxy_per_feed_or_global(srv: FeedServer, where: str) -> None:
    """The proxy resolves the target (our DNS is not asked to succeed). A per-feed proxy
    leaves other feeds direct; the global one carries every feed."""
    with FeedServer() as direct:
        srv.route("http://upstream.test/feed", body=RSS)  # absolute-form: a forward proxy
        srv.route(direct.url("/feed"), body=b"via proxy")
        direct.route("/feed", body=b"direct")
        cfg = settings(proxy=srv.url("/")) if where == "settings" else settings()
        via = feed("http://upstream.test/feed", proxy=srv.url("/") if where == "feed" else None)

        async def both(f: Fetcher) -> tuple[FetchResult, FetchResult]:
            return await f.fetch(via), await f.fetch(feed(direct.url("/feed")))

        proxied, other = run(both, cfg, Resolver({}))
    assert proxied.content == RSS and srv.paths()[0] == "http://upstream.test/feed"
    if where == "feed":
        assert other.content == b"direct" and direct.paths() == ["/feed"]
    else:
        assert other.content == b"via proxy" and direct.paths() == []


def test_proxied_redirect_to_private_address_refused(srv: FeedServer) -> None:
    srv.route("http://upstream.test/feed", status=302, headers={"Location": "http://10.1.2.3/"})
    err = fetch_error("http://upstream.test/feed", resolve=Resolver({}), proxy=srv.url("/"))
    assert err.kind == "blocked" and srv.paths() == ["http://upstream.test/feed"]
    assert str(err).startswith("重定向到内网地址 http://10.1.2.3/（10.1.2.3）已拒绝"), str(err)


def test_injected_transport_needs_no_dns() -> None:
    seen: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=RSS, headers={"ETag": '"x"'})

    async def main() -> FetchResult:
        async with Fetcher(settings(), transport=httpx.MockTransport(app)) as f:
            return await f.fetch(feed("https://feeds.example/rss"))

    result = asyncio.run(main())
    assert result.content == RSS and result.etag == '"x"'
    assert seen == ["https://feeds.example/rss"]
