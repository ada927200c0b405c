"""Suite-wide fixtures: the network guard of tests/netguard.py, for this process and for
every Python process a test starts (``python -m monitor ...``, fork servers, workers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import netguard

_ENV_KEYS = (netguard.ENV, netguard.JOURNAL_ENV, "PYTHONPATH")


@pytest.fixture(scope="session", autouse=True)
def network_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Refuse every connection outside 127.0.0.0/8 and ::1 for the whole session; yields
    the journal where each refusal (from any process) is written, one line."""
    journal = tmp_path_factory.mktemp("netguard") / "refused.log"  # one per xdist worker
    journal.touch()
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    os.environ[netguard.ENV] = "1"
    os.environ[netguard.JOURNAL_ENV] = str(journal)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(netguard.HOOK_DIR), *([saved["PYTHONPATH"]] if saved["PYTHONPATH"] else [])])
    netguard.install(journal)
    try:
        yield journal
    finally:
        netguard.uninstall()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Refusals:
    """The refusals written to the journal since the test began."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.start = journal.stat().st_size

    def lines(self) -> list[str]:
        with self.journal.open("rb") as f:
            f.seek(self.start)
            return f.read().decode("utf-8", "replace").splitlines()


@pytest.fixture
def refused_connections(network_guard: Path) -> Refusals:
    """For the guard's own tests: the refusals they cause are expected, not a failure."""
    return Refusals(network_guard)


@pytest.fixture(autouse=True)
def _nothing_left_loopback(network_guard: Path, request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose code tried the network, even if that code swallowed the error."""
    refusals = Refusals(network_guard)
    yield
    if "refused_connections" in request.fixturenames:
        return
    if lines := refusals.lines():
        pytest.fail("this test tried to leave 127.0.0.1 (refused by tests/netguard.py):\n  "
                    + "\n  ".join(lines), pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    """Say it loudly when the browser tests (tests/browser.py) did not run: no Chromium."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    from browser import SKIP_REASON

    missed = [r for r in skipped if SKIP_REASON in str(getattr(r, "longrepr", ""))]
    if missed:
        terminalreporter.write_sep("!", f"{len(missed)} BROWSER TESTS DID NOT RUN", red=True,
                                   bold=True)
        terminalreporter.write_line(SKIP_REASON, yellow=True, bold=True)
