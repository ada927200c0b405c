"""monitor.normalize: the normalized text and the way back to the original."""

from __future__ import annotations

import pytest

from monitor.normalize import is_cjk, normalize

CASES = [
    # (original, normalized)
    ("欠薪", "欠薪"),
    ("欠*薪", "欠薪"),
    ("欠 薪", "欠薪"),
    ("欠-薪", "欠薪"),
    ("欠**薪", "欠薪"),
    ("欠_~#@.薪", "欠薪"),
    ("欠＊＊薪", "欠薪"),               # full-width interference
    ("欠\u3000薪", "欠薪"),             # ideographic space
    ("欠\n薪", "欠薪"),
    ("欠😀薪", "欠薪"),                 # astral symbol
    ("欠\u200b薪", "欠薪"),             # zero-width space
    ("欠\u200c\u200d\u2060\ufeff\u00ad薪", "欠薪"),
    ("欠\u200b*薪", "欠薪"),            # format char, then interference
    ("欠……薪", "欠薪"),
    ("a.b", "a.b"),                     # kept: not between two CJK characters
    ("a b", "a b"),
    ("欠 a", "欠 a"),
    ("*欠薪*", "*欠薪*"),
    ("ＡＢＣ", "abc"),
    ("ｅｘａｍｐｌｅ", "example"),
    ("ABC Example", "abc example"),
    ("１２３", "123"),
    ("拖欠薪資", "拖欠薪资"),
    ("工資", "工资"),
    ("乾燥", "干燥"),                   # phrase-level conversion
    ("&#x62C6;迁", "拆迁"),
    ("欠&#42;薪", "欠薪"),               # an entity that decodes to interference
    ("欠&#x200b;薪", "欠薪"),            # ... or to a zero-width character
    ("&#x62C6;&#x200b;&#x8FC1;", "拆迁"),
    ("&#25286;迁", "拆迁"),
    ("&lt;a&gt;", "<a>"),
    ("a&ampb", "a&b"),                  # html.unescape: named entity without ';'
    ("AT&T", "at&t"),
    ("&notanentity;", "¬anentity;"),   # html.unescape semantics
    ("ß", "ss"),
    ("①", "1"),
    ("", ""),
]


@pytest.mark.parametrize(("original", "expected"), CASES)
def test_normalized_text(original: str, expected: str) -> None:
    assert normalize(original).text == expected


@pytest.mark.parametrize(("original", "_expected"), CASES)
def test_offsets_cover_each_normalized_char(original: str, _expected: str) -> None:
    n = normalize(original)
    offsets = n.offsets
    assert len(offsets) == len(n.text)
    for i, (a, b) in enumerate(offsets):
        assert 0 <= a < b <= len(original)
        assert normalize(original[a:b]).text.find(n.text[i]) >= 0
    assert [a for a, _ in offsets] == sorted(a for a, _ in offsets)


@pytest.mark.parametrize(("original", "start", "end", "source"), [
    ("欠*薪", 0, 2, "欠*薪"),
    ("工地，欠 薪", 2, 4, "欠 薪"),
    ("&#x62C6;迁", 0, 2, "&#x62C6;迁"),
    ("拆&#x8FC1;安置", 1, 2, "&#x8FC1;"),
    ("ＡＢＣ", 1, 3, "ＢＣ"),
    ("欠\u200b薪", 0, 2, "欠\u200b薪"),
    ("x①y", 1, 2, "①"),
    ("aßb", 1, 2, "ß"),          # half of an expansion maps to the whole character
    ("𠀀欠*薪", 1, 3, "欠*薪"),   # astral characters count as one
])
def test_span_maps_to_original(original: str, start: int, end: int, source: str) -> None:
    n = normalize(original)
    a, b = n.span(start, end)
    assert original[a:b] == source


def test_identity_has_trivial_offsets() -> None:
    n = normalize("工地讨薪")
    assert n.offsets == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert n.source == "工地讨薪"


def test_cased_variant_keeps_case() -> None:
    assert normalize("ＡＢＣ欠*薪", casefold=False).text == "ABC欠薪"
    assert normalize("ＡＢＣ欠*薪").text == "abc欠薪"


def test_traditional_with_length_change_falls_back_per_character() -> None:
    # whatever OpenCC does with phrases, offsets stay one-to-one for CJK text
    text = "這個項目拖欠薪資，工人們聚集討薪"
    n = normalize(text)
    assert len(n.offsets) == len(n.text)
    assert "拖欠薪资" in n.text and "讨薪" in n.text


def test_lone_surrogates_do_not_break_conversion() -> None:
    assert normalize("\ud800乾燥").text == "\ud800干燥"


def test_is_cjk() -> None:
    assert is_cjk("欠") and is_cjk("〇") and is_cjk("𠀀")
    assert not is_cjk("a") and not is_cjk("，")


def test_long_text_is_consistent_with_chunks() -> None:
    chunk = "某重点工程工地，农民工聚集讨薪！ＡＢＣ。"
    n = normalize(chunk * 200)
    assert n.text == normalize(chunk).text * 200
