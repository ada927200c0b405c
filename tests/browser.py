"""Browser tests' harness: the console served for real (uvicorn on 127.0.0.1, a free port,
in its own asyncio loop on a background thread) over the seeded database of
tests/webkit.py, driven by Debian's Chromium (``/usr/bin/chromium``) through Playwright.

- No browser is ever downloaded (never ``playwright install``): without /usr/bin/chromium
  every browser test is skipped with :data:`SKIP_REASON`, and tests/conftest.py repeats
  it loudly in the terminal summary.
- One browser per test module (:func:`chromium`), one console, one seeded database and
  one browser context per test (:func:`served`, :func:`phone`, :func:`desktop`). Not one
  per session: while Playwright's sync API is started it marks the thread as running its
  asyncio loop, so every later test in the process calling ``asyncio.run`` (the daemon's)
  would fail. A module's tests run together, so the browser starts once per module (about
  0.6 s); don't call ``asyncio.run`` in a browser test module.
- Every :class:`Tab` records console errors, uncaught page errors, CSP violations and
  failed subresources, and fails its test (at teardown) if there were any.
- The browser reaches 127.0.0.1 only: every other request is aborted by a route and
  recorded, and the test fails if one was attempted; Chromium also gets a dead proxy for
  anything not on loopback and its background services switched off.

In a test module, take the fixtures as ``chromium = browser.chromium`` and so on (as
``web = webkit.web``), then write ``def test_x(phone: Tab) -> None``. Helpers for the
steps tests share: :func:`log_in`, :func:`submit`, :func:`tap_button`,
:func:`assert_fits`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    sync_playwright,
)

from monitor.alerts.links import incident_url
from monitor.web.server import Console

from webkit import PASSWORD, Web

# Debian's package; YUQING_TEST_CHROMIUM names another binary (a missing one shows the skip)
CHROMIUM = Path(os.environ.get("YUQING_TEST_CHROMIUM", "/usr/bin/chromium"))
SKIP_REASON = (f"browser tests skipped: Debian's Chromium is not installed at {CHROMIUM} "
               "(apt-get install chromium); no browser is ever downloaded")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-domain-reliability", "--no-pings", "--metrics-recording-only",
        # a second wall: whatever the page or Chromium itself asks for off loopback goes to
        # a closed port (loopback always bypasses the proxy)
        "--proxy-server=http://127.0.0.1:9"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 3, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN",
           "timezone_id": "Asia/Shanghai"}
LOCAL_HOSTS = {"127.0.0.1"}
TIMEOUT_MS = 10_000
# a listener that reports CSP violations as console errors (Chromium logs them too; this
# also catches those it only reports as events)
CSP_PROBE = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});"""


# ---- the console, served for real ---------------------------------------------------------

class Served:
    """The real console (``monitor.web.server.Console``: uvicorn, the app, its own store
    connection) on 127.0.0.1 and a free port, in a thread with its own event loop, over
    ``web``'s seeded database and clock (``web.advance`` moves the console's time too)."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self.base = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)

    def start(self) -> Served:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the console did not start within 15 s")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            console = Console(self.web.config, clock=lambda: self.web.now,
                              config_path=self.web.cfg_path, listen="127.0.0.1:0")
            await console.start()
        except BaseException as e:  # reported by start()
            self._error = e
            self._ready.set()
            return
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.base = console.address
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await console.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the console did not stop within 10 s"

    def url(self, path: str) -> str:
        return self.base + path

    def link(self, incident: int, recipient: str) -> str:
        """The signed action link an alert to ``recipient`` carries, on this server."""
        url = incident_url(self.web.config, incident, recipient, now=self.web.now)
        assert url is not None, "the console is off or has no base_url"
        parts = urlsplit(url)
        return self.url(f"{parts.path}?{parts.query}")


# ---- a browser tab that records what went wrong ---------------------------------------------

class Tab:
    """One page in a fresh browser context, with what went wrong on it."""

    def __init__(self, context: BrowserContext, served: Served) -> None:
        self.context = context
        self.served = served
        self.errors: list[str] = []           # console errors, page errors, CSP violations
        self.outside: list[str] = []          # requests that tried to leave 127.0.0.1
        self.failed: list[str] = []           # subresources that failed (4xx/5xx, network)
        self.dialogs: list[str] = []          # confirm()/alert() texts (accepted)
        self.documents: dict[str, int] = {}   # page URL -> status, as the browser got it
        self.downloads: list[str] = []        # URLs whose answer was a file to save
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(CSP_PROBE)
        context.route("**/*", self._route)
        self.page: Page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._request_failed)
        self.page.on("dialog", self._dialog)
        self.page.on("download", lambda d: self.downloads.append(d.url))

    def _route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort("blockedbyclient")

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        text = msg.text
        # the browser logs every 4xx/5xx response; a page's own status is the test's to
        # check (a 401 for a wrong password is right), a subresource's is recorded below
        if text.startswith("Failed to load resource: the server responded with a status"):
            return
        self.errors.append(f"console error: {text} ({msg.location.get('url', '')})")

    def _response(self, response: Response) -> None:
        request = response.request
        if request.resource_type == "document":
            self.documents[response.url] = response.status
        elif response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.failed.append(f"{response.status} {request.resource_type} {response.url}")

    def _request_failed(self, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            self.failed.append(f"failed {request.resource_type} {request.url}: "
                               f"{request.failure}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()                 # data-confirm buttons: the user says yes

    def goto(self, path: str) -> Response:
        """Open a path of the console (or a full URL) and return the page's response."""
        response = self.page.goto(path if "://" in path else self.served.url(path))
        assert response is not None
        return response

    def problems(self) -> list[str]:
        # a form whose answer is an attachment ends its navigation as "aborted": the
        # download is the result, not a failure
        saved = {f"failed document {u}: net::ERR_ABORTED" for u in self.downloads}
        return ([*self.errors, *(f for f in self.failed if f not in saved)]
                + [f"request off 127.0.0.1 (aborted): {u}" for u in self.outside])

    def close(self) -> None:
        self.context.close()


def open_tab(browser: Browser, served: Served, options: dict[str, Any]) -> Iterator[Tab]:
    tab = Tab(browser.new_context(**options), served)
    try:
        yield tab
        problems = tab.problems()
    finally:
        tab.close()
    if problems:
        pytest.fail("the browser saw problems on the pages visited:\n  "
                    + "\n  ".join(problems), pytrace=False)


# ---- steps tests share -----------------------------------------------------------------------

def submit(tab: Tab, form: str | Locator, fields: dict[str, str | bool] | None = None, *,
           button: str | None = None, tap: bool = False) -> Response:
    """Fill a form's fields by name (inputs, textareas, selects by value or label,
    checkboxes by bool), press its submit button (the one whose text contains ``button``,
    else the first; tapped on a phone with ``tap``) and return the response of the page it
    leads to (after any 303). ``form`` is a selector or a locator."""
    scope = tab.page.locator(form) if isinstance(form, str) else form
    for name, value in (fields or {}).items():
        field = scope.locator(f'[name="{name}"]').first
        tag = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if isinstance(value, bool):
            field.set_checked(value)
        elif tag.startswith("select"):
            try:
                field.select_option(value=value, timeout=1000)
            except Exception:
                field.select_option(label=value)
        else:
            field.fill(value)
    buttons = scope.locator('button[type="submit"], button:not([type]), input[type="submit"]')
    target = buttons.filter(has_text=button).first if button else buttons.first
    with tab.page.expect_navigation() as nav:
        if tap:
            target.tap()
        else:
            target.click()
    response = nav.value
    assert response is not None
    return response


def tap_button(tab: Tab, text: str) -> Response:
    """Tap the submit button showing ``text`` (a phone) and return the page it leads to."""
    button = tab.page.get_by_role("button", name=text)
    return submit(tab, button.locator("xpath=ancestor::form[1]"), button=text, tap=True)


def log_in(tab: Tab, name: str, password: str = PASSWORD, *, path: str = "/login") -> Response:
    """Log in through the login form (``path`` may be ``/login?next=…``) and return the
    page it leads to."""
    if not tab.page.url.startswith(tab.served.url(path)):
        tab.goto(path)
    return submit(tab, 'form[action="/login"]', {"name": name, "password": password},
                  button="登录")


def assert_fits(tab: Tab, width: int = 390) -> None:
    """The page scrolls only vertically at ``width`` pixels: no element sticks out."""
    scroll = tab.page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        wide = tab.page.evaluate(
            """w => [...document.querySelectorAll('body *')]
                 .filter(e => e.getBoundingClientRect().right > w + 0.5
                   || (e.scrollWidth > e.clientWidth + 1
                       && getComputedStyle(e).overflowX === 'visible'))
                 .slice(-5).map(e => e.tagName.toLowerCase() + '.' + e.className)""", width)
        pytest.fail(f"{tab.page.url}: {scroll} px wide at a {width} px viewport; "
                    f"too wide: {wide}", pytrace=False)


# ---- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, one per test module (see above); skipped (loudly,
    see tests/conftest.py) when it is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(SKIP_REASON)
    pw: Playwright = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                     headless=True, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The console for real on the seeded database (``served.web`` is webkit's ``Web``:
    its store, config and clock). Its base_url is plain http, so cookies work on
    127.0.0.1 without TLS."""
    web = Web(tmp_path, monkeypatch, base_url="http://127.0.0.1")
    server = Served(web).start()
    try:
        yield server
    finally:
        server.stop()
        web.close()


@pytest.fixture
def phone(chromium: Browser, served: Served) -> Iterator[Tab]:
    """A phone-sized tab (390×844, touch, 3× pixels) on the served console."""
    yield from open_tab(chromium, served, PHONE)


@pytest.fixture
def desktop(chromium: Browser, served: Served) -> Iterator[Tab]:
    """A desktop tab (1280×800) on the served console."""
    yield from open_tab(chromium, served, DESKTOP)


__all__ = ["ARGS", "CHROMIUM", "PASSWORD", "SKIP_REASON", "Served", "Tab", "assert_fits",
           "chromium", "desktop", "log_in", "phone", "served", "submit", "tap_button"]
