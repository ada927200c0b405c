"""Tone in the product: read and stored at scoring, rule conditions on it, the tone bonus,
staff corrections (and rescoring with them), retraining with them, and ``tone eval``.

Real SQLite files, a real HTTP feed server on 127.0.0.1, the real CLI and the bundled model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.models import ToneSignal
from monitor.rules import load_ruleset_texts
from monitor.rules.scoring import TONE_BONUS
from monitor.store import Store

from support import Cli, write_config

T0 = datetime(2026, 3, 1, tzinfo=UTC)

LOCAL = """- id: local
  name: 本单位负面
  category: 本单位与辖区
  level: yellow
  weight: 20
  words:
    地域: [青山区]
  tone: negative
  examples:
    match: [青山区一工地发生坍塌 多名工人受伤]
    nomatch: [青山区召开工作例会]
"""
STRONG = """- id: strong
  name: 很负面
  category: 其他
  level: blue
  weight: 30
  words:
    词: [工地]
  min_negative: 0.7
"""

RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>青山区召开工作例会</title><guid>1</guid><description>会议部署下一阶段工作</description></item>
<item><title>青山区一工地发生坍塌 多名工人受伤</title><guid>2</guid><description></description></item>
<item><title>青山区发布停水通知</title><guid>3</guid><description></description></item>
</channel></rss>"""


def _deploy(tmp_path: Path, httpserver: object, *rules: str) -> Cli:
    d = tmp_path / "rules"
    d.mkdir()
    for i, text in enumerate(rules):
        (d / f"r{i}.yaml").write_text(text, "utf-8")
    httpserver.expect_request("/rss.xml").respond_with_data(  # type: ignore[attr-defined]
        RSS, content_type="text/xml")
    config = write_config(tmp_path, rules_dir=d, feeds=[
        {"name": "融媒体", "url": httpserver.url_for("/rss.xml")}])  # type: ignore[attr-defined]
    cli = Cli(config)
    assert cli.json("fetch")["new_items"] == 3
    return cli


def _by_title(cli: Cli) -> dict[str, dict[str, object]]:
    return {r["title"]: r for r in cli.json("items", "list")}


def test_fetched_items_get_a_tone_and_tone_rules_match_only_negative(tmp_path, httpserver):
    cli = _deploy(tmp_path, httpserver, LOCAL, STRONG)
    items = _by_title(cli)
    meeting = cli.json("items", "show", str(items["青山区召开工作例会"]["id"]))
    collapse = cli.json("items", "show", str(items["青山区一工地发生坍塌 多名工人受伤"]["id"]))
    assert meeting["tone"]["label"] == "neutral" and meeting["tone"]["model"]
    assert collapse["tone"]["label"] == "negative" and collapse["tone"]["negative"] > 0.9
    assert collapse["tone"]["phrases"] and collapse["tone"]["corrected"] is None
    # stored: the negative mention matched (with the tone bonus), the announcement did not
    assert [m["rule"] for m in meeting["stored"]["matches"]] == []
    assert sorted(m["rule"] for m in collapse["stored"]["matches"]) == ["local", "strong"]
    assert collapse["stored"]["level"] == "yellow"
    assert collapse["stored"]["score"] == 63 + TONE_BONUS   # (20 + 30) × 1.25 (title) + bonus
    assert collapse["current"]["tone_bonus"] == TONE_BONUS
    refused = meeting["current"]["tone_refused"]
    assert [r["rule"] for r in refused] == ["local"] and "中性" in refused[0]["reason"]
    out = cli("items", "show", str(items["青山区一工地发生坍塌 多名工人受伤"]["id"])).output
    assert "倾向：负面（" in out and "〖" in out and "负面倾向 10" in out
    with Store(tmp_path / "data" / "monitor.db") as store:
        item = store.get_item(int(str(items["青山区发布停水通知"]["id"])))
        assert item is not None and item.tone == "neutral" and item.tone_spans is not None


def test_rules_test_carries_the_tone(tmp_path, httpserver):
    cli = _deploy(tmp_path, httpserver, LOCAL)
    doc = cli.json("rules", "test", "--title", "青山区一工地发生坍塌", "--body", "多名工人受伤")
    assert doc["tone"]["label"] == "negative" and 0.9 < doc["tone"]["negative"] <= 1
    assert [m["rule"] for m in doc["matches"]] == ["local"]
    doc = cli.json("rules", "test", "--title", "青山区召开工作例会")
    assert doc["tone"]["label"] == "neutral" and doc["matches"] == []
    out = cli("rules", "test", "--title", "青山区召开工作例会").output
    assert "倾向：中性" in out and "倾向为中性，本规则只在倾向为负面时命中" in out
    out = cli("rules", "test", "--title", "青山区一工地发生坍塌 多名工人受伤").output
    assert "倾向：负面（0.9" in out or "倾向：负面（1.00）" in out
    assert "〖" in out
    # the rule's examples are checked with their tone
    assert "全部通过" in cli("rules", "check").output


def test_tone_conditions_without_a_tone_and_min_negative():
    rs = load_ruleset_texts({"a.yaml": LOCAL, "b.yaml": STRONG})
    assert rs.evaluate(body="青山区工地").matches == []          # no tone: no match
    ex = rs.explain(body="青山区工地")
    assert {r.rule.id for r in ex.of("tone")} == {"local", "strong"}
    assert all("没有倾向" in r.tone_reason for r in ex.of("tone"))
    weak = rs.evaluate(body="青山区工地", tone=ToneSignal("negative", 0.6))
    assert [m.rule for m in weak.matches] == ["local"] and weak.tone_bonus == 0
    assert weak.score == 20
    strong = rs.evaluate(body="青山区工地", tone=ToneSignal("negative", 0.95))
    assert sorted(m.rule for m in strong.matches) == ["local", "strong"]
    assert strong.score == 50 + TONE_BONUS and strong.tone_bonus == TONE_BONUS
    neutral = rs.evaluate(body="青山区工地", tone=ToneSignal("neutral", 0.75))
    assert [m.rule for m in neutral.matches] == ["strong"]
    # nothing matched: no bonus however negative
    assert rs.evaluate(title="无关", tone=ToneSignal("negative", 1.0)).score == 0
    # a list of tones, in Chinese
    many = load_ruleset_texts({"c.yaml": LOCAL.replace("tone: negative", "tone: [负面, 中性]")})
    assert many.rules[0].tones == ("negative", "neutral")
    assert many.evaluate(title="青山区", tone=ToneSignal("neutral", 0.1)).matches


@pytest.mark.parametrize(("line", "value", "words"), [
    ("  tone: angry", 8, "倾向 “angry” 无效"),
    ("  min_negative: 1.5", 8, "min_negative 应为 0 到 1 之间的数"),
    ("  min_negative: 很高", 8, "min_negative 应为 0 到 1 之间的数"),
])
def test_tone_schema_errors_name_file_and_line(line, value, words):
    text = LOCAL.replace("  tone: negative", line)
    with pytest.raises(RuleError) as e:
        load_ruleset_texts({"local.yaml": text})
    problems = e.value.problems
    assert [(p.file, p.line) for p in problems] == [("local.yaml", value)]
    assert words in problems[0].message


def test_items_tone_records_a_correction_and_rescores_the_item(tmp_path, httpserver):
    cli = _deploy(tmp_path, httpserver, LOCAL)
    notice = _by_title(cli)["青山区发布停水通知"]["id"]
    assert cli.json("items", "show", str(notice))["stored"]["matches"] == []
    r = cli("items", "tone", str(notice), "negative", "--by", "张三")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"条目#{notice} 倾向：中性 → 负面（张三，")
    doc = cli.json("items", "show", str(notice))
    assert doc["tone"]["label"] == "negative" and doc["tone"]["model_label"] == "neutral"
    assert doc["tone"]["corrected"]["by"] == "张三"
    assert doc["tone"]["corrected"]["previous"] == "neutral"
    # the corrected tone counts as certain: the rule matches, with the bonus; an incident opens
    assert [m["rule"] for m in doc["stored"]["matches"]] == ["local"]
    assert doc["stored"]["score"] == 25 + TONE_BONUS and doc["stored"]["level"] == "yellow"
    assert any(i["level"] == "yellow" for i in cli.json("incidents", "list"))
    assert "（张三，" in cli("items", "show", str(notice)).output
    with Store(tmp_path / "data" / "monitor.db") as store:
        kinds = [r[0] for r in store.db.execute("SELECT kind FROM events").fetchall()]
        assert "item.tone_corrected" in kinds and "item.rescored" in kinds
        assert [c.tone for c in store.tone_corrections(item_id=int(str(notice)))] == ["negative"]
    r = cli("items", "tone", "9999", "neutral", "--by", "张三")
    assert r.exit_code == 1 and "没有编号为 9999 的条目" in r.output
    assert len(r.output.strip().splitlines()) == 1


# -- retraining ---------------------------------------------------------------------------

TEACH = ["窗口推诿扯皮", "又在推诿扯皮"]                  # the bundled model calls these neutral
TOY = ["办证推诿扯皮", "处处推诿扯皮", "遇事推诿扯皮", "推诿扯皮两个月"]
FLIP = ["工地发生坍塌 多人被困", "农民工讨薪被打", "小区爆炸致三人死亡", "强拆致老人受伤",
        "工地拖欠工资半年", "化工厂火灾多人受伤"]


def _store_with_corrections(tmp_path: Path, fixes: list[tuple[str, str]]) -> Cli:
    from monitor.models import ParsedItem

    config = write_config(tmp_path)
    with Store(tmp_path / "data" / "monitor.db") as store:
        stored = store.store_items("f", [ParsedItem(guid=str(i), link=None, title=t, body="",
                                                    published_at=T0)
                                         for i, (t, _) in enumerate(fixes)], now=T0)
        for s, (_, tone) in zip(stored, fixes, strict=True):
            store.correct_tone(s.id, tone, actor="张三", now=T0)
    return Cli(config)


def _events(tmp_path: Path) -> list[str]:
    with Store(tmp_path / "data" / "monitor.db") as store:
        return [r[0] for r in store.db.execute("SELECT kind FROM events").fetchall()]


def test_tone_train_that_improves_is_swapped_in(tmp_path):
    cli = _store_with_corrections(tmp_path, [(t, "negative") for t in TEACH])
    toy = tmp_path / "toy.tsv"
    toy.write_text("text\tlabel\n" + "".join(f"{t}\tnegative\n" for t in TOY), "utf-8")
    r = cli("tone", "train", "--held-out", str(toy))
    assert r.exit_code == 0, r.output
    assert "toy.tsv" in r.output and "headlines" in r.output and "已换用新模型" in r.output
    model = tmp_path / "data" / "tone-model.npz"
    assert model.exists()
    assert "tone.model_swapped" in _events(tmp_path)
    # the model in use is now the retrained one, and it reads the taught phrase
    shown = cli.json("tone", "show")
    assert shown["kind"] == "retrained" and shown["version"].startswith("unit-")
    from monitor.score import ToneKeeper

    retrained = ToneKeeper(model).refresh()
    assert retrained is not None and retrained.tone("遇事推诿扯皮").label == "negative"


def test_tone_train_that_would_do_worse_is_refused(tmp_path):
    cli = _store_with_corrections(tmp_path, [(t, "positive") for t in FLIP])
    r = cli("tone", "train", "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["accepted"] is False and not doc["swapped"] and "headlines" in doc["reason"]
    before, after = doc["before"]["headlines"], doc["after"]["headlines"]
    assert after["macro_f1"] < before["macro_f1"] - 0.01
    assert not (tmp_path / "data" / "tone-model.npz").exists()
    assert "tone.retrain_refused" in _events(tmp_path)


# -- tone eval ----------------------------------------------------------------------------

EVAL = [("工地发生坍塌 多名工人被困", "negative"),   # model: negative
        ("农民工讨薪被保安打伤", "negative"),         # negative
        ("小区发生爆炸 三人受伤", "neutral"),         # negative (gold says neutral)
        ("区政府召开工作例会", "neutral"),            # neutral
        ("街道发布停水通知", "negative"),             # neutral (gold says negative)
        ("区教育局公布招生计划", "neutral"),          # neutral
        ("志愿者服务受到居民好评", "positive")]       # positive


def test_tone_eval_known_figures(tmp_path):
    cli = Cli(write_config(tmp_path))
    f = tmp_path / "eval.tsv"
    f.write_text("text\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in EVAL), "utf-8")
    doc = cli.json("tone", "eval", str(f))
    # by hand: rows gold (neg, neu, pos), columns predicted
    assert doc["confusion"] == [[2, 1, 0], [1, 2, 0], [0, 0, 1]]
    per = doc["per_tone"]
    assert per["negative"]["precision"] == per["negative"]["recall"] == pytest.approx(0.6667)
    assert per["neutral"]["f1"] == pytest.approx(0.6667)
    assert per["positive"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert doc["accuracy"] == pytest.approx(5 / 7, abs=1e-4)
    assert doc["macro_f1"] == pytest.approx(7 / 9, abs=1e-4)
    out = cli("tone", "eval", str(f)).output
    assert "混淆矩阵" in out and "0.667" in out and "共 7 条" in out
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\n好\tpositive\n坏\tbad\n", "utf-8")
    r = cli("tone", "eval", str(bad))
    assert r.exit_code == 1 and f"{bad}:3:" in r.output


def test_tone_keeper_loads_the_units_file_reloads_it_and_keeps_the_old_on_a_broken_one(
        tmp_path, caplog):
    import logging

    from monitor.score import ToneKeeper
    from monitor.tone import load_tone_model

    path = tmp_path / "tone-model.npz"
    keeper = ToneKeeper(path)
    first = keeper.refresh()
    assert first is not None and first.source.endswith("model.npz") and keeper.refresh() is first
    unit = load_tone_model()
    unit.card["version"] = "unit-test"
    unit.save(path)
    assert keeper.refresh().version == "unit-test"                   # type: ignore[union-attr]
    path.write_bytes(b"not a model at all")
    with caplog.at_level(logging.ERROR, logger="monitor.score"):
        assert keeper.refresh().version == "unit-test"               # type: ignore[union-attr]
    assert any("继续使用原有模型" in r.getMessage() for r in caplog.records)
    assert ToneKeeper(path, enabled=False).refresh() is None
    assert ToneKeeper(path).refresh().version.startswith("bundled")  # type: ignore[union-attr]
