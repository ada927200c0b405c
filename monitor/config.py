"""Configuration: load ``monitor.toml``, validate it (pydantic), resolve paths, read secrets
from the environment, and dump the effective config with secrets redacted.

Relative paths in the file resolve against the directory that holds the file. Secrets are
never written in the file: keys ending in ``_env`` name the environment variable to read.

What is secret is declared on the schema, not guessed from key names: a field annotated
with :class:`Secret` (``SecretURL``, ``SecretHeaders``, ``SecretEnv``...) says how its value
is shown to people, and :func:`shown` / :func:`dump_config` redact by that declaration.
The values behind declared secrets are registered with :mod:`monitor.redact` when the
config loads, so they are masked in every log line and message as well.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import tomli_w
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from .config_errors import KeyedValueError, KeyedValueErrors, to_config_errors, toml_error
from .durations import format_duration, parse_duration
from .errors import ConfigError
from .models import LEVELS, LevelCode
from .redact import MASK, hook_secrets, redact_hook, redact_text, redact_url, register_secret
from .timefmt import DEFAULT_TIMEZONE, set_display_zone

DEFAULT_CONFIG = Path("config/monitor.toml")


@dataclass(frozen=True)
class Secret:
    """Declares a config field secret, and how its value is shown to people: ``mask``
    (``***``), ``url`` (the secrets inside the URL, see :func:`~monitor.redact.redact_url`),
    ``hook`` (a webhook or robot URL: its token may be any path segment or query value,
    see :func:`~monitor.redact.redact_hook`),
    ``headers`` (every request header but a few harmless ones), ``env`` (the field names an
    environment variable: the name is shown, the value it holds is a secret)."""

    how: Literal["mask", "url", "hook", "headers", "env"]


SecretStr = Annotated[str, Secret("mask")]
SecretURL = Annotated[str, Secret("url")]
SecretHook = Annotated[str, Secret("hook")]
SecretHeaders = Annotated[dict[str, str], Secret("headers")]
SecretEnv = Annotated[str, Secret("env")]

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


def check_http_url(value: str) -> str:
    """An http(s) URL with a host and, if given, a port from 1 to 65535."""
    from urllib.parse import urlsplit

    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("地址应以 http:// 或 https:// 开头")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError("地址中的端口无效：应为 1 到 65535 之间的整数") from None
    if not parts.hostname:
        raise ValueError("地址中缺少主机名")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"地址中的端口 {port} 无效：应为 1 到 65535 之间的整数")
    return value


def check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except Exception as e:
        raise ValueError(f"未知的时区 {value!r}（例如 Asia/Shanghai、UTC）") from e
    return value


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as e:
        raise ValueError(f"不是有效的网段 {value!r}，应写成 10.0.0.0/8 这样的 CIDR") from e
    return value


Cidr = Annotated[str, BeforeValidator(_check_cidr)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


MIN_RETENTION = 86400.0  # a retention shorter than a day is a slip ("6m" is six minutes)


class StorageConfig(_Section):
    path: Path
    busy_timeout: Duration = 10.0
    # item bodies older than this are emptied (titles, links, matches, incidents and the
    # audit log stay); None keeps them forever
    retain_bodies: Duration | None = None

    @field_validator("retain_bodies")
    @classmethod
    def _retention(cls, v: float | None) -> float | None:
        if v is not None and v < MIN_RETENTION:
            raise ValueError("正文保留期至少 1 天（m 是分钟不是月：半年写 180d，两年写 2y 或 730d）")
        return v


class RulesConfig(_Section):
    dir: Path = Path("rules")
    reload_interval: Duration = 5.0
    load_timeout: Duration = Field(default=60.0, gt=0)  # a load taking longer is abandoned
    # items re-scored into incidents alert only when dated within this (older: no alert)
    rescore_alert_within: Duration = Field(default=86400.0, ge=0)
    # after a hot reload, re-score the items of this recent window (None: off)
    rescore_after_reload: Duration | None = None


class ToneConfig(_Section):
    enabled: StrictBool = True
    # the unit's retrained model (``yuqing tone train`` writes it); None: tone-model.npz
    # beside the database file. Used when the file exists, else the bundled model.
    model: Path | None = None

    def model_path(self, storage: StorageConfig) -> Path:
        return self.model if self.model is not None else storage.path.parent / "tone-model.npz"


class DisplayConfig(_Section):
    timezone: str = DEFAULT_TIMEZONE   # the zone of every time shown to people

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)


class DaemonConfig(_Section):
    health_interval: Duration = Field(default=10.0, gt=0)  # schedule and database-file checks
    overdue_intervals: StrictInt = Field(default=3, ge=2)   # unchecked this many intervals: re-arm


class LoggingConfig(_Section):
    dir: Path = Path("logs")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: StrictInt = Field(default=10 * 1024 * 1024, ge=1024)
    backups: StrictInt = Field(default=5, ge=0)


class FetchConfig(_Section):
    user_agent: str = "yuqing-monitor/0.1 (public-opinion monitor; feed reader)"
    timeout: Duration = 30.0           # total time cap per request, including the body
    connect_timeout: Duration = 10.0
    max_bytes: StrictInt = Field(default=15 * 1024 * 1024, ge=1024)
    max_redirects: StrictInt = Field(default=5, ge=0, le=20)
    concurrency: StrictInt = Field(default=20, ge=1)
    per_host_concurrency: StrictInt = Field(default=2, ge=1)
    proxy: SecretURL | None = None
    allow_private_networks: list[Cidr] = Field(default_factory=list)
    backoff_base: Duration = 60.0
    backoff_max: Duration = 6 * 3600.0
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    min_interval: Duration = 60.0      # never fetch a feed more often, whatever it says
    failure_alert_after: StrictInt = Field(default=3, ge=1)
    startup_spread: Duration = 30.0    # overdue feeds at start-up are spread over this window
    parse_workers: StrictInt = Field(default=0, ge=0, le=64)  # 0: one per core (at most 4)
    parse_timeout: Duration = Field(default=60.0, gt=0)  # a parse taking longer is abandoned
    # a self-hosted RSSHub: feed URLs written "rsshub:/weibo/user/123" expand to it
    rsshub: SecretURL | None = None
    rsshub_key_env: SecretEnv = "YUQING_RSSHUB_KEY"   # its ACCESS_KEY, if it has one
    browser: str = "/usr/bin/chromium"                # for feeds with render = "browser"
    browser_timeout: Duration = Field(default=30.0, gt=0)   # one rendered page at most
    browser_concurrency: StrictInt = Field(default=1, ge=1, le=4)

    @field_validator("rsshub")
    @classmethod
    def _rsshub(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)


Selector = str | list[str]     # "css:…", "xpath:…", a bare CSS selector, or a list tried in turn


class SelectConfig(_Section):
    """How items are picked out of an html page (CSS/XPath, parsel) or a json API
    (JMESPath): ``item`` selects one node per item, every other selector runs inside it."""

    item: Selector
    title: Selector
    link: Selector | None = None      # html: relative to <base href> or the page; json: the API
    date: Selector | None = None
    author: Selector | None = None
    body: Selector | None = None
    next: Selector | None = None      # html: the next page's link (followed up to max_pages)
    max_pages: StrictInt = Field(default=1, ge=1, le=20)
    link_template: str | None = None  # json: "https://…/detail?id={tid}" from the item's fields
    date_format: str | None = None    # strptime format tried first, e.g. "%Y年%m月%d日 %H:%M"


SELECTOR_KEYS = ("item", "title", "link", "date", "author", "body", "next")
# parsel's XPath namespaces (EXSLT regular expressions and sets), for checking XPath as it runs
_XPATH_NS = {"re": "http://exslt.org/regular-expressions", "set": "http://exslt.org/sets"}


def split_selector(spec: str) -> tuple[str, str]:
    """``("css" | "xpath", expression)`` of one html selector: a ``css:`` or ``xpath:``
    prefix says which, a bare selector is CSS."""
    s = spec.strip()
    for kind in ("css", "xpath"):
        if s[:len(kind) + 1].lower() == kind + ":":
            return kind, s[len(kind) + 1:].strip()
    return "css", s


def selector_list(spec: Selector | None) -> list[str]:
    """A selector key's alternatives, in the order they are tried."""
    if spec is None:
        return []
    return [spec] if isinstance(spec, str) else list(spec)


def _position(exc: Exception, *names: str) -> str:
    pos = next((getattr(exc, n) for n in names if isinstance(getattr(exc, n, None), int)), None)
    if pos is None and (m := re.search(r" at (\d+)>", str(exc))):
        pos = int(m.group(1))
    return f"（第 {pos + 1} 个字符附近）" if pos is not None else ""


def _html_selector_problem(spec: str) -> str | None:
    """Why one html selector cannot run (Chinese), or None: CSS through parsel's
    translator (with ``::text`` / ``::attr()``), XPath through lxml, both tried on an empty
    page so an unknown function or namespace prefix is caught too."""
    import parsel  # noqa: F401  (registers has-class() for XPath)
    from cssselect import SelectorError, SelectorSyntaxError
    from lxml import etree
    from parsel.csstranslator import HTMLTranslator

    kind, expr = split_selector(spec)
    if not expr:
        return f"{kind} 选择器为空"
    if kind == "css":
        try:
            xpath = HTMLTranslator().css_to_xpath(expr)
        except SelectorSyntaxError as e:
            return f"CSS 选择器 {expr!r} 写法有误{_position(e)}"
        except SelectorError:
            return (f"CSS 选择器 {expr!r} 用了不支持的伪类或伪元素"
                    "（取文字用 ::text，取属性用 ::attr(名称)）")
    else:
        xpath = expr
    try:
        etree.XPath(xpath, namespaces=_XPATH_NS)(etree.fromstring("<html/>"))
    except etree.XPathSyntaxError:
        return f"XPath 表达式 {expr!r} 写法有误"
    except etree.XPathError:
        return f"XPath 表达式 {expr!r} 无法执行（未知的函数或命名空间前缀）"
    return None


def _jmespath_problem(expr: str) -> str | None:
    import jmespath
    from jmespath.exceptions import JMESPathError

    if split_selector(expr)[1] != expr.strip():
        return f"type = \"json\" 的订阅源用 JMESPath 表达式，不用 css:/xpath: 前缀：{expr!r}"
    if not expr.strip():
        return "JMESPath 表达式为空"
    try:
        jmespath.compile(expr)
    except JMESPathError as e:
        return f"JMESPath 表达式 {expr!r} 写法有误{_position(e, 'lex_position', 'lexer_position')}"
    return None


def template_fields(template: str) -> list[str]:
    """The field names of a ``link_template``; ValueError (Chinese) unless every
    placeholder is a plain field name (no attribute or index access, no format spec)."""
    import string

    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        raise ValueError(f"link_template {template!r} 的花括号不成对（字面的花括号写成 {{{{ 或 }}}}）"
                         ) from None
    fields = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if not re.fullmatch(r"\w+", name) or spec or conversion:
            raise ValueError(f"link_template 中的 {{{name}}} 无效：只能写条目的字段名，如 {{tid}}")
        fields.append(name)
    return fields


def _check_selectors(feed_type: str, select: SelectConfig) -> None:
    """Every selector of an html or json feed compiles (KeyedValueError names the key)."""
    problem_of = _jmespath_problem if feed_type == "json" else _html_selector_problem
    for key in SELECTOR_KEYS:
        spec = getattr(select, key)
        for i, one in enumerate(selector_list(spec)):
            problem = problem_of(one)
            if problem:
                where = f"select.{key}" + (f"[{i}]" if isinstance(spec, list) else "")
                raise KeyedValueError(where, problem, relative=True)
    if select.link_template is not None:
        if feed_type != "json":
            raise KeyedValueError("select.link_template", "link_template 只用于 type = \"json\" 的订阅源",
                                  relative=True)
        try:
            template_fields(select.link_template)
        except ValueError as e:
            raise KeyedValueError("select.link_template", str(e), relative=True) from None


class DetailConfig(_Section):
    """Fetch each new item's own page for its full text (forum posts, news articles)."""

    content: Selector | None = None   # the body's selector; without it trafilatura finds it
    max_per_pass: StrictInt = Field(default=10, ge=1, le=200)
    max_bytes: StrictInt | None = Field(default=None, ge=1024)

    @field_validator("content")
    @classmethod
    def _content(cls, v: Selector | None) -> Selector | None:
        for one in selector_list(v):  # html selectors, whatever the feed's type
            if problem := _html_selector_problem(one):
                raise ValueError(problem)
        return v


class FeedConfig(_Section):
    name: str = Field(min_length=1)
    # A stable id: renaming the feed keeps its items and state (monitor.store.feeds)
    id: str | None = Field(default=None, min_length=1, max_length=64,
                           pattern=r"^[A-Za-z0-9_.-]+$")
    url: SecretURL
    # An OPML folder ("新闻" or nested "政务/区县"); kept by import and export
    group: str | None = Field(default=None, min_length=1, max_length=200)
    type: Literal["feed", "html", "json"] = "feed"   # feed: RSS, Atom, JSON Feed
    select: SelectConfig | None = None               # required for html and json
    render: Literal["http", "browser"] = "http"      # browser: Chromium runs the page's JS
    detail: DetailConfig | None = None
    interval: Duration = 900.0
    encoding: str | None = None
    enabled: StrictBool = True
    user_agent: str | None = None
    headers: SecretHeaders = Field(default_factory=dict)
    proxy: SecretURL | None = None
    allow_private: StrictBool | None = None
    timezone: str = DEFAULT_TIMEZONE
    max_bytes: StrictInt | None = Field(default=None, ge=1024)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("rsshub:"):          # expanded against [fetch] rsshub
            if not v.startswith("rsshub:/") or any(c.isspace() for c in v):
                raise ValueError("RSSHub 路由应写成 rsshub:/平台/路由，例如 rsshub:/weibo/user/1195230310")
            return v
        return check_http_url(v)

    @model_validator(mode="after")
    def _page_source(self) -> FeedConfig:
        if self.type != "feed" and self.select is None:
            raise ValueError(f"type = \"{self.type}\" 的订阅源需要 [feeds.select]（至少 item 和 title）")
        if self.type == "feed" and self.select is not None:
            raise ValueError("[feeds.select] 只用于 type = \"html\" 或 \"json\" 的订阅源")
        if self.render == "browser" and self.type != "html":
            raise ValueError("render = \"browser\" 只用于 type = \"html\" 的订阅源")
        if self.select is not None:
            _check_selectors(self.type, self.select)
        return self

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if any(c in key + value for c in "\r\n\0"):
                raise ValueError(f"请求头 {key!r} 中不能有换行或空字符")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str | None) -> str | None:
        if v is None:
            return v
        import codecs

        try:
            codecs.lookup(v)
        except LookupError as e:
            raise ValueError(f"未知的编码 {v!r}（可用 utf-8、gb18030、big5 等）") from e
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)


class SmtpConfig(_Section):
    host: str = "127.0.0.1"
    port: StrictInt = Field(default=25, ge=1, le=65535)
    sender: str = "yuqing@localhost"
    username: str | None = None
    password_env: SecretEnv = "YUQING_SMTP_PASSWORD"
    starttls: StrictBool = False
    ssl: StrictBool = False
    timeout: Duration = 30.0


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def check_clock(value: str) -> str:
    """A time of day ``HH:MM`` (24-hour)."""
    if not _CLOCK.match(value.strip()):
        raise ValueError(f"时刻 {value!r} 应写成 时:分（24 小时制），例如 09:00")
    return value.strip()


def check_hours(value: str) -> str:
    """A daily span ``HH:MM-HH:MM``; it may run past midnight (``22:00-07:00``)."""
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"时段 {value!r} 应写成 开始-结束，例如 22:00-07:00")
    check_clock(start)
    check_clock(end)
    if start.strip() == end.strip():
        raise ValueError(f"时段 {value!r} 的开始和结束相同")
    return f"{start.strip()}-{end.strip()}"


Clock = Annotated[str, BeforeValidator(check_clock)]
Hours = Annotated[str, BeforeValidator(check_hours)]


class RobotConfig(_Section):
    webhook: SecretHook
    secret_env: SecretEnv | None = None


class StaffConfig(_Section):
    name: str = Field(min_length=1)
    email: str | None = None
    phone: str | None = None
    webhook: SecretHook | None = None
    webhook_secret_env: SecretEnv | None = None
    wecom: RobotConfig | None = None
    dingtalk: RobotConfig | None = None
    feishu: RobotConfig | None = None
    quiet_hours: list[Hours] = Field(default_factory=list)  # blue/yellow wait until they end


class RouteConfig(_Section):
    categories: list[str] = Field(default_factory=lambda: ["*"])
    min_level: LevelCode = "yellow"
    notify: list[str] = Field(min_length=1)       # staff names or duty roster names
    escalate_after: Duration | None = None
    escalate_to: list[str] = Field(default_factory=list)
    remind_every: Duration | None = None          # default: [alerts] remind_every
    quiet_hours: list[Hours] = Field(default_factory=list)


class ShiftConfig(_Section):
    """Who is on duty: on the listed weekdays (1 = Monday ... 7 = Sunday), or on every day
    from ``start`` to ``end`` (inclusive, dates in the display time zone); a dated shift
    wins over a weekday shift."""

    staff: list[str] = Field(min_length=1)
    weekdays: list[Annotated[StrictInt, Field(ge=1, le=7)]] = Field(default_factory=list)
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _when(self) -> ShiftConfig:
        if bool(self.start) != bool(self.end):
            raise ValueError("start 和 end 要同时填写（日期范围，含首尾两天）")
        if self.start and self.end and self.end < self.start:
            raise ValueError("end 不能早于 start")
        if not self.weekdays and not self.start:
            raise ValueError("请填写 weekdays（1=周一 … 7=周日）或 start/end 日期范围")
        return self


class DutyConfig(_Section):
    """A duty roster (值班表): its name stands in a route's ``notify`` like a person."""

    name: str = Field(min_length=1)
    shifts: list[ShiftConfig] = Field(min_length=1)
    fallback: list[str] = Field(default_factory=list)   # when no shift covers the day


class SpreadStep(_Section):
    """Raise an incident one level when this many distinct sources carry it within
    ``within`` (each step raises once)."""

    sources: StrictInt = Field(ge=2)
    within: Duration = 7200.0


class IncidentsConfig(_Section):
    window: Duration = 72 * 3600.0          # reposts within this window join the incident
    similarity: float = Field(default=0.0, ge=0.0, le=1.0)  # 0: the built-in threshold
    spread: list[SpreadStep] = Field(default_factory=lambda: [SpreadStep(sources=5)])


class RateCap(_Section):
    count: StrictInt = Field(ge=1)
    per: Duration = 3600.0


def _ack_defaults() -> dict[str, float]:
    return {"red": 1800.0, "orange": 3600.0}


def _respond_defaults() -> dict[str, float]:
    # the 2016 State Council notice: major 政务舆情 within 24 hours, the others within 48
    return {"red": 86400.0, "orange": 86400.0, "yellow": 172800.0, "blue": 172800.0}


class AlertsConfig(_Section):
    admins: list[str] = Field(default_factory=list)  # staff told about system trouble
    tick: Duration = Field(default=30.0, gt=0)       # how often due work is queued and sent
    digest_levels: list[LevelCode] = Field(default_factory=lambda: ["info", "blue"])  # type: ignore[arg-type]
    digest_times: list[Clock] = Field(default_factory=lambda: ["09:00", "17:00"])
    remind_every: Duration = 1800.0                  # reminders until someone acknowledges
    quiet_hours: list[Hours] = Field(default_factory=list)   # for everyone
    rate_cap: RateCap | None = None                  # per recipient; the rest in a summary
    robot_per_minute: StrictInt = Field(default=20, ge=1)    # the robots' own cap is ~20/min
    retry_base: Duration = 30.0
    retry_max: Duration = 1800.0
    max_attempts: StrictInt = Field(default=8, ge=1)
    silent_after: float = Field(default=6.0, ge=2.0)  # a feed with no new item for this many
                                                      # times its usual gap is "silent"
    ack_within: dict[str, Duration] = Field(default_factory=_ack_defaults)
    respond_within: dict[str, Duration] = Field(default_factory=_respond_defaults)

    @field_validator("ack_within", "respond_within")
    @classmethod
    def _levels(cls, v: dict[str, float]) -> dict[str, float]:
        for key in v:
            if key not in LEVELS:
                raise ValueError(f"未知的级别 {key!r}（可用 blue、yellow、orange、red）")
        return v


class WebConfig(_Section):
    enabled: StrictBool = False
    listen: str = "127.0.0.1:8700"
    base_url: str | None = None
    secret_env: SecretEnv = "YUQING_WEB_SECRET"   # signs sessions and action links
    link_ttl: Duration = Field(default=7 * 86400.0, gt=0)    # an alert's link works so long
    session_ttl: Duration = Field(default=12 * 3600.0, gt=0)  # a login lasts so long

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @property
    def secure(self) -> bool:
        """Served over HTTPS (by base_url): cookies then carry ``Secure``."""
        return bool(self.base_url and self.base_url.startswith("https://"))

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("应写成 主机:端口，例如 127.0.0.1:8700")
        return v


class Config(_Section):
    storage: StorageConfig
    rules: RulesConfig = Field(default_factory=RulesConfig)
    tone: ToneConfig = Field(default_factory=ToneConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    display: DisplayConfig = Field(default_factory=DisplayConfig)
    feeds: list[FeedConfig] = Field(default_factory=list)
    smtp: SmtpConfig | None = None
    staff: list[StaffConfig] = Field(default_factory=list)
    duty: list[DutyConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    # Not part of the file: where it was loaded from.
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        problems: list[KeyedValueError] = []
        seen: set[str] = set()
        ids: set[str] = set()
        for i, feed in enumerate(self.feeds):
            if feed.name in seen:
                problems.append(KeyedValueError(f"feeds[{i}].name", f"订阅源名称 {feed.name!r} 重复，每个名称必须唯一"))
            seen.add(feed.name)
            if feed.id is not None and feed.id in ids:
                raise KeyedValueError(f"feeds[{i}].id", f"订阅源 id {feed.id!r} 重复，每个 id 必须唯一")
            if feed.id is not None:
                ids.add(feed.id)
            if feed.url.startswith("rsshub:") and not self.fetch.rsshub:
                problems.append(KeyedValueError(
                    f"feeds[{i}].url",
                    f"订阅源 {feed.name!r} 使用 RSSHub 路由，但没有配置 RSSHub 实例：请在 [fetch] 中设置 "
                    "rsshub = \"http://127.0.0.1:1200\"（自建 RSSHub 的地址）"))
        staff = set()
        for i, person in enumerate(self.staff):
            if person.name in staff:
                problems.append(KeyedValueError(f"staff[{i}].name", f"人员 {person.name!r} 重复，每个名称必须唯一"))
            staff.add(person.name)
        for name in self.alerts.admins:
            if name not in staff:
                problems.append(KeyedValueError("alerts.admins",
                                      f"未定义的人员 {name!r}：请先在 [[staff]] 中添加"))
        rosters = set()
        for i, duty in enumerate(self.duty):
            if duty.name in staff or duty.name in rosters:
                problems.append(KeyedValueError(f"duty[{i}].name",
                                      f"值班表名称 {duty.name!r} 与人员或其他值班表重名"))
            rosters.add(duty.name)
            for j, shift in enumerate(duty.shifts):
                for name in shift.staff:
                    if name not in staff:
                        problems.append(KeyedValueError(f"duty[{i}].shifts[{j}].staff",
                                              f"未定义的人员 {name!r}：请先在 [[staff]] 中添加"))
            for name in duty.fallback:
                if name not in staff:
                    problems.append(KeyedValueError(f"duty[{i}].fallback",
                                          f"未定义的人员 {name!r}：请先在 [[staff]] 中添加"))
        for i, route in enumerate(self.routes):
            for key in ("notify", "escalate_to"):
                for name in getattr(route, key):
                    if name not in staff and name not in rosters:
                        problems.append(KeyedValueError(
                            f"routes[{i}].{key}",
                            f"未定义的人员或值班表 {name!r}：请先在 [[staff]] 或 [[duty]] 中添加"))
            if route.escalate_to and route.escalate_after is None:
                problems.append(KeyedValueError(f"routes[{i}].escalate_after",
                                      "填写了 escalate_to 就要填写 escalate_after（多久无人认领就升级）"))
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise KeyedValueErrors(problems)
        return self

    # ---- derived -----------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def person(self, name: str) -> StaffConfig | None:
        return next((p for p in self.staff if p.name == name), None)

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)

    def secret(self, env_name: str | None) -> str | None:
        """Read a secret from the environment (never from the file); the value is masked
        in everything shown from then on."""
        if not env_name:
            return None
        value = os.environ.get(env_name) or None
        register_secret(value)
        return value


# ---- loading -------------------------------------------------------------------------

def default_config_path() -> Path:
    return Path(os.environ.get("YUQING_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load, validate and resolve a config file; raises :class:`ConfigError`."""
    p = Path(path) if path is not None else default_config_path()
    if not p.exists():
        raise ConfigError("配置文件不存在", file=str(p),
                          hint="用 `yuqing init 目录` 生成一份，或用 --config 指定路径")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"不是 UTF-8 编码的文本（第 {e.start} 字节）", file=str(p),
                          hint="用 UTF-8 编码另存配置文件") from None
    except OSError as e:
        raise ConfigError(f"无法读取：{e.strerror}", file=str(p)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise toml_error(str(e), str(p), text) from None
    return parse_config(data, source=p, text=text)


def parse_config(data: dict[str, Any], *, source: Path | None = None, text: str = "") -> Config:
    fname = str(source) if source else "<config>"
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError.of(to_config_errors(Config, e, fname, text)) from None
    cfg.source = source.absolute() if source else None
    _resolve_paths(cfg)
    register_declared_secrets(cfg)
    set_display_zone(cfg.display.timezone)
    return cfg


def _resolve_paths(cfg: Config) -> None:
    base = cfg.base_dir
    cfg.storage.path = (base / cfg.storage.path.expanduser()).resolve()
    cfg.rules.dir = (base / cfg.rules.dir.expanduser()).resolve()
    if cfg.tone.model is not None:
        cfg.tone.model = (base / cfg.tone.model.expanduser()).resolve()
    cfg.logging.dir = (base / cfg.logging.dir.expanduser()).resolve()


# ---- showing: redaction by declaration ------------------------------------------------

_SAFE_HEADERS = {"accept", "accept-language", "referer", "user-agent", "cache-control"}


def secret_of(model: type[BaseModel], name: str) -> Secret | None:
    """The :class:`Secret` declaration of field ``name`` (also inside ``X | None``)."""
    info = model.model_fields[name]
    found = next((m for m in info.metadata if isinstance(m, Secret)), None)
    return found or _find_secret(info.annotation)


def _find_secret(annotation: Any) -> Secret | None:
    for arg in get_args(annotation):
        if isinstance(arg, Secret):
            return arg
        found = _find_secret(arg)
        if found is not None:
            return found
    return None


def show_value(declared: Secret | None, value: Any) -> Any:
    """``value`` as it may be shown to a person under its declaration."""
    if value is None or declared is None or declared.how == "env":
        return redact_text(value) if isinstance(value, str) else value
    if declared.how == "mask":
        return MASK
    if declared.how == "url":
        return redact_url(value)
    if declared.how == "hook":
        return redact_hook(value)
    return {k: redact_text(v) if k.lower() in _SAFE_HEADERS else MASK for k, v in value.items()}


def shown(model: BaseModel) -> dict[str, Any]:
    """``model`` dumped as JSON-ready data with every declared secret redacted (nested
    sections and lists of sections included); undeclared text still has URLs and
    registered secret values masked."""
    data = model.model_dump(mode="json")
    for name in type(model).model_fields:
        if name not in data:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            data[name] = shown(value)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            data[name] = [shown(v) for v in value]
        else:
            data[name] = _show_plain(secret_of(type(model), name), data[name])
    return data


def _show_plain(declared: Secret | None, value: Any) -> Any:
    if isinstance(value, list):
        return [show_value(declared, v) for v in value]
    return show_value(declared, value)


def register_declared_secrets(cfg: Config) -> None:
    """Register the values of every ``SecretEnv`` variable and ``SecretStr`` field, so
    they are masked in logs and messages even where a library echoes them."""
    def walk(model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value)
            elif isinstance(value, list):
                for v in value:
                    if isinstance(v, BaseModel):
                        walk(v)
            elif isinstance(value, str):
                declared = secret_of(type(model), name)
                if declared is not None and declared.how == "env":
                    register_secret(os.environ.get(value))
                elif declared is not None and declared.how == "mask":
                    register_secret(value)
                elif declared is not None and declared.how == "hook":
                    for piece in hook_secrets(value):
                        register_secret(piece)
            elif isinstance(value, dict):
                declared = secret_of(type(model), name)
                if declared is not None and declared.how == "headers":
                    for key, header in value.items():
                        if key.lower() not in _SAFE_HEADERS:
                            register_secret(header)

    walk(cfg)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def dump_config(cfg: Config) -> str:
    """The effective config as TOML, with defaults filled in and secrets redacted."""
    return tomli_w.dumps(_drop_none(shown(cfg)))
