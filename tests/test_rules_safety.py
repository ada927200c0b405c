"""A rule file cannot freeze or crash loading, and no pattern can freeze matching:
YAML aliases, file size and nesting; RE2 for ``|re``; bounded work per field."""

from __future__ import annotations

import json
import random
import textwrap
import time
from pathlib import Path

import pytest

from monitor.errors import RuleError, RuleProblem
from monitor.rules import Ruleset, load_ruleset
from monitor.rules.hits import close as _close
from monitor.rules.regex import MAX_HITS
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


def ruleset(tmp_path: Path, words: dict[str, list[str]], condition: str | None = None
            ) -> Ruleset:
    rule: dict[str, object] = {"id": "r", "category": "测试", "level": "blue", "weight": 10,
                               "words": words}
    if condition is not None:
        rule["condition"] = condition
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps([rule], ensure_ascii=False), encoding="utf-8")
    return load_ruleset(path)


def hits(rs: Ruleset, body: str) -> list[tuple[int, int, str]] | None:
    """(start, end, text) of each span of rule ``r`` in the body, or None."""
    for m in rs.evaluate(body=body).matches:
        if m.rule == "r":
            return [(s.start, s.end, s.text) for s in m.spans]
    return None


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


# -- |re: RE2 ---------------------------------------------------------------------------

@pytest.mark.timeout(20)
def test_catastrophic_pattern_runs_in_linear_time(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"模式|re": ["(a+)+b"]})
    began = time.monotonic()
    assert hits(rs, "a" * 5000 + "!") is None      # stdlib re: ~2 ** 5000 steps
    assert hits(rs, "a" * 5000 + "b") == [(0, 5001, "a" * 5000 + "b")]
    assert time.monotonic() - began < 2


@pytest.mark.timeout(20)
def test_many_hits_of_a_slow_pattern_stay_bounded(tmp_path: Path) -> None:
    # every hit of a.*b|a scans to the end of the text: quadratic without the hit cap
    rs = ruleset(tmp_path, {"模式|re": ["a.*b|a"]})
    began = time.monotonic()
    found = hits(rs, "a" * 200_000)
    assert time.monotonic() - began < 2
    assert found is not None and len(found) == MAX_HITS
    assert found[:2] == [(0, 1, "a"), (1, 2, "a")]


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(欠薪)\1", r"RE2 不支持反向引用和环视（\1）"),
    (r"(?P<x>欠薪)(?P=x)", "RE2 不支持反向引用和环视（(?P）"),
    ("欠薪(?=了)", "RE2 不支持反向引用和环视（(?=）"),
    ("(?<!不)欠薪", "RE2 不支持反向引用和环视（(?<!）"),
    ("欠薪++", "重复符号 ++ 无效"),
    ("欠{1001}", "重复次数 {1001} 无效（RE2 最多重复 1000 次）"),
    ("(?x)欠 薪", "RE2 不支持 (?x 这种写法"),
    (r"[\W]", r"字符类中不支持 \W"),
])
def test_patterns_re2_cannot_take_are_file_line_problems(tmp_path: Path, pattern: str,
                                                         reason: str) -> None:
    path = write(tmp_path / "r.yaml", f"""
    - id: x
      category: c
      level: red
      words:
        主体: [工地]
        事件|re:
          - 欠.*薪
          - '{pattern}'
    """)
    (problem,) = problems_of(path)
    assert (problem.file, problem.line) == (str(path), 8)
    assert problem.message.startswith(f"正则表达式 “{pattern}” 无效：{reason}"), problem


@pytest.mark.parametrize(("pattern", "body", "found"), [
    # offsets are characters of the text as given: emoji (astral), entities, full width
    (r"欠\d+个月", "😀😀已经欠3个月工资", [(4, 8, "欠3个月")]),
    (r"欠\d+个月", "😀&amp;欠３个月😀欠12个月", [(6, 10, "欠３个月"), (11, 16, "欠12个月")]),
    (r"[a-z]+\d+", "🚧编号ＡＢ１２", [(3, 7, "ＡＢ１２")]),
    ("covid", "😀COVID", [(1, 6, "COVID")]),
    # Python's Unicode classes are kept: \w takes 汉字, \d and \s are Unicode too
    (r"欠\w{0,4}工资", "项目部欠了三个月工资", [(3, 10, "欠了三个月工资")]),
    (r"欠[\w-]+薪", "欠ab-c薪", [(0, 6, "欠ab-c薪")]),
    (r"\d+\s*万元", "欠款30\u2003万元", [(2, 7, "30\u2003万元")]),
    (r"x\W+y", "x😀y", [(0, 3, "x😀y")]),
    (r"工资\Z", "拖欠工资", [(2, 4, "工资")]),
    # text RE2 cannot encode (lone surrogates) is searched with the same offsets
    (r"欠\d+个月", "\ud800欠3个月", [(1, 5, "欠3个月")]),
])
def test_regex_spans_are_character_offsets(tmp_path: Path, pattern: str, body: str,
                                           found: list[tuple[int, int, str]]) -> None:
    assert hits(ruleset(tmp_path, {"模式|re": [pattern]}), body) == found


def test_regex_case_rules(tmp_path: Path) -> None:
    assert hits(ruleset(tmp_path, {"编号|re": ["[A-Z]{2}1"]}), "ab1") == [(0, 3, "ab1")]
    rs = ruleset(tmp_path, {"编号|re|cased": ["[A-Z]{2}1"]})
    assert hits(rs, "ab1") is None and hits(rs, "AB1") == [(0, 3, "AB1")]
    rs = ruleset(tmp_path, {"编号|re|cased": ["(?i)[A-Z]{2}1"]})
    assert hits(rs, "ab1") == [(0, 3, "ab1")]


def test_regex_near(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"金额|re": [r"\d+万元"], "主体": ["工地"]}, "金额 near/2 主体")
    assert hits(rs, "😀工地欠款30万元") == [(1, 3, "工地"), (5, 9, "30万元")]
    assert hits(rs, "😀工地今天欠款30万元") is None


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


def test_a_huge_word_group_loads_in_linear_time(tmp_path):
    """60,000 words in one group: duplicates are found with a set, not a list scan (the
    list made this quadratic: about 30 s here; a hostile or generated file must not stall
    a reload)."""
    import time

    from monitor.rules import load_ruleset

    words = ", ".join(f"词{i:06d}甲乙" for i in range(60000))
    (tmp_path / "big.yaml").write_text(
        f"- id: big\n  category: 测试\n  level: blue\n  weight: 10\n  words:\n    大: [{words}, 词000001甲乙]\n",
        encoding="utf-8")
    t0 = time.monotonic()
    rs = load_ruleset(tmp_path)
    assert time.monotonic() - t0 < 10
    assert rs.word_count == 60000
