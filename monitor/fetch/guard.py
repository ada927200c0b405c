"""Private-network (SSRF) policy: resolving host names, checking every address, and pinning
each new connection to exactly the addresses that were checked.

Policy, applied to every address a host name resolves to:

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
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ..errors import FetchError

Resolver = Callable[[str], Awaitable[list[str]]]
_HINT = "如确需访问，请在该订阅源设置 allow_private = true"


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
