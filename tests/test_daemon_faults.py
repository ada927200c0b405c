"""The daemon under faults, as a real process: slow sources that outlast their interval, a
lost schedule, a second daemon, the data directory deleted, SIGKILL, slow rule loading."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from servers import FeedServer, delayed
from support import alive, run_yuqing, wait_for, write_config

RSS = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title>'
       '<item><title>{t}</title><link>http://example.org/{n}</link><guid>{n}</guid></item>'
       '</channel></rss>')


def start_daemon(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen[str]) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    return time.monotonic() - t0


def query(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def stored_items(db: Path) -> int:
    """Items in the daemon's database; 0 while it has not created its tables yet."""
    if not db.exists():
        return 0
    try:
        return query(db, "SELECT count(*) FROM items")[0][0]
    except sqlite3.OperationalError:
        return 0


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, grandchildren...), read from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def test_slow_feeds_that_outlast_their_interval_stay_scheduled(tmp_path):
    """Four feeds on one host, one request at a time, each answer taking 0.8 s at a 2 s
    interval: queued runs end after their next check would have been due. Every feed
    must keep being fetched (before the fix all but the first were dropped after one run)."""
    with FeedServer() as srv:
        names = [f"慢源{i}" for i in range(4)]
        for i in range(4):
            srv.route(f"/f{i}", handler=delayed(0.8, RSS.format(t=f"条目{i}", n=i).encode()))
        config = write_config(tmp_path, feeds=[
            {"name": n, "url": srv.url(f"/f{i}"), "interval": "2s"} for i, n in enumerate(names)],
            extra={"fetch": {"per_host_concurrency": 1, "min_interval": "1s", "jitter": 0.0},
                   "daemon": {"health_interval": "1s"}})
        proc = start_daemon(config)
        try:
            def every_feed_fetched(times: int) -> bool:
                paths = srv.paths()
                return all(paths.count(f"/f{i}") >= times for i in range(4))

            wait_for(lambda: every_feed_fetched(3), timeout=40)
        finally:
            stop(proc)
        err = proc.stderr.read()
        assert proc.returncode == 0, err
        assert "skipped" not in err and "maximum number of running instances" not in err
        db = tmp_path / "data" / "monitor.db"
        for (_checked, success, nxt) in query(
                db, "SELECT last_checked_at, last_success_at, next_check_at FROM feeds"):
            assert success is not None and nxt > success  # the next check counts from the end


def test_watchdog_rearms_a_feed_whose_job_was_lost(tmp_path, caplog):
    from monitor.config import load_config
    from monitor.daemon import Daemon

    with FeedServer() as srv:
        srv.route("/rss", body=RSS.format(t="甲", n=1).encode())
        config = load_config(write_config(tmp_path, feeds=[
            {"name": "源", "url": srv.url("/rss"), "interval": "1h"}],
            extra={"daemon": {"health_interval": "0.2s"}}))

        async def scenario() -> None:
            daemon = Daemon(config, rng=random.Random(1))
            task = asyncio.create_task(daemon.run())
            while daemon.scheduler is None or daemon.scheduler.get_job("feed:源") is None:
                await asyncio.sleep(0.05)
            daemon.scheduler.remove_job("feed:源")  # what APScheduler did to slow feeds
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and daemon.scheduler.get_job("feed:源") is None:
                await asyncio.sleep(0.05)
            assert daemon.scheduler.get_job("feed:源") is not None
            daemon.request_stop()
            await asyncio.wait_for(task, 10)

        asyncio.run(scenario())
    assert "调度自检：已重新安排订阅源" in caplog.text
    status = run_yuqing("--config", str(config.source), "feeds", "status", "--json")
    import json

    (row,) = json.loads(status.stdout)
    assert row["rearmed_at"] and "调度任务丢失" in row["rearm_note"]
    human = run_yuqing("--config", str(config.source), "feeds", "status").stdout
    assert "调度自检" in human


def test_feeds_status_says_when_a_feed_is_overdue(tmp_path):
    config = write_config(tmp_path, feeds=[
        {"name": "源", "url": "http://127.0.0.1:9/rss", "interval": "15m"}])
    assert run_yuqing("--config", str(config), "fetch").returncode == 1  # the feed failed
    db = tmp_path / "data" / "monitor.db"
    import json

    def status_with_next_check(when: str) -> dict:
        conn = sqlite3.connect(db)
        conn.execute("UPDATE feeds SET next_check_at = ?", [when])
        conn.commit()
        conn.close()
        (row,) = json.loads(run_yuqing("--config", str(config), "feeds", "status",
                                       "--json").stdout)
        return row

    assert status_with_next_check("2026-01-01T00:00:00+00:00")["overdue"] is True
    assert "逾期" in run_yuqing("--config", str(config), "feeds", "status").stdout
    assert status_with_next_check("2999-01-01T00:00:00+00:00")["overdue"] is False


def test_a_second_daemon_on_the_same_database_is_refused(tmp_path):
    config = write_config(tmp_path)
    first = start_daemon(config)
    try:
        lock = tmp_path / "data" / "monitor.db.lock"
        wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid))
        second = run_yuqing("--config", str(config), "run", timeout=20)
        assert second.returncode == 1
        assert f"PID {first.pid}" in second.stderr and "Traceback" not in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1, second.stderr
        assert first.poll() is None  # the first one is untouched
    finally:
        stop(first)
    assert first.returncode == 0
    # the lock goes with the daemon: a new one starts
    again = start_daemon(config)
    try:
        wait_for(lambda: lock.read_text().strip() == str(again.pid))
    finally:
        stop(again)


def test_deleted_data_directory_stops_the_daemon_and_creates_nothing(tmp_path):
    with FeedServer() as srv:
        srv.route("/rss", body=RSS.format(t="甲", n=1).encode())
        config = write_config(tmp_path, feeds=[
            {"name": "源", "url": srv.url("/rss"), "interval": "1h"}],
            extra={"daemon": {"health_interval": "0.3s"}})
        data = tmp_path / "data"
        proc = start_daemon(config)
        try:
            wait_for(lambda: stored_items(data / "monitor.db") == 1)
            shutil.rmtree(data)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                stop(proc)
    err = proc.stderr.read()
    assert proc.returncode == 1
    assert "已被删除或替换" in err and "Traceback" not in err
    # read-only commands do not create a database in its place, and say so
    r = run_yuqing("--config", str(config), "feeds", "status")
    assert r.returncode == 0 and "不存在" in r.stderr and "源" in r.stdout
    r = run_yuqing("--config", str(config), "items", "list", "--json")
    assert r.returncode == 0 and r.stdout.strip() == "[]" and "不存在" in r.stderr
    assert not (data / "monitor.db").exists()


def test_no_worker_outlives_a_killed_daemon(tmp_path):
    with FeedServer() as srv:
        srv.route("/rss", body=RSS.format(t="甲", n=1).encode())
        config = write_config(tmp_path, feeds=[
            {"name": "源", "url": srv.url("/rss"), "interval": "1h"}],
            extra={"fetch": {"parse_workers": 2}})
        proc = start_daemon(config)
        try:
            db = tmp_path / "data" / "monitor.db"
            wait_for(lambda: stored_items(db) == 1)
            children = descendants(proc.pid)
            assert len(children) >= 3  # fork server, resource tracker, parse workers
        finally:
            proc.kill()
            proc.wait(timeout=5)
    wait_for(lambda: not any(alive(p) for p in children), timeout=10)


def test_slow_rule_loading_never_holds_up_storing_or_stopping(tmp_path):
    """A rule file that takes longer than [rules] load_timeout to compile is abandoned:
    items are still stored (scored later), and SIGTERM still stops the daemon in time."""
    rules = tmp_path / "rules"
    rules.mkdir()
    words = ", ".join(f"词{i:06d}甲乙" for i in range(60000))
    (rules / "big.yaml").write_text(
        f"- id: big\n  category: 测试\n  level: blue\n  weight: 10\n  words:\n    大: [{words}]\n",
        encoding="utf-8")
    with FeedServer() as srv:
        srv.route("/rss", body=RSS.format(t="甲", n=1).encode())
        config = write_config(tmp_path, feeds=[
            {"name": "源", "url": srv.url("/rss"), "interval": "1h"}], rules_dir=rules,
            extra={"rules": {"dir": "../rules", "load_timeout": "0.05s"}})
        proc = start_daemon(config)
        try:
            db = tmp_path / "data" / "monitor.db"
            wait_for(lambda: stored_items(db) == 1)
        finally:
            elapsed = stop(proc)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert elapsed < 10
    assert "规则加载超时" in err


def test_parse_worker_log_lines_reach_the_daemon_log(tmp_path):
    """A record logged inside a parse worker process arrives in logs/yuqing.log, formatted
    like every other line (before, WARNING went to stderr unformatted and INFO was lost)."""
    broken = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title>'
              '<item><title>甲 & 乙</title><link>http://example.org/1</link></item>'
              '</channel></rss>').encode()
    with FeedServer() as srv:
        srv.route("/rss", body=broken)
        config = write_config(tmp_path, feeds=[
            {"name": "源", "url": srv.url("/rss"), "interval": "1h"}],
            extra={"fetch": {"parse_workers": 2}})
        proc = start_daemon(config)
        log = tmp_path / "logs" / "yuqing.log"
        try:
            wait_for(lambda: log.exists() and "monitor.parse.feeds" in log.read_text("utf-8"))
        finally:
            stop(proc)
    line = next(ln for ln in log.read_text("utf-8").splitlines() if "monitor.parse.feeds" in ln)
    assert " 信息 monitor.parse.feeds: 订阅源格式不规范" in line
    assert line[:4].isdigit()  # the same time-stamped format as the daemon's own lines


def test_a_stop_during_start_up_does_not_wait_for_the_rules(tmp_path):
    """SIGTERM while a large ruleset is still compiling stops the daemon at once: it never
    finishes starting (before, it finished loading, announced itself, then stopped)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in range(4):
        words = ", ".join(f"词{f}{i:06d}甲乙" for i in range(70000))
        (rules / f"{f}.yaml").write_text(
            f"- id: big{f}\n  category: 测试\n  level: blue\n  weight: 10\n  words:\n"
            f"    大: [{words}]\n", encoding="utf-8")
    config = write_config(tmp_path, rules_dir=rules, extra={"rules": {"dir": "../rules"}})
    proc = start_daemon(config)
    lock = tmp_path / "data" / "monitor.db.lock"
    try:
        wait_for(lambda: lock.exists() and lock.read_text().strip() == str(proc.pid))
    finally:
        elapsed = stop(proc)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert elapsed < 5
    assert "守护进程已启动" not in err and "守护进程已停止" in err


def test_an_edited_config_brings_the_feeds_in_line_without_a_restart(tmp_path, caplog):
    """A feed added to the config file (by hand or by the console's feeds page) is fetched,
    a disabled one stops being scheduled, a broken edit changes nothing."""
    import tomlkit

    from monitor.config import load_config
    from monitor.daemon import Daemon

    with FeedServer() as srv:
        srv.route("/a", body=RSS.format(t="甲", n=1).encode())
        srv.route("/b", body=RSS.format(t="乙", n=2).encode())
        path = write_config(tmp_path, feeds=[
            {"name": "甲", "url": srv.url("/a"), "interval": "1h"}],
            extra={"daemon": {"health_interval": "0.2s"}})
        config = load_config(path)
        db = tmp_path / "data" / "monitor.db"

        async def scenario() -> None:
            daemon = Daemon(config, rng=random.Random(1))
            task = asyncio.create_task(daemon.run())

            async def until(pred, what: str) -> None:
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not pred():
                    await asyncio.sleep(0.05)
                assert pred(), what

            await until(lambda: stored_items(db) == 1, "甲 fetched")
            path.write_text(path.read_text("utf-8") + "[[feeds\n", encoding="utf-8")
            await until(lambda: "配置文件已改动但有误" in caplog.text, "broken edit said")
            assert [f.name for f in daemon.config.feeds] == ["甲"]
            doc = tomlkit.parse(path.read_text("utf-8").replace("[[feeds\n", ""))
            doc["feeds"].append({"name": "乙", "url": srv.url("/b"), "interval": "1h"})
            doc["feeds"][0]["enabled"] = False
            path.write_text(tomlkit.dumps(doc), encoding="utf-8")
            await until(lambda: stored_items(db) == 2, "乙 fetched after the edit")
            assert daemon.scheduler.get_job("feed:甲") is None
            assert daemon.scheduler.get_job("feed:乙") is not None
            daemon.request_stop()
            await asyncio.wait_for(task, 10)

        asyncio.run(scenario())
    changes = query(db, "SELECT data FROM events WHERE kind = 'config.changed'")
    assert any('"added": ["乙"]' in d and '"changed": ["甲"]' in d for (d,) in changes)


def test_the_console_serves_inside_the_daemon_and_stops_with_it(tmp_path):
    """``[web] enabled``: ``yuqing run`` answers /healthz and the login page on its port while
    it fetches, and SIGTERM still stops the whole process within the contract's 10 s; with
    no signing key it refuses to start, saying which variable to set."""
    import json
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with FeedServer() as srv:
        srv.route("/a", body=RSS.format(t="甲", n=1).encode())
        config = write_config(tmp_path, feeds=[
            {"name": "甲", "url": srv.url("/a"), "interval": "1h"}],
            extra={"web": {"enabled": True, "listen": f"127.0.0.1:{port}"}})
        env = {k: v for k, v in os.environ.items() if k != "YUQING_WEB_SECRET"}
        refused = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config),
                                  "run"], capture_output=True, text=True, timeout=30, env=env)
        assert refused.returncode == 1 and "YUQING_WEB_SECRET 未设置" in refused.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**env, "YUQING_WEB_SECRET": "a-test-secret-of-enough-length"})
        try:
            def up() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code \
                        in (200, 503)
                except httpx.HTTPError:
                    return False
            wait_for(up, timeout=30)
            wait_for(lambda: stored_items(tmp_path / "data" / "monitor.db") == 1)
            doc = json.loads(httpx.get(f"http://127.0.0.1:{port}/healthz").text)
            assert doc["database"]["ok"] and doc["fetching"]["feeds"] == 1
            login = httpx.get(f"http://127.0.0.1:{port}/login")
            assert login.status_code == 200 and "登录" in login.text
            assert "server" not in login.headers
        finally:
            took = stop(proc)
        assert proc.returncode == 0 and took < 10
