"""Items a monitoring officer can act on: ``items show`` explains one item (rules, shares,
groups, exclusions, near-misses, the formula, the stored result), ``items list`` shows
id, times and link and filters by fetch time, and every list cut by ``--limit`` says how
many more there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Message, ParsedItem
from monitor.parse.finish import check_date
from monitor.rules import load_ruleset
from monitor.store import Store

from support import Cli, write_config

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
RULES = """\
- id: site-collapse
  name: 工地坍塌
  category: 安全生产
  level: orange
  weight: 60
  words:
    主体: [工地, 脚手架]
    事件: [坍塌, 倒塌]
    排除: [演练]
  condition: 主体 and 事件 and not 排除
- id: wage
  name: 拖欠工资
  category: 欠薪讨薪
  level: yellow
  weight: 40
  words:
    主体: [工地, 项目部]
    事件: [欠薪, 讨薪]
  condition: 主体 and 事件
- id: drill
  name: 坍塌演练
  category: 安全生产
  level: blue
  weight: 10
  words:
    事件: [坍塌]
    排除: [演练]
    伤亡: [受伤]
  condition: 事件 and 伤亡 and not 排除
"""


def _item(n: int, title: str, body: str = "", published: datetime | None = None) -> ParsedItem:
    return ParsedItem(guid=str(n), link=f"http://x.org/{n}", title=title, body=body,
                      published_at=published)


@pytest.fixture
def deployed(tmp_path):
    cfg = write_config(tmp_path, feeds=[{"name": "甲", "url": "http://127.0.0.1:9/a"}])
    (tmp_path / "rules" / "rules.yaml").write_text(RULES, encoding="utf-8")
    rs = load_ruleset(tmp_path / "rules")
    db = tmp_path / "data" / "monitor.db"
    with Store(db) as store:
        texts = [("某工地脚手架坍塌", "工人讨薪未果"),          # 1: matched x2, near-miss drill
                 ("工地坍塌应急演练", "模拟"),                   # 2: exclusion
                 ("项目部通知", "")]                             # 3: nothing
        for n, (title, body) in enumerate(texts):
            at = T0 + timedelta(days=n)
            stored = store.store_items("甲", [_item(n, title, body, at)], now=at)
            store.save_evaluation(stored[0].id, rs.evaluate(title=title, body=body),
                                  version=rs.version, now=at)
        yield store, Cli(cfg), tmp_path


def test_items_show_explains_the_score(deployed) -> None:
    _, cli, _ = deployed
    r = cli("items", "show", "1")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "来源：甲" in out and "链接：http://x.org/0" in out
    assert "发布：2026-11-01 10:00" in out and "抓取：2026-11-01 10:00" in out
    # site-collapse: 60 × 1.25 (title) = 75; wage: 40 (body only... 工地 in title) = 50
    assert "site-collapse（工地坍塌，安全生产，重大（橙））：权重 60×1.25（标题中命中） = 75" in out
    assert "命中词组  主体：工地、脚手架；事件：坍塌" in out
    assert "wage（拖欠工资" in out and "= 50" in out
    assert "差一点命中" in out and "drill（坍塌演练）：命中 事件：坍塌" in out
    assert "计分：安全生产 75 + 欠薪讨薪 50 → 100" in out
    assert "同一类别中贡献最大的一条全额计入，其余各条减半计入" in out
    assert "入库时评分" in out and "命中 site-collapse、wage" in out
    assert "规则改动后" not in out
    doc = cli.json("items", "show", "1")
    assert [m["rule"] for m in doc["current"]["matches"]] == ["site-collapse", "wage"]
    assert doc["current"]["matches"][0]["counted"] == 75
    assert [m["rule"] for m in doc["current"]["near_misses"]] == ["drill"]
    assert doc["changed"] is False


def test_items_show_names_the_exclusion_and_a_rule_change(deployed) -> None:
    _, cli, tmp = deployed
    out = cli("items", "show", "2").output
    assert "排除词生效（未计分）" in out
    assert "site-collapse（工地坍塌）：命中 主体：工地；事件：坍塌；排除词 排除：演练" in out
    (tmp / "rules" / "rules.yaml").write_text(RULES.replace("排除: [演练]\n  condition: 主体",
                                                            "排除: [不存在]\n  condition: 主体"),
                                              encoding="utf-8")
    out = cli("items", "show", "2").output
    assert "规则改动后，当前规则的评估与入库时的结果不同" in out
    assert cli("items", "show", "99").exit_code == 1


def test_future_item_is_shown_by_its_fetch_time(deployed) -> None:
    store, cli, _ = deployed
    fetched = T0 + timedelta(days=5)
    future = _item(9, "来自未来", "", fetched + timedelta(days=30))
    future.published_at, future.date_note = check_date(future.published_at, fetched)
    stored = store.store_items("甲", [future], now=fetched)
    out = cli("items", "show", str(stored[0].id)).output
    assert "发布：2026-11-06 10:00（发布时间不可信（晚于抓取时间一天以上），按抓取时间计）" in out
    listed = cli("items", "list", "--limit", "1").output
    assert "发布 2026-11-06 10:00（发布时间不可信，按抓取时间）" in listed


def test_items_list_columns_and_fetched_since(deployed) -> None:
    _, cli, _ = deployed
    out = cli("items", "list").output
    assert "[1] 甲  发布 2026-11-01 10:00  抓取 2026-11-01 10:00" in out
    assert "http://x.org/0" in out
    out = cli("items", "list", "--fetched-since", "2026-11-02 12:00").output
    assert "[3]" in out and "[1]" not in out and "[2]" not in out
    doc = cli.json("items", "list", "--fetched-since", "2026-11-02")
    assert [d["id"] for d in doc] == [3, 2]
    assert set(doc[0]) == {"id", "feed", "title", "link", "published_at", "fetched_at", "body"}


MORE = "（还有 {} 条未显示：用 --limit 显示更多）"


def test_every_cut_list_says_how_many_more(deployed) -> None:
    store, cli, tmp = deployed
    for n in range(3):
        iid = store.create_incident({"title": f"事件{n}", "category": "安全生产", "level": "red",
                                     "first_seen": T0, "last_seen": T0, "opened_at": T0})
        msg = Message(subject="s", text="t", markdown="m", html="h")
        store.add_delivery(kind="alert", recipient="张三", channel="email", message=msg,
                           dedup_key=f"k{n}", due_at=T0, now=T0, incident_id=iid)
    rs = load_ruleset(tmp / "rules")
    more = store.store_items("甲", [_item(7, "项目部欠薪", "", T0)], now=T0)
    store.save_evaluation(more[0].id, rs.evaluate(title="项目部欠薪"), version=rs.version)
    assert MORE.format(3) in cli("items", "list", "--limit", "1").output
    assert "还有" not in cli("items", "list", "--limit", "4").output
    assert MORE.format(1) in cli("items", "scored", "--limit", "1").output
    assert MORE.format(2) in cli("incidents", "list", "--limit", "1").output
    assert "还有" not in cli("incidents", "list").output
    assert MORE.format(1) in cli("alerts", "list", "--limit", "2").output
    total = len(store.list_log())
    assert MORE.format(total - 1) in cli("log", "list", "--limit", "1").output
    assert len(cli.json("incidents", "list", "--limit", "1")) == 1
