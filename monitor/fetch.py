"""Fetching: one feed URL -> :class:`~monitor.models.FetchResult`, or :class:`FetchError`.

Owns everything HTTP and nothing else (no parsing, no scheduling): conditional GET, manual
redirects, the private-network (SSRF) policy, size and total-time caps, bounded content
decoding (gzip/deflate/brotli, so a compression bomb stops at the cap), Retry-After and cache
lifetimes, per-host and global concurrency limits, per-feed user agent, headers and proxy.

Private-network policy, applied to every address a host name resolves to:

1. ``feed.allow_private = true``: everything is allowed;
2. addresses inside ``fetch.allow_private_networks`` (CIDRs) are allowed;
3. the host the admin configured in the feed URL is trusted even if private or loopback,
   unless ``feed.allow_private = false``;
4. anything else that is not globally routable (loopback, RFC 1918, link-local, ULA, ...) is
   refused with ``FetchError("blocked")`` *before* any packet is sent to it.

Host names are resolved once per request by our resolver and, on the default transport, the
connection is made to exactly the addresses that were checked (DNS rebinding cannot slip in
between check and connect). Through a proxy the proxy connects: the target is checked when it
resolves locally. With an injected ``transport`` and no ``resolve``, host names are not
resolved (the transport decides where requests go); literal IP addresses are still checked.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import logging
import socket
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import brotli
import httpcore
import httpx

from .config import FeedConfig, FetchConfig, redact
from .errors import FetchError
from .models import FetchResult

__all__ = ["ACCEPT", "Fetcher", "cache_lifetime", "default_resolve", "retry_after"]

log = logging.getLogger(__name__)

Resolver = Callable[[str], Awaitable[list[str]]]
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SENSITIVE = ("authorization", "cookie", "proxy-authorization")
_CHUNK = 64 * 1024
_STATUS_TEXT = {
    400: "请求无效", 401: "需要登录认证", 403: "禁止访问", 404: "地址不存在", 405: "不允许的请求方法",
    408: "请求超时", 410: "已永久删除", 429: "请求过于频繁", 451: "因法律原因不可用",
    500: "服务器错误", 502: "网关错误", 503: "服务暂不可用", 504: "网关超时",
}
_HINT = "如确需访问，请在该订阅源设置 allow_private = true"


# ---- header helpers (pure) -------------------------------------------------------------

def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def retry_after(value: str | None, *, date: str | None = None,
                now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or HTTP-date; ``date`` is the
    response's Date header, the reference for an HTTP-date). ``None`` when absent/invalid."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    when = _http_date(text)
    if when is None:
        return None
    ref = _http_date(date) or now or datetime.now(UTC)
    return max(0.0, (when - ref).total_seconds())


def cache_lifetime(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asks us not to re-fetch: ``Cache-Control: max-age`` (or
    ``s-maxage``), else ``Expires`` minus ``Date``; ``None`` for no-cache/no-store or no hint.
    ``headers`` must have lower-case names."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, val = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = val.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    for key in ("max-age", "s-maxage"):
        if key in directives:
            try:
                return max(0.0, float(int(directives[key])))
            except ValueError:
                return 0.0  # malformed: treat as stale (RFC 9111 §4.2.1)
    if "expires" in headers:
        expires = _http_date(headers["expires"])
        if expires is None:
            return 0.0  # invalid Expires (e.g. "0") means already expired
        ref = _http_date(headers.get("date")) or now or datetime.now(UTC)
        return max(0.0, (expires - ref).total_seconds())
    return None


# ---- private-network policy --------------------------------------------------------------

async def default_resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (system resolver, without blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower().rstrip(".")


@dataclass(frozen=True)
class _Policy:
    allow_all: bool
    trusted_host: str | None   # the configured host, unless allow_private is False
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    resolve: Resolver | None

    def allowed(self, host: str, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if self.allow_all or (addr.is_global and not addr.is_multicast):
            return True
        if any(addr in net for net in self.networks):
            return True
        return host == self.trusted_host

    async def addresses(self, host: str, *, redirect_to: str | None = None,
                        tolerate_dns: bool = False) -> list[str]:
        """Resolve and check ``host``: the addresses to connect to ([] when not resolved).

        ``redirect_to`` is the (displayable) URL when ``host`` comes from a redirect."""
        literal = _ip(host)
        if literal is not None:
            ips = [host]
        elif self.resolve is None:
            return []
        else:
            try:
                ips = await self.resolve(host)
            except OSError as e:
                if tolerate_dns:
                    return []
                raise FetchError("connection", f"无法解析域名 {host}：{e}") from None
            if not ips:
                raise FetchError("connection", f"无法解析域名 {host}：没有地址")
        for ip in ips:
            addr = _ip(ip)
            if addr is not None and self.allowed(host, addr):
                continue
            if redirect_to is None:
                raise FetchError("blocked", f"订阅源地址 {host} 解析到内网地址 {ip}，该订阅源设置了 "
                                            "allow_private = false，已拒绝")
            raise FetchError("blocked", f"重定向到内网地址 {redirect_to}（{ip}）已拒绝（{_HINT}）")
        return ips


@dataclass(frozen=True)
class _Pin:
    policy: _Policy
    host: str
    ips: list[str]


_PIN: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("monitor_fetch_pin",
                                                                   default=None)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the addresses the policy checked for the current request."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        pin = _PIN.get()
        if pin is None:  # not inside Fetcher.fetch: no policy to apply
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        ips = pin.ips if host == pin.host else []
        if not ips:
            ips = await pin.policy.addresses(host, redirect_to=host) or [host]
        error: Exception | None = None
        for ip in ips:
            try:
                return await self._inner.connect_tcp(ip, port, timeout, local_address,
                                                     socket_options)
            except httpcore.ConnectError as e:
                error = e
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for feeds")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (building one costs tens of milliseconds)."""
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's default transport with every new TCP connection made by :class:`_GuardedBackend`."""

    def __init__(self, limits: httpx.Limits) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, limits=limits)
        # httpx has no public hook for the network backend: rebuild the pool it delegates to.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=_GuardedBackend())


# ---- bounded decoding ----------------------------------------------------------------------

class _Zlib:
    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._d: Any = zlib.decompressobj(31) if self._gzip else None
        self._head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:  # "deflate" is zlib-wrapped by the spec, raw in practice too
            data = self._head = self._head + data
            if len(data) < 2:
                return
            zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(15 if zlib_header else -15)
        while data:
            out = self._d.decompress(data, _CHUNK)
            yield out
            data = self._d.unconsumed_tail
            while len(out) == _CHUNK and not data and not self._d.eof:
                out = self._d.decompress(b"", _CHUNK)
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if not (self._gzip and rest.startswith(b"\x1f\x8b")):
                    return  # ignore trailing garbage, as browsers do
                self._d = zlib.decompressobj(31)  # next gzip member
                data = rest

    def flush(self) -> Iterator[bytes]:
        if self._d is not None:
            yield self._d.flush()


class _Brotli:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield self._d.process(data, output_buffer_limit=_CHUNK)
        while not self._d.can_accept_more_data():
            yield self._d.process(b"", output_buffer_limit=_CHUNK)

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Decoder:
    """Content-Encoding chain, each layer yielding bounded pieces."""

    def __init__(self, header: str) -> None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        layers: list[_Zlib | _Brotli] = []
        for coding in reversed(codings):  # listed in the order they were applied
            if coding in ("gzip", "x-gzip", "deflate"):
                layers.append(_Zlib(coding))
            elif coding == "br":
                layers.append(_Brotli())
        self._layers = layers

    def _through(self, data: bytes, start: int) -> Iterator[bytes]:
        if start == len(self._layers):
            if data:
                yield data
            return
        for out in self._layers[start].feed(data):
            if out:
                yield from self._through(out, start + 1)

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(data, 0)

    def flush(self) -> Iterator[bytes]:
        for i, layer in enumerate(self._layers):
            for out in layer.flush():
                if out:
                    yield from self._through(out, i + 1)


# ---- the fetcher ----------------------------------------------------------------------------

@dataclass
class _Job:
    feed: FeedConfig
    client: httpx.AsyncClient
    policy: _Policy
    headers: httpx.Headers
    cap: int
    via_proxy: bool
    etag: str | None
    last_modified: str | None


class Fetcher:
    """Fetches feeds; one per process (it pools connections and holds the concurrency limits).

    ``transport`` replaces the network (tests, embedding); ``resolve`` replaces DNS.
    """

    def __init__(self, settings: FetchConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                 resolve: Callable[[str], Awaitable[list[str]]] | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._resolve = resolve if resolve is not None or transport is not None else default_resolve
        self._networks = tuple(ipaddress.ip_network(c, strict=False)
                               for c in settings.allow_private_networks)
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._global: asyncio.Semaphore | None = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def _client(self, proxy: str | None) -> httpx.AsyncClient:
        key = None if self._transport is not None else proxy
        client = self._clients.get(key)
        if client is None:
            s = self.settings
            limits = httpx.Limits(max_connections=s.concurrency,
                                  max_keepalive_connections=s.concurrency)
            transport: httpx.AsyncBaseTransport
            if self._transport is not None:
                transport = self._transport
            elif proxy:
                try:
                    transport = httpx.AsyncHTTPTransport(proxy=proxy, limits=limits,
                                                         verify=_ssl_context())
                except (ImportError, ValueError, httpx.InvalidURL) as e:
                    raise FetchError("connection", f"代理地址 {redact(proxy, 'proxy')} 无法使用："
                                                   f"{e}") from None
            else:
                transport = _GuardedTransport(limits)
            client = httpx.AsyncClient(
                transport=transport, follow_redirects=False, trust_env=False,
                timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout))
            self._clients[key] = client
        return client

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.settings.per_host_concurrency)
        return self._hosts[host]

    def _headers(self, feed: FeedConfig, etag: str | None, last_modified: str | None) -> httpx.Headers:
        # UTF-8 (not httpx's ASCII default): user agents and headers may be written in Chinese.
        headers = httpx.Headers({"User-Agent": feed.user_agent or self.settings.user_agent,
                                 "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate, br"},
                                encoding="utf-8")
        for name, value in feed.headers.items():  # replaces a default of any letter case
            headers[name] = value
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    async def fetch(self, feed: FeedConfig, *, etag: str | None = None,
                    last_modified: str | None = None) -> FetchResult:
        """Fetch ``feed`` once (following redirects); raises :class:`FetchError`."""
        started = time.monotonic()
        if self._global is None:
            self._global = asyncio.Semaphore(self.settings.concurrency)
        try:
            async with self._global:
                result = await self._fetch(feed, etag, last_modified)
        except FetchError as e:
            log.debug("fetch failed feed=%s url=%s kind=%s status=%s error=%s", feed.name,
                     redact(feed.url, "url"), e.kind, e.status, e)
            raise
        log.debug("fetched feed=%s url=%s status=%d bytes=%d elapsed_ms=%d", feed.name,
                 redact(result.url, "url"), result.status, len(result.content),
                 (time.monotonic() - started) * 1000)
        return result

    async def _fetch(self, feed: FeedConfig, etag: str | None, last_modified: str | None
                     ) -> FetchResult:
        s = self.settings
        proxy = feed.proxy or s.proxy
        try:
            url = httpx.URL(feed.url)
        except httpx.InvalidURL as e:
            raise FetchError("connection", f"订阅源地址无效：{e}") from None
        policy = _Policy(allow_all=feed.allow_private is True,
                         trusted_host=None if feed.allow_private is False else _host(url),
                         networks=self._networks, resolve=self._resolve)
        job = _Job(feed, self._client(proxy), policy, self._headers(feed, etag, last_modified),
                   feed.max_bytes or s.max_bytes, bool(proxy) and self._transport is None,
                   etag, last_modified)
        seen = {str(url)}
        deadline: float | None = None
        for hop in range(s.max_redirects + 1):
            async with self._host_slot(_host(url)):  # waiting for a slot is not the server's time
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + s.timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        outcome = await self._exchange(job, url, hop)
                except TimeoutError:
                    raise FetchError("timeout", f"超时：{s.timeout:g} 秒内未完成下载"
                                                f"（{redact(str(url), 'url')}）") from None
            if isinstance(outcome, FetchResult):
                return outcome
            log.debug("redirect feed=%s from=%s to=%s", feed.name, redact(str(url), "url"),
                      redact(str(outcome), "url"))
            if str(outcome) in seen:
                raise FetchError("redirect", f"重定向循环：{redact(str(outcome), 'url')} 已访问过")
            if hop == s.max_redirects:
                raise FetchError("redirect", f"重定向次数超过上限 {s.max_redirects} 次"
                                             f"（最后指向 {redact(str(outcome), 'url')}）")
            if (outcome.scheme, _host(outcome), outcome.port) != (url.scheme, _host(url), url.port):
                for name in _SENSITIVE:  # credentials never follow a redirect to another origin
                    job.headers.pop(name, None)
            seen.add(str(outcome))
            url = outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(self, job: _Job, url: httpx.URL, hop: int) -> FetchResult | httpx.URL:
        """One request; a FetchResult, or the URL a redirect points to."""
        shown = redact(str(url), "url")
        if url.scheme not in ("http", "https"):
            raise FetchError("blocked", f"重定向到不支持的协议 {url.scheme}:（{shown}），已拒绝")
        host = _host(url)
        if not host:
            raise FetchError("redirect", f"地址缺少主机名：{shown}")
        ips = await job.policy.addresses(host, redirect_to=shown if hop else None,
                                         tolerate_dns=job.via_proxy)
        token = _PIN.set(_Pin(job.policy, host, ips))
        try:
            request = job.client.build_request("GET", url, headers=job.headers)
            response = await job.client.send(request, stream=True)
            try:
                return await self._handle(job, url, response)
            finally:
                await response.aclose()
        except httpx.HTTPError as e:
            raise _transport_error(e, host, self.settings) from None
        finally:
            _PIN.reset(token)

    async def _handle(self, job: _Job, url: httpx.URL, response: httpx.Response
                      ) -> FetchResult | httpx.URL:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status in _REDIRECTS:
            location = headers.get("location", "").strip()
            if not location:
                raise FetchError("redirect", f"HTTP {status} 重定向缺少 Location", status=status)
            try:
                return url.join(location)
            except httpx.InvalidURL as e:
                raise FetchError("redirect", f"重定向地址无效 {location!r}：{e}",
                                 status=status) from None
        if status == 304:
            return FetchResult(url=str(url), status=304, headers=headers,
                               etag=headers.get("etag") or job.etag,
                               last_modified=headers.get("last-modified") or job.last_modified,
                               max_age=cache_lifetime(headers))
        if not 200 <= status < 300:
            reason = _STATUS_TEXT.get(status) or ("服务器错误" if status >= 500 else "请求失败")
            wait = None
            if status in (429, 503):
                wait = retry_after(headers.get("retry-after"), date=headers.get("date"))
            message = f"HTTP {status} {reason}"
            if wait is not None:
                message += f"，服务器要求 {wait:.0f} 秒后重试"
            raise FetchError("http_status", message, status=status, retry_after=wait)
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > job.cap:
            raise FetchError("too_large", f"响应体 {int(length)} 字节，超过上限 {job.cap} 字节",
                             status=status)
        content = await _read_capped(response, job.cap, status)
        return FetchResult(url=str(url), status=status, content=content, headers=headers,
                           etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                           max_age=cache_lifetime(headers))


async def _read_capped(response: httpx.Response, cap: int, status: int) -> bytes:
    """The decoded body, aborting as soon as the decoded size passes ``cap``."""
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    total = 0

    def take(pieces: Iterator[bytes]) -> None:
        nonlocal total
        for piece in pieces:
            total += len(piece)
            if total > cap:
                raise FetchError("too_large", f"响应体解压后超过上限 {cap} 字节，已中止下载",
                                 status=status)
            parts.append(piece)

    try:
        try:
            async for raw in response.aiter_raw():
                take(decoder.feed(raw))
        except httpx.StreamConsumed:  # an injected transport handed over a loaded response
            parts.clear()
            total = 0
            take(iter([response.content]))
            return response.content
        take(decoder.flush())
    except (zlib.error, brotli.error) as e:
        raise FetchError("parse", f"响应内容解压失败（{e}）", status=status) from None
    return b"".join(parts)


def _causes(e: BaseException) -> Iterator[BaseException]:
    """``e`` and everything chained to it, including the members of exception groups."""
    todo, seen = [e], set()
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo.extend(x for x in (exc.__cause__, exc.__context__) if x is not None)
        if isinstance(exc, BaseExceptionGroup):
            todo.extend(exc.exceptions)


def _transport_error(e: httpx.HTTPError, host: str, settings: FetchConfig) -> FetchError:
    text = str(e) or type(e).__name__
    if isinstance(e, httpx.ConnectTimeout):
        return FetchError("timeout", f"连接 {host} 超时（{settings.connect_timeout:g} 秒）")
    if isinstance(e, httpx.TimeoutException):
        return FetchError("timeout", f"等待 {host} 响应超时：{text}")
    if isinstance(e, httpx.ProxyError):
        return FetchError("connection", f"代理服务器错误：{text}")
    if isinstance(e, httpx.ConnectError):
        lowered = " ".join(str(c) for c in _causes(e)).lower()
        if any(isinstance(c, ConnectionRefusedError) for c in _causes(e)) or "refused" in lowered:
            return FetchError("connection", f"连接 {host} 被拒绝（服务未启动或端口错误）")
        if "certificate" in lowered or "ssl" in lowered:
            return FetchError("connection", f"与 {host} 的 TLS 握手失败（证书问题？）：{text}")
        if "name" in lowered and ("resolution" in lowered or "known" in lowered):
            return FetchError("connection", f"无法解析域名 {host}：{text}")
        return FetchError("connection", f"无法连接 {host}：{text}")
    return FetchError("connection", f"与 {host} 的连接出错：{text}")
