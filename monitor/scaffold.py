"""``yuqing init``: copy the example deployment (``config/``, ``rules/``) into a directory,
adding only what is missing there."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUBDIRS = ("config", "rules", "logs", "data")


def template_dirs() -> tuple[Path, Path]:
    """The repository's own ``config/`` and ``rules/``: the example deployment."""
    config_dir, rules_dir = PROJECT_ROOT / "config", PROJECT_ROOT / "rules"
    if not (config_dir / "monitor.toml").exists() or not rules_dir.is_dir():
        raise ConfigError(f"找不到示例部署（{config_dir}、{rules_dir}）",
                          hint="请从源码目录以可编辑方式安装：pip install -e .")
    return config_dir, rules_dir


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` did: the directories and files it created, the files it kept."""

    created: list[Path]
    kept: list[Path]


def scaffold(target: Path) -> Scaffold:
    """Create what is missing of ``target/{config,rules,logs,data}``; a file already there
    is kept as it is (never overwritten) and listed in ``kept``."""
    config_dir, rules_dir = template_dirs()
    plan: list[tuple[Path, Path]] = [(config_dir / "monitor.toml", target / "config" / "monitor.toml")]
    plan += [(p, target / "rules" / p.name) for p in sorted(rules_dir.iterdir())
             if p.suffix in (".yaml", ".yml")]
    blocking = [d for d in (target, *(target / s for s in SUBDIRS))
                if d.exists() and not d.is_dir()]
    if blocking:
        raise ConfigError("这里已有同名文件，无法建目录", file=str(blocking[0]),
                          hint="换一个目录，或先移走这个文件")
    created: list[Path] = []
    for sub in SUBDIRS:
        d = target / sub
        if not d.exists():
            d.mkdir(parents=True)
            created.append(d)
    kept: list[Path] = []
    for src, dst in plan:
        if dst.exists():
            kept.append(dst)
            continue
        shutil.copyfile(src, dst)
        created.append(dst)
    return Scaffold(created, kept)
