"""A second wall around the test suite: no socket leaves 127.0.0.0/8 and ::1.

The product's SSRF guard (monitor/fetch/guard.py) decides which feed addresses may be
fetched; this guard makes sure no test ever reaches the network, whichever library it goes
through and even when that guard, or a test, is wrong. It wraps the methods of
``socket.socket`` that every Python-level TCP and UDP path ends in:

* ``connect`` and ``connect_ex``: ``socket.create_connection`` (httpx/httpcore sync),
  asyncio's ``loop.sock_connect`` and ``loop.create_connection`` (anyio, httpx async),
  ``ssl.SSLSocket``;
* ``sendto`` and ``sendmsg`` with an address (UDP, asyncio datagram endpoints);
* ``socket.getaddrinfo`` for names other than ``localhost`` (a lookup is a DNS packet).

Each check runs before the real call, so a refused address never sees a packet: the error
(:class:`NetworkGuardError`, a ``PermissionError`` as a firewall's EPERM would be) names the
address. Unix sockets (sd_notify) and every other family pass untouched.

tests/conftest.py installs it in the pytest process, and in every Python process the tests
start through ``tests/sitehook/sitecustomize.py``: conftest puts that directory on
``PYTHONPATH`` and sets ``YUQING_TEST_NETGUARD=1``. Each refusal is also appended, one line,
to the file named by ``YUQING_TEST_NETGUARD_JOURNAL``, so that conftest fails the test that
caused it even when the code under test swallowed the error (a fetcher turns it into a feed
error, for instance).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

ENV = "YUQING_TEST_NETGUARD"
JOURNAL_ENV = "YUQING_TEST_NETGUARD_JOURNAL"
HOOK_DIR = Path(__file__).resolve().parent / "sitehook"
ALLOWED = "127.0.0.0/8, ::1 and Unix sockets"
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

_originals: dict[str, Any] = {}
_own: dict[str, bool] = {}  # whether socket.socket defined the method itself
_journal: str | None = None


class NetworkGuardError(PermissionError):
    """A test tried to reach an address outside the loopback network."""


def _is_loopback_literal(family: int, host: str) -> bool | None:
    """True/False for an IP literal of ``family``, None when ``host`` is not one."""
    host = host.split("%", 1)[0]  # an IPv6 scope id
    try:
        packed = socket.inet_pton(family, host)
    except (OSError, ValueError):
        return None
    if family == socket.AF_INET:
        return packed[0] == 127
    if packed == bytes(15) + b"\x01":  # ::1
        return True
    if packed[:12] == bytes(10) + b"\xff\xff":  # ::ffff:a.b.c.d, IPv4-mapped
        return packed[12] == 127
    return False


def _is_local_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in _LOCAL_NAMES or name.endswith(".localhost")


def check(family: int, address: Any, action: str = "connection") -> None:
    """Raise :class:`NetworkGuardError` unless ``address`` (of ``family``) is loopback."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX (sd_notify), netlink...: not the network
    if not isinstance(address, tuple) or not address:
        _refuse(f"{action} to {address!r}")
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    port = address[1] if len(address) > 1 else "?"
    shown = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    literal = _is_loopback_literal(family, str(host))
    if literal is None:  # an IPv4 literal given to an IPv6 socket, or the other way round
        other = socket.AF_INET6 if family == socket.AF_INET else socket.AF_INET
        literal = _is_loopback_literal(other, str(host))
    if literal is True:
        return
    if literal is None and _is_local_name(str(host)):
        return  # "localhost" comes from /etc/hosts, not from DNS
    _refuse(f"{action} to {shown}")


def _refuse(what: str) -> None:
    message = (f"netguard: {what} blocked before any packet was sent; tests may only use "
               f"{ALLOWED} (tests/netguard.py)")
    if _journal:
        try:
            fd = os.open(_journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"pid={os.getpid()} {what}\n".encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass
    raise NetworkGuardError(message)


def _connect(self: socket.socket, address: Any) -> None:
    check(self.family, address)
    return _originals["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    check(self.family, address)
    return _originals["connect_ex"](self, address)


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    if args:  # sendto(data, address) or sendto(data, flags, address)
        check(self.family, args[-1], "datagram")
    return _originals["sendto"](self, data, *args)


def _sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
    if len(args) >= 3 and args[2] is not None:  # sendmsg(buffers, ancdata, flags, address)
        check(self.family, args[2], "datagram")
    return _originals["sendmsg"](self, buffers, *args)


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        literal = any(_is_loopback_literal(f, name) is not None
                      for f in (socket.AF_INET, socket.AF_INET6))
        if name and not literal and not _is_local_name(name):
            _refuse(f"name lookup of {name!r}")
    return _originals["getaddrinfo"](host, port, *args, **kwargs)


_WRAPPERS = {"connect": _connect, "connect_ex": _connect_ex, "sendto": _sendto,
             "sendmsg": _sendmsg}


def install(journal: str | os.PathLike[str] | None = None) -> None:
    """Wrap ``socket.socket`` and ``socket.getaddrinfo`` (idempotent)."""
    global _journal
    _journal = os.fspath(journal) if journal else None
    if _originals:
        return
    for name, wrapper in _WRAPPERS.items():
        _originals[name] = getattr(socket.socket, name)
        _own[name] = name in vars(socket.socket)
        setattr(socket.socket, name, wrapper)
    _originals["getaddrinfo"] = socket.getaddrinfo
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    """Put the real methods back."""
    global _journal
    if not _originals:
        return
    for name in _WRAPPERS:
        if _own[name]:
            setattr(socket.socket, name, _originals[name])
        else:
            delattr(socket.socket, name)  # the inherited _socket.socket method shows again
    socket.getaddrinfo = _originals["getaddrinfo"]
    _originals.clear()
    _journal = None


def installed() -> bool:
    return socket.socket.connect is _connect and socket.getaddrinfo is _getaddrinfo
