"""Test support: write real config files, run the real CLI in-process or as a process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
# A small ruleset for the incident and alert tests: a yellow, a red and a blue rule.
ALERT_RULES = """- id: collapse
  name: 坍塌事故
  category: 安全生产
  level: yellow
  weight: 50
  words:
    事件: [坍塌, 垮塌]
- id: fire
  name: 火灾
  category: 安全生产
  level: red
  weight: 80
  words:
    事件: [大火, 爆炸]
- id: dust
  name: 扬尘
  category: 环境扰民
  level: blue
  weight: 20
  words:
    事件: [扬尘]
"""
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def write_config(tmp_path: Path, *, feeds: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None, rules_dir: Path | None = None) -> Path:
    """A minimal deployment in ``tmp_path``: config/monitor.toml, rules/, data/."""
    cfg_dir = tmp_path / "config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    rules = rules_dir or (tmp_path / "rules")
    rules.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "storage": {"path": "../data/monitor.db"},
        "rules": {"dir": os.path.relpath(rules, cfg_dir)},
        "logging": {"dir": "../logs"},
    }
    if feeds:
        data["feeds"] = feeds
    for key, value in (extra or {}).items():
        data[key] = value
    path = cfg_dir / "monitor.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


class Cli:
    def __init__(self, config: Path | None) -> None:
        self.config = config

    def __call__(self, *args: str, input: str | None = None) -> Any:
        from monitor.cli import main

        argv = (["--config", str(self.config)] if self.config else []) + list(args)
        return CliRunner().invoke(main, argv, input=input, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        r = self(*args, "--json")
        assert r.exit_code == 0, r.output + (r.stderr if r.stderr_bytes else "")
        return json.loads(r.stdout)


def run_yuqing(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real program as a separate process (``python -m monitor``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=cwd)


def wait_for(pred: Any, timeout: float = 20.0) -> None:
    """Poll ``pred`` until it is true (for real processes; never a fixed sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


async def wait_until(pred: Any, timeout: float = 20.0, interval: float = 0.05) -> None:
    """``wait_for`` inside a coroutine: poll ``pred`` without blocking the event loop."""
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() >= deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
