"""Worker processes and threads that must never outlive the daemon.

* Parse workers: a ``forkserver`` process pool whose log records travel through a queue
  to the daemon's handlers (:class:`LogForwarder`); (this threaded process is never forked; the
  workers load only the parser). Each worker watches the daemon's process with a pidfd and
  exits the moment it is gone, even after a SIGKILL that gave nobody a chance to clean
  up; ``PR_SET_PDEATHSIG`` also ties it to its direct parent, the fork server. Under
  systemd the unit's cgroup is cleaned up on stop in any case (``KillMode=control-group``).
* :func:`in_daemon_thread`: run a blocking call on a daemon thread and await it, for work
  that may hang (loading hostile rule files): the interpreter never waits for such a
  thread at exit, so a stuck call cannot stop the daemon from stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import logging.handlers
import multiprocessing
import os
import select
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


_CTX = multiprocessing.get_context("forkserver")


class LogForwarder:
    """Carries the parse workers' log records to this process's handlers (the daemon's
    log file or the journal), where they are formatted like every other line."""

    def __init__(self) -> None:
        self.queue: Any = _CTX.Queue()
        self._listener = logging.handlers.QueueListener(self.queue, _Dispatch())
        self._listener.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._listener.stop()
        with contextlib.suppress(Exception):
            self.queue.close()
            self.queue.cancel_join_thread()


class _Dispatch(logging.Handler):
    def handle(self, record: logging.LogRecord) -> bool:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does it
        pass


def new_parse_pool(workers: int, logs: LogForwarder | None = None) -> Executor:
    """A pool of ``workers`` parse processes bound to the life of this process; with
    ``logs``, their log records arrive here."""
    _CTX.set_forkserver_preload(["monitor.parse", "monitor.workers"])
    level = logging.getLogger().getEffectiveLevel()
    return ProcessPoolExecutor(max_workers=workers, mp_context=_CTX, initializer=init_worker,
                               initargs=(os.getpid(), logs.queue if logs else None, level))


def init_worker(daemon_pid: int, log_queue: Any, level: int) -> None:
    """Worker initializer: log through ``log_queue`` to the daemon, and exit as soon as
    ``daemon_pid`` (the daemon) is gone."""
    if log_queue is not None:
        root = logging.getLogger()
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(logging.handlers.QueueHandler(log_queue))
        root.setLevel(level)
    bind_to_parent(daemon_pid)


def bind_to_parent(daemon_pid: int) -> None:
    """Exit as soon as ``daemon_pid`` (the daemon) is gone."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        fd = os.pidfd_open(daemon_pid)
    except (OSError, AttributeError):  # no pidfd (old kernel): poll the pid instead
        threading.Thread(target=_poll_pid, args=(daemon_pid,), daemon=True,
                         name="yuqing-parent-watch").start()
        return
    threading.Thread(target=_wait_pidfd, args=(fd,), daemon=True,
                     name="yuqing-parent-watch").start()


def _wait_pidfd(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not poller.poll(None):
        pass
    os._exit(0)


def _poll_pid(pid: int) -> None:
    import time

    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(1.0)


async def in_daemon_thread(fn: Callable[[], T], *, name: str) -> T:
    """Run ``fn`` on a new daemon thread and await its result (or exception)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = fn()
        except BaseException as e:  # handed to the awaiting task
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(settle, None, e)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=target, daemon=True, name=name).start()
    return await future


def join_threads(deadline: float) -> list[threading.Thread]:
    """Wait (until the monotonic ``deadline``) for the non-daemon threads other than this
    one; returns those still alive."""
    import time

    alive = []
    for t in threading.enumerate():
        if t is threading.current_thread() or t.daemon:
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            alive.append(t)
    return alive
