"""Warnings about rules that load but will not do what their author meant (``yuqing rules
check`` prints them as ``FILE:LINE: 注意：…``; they never stop a load):

- a group defined in ``words`` that the condition never uses (an exclusion that excludes
  nothing);
- a one-character word or a stop word in a high-weight rule (it matches almost anything);
- the placeholder place and office names shipped in ``00-本单位与辖区.yaml``;
- rule files in subdirectories of the rules directory, which are not loaded.
"""

from __future__ import annotations

from pathlib import Path

from yaml.nodes import SequenceNode

from monitor.errors import RuleProblem
from monitor.normalize import normalize
from monitor.rules.condition import ConditionSyntaxError, iter_refs, parse_condition
from monitor.rules.loader import RULE_SUFFIXES
from monitor.rules.schema import RawRule, line_of, read_rule_file

__all__ = ["HIGH_WEIGHT", "PLACEHOLDERS", "STOP_WORDS", "rule_warnings"]

HIGH_WEIGHT = 30
STOP_WORDS = frozenset({"的", "了", "和", "在", "是", "有", "与", "及", "或", "也", "就", "都",
                        "而", "被", "把", "这", "那", "一个", "我们", "他们", "没有", "什么",
                        "可以", "因为", "所以", "但是", "如果"})
LOCAL_FILE = "00-本单位与辖区.yaml"
# what `yuqing init` ships in LOCAL_FILE, and the usual stand-ins people write
PLACEHOLDERS = frozenset({"青山区", "滨江新区", "重点项目服务中心", "重点项目办", "区重点办"})
PLACEHOLDER_MARKS = ("某某", "示例", "XX", "xx")


def rule_warnings(directory: Path) -> list[RuleProblem]:
    """Every warning for the rule files in ``directory`` (or the one file it names)."""
    paths = [directory] if directory.is_file() else sorted(
        f for f in directory.iterdir() if f.is_file() and f.suffix in RULE_SUFFIXES)
    out: list[RuleProblem] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue            # the loader has reported it
        raws, _problems = read_rule_file(str(path), text)
        for raw in raws:
            out += _unused_groups(raw) + _weak_words(raw)
            if path.name == LOCAL_FILE:
                out += _placeholders(raw)
    if directory.is_dir():
        out += _skipped_files(directory)
    return sorted(out, key=lambda p: (p.file, p.line))


def _group_name(key: str) -> str:
    return key.split("|")[0].strip()


def _unused_groups(raw: RawRule) -> list[RuleProblem]:
    condition = raw.model.condition
    if not condition or not condition.strip():
        return []               # without a condition every group is required
    try:
        used = {ref.name for ref, _neg in iter_refs(parse_condition(condition))
                if not ref.literal}
    except ConditionSyntaxError:
        return []
    return [RuleProblem(raw.file, line_of(raw.node, ("words", key), True),
                        f"词组 “{_group_name(key)}” 已定义，但条件中没有用到：它不起任何作用"
                        f"（若是排除词，请在条件中写 and not {_group_name(key)}）")
            for key in raw.model.words if _group_name(key) not in used]


def _word_lines(raw: RawRule, key: str) -> list[tuple[str, int]]:
    node = raw.child("words", key)
    words = raw.model.words[key]
    if isinstance(node, SequenceNode) and len(node.value) == len(words):
        return [(w, n.start_mark.line + 1) for w, n in zip(words, node.value, strict=True)]
    line = line_of(raw.node, ("words", key))
    return [(w, line) for w in words]


def _weak_words(raw: RawRule) -> list[RuleProblem]:
    if raw.model.weight < HIGH_WEIGHT:
        return []
    out = []
    for key in raw.model.words:
        if "re" in key.split("|")[1:]:
            continue
        for word, line in _word_lines(raw, key):
            text = normalize(word).text
            if len(text) == 1 or text in STOP_WORDS:
                kind = "常用虚词" if text in STOP_WORDS else "单字"
                out.append(RuleProblem(raw.file, line,
                                       f"规则 {raw.model.id} 权重 {raw.model.weight}，词组 "
                                       f"“{_group_name(key)}” 中有{kind} “{word}”：几乎每条信息都会"
                                       "命中，容易误报（请换成更具体的词）"))
    return out


def _placeholders(raw: RawRule) -> list[RuleProblem]:
    out = []
    for key in raw.model.words:
        for word, line in _word_lines(raw, key):
            if word in PLACEHOLDERS or any(m in word for m in PLACEHOLDER_MARKS):
                out.append(RuleProblem(raw.file, line,
                                       f"“{word}” 是默认规则自带的示例：请改为本辖区的地名和本单位"
                                       "的机构名（若确是本辖区，可忽略此提示）"))
    return out


def _skipped_files(directory: Path) -> list[RuleProblem]:
    return [RuleProblem(str(f), 1, f"子目录中的规则文件不会加载（只读取 {directory} 下的文件）："
                                   "请移到规则目录下，或删除")
            for f in sorted(directory.rglob("*"))
            if f.is_file() and f.suffix in RULE_SUFFIXES and f.parent != directory]
