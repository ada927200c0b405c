"""``yuqing db ...``: backup, restore, vacuum, check, and the retention of item bodies."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from ..durations import format_duration
from ..timefmt import for_json, for_people
from .app import Invocation, emit_json, main, pass_invocation
from .options import JSON_OPTION


def describe_size(size: int) -> str:
    """``12.3 MiB`` and the like."""
    value = float(size)
    for unit in ("字节", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "字节" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} 字节"  # pragma: no cover


def _actor() -> str | None:
    return os.environ.get("USER")


@main.group("db")
def db_group() -> None:
    """数据库维护：备份、还原、整理、检查、按保留期清除旧正文。"""


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="FILE 已存在时覆盖它")
@pass_invocation
def db_backup(state: Invocation, file: Path, force: bool) -> None:
    """在线备份数据库到 FILE（守护进程运行时也可以），备份经完整性检查。

    示例：yuqing db backup /backup/yuqing-$(date +%F).db
    """
    from ..store import Store
    from ..store.maintenance import backup

    cfg = state.config
    result = backup(cfg.storage.path, file, force=force, busy_timeout=cfg.storage.busy_timeout)
    with Store(cfg.storage.path, busy_timeout=cfg.storage.busy_timeout, create=False) as store:
        store.log_event("db.backup", str(result.path), actor=_actor(),
                        data=f"{result.size} bytes, {result.items} items")
    click.echo(f"已备份到 {result.path}（{describe_size(result.size)}，条目 {result.items} 条，"
               "完整性检查通过）")


@db_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_invocation
def db_restore(state: Invocation, file: Path) -> None:
    """用备份文件 FILE 还原数据库；守护进程运行时拒绝。原数据库保留为
    monitor.db.before-restore-<北京时间>。

    示例：yuqing db restore /backup/yuqing-2026-12-01.db
    """
    from ..store.db import utcnow
    from ..store.maintenance import restore

    cfg = state.config
    result = restore(file, cfg.storage.path, now=utcnow(), actor=_actor(),
                     busy_timeout=cfg.storage.busy_timeout)
    click.echo(f"已从 {result.source} 还原数据库 {result.database}（条目 {result.items} 条，"
               "完整性检查通过）")
    if result.migrated:
        click.echo(f"备份来自旧版本（数据库版本 {result.schema_version}），已升级："
                   + "、".join(str(v) for v in result.migrated))
    if result.kept is not None:
        click.echo(f"原数据库已保留为 {result.kept}（确认无误后可删除）")


@db_group.command("vacuum")
@pass_invocation
def db_vacuum(state: Invocation) -> None:
    """整理数据库（VACUUM 与 PRAGMA optimize），回收清除和删除留下的空间；守护进程运行时拒绝。

    示例：yuqing db vacuum
    """
    from ..store.maintenance import vacuum

    cfg = state.config
    before, after = vacuum(cfg.storage.path, busy_timeout=cfg.storage.busy_timeout)
    click.echo(f"已整理数据库 {cfg.storage.path}：{describe_size(before)} → "
               f"{describe_size(after)}")


@db_group.command("check")
@JSON_OPTION
@pass_invocation
def db_check(state: Invocation, as_json: bool) -> None:
    """检查数据库：PRAGMA integrity_check、外键、迁移记录和审计日志的哈希链（同 yuqing log
    verify）；发现问题时逐条列出并以 1 退出。

    示例：yuqing db check --json
    """
    from ..errors import DatabaseMissingError, StoreError
    from ..store import Store
    from ..store.maintenance import integrity_problems, yuqing_schema

    cfg = state.config
    path = cfg.storage.path
    problems: list[str] = []
    version: int | None = None
    log_rows: int | None = None
    log_verified: bool | None = None
    try:
        store = Store(path, busy_timeout=cfg.storage.busy_timeout, migrate=False, create=False)
    except DatabaseMissingError:
        raise
    except StoreError as e:
        problems.append(str(e))
    else:
        with store:
            problems += integrity_problems(store.db.conn)
            if not problems:
                version = yuqing_schema(store.db.conn)
                if version is None:
                    problems.append("没有本程序的迁移记录（_sqlite_migrations）：不是 "
                                    "yuqing-monitor 的数据库")
            columns = {r[1] for r in store.db.conn.execute("PRAGMA table_info(events)")}
            if not problems and "hash" in columns:       # older files: sealed when migrated
                chain = store.verify_log()
                log_rows, log_verified = chain.rows, chain.ok
                problems += [f"审计日志第 {i} 条记录{what}" for i, what in chain.problems]
    ok = not problems
    if as_json:
        emit_json({"database": str(path), "ok": ok, "schema_version": version,
                   "problems": problems, "log_verified": log_verified, "log_rows": log_rows})
    elif ok:
        sealed = f"、审计日志哈希链（{log_rows} 条）" if log_verified else ""
        click.echo(f"数据库 {path} 检查通过（完整性、外键、迁移记录{sealed}；数据库版本 {version}）")
    for line in problems:
        click.echo(f"错误：数据库 {path}：{line}", err=True)
    if not ok:
        raise click.exceptions.Exit(1)


@db_group.command("prune")
@click.option("--dry-run", is_flag=True, help="只统计将清除多少条，不做改动")
@JSON_OPTION
@pass_invocation
def db_prune(state: Invocation, dry_run: bool, as_json: bool) -> None:
    """清除超过 [storage] retain_bodies 保留期的条目正文；标题、链接、命中、事件和审计记录保留。
    守护进程每天北京时间 03:30 自动做一次。

    示例：yuqing db prune --dry-run
    """
    from ..store import Store
    from ..store.db import utcnow

    cfg = state.config
    retain = cfg.storage.retain_bodies
    if retain is None:
        if as_json:
            emit_json({"retain": None, "before": None, "items": 0, "dry_run": dry_run})
        else:
            click.echo("未配置 [storage] retain_bodies：正文永久保留，没有要清除的")
        return
    now = utcnow()
    before = now - timedelta(seconds=retain)
    with Store(cfg.storage.path, busy_timeout=cfg.storage.busy_timeout, create=False) as store:
        if dry_run:
            result = store.prunable_bodies(before)
        else:
            result = store.prune_bodies(before, now=now, retain=format_duration(retain),
                                        actor=_actor())
    if as_json:
        doc: dict[str, Any] = {"retain": format_duration(retain), "before": for_json(before),
                               "items": result.items, "dry_run": dry_run,
                               "oldest": for_json(result.oldest),
                               "newest": for_json(result.newest)}
        emit_json(doc)
        return
    span = (f"（日期 {for_people(result.oldest)} 至 {for_people(result.newest)}）"
            if result.items else "")
    verb = "将清除" if dry_run else "已清除"
    click.echo(f"{verb} {result.items} 条条目的正文{span}：早于 {for_people(before)}"
               f"（保留期 {format_duration(retain)}）；标题、链接、命中、事件和审计记录保留"
               + ("（试运行，未做改动）" if dry_run else ""))
