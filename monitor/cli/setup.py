"""``yuqing init`` and ``yuqing config check``: set up a deployment, validate the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..config import dump_config
from ..errors import ConfigError
from .app import Invocation, main, pass_invocation


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """生成部署目录：config/monitor.toml（带中文注释）、rules/（默认规则）、logs/、data/。

    目录里已有的文件保留不动（逐个列出），只补上缺少的。示例：yuqing init /srv/yuqing
    """
    from ..scaffold import scaffold

    result = scaffold(directory)
    for path in result.kept:
        click.echo(f"已保留 {path}（已存在，未改动）")
    for path in result.created:
        click.echo(f"已创建 {path}")
    if not result.created:
        click.echo("没有缺少的文件，什么也没有改动")
    click.echo(f"下一步：编辑 {directory / 'config' / 'monitor.toml'} 中的 [[feeds]]，"
               f"然后运行 yuqing --config {directory / 'config' / 'monitor.toml'} config check")


@main.group("config")
def config_group() -> None:
    """检查配置。"""


@config_group.command("check")
@click.option("--dump", is_flag=True, help="以 TOML 打印生效配置（密钥已隐去）")
@pass_invocation
def config_check(state: Invocation, dump: bool) -> None:
    """校验配置文件；--dump 打印包含默认值的生效配置。示例：yuqing config check --dump"""
    cfg = state.config
    if dump:
        click.echo(dump_config(cfg), nl=False)
        return
    fname, text = _source_text(cfg)
    for note in _web_notes(cfg) + _browser_notes(cfg) + _interval_notes(cfg, fname, text):
        click.echo(f"注意：{note}", err=True)
    errors = _path_errors(cfg, fname, text)
    if errors:
        raise ConfigError.of(errors)
    enabled = sum(1 for f in cfg.feeds if f.enabled)
    click.echo(f"配置有效：{cfg.source}（订阅源 {len(cfg.feeds)} 个，启用 {enabled} 个；"
               f"数据库 {cfg.storage.path}；规则目录 {cfg.rules.dir}）")


def _source_text(cfg: Any) -> tuple[str, str]:
    """The config file's name and text (for line numbers), or empty text if unreadable."""
    if cfg.source is None:
        return "<config>", ""
    try:
        return str(cfg.source), Path(cfg.source).read_text(encoding="utf-8-sig")
    except OSError:
        return str(cfg.source), ""


def _path_errors(cfg: Any, fname: str, text: str) -> list[ConfigError]:
    """The rules directory that is not there, the database that cannot be created or
    written: errors, since the daemon cannot run without them."""
    from ..config_errors import with_line

    errors = []
    rules = Path(cfg.rules.dir)
    if not rules.is_dir():
        what = "不是目录" if rules.exists() else "不存在"
        errors.append(ConfigError(f"规则目录 {rules} {what}", key="rules.dir",
                                  file=with_line(fname, text, "rules.dir"),
                                  hint="用 `yuqing init 目录` 生成默认规则，或改正 [rules] dir"))
    problem = _db_problem(Path(cfg.storage.path))
    if problem:
        errors.append(ConfigError(problem, key="storage.path",
                                  file=with_line(fname, text, "storage.path")))
    return errors


def _db_problem(path: Path) -> str | None:
    """Why the database at ``path`` cannot be opened for writing or created, or None."""
    import os

    if path.exists():
        if path.is_dir():
            return f"数据库路径 {path} 是一个目录，应为文件"
        return None if os.access(path, os.R_OK | os.W_OK) else f"数据库文件 {path} 不可写"
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"无法创建数据库目录 {path.parent}：{existing} 不是目录"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"无法创建数据库 {path}：目录 {existing} 不可写（检查属主和权限）"
    return None


def _interval_notes(cfg: Any, fname: str, text: str) -> list[str]:
    """Feed intervals that do not mean what they seem: a bare number (seconds) and an
    interval below ``[fetch] min_interval`` (clamped to it)."""
    import tomllib

    from ..config_errors import with_line
    from ..durations import format_duration

    try:
        raw = tomllib.loads(text).get("feeds", []) if text else []
    except tomllib.TOMLDecodeError:
        raw = []
    floor = cfg.fetch.min_interval
    notes = []
    for i, feed in enumerate(cfg.feeds):
        where = with_line(fname, text, f"feeds[{i}].interval")
        value = raw[i].get("interval") if i < len(raw) and isinstance(raw[i], dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            notes.append(f"{where}: 订阅源 {feed.name} 的 interval = {value} 没有单位，按 {value} 秒计；"
                         f"如果想写 {value} 分钟，请写 \"{value}m\"")
        if feed.enabled and feed.interval < floor:
            notes.append(f"{where}: 订阅源 {feed.name} 的 interval（{format_duration(feed.interval)}）"
                         f"低于 [fetch] min_interval（{format_duration(floor)}），"
                         f"实际按 {format_duration(floor)} 抓取一次")
    return notes


def _browser_notes(cfg: Any) -> list[str]:
    """Feeds rendered by a browser when there is no browser at ``[fetch] browser`` (they
    fail until there is one; the other feeds run either way)."""
    import os
    from pathlib import Path

    names = [f.name for f in cfg.feeds if f.enabled and f.render == "browser"]
    path = Path(cfg.fetch.browser)
    if not names or (path.is_file() and os.access(path, os.X_OK)):
        return []
    return [f"订阅源 {'、'.join(names)} 需要浏览器渲染（render = \"browser\"），但 {path} 没有 "
            "Chromium：这些订阅源会抓取失败（apt-get install chromium，或在 [fetch] browser "
            "指定路径）"]


def _web_notes(cfg: Any) -> list[str]:
    """What will go wrong with the console as configured (warnings, not errors: the rest
    of the daemon runs either way)."""
    from ..errors import ConfigError
    from ..web.server import web_secret

    web = cfg.web
    if not web.enabled:
        return []
    notes = []
    try:
        web_secret(cfg)
    except ConfigError as e:
        notes.append(f"{e}；否则 yuqing run 不会启动")
    if not web.base_url:
        notes.append("[web] 未设置 base_url：告警中不会带一键认领链接")
    elif web.base_url.startswith("http://") and not any(
            h in web.base_url for h in ("//127.0.0.1", "//localhost", "//[::1]")):
        notes.append(f"[web] base_url 是 {web.base_url}：不经 HTTPS 时登录密码和链接以明文传输，"
                     "建议放在 HTTPS 反向代理之后")
    return notes
