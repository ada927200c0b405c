"""One daemon per database: an exclusive ``flock`` on ``<database>.lock`` beside the file.

The lock belongs to the open file description, so the kernel releases it when the daemon
dies however it dies (no stale lock after SIGKILL); the file holds the holder's PID so the
refusal can name it. One-shot commands (``fetch``, queries) do not take it: SQLite's own
locking keeps them safe beside a running daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from ..errors import AlreadyRunningError, StoreError


class DaemonLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyRunningError` naming the running PID."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise StoreError(f"无法创建锁文件 {self.path}：{e.strerror}"
                             "（检查 [storage] path 所在目录是否存在、可写）") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"PID {holder}" if holder else "另一个进程"
            raise AlreadyRunningError(
                f"已有守护进程（{who}）在使用数据库 {self.path.with_suffix('')}："
                "同一个数据库只能运行一个 yuqing run（先停止它，例如 systemctl stop "
                "yuqing-monitor）", holder=holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing releases the flock
        self._fd = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
