"""Matching: operators, modifiers, normalization, spans (real rule files in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.rules import Ruleset, load_ruleset


def ruleset(tmp_path: Path, words: dict[str, list[str]], condition: str | None = None,
            **extra: object) -> Ruleset:
    """One rule ``r`` with the given groups and condition, written as a real YAML file."""
    rule: dict[str, object] = {"id": "r", "name": "测试", "category": "测试", "level": "blue",
                               "weight": 10, "words": words, **extra}
    if condition is not None:
        rule["condition"] = condition
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps([rule], ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return load_ruleset(path)


def spans(rs: Ruleset, title: str = "", body: str = "") -> list[tuple[str, str]] | None:
    """(field, original text) of each span of rule ``r``, or None if it did not match."""
    ev = rs.evaluate(title=title, body=body)
    for m in ev.matches:
        if m.rule == "r":
            return [(s.field, s.text) for s in m.spans]
    return None


A_B = {"甲": ["工地"], "乙": ["讨薪"], "丙": ["招聘"]}


@pytest.mark.parametrize(("condition", "text", "matched"), [
    ("甲 and 乙", "工地讨薪", True),
    ("甲 and 乙", "工地", False),
    ("甲 or 乙", "讨薪", True),
    ("甲 or 乙", "招聘", False),
    ("甲 and not 丙", "工地", True),
    ("甲 and not 丙", "工地招聘", False),
    # precedence: not > and > or
    ("甲 or 乙 and 丙", "工地", True),
    ("甲 or 乙 and 丙", "讨薪", False),
    ("甲 or 乙 and 丙", "讨薪招聘", True),
    ("(甲 or 乙) and 丙", "工地", False),
    ("(甲 or 乙) and 丙", "工地招聘", True),
    ("not 丙 and 乙", "讨薪", True),
    ("not 丙 and 乙", "讨薪招聘", False),
    ("not (丙 and 甲) and 乙", "讨薪招聘", True),
    ("not (丙 and 甲) and 乙", "工地讨薪招聘", False),
    ("乙 and not 甲 or 丙", "招聘", True),
    ("乙 and not 甲 or 丙", "工地讨薪", False),
    # quoted literals
    ('"坍塌" and 甲', "工地坍塌", True),
    ("'坍塌' and 甲", "工地", False),
    ('"坍塌" or "垮塌"', "桥梁垮塌", True),
    ('"ABC" and 甲', "工地ａｂｃ", True),
])
def test_operators(tmp_path: Path, condition: str, text: str, matched: bool) -> None:
    rs = ruleset(tmp_path, A_B, condition)
    assert (spans(rs, body=text) is not None) is matched


def test_without_condition_all_groups_must_match(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"甲": ["工地"], "乙": ["讨薪"]})
    assert spans(rs, body="工地讨薪") == [("body", "工地"), ("body", "讨薪")]
    assert spans(rs, body="工地") is None
    assert spans(rs, title="工地", body="讨薪") == [("title", "工地"), ("body", "讨薪")]


GAP = "一二三四五六七八九十百千万亿兆京垓秭穰沟"


@pytest.mark.parametrize(("n", "gap", "matched"), [
    (3, 2, True), (3, 3, True), (3, 4, False),
    (0, 0, True), (0, 1, False),
    (10, 9, True), (10, 10, True), (10, 11, False),
])
@pytest.mark.parametrize("reverse", [False, True])
def test_near_distance(tmp_path: Path, n: int, gap: int, matched: bool, reverse: bool) -> None:
    rs = ruleset(tmp_path, A_B, f"甲 near/{n} 乙")
    first, second = ("讨薪", "工地") if reverse else ("工地", "讨薪")
    assert (spans(rs, body=first + GAP[:gap] + second) is not None) is matched


@pytest.mark.parametrize(("text", "matched"), [
    ("工地，，，讨薪", True),        # interference between CJK is not counted
    ("工地 * 讨薪", True),
    ("工地ab讨薪", False),           # letters are counted
    ("工地" + GAP + "讨薪工地", True),  # some pair is close enough
])
def test_near_counts_in_normalized_text(tmp_path: Path, text: str, matched: bool) -> None:
    rs = ruleset(tmp_path, A_B, "甲 near/0 乙")
    assert (spans(rs, body=text) is not None) is matched


def test_near_overlapping_and_adjacent_hits(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"甲": ["拆迁"], "乙": ["迁安"], "丙": ["安置"]}, "甲 near/0 乙")
    assert spans(rs, body="拆迁安置") == [("body", "拆迁"), ("body", "迁安")]
    rs = ruleset(tmp_path, {"甲": ["拆迁"], "乙": ["迁安"], "丙": ["安置"]}, "甲 near/0 丙")
    assert spans(rs, body="拆迁安置") == [("body", "拆迁"), ("body", "安置")]


def test_near_needs_both_in_the_same_field(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, A_B, "甲 near/50 乙")
    assert spans(rs, title="工地", body="讨薪") is None
    assert spans(rs, title="工地讨薪", body="讨薪") is not None


def test_near_same_group_needs_two_hits(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, A_B, "甲 near/2 甲")
    assert spans(rs, body="工地") is None
    assert spans(rs, body="工地一二工地") == [("body", "工地"), ("body", "工地")]
    assert spans(rs, body="工地一二三工地") is None


def test_near_with_literals(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, A_B, '"坍塌" near/2 甲')
    assert spans(rs, body="工地发生坍塌") == [("body", "工地"), ("body", "坍塌")]
    assert spans(rs, body="工地今天发生坍塌") is None


def test_overlapping_hits_are_all_reported(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"甲": ["讨薪", "拆迁", "拆迁安置", "安置"]})
    ev = rs.evaluate(body="讨薪拆迁安置")
    got = [(s.start, s.end, s.text) for s in ev.matches[0].spans]
    assert got == [(0, 2, "讨薪"), (2, 4, "拆迁"), (2, 6, "拆迁安置"), (4, 6, "安置")]


def test_repeated_hits_each_get_a_span(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"甲": ["讨薪"]})
    ev = rs.evaluate(body="讨薪讨薪，再讨薪")
    assert [(s.start, s.end) for s in ev.matches[0].spans] == [(0, 2), (2, 4), (6, 8)]


@pytest.mark.parametrize(("key", "text", "matched"), [
    ("事件", "和服务", True),
    ("事件|word", "和服务", False),
    ("事件|word", "永和服装", False),
    ("事件|word", "她穿着和服", True),
    ("事件", "她穿着和服", True),
    ("事件|word", "她穿着和服。", True),
    ("事件|word", "和服", True),
])
def test_word_boundaries(tmp_path: Path, key: str, text: str, matched: bool) -> None:
    rs = ruleset(tmp_path, {key: ["和服"]})
    assert (spans(rs, body=text) is not None) is matched


def test_word_modifier_on_reference(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"事件": ["和服"]}, "事件|word")
    assert spans(rs, body="和服务") is None
    assert spans(rs, body="她穿着和服") == [("body", "和服")]


def test_unknown_rule_words_are_segmented_as_words(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"事件|word": ["讨薪", "串标"]})
    assert spans(rs, body="工人讨薪") == [("body", "讨薪")]
    assert spans(rs, body="存在串标行为") == [("body", "串标")]
    assert spans(rs, body="打印串标签") is None


@pytest.mark.parametrize(("key", "title", "body", "matched"), [
    ("事件|title", "工地坍塌", "", True),
    ("事件|title", "", "工地坍塌", False),
    ("事件|body", "工地坍塌", "", False),
    ("事件|body", "", "工地坍塌", True),
    ("事件", "工地坍塌", "", True),
    ("事件|title|word", "工地坍塌", "", True),
])
def test_field_modifiers(tmp_path: Path, key: str, title: str, body: str,
                         matched: bool) -> None:
    rs = ruleset(tmp_path, {key: ["坍塌"]})
    assert (spans(rs, title=title, body=body) is not None) is matched


def test_field_modifier_on_reference(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"事件": ["坍塌"], "主体": ["工地"]}, "事件|title and 主体")
    assert spans(rs, title="坍塌", body="工地") == [("title", "坍塌"), ("body", "工地")]
    assert spans(rs, title="工地", body="坍塌") is None


@pytest.mark.parametrize(("key", "text", "matched"), [
    ("品牌|cased", "ABC公司", True),
    ("品牌|cased", "abc公司", False),
    ("品牌|cased", "Abc公司", False),
    ("品牌|cased", "ＡＢＣ公司", True),      # NFKC still applies
    ("品牌", "abc公司", True),
    ("品牌", "Abc公司", True),
    ("品牌", "ＡＢＣ公司", True),
])
def test_cased(tmp_path: Path, key: str, text: str, matched: bool) -> None:
    rs = ruleset(tmp_path, {key: ["ABC"]})
    assert (spans(rs, body=text) is not None) is matched


def test_cased_reference_and_span(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"品牌": ["ABC"]}, "品牌|cased")
    assert spans(rs, body="ab*ＡＢＣ") == [("body", "ＡＢＣ")]
    assert spans(rs, body="abc") is None


@pytest.mark.parametrize(("words", "condition", "text", "found"), [
    ({"金额|re": [r"欠\d+个月工资"]}, None, "已经欠3个月工资了", ["欠3个月工资"]),
    ({"金额|re": [r"欠\d+个月工资"]}, None, "欠薪", None),
    ({"金额|re": [r"[a-z]+\d+"]}, None, "编号ＡＢ１２", ["ＡＢ１２"]),    # on normalized text
    ({"主体": ["工地"], "金额|re": [r"\d+万元"]}, None, "工地欠款30万元", ["工地", "30万元"]),
    ({"主体": ["工地"], "金额|re": [r"\d+万元"]}, None, "欠款30万元", None),
    ({"主体": ["工地"], "金额|re": [r"\d+万元"]}, "主体 and not 金额", "工地欠款30万元", None),
    ({"编号|re|cased": [r"[A-Z]{2}\d"]}, None, "AB1", ["AB1"]),
    ({"编号|re|cased": [r"[A-Z]{2}\d"]}, None, "ab1", None),
])
def test_regex_groups(tmp_path: Path, words: dict[str, list[str]], condition: str | None,
                      text: str, found: list[str] | None) -> None:
    rs = ruleset(tmp_path, words, condition)
    got = spans(rs, body=text)
    assert (None if got is None else [t for _, t in got]) == found


@pytest.mark.parametrize(("word", "text", "span"), [
    ("abc", "xＡＢＣy", "ＡＢＣ"),
    ("example", "see ｅｘａｍｐｌｅ.", "ｅｘａｍｐｌｅ"),
    ("拖欠薪资", "项目拖欠薪資三个月", "拖欠薪資"),
    ("工资", "工資未發", "工資"),
    ("薪資", "拖欠薪资", "薪资"),           # the rule word may be traditional too
    ("欠薪", "某地欠薪", "欠薪"),
    ("欠薪", "某地欠\u200b薪", "欠\u200b薪"),
    ("欠薪", "某地欠*薪", "欠*薪"),
    ("欠薪", "某地欠 薪", "欠 薪"),
    ("欠薪", "某地欠-薪", "欠-薪"),
    ("欠薪", "某地欠**薪", "欠**薪"),
    ("欠薪", "某地欠＊　薪", "欠＊　薪"),
    ("拆迁", "&#x62C6;迁", "&#x62C6;迁"),
    ("拆迁", "强行&#25286;&#x8FC1;", "&#25286;&#x8FC1;"),
    ("a&b", "x a&amp;b", "a&amp;b"),
    ("欠*薪", "欠薪", "欠薪"),               # the word is normalized the same way
])
def test_normalization_and_spans(tmp_path: Path, word: str, text: str, span: str) -> None:
    rs = ruleset(tmp_path, {"甲": [word]})
    ev = rs.evaluate(body=text)
    (m,) = ev.matches
    (s,) = m.spans
    assert s.text == span
    assert text[s.start:s.end] == span


def test_span_offsets_are_per_field(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, A_B, "甲 or 乙")
    ev = rs.evaluate(title="【快讯】工地", body="有人讨*薪")
    got = [(s.field, s.start, s.end, s.text) for s in ev.matches[0].spans]
    assert got == [("title", 4, 6, "工地"), ("body", 2, 5, "讨*薪")]


def test_astral_characters_count_as_one(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, {"甲": ["𠀀工地"], "乙": ["讨薪"]}, "甲 or 乙")
    ev = rs.evaluate(body="𠀀𠀀工地😀讨薪")
    got = [(s.start, s.end, s.text) for s in ev.matches[0].spans]
    assert got == [(1, 4, "𠀀工地"), (5, 7, "讨薪")]


def test_no_text_no_match(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, A_B, "甲 or 乙")
    ev = rs.evaluate()
    assert (ev.score, ev.level, ev.matches) == (0, None, [])


def test_match_rule_evaluates_one_rule(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, A_B, "甲 or 乙")
    hit = rs.match_rule("r", body="工地")
    assert hit is not None and hit.rule == "r"
    assert rs.match_rule("r", body="无关") is None
