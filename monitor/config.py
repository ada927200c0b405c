"""Configuration: load ``monitor.toml``, validate it (pydantic), resolve paths, read secrets
from the environment, and dump the effective config with secrets redacted.

Relative paths in the file resolve against the directory that holds the file. Secrets are
never written in the file: keys ending in ``_env`` name the environment variable to read.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

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

from .config_report import KeyedValueError, to_config_error, toml_error
from .durations import format_duration, parse_duration
from .errors import ConfigError
from .redact import redact_text, redact_url

DEFAULT_CONFIG = Path("config/monitor.toml")
LevelCode = Literal["info", "blue", "yellow", "orange", "red"]

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


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as e:
        raise ValueError(f"不是有效的网段 {value!r}，应写成 10.0.0.0/8 这样的 CIDR") from e
    return value


Cidr = Annotated[str, BeforeValidator(_check_cidr)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class StorageConfig(_Section):
    path: Path
    busy_timeout: Duration = 10.0


class RulesConfig(_Section):
    dir: Path = Path("rules")
    reload_interval: Duration = 5.0
    load_timeout: Duration = Field(default=60.0, gt=0)  # a load taking longer is abandoned


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
    proxy: str | None = None
    allow_private_networks: list[Cidr] = Field(default_factory=list)
    backoff_base: Duration = 60.0
    backoff_max: Duration = 6 * 3600.0
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    min_interval: Duration = 60.0      # never fetch a feed more often, whatever it says
    failure_alert_after: StrictInt = Field(default=3, ge=1)
    startup_spread: Duration = 30.0    # overdue feeds at start-up are spread over this window
    parse_workers: StrictInt = Field(default=0, ge=0, le=64)  # 0: one per core (at most 4)


class FeedConfig(_Section):
    name: str = Field(min_length=1)
    url: str
    interval: Duration = 900.0
    encoding: str | None = None
    enabled: StrictBool = True
    user_agent: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    proxy: str | None = None
    allow_private: StrictBool | None = None
    timezone: str = "Asia/Shanghai"
    max_bytes: StrictInt | None = Field(default=None, ge=1024)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_http_url(v)

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
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception as e:
            raise ValueError(f"未知的时区 {v!r}（例如 Asia/Shanghai、UTC）") from e
        return v


class SmtpConfig(_Section):
    host: str = "127.0.0.1"
    port: StrictInt = Field(default=25, ge=1, le=65535)
    sender: str = "yuqing@localhost"
    username: str | None = None
    password_env: str = "YUQING_SMTP_PASSWORD"
    starttls: StrictBool = False
    ssl: StrictBool = False
    timeout: Duration = 30.0


class RobotConfig(_Section):
    webhook: str
    secret_env: str | None = None


class StaffConfig(_Section):
    name: str = Field(min_length=1)
    email: str | None = None
    phone: str | None = None
    webhook: str | None = None
    webhook_secret_env: str | None = None
    wecom: RobotConfig | None = None
    dingtalk: RobotConfig | None = None
    feishu: RobotConfig | None = None


class RouteConfig(_Section):
    categories: list[str] = Field(default_factory=lambda: ["*"])
    min_level: LevelCode = "yellow"
    notify: list[str] = Field(min_length=1)
    escalate_after: Duration | None = None
    escalate_to: list[str] = Field(default_factory=list)


class WebConfig(_Section):
    enabled: StrictBool = False
    listen: str = "127.0.0.1:8700"
    base_url: str | None = None
    secret_env: str = "YUQING_WEB_SECRET"

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
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    feeds: list[FeedConfig] = Field(default_factory=list)
    smtp: SmtpConfig | None = None
    staff: list[StaffConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    web: WebConfig = Field(default_factory=WebConfig)

    # Not part of the file: where it was loaded from.
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        seen: set[str] = set()
        for i, feed in enumerate(self.feeds):
            if feed.name in seen:
                raise KeyedValueError(f"feeds[{i}].name", f"订阅源名称 {feed.name!r} 重复，每个名称必须唯一")
            seen.add(feed.name)
        staff = set()
        for i, person in enumerate(self.staff):
            if person.name in staff:
                raise KeyedValueError(f"staff[{i}].name", f"人员 {person.name!r} 重复，每个名称必须唯一")
            staff.add(person.name)
        for i, route in enumerate(self.routes):
            for key in ("notify", "escalate_to"):
                for name in getattr(route, key):
                    if name not in staff:
                        raise KeyedValueError(
                            f"routes[{i}].{key}", f"未定义的人员 {name!r}：请先在 [[staff]] 中添加"
                        )
        return self

    # ---- derived -----------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)

    def secret(self, env_name: str | None) -> str | None:
        """Read a secret from the environment (never from the file)."""
        if not env_name:
            return None
        return os.environ.get(env_name) or None


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
        raise to_config_error(Config, e, fname, text) from None
    cfg.source = source.absolute() if source else None
    _resolve_paths(cfg)
    return cfg


def _resolve_paths(cfg: Config) -> None:
    base = cfg.base_dir
    cfg.storage.path = (base / cfg.storage.path.expanduser()).resolve()
    cfg.rules.dir = (base / cfg.rules.dir.expanduser()).resolve()
    cfg.logging.dir = (base / cfg.logging.dir.expanduser()).resolve()


# ---- dumping -------------------------------------------------------------------------

_SECRET_KEYS = re.compile(r"(password|secret|token|api_key)$", re.I)
_URL_KEYS = re.compile(r"(^|_)(url|webhook|proxy)$")


_SAFE_HEADERS = {"accept", "accept-language", "referer", "user-agent", "cache-control"}


def redact(value: Any, key: str = "") -> Any:
    """Replace secret values with ``***``, by key (``password``, ``*_secret``, ``*token``…);
    every URL goes through :func:`~monitor.redact.redact_url` (a URL-valued key whole, URLs
    inside other text one by one); request headers other than a few harmless ones
    (Authorization, Cookie, tokens…) are always hidden."""
    if isinstance(value, dict):
        if key == "headers":
            return {k: redact_text(v) if k.lower() in _SAFE_HEADERS else "***"
                    for k, v in value.items()}
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if _SECRET_KEYS.search(key) and not key.endswith("_env"):
            return "***"
        if _URL_KEYS.search(key):
            return redact_url(value)
        return redact_text(value)
    return value


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def dump_config(cfg: Config) -> str:
    """The effective config as TOML, with defaults filled in and secrets redacted."""
    data = cfg.model_dump(mode="json")
    return tomli_w.dumps(redact(_drop_none(data)))
