"""The tone model itself: it loads from the installed package, labels clear cases and says
which phrases drove the label, and its parts (features, fit, evaluation, data files) do what
the model card says they do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import monitor.tone
from monitor.errors import ToneError
from monitor.models import TONES
from monitor.tone import corpus, evaluate, features
from monitor.tone.fit import fit, softmax
from monitor.tone.model import ToneModel, bundled_path, load_tone_model


@pytest.fixture(scope="module")
def tm() -> ToneModel:
    return load_tone_model()


def test_the_bundled_model_is_a_small_file_inside_the_installed_package(tm: ToneModel) -> None:
    path = bundled_path()
    package = Path(monitor.tone.__file__).parent
    assert path.parent == package and path.is_file()
    assert path.stat().st_size < 10 * 1024 * 1024
    assert tm.version.startswith("bundled-")
    assert tm.weights.shape == (len(tm.keys), 3)
    assert bool(np.all(tm.keys[1:] > tm.keys[:-1]))  # sorted, distinct: searchable


def test_the_model_card_describes_the_model_that_ships(tm: ToneModel) -> None:
    card = (Path(monitor.tone.__file__).parent / "MODEL.md").read_text(encoding="utf-8")
    assert tm.version in card
    assert "未授予许可" in card  # the licence caveat of the public sets
    for name in ("ChnSentiCorp_htl_all.csv", "weibo2018_train.txt", "headlines.tsv"):
        assert name in card
    figures = tm.card["figures"]
    assert f"{figures['headlines']['macro_f1']:.3f}" in card


# label, text, a phrase that must be among (or inside) the spans
CLEAR_CASES = [
    ("negative", "某工地农民工讨薪，去了三次都没人管，太失望了", "没人管"),
    ("negative", "小区门口施工噪音扰民，半夜十二点还在干，投诉多次没人管", "没人管"),
    ("negative", "青山路隧道施工发生塌方，两名工人被困", "被困"),
    ("negative", "滨江花园工地拖欠农民工工资半年了，讨薪无门", "拖欠"),
    ("negative", "物业收费不公开，业主们很愤怒，要求给个说法", None),
    ("positive", "感谢街道帮我们解决了电梯问题，点赞！", "点赞"),
    ("positive", "青山区荣获全国文明城区称号", "荣获"),
    ("positive", "区人社局根治欠薪成效明显，农民工拿到了工资", "成效"),
    ("neutral", "区重点项目服务中心召开一季度工作例会", None),
    ("neutral", "关于青山大道部分路段夜间施工的通告", None),
    ("neutral", "区住建局召开安全生产工作会议", None),
    ("neutral", "请问地铁三号线青山站什么时候开通？", None),
]


@pytest.mark.parametrize(("label", "text", "phrase"), CLEAR_CASES)
def test_clear_cases_get_their_tone_and_the_phrases_behind_it(
        tm: ToneModel, label: str, text: str, phrase: str | None) -> None:
    t = tm.tone(text)
    assert t.label == label, (text, t)
    assert abs(t.negative + t.neutral + t.positive - 1.0) < 1e-5
    if label == "negative":
        assert t.negative > 0.7
    else:
        assert t.negative < 0.3
    if phrase is not None:
        assert any(phrase in p for p in t.phrases(text)), (t.phrases(text), phrase)
    for a, b in t.spans:
        assert 0 <= a < b <= len(text)
        assert not text[a].isspace() and text[a] not in "，。！？"


def test_spans_are_offsets_into_the_text_as_given_even_with_full_width_and_digits(
        tm: ToneModel) -> None:
    text = "ＡＢＣ小区2026年１２月又停水了，三天没人管，太失望了！！"
    t = tm.tone(text)
    assert t.label == "negative"
    assert any("没人管" in p for p in t.phrases(text))
    starts = [a for a, _ in t.spans]
    assert starts == sorted(starts)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(t.spans, t.spans[1:], strict=False))


def test_tone_many_is_tone_of_each_in_order(tm: ToneModel) -> None:
    texts = [c[1] for c in CLEAR_CASES] + ["", "   ", "😀"]
    many = tm.tone_many(texts)
    assert [m.label for m in many] == [tm.tone(t).label for t in texts]
    assert many[len(CLEAR_CASES)].spans == ()


def test_probabilities_agree_with_the_per_text_path(tm: ToneModel) -> None:
    texts = [c[1] for c in CLEAR_CASES]
    p = tm.probabilities(texts)
    assert np.allclose(p[:, 0], [tm.tone(t).negative for t in texts], atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gets_a_tone_and_valid_spans(text: str) -> None:
    t = _model().tone(text)
    assert t.label in TONES
    assert 0.0 <= t.negative <= 1.0
    for a, b in t.spans:
        assert 0 <= a < b <= len(text)


_cached: list[ToneModel] = []


def _model() -> ToneModel:
    if not _cached:
        _cached.append(load_tone_model())
    return _cached[0]


def test_a_long_text_is_read_up_to_its_cap(tm: ToneModel) -> None:
    text = "区重点项目服务中心召开工作例会。" * 200 + "太失望了，没人管"
    t = tm.tone(text)
    assert all(b <= features.MAX_CHARS for _, b in t.spans)


def test_a_damaged_or_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToneError, match="找不到"):
        load_tone_model(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ToneError, match="损坏"):
        load_tone_model(bad)


def test_a_saved_model_loads_back_identical(tm: ToneModel, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    tm.save(path)
    again = load_tone_model(path)
    assert again.version == tm.version
    text = CLEAR_CASES[0][1]
    assert again.tone(text) == tm.tone(text)


# --- features ---

def test_normalisation_keeps_every_offset() -> None:
    text = "ＡＢ１２　Ab\t好"
    norm = features.normalise(text)
    assert len(norm) == len(text)
    assert norm == "ab00 ab 好"


def test_ngram_keys_stand_for_their_ngrams() -> None:
    keys, starts, lengths = features.ngram_keys(features.codepoints("没人管"))
    grams = sorted(features.key_text(int(k)) for k in keys)
    assert grams == sorted(["没", "人", "管", "没人", "人管", "没人管"])
    assert sorted(zip(starts.tolist(), lengths.tolist(), strict=True)) == [
        (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (2, 1)]


def test_vectorised_rows_are_unit_length_tf_idf() -> None:
    texts = ["没人管没人管", "太失望了", "没人管"]
    keys, idf = features.build_vocabulary(texts, min_df=1)
    x = features.vectorise(texts, keys, idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).ravel()
    assert np.allclose(norms, 1.0)
    # the first text by hand: each n-gram's (1 + ln tf) · idf, over the row's length
    grams: dict[str, int] = {}
    for n in (1, 2, 3):
        for a in range(len(texts[0]) - n + 1):
            grams[texts[0][a:a + n]] = grams.get(texts[0][a:a + n], 0) + 1
    expected = np.zeros(len(keys))
    for gram, tf in grams.items():
        key = 0
        for ch in gram:
            key = (key << 21) | ord(ch)
        col = int(np.searchsorted(keys, np.uint64(key)))
        df = sum(gram in t for t in texts)
        expected[col] = (1 + np.log(tf)) * (np.log(4 / (1 + df)) + 1)
    expected /= np.linalg.norm(expected)
    assert np.allclose(x.getrow(0).toarray().ravel(), expected, atol=1e-6)


# --- fit ---

def _toy(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 6))
    w = rng.normal(size=(3, 6)) * 2
    y = softmax(x @ w.T).argmax(axis=1)
    return x, y


def test_the_fit_equals_scikit_learns_logistic_regression() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    import scipy.sparse as sp

    x, y = _toy()
    alpha = 0.01
    allowed = np.eye(3, dtype=bool)[y]
    ours = fit(sp.csr_matrix(x), allowed, np.ones(len(y)), alpha=alpha, max_iter=1000)
    ref = sklearn.LogisticRegression(C=1 / (alpha * len(y)), max_iter=5000, tol=1e-10).fit(x, y)
    p_ours = softmax(x @ ours.coef.T + ours.intercept)
    assert np.allclose(p_ours, ref.predict_proba(x), atol=2e-3)


def test_a_label_set_only_rules_out_what_it_excludes() -> None:
    import scipy.sparse as sp

    x = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]] * 20))
    allowed = np.array([[True, False, False], [False, True, True]] * 20)
    fitted = fit(x, allowed, np.ones(40), alpha=1e-3)
    p = softmax(np.array([[0.0, 1.0]]) @ fitted.coef.T + fitted.intercept)[0]
    assert p[0] < 0.05  # "not negative" is learnt
    assert abs(p[1] - p[2]) < 0.05  # and nothing is said between neutral and positive


def test_a_strong_prior_keeps_the_old_weights() -> None:
    import scipy.sparse as sp

    x, y = _toy()
    w0 = np.full((3, 6), 0.5)
    b0 = np.array([0.1, 0.2, 0.3])
    fitted = fit(sp.csr_matrix(x), np.eye(3, dtype=bool)[y], np.ones(len(y)),
                 alpha=1e4, prior=(w0, b0))
    assert np.allclose(fitted.coef, w0, atol=1e-3)


# --- evaluation ---

def test_scores_by_hand() -> None:
    gold = ["negative", "negative", "negative", "neutral", "neutral", "positive"]
    pred = ["negative", "negative", "neutral", "neutral", "positive", "positive"]
    s = evaluate.score(gold, pred)
    neg, neu, pos = (s.tone(t) for t in TONES)
    assert (neg.precision, neg.recall) == (1.0, pytest.approx(2 / 3))
    assert (neu.precision, neu.recall) == (0.5, 0.5)
    assert (pos.precision, pos.recall) == (0.5, 1.0)
    assert s.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s.confusion == ((2, 1, 0), (0, 1, 1), (0, 0, 1))
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.negative_vs_rest == pytest.approx(5 / 6)
    text = evaluate.render(s)
    assert "负面" in text and "混淆矩阵" in text and "0.800" in text


# --- data files ---

def test_the_shipped_headlines_are_labelled_twice_and_settled() -> None:
    lines = corpus.HEADLINES.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["id", "text", "source", "pass1", "pass2", "label"]
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) >= 600
    assert len({r[1] for r in rows}) == len(rows)
    assert {r[5] for r in rows} == set(TONES)
    assert all(r[5] == r[3] == r[4] for r in rows if r[3] == r[4])  # agreement kept
    examples = corpus.load_headlines()
    held = [e for e in examples if e.split == "test"]
    assert 0.2 < len(held) / len(examples) < 0.4


def test_splits_depend_only_on_the_text() -> None:
    assert corpus.split_of("某工地农民工讨薪", 0.3) == corpus.split_of("某工地农民工讨薪", 0.3)
    shares = [corpus.split_of(f"文本{i}", 0.3) for i in range(2000)]
    assert 0.25 < shares.count("test") / 2000 < 0.35


def test_a_bad_labelled_file_names_its_line(tmp_path: Path) -> None:
    f = tmp_path / "l.tsv"
    f.write_text("text\tlabel\n好评\tpositive\n差评\tbad\n", encoding="utf-8")
    with pytest.raises(ToneError, match=re.escape(f"{f}:3")):
        corpus.read_labelled_tsv(f, "x")
    f.write_text("只有一列\n", encoding="utf-8")
    with pytest.raises(ToneError, match=re.escape(f"{f}:1")):
        corpus.read_labelled_tsv(f, "x")


def test_public_data_with_the_wrong_checksum_is_refused(tmp_path: Path) -> None:
    for ds in corpus.PUBLIC:
        (tmp_path / ds.file).write_bytes(b"label,review\n1,good\n")
    with pytest.raises(ToneError, match="校验和"):
        corpus.load_public(tmp_path)
    with pytest.raises(ToneError, match="TONE_DATA"):
        corpus.load_public(tmp_path / "none")


def test_the_card_json_is_readable(tm: ToneModel) -> None:
    assert json.loads(json.dumps(tm.card))["kind"] == "bundled"


def test_the_same_model_saves_to_the_same_bytes(tm: ToneModel, tmp_path: Path) -> None:
    tm.save(tmp_path / "a.npz")
    tm.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_phrases_are_listed_once_and_not_inside_another() -> None:
    from monitor.models import distinct_phrases

    assert distinct_phrases(["项目部讨薪被", "项目部讨薪", "拖欠\n工资", "拖欠 工资", "被", " "]) == [
        "项目部讨薪被", "拖欠 工资"]


def test_the_committed_model_card_is_what_the_shipped_model_says(tm: ToneModel) -> None:
    from monitor.tone.bundle import card_text

    card = (Path(monitor.tone.__file__).parent / "MODEL.md").read_text(encoding="utf-8")
    assert card == card_text(tm.card)
