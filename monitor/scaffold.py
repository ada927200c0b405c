"""``yuqing init``: copy the example deployment (``config/``, ``rules/``) into a new directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def template_dirs() -> tuple[Path, Path]:
    """The repository's own ``config/`` and ``rules/``: the example deployment."""
    config_dir, rules_dir = PROJECT_ROOT / "config", PROJECT_ROOT / "rules"
    if not (config_dir / "monitor.toml").exists() or not rules_dir.is_dir():
        raise ConfigError(f"找不到示例部署（{config_dir}、{rules_dir}）",
                          hint="请从源码目录以可编辑方式安装：pip install -e .")
    return config_dir, rules_dir


def scaffold(target: Path) -> list[Path]:
    """Create ``target/{config,rules,logs,data}``; refuses to overwrite any existing file."""
    config_dir, rules_dir = template_dirs()
    plan: list[tuple[Path, Path]] = [(config_dir / "monitor.toml", target / "config" / "monitor.toml")]
    plan += [(p, target / "rules" / p.name) for p in sorted(rules_dir.iterdir())
             if p.suffix in (".yaml", ".yml")]
    existing = [dst for _, dst in plan if dst.exists()]
    if existing:
        raise ConfigError("文件已存在，不会覆盖", file=str(existing[0]),
                          hint="换一个空目录，或先移走已有文件")
    created: list[Path] = []
    for sub in ("config", "rules", "logs", "data"):
        d = target / sub
        if not d.exists():
            d.mkdir(parents=True)
            created.append(d)
    for src, dst in plan:
        shutil.copyfile(src, dst)
        created.append(dst)
    return created
