"""Test-only start-up hook: the network guard (tests/netguard.py) in child interpreters.

tests/conftest.py puts this directory on ``PYTHONPATH`` and sets ``YUQING_TEST_NETGUARD=1``
for the whole session, so every ``python -m monitor ...`` a test starts (and the fork
server and parse workers that process starts in turn) refuses connections outside the
loopback network, as the pytest process does. Without that variable this module does
nothing but hand over to any other ``sitecustomize`` further along ``sys.path``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def _install_guard() -> None:
    if os.environ.get("YUQING_TEST_NETGUARD") != "1":
        return
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "netguard.py")
    spec = importlib.util.spec_from_file_location("netguard", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"YUQING_TEST_NETGUARD=1 but {path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules["netguard"] = module
    spec.loader.exec_module(module)
    module.install(os.environ.get(module.JOURNAL_ENV))


def _chain() -> None:
    """Run the ``sitecustomize`` this one shadows (a distribution may ship one)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_install_guard()
_chain()
