"""The console's server: uvicorn inside an asyncio loop that is already running (the
daemon's, or ``yuqing web``'s), started and stopped by its owner; uvicorn's own signal
handling is turned off so SIGTERM stays the daemon's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import uvicorn

from ..config import Config
from ..errors import ConfigError
from ..store import Store
from .app import create_app
from .context import PerThreadStore, ThreadStores, WebContext

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:     # the owner handles signals
        yield


def web_secret(config: Config) -> str:
    """The key that signs sessions and links; a ``ConfigError`` naming the variable when
    it is missing or too short to be a key."""
    name = config.web.secret_env
    secret = config.secret(name)
    if not secret or len(secret) < 16:
        raise ConfigError(f"控制台已启用（[web] enabled = true），但环境变量 {name} "
                          f"{'未设置' if not secret else '太短'}：请设为至少 16 个字符的随机串，"
                          "例如 python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return secret


class Console:
    """The console of one process: its own SQLite connections (one per worker thread, apart
    from the daemon's, so pages never queue behind the fetchers' writes or each other),
    the app and the server."""

    def __init__(self, config: Config, *, clock: Callable[[], datetime],
                 config_path: Path | None = None, state: dict[str, Any] | None = None,
                 listen: str | None = None) -> None:
        self.config = config
        secret = web_secret(config)
        # uvicorn's own start lines are English; ours says the same in Chinese
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        self.stores = ThreadStores(lambda: Store(config.storage.path,
                                                 busy_timeout=config.storage.busy_timeout))
        self.stores.get()                  # migrations run (and fail, if they do) right here
        from ..store.search import fts_query

        fts_query("舆情监测")               # load the segmenter's dictionary now, not on a search
        store = cast(Store, PerThreadStore(self.stores))
        self.ctx = WebContext(config, store, clock, secret, config_path=config_path,
                              state=state if state is not None else {})
        self.app = create_app(self.ctx)
        self.listen = listen or config.web.listen
        host, _, port = self.listen.rpartition(":")
        self.server = _Server(uvicorn.Config(
            self.app, host=host.strip("[]"), port=int(port), log_config=None,
            access_log=False, lifespan="off", server_header=False,
            timeout_graceful_shutdown=2))
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        servers = getattr(self.server, "servers", [])
        for s in servers:
            for sock in s.sockets:
                h, p = sock.getsockname()[:2]
                return f"http://{h}:{p}"
        return f"http://{self.listen}"

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:                 # uvicorn exits when it cannot bind
            raise ConfigError(f"控制台无法在 {self.listen} 上监听（端口已被占用或地址不可用），"
                              "请检查 [web] listen") from None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()        # raises what stopped it (e.g. port in use)
                raise ConfigError(f"控制台无法在 {self.listen} 上监听")
            await asyncio.sleep(0.02)
        log.info("控制台已启动 address=%s", self.address)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=3)
        self.stores.close()
        log.info("控制台已停止")
