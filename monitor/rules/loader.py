"""Load rule files into a :class:`Ruleset`: find files, compile groups and conditions, and
report every problem at once as a :class:`RuleError` of ``FILE:LINE`` problems.

Checks beyond the schema (see ``schema.py``): group names and modifiers, empty groups,
words that are empty after normalization (only zero-width or interference characters),
bad regular expressions (RE2 syntax, see ``regex.py``) or ones that match the empty
string, condition syntax (with column), unknown groups in a condition, conditions that
hold with no hit at all (``not 排除``), and duplicate rule ids across files (naming both
places).

``check_examples`` runs each rule's ``examples``. A plain-text example is evaluated as
the body (``title=""``); if the rule has ``|title`` groups and no ``|body`` group it is
evaluated as the title instead, and if it has both it is used as title and body. An
example may also be a mapping ``{title: ..., body: ...}``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

from yaml.nodes import SequenceNode

from monitor.errors import RuleError, RuleProblem
from monitor.normalize import is_interference, normalize
from monitor.rules.compiled import CompiledRule, Example, Group, ToneLike
from monitor.rules.condition import (
    KEYWORDS,
    MODIFIERS,
    And,
    ConditionSyntaxError,
    Near,
    Not,
    Ref,
    iter_refs,
    matches_without_hits,
    parse_condition,
)
from monitor.rules.condition import Node as CondNode
from monitor.rules.regex import Regex, RegexError, compile_regex
from monitor.rules.ruleset import Ruleset
from monitor.rules.schema import MAX_FILE_BYTES, RawRule, line_of, read_rule_file, too_large

__all__ = ["check_examples", "compile_rule", "load_ruleset", "load_ruleset_texts"]

RULE_SUFFIXES = (".yaml", ".yml")
_BAD_NAME = re.compile(r"[\s()\"'|]")
_MOD_LIST = "、".join("|" + m for m in MODIFIERS)


def _show(word: str) -> str:
    """The word with invisible characters written as \\uXXXX."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] in "CZ" and c != " "
                   else c for c in word)


class _Rule:
    """Compiles one raw rule, collecting problems."""

    def __init__(self, raw: RawRule, problems: list[RuleProblem]) -> None:
        self.raw = raw
        self.m = raw.model
        self.file = raw.file
        self.problems = problems
        self.defs: dict[str, tuple[frozenset[str], list[str], bool]] = {}   # name -> mods, words, ok
        self.groups: list[Group] = []
        self.index: dict[tuple[bool, str, frozenset[str]], int] = {}
        self.built: dict[tuple[bool, str, frozenset[str]], Group | None] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append(RuleProblem(self.file, line, message))

    def line(self, *path: str | int, key: bool = False) -> int:
        return line_of(self.raw.node, path, key)

    def compile(self) -> CompiledRule | None:
        before = len(self.problems)
        for key, words in self.m.words.items():
            self.define(key, words)
        for name, (mods, words, ok) in self.defs.items():
            self.built[(False, name, mods)] = \
                self.make_group(name, mods, words, Ref(name)) if ok else None
        condition = self.condition()
        if condition is not None:
            condition = self.resolve(condition)
        if len(self.problems) > before or condition is None:
            return None
        positive = frozenset(r.index for r, neg in iter_refs(condition) if not neg)
        return CompiledRule(
            id=self.m.id, name=self.m.name or self.m.id, category=self.m.category,
            level=self.m.level, weight=self.m.weight, file=self.file, line=self.raw.line,
            groups=tuple(self.groups), condition=condition, condition_text=self.m.condition,
            positive=positive, examples=self.examples(), description=self.m.description,
            tones=tuple(dict.fromkeys(self.m.tone)), min_negative=self.m.min_negative)

    def define(self, key: str, words: list[str]) -> None:
        line = self.line("words", key, key=True)
        name, *mods = (part.strip() for part in key.split("|"))
        if not name or _BAD_NAME.search(name) or name.lower() in KEYWORDS \
                or name.lower().startswith("near"):
            self.problem(line, f"词组名 “{name}” 无效：不能为空、不能含空格、括号、引号，"
                               "也不能是 and/or/not/near")
            return
        if name in self.defs:
            self.problem(line, f"词组 “{name}” 重复定义")
            return
        ok = True
        for mod in mods:
            if mod not in MODIFIERS:
                self.problem(line, f"词组 “{name}” 的修饰符 |{mod} 未知（可用：{_MOD_LIST}）")
                ok = False
        if "title" in mods and "body" in mods:
            self.problem(line, f"词组 “{name}” 不能同时使用 |title 和 |body")
            ok = False
        if not words:
            self.problem(line, f"词组 “{name}” 为空：至少要有一个词")
            ok = False
        self.defs[name] = (frozenset(m for m in mods if m in MODIFIERS), words, ok)

    def condition(self) -> CondNode | None:
        text = self.m.condition
        if text is None or not text.strip():
            if text is not None:
                self.problem(self.line("condition"), "条件为空")
                return None
            if not self.defs:
                self.problem(self.raw.line, "规则没有任何词组：请写 words（和 condition）")
                return None
            refs = tuple(Ref(name) for name in self.defs)
            return refs[0] if len(refs) == 1 else And(refs)
        try:
            node = parse_condition(text)
        except ConditionSyntaxError as e:
            self.problem(self.condition_line(e.column), f"条件语法错误：{e}")
            return None
        if matches_without_hits(node):
            self.problem(self.line("condition"),
                         "条件必须至少包含一个肯定的词组（现在没有任何命中时条件也成立）")
            return None
        return node

    def condition_line(self, column: int) -> int:
        node = self.raw.child("condition")
        line = self.line("condition")
        if node is not None and getattr(node, "style", None) == "|":
            text = self.m.condition or ""
            line += 1 + text[:max(0, column - 1)].count("\n")
        return line

    def resolve(self, node: CondNode) -> CondNode | None:
        if isinstance(node, Ref):
            index = self.group_for(node)
            return None if index is None else Ref(node.name, node.modifiers, node.literal,
                                                  node.column, index)
        if isinstance(node, Not):
            inner = self.resolve(node.operand)
            return None if inner is None else Not(inner)
        if isinstance(node, Near):
            left, right = self.resolve(node.left), self.resolve(node.right)
            if not isinstance(left, Ref) or not isinstance(right, Ref):
                return None
            return Near(left, right, node.distance)
        parts = [self.resolve(n) for n in node.operands]
        if any(p is None for p in parts):
            return None
        return type(node)(tuple(p for p in parts if p is not None))

    def group_for(self, ref: Ref) -> int | None:
        line = self.condition_line(ref.column) if self.m.condition else self.raw.line
        if ref.literal:
            mods, words, shown = frozenset(ref.modifiers), [ref.name], f"\"{ref.name}\""
        else:
            if ref.name not in self.defs:
                known = "、".join(self.defs) or "（无）"
                self.problem(line, f"条件中的词组 “{ref.name}” 未在 words 中定义"
                                   f"（第 {ref.column} 列；已定义：{known}）")
                return None
            if "re" in ref.modifiers:
                self.problem(line, f"|re 只能写在 words 的词组名上（第 {ref.column} 列）")
                return None
            def_mods, words, ok = self.defs[ref.name]
            if not ok:
                return None
            mods, shown = def_mods | set(ref.modifiers), ref.name
        if "title" in mods and "body" in mods:
            self.problem(line, f"“{shown}” 不能同时使用 |title 和 |body（第 {ref.column} 列）")
            return None
        key = (ref.literal, ref.name, mods)
        if key not in self.index:
            if key in self.built:
                group = self.built[key]
            else:
                group = self.built[key] = self.make_group(shown, mods, words, ref)
            if group is None:
                return None
            self.index[key] = len(self.groups)
            self.groups.append(group)
        return self.index[key]

    def make_group(self, name: str, mods: frozenset[str], words: list[str],
                   ref: Ref) -> Group | None:
        cased, is_re = "cased" in mods, "re" in mods
        out: list[str] = []
        seen: set[str] = set()   # a group of 100,000 words must not cost n² comparisons
        patterns: list[Regex] = []
        ok = True
        seq = None if ref.literal else self.raw.child("words", self._key_of(ref.name))
        for i, word in enumerate(words):
            if ref.literal:
                line = self.condition_line(ref.column)
            elif isinstance(seq, SequenceNode) and i < len(seq.value):
                line = seq.value[i].start_mark.line + 1
            else:
                line = self.line("words", self._key_of(ref.name))
            if is_re:
                try:
                    pat = compile_regex(word, cased=cased)
                except RegexError as e:
                    self.problem(line, f"正则表达式 “{_show(word)}” 无效：{e.reason}")
                    ok = False
                    continue
                if pat.matches_empty():
                    self.problem(line, f"正则表达式 “{_show(word)}” 能匹配空字符串，请修改")
                    ok = False
                    continue
                patterns.append(pat)
                out.append(word)
                continue
            norm = normalize(word, casefold=not cased).text
            if not norm or all(is_interference(c) for c in norm):
                self.problem(line, f"词 “{_show(word)}” 规范化后为空或只剩空白、标点、符号"
                                   "（零宽字符和干扰字符会被忽略），无法命中")
                ok = False
                continue
            if norm not in seen:
                seen.add(norm)
                out.append(norm)
        if not ok or not out:
            return None
        field = "title" if "title" in mods else "body" if "body" in mods else None
        return Group(name=name, words=tuple(out), field=field, word="word" in mods,
                     regex=is_re, cased=cased, patterns=tuple(patterns))

    def _key_of(self, name: str) -> str:
        for key in self.m.words:
            if key.split("|")[0].strip() == name:
                return key
        return name

    def examples(self) -> tuple[Example, ...]:
        fields = {g.field for g in self.groups}
        out: list[Example] = []
        for kind, items in (("match", self.m.examples.match),
                            ("nomatch", self.m.examples.nomatch)):
            for i, ex in enumerate(items):
                line = self.line("examples", kind, i)
                if ex.text is None:
                    title, body = ex.title, ex.body
                elif "title" in fields and "body" not in fields:
                    title, body = ex.text, ""
                elif "title" in fields:
                    title = body = ex.text
                else:
                    title, body = "", ex.text
                out.append(Example(title, body, kind == "match", line))
        return tuple(out)


def compile_rule(raw: RawRule, problems: list[RuleProblem]) -> CompiledRule | None:
    """Compile one schema-valid rule; problems are appended to ``problems``."""
    return _Rule(raw, problems).compile()


def load_ruleset_texts(files: Mapping[str, str], names: Mapping[str, str] | None = None
                       ) -> Ruleset:
    """Build a ruleset from ``{display path: YAML text}``; raises :class:`RuleError`.

    ``names`` maps each display path to the key used in ``Ruleset.files`` (default:
    the file name).
    """
    problems: list[RuleProblem] = []
    compiled: list[CompiledRule] = []
    first: dict[str, tuple[str, int]] = {}
    for path in sorted(files, key=lambda p: (Path(p).name, p)):
        raws, file_problems = read_rule_file(path, files[path])
        problems.extend(file_problems)
        for raw in raws:
            rid = raw.model.id
            if rid in first:
                where = first[rid]
                problems.append(RuleProblem(path, raw.line,
                                            f"规则 id “{rid}” 重复：已在 {where[0]}:{where[1]} 定义"))
                continue
            first[rid] = (path, raw.line)
            rule = compile_rule(raw, problems)
            if rule is not None:
                compiled.append(rule)
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.file, p.line)))
    keyed = {(names or {}).get(p, Path(p).name): text for p, text in files.items()}
    return Ruleset(compiled, keyed)


def load_ruleset(path: str | Path) -> Ruleset:
    """Load a directory (every ``*.yaml``/``*.yml``, sorted by name) or one rule file.

    Raises :class:`RuleError` listing every problem as ``FILE:LINE: message``.
    """
    p = Path(path)
    if p.is_dir():
        paths = sorted(f for f in p.iterdir() if f.suffix in RULE_SUFFIXES and f.is_file())
        if not paths:
            raise RuleError(RuleProblem(str(p), 1, "目录中没有规则文件（*.yaml 或 *.yml）"))
    elif p.is_file():
        paths = [p]
    else:
        raise RuleError(RuleProblem(str(p), 1, "找不到规则文件或目录"))
    files: dict[str, str] = {}
    for f in paths:
        try:
            with f.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)      # never more than the limit in memory
                problem = too_large(str(f), max(len(data), os.fstat(fh.fileno()).st_size))
            if problem is not None:
                raise RuleError(problem)
            text = data.decode("utf-8-sig")
            files[str(f)] = text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text
        except (OSError, UnicodeDecodeError) as e:
            raise RuleError(RuleProblem(str(f), 1, f"无法读取规则文件：{e}")) from e
    return load_ruleset_texts(files)


def check_examples(ruleset: Ruleset, tone: Callable[[str, str], ToneLike] | None = None
                   ) -> list[RuleProblem]:
    """Run every rule's examples; one problem (at the example's line) per failure.

    ``tone(title, body)`` gives an example's tone (the CLI passes the tone model's): a rule
    with ``tone:``/``min_negative:`` then matches an example only when its tone qualifies.
    Without it, such a rule's examples are judged on their words, and a ``nomatch``
    example its words do match is not reported (only its tone could tell)."""
    problems: list[RuleProblem] = []
    for rule in ruleset.rules:
        for ex in rule.examples:
            hit = ruleset.match_rule(rule.id, title=ex.title, body=ex.body)
            if hit is not None and rule.needs_tone:
                if tone is None:
                    if not ex.expect:
                        continue
                elif rule.tone_refusal(tone(ex.title, ex.body)) is not None:
                    hit = None
            if ex.expect and hit is None:
                problems.append(RuleProblem(
                    rule.file, ex.line, f"示例应命中规则 {rule.id}，但没有命中：“{ex.text}”"))
            elif not ex.expect and hit is not None:
                words = "、".join(dict.fromkeys(s.text for s in hit.spans))
                problems.append(RuleProblem(
                    rule.file, ex.line,
                    f"示例不应命中规则 {rule.id}，但命中了（{words}）：“{ex.text}”"))
    return problems

