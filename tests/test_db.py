"""``yuqing db``: online backup while another process writes, restore (refused while the
daemon holds the lock), vacuum, check (integrity and the audit log's hash chain), and the
retention of item bodies. Real SQLite files and real processes throughout."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.models import ParsedItem
from monitor.store import Store
from monitor.store.lock import DaemonLock

from support import Cli, wait_for, write_config


def _deployment(tmp_path: Path, **storage: str) -> tuple[Cli, Path]:
    cfg = write_config(tmp_path, extra={"storage": {"path": "../data/monitor.db", **storage}})
    return Cli(cfg), tmp_path / "data" / "monitor.db"


def _items(n: int, prefix: str, when: datetime | None = None) -> list[ParsedItem]:
    return [ParsedItem(guid=f"{prefix}-{i}", link=f"http://news.example/{prefix}/{i}",
                       title=f"{prefix}工地塔吊第{i}次检查", body=f"{prefix}正文提到混凝土养护{i}",
                       published_at=when) for i in range(n)]


def _counts(db: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(db)
    try:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        fts = conn.execute("SELECT count(*) FROM items_fts").fetchone()[0]
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return items, fts, check


WRITER = textwrap.dedent("""
    import sys
    from monitor.models import ParsedItem
    from monitor.store import Store
    with Store(sys.argv[1]) as s:
        for batch in range(int(sys.argv[2])):
            s.store_items("写入源", [ParsedItem(guid=f"w{batch}-{i}", link=None,
                          title=f"第{batch}批第{i}条工地消息", body="正文" * 50)
                          for i in range(20)])
""")


def test_backup_while_another_process_writes_then_restore(tmp_path: Path) -> None:
    cli, db = _deployment(tmp_path)
    with Store(db) as store:
        store.store_items("源", _items(50, "甲"))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "400"])
    try:
        wait_for(lambda: _counts(db)[0] > 200, timeout=30)
        backup = tmp_path / "backup" / "yuqing.db"
        backup.parent.mkdir()
        r = cli("db", "backup", str(backup))
        assert r.exit_code == 0, r.output
        assert "已备份到" in r.stdout
        assert writer.poll() is None, "the writer was still writing during the backup"
    finally:
        assert writer.wait(timeout=120) == 0
    items, fts, check = _counts(backup)
    assert check == "ok" and items == fts and 200 < items < 50 + 400 * 20
    assert not Path(str(backup) + "-wal").exists()
    with Store(backup) as copy:           # a consistent snapshot: the audit chain holds
        chain = copy.verify_log()
        assert chain.ok and chain.rows == items

    again = cli("db", "backup", str(backup))
    assert again.exit_code == 1 and "--force" in again.stderr
    assert cli("db", "backup", str(backup), "--force").exit_code == 0
    with Store(db) as store:                 # what happens after the backup is undone
        store.store_items("源", _items(10, "后来"))
    full = _counts(db)[0]
    r = cli("db", "restore", str(backup))
    assert r.exit_code == 0, r.output
    restored_items, restored_fts, check = _counts(db)
    assert check == "ok" and restored_items == restored_fts < full
    kept = list(db.parent.glob("monitor.db.before-restore-*"))
    assert len(kept) == 1 and _counts(kept[0])[0] == full
    doc = cli.json("db", "check")
    assert doc["ok"] and doc["log_verified"] is True
    kinds = [e["kind"] for e in cli.json("log", "list", "--limit", "0")]
    assert "db.restored" in kinds


def test_restore_and_vacuum_are_refused_while_the_daemon_runs(tmp_path: Path) -> None:
    cli, db = _deployment(tmp_path)
    with Store(db) as store:
        store.store_items("源", _items(5, "甲"))
    backup = tmp_path / "b.db"
    assert cli("db", "backup", str(backup)).exit_code == 0
    lock = DaemonLock(db)        # what `yuqing run` holds
    lock.acquire()
    try:
        import os

        r = cli("db", "restore", str(backup))
        assert r.exit_code == 1 and str(os.getpid()) in r.stderr
        assert "Traceback" not in r.stderr
        assert cli("db", "vacuum").exit_code == 1
    finally:
        lock.release()
    assert not list(db.parent.glob("monitor.db.before-restore-*"))
    r = cli("db", "vacuum")
    assert r.exit_code == 0 and "已整理数据库" in r.stdout


def test_restore_refuses_a_file_that_is_not_an_intact_database(tmp_path: Path) -> None:
    cli, db = _deployment(tmp_path)
    with Store(db) as store:
        store.store_items("源", _items(300, "甲"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    r = cli("db", "restore", str(junk))
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert _counts(db)[0] == 300       # nothing replaced


def test_check_finds_a_damaged_file_and_a_tampered_log(tmp_path: Path) -> None:
    cli, db = _deployment(tmp_path)
    with Store(db) as store:
        store.store_items("源", _items(400, "甲"))
    ok = cli("db", "check")
    assert ok.exit_code == 0 and "审计日志哈希链（400 条）" in ok.stdout

    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_append_only_update")
    conn.execute("UPDATE events SET actor = '某人' WHERE id = 7")
    conn.commit()
    conn.close()
    r = cli("db", "check")
    assert r.exit_code == 1 and "审计日志第 7 条记录" in r.stderr

    damaged_dir = tmp_path / "damaged"
    damaged_cli, damaged = _deployment(damaged_dir)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    with Store(db) as store:
        store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db, damaged)
    data = bytearray(damaged.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8192] = b"\xff" * 8192
    damaged.write_bytes(bytes(data))
    r = damaged_cli("db", "check")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("错误：")


def test_retention_empties_old_bodies_and_keeps_the_rest(tmp_path: Path) -> None:
    cli, db = _deployment(tmp_path, retain_bodies="2y")
    now = datetime.now(UTC)
    old_day, new_day = now - timedelta(days=800), now - timedelta(days=10)
    with Store(db) as store:
        old = store.store_items("源", _items(3, "旧", old_day))
        new = store.store_items("源", _items(2, "新", new_day))
        incident = store.create_incident({
            "title": "旧工地事件", "category": "安全生产", "level": "yellow",
            "first_seen": old_day, "last_seen": old_day, "opened_at": old_day})
        store.add_incident_item(incident, item_id=old[0].id, feed="源", level="yellow",
                                how="new", similarity=None, signature="s", seen_at=old_day,
                                now=old_day, keys=[])
    before_body = cli.json("items", "search", "混凝土养护")
    assert len(before_body) == 5

    plan = cli.json("db", "prune", "--dry-run")
    assert plan["items"] == 3 and plan["retain"] == "2y" and plan["dry_run"] is True
    assert len(cli.json("items", "search", "混凝土养护")) == 5   # a dry run changes nothing

    done = cli.json("db", "prune")
    assert done["items"] == 3
    items = {i["id"]: i for i in cli.json("items", "list", "--limit", "100")}
    for s in old:
        assert items[s.id]["body"] == "" and items[s.id]["title"].startswith("旧工地")
        assert items[s.id]["link"]
    for s in new:
        assert items[s.id]["body"].startswith("新正文")
    found = cli.json("items", "search", "混凝土养护")
    assert {i["id"] for i in found} == {s.id for s in new}      # bodies left the index
    assert {i["id"] for i in cli.json("items", "search", "旧工地")} == {s.id for s in old}
    shown = cli.json("incidents", "show", str(incident))
    assert json.dumps(shown, ensure_ascii=False).count("旧工地") >= 1
    pruned = cli.json("log", "list", "--kind", "retention.pruned")
    assert len(pruned) == 1 and json.loads(json.dumps(pruned[0]["details"]))
    assert cli.json("db", "prune")["items"] == 0                # nothing twice
    assert cli("log", "verify").exit_code == 0
