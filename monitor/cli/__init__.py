"""The ``yuqing`` command line: the only place (with the web layer) that turns domain errors
into messages. One module per command family; each imports the heavy stages (the rule
engine, the daemon) only inside the commands that need them, so ``yuqing --help`` and
``yuqing feeds status`` start fast.
"""

from __future__ import annotations

from . import (  # noqa: F401  (each registers its commands)
    alerts,
    db,
    feeds,
    incidents,
    items,
    log,
    probe,
    report,
    rules,
    running,
    setup,
    stats,
    tone,
    users,
)
from .app import main

__all__ = ["main"]
