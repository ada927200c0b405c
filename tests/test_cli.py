"""CLI commands end to end: init, fetch, items list/search, feeds import/export."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from support import Cli, run_yuqing, write_config

ROOT = Path(__file__).resolve().parent.parent
FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"


def test_init_creates_a_working_deployment_and_never_overwrites(tmp_path):
    target = tmp_path / "srv"
    r = run_yuqing("init", str(target))
    assert r.returncode == 0, r.stderr
    cfg = target / "config" / "monitor.toml"
    assert cfg.exists() and (target / "logs").is_dir() and (target / "data").is_dir()
    assert sorted(p.name for p in (target / "rules").iterdir()) == \
        sorted(p.name for p in (ROOT / "rules").iterdir() if p.suffix in (".yaml", ".yml"))
    text = cfg.read_text("utf-8")
    # every key carries a Chinese comment (on its line or the line above)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            context = line + (lines[i - 1] if i else "")
            assert any("\u4e00" <= ch <= "\u9fff" for ch in context), line
    r = run_yuqing("--config", str(cfg), "config", "check")
    assert r.returncode == 0, r.stderr
    before = cfg.read_bytes()
    r = run_yuqing("init", str(target))
    assert r.returncode == 0 and f"已保留 {cfg}" in r.stdout and "已创建" not in r.stdout
    assert cfg.read_bytes() == before


def test_items_list_and_search_json(tmp_path, httpserver):
    gbk = (FEEDS / "gbk_undeclared.xml").read_bytes()
    utf8 = (FEEDS / "rss20_utf8.xml").read_bytes()
    httpserver.expect_request("/gbk.xml").respond_with_data(gbk, content_type="application/xml")
    httpserver.expect_request("/utf8.xml").respond_with_data(utf8, content_type="application/rss+xml")
    config = write_config(tmp_path, feeds=[
        {"name": "论坛", "url": httpserver.url_for("/gbk.xml")},
        {"name": "融媒体", "url": httpserver.url_for("/utf8.xml")},
    ])
    cli = Cli(config)
    doc = cli.json("fetch")
    assert all(f["ok"] for f in doc["feeds"]), doc
    items = cli.json("items", "list", "--limit", "500")
    assert len(items) == doc["new_items"] > 0
    assert set(items[0]) == {"id", "feed", "title", "link", "published_at", "fetched_at", "body"}
    keys = [(i["published_at"] or i["fetched_at"]) for i in items]
    assert keys == sorted(keys, reverse=True)
    forum = cli.json("items", "list", "--feed", "论坛")
    assert forum and all(i["feed"] == "论坛" for i in forum)
    # undeclared GBK decoded correctly: real Chinese, no mojibake
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in i["title"]) for i in forum)
    assert all("\ufffd" not in i["title"] + i["body"] for i in forum)
    assert len(cli.json("items", "list", "--limit", "1")) == 1
    assert cli.json("items", "list", "--since", "2999-01-01") == []
    # search finds a two-character word taken from a stored title
    word = next(w for w in ("工地", "施工", "项目", "工程") if any(w in i["title"] for i in items))
    hits = cli.json("items", "search", word)
    assert hits and all(word in h["title"] + h["body"] for h in hits)
    r = cli("items", "list", "--since", "last week")
    assert r.exit_code == 2
    # a deleted item disappears and does not come back on the next fetch
    victim = forum[0]
    assert cli("items", "delete", str(victim["id"])).exit_code == 0
    assert victim["id"] not in {i["id"] for i in cli.json("items", "list", "--limit", "500")}
    cli.json("fetch")
    assert victim["id"] not in {i["id"] for i in cli.json("items", "list", "--limit", "500")}
    assert len(cli.json("items", "list", "--limit", "500")) == len(items) - 1
    r = cli("items", "delete", "999999")
    assert r.exit_code == 1 and "999999" in r.output


def test_human_output_and_empty_states(tmp_path):
    config = write_config(tmp_path)
    cli = Cli(config)
    r = cli("items", "list")
    assert r.exit_code == 0 and "没有符合条件的条目" in r.output
    r = cli("feeds", "status")
    assert r.exit_code == 0 and "尚未配置订阅源" in r.output
    assert cli.json("feeds", "status") == []


def test_opml_import_then_export_round_trip(tmp_path):
    config = write_config(tmp_path, feeds=[{"name": "已有", "url": "http://127.0.0.1:1/a.xml"}])
    opml = tmp_path / "in.opml"
    opml.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>t</title></head><body>
<outline text="新闻"><outline text="区政府网站" type="rss" xmlUrl="http://127.0.0.1:1/gov.xml"/>
<outline title="已有" type="rss" xmlUrl="http://127.0.0.1:1/other.xml"/>
<outline text="重复地址" type="rss" xmlUrl="http://127.0.0.1:1/a.xml"/></outline>
</body></opml>""", "utf-8")
    cli = Cli(config)
    r = cli("feeds", "import", str(opml))
    assert r.exit_code == 0, r.output
    cfg = tomllib.loads(config.read_text("utf-8"))
    assert [f["name"] for f in cfg["feeds"]] == ["已有", "区政府网站", "已有 (2)"]
    out = tmp_path / "out.opml"
    assert cli("feeds", "export", "-o", str(out)).exit_code == 0
    again = tmp_path / "again"
    config2 = write_config(again)
    r = Cli(config2)("feeds", "import", str(out))
    assert r.exit_code == 0
    assert [f["url"] for f in tomllib.loads(config2.read_text("utf-8"))["feeds"]] == \
        [f["url"] for f in cfg["feeds"]]


def test_opml_import_rejects_entity_expansion(tmp_path):
    config = write_config(tmp_path)
    bomb = tmp_path / "bomb.opml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;">]><opml><body>'
                    '<outline text="&b;" xmlUrl="http://127.0.0.1/x"/></body></opml>', "utf-8")
    before = config.read_text("utf-8")
    r = Cli(config)("feeds", "import", str(bomb))
    assert r.exit_code == 1
    assert "OPML" in (r.stderr or r.output)
    assert f"{bomb}: 不是有效的 OPML 文件" in r.stderr and "Traceback" not in r.stderr
    assert config.read_text("utf-8") == before  # nothing imported


def test_json_output_is_one_document(tmp_path):
    config = write_config(tmp_path, feeds=[{"name": "a", "url": "http://127.0.0.1:9/x.xml"}])
    r = run_yuqing("--config", str(config), "fetch", "--json")
    assert r.returncode == 1  # the feed failed: still one document
    doc = json.loads(r.stdout)
    assert doc["feeds"][0]["ok"] is False and doc["feeds"][0]["error"]
    assert doc == {"new_items": 0, "feeds": [{"name": "a", "ok": False, "status": None,
                                              "new_items": 0,
                                              "error": "连接 127.0.0.1 被拒绝（服务未启动或端口错误）"}]}


def test_usage_errors_and_help_are_in_chinese(tmp_path):
    config = write_config(tmp_path)
    cases = [
        (["items", "list", "--frob"], "没有这个选项：--frob"),
        (["items", "lst"], "没有这个命令：lst（是不是想写 list？）"),
        (["items", "list", "--limit", "x"], "“x”不是整数"),
        (["init"], "缺少参数 DIRECTORY"),
        (["rules", "test", "--frob"], "没有这个选项：--frob"),
    ]
    for args, needle in cases:
        r = run_yuqing("--config", str(config), *args)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr and "用法：" in r.stderr and "Traceback" not in r.stderr
    r = run_yuqing("items", "list", "--help")
    assert r.returncode == 0 and "用法：" in r.stdout and "显示本帮助并退出" in r.stdout
    assert "Show this message" not in r.stdout


def test_bad_input_files_give_one_line_not_a_traceback(tmp_path):
    config = write_config(tmp_path, rules_dir=ROOT / "rules")
    gbk_config = tmp_path / "gbk.toml"
    gbk_config.write_bytes(config.read_text("utf-8").replace("[storage]", "# 中文注释\n[storage]")
                           .encode("gbk"))
    r = run_yuqing("--config", str(gbk_config), "config", "check")
    assert r.returncode == 1 and "UTF-8" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

    gbk_text = tmp_path / "t.txt"
    gbk_text.write_bytes("工地农民工讨薪".encode("gbk"))
    r = run_yuqing("--config", str(config), "rules", "test", "--file", str(gbk_text))
    assert r.returncode == 1 and "UTF-8" in r.stderr and "Traceback" not in r.stderr

    opml = tmp_path / "x.opml"
    opml.write_text('<opml><body><outline text="a" xmlUrl="http://127.0.0.1:1/a"/></body></opml>',
                    "utf-8")
    r = run_yuqing("--config", str(config), "feeds", "import", str(opml), "--interval", "15x")
    assert r.returncode == 1 and "时长" in r.stderr and "Traceback" not in r.stderr


def test_rules_test_file_offsets_match_the_file_as_given(tmp_path):
    config = write_config(tmp_path, rules_dir=ROOT / "rules")
    f = tmp_path / "crlf.txt"
    text = "第一行\r\n某工地农民工讨薪\r\n"
    f.write_bytes(text.encode("utf-8"))
    doc = Cli(config).json("rules", "test", "--file", str(f))
    spans = [s for m in doc["matches"] for s in m["spans"]]
    assert spans and all(text[s["start"]:s["end"]] == s["text"] for s in spans)


def test_opml_import_skips_invalid_entries_and_keeps_the_rest(tmp_path):
    config = write_config(tmp_path)
    opml = tmp_path / "in.opml"
    opml.write_text("""<opml version="2.0"><body>
<outline text="好源" xmlUrl="http://127.0.0.1:1/good.xml"/>
<outline text="坏源" xmlUrl="feed://example.org/rss"/>
<outline text="   " title="" xmlUrl="http://127.0.0.1:1/noname.xml"/>
</body></opml>""", "utf-8")
    r = run_yuqing("--config", str(config), "feeds", "import", str(opml))
    assert r.returncode == 0, r.stderr
    assert "坏源" in r.stderr and "无效 1 个" in r.stdout
    feeds = tomllib.loads(config.read_text("utf-8"))["feeds"]
    assert [f["name"] for f in feeds] == ["好源", "http://127.0.0.1:1/noname.xml"]


def test_database_locked_by_another_process_is_one_clear_line(tmp_path):
    import sqlite3

    config = write_config(tmp_path, extra={"storage": {"path": "../data/monitor.db",
                                                       "busy_timeout": "1s"}})
    assert run_yuqing("--config", str(config), "fetch").returncode == 0  # creates the database
    other = sqlite3.connect(tmp_path / "data" / "monitor.db")
    other.execute("BEGIN IMMEDIATE")
    try:
        r = run_yuqing("--config", str(config), "fetch")
    finally:
        other.rollback()
        other.close()
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "占用" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize(("zone", "shown"), [(None, "2026-12-02 00:23"),
                                             ("UTC", "2026-12-01 16:23")])
def test_times_for_people_are_in_the_display_zone(tmp_path, zone, shown):
    """Text output shows the display zone (Beijing time unless ``[display] timezone``
    says otherwise), and a bare ``--since`` date is read in it; JSON keeps UTC offsets."""
    from datetime import UTC, datetime

    from monitor.models import ParsedItem
    from monitor.store import Store

    extra = {"display": {"timezone": zone}} if zone else {}
    config = write_config(tmp_path, extra=extra)
    published = datetime(2026, 12, 1, 16, 23, tzinfo=UTC)   # 2026-12-02 00:23 in Beijing
    with Store(tmp_path / "data" / "monitor.db") as store:
        store.store_items("源", [ParsedItem("g1", "http://example.org/1", "深夜施工扰民", "",
                                           published_at=published)], now=published)
    cli = Cli(config)
    since = "2026-12-02"   # the item is on 2 December in Beijing, on 1 December in UTC
    out = cli("items", "list", "--since", "2026-12-01").output
    assert shown in out and "深夜施工扰民" in out and "+00:00" not in out
    (doc,) = cli.json("items", "list", "--since", "2026-12-01")
    assert doc["published_at"] == "2026-12-01T16:23:00+00:00"
    # a bare --since date is read in the display zone too
    assert len(cli.json("items", "list", "--since", since)) == (1 if zone is None else 0)


def test_feeds_status_only_reads(tmp_path):
    """``feeds status`` never writes: a feed added to the config is listed as not fetched
    yet, without a row being created behind a running daemon's back."""
    import sqlite3

    config = write_config(tmp_path, feeds=[{"name": "甲", "url": "http://127.0.0.1:9/a"}])
    assert run_yuqing("--config", str(config), "fetch").returncode == 1  # the feed failed
    data = tomllib.loads(config.read_text("utf-8"))
    data["feeds"].append({"name": "乙", "url": "http://127.0.0.1:9/b"})
    import tomli_w

    config.write_text(tomli_w.dumps(data), "utf-8")
    db = tmp_path / "data" / "monitor.db"
    def files() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_mtime_ns, p.stat().st_size)
                for p in db.parent.glob("monitor.db*") if p.suffix != ".lock"}

    before = files()
    rows = {r["name"]: r for r in Cli(config).json("feeds", "status")}
    assert rows["乙"]["ok"] is None and rows["乙"]["items_total"] == 0
    conn = sqlite3.connect(db)
    names = {n for (n,) in conn.execute("SELECT name FROM feeds")}
    conn.close()
    assert names == {"甲"}
    assert {k: v for k, v in files().items() if k in before} == before
