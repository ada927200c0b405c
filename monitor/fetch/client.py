"""The :class:`Fetcher`: requests, conditional GET, manual redirects, size and total-time caps,
per-host and global concurrency limits, per-feed headers and proxy, and turning HTTP and
transport failures into :class:`~monitor.errors.FetchError`."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

import httpx

from ..config import FeedConfig, FetchConfig
from ..errors import FetchError
from ..models import FetchResult
from ..redact import redact_text, redact_url
from .decompress import read_capped
from .guard import _PIN, _GuardedTransport, _host, _Pin, _Policy, _ssl_context, default_resolve
from .headers import cache_lifetime, retry_after
from .rsshub import ERROR_BODY_CAP, error_of, expand, is_rsshub

log = logging.getLogger(__name__)

ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SENSITIVE = ("authorization", "cookie", "proxy-authorization")
_QUOTED = re.compile(r"'[^']*'")
_STATUS_TEXT = {
    400: "请求无效", 401: "需要登录认证", 403: "禁止访问", 404: "地址不存在", 405: "不允许的请求方法",
    408: "请求超时", 410: "已永久删除", 429: "请求过于频繁", 451: "因法律原因不可用",
    500: "服务器错误", 502: "网关错误", 503: "服务暂不可用", 504: "网关超时",
}


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
    rsshub: bool = False


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
                    raise FetchError("connection", f"代理地址 {redact_url(proxy)} 无法使用："
                                                   f"{_reason(e)}") from None
            else:
                transport = _GuardedTransport(limits)
            client = httpx.AsyncClient(
                transport=transport, follow_redirects=False, trust_env=False,
                timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout))
            self._clients[key] = client
        return client

    def _global_slot(self) -> asyncio.Semaphore:
        if self._global is None:
            self._global = asyncio.Semaphore(self.settings.concurrency)
        return self._global

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
        try:
            result = await self._fetch(feed, etag, last_modified)
        except FetchError as e:
            log.debug("抓取失败 feed=%s url=%s kind=%s status=%s error=%s", feed.name,
                     redact_url(feed.url), e.kind, e.status, e)
            raise
        log.debug("已抓取 feed=%s url=%s status=%d bytes=%d elapsed_ms=%d", feed.name,
                 redact_url(result.url), result.status, len(result.content),
                 (time.monotonic() - started) * 1000)
        return result

    async def _fetch(self, feed: FeedConfig, etag: str | None, last_modified: str | None
                     ) -> FetchResult:
        s = self.settings
        proxy = feed.proxy or s.proxy
        try:
            url = httpx.URL(expand(feed.url, s))  # rsshub:/route -> the RSSHub instance
        except httpx.InvalidURL as e:
            raise FetchError("connection", f"订阅源地址无效（{redact_url(feed.url)}）："
                                           f"{_reason(e)}") from None
        policy = _Policy(allow_all=feed.allow_private is True,
                         trusted_host=None if feed.allow_private is False else _host(url),
                         networks=self._networks, resolve=self._resolve)
        job = _Job(feed, self._client(proxy), policy, self._headers(feed, etag, last_modified),
                   feed.max_bytes or s.max_bytes, bool(proxy) and self._transport is None,
                   etag, last_modified, is_rsshub(feed.url))
        seen = {str(url)}
        deadline: float | None = None
        for hop in range(s.max_redirects + 1):
            # The host's slot first, then a global one: a request queued behind a busy host
            # must not hold a global slot that a request to another host could use.
            # Waiting for slots is not the server's time (the deadline starts after).
            async with self._host_slot(_host(url)), self._global_slot():
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + s.timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        outcome = await self._exchange(job, url, hop)
                except TimeoutError:
                    raise FetchError("timeout", f"超时：{s.timeout:g} 秒内未完成下载"
                                                f"（{redact_url(str(url))}）") from None
            if isinstance(outcome, FetchResult):
                return outcome
            log.debug("重定向 feed=%s from=%s to=%s", feed.name, redact_url(str(url)),
                      redact_url(str(outcome)))
            if str(outcome) in seen:
                raise FetchError("redirect", f"重定向循环：{redact_url(str(outcome))} 已访问过")
            if hop == s.max_redirects:
                raise FetchError("redirect", f"重定向次数超过上限 {s.max_redirects} 次"
                                             f"（最后指向 {redact_url(str(outcome))}）")
            if (outcome.scheme, _host(outcome), outcome.port) != (url.scheme, _host(url), url.port):
                for name in _SENSITIVE:  # credentials never follow a redirect to another origin
                    job.headers.pop(name, None)
            seen.add(str(outcome))
            url = outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(self, job: _Job, url: httpx.URL, hop: int) -> FetchResult | httpx.URL:
        """One request; a FetchResult, or the URL a redirect points to."""
        shown = redact_url(str(url))
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
                raise FetchError("redirect", f"重定向地址无效 {redact_url(location)!r}："
                                             f"{_reason(e)}",
                                 status=status) from None
        if status == 304:
            return FetchResult(url=str(url), status=304, headers=headers,
                               etag=headers.get("etag") or job.etag,
                               last_modified=headers.get("last-modified") or job.last_modified,
                               max_age=cache_lifetime(headers))
        if not 200 <= status < 300 and job.rsshub:
            await self._rsshub_error(job, response, status)
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
        content = await read_capped(response, job.cap, status)
        return FetchResult(url=str(url), status=status, content=content, headers=headers,
                           etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                           max_age=cache_lifetime(headers))

    async def _rsshub_error(self, job: _Job, response: httpx.Response, status: int) -> None:
        """Raise RSSHub's own error (its page says what went wrong); return if the body is
        not RSSHub's, for the plain HTTP error."""
        try:
            body = await read_capped(response, min(job.cap, ERROR_BODY_CAP), status)
        except (FetchError, httpx.HTTPError):
            return
        headers = response.headers
        error = error_of(job.feed.url, status, body, headers.get("content-type", ""))
        if error is not None:
            if status in (429, 503):
                error.retry_after = retry_after(headers.get("retry-after"), date=headers.get("date"))
            raise error


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


def _reason(e: Exception) -> str:
    """An exception's message for a person: URLs redacted, and quoted fragments hidden
    (httpx quotes the piece it could not parse, e.g. the part of a password before an
    unencoded ``#`` read as a port)."""
    text = redact_text(str(e) or type(e).__name__)
    return _QUOTED.sub("'***'", text) if isinstance(e, httpx.InvalidURL) else text


def _transport_error(e: httpx.HTTPError, host: str, settings: FetchConfig) -> FetchError:
    """A transport failure in Chinese; the library's own (English) wording goes only to
    the debug log."""
    log.debug("连接错误 host=%s error=%s", host, _reason(e))
    if isinstance(e, httpx.ConnectTimeout):
        return FetchError("timeout", f"连接 {host} 超时（{settings.connect_timeout:g} 秒）")
    if isinstance(e, httpx.TimeoutException):
        return FetchError("timeout", f"等待 {host} 响应超时（{settings.timeout:g} 秒内没有收完）")
    if isinstance(e, httpx.ProxyError):
        return FetchError("connection", f"代理服务器拒绝或无法转发到 {host} 的请求")
    if isinstance(e, httpx.ConnectError):
        lowered = " ".join(str(c) for c in _causes(e)).lower()
        if any(isinstance(c, ConnectionRefusedError) for c in _causes(e)) or "refused" in lowered:
            return FetchError("connection", f"连接 {host} 被拒绝（服务未启动或端口错误）")
        if "certificate" in lowered or "ssl" in lowered:
            return FetchError("connection", f"与 {host} 的 TLS 握手失败（证书无效、过期或不受信任）")
        if "name" in lowered and ("resolution" in lowered or "known" in lowered):
            return FetchError("connection", f"无法解析域名 {host}（域名不存在或 DNS 不可用）")
        return FetchError("connection", f"无法连接 {host}（网络不通或被防火墙拦截）")
    return FetchError("connection", f"与 {host} 的连接意外中断（服务器提前关闭了连接）")
