"""Scoring, levels, the ``rules test --json`` shape, the default ruleset, threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from monitor.models import LEVELS
from monitor.rules import RuleMatch, Span, check_examples, load_ruleset
from monitor.rules.scoring import score_matches

ROOT = Path(__file__).resolve().parent.parent


def match(rule: str, category: str, level: str, weight: int, title: bool = False) -> RuleMatch:
    span = Span("title" if title else "body", 0, 2, "工地")
    return RuleMatch(rule=rule, category=category, level=level, name=rule, weight=weight,
                     spans=[span])


@pytest.mark.parametrize(("matches", "score", "level"), [
    ([], 0, None),
    ([match("a", "x", "blue", 40)], 40, "blue"),
    ([match("a", "x", "blue", 40, title=True)], 50, "blue"),
    ([match("a", "x", "blue", 90, title=True)], 100, "blue"),      # capped per rule
    ([match("a", "x", "blue", 40), match("b", "x", "red", 20)], 50, "red"),  # 40 + 20/2
    ([match("a", "x", "blue", 40), match("b", "y", "info", 20)], 60, "blue"),
    ([match("a", "x", "blue", 60), match("b", "y", "red", 60)], 100, "red"),  # total capped
    ([match("a", "x", "info", 0)], 0, "info"),
    ([match("a", "x", "blue", 1), match("b", "x", "blue", 1)], 2, "blue"),  # 1.5 rounds up
    ([match("a", "x", "blue", 3, title=True)], 4, "blue"),                  # 3.75 -> 4
])
def test_score_formula(matches: list[RuleMatch], score: int, level: str | None) -> None:
    ev = score_matches(matches)
    assert (ev.score, ev.level) == (score, level)


def test_matches_are_ordered_most_serious_first() -> None:
    ev = score_matches([match("a", "x", "blue", 90), match("b", "y", "red", 10),
                        match("c", "z", "red", 50)])
    assert [m.rule for m in ev.matches] == ["c", "b", "a"]
    assert ev.categories == ["z", "y", "x"]


def test_json_shape(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "- id: wages\n  name: 欠薪\n  category: 欠薪讨薪\n  level: yellow\n  weight: 40\n"
        "  words:\n    主体: [工地]\n    事件: [讨薪]\n", encoding="utf-8")
    rs = load_ruleset(tmp_path)
    doc = rs.evaluate(title="工地讨薪", body="工人讨*薪").to_dict()
    assert json.loads(json.dumps(doc)) == doc
    assert doc == {
        "score": 50,
        "level": "yellow",
        "matches": [{
            "rule": "wages", "category": "欠薪讨薪", "level": "yellow", "name": "欠薪",
            "spans": [
                {"field": "title", "start": 0, "end": 2, "text": "工地"},
                {"field": "title", "start": 2, "end": 4, "text": "讨薪"},
                {"field": "body", "start": 2, "end": 5, "text": "讨*薪"},
            ],
        }],
    }
    empty = rs.evaluate(body="无关内容").to_dict()
    assert empty == {"score": 0, "level": None, "matches": []}


def test_default_ruleset_loads_and_examples_pass() -> None:
    rs = load_ruleset(ROOT / "rules")
    assert check_examples(rs) == []
    files = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    assert files[0] == "00-本单位与辖区.yaml"
    categories = {r.category for r in rs.rules}
    assert {"安全生产", "工程质量", "欠薪讨薪", "征地拆迁", "环境扰民", "交通出行", "廉政风险",
            "网络谣言", "干部网络行为", "本单位与辖区"} <= categories
    for rule in rs.rules:
        assert rule.level in LEVELS
        assert any(e.expect for e in rule.examples), rule.id
        assert any(not e.expect for e in rule.examples), rule.id
    local = rs.rule("local-mention")
    assert local is not None and local.level == "yellow" and local.tones == ("negative",)
    assert "管理员请填写本辖区地名和机构名" in rs.files["00-本单位与辖区.yaml"]


@pytest.mark.parametrize(("title", "body", "rule"), [
    ("青山区一工地脚手架坍塌", "事故造成2人受伤，1人被困", "safety-casualty"),
    ("滨江新区某项目拖欠农民工工资", "数十名工人聚集在项目部门口讨薪", "wage-protest"),
    ("网传某小区安置房开裂？", "经核实，系不实信息", "rumor"),
])
def test_default_ruleset_on_stories(title: str, body: str, rule: str) -> None:
    rs = load_ruleset(ROOT / "rules")
    ev = rs.evaluate(title=title, body=body)
    assert rule in [m.rule for m in ev.matches]
    assert ev.score > 0 and ev.level is not None


def test_evaluate_while_another_ruleset_is_built(tmp_path: Path) -> None:
    rs = load_ruleset(ROOT / "rules")
    expected = rs.evaluate(title="工地坍塌", body="造成两人受伤").to_dict()
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        try:
            while not stop.is_set():
                assert rs.evaluate(title="工地坍塌", body="造成两人受伤").to_dict() == expected
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            other = load_ruleset(ROOT / "rules")
            other.evaluate(body="她穿着和服，工地串标")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
