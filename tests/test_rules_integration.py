"""Rules wired into the product: scoring on ingest, hot reload, versions, CLI, backtest."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import ParsedItem
from monitor.rulekeeper import RuleKeeper
from monitor.score import Scorer
from monitor.store import Store

from support import Cli, run_yuqing, wait_for, write_config

T0 = datetime(2026, 3, 1, tzinfo=UTC)

WAGE = """- id: wage
  name: 欠薪
  category: 欠薪讨薪
  level: yellow
  weight: 40
  words:
    主体: [工地, 项目部]
    事件: [欠薪, 讨薪]
    排除: [招聘]
  condition: 主体 and 事件 and not 排除
  examples:
    match: [某工地农民工讨薪]
    nomatch: [工地招聘]
"""
DUST = """- id: dust
  name: 扬尘
  category: 环境扰民
  level: blue
  weight: 20
  words:
    事件: [扬尘, 噪音]
"""
BROKEN = """- id: dust
  name: 扬尘
  category: 环境扰民
  level: purple
  weight: 20
  words:
    事件: [扬尘]
"""

RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>某工地农民工讨薪</title><guid>1</guid><description>项目部欠薪三个月</description></item>
<item><title>工地扬尘严重</title><guid>2</guid><description>夜间噪音扰民</description></item>
<item><title>工地招聘启事</title><guid>3</guid><description>项目部招聘钢筋工，不欠薪</description></item>
<item><title>区里召开推进会</title><guid>4</guid><description>提升营商环境和服务水平</description></item>
</channel></rss>"""


def rules_dir(tmp_path: Path, **files: str) -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / f"{name}.yaml").write_text(text, "utf-8")
    return d


def test_fetch_scores_items_and_stores_matches(tmp_path, httpserver):
    httpserver.expect_request("/rss.xml").respond_with_data(RSS, content_type="text/xml")
    d = rules_dir(tmp_path, wage=WAGE, dust=DUST)
    config = write_config(tmp_path, rules_dir=d,
                          feeds=[{"name": "论坛", "url": httpserver.url_for("/rss.xml")}])
    cli = Cli(config)
    assert cli.json("fetch")["new_items"] == 4
    scored = cli.json("items", "scored")
    by_title = {r["title"]: r for r in scored}
    assert set(by_title) == {"某工地农民工讨薪", "工地扬尘严重"}
    wage = by_title["某工地农民工讨薪"]
    assert wage["level"] == "yellow" and wage["score"] > 0
    assert [m["rule"] for m in wage["matches"]] == ["wage"]
    spans = wage["matches"][0]["spans"]
    assert {"field": "title", "start": 0 + 1, "end": 3, "text": "工地"} in spans
    assert all(s["text"] == (wage["title"] if s["field"] == "title" else "项目部欠薪三个月")
               [s["start"]:s["end"]] for s in spans)
    assert by_title["工地扬尘严重"]["level"] == "blue"
    versions = cli.json("rules", "versions")
    assert len(versions) == 1 and versions[0]["rules"] == 2
    assert sorted(versions[0]["changed"]) == ["dust.yaml", "wage.yaml"]
    # human output highlights the hits
    out = cli("items", "scored").output
    assert "〖工地〗" in out and "〖讨薪〗" in out


def test_rules_check_reports_file_line_and_failing_examples(tmp_path):
    d = rules_dir(tmp_path, wage=WAGE)
    config = write_config(tmp_path, rules_dir=d)
    r = run_yuqing("--config", str(config), "rules", "check")
    assert r.returncode == 0 and "1 条规则" in r.stdout, r.stderr
    (d / "dust.yaml").write_text(BROKEN, "utf-8")
    r = run_yuqing("--config", str(config), "rules", "check", str(d))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines and lines[0].startswith(f"{d / 'dust.yaml'}:4: "), r.stderr
    assert "Traceback" not in r.stderr
    (d / "dust.yaml").unlink()
    (d / "wage.yaml").write_text(WAGE.replace("nomatch: [工地招聘]", "nomatch: [工地讨薪]"), "utf-8")
    r = run_yuqing("--config", str(config), "rules", "check")
    assert r.returncode == 1
    assert f"{d / 'wage.yaml'}:13: " in r.stderr and "不应命中" in r.stderr


def test_rules_test_json_and_human(tmp_path):
    d = rules_dir(tmp_path, wage=WAGE)
    cli = Cli(write_config(tmp_path, rules_dir=d))
    title, body = "工地欠*薪", "项目部&#x8BA8;薪"
    doc = cli.json("rules", "test", "--title", title, "--body", body)
    assert doc["level"] == "yellow" and 0 < doc["score"] <= 100
    (m,) = doc["matches"]
    texts = {(s["field"], s["text"]) for s in m["spans"]}
    assert texts == {("title", "工地"), ("title", "欠*薪"), ("body", "项目部"), ("body", "&#x8BA8;薪")}
    for s in m["spans"]:
        src = title if s["field"] == "title" else body
        assert src[s["start"]:s["end"]] == s["text"]
    nothing = cli.json("rules", "test", "--title", "工地招聘欠薪")
    assert set(nothing.pop("tone")) >= {"label", "negative"}     # the contract's tone key
    assert nothing == {"score": 0, "level": None, "matches": []}
    f = tmp_path / "t.txt"
    f.write_text("项目部讨薪", "utf-8")
    assert cli.json("rules", "test", "--file", str(f))["level"] == "yellow"
    r = cli("rules", "test", "--title", "某工地讨薪")
    assert r.exit_code == 0 and "〖工地〗" in r.output and "较大" in r.output
    assert cli("rules", "test").exit_code == 2


def _store_with_items(tmp_path: Path) -> Path:
    config = write_config(tmp_path, rules_dir=rules_dir(tmp_path, wage=WAGE))
    db = tmp_path / "data" / "monitor.db"
    with Store(db) as store:
        items = [ParsedItem(guid=str(i), link=None, title=t, body=b,
                            published_at=T0 + timedelta(days=i))
                 for i, (t, b) in enumerate([("工地讨薪", ""), ("工地扬尘", "噪音"),
                                             ("项目部欠薪", ""), ("无关新闻", "")])]
        stored = store.store_items("f", items, now=T0)
        keeper = RuleKeeper(tmp_path / "rules", store)
        keeper.load(now=T0)
        Scorer(store, keeper).score_items([s.id for s in stored], T0)
    return config


def test_backtest_counts_and_differences(tmp_path):
    config = _store_with_items(tmp_path)
    cli = Cli(config)
    doc = cli.json("rules", "backtest", "--since", "2026-01-01")
    assert doc["items"] == 4 and doc["matched"] == 2 and doc["by_rule"] == {"wage": 2}
    assert doc["newly_matched"] == {} and doc["no_longer_matched"] == {}
    # period filter (published 03-01 .. 03-04; --until is exclusive)
    doc = cli.json("rules", "backtest", "--since", "2026-03-03T00:00:00+00:00",
                   "--until", "2026-03-04T00:00:00+00:00")
    assert doc["items"] == 1 and doc["matched"] == 1
    # a changed rule: dust added, wage narrowed to 讨薪 only
    (tmp_path / "rules" / "dust.yaml").write_text(DUST, "utf-8")
    (tmp_path / "rules" / "wage.yaml").write_text(WAGE.replace("[欠薪, 讨薪]", "[讨薪]"), "utf-8")
    doc = cli.json("rules", "backtest", "--since", "2026-01-01")
    assert doc["by_rule"] == {"wage": 1, "dust": 1}
    assert doc["newly_matched"] == {"dust": [2]}
    assert doc["no_longer_matched"] == {"wage": [3]}
    # backtest never writes results or alerts
    conn = sqlite3.connect(tmp_path / "data" / "monitor.db")
    assert conn.execute("SELECT count(*) FROM matches WHERE rule = 'dust'").fetchone()[0] == 0
    out = cli("rules", "backtest", "--since", "2026-01-01").output
    assert "新增 1" in out and "不再命中 1" in out


def test_hot_reload_keeps_last_good_rules(tmp_path, caplog):
    d = rules_dir(tmp_path, wage=WAGE)
    with Store(tmp_path / "m.db") as store:
        keeper = RuleKeeper(d, store)
        first = keeper.load(now=T0)
        assert first is not None
        assert keeper.reload_if_changed(now=T0) is False  # nothing changed
        # a broken edit is rejected with FILE:LINE and the old rules stay in force
        (d / "dust.yaml").write_text(BROKEN, "utf-8")
        assert keeper.reload_if_changed(now=T0) is False
        assert keeper.ruleset is first
        assert any(p.startswith(f"{d / 'dust.yaml'}:4:") for p in keeper.problems)
        assert f"{d / 'dust.yaml'}:4:" in caplog.text
        assert keeper.ruleset.evaluate(title="工地讨薪").level == "yellow"
        # the fix goes live atomically and is recorded with its diff
        (d / "dust.yaml").write_text(DUST, "utf-8")
        os.utime(d / "dust.yaml", ns=(time.time_ns(), time.time_ns() + 1))
        assert keeper.reload_if_changed(now=T0 + timedelta(minutes=1)) is True
        assert keeper.ruleset.version != first.version
        assert keeper.ruleset.evaluate(title="扬尘").level == "blue"
        versions = store.ruleset_versions()
        assert [v["changed"] for v in versions] == [["dust.yaml"], ["wage.yaml"]]
        assert "+  level: blue" in versions[0]["diff"]
        # a restart with broken files on disk falls back to the last good version
        (d / "wage.yaml").write_text("- id: [oops\n", "utf-8")
        again = RuleKeeper(d, store)
        rs = again.load(now=T0 + timedelta(minutes=2))
        assert rs is not None and rs.version == keeper.ruleset.version
        assert again.problems and again.problems[0].startswith(str(d / "wage.yaml"))


def test_daemon_hot_reloads_rules_and_logs_broken_edits(tmp_path, httpserver):
    httpserver.expect_request("/rss.xml").respond_with_data(RSS, content_type="text/xml")
    d = rules_dir(tmp_path, wage=WAGE)
    config = write_config(tmp_path, rules_dir=d, extra={"rules": {
        "dir": os.path.relpath(d, tmp_path / "config"), "reload_interval": "1s"}},
        feeds=[{"name": "f", "url": httpserver.url_for("/rss.xml"), "interval": "1h"}])
    db = tmp_path / "data" / "monitor.db"
    log = tmp_path / "logs" / "yuqing.log"

    def versions() -> int:
        if not db.exists():
            return 0
        conn = sqlite3.connect(db)
        try:
            return conn.execute("SELECT count(*) FROM ruleset_versions").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
        finally:
            conn.close()

    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: versions() == 1)
        (d / "dust.yaml").write_text(BROKEN, "utf-8")
        wait_for(lambda: log.exists() and f"{d / 'dust.yaml'}:4:" in log.read_text("utf-8"))
        assert versions() == 1
        (d / "dust.yaml").write_text(DUST, "utf-8")
        wait_for(lambda: versions() == 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


@pytest.mark.parametrize("cmd", [["rules", "check"], ["rules", "test", "--title", "x"]])
def test_missing_rules_dir_is_a_clear_error(tmp_path, cmd):
    config = write_config(tmp_path)
    (tmp_path / "rules").rmdir()
    r = run_yuqing("--config", str(config), *cmd)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert str(tmp_path / "rules") in r.stderr
    # clear: one line, FILE:LINE: then what is wrong, in Chinese; nothing on stdout
    assert r.stderr.splitlines() == [f"{tmp_path / 'rules'}:1: 找不到规则文件或目录"], r.stderr
    assert r.stdout == ""


def test_python_api_as_in_the_contract(tmp_path):
    from monitor.errors import RuleError
    from monitor.rules import load_ruleset

    d = rules_dir(tmp_path, wage=WAGE)
    ev = load_ruleset(str(d) + "/").evaluate(title="某工地讨薪", body="")
    assert ev.level == "yellow" and isinstance(ev.score, int)
    m = ev.matches[0]
    assert m.rule == m["rule"] == "wage" and m["category"] == "欠薪讨薪"
    assert [(s["field"], s["start"], s["end"], s["text"]) for s in m["spans"]] == \
        [(s.field, s.start, s.end, s.text) for s in m.spans]
    (d / "bad.yaml").write_text(BROKEN, "utf-8")
    with pytest.raises(RuleError) as ei:
        load_ruleset(d)
    assert str(ei.value).startswith(f"{d / 'bad.yaml'}:4:")


def test_items_stored_without_usable_rules_are_scored_once_rules_return(tmp_path, httpserver):
    httpserver.expect_request("/rss.xml").respond_with_data(RSS, content_type="text/xml")
    d = rules_dir(tmp_path)  # empty: nothing to score with
    config = write_config(tmp_path, rules_dir=d,
                          feeds=[{"name": "论坛", "url": httpserver.url_for("/rss.xml")}])
    cli = Cli(config)
    assert cli.json("fetch")["new_items"] == 4
    assert cli.json("items", "scored") == []
    (d / "wage.yaml").write_text(WAGE, "utf-8")
    assert cli.json("fetch")["new_items"] == 0  # nothing new, yet the backlog gets scored
    assert [r["title"] for r in cli.json("items", "scored")] == ["某工地农民工讨薪"]
    conn = sqlite3.connect(tmp_path / "data" / "monitor.db")
    assert conn.execute("SELECT count(*) FROM items WHERE ruleset_version IS NULL").fetchone()[0] == 0


def test_a_writer_in_another_process_makes_us_wait_not_fail(tmp_path):
    """Write transactions take the lock up front (BEGIN IMMEDIATE) and wait for it."""
    import threading

    db = tmp_path / "m.db"
    with Store(db) as store:
        other = sqlite3.connect(db, timeout=10, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO events (at, kind) VALUES ('2026-01-01T00:00:00+00:00', 'x')")
        released: list[float] = []

        def release() -> None:
            released.append(time.monotonic())
            other.commit()

        # The other writer holds the lock for 1 s on purpose: the period within which our
        # write must NOT complete (nor fail with "database is locked"); kept short.
        threading.Timer(1.0, release).start()
        t0 = time.monotonic()
        stored = store.store_items("f", [ParsedItem(guid="1", link=None, title="工地", body="")],
                                   now=T0)
        returned = time.monotonic()
        assert len(stored) == 1 and time.monotonic() - t0 >= 0.9
        assert released and returned >= released[0]  # it went in once the lock was free
        other.close()
        assert [i["title"] for i in store.list_items(limit=None)] == ["工地"]
        reader = sqlite3.connect(db)
        kinds = [r[0] for r in reader.execute("SELECT kind FROM events")]
        reader.close()
        assert "x" in kinds  # the other writer's row was committed, not rolled back
