"""A database seeded with known items, incidents, clocks, alerts, fetches and rule changes
over 2026 (plus rows just outside it), through the Store's own writing methods, for tests
that assert statistics and reports exactly. The expected figures are worked out by hand
in tests/test_stats.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.models import Message, ParsedItem
from monitor.store import Store

from support import write_config

BJ = timedelta(hours=8)
NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def bj(*args: int) -> datetime:
    """A Beijing wall-clock time as UTC."""
    return datetime(*args, tzinfo=UTC) - BJ  # type: ignore[misc]


# (id, level, category, rules, first seen (Beijing), sources, items, status, outcome,
#  ack after (min), acknowledged by, resolve after (min), resolved by, ack clock,
#  respond clock, resolve note)
INCIDENTS: list[tuple[Any, ...]] = [
    (1, "red", "安全生产", ["collapse"], bj(2026, 1, 5, 9, 0), 3, 4, "resolved", "responded",
     10, "张三", 120, "张三", "met", "met", "已会同住建部门核实并公开回应"),
    (2, "red", "安全生产", ["collapse"], bj(2026, 3, 1, 22, 0), 1, 1, "resolved", "clarified",
     50, "李四", 1800, "李四", "missed", "missed", "已发布澄清说明"),
    (3, "orange", "欠薪讨薪", ["wage"], bj(2026, 3, 2, 8, 0), 1, 2, "resolved",
     "false_positive", 20, "张三", 300, "张三", "met", "met", "系招聘信息，误报"),
    (4, "yellow", "欠薪讨薪", ["wage", "collapse"], bj(2026, 3, 15, 10, 0), 2, 2, "resolved",
     "false_positive", 30, "王五", 600, "王五", None, "met", "与本单位无关"),
    (5, "yellow", "环境扰民", ["noise"], bj(2026, 6, 30, 23, 59), 1, 1, "open", None,
     None, None, None, None, None, None, None),
    (6, "blue", "环境扰民", ["noise"], bj(2026, 7, 1, 0, 0), 1, 1, "acknowledged", None,
     60, "张三", None, None, None, None, None),
    # outside 2026 (Beijing): 23:00 on 31 December 2025
    (7, "red", "安全生产", ["collapse"], bj(2025, 12, 31, 23, 0), 1, 1, "open", None,
     None, None, None, None, None, None, None),
]


def seed(tmp_path: Path) -> tuple[Path, Path]:
    """Returns (config path, database path)."""
    cfg = write_config(tmp_path, feeds=[
        {"name": "甲源", "url": "http://127.0.0.1:9/a.xml"},
        {"name": "乙源", "url": "http://127.0.0.1:9/b.xml"},
        {"name": "停用源", "url": "http://127.0.0.1:9/c.xml", "enabled": False},
    ], extra={"staff": [{"name": "张三", "email": "zs@example.org"},
                        {"name": "李四", "email": "ls@example.org"},
                        {"name": "值班群", "dingtalk": {   # a group chat, not a person
                            "webhook": "https://oapi.dingtalk.com/robot/send?access_token=t"}}]})
    db = tmp_path / "data" / "monitor.db"
    from monitor.config import load_config

    config = load_config(cfg)
    with Store(db) as store:
        store.sync_feeds(config.feeds, now=bj(2025, 12, 1, 0, 0))
        _items(store)
        _incidents(store)
        _alerts(store)
        _fetches(store)
        for version, at in (("v0", bj(2025, 12, 20, 9, 0)), ("v1", bj(2026, 2, 1, 9, 0)),
                            ("v2", bj(2026, 8, 1, 9, 0))):
            store.record_ruleset(version, {"r.yaml": f"# {version}\n"}, 3, actor="王五", now=at)
    return cfg, db


def _item(title: str, when: datetime | None) -> ParsedItem:
    return ParsedItem(guid=title, link=f"http://news.example/{title}", title=title,
                      body=f"{title}的正文", published_at=when)


def _items(store: Store) -> None:
    a = [_item("甲一", bj(2026, 1, 1, 0, 10)), _item("甲二", bj(2026, 1, 10, 12, 0)),
         _item("甲三", bj(2026, 1, 31, 23, 59)), _item("甲四", None),
         _item("甲五", bj(2026, 3, 1, 0, 0)), _item("甲六", bj(2026, 3, 31, 8, 0)),
         _item("甲旧", bj(2025, 12, 31, 23, 30)), _item("甲删", bj(2026, 3, 5, 8, 0))]
    # 甲四 has no date: it counts at its fetch time, 20 January
    store.store_items("甲源", a[:3] + a[4:], now=bj(2026, 4, 1, 0, 0))
    store.store_items("甲源", [a[3]], now=bj(2026, 1, 20, 9, 0))
    store.store_items("乙源", [_item("乙一", bj(2026, 3, 3, 3, 3))], now=bj(2026, 4, 1, 0, 0))
    deleted = next(i for i in store.list_items(limit=None) if i.title == "甲删")
    store.delete_item(deleted.id, actor="王五")


def _incidents(store: Store) -> None:
    for (iid, level, category, rules, first, sources, items, status, outcome, ack_after,
         ack_by, res_after, res_by, ack_clock, respond_clock, note) in INCIDENTS:
        opened = first + timedelta(minutes=5)
        fields: dict[str, Any] = {
            "id": iid, "title": f"事件{iid}：{category}", "category": category, "level": level,
            "status": status, "first_seen": first, "last_seen": first + timedelta(hours=1),
            "items": items, "sources": sources, "rules": rules, "categories": [category],
            "opened_at": opened, "outcome": outcome, "ack_clock": ack_clock,
            "respond_clock": respond_clock}
        if ack_after is not None:
            fields.update(acknowledged_at=opened + timedelta(minutes=ack_after),
                          acknowledged_by=ack_by)
        if res_after is not None:
            fields.update(resolved_at=opened + timedelta(minutes=res_after), resolved_by=res_by)
        store.create_incident(fields)
        store.log_step(iid, "opened", now=opened, level=level)
        if ack_after is not None:
            store.log_step(iid, "acknowledged", now=fields["acknowledged_at"], actor=ack_by)
        if res_after is not None:
            store.log_step(iid, "resolved", now=fields["resolved_at"], actor=res_by, note=note)
    store.log_step(5, "escalated", now=INCIDENTS[4][4] + timedelta(minutes=40), note="升级")
    store.log_step(5, "escalated", now=INCIDENTS[4][4] + timedelta(minutes=70), note="再升级")


def _alerts(store: Store) -> None:
    msg = Message(subject="s", text="t", markdown="m", html="h")
    rows = [("opened", 1, "sent", bj(2026, 1, 5, 9, 5)), ("opened", 1, "sent",
                                                            bj(2026, 1, 5, 9, 5)),
            ("opened", 2, "failed", bj(2026, 3, 1, 22, 5)), ("admin", None, "sent",
                                                               bj(2026, 5, 1, 9, 0)),
            ("opened", 7, "sent", bj(2025, 12, 31, 23, 5))]
    for n, (kind, incident, status, at) in enumerate(rows):
        did = store.add_delivery(kind=kind, recipient="张三", channel="email", message=msg,
                                 dedup_key=f"k{n}", due_at=at, now=at, incident_id=incident)
        assert did is not None
        store.record_attempt(did, now=at, ok=status == "sent", status=status,
                             error=None if status == "sent" else "连接被拒绝")


def _fetches(store: Store) -> None:
    for day in (3, 4, 5):
        store.record_success("甲源", now=bj(2026, 2, day, 9, 0), status=200,
                             next_check_at=bj(2026, 2, day, 9, 15))
    store.record_failure("甲源", now=bj(2026, 2, 5, 10, 0), kind="timeout", error="超时",
                         next_check_at=bj(2026, 2, 5, 10, 15))
    store.record_success("甲源", now=bj(2025, 12, 30, 9, 0), status=200,
                         next_check_at=bj(2025, 12, 30, 9, 15))
    store.record_success("甲源", now=bj(2026, 11, 30, 9, 0), status=200,
                         next_check_at=bj(2026, 11, 30, 9, 15))
    for hour in (9, 10):
        store.record_failure("乙源", now=bj(2026, 6, 1, hour, 0), kind="http", error="HTTP 500",
                             next_check_at=bj(2026, 6, 1, hour, 15))


# ---- tones (opt in: seed_tones after seed; the figures above do not change) ---------------
# title -> (model tone, negative probability, phrase spans, staff correction)
TONES: dict[str, tuple[str, float, list[tuple[int, int]], str | None]] = {
    "甲一": ("negative", 0.91, [(0, 2)], None),
    "甲二": ("neutral", 0.05, [], None),
    "甲三": ("positive", 0.02, [(0, 2)], "negative"),   # staff: negative after all
    "甲四": ("negative", 0.88, [(3, 5)], "neutral"),    # staff: not negative
    "甲五": ("negative", 0.95, [(3, 6)], None),         # matched no rule
    # 甲六: no tone
    "乙一": ("negative", 0.70, [(0, 2)], None),
    "甲旧": ("negative", 0.99, [], None),               # outside 2026
    "甲删": ("negative", 0.99, [], None),               # deleted: never counts
}
# incident id -> the items that joined it
INCIDENT_ITEMS = {1: ["甲一", "甲二"], 2: ["甲三"], 3: ["甲四"], 4: ["甲删", "甲六"],
                  5: ["乙一"], 7: ["甲旧"]}
# title -> the categories of the rules it matched (rule ids seed-*, none an incident's)
ITEM_CATEGORIES = {"甲一": ["安全生产"], "甲三": ["安全生产", "欠薪讨薪"], "乙一": ["环境扰民"]}


def seed_tones(db: Path) -> None:
    """Tones, corrections, incident items and rule categories on the seeded items."""
    from monitor.rules.scoring import Evaluation, RuleMatch, Span
    from monitor.tone import Tone

    with Store(db) as store:
        rows = store.db.query("SELECT id, title, feed, coalesce(published_at, fetched_at) AS t "
                              "FROM items")
        items = {r["title"]: r for r in rows}
        for title, (label, neg, spans, corrected) in TONES.items():
            rest = (1.0 - neg) / 2
            store.save_tone(items[title]["id"], Tone(label, neg, rest, rest, tuple(spans)),
                            model="test")
            if corrected:
                store.correct_tone(items[title]["id"], corrected, actor="张三", now=NOW)
        for iid, titles in INCIDENT_ITEMS.items():
            for title in titles:
                row = items[title]
                store.add_incident_item(iid, item_id=row["id"], feed=row["feed"], level="blue",
                                        how="opened", similarity=None,
                                        seen_at=datetime.fromisoformat(row["t"]), now=NOW,
                                        keys=[], signature="s")
        for title, cats in ITEM_CATEGORIES.items():
            ev = Evaluation(10, "blue", [RuleMatch(f"seed-{n}", c, "blue", f"种子{n}", 10,
                                                   [Span("title", 0, 2, title)])
                                         for n, c in enumerate(cats)])
            store.save_evaluation(items[title]["id"], ev, version="seed", now=NOW)
