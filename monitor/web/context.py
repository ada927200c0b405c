"""What every request works with: the config, the store, the clock and the signing key,
kept on the app's state; ``blocking`` runs store work in a thread so the event loop (and
the daemon's fetching in it) never waits on SQLite. :class:`ThreadStores` gives each of
those threads its own SQLite connection, so one slow search never queues the other
pages behind a shared connection's lock (WAL lets them all read at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..config import Config
from ..store import Store

T = TypeVar("T")


class ThreadStores:
    """One ``Store`` per thread, opened on first use, all closed together."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._opener()
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()


class PerThreadStore:
    """Stands in for a ``Store``: each attribute is looked up on the calling thread's own
    store when it is used, so ``blocking(fn, ctx.store)`` works on the worker's."""

    def __init__(self, stores: ThreadStores) -> None:
        self._stores = stores

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stores.get(), name)


@dataclass
class WebContext:
    config: Config
    store: Store
    clock: Callable[[], datetime]
    secret: str
    config_path: Path | None = None          # written back by the feeds pages (admins)
    state: dict[str, Any] = field(default_factory=dict)   # what the daemon shares (health)

    def now(self) -> datetime:
        return self.clock()


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` (store work, report writing) in a worker thread."""
    return await run_in_threadpool(fn, *args, **kwargs)
