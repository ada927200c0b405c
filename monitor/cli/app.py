"""The ``yuqing`` group and what every command shares: the invocation (config path, debug,
the config loaded on first use), turning domain errors into one Chinese line, JSON output,
dates given on the command line, opening the store.

Exit codes: 0 success; 1 bad input or a failed operation (one Chinese line on stderr,
a traceback only with ``--debug``); 2 bad usage (click's own).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..config import Config, default_config_path, load_config
from ..errors import ConfigError, MonitorError
from ..timefmt import for_json, read_time
from .i18n import ChineseGroup, usage_error_text

if TYPE_CHECKING:
    from ..store import Store

class AppGroup(ChineseGroup):
    """Turns ``MonitorError`` into one line on stderr and exit 1, and click's own usage
    errors into Chinese with exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:  # bare `yuqing`, `yuqing feeds`: help
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.ClickException as e:
            click.echo(usage_error_text(e), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("已中止", err=True)
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as e:
            if ctx.meta.get("yuqing.debug"):
                traceback.print_exc()
            for line in str(e).splitlines() or [type(e).__name__]:
                located = _has_location(line) and not isinstance(e, ConfigError)
                click.echo(line if located else f"错误：{line}", err=True)
            ctx.exit(1)
        except BrokenPipeError:  # `yuqing items list | head`: the reader had enough
            _silence_stdout()
            ctx.exit(0)
        except KeyboardInterrupt:
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:  # anything unforeseen: one line, a traceback only with --debug
            if ctx.meta.get("yuqing.debug"):
                traceback.print_exc()
            click.echo(f"错误：{_describe(e, ctx)}", err=True)
            ctx.exit(1)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _describe(e: Exception, ctx: click.Context) -> str:
    if isinstance(e, sqlite3.Error):
        from ..store.db import describe_database_error

        state = ctx.find_object(Invocation)
        cfg = state._config if state is not None else None
        return describe_database_error(e, cfg.storage.path if cfg else Path("数据库"))
    if isinstance(e, OSError):
        return f"{e.strerror or e}：{e.filename or ''}"
    return f"内部错误 {type(e).__name__}：{e}（加 --debug 查看详情）"


def _has_location(line: str) -> bool:
    head = line.split(":", 2)
    return len(head) >= 3 and head[1].isdigit()


class Invocation:
    """One run of ``yuqing``: where the config is, ``--debug``, and the config itself,
    loaded (and validated) the first time a command asks for it."""

    def __init__(self, config_path: Path, debug: bool) -> None:
        self.config_path = config_path
        self.debug = debug
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_invocation = click.make_pass_decorator(Invocation)


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="配置文件（默认 $YUQING_CONFIG，否则 ./config/monitor.toml）")
@click.option("--debug", is_flag=True, help="出错时打印完整的调用栈，日志级别 DEBUG")
@click.version_option(__version__, prog_name="yuqing", help="显示版本并退出",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """yuqing-monitor 舆情监测：抓取订阅源、按规则评分、生成事件并告警、输出年度报告。

    \b
    示例：
      yuqing init /srv/yuqing          # 生成一套可运行的部署目录
      yuqing config check --dump       # 检查配置并打印生效配置（密钥已隐去）
      yuqing fetch --json              # 立即抓取一遍所有订阅源
      yuqing run                       # 前台运行守护进程（systemd 启动的就是它）
    """
    ctx.meta["yuqing.debug"] = debug
    ctx.obj = Invocation(config_path or default_config_path(), debug)


def cli_actor(by: str | None) -> str:
    """Who made a change from the command line, for the audit log: ``--by`` when given,
    else the login name (``$USER``)."""
    return (by or os.environ.get("USER") or "").strip() or "命令行"


def emit_json(doc: Any) -> None:
    """One JSON document on stdout; times as ISO 8601 with their UTC offset."""
    click.echo(json.dumps(doc, ensure_ascii=False, indent=None, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return for_json(value)
    return str(value)


def parse_when(value: str | None, *, param: str) -> datetime | None:
    """``YYYY-MM-DD``, a full ISO 8601 time, ``today``/``yesterday`` or a span back from now
    (``24h``, ``7d``); without an offset it is read in the display zone (``[display]
    timezone``, Beijing time by default)."""
    if value is None:
        return None
    invocation = click.get_current_context(silent=True)
    state = invocation.find_object(Invocation) if invocation else None
    if state is not None:
        state.config  # noqa: B018  (loading the config sets the display zone)
    try:
        return read_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是日期，应写成 YYYY-MM-DD、完整的 ISO 8601 时间、"
                                 "today（今天）、yesterday（昨天）或 24h、7d 这样的时长",
                                 param_hint=param) from None


def open_store(state: Invocation, *, create: bool = False) -> Store:
    """The configured store for a command. A command that only reads never creates the
    database: when the file is missing it says so on stderr and works on an empty
    in-memory store (so ``feeds status`` still lists the configured feeds)."""
    from ..errors import DatabaseMissingError
    from ..store import Store

    cfg = state.config
    try:
        return Store(cfg.storage.path, busy_timeout=cfg.storage.busy_timeout, create=create)
    except DatabaseMissingError as e:
        click.echo(f"注意：{e}；未创建数据库，结果为空", err=True)
        return Store(":memory:")


