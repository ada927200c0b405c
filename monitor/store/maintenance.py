"""The database file itself: online backup, restore, vacuum, integrity checks (``yuqing db``).

A backup goes through SQLite's online backup API in one step: the copy is read inside one
read transaction, a consistent snapshot of the WAL database, while the daemon goes on
writing (WAL readers never block writers). Copying page by page in several steps would
start over every time another process commits, and never end beside a busy daemon. The
copy is written to a temporary file beside the target, switched to a rollback journal (one
self-contained file), checked, and renamed into place.

A restore refuses while a daemon holds the lock (and holds it itself meanwhile), works on a
copy of the file given (checked, migrated if older), keeps the current database as
``<name>.before-restore-<Beijing time>`` and only then renames the copy into place, so a
failure at any step leaves the current database as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import AlreadyRunningError, DatabaseMissingError, MaintenanceError
from ..timefmt import zone
from .db import MIGRATION_SET, MIGRATIONS, Database, describe_database_error
from .lock import DaemonLock

_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int
    items: int


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    source: Path
    kept: Path | None        # the database that was replaced, kept beside it
    schema_version: int      # of the restored file as it was
    migrated: list[int]      # migrations applied to it on the way in
    items: int


def file_size(path: Path) -> int:
    """The bytes a database takes: the file and its write-ahead log."""
    total = 0
    for p in (path, side_file(path, "-wal")):
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def side_file(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``, as Chinese lines (none
    when the file is sound). A file too damaged to read at all is one line saying so."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        problems = [f"完整性检查：{r}" for r in rows if r != "ok"]
        for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"外键检查：表 {table} 第 {rowid} 行引用的 {parent} 不存在")
            if len(problems) >= 40:
                break
    except sqlite3.DatabaseError as e:
        problems = [f"无法读取：{e}（文件已损坏或不是 SQLite 数据库）"]
    return problems


def yuqing_schema(conn: sqlite3.Connection) -> int | None:
    """The highest of our migrations recorded in the file, or None when it is not a
    yuqing-monitor database (no migrations table, or none of ours in it)."""
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET])]
    except sqlite3.DatabaseError:
        return None
    versions = [int(n.split(" ", 1)[0]) for n in names if n.split(" ", 1)[0].isdigit()]
    return max(versions) if versions else None


def _read_only(path: Path) -> str:
    """The URI that opens ``path`` read-only (any character in the name is safe)."""
    return path.absolute().as_uri() + "?mode=ro"


def _count_items(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_copy(conn: sqlite3.Connection, what: Path) -> int:
    """Refuse a copy that is damaged or not ours; returns its schema version."""
    problems = integrity_problems(conn)
    if problems:
        raise MaintenanceError(f"{what} 未通过完整性检查：{problems[0]}"
                               + (f"（共 {len(problems)} 处问题）" if len(problems) > 1 else ""))
    version = yuqing_schema(conn)
    if version is None:
        raise MaintenanceError(f"{what} 不是 yuqing-monitor 的数据库（没有本程序的迁移记录 "
                               "_sqlite_migrations）：请指定 yuqing db backup 生成的文件")
    newest = max(v for v, _name, _sql in MIGRATIONS)
    if version > newest:
        raise MaintenanceError(f"{what} 来自更新版本的 yuqing-monitor（数据库版本 {version}，"
                               f"本程序只认识到 {newest}）：请先升级本程序再还原")
    return version


@contextlib.contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A temporary file path beside ``path``, removed (with its side files) unless it was
    renamed away."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
    finally:
        for p in (tmp, *(side_file(tmp, s) for s in _SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def backup(database: Path, target: Path, *, force: bool = False,
           busy_timeout: float = 10.0) -> BackupResult:
    """Copy the live database to ``target`` (online: safe while the daemon writes)."""
    if not database.exists():
        raise DatabaseMissingError(f"数据库 {database} 不存在，没有可备份的内容"
                                   "（检查 [storage] path）")
    target = target.absolute()
    if target.exists() and target.resolve() == database.resolve():
        raise MaintenanceError(f"备份文件 {target} 就是数据库本身：请换一个文件名")
    if target.exists() and not force:
        raise MaintenanceError(f"{target} 已存在，不会覆盖（换一个文件名，或加 --force 覆盖）")
    if not target.parent.is_dir():
        raise MaintenanceError(f"备份目录 {target.parent} 不存在（先创建它）")
    with _temporary(target) as tmp:
        try:
            src = sqlite3.connect(_read_only(database), uri=True, timeout=busy_timeout)
            try:
                dst = sqlite3.connect(str(tmp), isolation_level=None)
                try:
                    src.backup(dst)  # one step: one consistent snapshot (see the docstring)
                    dst.execute("PRAGMA journal_mode=DELETE")
                    version = _check_copy(dst, target)
                    items = _count_items(dst)
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as e:
            raise MaintenanceError(f"备份失败：{describe_database_error(e, database)}") from e
        except OSError as e:
            raise MaintenanceError(f"无法写入备份 {target}：{e.strerror}"
                                   "（检查目录权限和磁盘空间）") from e
        _fsync(tmp)
        os.replace(tmp, target)
    _fsync(target.parent)
    return BackupResult(target, target.stat().st_size, version, items)


def _lock_for(database: Path, doing: str) -> DaemonLock:
    """The daemon's lock, taken so that no daemon starts meanwhile; refused with the
    running daemon's PID."""
    lock = DaemonLock(database)
    try:
        lock.acquire()
    except AlreadyRunningError as e:
        who = f"PID {e.holder}" if e.holder else "另一个进程"
        raise AlreadyRunningError(
            f"守护进程（{who}）正在使用数据库 {database}：{doing}前先停止它"
            "（例如 systemctl stop yuqing-monitor），完成后再启动", holder=e.holder) from None
    return lock


def _set_aside(database: Path, kept: Path, busy_timeout: float) -> None:
    """Rename the current database to ``kept``: first folded into one file (its WAL
    checkpointed), which also proves no other process has it open; a file too damaged
    for that is moved with its WAL as it is."""
    try:
        conn = sqlite3.connect(str(database), timeout=min(busy_timeout, 2.0),
                               isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise MaintenanceError(
                f"数据库 {database} 正被其他进程使用（例如 yuqing fetch 或定时任务）："
                "等它结束后再还原") from e
    except sqlite3.DatabaseError:
        pass  # damaged: keep it exactly as it is, WAL and all
    os.rename(database, kept)
    wal = side_file(database, "-wal")
    if wal.exists():
        os.rename(wal, side_file(kept, "-wal"))
    for suffix in ("-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            side_file(database, suffix).unlink()


def restore(source: Path, database: Path, *, now: datetime, actor: str | None = None,
            busy_timeout: float = 10.0) -> RestoreResult:
    """Replace the database with the backup ``source`` (refused while the daemon runs)."""
    source = source.absolute()
    if not source.is_file():
        raise MaintenanceError(f"备份文件 {source} 不存在")
    if database.exists() and source.resolve() == database.resolve():
        raise MaintenanceError(f"{source} 就是当前数据库，无需还原")
    database.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_for(database, "还原")
    try:
        with _temporary(database) as tmp:
            try:
                src = sqlite3.connect(_read_only(source), uri=True, timeout=busy_timeout)
                try:
                    dst = sqlite3.connect(str(tmp), isolation_level=None)
                    try:
                        src.backup(dst)
                        dst.execute("PRAGMA journal_mode=DELETE")
                        version = _check_copy(dst, source)
                    finally:
                        dst.close()
                finally:
                    src.close()
            except sqlite3.Error as e:
                raise MaintenanceError(
                    f"无法读取备份：{describe_database_error(e, source)}") from e
            from . import Store  # the whole store: the audit log's append goes through it

            with Store(tmp, busy_timeout=busy_timeout, migrate=False) as db:
                migrated = db.migrate()
                db.log_event("db.restored", str(source), actor=actor, now=now,
                             data=f"schema {version}")
                items = _count_items(db.db.conn)
                db.db.execute("PRAGMA journal_mode=DELETE")
            _fsync(tmp)
            kept = None
            if database.exists():
                stamp = now.astimezone(zone()).strftime("%Y%m%d-%H%M%S")
                kept = database.with_name(f"{database.name}.before-restore-{stamp}")
                _set_aside(database, kept, busy_timeout)
            for suffix in _SIDE_FILES:  # never let a stale log meet the restored file
                with contextlib.suppress(FileNotFoundError):
                    side_file(database, suffix).unlink()
            os.replace(tmp, database)
        _fsync(database.parent)
    finally:
        lock.release()
    return RestoreResult(database, source, kept, version, migrated, items)


def vacuum(database: Path, *, busy_timeout: float = 10.0) -> tuple[int, int]:
    """``VACUUM`` and ``PRAGMA optimize``; the sizes before and after. Refused while the
    daemon runs: VACUUM holds the write lock for as long as it copies the whole file."""
    if not database.exists():
        raise DatabaseMissingError(f"数据库 {database} 不存在（检查 [storage] path）")
    lock = _lock_for(database, "整理数据库")
    try:
        before = file_size(database)
        with Database(database, busy_timeout=busy_timeout, create=False) as db:
            conn = db.db.conn
            try:
                conn.execute("VACUUM")
                conn.execute("PRAGMA optimize")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as e:
                raise MaintenanceError(f"整理失败：{describe_database_error(e, database)}") from e
        return before, file_size(database)
    finally:
        lock.release()
