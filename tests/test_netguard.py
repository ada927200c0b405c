"""The suite's network guard (tests/netguard.py, installed by tests/conftest.py) refuses every
connection outside 127.0.0.0/8 and ::1 before a packet is sent: here, through httpx (sync
and async), asyncio and the product's own fetcher, and in child processes.

The refused addresses are documentation and private ranges; 192.0.2.1 is avoided on
purpose because some sandboxes use it as their gateway. Each test first checks that the
guard is in place, so that a broken guard fails the test instead of reaching the network.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import netguard
from servers import FeedServer, closed_port
from support import ROOT, run_yuqing, write_config

ADDRESSES = ["10.255.255.1", "198.51.100.7", "203.0.113.9"]
CONNECT = "connection to {}"


@pytest.fixture
def guarded(refused_connections):
    if not netguard.installed():
        pytest.fail("tests/netguard.py is not installed: not trying any outside address")
    return refused_connections


def chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and the members of exception groups."""
    out, todo = [], [exc]
    while todo:
        e = todo.pop()
        if e in out:
            continue
        out.append(e)
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]
        todo += list(getattr(e, "exceptions", ()))
    return out


def guard_error(exc: BaseException) -> netguard.NetworkGuardError:
    found = [e for e in chain(exc) if isinstance(e, netguard.NetworkGuardError)]
    assert found, f"not refused by the guard: {exc!r}"
    return found[0]


# -- in this process -------------------------------------------------------------------

@pytest.mark.parametrize("address", ADDRESSES)
@pytest.mark.parametrize("method", ["connect", "connect_ex"])
def test_a_raw_socket_is_refused_before_the_kernel_sees_a_connect(guarded, address, method):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        began = time.monotonic()
        with pytest.raises(netguard.NetworkGuardError) as info:
            getattr(s, method)((address, 80))
        assert time.monotonic() - began < 1
        # connect() binds an ephemeral port before its SYN goes out; this socket was never
        # given one, and has no peer: the real call was not made
        assert s.getsockname() == ("0.0.0.0", 0)
        with pytest.raises(OSError) as peer:
            s.getpeername()
        assert peer.value.errno == errno.ENOTCONN
    message = str(info.value)
    assert message.startswith(f"netguard: connection to {address}:80 blocked before any packet")
    assert "127.0.0.0/8, ::1" in message
    assert isinstance(info.value, PermissionError)
    assert guarded.lines() == [f"pid={os.getpid()} connection to {address}:80"]


def test_ipv6_outside_loopback_is_refused_and_ipv6_loopback_allowed(guarded):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        pytest.skip("no IPv6 here")
    with s:
        with pytest.raises(netguard.NetworkGuardError) as info:
            s.connect(("2001:db8::1", 80, 0, 0))
        assert "connection to [2001:db8::1]:80 blocked" in str(info.value)
    port = closed_port()
    for host in ("::1", "::ffff:127.0.0.1"):
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            # the real connect runs: nobody listens there, so the kernel refuses
            assert s.connect_ex((host, port)) in (errno.ECONNREFUSED, errno.EADDRNOTAVAIL)
    assert guarded.lines() == [f"pid={os.getpid()} connection to [2001:db8::1]:80"]


def test_loopback_and_unix_sockets_pass(guarded, tmp_path):
    with FeedServer() as srv:
        srv.route("/ok", body=b"ok")
        assert httpx.get(srv.url("/ok")).text == "ok"
        assert httpx.get(srv.url("/ok", host="localhost")).text == "ok"
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5):
            pass
    with pytest.raises(ConnectionRefusedError):  # the kernel's answer, not the guard's
        socket.create_connection(("127.0.0.1", closed_port()), timeout=5)
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
        server.bind(path)
        client.connect(path)
        client.sendto(b"READY=1", path)
        assert server.recv(64) == b"READY=1"
    assert socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    assert guarded.lines() == []


def test_httpx_sync_request_is_refused_naming_the_address(guarded):
    began = time.monotonic()
    with pytest.raises(httpx.ConnectError) as info:
        httpx.get("http://10.255.255.1:8080/feed.xml", timeout=10)
    assert time.monotonic() - began < 3  # not the 10 s a silent address would take
    assert str(info.value).startswith("netguard: connection to 10.255.255.1:8080 blocked")
    assert guarded.lines() == [f"pid={os.getpid()} connection to 10.255.255.1:8080"]


def test_httpx_async_request_through_anyio_is_refused(guarded):
    async def get() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get("http://10.255.255.1:8080/feed.xml")

    with pytest.raises(httpx.ConnectError) as info:
        asyncio.run(get())
    # anyio reports "All connection attempts failed"; the guard's error is its cause
    assert "connection to 10.255.255.1:8080 blocked" in str(guard_error(info.value))
    assert guarded.lines() == [f"pid={os.getpid()} connection to 10.255.255.1:8080"]


def test_asyncio_connections_and_datagrams_are_refused(guarded):
    async def scenario() -> list[BaseException]:
        loop = asyncio.get_running_loop()
        errors: list[BaseException] = []
        for attempt in (lambda: asyncio.open_connection("198.51.100.7", 443),
                        lambda: loop.create_connection(asyncio.Protocol, "203.0.113.9", 25)):
            try:
                await attempt()
            except OSError as e:
                errors.append(e)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setblocking(False)
        try:
            await loop.sock_connect(raw, ("10.255.255.1", 80))
        except OSError as e:
            errors.append(e)
        finally:
            raw.close()

        class Datagrams(asyncio.DatagramProtocol):
            def error_received(self, exc: Exception) -> None:  # how asyncio reports sendto
                errors.append(exc)

        transport, _ = await loop.create_datagram_endpoint(Datagrams,
                                                           local_addr=("127.0.0.1", 0))
        try:
            transport.sendto(b"x", ("10.255.255.1", 53))
        finally:
            transport.close()
        return errors

    errors = asyncio.run(scenario())
    assert [str(guard_error(e)).split(" blocked")[0] for e in errors] == [
        "netguard: connection to 198.51.100.7:443", "netguard: connection to 203.0.113.9:25",
        "netguard: connection to 10.255.255.1:80", "netguard: datagram to 10.255.255.1:53"]
    assert len(guarded.lines()) == 4


def test_name_lookups_other_than_localhost_are_refused(guarded):
    with pytest.raises(netguard.NetworkGuardError) as info:
        socket.getaddrinfo("feeds.example.org", 443)
    assert "name lookup of 'feeds.example.org' blocked" in str(info.value)
    with pytest.raises(httpx.ConnectError) as info:
        httpx.get("http://feeds.example.org/rss", timeout=5)
    assert "name lookup of 'feeds.example.org' blocked" in str(info.value)
    assert socket.getaddrinfo("127.0.0.1", 80) and socket.getaddrinfo("10.0.0.1", 80)
    assert len(guarded.lines()) == 2


def test_the_fetcher_behind_its_own_guard_is_stopped_by_this_one(guarded):
    """With the product's SSRF guard told to allow the range, ours still holds."""
    from monitor.config import FeedConfig, FetchConfig
    from monitor.errors import FetchError
    from monitor.fetch import Fetcher

    async def fetch() -> None:
        settings = FetchConfig(timeout=10, connect_timeout=10,
                               allow_private_networks=["10.0.0.0/8"])
        async with Fetcher(settings) as f:
            await f.fetch(FeedConfig(name="内网源", url="http://10.255.255.1:8080/rss"))

    began = time.monotonic()
    with pytest.raises(FetchError) as info:
        asyncio.run(fetch())
    assert time.monotonic() - began < 3
    assert info.value.kind == "connection" and "10.255.255.1" in str(info.value)
    assert "connection to 10.255.255.1:8080 blocked" in str(guard_error(info.value))
    assert guarded.lines() == [f"pid={os.getpid()} connection to 10.255.255.1:8080"]


# -- in child processes ----------------------------------------------------------------

PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect(("10.255.255.1", 80))
except OSError as e:
    print(type(e).__name__, e, s.getsockname())
    sys.exit(3)
print("connected")
"""


def test_a_python_child_is_guarded_too(guarded):
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 3, r.stdout + r.stderr
    assert r.stdout.startswith("NetworkGuardError netguard: connection to 10.255.255.1:80 "
                               "blocked before any packet was sent"), r.stdout
    assert r.stdout.rstrip().endswith("('0.0.0.0', 0)")
    (line,) = guarded.lines()
    assert line.startswith("pid=") and line.endswith(" connection to 10.255.255.1:80")
    assert line != f"pid={os.getpid()} connection to 10.255.255.1:80"  # the child's pid


def test_the_real_program_in_a_child_is_guarded(guarded, tmp_path):
    config = write_config(tmp_path, feeds=[{"name": "内网源",
                                            "url": "http://10.255.255.1:8080/rss"}],
                          extra={"fetch": {"allow_private_networks": ["10.0.0.0/8"]}})
    r = run_yuqing("--config", str(config), "fetch", "--json")
    assert r.returncode == 1, r.stderr  # the feed failed
    (feed,) = json.loads(r.stdout)["feeds"]
    assert feed["ok"] is False and "无法连接 10.255.255.1" in feed["error"]
    (line,) = guarded.lines()
    assert line.endswith(" connection to 10.255.255.1:8080")
    assert line != f"pid={os.getpid()} connection to 10.255.255.1:8080"


def test_the_hook_is_inert_without_the_variable(guarded, tmp_path):
    """PYTHONPATH still names the hook, the variable is gone: nothing is patched, and any
    other sitecustomize on the path still runs."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import os\nos.environ['OTHER_HOOK'] = 'ran'\n")
    env = {k: v for k, v in os.environ.items() if k != netguard.ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(netguard.HOOK_DIR), str(other)])
    code = ("import os, socket, sys; print('netguard' in sys.modules, "
            "'connect' in vars(socket.socket), os.environ.get('OTHER_HOOK'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=30)
    assert (r.returncode, r.stdout.split(), r.stderr) == (0, ["False", "False", "ran"], "")
    env[netguard.ENV] = "1"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=30)
    assert (r.returncode, r.stdout.split(), r.stderr) == (0, ["True", "True", "ran"], "")
    assert guarded.lines() == []


def test_a_test_that_swallows_the_refusal_still_fails(tmp_path):
    """The journal makes a refusal fail its test even when the code caught the error."""
    (tmp_path / "test_leak.py").write_text(
        "import socket\n\n\ndef test_swallowed():\n    try:\n"
        "        socket.create_connection(('10.255.255.1', 80), timeout=5)\n"
        "    except OSError:\n        pass\n\n\ndef test_quiet():\n    pass\n")
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('suite_conftest', "
        f"{str(ROOT / 'tests' / 'conftest.py')!r})\n"
        "suite = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(suite)\n"
        "network_guard = suite.network_guard\n"
        "_nothing_left_loopback = suite._nothing_left_loopback\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "no:xdist", "test_leak.py"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 passed, 1 error" in r.stdout, r.stdout  # the error: test_swallowed's teardown
    assert "ERROR at teardown of test_swallowed" in r.stdout, r.stdout
    assert "this test tried to leave 127.0.0.1" in r.stdout
    assert "connection to 10.255.255.1:80" in r.stdout


def test_the_guard_covers_the_whole_session():
    assert netguard.installed()
    assert os.environ[netguard.ENV] == "1"
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(netguard.HOOK_DIR)
    assert Path(os.environ[netguard.JOURNAL_ENV]).is_file()
