"""Faults a user meets at the command line: broken or unwritable databases, bad ports and
TOML, output piped into ``head``; each is one Chinese line and the right exit code."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from servers import FeedServer
from support import ROOT, run_yuqing, write_config

RSS = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title>'
       '{items}</channel></rss>')
ITEM = '<item><title>第{n}条消息：某工地{n}号楼</title><link>http://example.org/{n}</link></item>'


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def fetched_deployment(tmp_path: Path, srv: FeedServer, n: int = 300) -> Path:
    srv.route("/rss", body=RSS.format(items="".join(ITEM.format(n=i) for i in range(n))).encode())
    config = write_config(tmp_path, feeds=[{"name": "源", "url": srv.url("/rss")}])
    r = run_yuqing("--config", str(config), "fetch")
    assert r.returncode == 0, r.stderr
    return config


def test_corrupt_database_page_fails_fetch_with_one_line(tmp_path):
    with FeedServer() as srv:
        config = fetched_deployment(tmp_path, srv)
        db = tmp_path / "data" / "monitor.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'feeds'").fetchone()[0]
        conn.close()
        with open(db, "r+b") as f:  # scribble over the feeds table's page
            f.seek((root - 1) * page)
            f.write(b"\xa5" * page)
        r = run_yuqing("--config", str(config), "fetch")
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "已损坏" in line and str(db) in line


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_read_only_filesystem_is_named_not_called_a_broken_database(tmp_path):
    with FeedServer() as srv:
        config = fetched_deployment(tmp_path, srv, n=3)
    data = tmp_path / "data"
    for leftover in data.glob("monitor.db-*"):
        leftover.unlink()
    script = (f"mount --bind {data} {data} && mount -o remount,ro,bind {data} && "
              f"exec {sys.executable} -m monitor --config {config} items list")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    if "mount" in r.stderr and "monitor" not in r.stderr:
        pytest.skip(f"cannot mount read-only here: {r.stderr.strip()}")
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "不可写" in line and "不要删除" in line and "不是有效的数据库" not in line


def test_port_out_of_range_is_a_config_error(tmp_path):
    config = write_config(tmp_path, feeds=[{"name": "源", "url": "http://127.0.0.1:99999/rss"}])
    for args in (("config", "check"), ("fetch",)):
        r = run_yuqing("--config", str(config), *args)
        assert r.returncode == 1
        line = one_line(r.stderr)
        assert "第 1 个订阅源的 url" in line and "端口" in line and "monitor.toml:" in line


@pytest.mark.parametrize(("text", "line", "words"), [
    ('[storage]\npath = "x.db"\nfoo bar\n', 3, "等号"),
    ('[storage]\npath = "x.db\n', 2, "引号"),
    ('[storage]\npath = "a\\q"\n', 2, "反斜杠"),
    ('[storage]\npath = "x.db"\n[storage]\n', 3, "重复"),
    ('[storage]\npath = x.db\n', 2, "引号"),
])
def test_toml_errors_are_chinese_with_a_line(tmp_path, text, line, words):
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(text, encoding="utf-8")
    r = run_yuqing("--config", str(cfg), "config", "check")
    assert r.returncode == 1
    msg = one_line(r.stderr)
    assert f"monitor.toml:{line}:" in msg and words in msg
    assert not any(w in msg for w in ("Expected", "Invalid", "Unterminated", "line ", "column"))


def test_missing_feed_name_names_the_table_line(tmp_path):
    cfg = tmp_path / "monitor.toml"
    cfg.write_text('[storage]\npath = "x.db"\n\n[[feeds]]\nurl = "http://127.0.0.1:8000/"\n',
                   encoding="utf-8")
    r = run_yuqing("--config", str(cfg), "config", "check")
    assert r.returncode == 1
    assert "monitor.toml:4:" in one_line(r.stderr) and "第 1 个订阅源的 name" in r.stderr


def test_output_piped_into_head_ends_quietly(tmp_path):
    with FeedServer() as srv:
        config = fetched_deployment(tmp_path, srv, n=300)
    env = {**os.environ}
    proc = subprocess.run(
        f"{sys.executable} -m monitor --config {config} items list --limit 300 | head -n 1",
        shell=True, capture_output=True, text=True, timeout=60, env=env,
        executable="/bin/bash")
    assert proc.stdout.count("\n") == 1
    assert proc.stderr == ""
    status = subprocess.run(
        f"set -o pipefail; {sys.executable} -m monitor --config {config} items list "
        "--limit 300 | head -n 1 >/dev/null", shell=True, executable="/bin/bash", timeout=60)
    assert status.returncode == 0


def test_one_shot_fetch_warnings_are_chinese_lines(tmp_path):
    """A failing feed under ``fetch``: its warning reaches stderr as one formatted line, in
    Chinese level names, without a traceback."""
    from servers import closed_port

    config = write_config(tmp_path, feeds=[
        {"name": "坏源", "url": f"http://127.0.0.1:{closed_port()}/rss"}],
        extra={"fetch": {"failure_alert_after": 1}})
    r = run_yuqing("--config", str(config), "fetch")
    assert r.returncode == 1  # a feed failed
    warnings = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert warnings and all(ln.startswith(("警告 ", "错误 ")) for ln in warnings), r.stderr
    assert any("抓取失败 feed=坏源" in ln and "连接" in ln for ln in warnings)
    assert "Traceback" not in r.stderr and "WARNING" not in r.stderr


def test_debug_shows_http_traffic(tmp_path):
    with FeedServer() as srv:
        srv.route("/rss", body=RSS.format(items=ITEM.format(n=1)).encode())
        config = write_config(tmp_path, feeds=[{"name": "源", "url": srv.url("/rss")}])
        r = run_yuqing("--config", str(config), "--debug", "fetch")
    assert r.returncode == 0
    assert "HTTP Request: GET" in r.stderr and "/rss" in r.stderr


def test_fetch_errors_and_opml_errors_say_it_in_chinese(tmp_path):
    """No English library wording in what people read: a refused connection, a malformed
    OPML file, an OPML file with an entity declaration."""
    import json
    import re

    from servers import closed_port

    config = write_config(tmp_path, feeds=[
        {"name": "坏源", "url": f"http://127.0.0.1:{closed_port()}/rss"}])
    (feed,) = json.loads(run_yuqing("--config", str(config), "fetch", "--json").stdout)["feeds"]
    assert "被拒绝" in feed["error"]
    assert not re.search(r"[A-Za-z]{4,}", feed["error"].replace("127.0.0.1", "")), feed["error"]
    for name, text, words in (
            ("broken.opml", "<opml><body><outline text='a'\n xmlUrl='http://x/'></body>", "格式错误"),
            ("bomb.opml", '<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]>'
                          "<opml><body><outline xmlUrl='http://x/&a;'/></body></opml>", "实体")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        r = run_yuqing("--config", str(config), "feeds", "import", str(path))
        assert r.returncode == 1
        line = one_line(r.stderr)
        assert words in line and name in line
        assert not re.search(r"[A-Za-z]{5,}", line.split(name, 1)[1]), line


def test_unloadable_last_good_rules_do_not_stop_fetching(tmp_path):
    """Broken rules on disk and a recorded last good version that no longer loads (here a
    lookaround pattern from before RE2): items are still fetched and stored, unscored."""
    import json
    import sqlite3

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("- id: [\n", encoding="utf-8")
    with FeedServer() as srv:
        config = fetched_deployment(tmp_path, srv, n=2)
        old = ("- id: old\n  category: 测试\n  level: blue\n  words:\n    甲|re: ['欠薪(?=了)']\n")
        conn = sqlite3.connect(tmp_path / "data" / "monitor.db")
        conn.execute("INSERT INTO ruleset_versions (version, loaded_at, actor, rules, files) "
                     "VALUES ('v-old', '2026-01-01T00:00:00+00:00', 'x', 1, ?)",
                     [json.dumps({"old.yaml": old})])
        conn.commit()
        conn.close()
        srv.route("/rss", body=RSS.format(items=ITEM.format(n=7)).encode())
        r = run_yuqing("--config", str(config), "fetch", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["new_items"] == 1
    assert "没有可用的规则" in r.stderr
