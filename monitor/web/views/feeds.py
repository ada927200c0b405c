"""Console pages: feeds. Everyone who may read sees every configured feed with its state
(正常/异常/停用/未抓取, failures in a row, the last error, last success, next check, last new
item, items); admins add, edit, disable and enable feeds.

A change is made in the config file itself with tomlkit, so its comments and layout stay;
the new text is validated as a whole config (``parse_config``) before anything is written,
and written atomically. URLs and errors are always shown redacted; a redacted URL sent back
unchanged keeps the secret the file holds, and one still carrying ``***`` otherwise is
refused. The running daemon reads feeds when it starts, so a change takes effect after a
restart; the console's own view (``ctx.config``) is replaced at once."""

from __future__ import annotations

import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tomlkit.toml_document import TOMLDocument

from ...config import Config, parse_config
from ...config_errors import toml_error
from ...durations import format_duration
from ...errors import ConfigError, NotFoundError
from ...models import FETCH_ERROR_NAMES, FeedState
from ...redact import MASK, redact_text, redact_url
from ..context import blocking, context
from ..render import page
from ..security import require, user_of
from . import write_atomic

FLASH = "feeds_flash"
TAKES_EFFECT = ("已写入配置文件；运行中的守护进程会在下一次自检时（几秒内）载入订阅源的改动，"
                "无需重启。")
_WRITING = threading.Lock()        # one read-modify-write of the config file at a time


# ---- the list --------------------------------------------------------------------------

@dataclass
class FeedRow:
    name: str
    url: str                      # redacted
    enabled: bool
    interval: str
    state: str                    # 正常 / 异常 / 停用 / 未抓取
    css: str
    s: FeedState
    error: str | None = None      # redacted; only while the feed is failing
    error_kind: str | None = None


def _rows(config: Config, states: list[FeedState]) -> list[FeedRow]:
    known = {s.name: s for s in states}
    rows = []
    for feed in config.feeds:
        s = known.get(feed.name) or FeedState(name=feed.name, url=feed.url)
        failing = s.consecutive_failures > 0 and s.last_error is not None
        error = redact_text(s.last_error) if failing and s.last_error else None
        kind = FETCH_ERROR_NAMES.get(s.last_error_kind or "", s.last_error_kind) if failing else None
        s.last_error = s.url = ""                      # never raw text into a template
        if not feed.enabled:
            state, css = "停用", "off"
        elif s.ok is None:
            state, css = "未抓取", "new"
        else:
            state, css = ("正常", "ok") if s.ok else ("异常", "bad")
        rows.append(FeedRow(feed.name, redact_url(feed.url), feed.enabled,
                            format_duration(feed.interval), state, css, s, error, kind))
    return rows


@require("read")
async def feed_list(request: Request) -> Response:
    ctx = context(request)
    config = ctx.config
    states = await blocking(ctx.store.feeds_status, [f.name for f in config.feeds])
    return page(request, "feeds/list.html", title="订阅源", rows=_rows(config, states),
                flash=request.session.pop(FLASH, None), writable=ctx.config_path is not None)


# ---- the form --------------------------------------------------------------------------

@dataclass
class FeedForm:
    name: str = ""
    url: str = ""
    interval: str = "15m"
    enabled: bool = True
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, form: FormData) -> FeedForm:
        return cls(name=str(form.get("name", "")).strip(), url=str(form.get("url", "")).strip(),
                   interval=str(form.get("interval", "")).strip(),
                   enabled=form.get("enabled") is not None)


def _form_page(request: Request, form: FeedForm, *, original: str | None,
               status: int = 200) -> Response:
    title = "添加订阅源" if original is None else f"修改订阅源：{original}"
    return page(request, "feeds/form.html", status=status, title=title, form=form,
                original=original)


LABELS = {"name": "名称", "url": "地址", "interval": "抓取间隔", "enabled": "启用"}
_FEED_KEY = re.compile(r"^feeds\[\d+\]\.(\w+)")


def explain(e: ConfigError) -> str:
    """A config error as the form shows it: the form's field when it is about a feed's
    field (the line number would be of a text never written), else the config key."""
    m = _FEED_KEY.match(e.key or "")
    field = m.group(1) if m else e.key
    where = LABELS.get(field or "") or (f"配置项 {e.key}" if e.key else None)
    text = f"{where}：{e.message}" if where else e.message
    if e.hint:
        text += f"（{e.hint}）"
    return redact_text(text)


def _refused(request: Request, form: FeedForm, e: ConfigError, original: str | None
             ) -> Response:
    form.errors = [explain(e)]
    return _form_page(request, form, original=original, status=400)


# ---- the config file -------------------------------------------------------------------

def _config_path(request: Request) -> Path:
    path = context(request).config_path
    if path is None:
        raise ConfigError("控制台不知道配置文件的位置，无法修改订阅源（请用 --config 启动）")
    return path


def _read(path: Path) -> TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise ConfigError(f"无法读取配置文件：{e.strerror}", file=str(path)) from None
    except tomlkit.exceptions.ParseError as e:
        raise ConfigError(f"配置文件不是有效的 TOML：{e}", file=str(path)) from None


def _feeds(doc: TOMLDocument) -> Any:
    """The document's ``feeds`` (an array of tables, or an inline array), made if absent."""
    feeds = doc.get("feeds")
    if feeds is None:
        feeds = tomlkit.aot()
        doc["feeds"] = feeds
    return feeds


def _table(doc: TOMLDocument, name: str) -> Any:
    for table in doc.get("feeds") or []:
        if table.get("name") == name:
            return table
    raise NotFoundError(f"没有名为“{name}”的订阅源")


def _save(request: Request, path: Path, doc: TOMLDocument) -> Config:
    """Validate the edited document as the whole config, then write it atomically and
    make it the console's config; raises :class:`ConfigError` (nothing written)."""
    text = tomlkit.dumps(doc)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise toml_error(str(e), str(path), text) from None
    config = parse_config(data, source=path, text=text)
    write_atomic(path, text)
    context(request).config = config
    return config


def _url(sent: str, original: str | None) -> str:
    """The URL to store: the original when its redacted form came back unchanged."""
    if original is not None and sent == redact_url(original):
        return original
    if MASK in sent:
        raise ConfigError("地址中含有已隐去的密钥（***）：请填写完整地址，或保持原样不改"
                          "（原有的密钥会保留）", key="url")
    return sent


def _apply(table: Any, form: FeedForm, *, url: str) -> list[str]:
    """Set the form's fields on a feed's table, touching only what changed (so the
    comments on the other lines stay); returns the names of the fields changed."""
    wanted: dict[str, Any] = {"name": form.name, "url": url}
    if form.interval:
        wanted["interval"] = form.interval
    changed = [k for k, v in wanted.items() if table.get(k) != v]
    for key in changed:
        table[key] = wanted[key]
    if not form.interval and "interval" in table:
        del table["interval"]
        changed.append("interval")
    if table.get("enabled", True) != form.enabled:
        table["enabled"] = form.enabled
        changed.append("enabled")
    return changed


def _add(request: Request, form: FeedForm) -> Config:
    path = _config_path(request)
    with _WRITING:
        doc = _read(path)
        feeds = _feeds(doc)
        table: Any = (tomlkit.table() if isinstance(feeds, tomlkit.items.AoT)
                      else tomlkit.inline_table())
        _apply(table, form, url=_url(form.url, None))
        if isinstance(feeds, tomlkit.items.AoT):
            table.add(tomlkit.nl())
        feeds.append(table)
        return _save(request, path, doc)


def _edit(request: Request, name: str, form: FeedForm) -> list[str]:
    path = _config_path(request)
    with _WRITING:
        doc = _read(path)
        table = _table(doc, name)
        changed = _apply(table, form, url=_url(form.url, str(table.get("url", ""))))
        if changed:
            _save(request, path, doc)
        return changed


def _switch(request: Request, name: str, enabled: bool) -> bool:
    """Enable or disable a feed; False when it already was."""
    path = _config_path(request)
    with _WRITING:
        doc = _read(path)
        table = _table(doc, name)
        if table.get("enabled", True) == enabled:
            return False
        table["enabled"] = enabled
        _save(request, path, doc)
        return True


def _log(request: Request, kind: str, name: str, data: dict[str, Any]) -> None:
    ctx = context(request)
    ctx.store.log_event(kind, name, actor=user_of(request).name, data=data, now=ctx.now())


def _done(request: Request, text: str) -> Response:
    request.session[FLASH] = text
    return RedirectResponse("/feeds", 303)


# ---- admin endpoints -------------------------------------------------------------------

@require("admin")
async def add_form(request: Request) -> Response:
    return _form_page(request, FeedForm(), original=None)


@require("admin")
async def add(request: Request) -> Response:
    form = FeedForm.of(await request.form())
    try:
        config = await blocking(_add, request, form)
    except ConfigError as e:
        return _refused(request, form, e, None)
    feed = config.feed(form.name)
    assert feed is not None
    await blocking(_log, request, "feed.added", feed.name,
                   {"url": redact_url(feed.url), "interval": format_duration(feed.interval),
                    "enabled": feed.enabled})
    return _done(request, f"已添加订阅源“{feed.name}”：{TAKES_EFFECT}")


def _current(request: Request, name: str) -> FeedForm:
    feed = context(request).config.feed(name)
    if feed is None:
        raise NotFoundError(f"没有名为“{name}”的订阅源")
    return FeedForm(name=feed.name, url=redact_url(feed.url),
                    interval=format_duration(feed.interval), enabled=feed.enabled)


@require("admin")
async def edit_form(request: Request) -> Response:
    name = request.path_params["name"]
    return _form_page(request, _current(request, name), original=name)


@require("admin")
async def edit(request: Request) -> Response:
    name = request.path_params["name"]
    form = FeedForm.of(await request.form())
    try:
        changed = await blocking(_edit, request, name, form)
    except ConfigError as e:
        return _refused(request, form, e, name)
    if not changed:
        return _done(request, f"订阅源“{name}”没有改动。")
    data: dict[str, Any] = {"changed": changed}
    if form.name != name:
        data["renamed_from"] = name
    if "url" in changed:
        data["url"] = redact_url(form.url)
    await blocking(_log, request, "feed.edited", form.name, data)
    return _done(request, f"已修改订阅源“{form.name}”：{TAKES_EFFECT}")


def _switcher(enabled: bool) -> Any:
    kind, verb = ("feed.enabled", "启用") if enabled else ("feed.disabled", "停用")

    @require("admin")
    async def switch(request: Request) -> Response:
        name = request.path_params["name"]
        if not await blocking(_switch, request, name, enabled):
            return _done(request, f"订阅源“{name}”本来就已{verb}。")
        await blocking(_log, request, kind, name, {"enabled": enabled})
        return _done(request, f"已{verb}订阅源“{name}”：{TAKES_EFFECT}")

    switch.__name__ = f"{'enable' if enabled else 'disable'}_feed"
    return switch


routes = [
    Route("/feeds", feed_list, methods=["GET"]),
    Route("/feeds/new", add_form, methods=["GET"]),
    Route("/feeds/new", add, methods=["POST"]),
    Route("/feeds/{name:path}/edit", edit_form, methods=["GET"]),
    Route("/feeds/{name:path}/edit", edit, methods=["POST"]),
    Route("/feeds/{name:path}/disable", _switcher(False), methods=["POST"]),
    Route("/feeds/{name:path}/enable", _switcher(True), methods=["POST"]),
]
