"""Loading rule files: validation problems with FILE:LINE, directories, examples."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from monitor.errors import RuleError, RuleProblem
from monitor.rules import check_examples, load_ruleset

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[RuleProblem]:
    with pytest.raises(RuleError) as info:
        load_ruleset(path)
    return info.value.problems


def lines(problems: list[RuleProblem], fragment: str) -> list[int]:
    return [p.line for p in problems if fragment in p.message]


def test_broken_fixture_reports_every_problem_with_its_line() -> None:
    problems = problems_of(FIXTURES / "broken")
    a = str(FIXTURES / "broken" / "a.yaml")
    b = str(FIXTURES / "broken" / "b.yaml")
    got = {(p.file, p.line, p.message.split("：")[0].split("（")[0]) for p in problems}
    assert got == {
        (a, 10, "级别 “purple” 无效，应为 info、blue、yellow、orange、red 之一"),
        (a, 11, "权重 150 超出范围，应为 0 到 100 之间的整数"),
        (a, 12, "未知字段 “colour”"),
        (a, 20, "词组 “主体” 的修饰符 |foo 未知"),
        (a, 21, "词组 “空组” 为空"),
        (a, 22, "正则表达式 “(欠薪” 无效"),
        (a, 23, "词 “\\u200b\\u200d” 规范化后为空或只剩空白、标点、符号"),
        (a, 24, "条件中的词组 “未定义” 未在 words 中定义"),
        (a, 31, "条件语法错误"),
        (a, 38, "条件必须至少包含一个肯定的词组"),
        (b, 2, "规则 id “dup” 重复"),
    }
    dup = next(p for p in problems if "重复" in p.message and p.file == b)
    assert f"{a}:1" in dup.message                     # names both places
    paren = next(p for p in problems if "括号" in p.message)
    assert "第 1 列" in paren.message
    assert str(paren) == f"{a}:31: {paren.message}"   # FILE:LINE: message


@pytest.mark.parametrize(("body", "line", "fragment"), [
    # each case is one rule; the expected line is 1-based in the file written
    ("""
     - id: x
       category: c
       level: yellow
       words: {主体: [工地]}
       condition: 主体 and (主体 or 事件
     """, 5, "括号不匹配"),
    ("""
     - id: x
       category: c
       level: yellow
       words:
         主体: [工地]
       condition: 主体 and 事件
     """, 6, "“事件” 未在 words 中定义（第 8 列"),
    ("""
     - id: x
       category: c
       level: yellow
       words:
         主体: [工地]
       condition: 主体 and 主体)
     """, 6, "多余的右括号 )（第 10 列）"),
    ("""
     - id: x
       category: c
       level: yellow
       words:
         主体: [工地]
       condition: |
         主体 and
         (主体 or 事件)
     """, 8, "“事件” 未在 words 中定义"),
    ("""
     - id: x
       category: c
       level: critical
       words: {主体: [工地]}
     """, 3, "级别 “critical” 无效"),
    ("""
     - id: x
       category: c
       level: red
       weight: -1
       words: {主体: [工地]}
     """, 4, "权重 -1 超出范围"),
    ("""
     - id: x
       category: c
       level: red
       weight: 101
       words: {主体: [工地]}
     """, 4, "权重 101 超出范围"),
    ("""
     - id: x
       category: c
       level: red
       weight: 很高
       words: {主体: [工地]}
     """, 4, "weight 应为整数"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体: [工地]
         事件|re:
           - 欠.*薪
           - "[unclosed"
     """, 8, "正则表达式 “[unclosed” 无效"),
    ("""
     - id: x
       category: c
       level: red
       words:
         事件|re: ["a*"]
     """, 5, "能匹配空字符串"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体: [工地]
         事件: []
     """, 6, "词组 “事件” 为空"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体:
           - 工地
           - "\\u200b"
     """, 7, "规范化后为空"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体: [工地, "**"]
     """, 5, "只剩空白、标点、符号"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体|bold: [工地]
     """, 5, "修饰符 |bold 未知"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体|title|body: [工地]
     """, 5, "不能同时使用 |title 和 |body"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体: [工地]
       condition: 主体|loud
     """, 6, "未知的修饰符 |loud"),
    ("""
     - id: x
       category: c
       level: red
       words: {主体: [工地]}
       condition: 主体|re
     """, 5, "|re 只能写在 words 的词组名上"),
    ("""
     - id: x
       category: c
       level: red
       words:
         排除: [招聘]
       condition: not 排除
     """, 6, "条件必须至少包含一个肯定的词组"),
    ("""
     - id: x
       category: c
       level: red
       words: {主体: [工地]}
       conditon: 主体
     """, 5, "未知字段 “conditon”"),
    ("""
     - id: x
       category: c
       level: red
       words: {主体: [工地]}
       examples:
         match: [工地]
         maybe: [工地]
     """, 7, "未知字段 “maybe”"),
    ("""
     - id: x
       name: 缺级别
       category: c
       words: {主体: [工地]}
     """, 1, "缺少必填字段 level"),
    ("""
     - id: x
       category: c
       level: red
     """, 1, "规则没有任何词组"),
    ("""
     - id: x
       category: c
       level: red
       words:
         主体: [工地]
         主体|title: [项目]
     """, 6, "词组 “主体” 重复定义"),
    ("""
     - id: x
       category: c
       level: red
       words: {主体: [工地]}
     - id: x
       category: c
       level: red
       words: {主体: [工地]}
     """, 5, "规则 id “x” 重复"),
    ("""
     - id: x
       category: c
       level: red
       level: blue
       words: {主体: [工地]}
     """, 4, "键 “level” 重复出现"),
    ("""
     - id: x
       category: c
       level: red
       words: {主体: [工地
     """, 5, "YAML 语法错误"),
    ("""
     id: x
     category: c
     """, 1, "文件顶层应为规则列表"),
])
def test_single_problem_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = write(tmp_path, body)
    problems = problems_of(path)
    assert any(fragment in p.message for p in problems), problems
    assert lines(problems, fragment) == [line], problems
    assert all(p.file == str(path) for p in problems)


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    rule = """
    # comment line
    - id: same
      category: c
      level: red
      words: {主体: [工地]}
    """
    write(tmp_path, rule, "a.yaml")
    (tmp_path / "b.yml").write_text("\n\n" + textwrap.dedent(rule).lstrip("\n"), "utf-8")
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "b.yml")
    assert problem.line == 4
    assert f"{tmp_path / 'a.yaml'}:2" in problem.message


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    (p,) = problems_of(tmp_path / "nope")
    assert "找不到" in p.message
    empty = tmp_path / "empty"
    empty.mkdir()
    (p,) = problems_of(empty)
    assert "没有规则文件" in p.message


def test_load_directory_single_file_and_metadata() -> None:
    rs = load_ruleset(FIXTURES / "valid")
    assert [r.id for r in rs.rules] == ["wage-arrears", "demolition"]
    assert set(rs.files) == {"10-wages.yaml", "20-demolition.yml"}
    assert len(rs.version) == 12 and int(rs.version, 16) >= 0
    assert rs.word_count == 10
    wage = rs.rule("wage-arrears")
    assert wage is not None
    assert (wage.name, wage.category, wage.level, wage.weight, wage.line) == \
        ("拖欠农民工工资", "欠薪讨薪", "yellow", 40, 2)
    assert wage.file == str(FIXTURES / "valid" / "10-wages.yaml")
    one = load_ruleset(FIXTURES / "valid" / "20-demolition.yml")
    assert [r.id for r in one.rules] == ["demolition"]
    assert one.version != rs.version
    assert load_ruleset(FIXTURES / "valid").version == rs.version


def test_version_changes_with_content(tmp_path: Path) -> None:
    rule = "- id: x\n  category: c\n  level: red\n  words: {主体: [工地]}\n"
    write(tmp_path, rule)
    v1 = load_ruleset(tmp_path).version
    write(tmp_path, rule.replace("工地", "项目"))
    assert load_ruleset(tmp_path).version != v1


def test_empty_file_is_allowed_next_to_others(tmp_path: Path) -> None:
    write(tmp_path, "# nothing yet\n", "a.yaml")
    write(tmp_path, "- id: x\n  category: c\n  level: red\n  words: {主体: [工地]}\n", "b.yaml")
    assert [r.id for r in load_ruleset(tmp_path).rules] == ["x"]


def test_check_examples_passes_for_valid_fixture() -> None:
    assert check_examples(load_ruleset(FIXTURES / "valid")) == []


def test_check_examples_reports_failures_at_the_example_line(tmp_path: Path) -> None:
    path = write(tmp_path, """
    - id: wages
      category: 欠薪讨薪
      level: yellow
      words:
        事件: [欠薪, 讨薪]
        排除: [招聘]
      condition: 事件 and not 排除
      examples:
        match:
          - 工人讨薪
          - 工人维权
        nomatch:
          - 招聘讨薪专员
          - 某地欠薪
    """)
    problems = check_examples(load_ruleset(path))
    assert [(p.file, p.line) for p in problems] == [(str(path), 11), (str(path), 14)]
    assert "应命中规则 wages" in problems[0].message and "工人维权" in problems[0].message
    assert "不应命中规则 wages" in problems[1].message and "欠薪" in problems[1].message


def test_examples_for_title_only_rules_use_the_title(tmp_path: Path) -> None:
    path = write(tmp_path, """
    - id: t
      category: c
      level: blue
      words:
        事件|title: [坍塌]
      examples:
        match: [工地坍塌]
    - id: tb
      category: c
      level: blue
      words:
        主体|title: [工地]
        事件|body: [坍塌]
      examples:
        match: [工地坍塌]
    - id: explicit
      category: c
      level: blue
      words:
        事件|body: [坍塌]
      examples:
        match: [{title: 标题, body: 工地坍塌}]
        nomatch: [{title: 工地坍塌, body: 正文}]
    """)
    rs = load_ruleset(path)
    assert check_examples(rs) == []
    ex = rs.rule("t").examples[0]           # type: ignore[union-attr]
    assert (ex.title, ex.body) == ("工地坍塌", "")
    ex = rs.rule("tb").examples[0]          # type: ignore[union-attr]
    assert (ex.title, ex.body) == ("工地坍塌", "工地坍塌")


def test_rule_error_str_lists_file_line_message(tmp_path: Path) -> None:
    path = write(tmp_path, "- id: x\n  category: c\n  level: nope\n  words: {主体: [工地]}\n")
    with pytest.raises(RuleError) as info:
        load_ruleset(path)
    assert str(info.value).startswith(f"{path}:3: 级别 “nope” 无效")


def test_numbers_and_single_strings_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, """
    - id: 110
      category: c
      level: red
      words:
        号码: 12345
        事件: 坍塌
      condition: 号码 or 事件
      examples:
        match: [拨打12345反映]
    """)
    rs = load_ruleset(path)
    assert rs.rules[0].id == "110"
    assert check_examples(rs) == []


@pytest.mark.parametrize(("text", "line", "words"), [
    ("- id: a\n  words:\n    甲: [工地, 讨薪\n  level: blue\n", 4, "没有闭合"),
    ("- id: a\n  name: 'x\n", 3, "结束"),
    ("- id: a\n  name: a: b\n", 2, "冒号"),
])
def test_yaml_syntax_errors_are_chinese(tmp_path, text, line, words):
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path)
    (problem,) = info.value.problems
    assert problem.line == line and words in problem.message
    assert not re.search(r"[A-Za-z]{4,}", problem.message.replace("YAML", "")), problem.message
