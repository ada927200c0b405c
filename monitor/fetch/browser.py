"""Pages rendered by a browser (``render = "browser"``): one shared headless Chromium per
process (Debian's, at ``[fetch] browser``; never downloaded), driven by Playwright's async
API, started on the first such feed and closed with the :class:`~.client.Fetcher`.

Chromium never reaches the network itself. Every request a page makes (its document,
scripts, XHR and ``fetch()``) is routed to the Fetcher, which applies the feed's
private-network policy (pinned to the addresses it checked, redirects included), size and
time caps, exactly as for an HTTP feed; a request the policy refuses is aborted, as is
anything that is not http(s), images, media and fonts (no text in them), and every
WebSocket. As a second wall Chromium runs with a dead proxy for everything, loopback
included, and a resolver that resolves nothing, so a request that escaped the routes
could still go nowhere.

Limits: ``[fetch] browser_timeout`` for one page, from navigation to the rendered HTML, and
``[fetch] browser_concurrency`` pages at once. The result is the rendered HTML as UTF-8.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from ..config import FeedConfig, FetchConfig
from ..errors import FetchError
from ..models import FetchResult
from ..redact import redact_text, redact_url

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright, Route, WebSocketRoute

log = logging.getLogger(__name__)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-domain-reliability", "--no-pings",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        # the second wall: whatever is not routed to our fetcher goes to a closed port and
        # resolves no name
        "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND"]
MISSING = "需要浏览器渲染，但本机没有 Chromium（apt-get install chromium，或在 [fetch] browser 指定路径）"
NO_PLAYWRIGHT = ("需要浏览器渲染，但没有安装 Playwright（pip install playwright；浏览器用 Debian 的 "
                 "chromium，不要运行 playwright install）")
_SKIPPED = frozenset({"image", "media", "font"})
# request headers of the page passed on (the fetcher sets its own user agent and encodings)
_FORWARD = frozenset({"accept", "accept-language", "content-type", "referer", "origin",
                      "x-requested-with", "cookie"})
# response headers that describe the bytes on the wire, not the decoded body we hand over
_HOP = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection",
                  "keep-alive"})
_IDLE = 5.0   # after "load": at most this long for the page's own requests to settle
_UTF8_META = """() => {
  for (const m of document.querySelectorAll('meta[charset]')) m.setAttribute('charset', 'utf-8');
  for (const m of document.querySelectorAll('meta[http-equiv]')) {
    if (m.getAttribute('http-equiv').toLowerCase() === 'content-type')
      m.setAttribute('content', 'text/html; charset=utf-8');
  }
}"""


class ResourceFetcher(Protocol):
    def __call__(self, feed: FeedConfig, url: str, *, method: str = "GET",
                 content: bytes | None = None,
                 headers: Mapping[str, str] | None = None) -> Awaitable[FetchResult]: ...


class BrowserRenderer:
    """The shared browser: ``render(feed, url)`` -> the rendered page as a FetchResult."""

    def __init__(self, settings: FetchConfig, fetch: ResourceFetcher) -> None:
        self.settings = settings
        self._fetch = fetch
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None

    async def render(self, feed: FeedConfig, url: str) -> FetchResult:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.browser_concurrency)
        async with self._slots:  # waiting for a slot, or the launch, is not the page's time
            browser = await self._started()
            return await self._render(browser, feed, url)

    async def aclose(self) -> None:
        if self._lock is None:
            await self._stop()
            return
        async with self._lock:
            await self._stop()

    async def _started(self) -> Browser:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._stop()  # it crashed: start a new one
            self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        path = Path(self.settings.browser)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FetchError("browser", MISSING)
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            raise FetchError("browser", NO_PLAYWRIGHT) from None
        try:
            self._playwright = await async_playwright().start()
            browser = await self._playwright.chromium.launch(
                executable_path=str(path), args=ARGS, headless=True,
                timeout=max(self.settings.browser_timeout, 30.0) * 1000)
        except Exception as e:  # a broken binary, a missing library, no memory
            await self._stop()
            raise FetchError("browser", f"Chromium 无法启动（{path}）：{_short(e)}") from None
        log.info("浏览器已启动 path=%s version=%s", path, browser.version)
        return browser

    async def _stop(self) -> None:
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()

    async def _render(self, browser: Browser, feed: FeedConfig, url: str) -> FetchResult:
        limit = self.settings.browser_timeout
        run = _PageRun(feed, url, self._fetch)
        context = await browser.new_context(service_workers="block", accept_downloads=False,
                                            locale="zh-CN", timezone_id=feed.timezone)
        try:
            await context.route("**/*", run.route)
            await context.route_web_socket("**/*", _refuse_socket)
            page = await context.new_page()
            try:
                async with asyncio.timeout(limit):
                    html = await run.load(page, limit)
            except TimeoutError:
                raise FetchError("timeout", f"浏览器渲染超时：{limit:g} 秒内页面没有加载完成"
                                            f"（{redact_url(url)}）") from None
        finally:
            run.cancel()
            with contextlib.suppress(Exception):
                await context.close()
        body = html.encode("utf-8")
        cap = feed.max_bytes or self.settings.max_bytes
        if len(body) > cap:
            raise FetchError("too_large", f"渲染后的页面 {len(body)} 字节，超过上限 {cap} 字节")
        if run.blocked:
            log.info("渲染页面时拦截了请求 feed=%s count=%d first=%s", feed.name,
                     len(run.blocked), redact_url(run.blocked[0]))
        return FetchResult(url=run.final_url or url, status=200, content=body,
                           headers={"content-type": "text/html; charset=utf-8"})


class _PageRun:
    """One page being rendered: its route handler and what the handler saw."""

    def __init__(self, feed: FeedConfig, url: str, fetch: ResourceFetcher) -> None:
        self.feed = feed
        self.url = url
        self.fetch = fetch
        self.error: FetchError | None = None    # of the page's own document
        self.final_url: str | None = None
        self.blocked: list[str] = []
        self.tasks: set[asyncio.Task[Any]] = set()

    async def load(self, page: Page, limit: float) -> str:
        from playwright.async_api import Error as PlaywrightError

        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            await page.goto(self.url, wait_until="load", timeout=(limit + 5) * 1000)
        except PlaywrightError as e:
            if self.error is not None:
                raise self.error from None
            raise FetchError("browser", f"浏览器无法打开页面（{redact_url(self.url)}）："
                                        f"{_short(e)}") from None
        if self.error is not None:
            raise self.error
        idle = min(_IDLE, deadline - loop.time() - 1.0)
        if idle > 0:
            with contextlib.suppress(PlaywrightError):  # still polling: take it as it is
                await page.wait_for_load_state("networkidle", timeout=idle * 1000)
        await page.evaluate(_UTF8_META)
        return await page.content()

    def cancel(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def route(self, route: Route) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await self._route(route)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the page closed under it, usually
            log.debug("浏览器请求处理中断 url=%s error=%s", redact_url(route.request.url),
                      _short(e))
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def _route(self, route: Route) -> None:
        request = route.request
        main = request.is_navigation_request() and request.frame.parent_frame is None
        if urlsplit(request.url).scheme not in ("http", "https"):
            if main:
                self.error = FetchError("blocked", f"不支持的协议，已拒绝：{redact_url(request.url)}")
            await route.abort("blockedbyclient")
            return
        if request.resource_type in _SKIPPED and not main:
            await route.abort("blockedbyclient")
            return
        headers = {k: v for k, v in (await request.all_headers()).items() if k in _FORWARD}
        try:
            result = await self.fetch(self.feed, request.url, method=request.method,
                                      content=request.post_data_buffer, headers=headers)
        except FetchError as e:
            await self._failed(route, e, main)
            return
        if main:
            self.error, self.final_url = None, result.url
        await route.fulfill(status=result.status, body=result.content,
                            headers={k: v for k, v in result.headers.items() if k not in _HOP})

    async def _failed(self, route: Route, e: FetchError, main: bool) -> None:
        url = route.request.url
        if main:
            self.error = e
        elif e.kind == "blocked":
            self.blocked.append(url)
        log.debug("浏览器请求失败 feed=%s url=%s kind=%s error=%s", self.feed.name,
                  redact_url(url), e.kind, e)
        if e.kind == "http_status" and e.status and not main:
            await route.fulfill(status=e.status, body=b"")  # the page's script sees the status
        else:
            await route.abort("blockedbyclient" if e.kind == "blocked" else "failed")


async def _refuse_socket(ws: WebSocketRoute) -> None:
    await ws.close(code=1008, reason="blocked")


def _short(e: BaseException) -> str:
    """The first line of a (Playwright) error, URLs redacted."""
    text = (str(e) or type(e).__name__).strip().splitlines()
    return redact_text(text[0] if text else type(e).__name__)[:300]
