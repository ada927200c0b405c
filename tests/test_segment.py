"""Our jieba (jieba-rs via rjieba) segments exactly as the reference Python jieba does, and
``|word`` boundaries behave as the contract says."""

from __future__ import annotations

import random
from pathlib import Path

import jieba
import pytest
import rjieba

from monitor.rules.segment import WordBoundaries
from monitor.store.search import tokens


def _sentences(n: int) -> list[str]:
    rng = random.Random(42)
    dict_file = Path(jieba.__file__).with_name("dict.txt")
    words = [w.split()[0] for w in dict_file.read_text("utf-8").splitlines()][::37]
    joiners = ["", "", "", "，", "的", "和", "了"]
    return ["".join(rng.choice(words) + rng.choice(joiners) for _ in range(rng.randint(3, 12)))
            for _ in range(n)]


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


def test_cut_matches_reference_jieba(reference):
    wb = WordBoundaries([])
    for s in [*_sentences(300), "提升营商环境和服务水平", "她穿着和服", "永和服装店开业"]:
        assert wb.segment(s) == reference.lcut(s, HMM=False), s


def test_search_tokens_match_reference_jieba(reference):
    for s in _sentences(200):
        assert rjieba.cut_for_search(s, hmm=False) == reference.lcut_for_search(s, HMM=False)
    assert "欠薪" in tokens("农民工讨薪：某工地拖欠工资欠薪三个月")


@pytest.mark.parametrize(("words", "text", "start", "end", "expected"), [
    (["和服"], "她穿着和服", 3, 5, True),
    (["和服"], "提升营商环境和服务水平", 6, 8, False),
    (["和服"], "永和服装店", 1, 3, False),
    (["串标"], "存在串标行为", 2, 4, True),     # unknown to jieba: added, but gently
    (["串标"], "打印串标签", 2, 4, False),
])
def test_word_boundaries(words, text, start, end, expected):
    assert WordBoundaries(words).is_word(text, start, end) is expected


def test_rule_words_do_not_leak_between_rulesets():
    a = WordBoundaries(["串标"])
    b = WordBoundaries([])
    assert a.is_word("存在串标行为", 2, 4)
    assert b.segment("存在串标行为") == ["存在", "串", "标", "行为"]
