"""A rule file cannot freeze or crash loading, and matching stays linear:
YAML aliases, file size and nesting; bounded work per field."""

from __future__ import annotations

import random
import textwrap
import time
from pathlib import Path

import pytest

from monitor.errors import RuleError, RuleProblem
from monitor.rules import load_ruleset
from monitor.rules.matcher import _close
from monitor.rules.schema import MAX_FILE_BYTES

from support import run_yuqing, write_config


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Nested anchors: 9 ** 9 words once expanded (the first alias is on line 6)."""
    lines = ["- id: bomb", "  category: c", "  level: red", "  words:",
             "    l0: &l0 [" + ", ".join(["工地"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def problems_of(path: Path) -> list[RuleProblem]:
    with pytest.raises(RuleError) as info:
        load_ruleset(path)
    return info.value.problems


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# -- YAML: aliases, size, nesting ------------------------------------------------------

def test_rules_check_refuses_an_alias_bomb_quickly(tmp_path: Path) -> None:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    config = write_config(tmp_path, rules_dir=d)
    began = time.monotonic()
    r = run_yuqing("--config", str(config), "rules", "check", str(d), timeout=60)
    elapsed = time.monotonic() - began
    assert r.returncode == 1, r.stderr
    assert elapsed < 15, elapsed                       # today: never finishes
    lines = r.stderr.strip().splitlines()
    assert lines == [f"{d / 'bomb.yaml'}:6: 不支持 YAML 别名（*l0）：请直接写出内容"
                     "（规则文件不能用 & 和 * 引用别处的内容）"], r.stderr


@pytest.mark.timeout(20)
def test_load_ruleset_refuses_an_alias_bomb_at_the_first_alias(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("# 注释\n" + alias_bomb(levels=12, width=12), encoding="utf-8")
    began = time.monotonic()
    (problem,) = problems_of(path)
    assert time.monotonic() - began < 2
    assert (problem.file, problem.line) == (str(path), 7)
    assert problem.message.startswith("不支持 YAML 别名（*l0）")


def test_a_single_alias_is_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", """
    - id: x
      category: &cat 欠薪讨薪
      level: red
      name: *cat
      words: {主体: [工地]}
    """)
    (problem,) = problems_of(path)
    assert problem.line == 4 and "不支持 YAML 别名（*cat）" in problem.message


def test_a_merge_key_is_an_alias(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", """
    - &base
      id: a
      category: c
      level: red
      words: {主体: [工地]}
    - <<: *base
      id: b
    """)
    (problem,) = problems_of(path)
    assert problem.line == 6 and "*base" in problem.message


def test_an_anchor_without_alias_is_harmless(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", """
    - id: x
      category: &cat c
      level: red
      words: {主体: [工地]}
    """)
    assert [r.category for r in load_ruleset(path).rules] == ["c"]


def test_deep_nesting_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 500 + "工地" + "]" * 500        # today: RecursionError
    path = write(tmp_path / "r.yaml", f"""
    - id: x
      category: c
      level: red
      words:
        主体: {deep}
    """)
    (problem,) = problems_of(path)
    assert problem.line == 5 and "嵌套超过" in problem.message


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    rule = "- id: x\n  category: c\n  level: red\n  words: {主体: [工地]}\n"
    path = tmp_path / "big.yaml"
    path.write_text(rule + "# " + "长" * (MAX_FILE_BYTES // 3) + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert (problem.file, problem.line) == (str(path), 1)
    assert problem.message.startswith("规则文件过大（2.0 MiB，上限 2 MiB）")
    path.write_text(rule + "# " + "长" * (MAX_FILE_BYTES // 3 - 100) + "\n", encoding="utf-8")
    assert len(load_ruleset(path)) == 1


@pytest.mark.parametrize("condition", ["(" * 3000 + "主体" + ")" * 3000,
                                       "not " * 3000 + "主体 and 主体"])
def test_deeply_nested_condition_is_a_problem_not_a_crash(tmp_path: Path,
                                                          condition: str) -> None:
    path = write(tmp_path / "r.yaml", f"""
    - id: x
      category: c
      level: red
      words: {{主体: [工地]}}
      condition: "{condition}"
    """)
    (problem,) = problems_of(path)
    assert problem.line == 5 and "嵌套过深" in problem.message


# -- near: no quadratic walks -----------------------------------------------------------

def _close_slow(sa: list[tuple[int, int]], sb: list[tuple[int, int]], n: int,
                same: bool) -> bool:
    return any(b[0] <= a[1] + n and b[1] >= a[0] - n and not (same and a == b)
               for a in sa for b in sb)


def test_close_agrees_with_the_definition() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        def spans() -> list[tuple[int, int]]:
            out = set()
            for _ in range(rnd.randint(1, 6)):
                s = rnd.randint(0, 40)
                out.add((s, s + rnd.randint(1, 12)))
            return sorted(out)
        sa, sb, n = spans(), spans(), rnd.randint(0, 5)
        assert _close(sa, sb, n) == _close_slow(sa, sb, n, False), (sa, sb, n)
        assert _close(sb, sb, n, same=True) == _close_slow(sb, sb, n, True), (sb, n)


def test_close_is_not_quadratic() -> None:
    # one long span first, then many short ones that all end too early for each a
    sb = [(0, 100_000)] + [(i, i + 1) for i in range(100_001, 200_000)]
    sa = [(i, i + 1) for i in range(200_010, 300_000)]
    began = time.monotonic()
    assert not _close(sa, sb, 5)
    assert time.monotonic() - began < 2
