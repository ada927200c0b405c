"""The daemon as systemd runs it: a real process, a real feed server, a real database file."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import run_yuqing, wait_for, wait_until, write_config

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>区融媒体中心</title><link>http://example.org/</link>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>http://example.org/{n}</link><guid>n{n}</guid>
<description>{title}的详细报道。</description><pubDate>Mon, 02 Mar 2026 08:0{n}:00 +0800</pubDate></item>"""


def rss(*titles: str, start: int = 0) -> str:
    return RSS.format(items="\n".join(ITEM.format(title=t, n=i + start) for i, t in enumerate(titles)))


def start_daemon(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> float:
    t0 = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=10)
    return time.monotonic() - t0


def feed_state(db: Path) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM feeds WHERE name = '区融媒体中心'").fetchone()
    except sqlite3.OperationalError:  # the daemon has not created its tables yet
        return {}
    finally:
        conn.close()
    return dict(row) if row else {}


def items_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    n = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    conn.close()
    return n


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_restart_resumes_schedule_and_stores_no_duplicates(tmp_path, httpserver, sig):
    httpserver.expect_request("/rss.xml").respond_with_data(
        rss("地铁五号线施工封路", "滨江新区安置房开工"), content_type="application/rss+xml")
    config = write_config(tmp_path, feeds=[{"name": "区融媒体中心", "interval": "1h",
                                            "url": httpserver.url_for("/rss.xml")}],
                          extra={"fetch": {"startup_spread": "1s"},
                                 "logging": {"dir": "../logs", "level": "DEBUG"}})
    db = tmp_path / "data" / "monitor.db"
    log = tmp_path / "logs" / "yuqing.log"

    proc = start_daemon(config)
    try:
        wait_for(lambda: db.exists() and feed_state(db).get("last_success_at"))
    finally:
        elapsed = stop(proc, sig)
    assert proc.returncode == 0, proc.stderr.read()
    assert elapsed < 10
    assert items_count(db) == 2
    first_next = feed_state(db)["next_check_at"]
    requests_before = len(httpserver.log)
    assert requests_before == 1

    # Restart: the stored next check (an hour away) is kept, nothing is fetched again.
    # The daemon's own lines say so: the feed armed for that hour, then the daemon up
    # with its schedule started. Nothing can be due before that hour, so no wait.
    offset = log.stat().st_size
    before = datetime.now(UTC).replace(microsecond=0)  # the log shows whole seconds
    proc = start_daemon(config)
    try:
        wait_for(lambda: "守护进程已启动 feeds=1" in log.read_bytes()[offset:].decode("utf-8", "replace"))
    finally:
        stop(proc)
    assert proc.returncode == 0
    restart_log = log.read_bytes()[offset:].decode("utf-8", "replace")
    (armed,) = re.findall(r"已安排抓取 feed=区融媒体中心 at=(\S+)", restart_log)
    # at the stored time, or one interval from the restart if the jitter made that later
    stored = datetime.fromisoformat(first_next)
    assert min(stored, before + timedelta(hours=1)) <= datetime.fromisoformat(armed) <= stored, \
        (armed, first_next)
    assert "已抓取 feed=" not in restart_log
    assert len(httpserver.log) == requests_before
    assert feed_state(db)["next_check_at"] == first_next

    # Overdue after a long stop: fetched once, the repeated items are not stored again.
    conn = sqlite3.connect(db)
    conn.execute("UPDATE feeds SET next_check_at = '2020-01-01T00:00:00+00:00'")
    conn.commit()
    conn.close()
    httpserver.clear()
    httpserver.expect_request("/rss.xml").respond_with_data(
        rss("地铁五号线施工封路", "滨江新区安置房开工", "青山区道路改造"),
        content_type="application/rss+xml")
    restarted = datetime.now(UTC).replace(microsecond=0)
    proc = start_daemon(config)
    try:
        wait_for(lambda: items_count(db) == 3, timeout=15)
    finally:
        stop(proc)
    assert items_count(db) == 3
    assert feed_state(db)["next_check_at"] > "2026"
    assert len(httpserver.log) == 1  # fetched once
    state = feed_state(db)
    success = datetime.fromisoformat(state["last_success_at"])
    assert success >= restarted and state["consecutive_failures"] == 0
    # the next check is the feed's hour (+-10 % jitter) after this run, not the old date
    wait = datetime.fromisoformat(state["next_check_at"]) - success
    assert timedelta(minutes=54) <= wait <= timedelta(minutes=66), wait


def test_fetch_json_and_failure_is_recorded_not_fatal(tmp_path, httpserver):
    httpserver.expect_request("/ok.xml").respond_with_data(rss("甲", "乙"),
                                                           content_type="text/xml")
    httpserver.expect_request("/bad.xml").respond_with_data("oops", status=500)
    config = write_config(tmp_path, feeds=[
        {"name": "区融媒体中心", "url": httpserver.url_for("/ok.xml")},
        {"name": "坏源", "url": httpserver.url_for("/bad.xml")},
        {"name": "停用", "url": httpserver.url_for("/off.xml"), "enabled": False},
    ])
    r = run_yuqing("--config", str(config), "fetch", "--json")
    assert r.returncode == 1, r.stderr  # 坏源 failed; the JSON still lists every feed
    doc = json.loads(r.stdout)
    assert doc["new_items"] == 2
    by = {f["name"]: f for f in doc["feeds"]}
    assert set(by) == {"区融媒体中心", "坏源"}
    assert by["区融媒体中心"] == {"name": "区融媒体中心", "ok": True, "status": 200,
                                 "new_items": 2, "error": None}
    assert by["坏源"]["ok"] is False and by["坏源"]["status"] == 500 and "500" in by["坏源"]["error"]
    assert by["坏源"]["error"] == "HTTP 500 服务器错误"

    r = run_yuqing("--config", str(config), "fetch", "--json")
    assert json.loads(r.stdout)["new_items"] == 0

    status = json.loads(run_yuqing("--config", str(config), "feeds", "status", "--json").stdout)
    by = {f["name"]: f for f in status}
    assert by["坏源"]["consecutive_failures"] == 2 and by["坏源"]["ok"] is False
    assert by["区融媒体中心"]["items_total"] == 2 and by["区融媒体中心"]["last_success_at"]
    assert datetime.fromisoformat(by["区融媒体中心"]["last_success_at"]).tzinfo is not None
    assert by["区融媒体中心"]["ok"] is True and by["区融媒体中心"]["consecutive_failures"] == 0
    assert by["坏源"]["last_error"] == "HTTP 500 服务器错误" and by["坏源"]["last_success_at"] is None
    for row in status:
        assert set(row) >= {"name", "url", "ok", "consecutive_failures", "last_error",
                            "last_success_at", "items_total"}

    r = run_yuqing("--config", str(config), "fetch", "--feed", "不存在")
    assert r.returncode == 1 and "不存在" in r.stderr
    assert "没有名为 '不存在' 的订阅源" in r.stderr and "区融媒体中心" in r.stderr


def test_feed_is_rearmed_when_its_run_fails_unexpectedly(tmp_path, caplog):
    """A failure outside fetching (here the database losing its feeds table) must not drop
    the feed from the schedule: it is retried later and the daemon keeps running."""
    import asyncio
    import random

    from monitor.config import load_config
    from monitor.daemon import Daemon

    config = load_config(write_config(tmp_path, feeds=[
        {"name": "区融媒体中心", "url": "http://127.0.0.1:9/rss.xml", "interval": "1h"}]))

    async def scenario() -> tuple[datetime, datetime]:
        daemon = Daemon(config, rng=random.Random(3))  # first check ~1-5 s after start
        task = asyncio.create_task(daemon.run())
        await wait_until(lambda: daemon.scheduler is not None
                         and daemon.scheduler.get_job("feed:区融媒体中心") is not None)
        first = daemon.scheduler.get_job("feed:区融媒体中心").next_run_time
        conn = sqlite3.connect(config.storage.path)
        conn.execute("ALTER TABLE feeds RENAME TO feeds_gone")
        conn.commit()
        conn.close()

        def rearmed() -> bool:
            job = daemon.scheduler.get_job("feed:区融媒体中心")
            return job is not None and job.next_run_time != first

        await wait_until(rearmed, timeout=15)
        job = daemon.scheduler.get_job("feed:区融媒体中心")
        assert not task.done()
        daemon.request_stop()
        await asyncio.wait_for(task, 10)
        return first, job.next_run_time

    first, rearmed = asyncio.run(scenario())
    assert (rearmed - datetime.now(UTC)).total_seconds() > 30
    assert rearmed > first
    assert "订阅源处理出错，稍后重试" in caplog.text
