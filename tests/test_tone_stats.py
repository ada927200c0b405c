"""负面舆情 in the statistics and the report, on the seeded database with tones
(tests/seed.py ``seed_tones``): every figure worked out by hand, corrections winning over
the model, deleted items never counting, the other figures unchanged, and the report's
负面 figures equal to ``yuqing stats``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from report_fixtures import empty_stats

from monitor.config import load_config
from monitor.incidents.tone import (
    ItemTone,
    incident_line,
    incident_tone,
    is_negative_incident,
    tone_line,
)
from monitor.report.compose import compose, negative_prose
from monitor.report.stats import annual, between, compute
from monitor.report.write import write_report
from monitor.store import Store

from seed import NOW, bj, seed, seed_tones
from support import Cli

NEGATIVE_FIELDS = {"items_toned", "negative_items", "negative_incidents", "negative_by_month",
                   "negative_by_category", "negative_items_unmatched"}


@pytest.fixture
def toned(tmp_path: Path):
    cfg, db = seed(tmp_path)
    with Store(db) as store:
        before = compute(store, annual(2026), config=load_config(cfg), now=NOW)
    seed_tones(db)
    with Store(db) as store:
        yield cfg, before, compute(store, annual(2026), config=load_config(cfg), now=NOW)


def test_negative_incidents_and_items_by_month_and_category(toned) -> None:
    _, _, s = toned
    # toned in 2026: 甲一 甲二 甲三 甲四 甲五 乙一 (甲旧 is 2025, 甲删 deleted, 甲六 untoned)
    assert s.items_toned == 6
    # 甲一, 甲三 (corrected to negative), 甲五, 乙一; not 甲四 (corrected to neutral)
    assert s.negative_items == 4
    # #1 (甲一), #2 (甲三 corrected), #5 (乙一); not #3 (甲四 corrected), not #4 (only the
    # deleted item is negative), not #7 (2025)
    assert s.negative_incidents == 3
    by_month = {m.key: (m.incidents, m.items) for m in s.negative_by_month}
    assert [m.key for m in s.negative_by_month] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert by_month["2026-01"] == (1, 2)
    assert by_month["2026-03"] == (1, 2)
    assert by_month["2026-06"] == (1, 0)              # #5 first seen 30 June 23:59
    assert sum(i for i, _ in by_month.values()) == 3
    assert sum(n for _, n in by_month.values()) == 4
    assert [(c.key, c.incidents, c.items) for c in s.negative_by_category] == [
        ("安全生产", 2, 2), ("环境扰民", 1, 1), ("欠薪讨薪", 0, 1)]
    assert s.negative_items_unmatched == 1            # 甲五 matched no rule


def test_tones_leave_every_other_figure_unchanged(toned) -> None:
    _, before, after = toned
    for f in dataclasses.fields(before):
        if f.name not in NEGATIVE_FIELDS:
            assert getattr(before, f.name) == getattr(after, f.name), f.name
    assert before.items_toned == before.negative_incidents == 0


def test_a_shorter_period_counts_only_its_own(toned) -> None:
    cfg, _, _ = toned
    with Store(load_config(cfg).storage.path, create=False) as store:
        s = compute(store, between(bj(2026, 3, 1, 0, 0), bj(2026, 4, 1, 0, 0)),
                    config=load_config(cfg), now=NOW)
    assert (s.items_toned, s.negative_items, s.negative_incidents) == (2, 2, 1)
    assert [(m.key, m.incidents, m.items) for m in s.negative_by_month] == [("2026-03", 1, 2)]


def test_stats_command_carries_the_negative_figures(toned) -> None:
    cfg, _, s = toned
    cli = Cli(cfg)
    doc = cli.json("stats", "--year", "2026")
    assert doc["negative_incidents"] == 3 and doc["negative_items"] == 4
    assert doc["items_toned"] == 6 and doc["negative_items_unmatched"] == 1
    assert doc["negative_by_month"][0] == {"key": "2026-01", "incidents": 1, "items": 2}
    assert doc["negative_by_category"] == [dataclasses.asdict(c) for c in s.negative_by_category]
    out = cli("stats", "--year", "2026").stdout
    assert "负面舆情 3 起（占舆情事件 50.0%）；负面信息 4 条（已判定倾向的信息 6 条，占 66.7%）" in out
    assert "负面按月：2026-01 1 起/2 条，2026-03 1 起/2 条，2026-06 1 起/0 条" in out
    assert "负面按类别：安全生产 2 起/2 条，环境扰民 1 起/1 条，欠薪讨薪 0 起/1 条；" \
           "未命中规则的负面信息 1 条" in out


def _tables(doc):
    return {t.caption.split(" ", 1)[1]: t for t in doc.tables}


def test_the_reports_negative_figures_are_the_stats(toned, tmp_path: Path) -> None:
    cfg, _, s = toned
    doc = compose(s, charts=False)
    tables = _tables(doc)
    months = tables["负面舆情月度分布"]
    assert months.header == ["月份", "负面舆情（起）", "负面信息（条）"]
    assert [(int(r[1]), int(r[2])) for r in months.rows[:-1]] == \
        [(m.incidents, m.items) for m in s.negative_by_month]
    assert months.rows[0][0] == "1月" and months.rows[-1] == ["合计", "3", "4"]
    cats = tables["负面舆情类别分布"]
    assert cats.rows == [["安全生产", "2", "2"], ["环境扰民", "1", "1"], ["欠薪讨薪", "0", "1"],
                         ["未命中监测规则", "—", "1"]]
    text = "\n".join(p.text for p in doc.paragraphs)
    m = re.search(r"已判定倾向的信息(\d+)条中，负面信息(\d+)条，占([\d.]+%)；"
                  r"涉及本单位舆情(\d+)起中，负面舆情(\d+)起，占([\d.]+%)", text)
    assert m, text
    assert (int(m[1]), int(m[2]), int(m[4]), int(m[5])) == (
        s.items_toned, s.negative_items, s.incidents_total, s.negative_incidents)
    assert (m[3], m[6]) == ("66.7%", "50.0%")
    assert "负面舆情最多的月份为1月（1起），最多的类别为安全生产（2起）" in text
    # the same figures as yuqing stats, and in every written format
    doc_json = Cli(cfg).json("stats", "--year", "2026")
    assert doc_json["negative_incidents"] == int(m[5])
    assert doc_json["negative_items"] == int(m[2])
    md = write_report(s, "md", tmp_path / "r.md").path
    html = write_report(s, "html", tmp_path / "r.html").path
    docx_path = write_report(s, "docx", tmp_path / "r.docx").path
    for path in (md, html):
        body = path.read_text(encoding="utf-8")
        assert "负面舆情月度分布" in body and "负面舆情类别分布" in body
        assert "未命中监测规则" in body
    import docx

    cells = [c.text for t in docx.Document(str(docx_path)).tables for r in t.rows
             for c in r.cells]
    assert "未命中监测规则" in cells and "负面舆情（起）" in cells


def test_a_period_without_tones_or_data_says_so_and_has_no_table() -> None:
    empty = empty_stats()
    doc = compose(empty)
    assert doc.tables == []
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "未发现负面舆情" in text
    untoned = dataclasses.replace(empty, items_total=5)
    assert "尚未进行倾向（正面、中性、负面）判定" in negative_prose(untoned)
    quiet = dataclasses.replace(empty, items_total=5, items_toned=5)
    assert negative_prose(quiet).endswith("未发现负面舆情。")
    assert "负面舆情" not in "".join(t.caption for t in compose(quiet).tables)


def test_one_definition_of_a_negative_incident() -> None:
    assert is_negative_incident(["neutral", None, "negative"])
    assert not is_negative_incident(["neutral", "positive", None])
    assert not is_negative_incident([])
    text = "某小区物业太失望了\n业主反映没人管"
    neg = ItemTone("negative", 0.93, [(5, 9, "太失望了"), (14, 17, "没人管")],
                   model_label="negative")
    assert tone_line(neg) == "倾向：负面（负面概率 0.93），依据：“太失望了”“没人管”"
    assert text[5:9] == "太失望了" and text[14:17] == "没人管"
    # corrected to another tone: the model's phrases no longer explain it
    fixed = ItemTone("neutral", 0.93, neg.phrases, corrected=True, model_label="negative")
    assert tone_line(fixed) == "倾向：中性（负面概率 0.93，人工更正，模型判为负面）"
    t = incident_tone([neg, neg, ItemTone("neutral", 0.1, model_label="neutral"),
                       ItemTone(None, None)])
    assert t.negative and t.summary() == "负面 2 条、中性 1 条、未判定 1 条"
    assert incident_line(t) == "倾向：负面舆情（负面 2 条、中性 1 条、未判定 1 条），" \
                               "依据：“太失望了”“没人管”"
    calm = incident_tone([ItemTone("neutral", 0.1, model_label="neutral")])
    assert not calm.negative and calm.name == "中性"


def test_tone_phrases_split_into_title_and_body_spans_for_the_console() -> None:
    from monitor.incidents.detail import split_tone_spans
    from monitor.models import tone_text

    title, body = "物业太失望了", "业主说没人管"
    text = tone_text(title, body)
    across = (text.index("失望"), text.index("业主") + 2)       # 失望了\n业主
    neg = ItemTone("negative", 0.9, [(2, 6, "太失望了"), (text.index("没人管"),
                                                          text.index("没人管") + 3, "没人管"),
                                     (*across, text[slice(*across)])], model_label="negative")
    assert split_tone_spans(neg, len(title)) == ([(2, 6), (3, 6)], [(0, 2), (3, 6)])
    assert body[3:6] == "没人管" and title[2:6] == "太失望了"
    fixed = ItemTone("neutral", 0.9, neg.phrases, corrected=True, model_label="negative")
    assert split_tone_spans(fixed, len(title)) == ([], [])
    assert split_tone_spans(None, len(title)) == ([], [])
