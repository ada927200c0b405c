"""Real HTTP servers on 127.0.0.1 for tests that need behaviour pytest-httpserver cannot
produce: responses that never come, bodies that drip forever, concurrency measured at the
server. One thread per connection; every request is recorded.

    with FeedServer() as srv:
        srv.route("/feed", body=b"<rss/>", headers={"ETag": '"v1"'})
        srv.route("/slow", handler=drip(interval=0.05))
        fetch(srv.url("/feed")); srv.requests[0].headers["user-agent"]
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

Handler = Callable[["BaseHTTPRequestHandler", "FeedServer"], None]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names; repeats joined with ", "


@dataclass
class _Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         headers: dict[str, str] | None = None) -> None:
    """A complete response with Content-Length (unless the headers set their own)."""
    h.send_response(status)
    headers = dict(headers or {})
    if not any(k.lower() in ("content-length", "transfer-encoding") for k in headers):
        headers["Content-Length"] = str(len(body))
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()
    if body and h.command != "HEAD":
        h.wfile.write(body)
        h.wfile.flush()


def send_chunked(h: BaseHTTPRequestHandler, chunks: Iterable[bytes], status: int = 200,
                 headers: dict[str, str] | None = None) -> None:
    """A chunked response (no Content-Length); stops quietly when the client goes away."""
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    try:
        for chunk in chunks:
            if chunk:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                h.wfile.flush()
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
    except OSError:
        h.close_connection = True


def hang(h: BaseHTTPRequestHandler, srv: FeedServer) -> None:
    """Read the request, never answer (until the server stops)."""
    srv.stopping.wait(30)
    h.close_connection = True


def drip(interval: float = 0.05, piece: bytes = b"<") -> Handler:
    """Headers at once, then one small piece every ``interval`` seconds, forever."""
    def handler(h: BaseHTTPRequestHandler, srv: FeedServer) -> None:
        def pieces() -> Iterable[bytes]:
            while not srv.stopping.wait(interval):
                yield piece
        send_chunked(h, pieces(), headers={"Content-Type": "application/rss+xml"})
        h.close_connection = True
    return handler


def delayed(seconds: float, body: bytes = b"ok") -> Handler:
    """Answer after ``seconds`` (used to measure concurrency at the server)."""
    def handler(h: BaseHTTPRequestHandler, srv: FeedServer) -> None:
        srv.stopping.wait(seconds)
        send(h, 200, body)
    return handler


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, _Route] = {}
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                outer._dispatch(self)

        class _S(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                if not isinstance(sys.exc_info()[1], OSError):  # hang-ups are expected here
                    super().handle_error(request, client_address)

        self._server = _S(("127.0.0.1", 0), _H)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, *, status: int = 200, body: bytes = b"",
              headers: dict[str, str] | None = None, handler: Handler | None = None) -> None:
        self.routes[path] = _Route(status, body, dict(headers or {}), handler)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            headers: dict[str, str] = {}
            for k, v in h.headers.items():  # repeated headers joined, as HTTP defines
                key = k.lower()
                headers[key] = f"{headers[key]}, {v}" if key in headers else v
            self.requests.append(Recorded(h.command, h.path, headers))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            route = self.routes.get(h.path.split("?", 1)[0])
            if route is None:
                send(h, 404, b"not found")
            elif route.handler is not None:
                route.handler(h, self)
            else:
                send(h, route.status, route.body, route.headers)
        except OSError:  # the client hung up (cap reached, timeout): expected in these tests
            h.close_connection = True
        finally:
            with self._lock:
                self.active -= 1

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

