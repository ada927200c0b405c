"""What every request works with: the config, the store, the clock and the signing key,
kept on the app's state; ``blocking`` runs store work in a thread so the event loop (and
the daemon's fetching in it) never waits on SQLite."""

from __future__ import annotations

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
