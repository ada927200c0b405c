"""Style rules that can be checked: import direction, module docstrings, README coverage."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "monitor"

# The layers, lowest first. Shared modules may be imported by anything; a stage only by
# later stages and the wiring; the wiring tiers only by later tiers (pipeline < runtime <
# web < daemon < cli: the daemon runs the console). Infrastructure (process, logging and
# display helpers) serves the wiring and imports no tier itself.
SHARED = {"models", "errors", "config", "config_errors", "durations", "redact", "timefmt",
          "__version__"}  # the package root holds only the version
STAGES = ["fetch", "schedule", "parse", "normalize", "tone", "store", "rules", "rulekeeper", "score",
          "backtest", "incidents", "alerts", "rescore", "report", "accounts"]
TIERS = ["pipeline", "runtime", "web", "daemon", "cli"]
INFRA = {"workers", "sdnotify", "logsetup", "terminal", "opml", "scaffold", "__init__",
         "__main__"}


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


def _rank(mod: str) -> tuple[int, int]:
    """(layer, position): shared 0, stages 1, infrastructure 2, wiring tiers 3."""
    if mod in SHARED:
        return 0, 0
    if mod in STAGES:
        return 1, STAGES.index(mod)
    if mod in INFRA:
        return 2, 0
    assert mod in TIERS, f"monitor/{mod} is in no layer: add it to test_architecture.py"
    return 3, TIERS.index(mod)


def test_imports_go_down_the_layers_only():
    """Stages never import a later stage or the wiring; the pipeline never imports the
    runtime, the runtime never the daemon, the daemon never the CLI; infrastructure
    imports no wiring tier (``__main__`` only the CLI it runs)."""
    problems = []
    for path in PKG.rglob("*.py"):
        mod = _module_of(path)
        layer, pos = _rank(mod)
        for imported in _imports(path) - {mod}:
            other_layer, other_pos = _rank(imported)
            if layer == 0:
                ok = other_layer == 0
            elif layer == 1:
                ok = other_layer == 0 or (other_layer == 1 and other_pos < pos)
            elif layer == 2:
                ok = other_layer < 3 or (mod == "__main__" and imported == "cli")
            else:
                ok = other_layer < 3 or other_pos < pos
            if not ok:
                problems.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not problems, problems


def test_every_module_imports_on_its_own():
    """Each module imported first, with no other module of ours loaded (import cycles fail
    here), in a fresh interpreter."""
    import subprocess
    import sys

    names = sorted(".".join(("monitor", *p.relative_to(PKG).with_suffix("").parts))
                   .removesuffix(".__init__") for p in PKG.rglob("*.py"))
    script = (
        "import importlib, sys\n"
        f"names = {names!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for m in [m for m in sys.modules if m == 'monitor' or m.startswith('monitor.')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as e:\n"
        "        failed.append(f'{name}: {type(e).__name__}: {e}')\n"
        "print('\\n'.join(failed))\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", r.stdout
    assert len(names) > 40


@pytest.mark.parametrize("args", [["--help"], ["feeds", "status"], ["items", "list"]])
def test_light_commands_do_not_load_the_rule_engine(tmp_path, args):
    """``yuqing --help`` and the status commands start without jieba or the matcher."""
    import subprocess
    import sys

    from support import write_config

    config = write_config(tmp_path)
    script = ("import atexit, sys\n"
              "atexit.register(lambda: sys.stderr.write('LOADED:' + ','.join(sorted(m for m in "
              "('rjieba', 'ahocorasick', 'monitor.rules', 'apscheduler', 'feedparser') "
              "if m in sys.modules)) + '\\n'))\n"
              "from monitor.cli import main\n"
              "main(sys.argv[1:])\n")
    r = subprocess.run([sys.executable, "-c", script, "--config", str(config), *args],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "LOADED:\n" in r.stderr, r.stderr


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


def test_readme_structure_table_names_every_module():
    """Every module appears in the README's code-structure table: as its path, or as its
    package's path with the module's name listed beside it."""
    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme[readme.index("### 代码结构"):]
    missing = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if len(rel.parts) == 1:
            ok = f"monitor/{rel.name}" in table or f"`{rel.name}`" in table
        else:
            pkg, name = rel.parts[0], rel.stem
            ok = f"monitor/{pkg}/" in table and (name == "__init__" or f"`{name}`" in table)
        if not ok:
            missing.append(str(rel))
    assert not missing, missing
