"""Fake alert receivers on 127.0.0.1: the four robot/webhook endpoints and an SMTP inbox.

They check what the real platforms check, answer as the real platforms answer, and record
everything, so the channels (monitor/alerts/channels/), the daemon's integration tests and
the demo can run against something that behaves like DingTalk, Feishu, WeCom, a signed
webhook and a mail server without leaving the machine. Nothing here imports pytest: the
classes work in any process, and ``python tests/receivers.py`` runs both until SIGTERM.

RobotReceiver - one threaded HTTP server for all four platforms::

    with RobotReceiver() as robots:
        url = robots.url_for("dingtalk", "T1", secret="SEC123")   # registers the token
        ...                                       # POST {url}&timestamp=..&sign=..
        robots.received("dingtalk")[0].body       # the accepted message, parsed JSON
        robots.rejected()[0].answer               # {"errcode": 310000, ...}

    paths: DingTalk ``/robot/send?access_token=T``; Feishu ``/open-apis/bot/v2/hook/T``;
    WeCom ``/cgi-bin/webhook/send?key=T``; generic webhook ``/hook/T``.

  What it verifies, per platform (and answers on failure, HTTP 200 with a code unless said):

  - every platform: an unregistered token (DingTalk 300005 "token is not exist", Feishu
    19001, WeCom 93000 "invalid webhook url", webhook HTTP 404); a body that is not a JSON
    object (DingTalk 40035, Feishu 9499, WeCom 40035, webhook HTTP 400).
  - DingTalk: with a secret, ``timestamp`` (ms, within an hour of :attr:`clock`) and
    ``sign`` = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))) in the
    query (310000 "sign not match..." / "invalid timestamp"); ``msgtype`` one of text,
    link, markdown, actionCard, feedCard (400105) with its required fields (40035); body
    at most 20000 bytes (460101 "message too long, exceed 20000 bytes").
  - Feishu: with a secret, ``timestamp`` (s, within an hour) and ``sign`` =
    base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) in the body (19021 "sign
    match fail or timestamp is not within one hour from current time"); ``msg_type`` one
    of text, post, image, share_chat, interactive with a well-formed ``content``/``card``
    (post: paragraphs of text/a/at/img/... elements, ``a`` with an http(s) href) (9499
    "Bad Request"); body at most 20 KB (9499).
  - WeCom: ``msgtype`` known (40008 "invalid message type"); ``text.content`` at most 2048
    and ``markdown.content`` at most 4096 UTF-8 bytes (40058 "... exceed max length ...");
    content not empty (44004).
  - webhook: ``Content-Type: application/json`` (HTTP 415); the keys incident, level,
    title, category, link, rule and delivery present (HTTP 422); with a secret,
    ``X-Yuqing-Timestamp`` within 5 minutes of :attr:`clock` and ``X-Yuqing-Signature:
    sha256=HEX(HMAC-SHA256(secret, f"{ts}.".encode() + body))`` (HTTP 401).

  Behaviours per token: :meth:`too_fast` answers the platform's own "too fast" the next N
  times (DingTalk 130101, Feishu 11232, WeCom 45009, webhook HTTP 429 + Retry-After);
  :meth:`fail` answers HTTP 500 (or another status) the next N times; :meth:`rate` enforces
  N accepted messages a minute (by :attr:`clock`) and then answers "too fast" as the
  platforms do (DingTalk and WeCom allow 20 a minute, Feishu 100; ``rates=True`` turns
  these on for every token); :meth:`delay` records the next N messages and then holds
  the answer for a while (a send left in flight). :attr:`clock` (Unix seconds) defaults
  to ``time.time``; set it to the ``now`` the code under test signs with.

  From another process: ``GET /_received``, ``GET /_rejected`` and ``GET /_mail`` (when an
  inbox is attached) return the records as JSON; ``POST /_control`` with
  ``{"action": "register"|"too_fast"|"fail"|"rate"|"delay"|"clear", "platform", "token",
  "secret", "times", "status", "per_minute", "seconds"}`` changes behaviour.

SmtpInbox - an aiosmtpd server with optional AUTH (PLAIN/LOGIN over plain loopback:
``auth_require_tls=False``), STARTTLS (``tls_context``) or implicit TLS (``ssl_context``),
recipients to refuse (550) or defer (450); every message parsed as an
``email.message.EmailMessage`` with its decoded subject, text and HTML parts, and
optionally saved as ``.eml`` files into ``maildir``. :meth:`SmtpInbox.stop` and
:meth:`SmtpInbox.start` reuse the same port, to simulate an outage.
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Plain AUTH over loopback is what these tests want; aiosmtpd warns about it on each connection.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

PLATFORMS = ("dingtalk", "feishu", "wecom", "webhook")
PLATFORM_RATES = {"dingtalk": 20, "wecom": 20, "feishu": 100}   # messages a minute
_ANSWER = tuple[int, Any, dict[str, str]]   # status, JSON or text body, extra headers


@dataclass
class Received:
    """One accepted message."""

    platform: str
    token: str
    body: dict[str, Any]          # the parsed JSON
    headers: dict[str, str]       # lower-case names
    query: dict[str, str]
    raw: bytes = field(repr=False, default=b"")
    at: float = 0.0               # by the receiver's clock


@dataclass
class Rejected:
    """One refused request and what the receiver answered."""

    platform: str
    token: str
    status: int
    answer: Any                   # the JSON (or text) answered
    headers: dict[str, str]
    query: dict[str, str]
    raw: bytes = field(repr=False, default=b"")


@dataclass
class _Token:
    platform: str
    secret: str | None = None
    too_fast: int = 0
    fail: int = 0
    fail_status: int = 500
    per_minute: int | None = None
    accepted_at: deque[float] = field(default_factory=deque)
    delay: float = 0.0            # hold the answer this long ...
    delay_times: int = 0          # ... for this many more requests


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


class RobotReceiver:
    """DingTalk, Feishu, WeCom and a signed generic webhook in one threaded HTTP server."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 clock: Callable[[], float] = time.time, rates: bool = False) -> None:
        self.clock = clock
        self.rates = rates
        self.inbox: SmtpInbox | None = None      # served at GET /_mail when set
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._received: list[Received] = []
        self._rejected: list[Rejected] = []
        self._released = threading.Event()      # set on stop: held answers go out at once
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # the body is a second write: no 40 ms stall

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                outer._handle(self, "POST")

            def do_GET(self) -> None:
                outer._handle(self, "GET")

        class _S(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

            def handle_error(self, request: object, client_address: object) -> None:
                if not isinstance(sys.exc_info()[1], OSError):  # a client gone (held answer)
                    super().handle_error(request, client_address)

        self._server = _S((host, port), _H)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------
    def start(self) -> RobotReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> RobotReceiver:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- configuration ---------------------------------------------------------------
    def url_for(self, platform: str, token: str, secret: str | None = None) -> str:
        """The robot URL for ``token`` on ``platform``; registers the token (and the
        signing secret the platform will then demand)."""
        self.register(platform, token, secret)
        paths = {"dingtalk": f"/robot/send?access_token={token}",
                 "feishu": f"/open-apis/bot/v2/hook/{token}",
                 "wecom": f"/cgi-bin/webhook/send?key={token}",
                 "webhook": f"/hook/{token}"}
        return self.base_url + paths[platform]

    def register(self, platform: str, token: str, secret: str | None = None) -> None:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        with self._lock:
            state = self._tokens.setdefault((platform, token), _Token(platform))
            state.secret = secret

    def _state(self, token: str) -> list[_Token]:
        found = [s for (_, t), s in self._tokens.items() if t == token]
        if not found:
            raise KeyError(f"token {token!r} is not registered (call url_for first)")
        return found

    def too_fast(self, token: str, times: int = 1) -> None:
        """Answer the platform's "too fast" to the next ``times`` messages for ``token``."""
        with self._lock:
            for s in self._state(token):
                s.too_fast = times

    def fail(self, token: str, times: int = 1, status: int = 500) -> None:
        """Answer HTTP ``status`` to the next ``times`` requests for ``token``."""
        with self._lock:
            for s in self._state(token):
                s.fail, s.fail_status = times, status

    def rate(self, token: str, per_minute: int | None) -> None:
        """Accept at most ``per_minute`` messages a minute for ``token`` (None: no limit)."""
        with self._lock:
            for s in self._state(token):
                s.per_minute = per_minute

    def clear(self) -> None:
        """Forget the records (registrations and behaviours stay)."""
        with self._lock:
            self._received.clear()
            self._rejected.clear()

    # ---- records -----------------------------------------------------------------------
    def received(self, platform: str | None = None, token: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if platform in (None, r.platform)
                    and token in (None, r.token)]

    def rejected(self, platform: str | None = None, token: str | None = None) -> list[Rejected]:
        with self._lock:
            return [r for r in self._rejected if platform in (None, r.platform)
                    and token in (None, r.token)]

    def wait_for(self, count: int, platform: str | None = None, token: str | None = None,
                 timeout: float = 10.0) -> list[Received]:
        """The accepted messages once there are at least ``count`` (polls; for tests that
        drive another process)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.received(platform, token)
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    # ---- HTTP ----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in h.headers.items()}
        try:
            status, body, extra = self._route(method, parts.path, query, headers, raw)
        except Exception as exc:  # a bug here must show, not hang the client
            status, body, extra = 500, f"receiver error: {exc!r}", {}
        data = body if isinstance(body, bytes) else (
            _json(body) if not isinstance(body, str) else body.encode("utf-8"))
        ctype = "text/plain; charset=utf-8" if isinstance(body, str) else \
            "application/json; charset=utf-8"
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               raw: bytes) -> _ANSWER:
        if method == "GET":
            return self._report(path)
        if path == "/_control":
            return self._control(json.loads(raw or b"{}"))
        if path == "/robot/send":
            platform, token = "dingtalk", query.get("access_token", "")
        elif path.startswith("/open-apis/bot/v2/hook/"):
            platform, token = "feishu", path.rsplit("/", 1)[1]
        elif path == "/cgi-bin/webhook/send":
            platform, token = "wecom", query.get("key", "")
        elif path.startswith("/hook/"):
            platform, token = "webhook", path[len("/hook/"):]
        else:
            return 404, "not found", {}
        status, body, extra = self._receive(platform, token, query, headers, raw)
        with self._lock:
            if status == 200 and _accepted(platform, body):
                self._received.append(Received(platform, token, json.loads(raw), headers,
                                               query, raw, self.clock()))
            else:
                self._rejected.append(Rejected(platform, token, status, body, headers,
                                               query, raw))
        self._hold(platform, token)
        return status, body, extra

    def _receive(self, platform: str, token: str, query: dict[str, str],
                 headers: dict[str, str], raw: bytes) -> _ANSWER:
        with self._lock:
            state = self._tokens.get((platform, token))
            if state is not None and state.fail > 0:
                state.fail -= 1
                return state.fail_status, "internal error", {}
        if state is None:
            return UNKNOWN_TOKEN[platform]
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return NOT_JSON[platform]
        checks: dict[str, Callable[..., _ANSWER | None]] = {
            "dingtalk": self._dingtalk, "feishu": self._feishu, "wecom": self._wecom,
            "webhook": self._webhook}
        refused = checks[platform](state, body, query, headers, raw)
        if refused is not None:
            return refused
        with self._lock:
            now = self.clock()
            if state.too_fast > 0:
                state.too_fast -= 1
                return TOO_FAST[platform]
            limit = state.per_minute or (PLATFORM_RATES.get(platform) if self.rates else None)
            while state.accepted_at and state.accepted_at[0] <= now - 60:
                state.accepted_at.popleft()
            if limit is not None and len(state.accepted_at) >= limit:
                return TOO_FAST[platform]
            state.accepted_at.append(now)
        return OK[platform]

    # ---- per platform ------------------------------------------------------------------
    def _dingtalk(self, state: _Token, body: dict[str, Any], query: dict[str, str],
                  headers: dict[str, str], raw: bytes) -> _ANSWER | None:
        if state.secret:
            ts, sign = query.get("timestamp", ""), query.get("sign", "")
            if not ts.isdigit() or abs(int(ts) - self.clock() * 1000) > 3600 * 1000:
                return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}, {}
            to_sign = f"{ts}\n{state.secret}".encode()
            expected = base64.b64encode(hmac.new(state.secret.encode(), to_sign,
                                                 hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(sign, expected):
                return 200, {"errcode": 310000, "errmsg": "sign not match, more: "
                             "[https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}, {}
        msgtype = body.get("msgtype")
        required = {"text": ("content",), "link": ("title", "text", "messageUrl"),
                    "markdown": ("title", "text"), "actionCard": ("title", "text"),
                    "feedCard": ("links",)}
        if msgtype not in required:
            return 200, {"errcode": 400105, "errmsg": "不支持的 msgtype"}, {}
        part = body.get(msgtype)
        for key in required[msgtype]:
            if not isinstance(part, dict) or not part.get(key):
                return 200, {"errcode": 40035, "errmsg": f"缺少参数 {msgtype}.{key}"}, {}
        if len(raw) > 20000:
            return 200, {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}, {}
        return None

    def _feishu(self, state: _Token, body: dict[str, Any], query: dict[str, str],
                headers: dict[str, str], raw: bytes) -> _ANSWER | None:
        if state.secret:
            ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            ok = ts.isdigit() and abs(int(ts) - self.clock()) <= 3600
            if ok:
                key = f"{ts}\n{state.secret}".encode()
                expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest())
                ok = hmac.compare_digest(sign.encode(), expected)
            if not ok:
                return 200, {"code": 19021, "data": {}, "msg": "sign match fail or timestamp "
                             "is not within one hour from current time"}, {}
        if len(raw) > 20 * 1024 or not _feishu_shape(body):
            return 200, {"code": 9499, "data": {}, "msg": "Bad Request"}, {}
        return None

    def _wecom(self, state: _Token, body: dict[str, Any], query: dict[str, str],
               headers: dict[str, str], raw: bytes) -> _ANSWER | None:
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "markdown", "markdown_v2", "image", "news", "file",
                           "voice", "template_card"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}, {}
        if msgtype in ("text", "markdown", "markdown_v2"):
            part = body.get(msgtype)
            content = part.get("content") if isinstance(part, dict) else None
            if not isinstance(content, str) or not content:
                return 200, {"errcode": 44004, "errmsg": "empty content"}, {}
            limit = 2048 if msgtype == "text" else 4096
            if len(content.encode("utf-8")) > limit:
                return 200, {"errcode": 40058, "errmsg": f"{msgtype}.content exceed max "
                             f"length {limit}. invalid Request Parameter"}, {}
        return None

    def _webhook(self, state: _Token, body: dict[str, Any], query: dict[str, str],
                 headers: dict[str, str], raw: bytes) -> _ANSWER | None:
        if not headers.get("content-type", "").startswith("application/json"):
            return 415, "expected Content-Type: application/json", {}
        if state.secret:
            ts = headers.get("x-yuqing-timestamp", "")
            if not ts.isdigit() or abs(int(ts) - self.clock()) > 300:
                return 401, "X-Yuqing-Timestamp missing or more than 5 minutes off", {}
            expected = "sha256=" + hmac.new(state.secret.encode(), f"{ts}.".encode() + raw,
                                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(headers.get("x-yuqing-signature", ""), expected):
                return 401, "X-Yuqing-Signature does not match", {}
        missing = [k for k in ("incident", "level", "title", "category", "link", "rule",
                               "delivery") if k not in body]
        if missing:
            return 422, f"missing keys: {', '.join(missing)}", {}
        return None

    # ---- for other processes ------------------------------------------------------------
    def _report(self, path: str) -> _ANSWER:
        if path == "/_received":
            return 200, [_plain(asdict(r)) for r in self.received()], {}
        if path == "/_rejected":
            return 200, [_plain(asdict(r)) for r in self.rejected()], {}
        if path == "/_mail" and self.inbox is not None:
            return 200, [m.summary() for m in self.inbox.messages], {}
        return 404, "not found", {}

    def _control(self, cmd: dict[str, Any]) -> _ANSWER:
        action, token = cmd.get("action"), str(cmd.get("token", ""))
        if action == "register":
            return 200, {"url": self.url_for(cmd["platform"], token, cmd.get("secret"))}, {}
        if action == "too_fast":
            self.too_fast(token, int(cmd.get("times", 1)))
        elif action == "fail":
            self.fail(token, int(cmd.get("times", 1)), int(cmd.get("status", 500)))
        elif action == "rate":
            self.rate(token, cmd.get("per_minute"))
        elif action == "delay":
            self.delay(token, float(cmd.get("seconds", 10)), int(cmd.get("times", 1)))
        elif action == "clear":
            self.clear()
        else:
            return 400, f"unknown action {action!r}", {}
        return 200, {"ok": True}, {}

    # ---- held answers -------------------------------------------------------------------
    def delay(self, token: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests for ``token`` are handled (and recorded) at once, but
        their answer is held ``seconds`` (or until :meth:`stop`): as a platform that posted
        the message and answers late, so the sender has a send in flight."""
        with self._lock:
            for s in self._state(token):
                s.delay, s.delay_times = seconds, times

    def _hold(self, platform: str, token: str) -> None:
        with self._lock:
            state = self._tokens.get((platform, token))
            if state is None or state.delay_times <= 0:
                return
            state.delay_times -= 1
            seconds = state.delay
        self._released.wait(seconds)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    record.pop("raw", None)
    return record


def _accepted(platform: str, body: Any) -> bool:
    if platform == "webhook":
        return True
    if not isinstance(body, dict):
        return False
    return body.get("code" if platform == "feishu" else "errcode") == 0


_FEISHU_TAGS = {"text", "a", "at", "img", "media", "emotion", "hr", "code_block", "md"}


def _feishu_shape(body: dict[str, Any]) -> bool:
    msg_type, content = body.get("msg_type"), body.get("content")
    if msg_type == "interactive":
        return isinstance(body.get("card"), dict) or isinstance(content, dict | str)
    if not isinstance(content, dict):
        return False
    if msg_type == "text":
        return isinstance(content.get("text"), str) and bool(content["text"])
    if msg_type == "image":
        return isinstance(content.get("image_key"), str)
    if msg_type == "share_chat":
        return isinstance(content.get("share_chat_id"), str)
    if msg_type != "post" or not isinstance(content.get("post"), dict) or not content["post"]:
        return False
    for lang in content["post"].values():
        if not isinstance(lang, dict) or not isinstance(lang.get("content"), list):
            return False
        for paragraph in lang["content"]:
            if not isinstance(paragraph, list):
                return False
            for el in paragraph:
                if not isinstance(el, dict) or el.get("tag") not in _FEISHU_TAGS:
                    return False
                if el["tag"] == "text" and not isinstance(el.get("text"), str):
                    return False
                if el["tag"] == "a" and not str(el.get("href", "")).startswith(
                        ("http://", "https://")):
                    return False
    return True


OK: dict[str, _ANSWER] = {
    "dingtalk": (200, {"errcode": 0, "errmsg": "ok"}, {}),
    "wecom": (200, {"errcode": 0, "errmsg": "ok"}, {}),
    "feishu": (200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {},
                     "msg": "success"}, {}),
    "webhook": (200, {"ok": True}, {}),
}
TOO_FAST: dict[str, _ANSWER] = {
    "dingtalk": (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
                 {}),
    "wecom": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {}),
    "feishu": (200, {"code": 11232, "data": {}, "msg": "frequency limited psm"
                     "[lark.oapi.app_platform_runtime]appID[1500]"}, {}),
    "webhook": (429, "too many requests", {"Retry-After": "30"}),
}
UNKNOWN_TOKEN: dict[str, _ANSWER] = {
    "dingtalk": (200, {"errcode": 300005, "errmsg": "token is not exist"}, {}),
    "wecom": (200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [receiver]"}, {}),
    "feishu": (200, {"code": 19001, "data": {},
                     "msg": "param invalid: incoming webhook access token invalid"}, {}),
    "webhook": (404, "no such hook", {}),
}
NOT_JSON: dict[str, _ANSWER] = {
    "dingtalk": (200, {"errcode": 40035, "errmsg": "缺少参数 json"}, {}),
    "wecom": (200, {"errcode": 40035, "errmsg": "invalid parameter"}, {}),
    "feishu": (200, {"code": 9499, "data": {}, "msg": "Bad Request"}, {}),
    "webhook": (400, "body is not a JSON object", {}),
}


# ---- SMTP -------------------------------------------------------------------------------

@dataclass
class Mail:
    """One message the inbox accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = field(repr=False)
    auth_user: str | None = None
    tls: bool = False

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def part(self, subtype: str) -> str | None:
        body = self.message.get_body(preferencelist=(subtype,))
        if body is None:
            return None
        content: str = body.get_content()
        return content

    @property
    def text(self) -> str | None:
        return self.part("plain")

    @property
    def html(self) -> str | None:
        return self.part("html")

    def summary(self) -> dict[str, Any]:
        return {"from": self.mail_from, "to": self.rcpt_tos, "subject": self.subject,
                "message_id": self.message["Message-ID"], "text": self.text,
                "html": self.html, "auth_user": self.auth_user, "tls": self.tls}


class _Handler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.inbox.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.inbox.defer:
            return f"450 4.2.1 <{address}>: Recipient address rejected: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        user = session.auth_data
        user = user.decode() if isinstance(user, bytes) else (str(user) if user else None)
        tls = session.ssl is not None or (
            server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None)
        mail = Mail(envelope.mail_from, list(envelope.rcpt_tos), message,
                    raw, user, tls)
        self.inbox._record(mail)
        return "250 2.0.0 Message accepted for delivery"


class SmtpInbox:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 users: dict[str, str] | None = None, auth_required: bool | None = None,
                 tls_context: ssl.SSLContext | None = None, require_starttls: bool = False,
                 ssl_context: ssl.SSLContext | None = None, refuse: set[str] | None = None,
                 defer: set[str] | None = None, maildir: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.users = dict(users or {})
        self.auth_required = bool(self.users) if auth_required is None else auth_required
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.ssl_context = ssl_context
        self.refuse = set(refuse or ())
        self.defer = set(defer or ())
        self.maildir = maildir
        self._lock = threading.Lock()
        self._messages: list[Mail] = []
        self._controller: Any = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = login in self.users and hmac.compare_digest(self.users[login], password)
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def start(self) -> SmtpInbox:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {"auth_require_tls": False,
                                  "auth_required": self.auth_required}
        if self.users:
            kwargs["authenticator"] = self._authenticate
        if self.tls_context is not None:
            kwargs["tls_context"] = self.tls_context
            kwargs["require_starttls"] = self.require_starttls
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                      ssl_context=self.ssl_context, server_hostname="inbox.localhost",
                                      ready_timeout=10, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (the port is kept for :meth:`start`)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpInbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _record(self, mail: Mail) -> None:
        with self._lock:
            self._messages.append(mail)
            n = len(self._messages)
        if self.maildir is not None:
            self.maildir.mkdir(parents=True, exist_ok=True)
            (self.maildir / f"{n:05d}.eml").write_bytes(mail.raw)

    @property
    def messages(self) -> list[Mail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def main(argv: list[str] | None = None) -> int:
    """Run a RobotReceiver and an SmtpInbox until SIGTERM/SIGINT; print their addresses
    as one JSON line first (``{"robots": URL, "smtp": {"host", "port"}}``)."""
    import argparse
    import signal

    p = argparse.ArgumentParser(description="fake DingTalk/Feishu/WeCom/webhook + SMTP")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--smtp-port", type=int, default=0)
    p.add_argument("--smtp-user", action="append", default=[], metavar="USER:PASSWORD")
    p.add_argument("--maildir", type=Path)
    p.add_argument("--rates", action="store_true", help="enforce the platforms' rate limits")
    p.add_argument("--robot", action="append", default=[],
                   metavar="PLATFORM:TOKEN[:SECRET]", help="register a robot token")
    args = p.parse_args(argv)
    users = dict(u.split(":", 1) for u in args.smtp_user)
    inbox = SmtpInbox(port=args.smtp_port, users=users, maildir=args.maildir).start()
    robots = RobotReceiver(port=args.port, rates=args.rates).start()
    robots.inbox = inbox
    urls = {}
    for spec in args.robot:
        platform, token, *secret = spec.split(":", 2)
        urls[f"{platform}:{token}"] = robots.url_for(platform, token, secret[0] if secret else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"robots": robots.base_url, "urls": urls,
                      "smtp": {"host": inbox.host, "port": inbox.port}}), flush=True)
    stop.wait()
    robots.stop()
    inbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
