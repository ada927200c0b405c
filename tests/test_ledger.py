"""The report writers' queries: ``incidents list`` filtered by text, outcome and feed; the
舆情台账 exported as csv (UTF-8 with BOM, read back as Excel would) and xlsx (read back
with openpyxl); ``items search`` ranked and highlighted. A real SQLite file, the CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import ParsedItem
from monitor.store import Store

from support import Cli, write_config

LIST_KEYS = {"id", "title", "category", "level", "status", "first_seen", "last_seen", "items",
             "sources", "acknowledged_at", "acknowledged_by", "resolved_at"}
T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)          # 10:00 Beijing
HOSTILE = '=HYPERLINK("http://evil.example","点我")'


def _item(guid: str, title: str, body: str, when: datetime) -> ParsedItem:
    return ParsedItem(guid=guid, link=f"https://news.example/{guid}.html", title=title,
                      body=body, published_at=when)


@pytest.fixture
def ledger_db(tmp_path: Path) -> Cli:
    cfg = write_config(tmp_path, feeds=[{"name": "论坛", "url": "http://127.0.0.1:9/a"},
                                        {"name": "政务网", "url": "http://127.0.0.1:9/b"}])
    with Store(tmp_path / "data" / "monitor.db") as store:
        a = store.store_items("论坛", [
            _item("a1", "滨江工地拖欠农民工工资", "工人聚集讨薪，项目部称月底结清", T),
            _item("a2", HOSTILE, "-1+1 工地扬尘", T + timedelta(hours=1)),
            _item("a3", "翠湖路夜间施工扰民", "居民投诉噪音", T + timedelta(hours=2))], now=T)
        b = store.store_items("政务网", [
            _item("b1", "區政府回應欠薪問題", "已督促結清工資", T + timedelta(hours=3))], now=T)
        specs = [
            ("滨江工地欠薪", "欠薪讨薪", "yellow", [a[0], b[0]], "resolved", "responded",
             "已督促结清"),
            (HOSTILE, "环境扰民", "blue", [a[1]], "resolved", "false_positive", "@误报说明"),
            ("翠湖路施工噪音", "环境扰民", "blue", [a[2]], "open", None, None),
        ]
        for n, (title, cat, level, members, status, outcome, note) in enumerate(specs):
            first = T + timedelta(hours=n)
            iid = store.create_incident({
                "title": title, "category": cat, "level": level, "status": status,
                "first_seen": first, "last_seen": first, "opened_at": first,
                "items": len(members), "sources": len(members), "outcome": outcome,
                "acknowledged_at": first + timedelta(minutes=10) if outcome else None,
                "acknowledged_by": "张三" if outcome else None,
                "resolved_at": first + timedelta(hours=2) if outcome else None,
                "resolved_by": "张三" if outcome else None})
            for m in members:
                feed = "政务网" if m in b else "论坛"
                store.add_incident_item(iid, item_id=m.id, feed=feed, level=level, how="new",
                                        similarity=None, seen_at=first, now=first, keys=[],
                                        signature="s")
            if note:
                store.log_step(iid, "resolved", now=first + timedelta(hours=2), actor="张三",
                               note=note)
    return Cli(cfg)


def _titles(rows: list[dict]) -> list[str]:
    return sorted(r["title"] for r in rows)


def test_incident_filters_combine(ledger_db: Cli) -> None:
    cli = ledger_db
    every = cli.json("incidents", "list")
    assert len(every) == 3 and all(set(r) == LIST_KEYS for r in every)
    assert _titles(cli.json("incidents", "list", "--outcome", "误报")) == [HOSTILE]
    assert _titles(cli.json("incidents", "list", "--outcome", "responded")) == ["滨江工地欠薪"]
    assert _titles(cli.json("incidents", "list", "--feed", "政务网")) == ["滨江工地欠薪"]
    assert len(cli.json("incidents", "list", "--feed", "论坛")) == 3
    # the words are found in the items too, traditional or simplified
    assert _titles(cli.json("incidents", "list", "--text", "欠薪")) == ["滨江工地欠薪"]
    assert _titles(cli.json("incidents", "list", "--text", "噪音")) == ["翠湖路施工噪音"]
    assert _titles(cli.json("incidents", "list", "--text", "回应")) == ["滨江工地欠薪"]
    assert cli.json("incidents", "list", "--text", "噪音", "--status", "resolved") == []
    assert _titles(cli.json("incidents", "list", "--feed", "论坛", "--category", "环境扰民",
                            "--outcome", "false_positive")) == [HOSTILE]
    bad = cli("incidents", "list", "--outcome", "办妥了")
    assert bad.exit_code == 1 and "误报" in bad.stderr and "Traceback" not in bad.stderr


def test_incident_ledger_as_csv_opens_in_excel(ledger_db: Cli, tmp_path: Path) -> None:
    out = tmp_path / "台账.csv"
    r = ledger_db("incidents", "list", "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert "3 行" in r.stderr and str(out) in r.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["编号", "标题", "类别", "级别", "状态"]
    assert "处置说明" in header and "来源" in header and "处置时限" in header
    by_title = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    wage = by_title["滨江工地欠薪"]
    assert wage["级别"] == "较大（黄）" and wage["处置结果"] == "已回应"
    assert wage["处置说明"] == "已督促结清" and wage["首次发现"] == "2026-03-02 10:00"
    assert set(wage["来源"].split("、")) == {"论坛", "政务网"} and wage["认领人"] == "张三"
    # formulas are text: a leading apostrophe, never a live formula
    assert "'" + HOSTILE in by_title and by_title["'" + HOSTILE]["处置说明"] == "'@误报说明"
    stdout = ledger_db("incidents", "list", "--format", "csv", "--outcome", "误报")
    assert stdout.exit_code == 0 and stdout.stdout_bytes.startswith(b"\xef\xbb\xbf")


def test_item_ledger_as_xlsx(ledger_db: Cli, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "信息台账.xlsx"
    r = ledger_db("items", "list", "--format", "xlsx", "-o", str(out))
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(out).active
    assert ws.title == "信息台账" and ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == ["编号", "标题", "来源", "链接", "发布时间", "抓取时间", "级别", "得分",
                      "命中规则", "所属事件"]
    assert ws["A1"].font.bold
    rows = {row[1].value: row for row in ws.iter_rows(min_row=2)}
    assert len(rows) == 4
    hostile = rows[HOSTILE]
    assert hostile[1].data_type == "s"                     # text, not a formula
    assert hostile[3].hyperlink.target == "https://news.example/a2.html"
    published = rows["滨江工地拖欠农民工工资"][4].value
    assert published == datetime(2026, 3, 2, 10, 0)        # naive Beijing time, a real date
    assert rows["滨江工地拖欠农民工工资"][9].value == 1        # its incident
    no_out = ledger_db("items", "list", "--format", "xlsx")
    assert no_out.exit_code == 2 and "-o" in no_out.stderr
    clash = ledger_db("items", "list", "--format", "csv", "--json")
    assert clash.exit_code == 2


def test_search_is_ranked_and_highlighted(ledger_db: Cli) -> None:
    cli = ledger_db
    found = cli.json("items", "search", "欠薪")
    assert found and set(found[0]) == {"id", "feed", "title", "link", "published_at",
                                       "fetched_at", "body"}
    assert [f["title"] for f in found] == ["區政府回應欠薪問題"]   # simplified finds traditional
    # the title weighs more than the body: the item with the word in its title comes first
    ranked = cli.json("items", "search", "工地")
    assert [f["title"] for f in ranked] == ["滨江工地拖欠农民工工资", HOSTILE]
    plain = cli("items", "search", "结清")                 # not a terminal: brackets only
    assert plain.exit_code == 0 and "\x1b" not in plain.stdout
    assert "〖结清〗" in plain.stdout
    assert "〖結清〗" in plain.stdout                        # marked in the original text
    assert "没有找到" in cli("items", "search", "不存在的词语组合").stdout
