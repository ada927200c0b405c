"""The condition language: tokenizer, recursive-descent parser and AST.

Grammar (``not`` binds tighter than ``and``, ``and`` tighter than ``or``; ``near/N`` is a
binary operator on two operands and binds tightest of all)::

    expr    := and_expr ("or" and_expr)*
    and_expr:= unary ("and" unary)*
    unary   := "not" unary | primary
    primary := "(" expr ")" | operand ("near/" N operand)?
    operand := NAME ("|" MODIFIER)* | STRING ("|" MODIFIER)*

NAME is a word-group name from the rule's ``words:``; STRING is a quoted literal
(``"坍塌"`` or ``'坍塌'``). Keywords are case-insensitive. Errors carry the 1-based column.
Parentheses and ``not`` nest at most :data:`MAX_NESTING` deep (deeper would exhaust the
recursion of the parser and of everything that walks the tree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = [
    "MODIFIERS",
    "And",
    "ConditionSyntaxError",
    "Near",
    "Node",
    "Not",
    "Or",
    "Ref",
    "iter_refs",
    "matches_without_hits",
    "parse_condition",
]

MODIFIERS: tuple[str, ...] = ("title", "body", "word", "re", "cased")
KEYWORDS = frozenset({"and", "or", "not"})
MAX_NESTING = 50
_NAME_STOP = set(" \t\r\n()\"'|")


class ConditionSyntaxError(ValueError):
    """A condition that does not parse; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message}（第 {column} 列）")


@dataclass(frozen=True)
class Ref:
    """A reference to a word group (``literal=False``) or a quoted literal."""

    name: str
    modifiers: tuple[str, ...] = ()
    literal: bool = False
    column: int = 1
    index: int = -1      # set by the loader: the rule's group this operand resolves to


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    left: Ref
    right: Ref
    distance: int


Node = Ref | Not | And | Or | Near


@dataclass(frozen=True)
class _Token:
    kind: str      # "(", ")", "and", "or", "not", "near", "name", "string", "mod", "end"
    value: str
    column: int    # 1-based
    number: int = 0


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token(c, c, col))
            i += 1
        elif c in "\"'":
            j = text.find(c, i + 1)
            if j < 0:
                raise ConditionSyntaxError(f"引号 {c} 没有闭合", col)
            if j == i + 1:
                raise ConditionSyntaxError("引号内的词不能为空", col)
            tokens.append(_Token("string", text[i + 1:j], col))
            i = j + 1
        elif c == "|":
            j = i + 1
            while j < n and text[j] not in _NAME_STOP:
                j += 1
            mod = text[i + 1:j]
            if mod not in MODIFIERS:
                shown = mod or "（空）"
                raise ConditionSyntaxError(
                    f"未知的修饰符 |{shown}（可用：{'、'.join('|' + m for m in MODIFIERS)}）", col)
            tokens.append(_Token("mod", mod, col))
            i = j
        else:
            j = i
            while j < n and text[j] not in _NAME_STOP:
                j += 1
            word = text[i:j]
            low = word.lower()
            if low in KEYWORDS:
                tokens.append(_Token(low, low, col))
            elif low.startswith("near/") or low == "near":
                num = word[5:]
                if not num.isdigit() or not num.isascii():
                    raise ConditionSyntaxError("near 后面要写距离，例如 near/10", col)
                tokens.append(_Token("near", "near", col, int(num)))
            else:
                tokens.append(_Token("name", word, col))
            i = j
    tokens.append(_Token("end", "", n + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.open_parens: list[int] = []
        self.depth = 0

    def nest(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ConditionSyntaxError(f"嵌套过深：括号和 not 最多嵌套 {MAX_NESTING} 层",
                                       tok.column)

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ConditionSyntaxError("条件为空", 1)
        node = self.expr()
        tok = self.peek()
        if tok.kind == ")":
            raise ConditionSyntaxError("括号不匹配：多余的右括号 )", tok.column)
        if tok.kind != "end":
            raise ConditionSyntaxError(
                f"“{tok.value}” 前缺少 and 或 or", tok.column)
        return node

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        if self.peek().kind == "not":
            self.nest(self.take())
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind == "(":
            self.nest(self.take())
            self.open_parens.append(tok.column)
            if self.peek().kind == ")":
                raise ConditionSyntaxError("括号内为空", self.peek().column)
            node = self.expr()
            close = self.peek()
            if close.kind != ")":
                if close.kind == "end":
                    raise ConditionSyntaxError(
                        "括号不匹配：左括号 ( 没有对应的右括号", self.open_parens[-1])
                raise ConditionSyntaxError(f"“{close.value}” 前缺少 and 或 or", close.column)
            self.take()
            self.open_parens.pop()
            self.depth -= 1
            if self.peek().kind == "near":
                raise ConditionSyntaxError(
                    "near 两边只能是词组名或带引号的词，不能是括号表达式", self.peek().column)
            return node
        left = self.operand()
        if self.peek().kind == "near":
            near = self.take()
            if self.peek().kind == "(":
                raise ConditionSyntaxError(
                    "near 两边只能是词组名或带引号的词，不能是括号表达式", self.peek().column)
            right = self.operand()
            if self.peek().kind == "near":
                raise ConditionSyntaxError(
                    "near 不能连写，请用 and 连接两个 near", self.peek().column)
            return Near(left, right, near.number)
        return left

    def operand(self) -> Ref:
        tok = self.take()
        if tok.kind not in ("name", "string"):
            if tok.kind == "end":
                raise ConditionSyntaxError("条件不完整：末尾缺少词组名", tok.column)
            if tok.kind == ")":
                raise ConditionSyntaxError("括号不匹配：多余的右括号 )", tok.column)
            if tok.kind == "mod":
                raise ConditionSyntaxError("修饰符前缺少词组名", tok.column)
            raise ConditionSyntaxError(f"此处应为词组名，而不是 “{tok.value}”", tok.column)
        mods: list[str] = []
        while self.peek().kind == "mod":
            mods.append(self.take().value)
        return Ref(tok.value, tuple(mods), tok.kind == "string", tok.column)


def parse_condition(text: str) -> Node:
    """Parse a condition; raises :class:`ConditionSyntaxError` naming the column."""
    return _Parser(text).parse()


def iter_refs(node: Node, negated: bool = False) -> Iterator[tuple[Ref, bool]]:
    """Every operand with whether it sits under an odd number of ``not``."""
    if isinstance(node, Ref):
        yield node, negated
    elif isinstance(node, Not):
        yield from iter_refs(node.operand, not negated)
    elif isinstance(node, Near):
        yield node.left, negated
        yield node.right, negated
    else:
        for sub in node.operands:
            yield from iter_refs(sub, negated)


def evaluate(node: Node, present: Callable[[Ref], bool],
             near: Callable[[Near], bool]) -> bool:
    """Evaluate with callbacks (used for validation; the matcher compiles closures)."""
    if isinstance(node, Ref):
        return present(node)
    if isinstance(node, Not):
        return not evaluate(node.operand, present, near)
    if isinstance(node, Near):
        return near(node)
    if isinstance(node, And):
        return all(evaluate(n, present, near) for n in node.operands)
    return any(evaluate(n, present, near) for n in node.operands)


def matches_without_hits(node: Node) -> bool:
    """True if the condition holds when no group has any hit (e.g. ``not 排除``)."""
    return evaluate(node, lambda _r: False, lambda _n: False)
