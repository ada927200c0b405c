"""``|re`` word groups: patterns compiled with RE2 and searched within fixed bounds.

RE2 (``google-re2``) matches in time linear in the text, whatever the pattern: there is
no backtracking, so ``(a+)+b`` cannot freeze evaluation the way it does with ``re``.
The syntax is RE2's (https://github.com/google/re2/wiki/Syntax), which is Python's
minus backreferences (``\\1``, ``(?P=name)``), lookaround (``(?=``, ``(?!``, ``(?<=``,
``(?<!``), atomic groups, possessive quantifiers, conditionals and ``(?x)``; a
repetition count is at most 1000. Such a pattern is refused with a Chinese reason
(:class:`RegexError`).

Kept from Python's ``re`` so that patterns mean what they meant:

- ``\\d``, ``\\w``, ``\\s`` (and ``\\D``, ``\\W``, ``\\S`` outside a character class) are
  Unicode-aware (``\\w`` matches 汉字); RE2 alone would make them ASCII-only. ``\\b`` and
  ``\\B`` stay RE2's (ASCII word characters); ``\\Z`` is read as RE2's ``\\z``.
- case-insensitive unless the group is ``|cased`` (inline ``(?i)``, ``(?-i:...)`` work);
- offsets are ``str`` offsets (code points), as with ``re``; lone surrogates, which
  UTF-8 cannot carry, are searched as U+FFFD (same length, so offsets hold).

Bounds: each pattern reports at most :data:`MAX_HITS` hits per text (the first ones).
One search is linear, but finding successive hits of a pattern like ``a.*b|a`` costs a
scan to the end of the text for each hit; the cap keeps a whole field linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2

__all__ = ["MAX_HITS", "Regex", "RegexError", "compile_regex"]

MAX_HITS = 100
_SURROGATE = re.compile("[\ud800-\udfff]")
# Python's Unicode classes, written for RE2 (the body of a character class)
_CLASSES = {"d": r"\p{Nd}", "w": r"\p{L}\p{N}_", "s": r"\t-\r\x1c-\x1f\x85\p{Z}"}
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


class RegexError(ValueError):
    """A pattern RE2 cannot take; ``reason`` is Chinese, for the rule problem."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Regex:
    """One compiled ``|re`` pattern; read-only, safe to share between threads."""

    source: str                         # as written in the rule file
    cased: bool
    compiled: Any = field(repr=False, compare=False)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The first :data:`MAX_HITS` non-empty, non-overlapping hits, as ``str`` offsets."""
        if _SURROGATE.search(text):
            text = _SURROGATE.sub("\ufffd", text)
        out: list[tuple[int, int]] = []
        for m in self.compiled.finditer(text):
            start, end = m.span()
            if end > start:
                out.append((start, end))
                if len(out) >= MAX_HITS:
                    break
        return out

    def matches_empty(self) -> bool:
        return self.compiled.search("") is not None


def compile_regex(pattern: str, *, cased: bool = False) -> Regex:
    """Compile one ``|re`` word; raises :class:`RegexError` with a Chinese reason."""
    options = re2.Options()
    options.case_sensitive = cased
    options.log_errors = False
    try:
        compiled = re2.compile(_translate(pattern), options)
    except re2.error as e:
        raise RegexError(_reason(pattern, e)) from None
    return Regex(pattern, cased, compiled)


def _translate(pattern: str) -> str:
    """Python's meaning of ``\\d \\w \\s \\D \\W \\S \\Z`` in RE2 syntax; the rest as is."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e == "Q":                                   # \Q...\E: literal text
                j = pattern.find("\\E", i + 2)
                j = n if j < 0 else j + 2
                out.append(pattern[i:j])
                i = j
                continue
            if e in _CLASSES:
                out.append(_CLASSES[e] if in_class else f"[{_CLASSES[e]}]")
            elif e == "D" and in_class:
                out.append(r"\P{Nd}")
            elif e.lower() in _CLASSES:
                if in_class:
                    raise RegexError(f"字符类中不支持 \\{e}（请把它写在 [ ] 之外，"
                                     f"或改用 [^...]）")
                out.append(f"[^{_CLASSES[e.lower()]}]")
            elif e == "Z":
                out.append(r"\z")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):  # [:alpha:]
                j = pattern.find(":]", i + 2)
                j = n if j < 0 else j + 2
                out.append(pattern[i:j])
                i = j
                continue
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":               # []...] and [^]...]: literal ]
                j += 1
            out.append(pattern[i:j])
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _reason(pattern: str, e: re2.error) -> str:
    """RE2's error (``kind: argument``) as a Chinese reason."""
    raw = e.args[0] if e.args else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    kind, _, arg = text.partition(": ")
    backref = kind == "invalid escape sequence" and re.match(r"\\([1-9]|k)", arg)
    around = kind == "invalid perl operator" and (arg.startswith(_LOOKAROUND)
                                                  or "(?P=" in pattern)
    if backref or around:
        return f"RE2 不支持反向引用和环视（{arg}）"
    if kind == "invalid perl operator":
        return f"RE2 不支持 {arg} 这种写法（原子组、条件、注释和 (?x) 等都不支持）"
    shown = f" {arg}" if arg and arg in pattern else ""
    reasons = {
        "invalid escape sequence": f"不支持的转义{shown}",
        "missing ]": "字符类缺少结尾的 ]",
        "missing )": "缺少与 ( 配对的 )",
        "unexpected )": "多了一个没有配对的 )",
        "trailing \\": "末尾多了一个反斜杠 \\",
        "no argument for repetition operator": f"重复符号{shown} 前面没有内容",
        "invalid repetition size": f"重复次数{shown} 无效（RE2 最多重复 1000 次）",
        "bad repetition operator": f"重复符号{shown} 无效（RE2 不支持 ++、*+ 这类占有量词）",
        "invalid character class": f"字符类{shown} 无效",
        "invalid character class range": f"字符类或范围{shown} 无效",
        "invalid named capture group": f"命名分组{shown} 无效",
        "invalid UTF-8": "含有无效的字符",
        "pattern too large - compile failed": "表达式过大（重复次数太多），请简化",
    }
    return reasons.get(kind, f"RE2 无法编译（{text}）")
