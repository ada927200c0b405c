"""Config error reports: turn a pydantic validation error into one :class:`ConfigError`
that names the file and line, the key (``feeds[1].interval``) and a hint, in Chinese."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import ConfigError


class KeyedValueError(ValueError):
    """A cross-field check that knows which key is wrong; ``relative``: the key is inside
    the table being validated (``select.title`` of ``feeds[2]``)."""

    def __init__(self, key: str, message: str, *, relative: bool = False) -> None:
        self.key = key
        self.relative = relative
        super().__init__(message)


_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知配置项",
    "bool_type": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "string_type": "应为字符串（用引号括起来）",
    "list_type": "应为列表，例如 [\"a\", \"b\"]",
    "dict_type": "应为表（[section] 或 {...}）",
    "model_type": "应为表（[section] 或 {...}）",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
    "literal_error": "取值无效",
}


def _loc_to_key(loc: tuple[Any, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("." if key else "") + str(part)
    return key


def _allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return []
    return list(model.model_fields) if model else []


class KeyedValueErrors(ValueError):
    """Several cross-field problems found in one check, each reported on its own."""

    def __init__(self, errors: list[KeyedValueError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def to_config_error(root: type[BaseModel], e: ValidationError, fname: str,
                    text: str) -> ConfigError:
    """The first problem of ``e`` (see :func:`to_config_errors` for all of them)."""
    return to_config_errors(root, e, fname, text)[0]


def to_config_errors(root: type[BaseModel], e: ValidationError, fname: str,
                     text: str) -> list[ConfigError]:
    """Every problem of ``e``, in file order, each naming its file, line, key and hint."""
    out: list[ConfigError] = []
    for err in e.errors():
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, KeyedValueErrors):
            loc = tuple(err.get("loc", ()))
            out.extend(_keyed(one, loc, fname, text) for one in ctx_err.errors)
        else:
            out.append(_one_error(root, dict(err), fname, text))
    return sorted(out, key=lambda c: _line_of(c.file))


def _line_of(where: str | None) -> int:
    tail = (where or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


def _keyed(ctx_err: KeyedValueError, loc: tuple[Any, ...], fname: str,
           text: str) -> ConfigError:
    key = ctx_err.key
    if ctx_err.relative and loc:
        key = f"{_loc_to_key(loc)}.{key}"
    return ConfigError(str(ctx_err), file=with_line(fname, text, key), key=key)


def _one_error(root: type[BaseModel], err: dict[str, Any], fname: str,
               text: str) -> ConfigError:
    loc = tuple(err.get("loc", ()))
    etype = err.get("type", "")
    ctx_err = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_err, KeyedValueError):
        return _keyed(ctx_err, loc, fname, text)
    key = _loc_to_key(loc)
    msg = _MESSAGES.get(etype)
    hint = None
    if etype == "extra_forbidden":
        allowed = _allowed_keys(root, loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"是不是想写 {close[0]}？" if close else (
            f"可用的配置项：{'、'.join(allowed)}" if allowed else None)
    elif etype == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        hint = f"可选值：{expected}"
    elif etype == "missing":
        hint = "参见 `yuqing init` 生成的示例配置"
    elif etype in ("value_error", "assertion_error"):
        msg = str(ctx_err) if ctx_err else err.get("msg", "")
    if msg is None:
        msg = err.get("msg", "取值无效")
    if etype not in ("missing", "extra_forbidden", "value_error") and "input" in err:
        value = err["input"]
        if not isinstance(value, dict | list):
            msg = f"{msg}（当前值：{value!r}）"
    return ConfigError(msg, file=with_line(fname, text, key), key=key, hint=hint)


def with_line(fname: str, text: str, key: str) -> str:
    line = find_key_line(text, key)
    return f"{fname}:{line}" if line else fname


def find_key_line(text: str, key: str) -> int | None:
    """Best-effort line number of a dotted key such as ``feeds[1].interval`` in TOML text."""
    if not text or not key:
        return None
    parts = re.findall(r"([^.\[\]]+)(?:\[(\d+)\])?", key)
    lines = text.splitlines()
    start = 0
    section = ""
    for depth, (name, index) in enumerate(parts):
        last = depth == len(parts) - 1
        section = f"{section}.{name}" if section else name
        if index:
            header = re.compile(rf"^\s*\[\[\s*{re.escape(section)}\s*\]\]")
            count = -1
            for i in range(start, len(lines)):
                if header.match(lines[i]):
                    count += 1
                    if count == int(index):
                        start = i + 1
                        break
            else:  # not an array of tables: a plain array assigned in this section
                assign = re.compile(rf"^\s*{re.escape(name)}\s*=")
                return next((i + 1 for i in range(start, len(lines))
                             if assign.match(lines[i])), None)
            if last:
                return start
            continue
        header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
        assign = re.compile(rf"^\s*{re.escape(name)}\s*=")
        for i in range(start, len(lines)):
            if last and assign.match(lines[i]):
                return i + 1
            if not last and header.match(lines[i]):
                start = i + 1
                break
            if i > start and last and re.match(r"^\s*\[", lines[i]):
                break
        else:
            if last:  # the key is missing: point at its table
                return start or None
    return start or None


_TOML_MESSAGES = (
    ("Expected '=' after a key", "键后面缺少等号 =（写成 键 = 值）"),
    ("Expected newline or end of document", "一行只能写一个 键 = 值"),
    ("Expected ']]'", "表数组的标题缺少结尾的 ]]"),
    ("Expected ']'", "表标题缺少结尾的 ]"),
    ("Cannot declare", "同一个表重复定义"),
    ("Cannot overwrite a value", "同一个键重复赋值"),
    ("Invalid initial character for a key part", "键名中有非法字符（中文等特殊键名要加引号）"),
    ("Invalid statement", "无法识别的语句"),
    ("Invalid date or datetime", "日期或时间格式无效"),
    ("Invalid hex value", "十六进制数无效"),
    ("Invalid value", "取值无效（文字要用引号括起来，布尔值写 true 或 false）"),
    ("Unclosed array", "列表缺少结尾的 ]"),
    ("Unclosed inline table", "内联表缺少结尾的 }"),
    ("Unterminated string", "字符串缺少结尾的引号"),
    ("Unescaped '\\' in a string", "字符串中的反斜杠 \\ 需要写成 \\\\（或改用单引号）"),
    ("Escaped character is not a Unicode scalar value", "字符串中的转义字符无效"),
    ("Illegal character", "字符串没有在本行结束，或文件中有不允许的控制字符"),
    ('Expected "\'"', "字符串缺少结尾的单引号"),
)
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)|\(at end of document\)")


def toml_error(message: str, fname: str, text: str) -> ConfigError:
    """A TOML syntax error from ``tomllib`` as a Chinese ``FILE:LINE`` message."""
    chinese = next((zh for en, zh in _TOML_MESSAGES if message.startswith(en)), "语法错误")
    m = _TOML_AT.search(message)
    if m and m.group(1):
        where, col = f"{fname}:{m.group(1)}", f"（第 {m.group(2)} 列）"
    else:
        where, col = f"{fname}:{len(text.splitlines()) or 1}", "（文件末尾）"
    return ConfigError(f"TOML 语法错误{col}：{chinese}", file=where,
                       hint="检查引号、括号和等号")
