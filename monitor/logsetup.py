"""Where log records go: the only place that configures logging handlers.

The daemon logs to rotating files under ``logs/`` (or to stderr when systemd's journal
collects it); one-shot commands log warnings and errors to stderr only. Level names are
shown in Chinese, times in the display zone; tracebacks only with ``--debug``. Every line, traceback included, has
the secrets in its URLs redacted (a library's debug line or an exception message may
carry a feed's token).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime

from .config import Config
from .redact import redact_text
from .timefmt import for_people

LEVEL_NAMES = {"DEBUG": "调试", "INFO": "信息", "WARNING": "警告", "ERROR": "错误",
               "CRITICAL": "严重"}
_NOISY = ("httpx", "httpcore", "apscheduler", "jieba")


class ChineseFormatter(logging.Formatter):
    """Level names in Chinese, URL secrets redacted; the traceback of ``log.exception`` only
    when ``tracebacks``."""

    def __init__(self, fmt: str, *, tracebacks: bool = True) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time in the display zone, as every time shown to people."""
        return for_people(datetime.fromtimestamp(record.created, UTC), seconds=True)

    def format(self, record: logging.LogRecord) -> str:
        saved = record.levelname, record.exc_info, record.exc_text, record.stack_info
        record.levelname = LEVEL_NAMES.get(record.levelname, record.levelname)
        if not self.tracebacks:
            record.exc_info = record.exc_text = record.stack_info = None
        try:
            return redact_text(super().format(record))
        finally:
            record.levelname, record.exc_info, record.exc_text, record.stack_info = saved


def setup_logging(config: Config | None, *, debug: bool = False, one_shot: bool = False) -> None:
    """Configure the root logger. ``one_shot``: a command that runs and exits (warnings
    and errors on stderr); otherwise the daemon (files under ``logs/``, or the journal)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    stream = logging.StreamHandler(sys.stderr)
    if one_shot:
        root.setLevel(logging.DEBUG if debug else logging.WARNING)
        stream.setFormatter(ChineseFormatter("%(levelname)s %(name)s: %(message)s",
                                             tracebacks=debug))
        root.addHandler(stream)
        _quiet_libraries(debug)
        return
    level = logging.DEBUG if debug else getattr(logging, config.logging.level if config else "INFO")
    root.setLevel(level)
    under_systemd = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))
    stream.setFormatter(ChineseFormatter(
        "%(levelname)s %(name)s: %(message)s" if under_systemd
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(stream)
    if config is not None and not under_systemd:
        config.logging.dir.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            config.logging.dir / "yuqing.log", maxBytes=config.logging.max_bytes,
            backupCount=config.logging.backups, encoding="utf-8")
        fh.setFormatter(ChineseFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    _quiet_libraries(debug)


def _quiet_libraries(debug: bool) -> None:
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
