"""Style rules that can be checked: import direction, module docstrings, README coverage."""

from __future__ import annotations

import ast
from pathlib import Path

import click

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "monitor"

# Stage order; a stage module may import only earlier stages (and the shared modules).
STAGES = ["fetch", "schedule", "parse", "normalize", "store", "rules",
          "incidents", "alerts", "report"]
SHARED = {"models", "errors", "config", "config_report", "durations", "redact"}
TIERS = {"pipeline", "daemon", "cli", "web", "scaffold", "opml", "__main__",
         "__init__", "rulekeeper", "backtest", "terminal"}


def _module_of(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    pkg_depth = len(path.relative_to(PKG).parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = node.module.split(".")[0] if node.module else ""
                if node.level > pkg_depth + 1:
                    continue
                if node.level == pkg_depth + 1:
                    if base:
                        found.add(base)
                    else:
                        found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("monitor."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("monitor."):
                    found.add(a.name.split(".")[1])
    return found


def test_stages_never_import_later_stages():
    problems = []
    for path in PKG.rglob("*.py"):
        mod = _module_of(path)
        if mod not in STAGES:
            continue
        for imported in _imports(path) - {mod}:
            if imported in SHARED:
                continue
            if imported in TIERS or (imported in STAGES and
                                     STAGES.index(imported) > STAGES.index(mod)):
                problems.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not problems, problems


def test_every_module_has_a_docstring():
    missing = [str(p.relative_to(ROOT)) for p in PKG.rglob("*.py")
               if not ast.get_docstring(ast.parse(p.read_text("utf-8")))]
    assert not missing, missing


def _commands(group: click.Group, prefix: str = "yuqing") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, full)
        else:
            out.append((full, cmd))
    return out


def test_every_command_is_in_the_readme_and_has_help_with_an_example():
    readme = (ROOT / "README.md").read_text("utf-8")
    cmds = _commands(main)
    assert len(cmds) >= 10
    missing = [name for name, _ in cmds if name not in readme]
    assert not missing, f"README lacks: {missing}"
    no_example = [name for name, cmd in cmds if "示例" not in (cmd.help or "")]
    assert not no_example, no_example
