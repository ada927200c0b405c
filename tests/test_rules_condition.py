"""The condition language: tokenizer and recursive-descent parser."""

from __future__ import annotations

import pytest

from monitor.rules.condition import (
    And,
    ConditionSyntaxError,
    Near,
    Not,
    Or,
    Ref,
    iter_refs,
    matches_without_hits,
    parse_condition,
)


def show(node: object) -> str:
    """A compact, fully parenthesized rendering of the AST."""
    if isinstance(node, Ref):
        name = f'"{node.name}"' if node.literal else node.name
        return name + "".join("|" + m for m in node.modifiers)
    if isinstance(node, Not):
        return f"(not {show(node.operand)})"
    if isinstance(node, Near):
        return f"({show(node.left)} near/{node.distance} {show(node.right)})"
    if isinstance(node, And):
        return "(" + " and ".join(show(x) for x in node.operands) + ")"
    assert isinstance(node, Or)
    return "(" + " or ".join(show(x) for x in node.operands) + ")"


@pytest.mark.parametrize(("text", "tree"), [
    ("A", "A"),
    ("A and B", "(A and B)"),
    ("A or B", "(A or B)"),
    ("not A", "(not A)"),
    ("A and B or C", "((A and B) or C)"),
    ("A or B and C", "(A or (B and C))"),
    ("not A and B", "((not A) and B)"),
    ("not A or B", "((not A) or B)"),
    ("A and not B or C", "((A and (not B)) or C)"),
    ("A and (B or C)", "(A and (B or C))"),
    ("not (A or B)", "(not (A or B))"),
    ("not not A", "(not (not A))"),
    ("A near/5 B", "(A near/5 B)"),
    ("not A near/5 B", "(not (A near/5 B))"),
    ("A near/5 B and C", "((A near/5 B) and C)"),
    ("C or A near/0 B", "(C or (A near/0 B))"),
    ('"坍塌" and 主体', '("坍塌" and 主体)'),
    ("'坍塌' or 主体", '("坍塌" or 主体)'),
    ('"坍 塌" near/3 主体', '("坍 塌" near/3 主体)'),
    ("事件|title and 主体|word|body", "(事件|title and 主体|word|body)"),
    ('"欠薪"|title', '"欠薪"|title'),
    ("A AND B OR NOT C", "((A and B) or (not C))"),
    ("A NEAR/12 B", "(A near/12 B)"),
    ("((A))", "A"),
    ("主体 and 事件 and not 排除", "(主体 and 事件 and (not 排除))"),
])
def test_parse(text: str, tree: str) -> None:
    assert show(parse_condition(text)) == tree


@pytest.mark.parametrize(("text", "column", "fragment"), [
    ("(A and B", 1, "括号不匹配"),
    ("A and (B or (C and D)", 7, "括号不匹配"),
    ("A and B)", 8, "括号不匹配"),
    ("A and", 6, "不完整"),
    ("and A", 1, "此处应为词组名"),
    ("A B", 3, "缺少 and 或 or"),
    ("A near B", 3, "near 后面要写距离"),
    ("A near/x B", 3, "near 后面要写距离"),
    ("(A or B) near/3 C", 10, "near 两边"),
    ("A near/3 (B or C)", 10, "near 两边"),
    ("A near/3 B near/3 C", 12, "不能连写"),
    ('"欠薪 and A', 1, "引号"),
    ('"" and A', 1, "不能为空"),
    ("A|foo", 2, "未知的修饰符 |foo"),
    ("A|", 2, "未知的修饰符"),
    ("|title", 1, "修饰符前缺少词组名"),
    ("", 1, "条件为空"),
    ("()", 2, "括号内为空"),
])
def test_syntax_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert info.value.column == column
    assert fragment in str(info.value)
    assert f"第 {column} 列" in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("A", False),
    ("not A", True),
    ("A or not B", True),
    ("A and not B", False),
    ("not (A and B)", True),
    ("not (A or B) and C", False),
    ("A near/3 B", False),
    ("not A near/3 B", True),
])
def test_matches_without_hits(text: str, expected: bool) -> None:
    assert matches_without_hits(parse_condition(text)) is expected


def test_iter_refs_marks_negation() -> None:
    refs = [(r.name, neg) for r, neg in iter_refs(parse_condition("A and not (B or not C)"))]
    assert refs == [("A", False), ("B", True), ("C", False)]


def test_ref_columns() -> None:
    node = parse_condition("主体 and 事件")
    assert isinstance(node, And)
    assert [r.column for r in node.operands if isinstance(r, Ref)] == [1, 8]
