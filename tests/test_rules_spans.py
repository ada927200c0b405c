"""Property: spans map back exactly, whatever noise surrounds or splits the words."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.normalize import normalize
from monitor.rules import Ruleset, load_ruleset_texts

WORDS = ["拆迁", "讨薪", "欠薪资", "工地", "坍塌", "abc", "gdp"]
TRADITIONAL = {"迁": "遷", "讨": "討", "资": "資"}
CJK_NOISE = ["\u200b", "\u200d", "\ufeff", "\u00ad", "*", " ", "-", "**", "＊", "\u3000",
             "_", "~", "#", "@", ".", "，", "\n"]
ZERO_WIDTH = ["\u200b", "\u200d", "\ufeff", "\u2060"]
_word_chars = set("".join(WORDS)) | set(TRADITIONAL.values())
FILLER = [c for c in "的一是在有和人这中大为上个国我以要他时来用们生到作于出就分对成会可主发年动"
          "同也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高"
          "xyz0123456789 ，。！？、（）《》“”" if c not in _word_chars]


def _ruleset() -> Ruleset:
    text = "".join(
        f"- id: w{i}\n  category: c\n  level: blue\n  words:\n    词: [\"{w}\"]\n"
        for i, w in enumerate(WORDS))
    return load_ruleset_texts({"prop.yaml": text})


RULESET = _ruleset()


@st.composite
def disguised(draw: st.DrawFn, word: str) -> str:
    """``word`` with its characters disguised and noise between them."""
    out = []
    ascii_word = word.isascii()
    for i, ch in enumerate(word):
        form = draw(st.sampled_from(["plain", "hex", "dec", "wide", "upper", "trad"]))
        if form == "hex":
            piece = f"&#x{ord(ch):X};"
        elif form == "dec":
            piece = f"&#{ord(ch)};"
        elif form == "wide" and ascii_word:
            piece = chr(ord(ch) + 0xFEE0)
        elif form == "upper" and ascii_word:
            piece = ch.upper()
        elif form == "trad" and ch in TRADITIONAL:
            piece = TRADITIONAL[ch]
        else:
            piece = ch
        if i:
            noise = draw(st.lists(st.sampled_from(ZERO_WIDTH if ascii_word else CJK_NOISE),
                                  max_size=3))
            out.append("".join(noise))
        out.append(piece)
    return "".join(out)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, int]]:
    parts: list[str] = []
    counts = dict.fromkeys(WORDS, 0)
    for _ in range(draw(st.integers(0, 8))):
        parts.append("".join(draw(st.lists(st.sampled_from(FILLER), max_size=6))))
        word = draw(st.sampled_from(WORDS))
        if word.isascii():
            parts.append(" ")          # keep ASCII words apart from ASCII filler
        parts.append(draw(disguised(word)))
        if word.isascii():
            parts.append(" ")
        counts[word] += 1
    parts.append("".join(draw(st.lists(st.sampled_from(FILLER), max_size=6))))
    return "".join(parts), counts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.booleans())
def test_every_span_normalizes_to_its_word(doc: tuple[str, dict[str, int]],
                                           in_title: bool) -> None:
    text, counts = doc
    ev = RULESET.evaluate(title=text) if in_title else RULESET.evaluate(body=text)
    found = dict.fromkeys(WORDS, 0)
    for m in ev.matches:
        word = WORDS[int(m.rule[1:])]
        for span in m.spans:
            assert span.field == ("title" if in_title else "body")
            assert span.text == text[span.start:span.end]
            assert normalize(span.text).text == word, (text, span)
            found[word] += 1
    for word, n in counts.items():
        assert found[word] >= n, (text, word)


TRICKY = [*"欠薪拆迁資乾&#x;62C8*-　 \u200b\ufeff…①ßＡａ😀𠀀", "&amp;", "&#25286;", "&lt"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TRICKY), st.characters()), max_size=40).map("".join))
def test_offsets_are_monotonic_and_in_range(text: str) -> None:
    n = normalize(text)
    offsets = n.offsets
    assert len(offsets) == len(n.text)
    previous = 0
    for a, b in offsets:
        assert 0 <= a < b <= len(text)
        assert a >= previous
        previous = a
    if n.text:
        assert n.span(0, len(n.text)) == (offsets[0][0], offsets[-1][1])


def test_fixture_dir_is_not_needed(tmp_path: Path) -> None:
    # load_ruleset_texts builds from strings: the key is the display path
    rs = load_ruleset_texts({str(tmp_path / "x.yaml"):
                             "- id: x\n  category: c\n  level: red\n  words: {a: [工地]}\n"})
    assert rs.rules[0].file == str(tmp_path / "x.yaml")
    assert list(rs.files) == ["x.yaml"]
