"""The audit log: everything that happened, append-only (triggers) and hash-chained
(``yuqing log verify``), listed with ``yuqing log list``. Real feeds on 127.0.0.1 go
through the real pipeline into a real SQLite file; tampering is done the way a person
would, with a separate sqlite3 connection behind the program's back."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import test_cli_incidents
from test_cli_incidents import World

from monitor.config import load_config
from monitor.runtime import Services
from monitor.store import Store
from monitor.store.db import MIGRATIONS, Database

from support import write_config

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
world = test_cli_incidents.world   # the fixture: feeds and robots on 127.0.0.1


def test_the_whole_story_is_in_the_log_and_the_chain_holds(world: World) -> None:
    cli = world.setup()
    world.fetch()
    incidents = cli.json("incidents", "list")
    story = next(i for i in incidents if "坍塌" in i["title"])
    assert cli("incidents", "ack", str(story["id"]), "--by", "张三",
               "--note", "已联系项目部").exit_code == 0
    assert cli("incidents", "resolve", str(story["id"]), "--by", "张三",
               "--note", "项目部已回应", "--outcome", "已回应").exit_code == 0
    assert cli("alerts", "silence", "--category", "环境扰民", "--for", "2h",
               "--note", "夜间施工已报备", "--by", "王五").exit_code == 0

    events = cli.json("log", "list", "--limit", "0")
    kinds = [e["kind"] for e in events]
    items = cli.json("items", "list", "--limit", "100")
    stored = {int(e["subject"]): e["details"] for e in events if e["kind"] == "item.stored"}
    assert set(stored) == {i["id"] for i in items}
    assert {d["feed"] for d in stored.values()} == {"a", "b", "c"}
    assert all(e["actor"] == "system" for e in events if e["kind"] == "item.stored")
    assert "incident.opened" in kinds and "incident.joined" in kinds
    assert "alert.sent" in kinds
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)

    mine = cli.json("log", "list", "--kind", "incident", "--actor", "张三")
    assert [(e["kind"], e["subject"]) for e in mine] == [
        ("incident.acknowledged", str(story["id"])), ("incident.resolved", str(story["id"]))]
    assert mine[0]["details"]["note"] == "已联系项目部"
    assert mine[1]["details"]["note"] == "项目部已回应"
    # one incident's whole story, and nothing of another that shares its number
    shown = cli.json("incidents", "show", str(story["id"]))
    mine_items = {str(e["id"]) for e in shown["entries"]}
    told = cli.json("log", "list", "--incident", str(story["id"]))
    assert {e["subject"] for e in told if e["kind"].startswith("item.")} == mine_items
    assert {e["subject"] for e in told if e["kind"].startswith("incident.")} == {
        str(story["id"])}
    alerts = [e for e in told if e["kind"].startswith("alert.")]
    assert alerts and all(e["details"]["incident"] == story["id"] for e in alerts)
    assert {e["kind"] for e in told} >= {"item.stored", "incident.opened", "alert.sent",
                                        "incident.acknowledged", "incident.resolved"}
    others = [e for e in events if e["subject"] == str(story["id"]) and e not in told]
    assert others, "the number is also some item's or alert's: --subject alone mixes them"
    human = cli("log", "list", "--incident", str(story["id"]))
    assert f"事件#{story['id']}" in human.stdout and "条目#" in human.stdout
    silence = cli.json("log", "list", "--kind", "silence.added")
    assert silence[0]["actor"] == "王五"
    assert silence[0]["details"]["value"] == "环境扰民"
    # the period filter: nothing before the first fetch, everything up to now
    assert cli.json("log", "list", "--until", "2026-03-01") == []

    human = cli("log", "list", "--kind", "incident.resolved")
    assert human.exit_code == 0 and "办结事件" in human.stdout and "张三" in human.stdout
    ok = cli("log", "verify")
    assert ok.exit_code == 0, ok.output
    assert f"共 {len(events)} 条记录" in ok.stdout
    bad = cli("log", "list", "--kind", "nonsense")
    assert bad.exit_code == 2 and "不认识的类型" in bad.stderr


def test_the_program_cannot_update_or_delete_the_log(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as store:
        store.log_event("incident.acknowledged", "1", actor="张三", data={"note": "收到"})
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute("UPDATE events SET actor = '李四'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute("DELETE FROM events")
        assert store.list_log()[0].actor == "张三"
        assert store.verify_log().ok


def _tamper(db: Path, *statements: str) -> None:
    """What someone with the database file and the sqlite3 shell could do."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_append_only_update")
    conn.execute("DROP TRIGGER events_append_only_delete")
    for s in statements:
        conn.execute(s)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("statement", "found_at", "what"), [
    ("UPDATE events SET actor = '李四' WHERE id = 3", 3, "被改动过"),
    ("UPDATE events SET at = '2026-01-01T00:00:00+00:00' WHERE id = 2", 2, "被改动过"),
    ("DELETE FROM events WHERE id = 3", 4, "接不上"),
    ("INSERT INTO events (id, at, kind, actor, prev_hash, hash) SELECT 100, at, kind, actor, "
     "hash, 'x' FROM events WHERE id = 5", 100, "被改动过"),
])
def test_an_edit_behind_the_programs_back_is_found(tmp_path: Path, statement: str,
                                                   found_at: int, what: str) -> None:
    cfg = write_config(tmp_path)
    db = tmp_path / "data" / "monitor.db"
    with Store(db) as store:
        for n in range(5):
            store.log_event("incident.acknowledged", str(n), actor="张三", now=T + timedelta(n))
        assert store.verify_log().ok
    _tamper(db, statement)
    from support import Cli

    r = Cli(cfg)("log", "verify")
    assert r.exit_code == 1
    assert f"第 {found_at} 条记录" in r.stderr and what in r.stderr
    assert "Traceback" not in r.stderr
    doc = Cli(cfg)("log", "verify", "--json")
    assert doc.exit_code == 1 and f'"id": {found_at}' in doc.stdout


def test_two_processes_appending_at_once_make_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    Store(db).close()
    script = textwrap.dedent("""
        import sys
        from monitor.store import Store
        with Store(sys.argv[1]) as s:
            for n in range(150):
                s.log_event("feed.failure", sys.argv[2], data=str(n))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), name])
             for name in ("甲", "乙")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    with Store(db) as store:
        result = store.verify_log()
        assert result.ok, result.problems
        assert result.rows == 300
        assert {e.subject for e in store.list_log()} == {"甲", "乙"}


def test_an_older_database_is_sealed_when_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    old = Database(db, migrate=False)
    old.migrate(MIGRATIONS[:7])
    for n in range(3):
        old.db.execute("INSERT INTO events (at, kind, subject, actor) VALUES (?, ?, ?, ?)",
                       [f"2026-01-0{n + 1}T00:00:00+00:00", "feed.failure", "源", None])
    old.close()
    with Store(db) as store:
        assert store.schema_version() >= 8
        result = store.verify_log()
        assert result.ok and result.rows == 3
        store.log_event("feed.recovered", "源")
        assert store.verify_log().rows == 4 and store.verify_log().ok
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("UPDATE events SET kind = 'x' WHERE id = 1")


def test_a_changed_config_is_recorded_at_start_without_its_secrets(tmp_path: Path,
                                                                   monkeypatch) -> None:
    token = "robotToken4f9e2aa"
    monkeypatch.setenv("YQ_SMTP_PW", "smtpSecretPw!")

    def start(config_path: Path, at: datetime) -> None:
        async def go() -> None:
            rt = Services(load_config(config_path))
            try:
                await rt.in_store(lambda: rt.record_start(at))
            finally:
                await rt.aclose()
        asyncio.run(go())

    cfg = write_config(tmp_path, feeds=[{"name": "源", "url": "http://127.0.0.1:9/a.xml"}])
    start(cfg, T)
    start(cfg, T + timedelta(hours=1))           # the same config: no new record
    cfg = write_config(tmp_path, feeds=[{"name": "源", "url": "http://127.0.0.1:9/a.xml",
                                         "interval": "30m"}], extra={
        "staff": [{"name": "张三", "dingtalk": {
            "webhook": f"https://oapi.dingtalk.com/robot/send?access_token={token}"}}]})
    start(cfg, T + timedelta(hours=2))
    with Store(tmp_path / "data" / "monitor.db") as store:
        changes = store.list_log(kinds=["config.changed"])
        starts = store.list_log(kinds=["daemon.started"])
        raw = "\n".join(str(e.data) for e in store.list_log())
    assert len(starts) == 3 and len(changes) == 2
    first, second = (c.details() for c in changes)
    assert first["diff"] is None and 'interval = "15m"' in first["config"]
    assert '+interval = "30m"' in second["diff"] and '-interval = "15m"' in second["diff"]
    assert "张三" in second["diff"]
    assert token not in raw


def test_log_list_without_since_shows_the_newest_oldest_first(tmp_path: Path) -> None:
    from support import Cli

    cfg = write_config(tmp_path)
    with Store(tmp_path / "data" / "monitor.db") as store:
        for n in range(5):
            store.log_event("feed.failure", f"源{n}", now=T + timedelta(hours=n))
    cli = Cli(cfg)
    assert [e["subject"] for e in cli.json("log", "list", "--limit", "2")] == ["源3", "源4"]
    assert [e["subject"] for e in cli.json("log", "list", "--limit", "2", "--since",
                                           "2026-03-02")] == ["源0", "源1"]
    assert cli.json("log", "list", "--since", "2026-03-02T12:00", "--until",
                    "2026-03-02T13:00")[0]["subject"] == "源2"
