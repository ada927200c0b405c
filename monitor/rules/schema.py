"""Rule-file schema: YAML read with node marks, each rule validated with pydantic.

Every problem becomes a :class:`RuleProblem` whose line is the offending YAML node (the
key, the value or the list item); messages are Chinese.

Before anything is composed, the file's YAML events are screened (``_screen``) so that no
file can make loading slow or crash it: a file over :data:`MAX_FILE_BYTES` (2 MiB) is
refused, so is nesting deeper than :data:`MAX_DEPTH` levels, and so is any YAML alias
(``*name``), reported at the line of the first one. Rules never need aliases, and
refusing them outright (rather than allowing a small expansion budget) means nested
anchors (a "billion laughs" file) are never expanded or even composed. Anchors without
an alias (``&name``) are harmless and accepted.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.errors import RuleProblem
from monitor.models import LEVEL_NAMES, LEVELS, TONE_NAMES, TONES, LevelCode, ToneCode

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "ExampleModel", "RawRule", "RuleModel", "line_of",
           "read_rule_file", "too_large"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)    # libyaml when available
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32           # a rule needs 5: list > rule > words > group > word list
RULE_FIELDS = ("id", "name", "category", "level", "weight", "words", "condition", "tone",
               "min_negative", "examples", "description")


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str | int | float):
        return [value]
    return value


def _as_example(value: Any) -> Any:
    if isinstance(value, str | int | float):
        return {"text": str(value)}
    return value


class ExampleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    text: str | None = None
    title: str = ""
    body: str = ""


Example = Annotated[ExampleModel, BeforeValidator(_as_example)]


class ExamplesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: Annotated[list[Example], BeforeValidator(_as_list)] = []
    nomatch: Annotated[list[Example], BeforeValidator(_as_list)] = []


def _level_aliases() -> dict[str, str]:
    """Chinese ways to write a level: ``较大（黄）``, ``较大(黄)``, ``较大``, ``黄``, ``黄色``."""
    out: dict[str, str] = {}
    for code, name in LEVEL_NAMES.items():
        out[name] = code
        head, _, tail = name.partition("（")
        out[head] = code
        if tail:
            color = tail.rstrip("）")
            out.update({color: code, f"{color}色": code, f"{head}({color})": code})
    return out


LEVEL_ALIASES = _level_aliases()


def _as_level(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return LEVEL_ALIASES.get(text, text.lower() if text.lower() in LEVELS else value)
    return value


_TONE_ALIASES = {name: code for code, name in TONE_NAMES.items()}


def _as_tones(value: Any) -> Any:
    """``tone: negative``, ``tone: 负面`` or a list of them."""
    value = _as_list(value)
    if isinstance(value, list):
        return [_TONE_ALIASES.get(v.strip(), v.strip().lower()) if isinstance(v, str) else v
                for v in value]
    return value


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    id: str = Field(min_length=1)
    name: str = ""
    category: str = Field(min_length=1)
    level: Annotated[LevelCode, BeforeValidator(_as_level)]
    weight: int = Field(default=0, ge=0, le=100)
    words: dict[str, Annotated[list[str], BeforeValidator(_as_list)]] = {}
    condition: str | None = None
    tone: Annotated[list[ToneCode], BeforeValidator(_as_tones)] = []
    min_negative: float | None = Field(default=None, ge=0, le=1)
    examples: ExamplesModel = ExamplesModel()
    description: str = ""


@dataclass
class RawRule:
    """One validated rule with the YAML node it came from (for line numbers)."""

    model: RuleModel
    node: MappingNode
    file: str

    @property
    def line(self) -> int:
        """The line of the rule's ``id:`` key (or of its first key)."""
        for key, _value in self.node.value:
            if isinstance(key, ScalarNode) and key.value == "id":
                return key.start_mark.line + 1
        return self.node.start_mark.line + 1

    def child(self, *path: str | int) -> Node | None:
        """The node at ``path`` (mapping keys, list indices), or ``None``."""
        return _walk(self.node, path)[0]


def _walk(node: Node, path: tuple[Any, ...], key_node: bool = False) -> tuple[Node | None, Node]:
    """Follow ``path``; returns (the node or None, the deepest node reached)."""
    current: Node = node
    for i, part in enumerate(path):
        nxt: Node | None = None
        if isinstance(current, MappingNode):
            for key, value in current.value:
                if isinstance(key, ScalarNode) and key.value == str(part):
                    last = i == len(path) - 1
                    nxt = key if (key_node and last) else value
                    break
        elif isinstance(current, SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(current.value):
            nxt = current.value[part]
        if nxt is None:
            return None, current
        current = nxt
    return current, current


def line_of(node: Node, path: tuple[Any, ...], key_node: bool = False) -> int:
    """1-based line of the node at ``path`` (or of the deepest node that exists)."""
    return _walk(node, path, key_node)[1].start_mark.line + 1


def _message(err: dict[str, Any]) -> str:
    loc = [p for p in err["loc"] if p != "function-before"]
    kind = err["type"]
    name = ".".join(str(p) for p in loc) or "规则"
    value = err.get("input")
    if kind == "missing":
        return f"缺少必填字段 {name}"
    if kind == "extra_forbidden":
        if loc[:1] == ["examples"] and len(loc) == 2:
            allowed = "match、nomatch"
        elif loc[:1] == ["examples"]:
            allowed = "title、body（或直接写一段文字）"
        else:
            allowed = "、".join(RULE_FIELDS)
        close = difflib.get_close_matches(str(loc[-1]), allowed.split("、"), n=1)
        if close:
            return f"未知字段 “{loc[-1]}”（是不是想写 {close[0]}？可用的字段：{allowed}）"
        return f"未知字段 “{loc[-1]}”（可用的字段：{allowed}）"
    if loc == ["level"]:
        return (f"级别 “{value}” 无效，应为 {'、'.join(LEVELS)} 之一"
                f"（也可写中文：{'、'.join(LEVEL_NAMES.values())}）")
    if loc[:1] == ["tone"]:
        return (f"倾向 “{value}” 无效，应为 {'、'.join(TONES)} 之一"
                f"（也可写中文：{'、'.join(TONE_NAMES.values())}），或它们的列表")
    if loc == ["min_negative"]:
        return f"min_negative 应为 0 到 1 之间的数（负面概率的下限），而不是 “{value}”"
    if loc == ["weight"] and kind in ("greater_than_equal", "less_than_equal"):
        return f"权重 {value} 超出范围，应为 0 到 100 之间的整数"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{name} 应为整数，而不是 “{value}”"
    if kind == "string_type":
        return f"{name} 应为文字"
    if kind == "string_too_short":
        return f"{name} 不能为空"
    if kind == "list_type":
        return f"{name} 应为列表，例如 [词1, 词2]"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{name} 应为映射（键: 值）"
    return f"{name}: {err.get('msg', kind)}"


def _duplicate_keys(node: Node, file: str, problems: list[RuleProblem]) -> None:
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in seen:
                    problems.append(RuleProblem(file, key.start_mark.line + 1,
                                                f"键 “{key.value}” 重复出现"))
                seen.add(key.value)
            _duplicate_keys(value, file, problems)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _duplicate_keys(item, file, problems)


def _to_python(node: Node) -> Any:
    constructor = yaml.constructor.SafeConstructor()
    return constructor.construct_object(node, deep=True)


def too_large(file: str, size: int) -> RuleProblem | None:
    """The problem for a rule file of ``size`` bytes, if it is over the limit."""
    if size <= MAX_FILE_BYTES:
        return None
    return RuleProblem(file, 1, f"规则文件过大（{size / 1024 / 1024:.1f} MiB，上限 "
                                f"{MAX_FILE_BYTES // 1024 // 1024} MiB）：请拆分为几个文件")


def _screen(file: str, text: str) -> RuleProblem | None:
    """Size, nesting and aliases, checked on the event stream (nothing is composed).

    Raises ``yaml.YAMLError`` on a syntax error, like composing would.
    """
    if len(text) > MAX_FILE_BYTES // 4:
        problem = too_large(file, len(text.encode("utf-8", "surrogatepass")))
        if problem is not None:
            return problem
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, AliasEvent):
            return RuleProblem(file, _line(event),
                               f"不支持 YAML 别名（*{event.anchor}）：请直接写出内容"
                               "（规则文件不能用 & 和 * 引用别处的内容）")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return RuleProblem(file, _line(event),
                                   f"YAML 嵌套超过 {MAX_DEPTH} 层：规则文件不需要这么深的结构")
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return None


def read_rule_file(file: str, text: str) -> tuple[list[RawRule], list[RuleProblem]]:
    """Parse one rule file; returns the rules that passed the schema and every problem."""
    problems: list[RuleProblem] = []
    try:
        refused = _screen(file, text)
        if refused is not None:
            return [], [refused]
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        return [], [RuleProblem(file, line, f"YAML 语法错误：{_yaml_reason(e)}")]
    except yaml.YAMLError:
        return [], [RuleProblem(file, 1, "YAML 读取失败：文件内容无法识别为 YAML")]
    if root is None:
        return [], []
    if not isinstance(root, SequenceNode):
        return [], [RuleProblem(file, root.start_mark.line + 1,
                                "文件顶层应为规则列表（每条规则以 “- id:” 开头）")]
    rules: list[RawRule] = []
    for item in root.value:
        line = item.start_mark.line + 1
        if not isinstance(item, MappingNode):
            problems.append(RuleProblem(file, line, "每条规则应为映射（以 “- id:” 开头的一组字段）"))
            continue
        _duplicate_keys(item, file, problems)
        try:
            data = _to_python(item)
        except yaml.YAMLError as e:
            problems.append(RuleProblem(file, line, f"YAML 读取失败：{_yaml_reason(e)}"
                                        if isinstance(e, yaml.MarkedYAMLError)
                                        else "YAML 读取失败：这一条规则的内容无法识别"))
            continue
        if isinstance(data.get("words"), dict):
            data["words"] = {str(k): v for k, v in data["words"].items()}
        try:
            model = RuleModel.model_validate(data)
        except ValidationError as e:
            seen: set[tuple[int, str]] = set()
            for err in e.errors():
                key_node = err["type"] == "extra_forbidden"
                where = line_of(item, tuple(err["loc"]), key_node)
                msg = _message(dict(err))
                if (where, msg) not in seen:
                    seen.add((where, msg))
                    problems.append(RuleProblem(file, where, msg))
            continue
        rules.append(RawRule(model, item, file))
    return rules, problems


def _line(event: yaml.Event) -> int:
    """1-based line where a YAML event starts (1 when the parser gave no position)."""
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 1


_YAML_REASONS = (
    ("did not find expected ',' or ']'", "列表 [ ] 没有闭合，或元素之间缺少逗号"),
    ("did not find expected ',' or '}'", "映射 { } 没有闭合，或键值之间缺少逗号"),
    ("did not find expected '-' indicator", "列表项的缩进不一致（每项以 “- ” 开头并对齐）"),
    ("did not find expected key", "缩进不一致：同一层的键要对齐"),
    ("did not find expected node content", "这里缺少内容"),
    ("did not find expected <document start>", "多余的内容（括号或引号不配对？）"),
    ("found unexpected end of stream", "文件在引号或括号闭合之前结束"),
    ("found character that cannot start any token", "这里有不能出现的字符（Tab 缩进或 @、` 开头的值要加引号）"),
    ("mapping values are not allowed", "冒号的位置不对（值里含有冒号时要加引号）"),
    ("found undefined alias", "不支持 YAML 别名（*）"),
    ("found unknown escape character", "双引号字符串中的转义字符无效（改用单引号）"),
    ("found a tab character", "不能用 Tab 缩进，请改用空格"),
)


def _yaml_reason(e: yaml.MarkedYAMLError) -> str:
    """PyYAML's complaint in Chinese (its English wording is not shown to people)."""
    problem = e.problem or e.context or ""
    return next((zh for en, zh in _YAML_REASONS if problem.startswith(en)),
                "格式无法识别（检查缩进、冒号、引号和括号）")
