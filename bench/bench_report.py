"""Records and reports at scale: a database of 1,000,000 items and 20,000 incidents over
three years (2024–2026, Beijing), generated here, then the queries report writers run
(standalone; prints figures, asserts nothing).

The database is made through our own migrations (``Store``) and filled in bulk with rows
shaped as the program writes them: items with their full-text rows (jieba-style tokens),
one hash-chained ``item.stored`` audit event per item, incidents with their items,
matches, handling log (opened, acknowledged, resolved, some escalated), alerts, fetch
outcomes per feed and day, and ruleset versions. It is cached in ``bench/out/`` (made
once, ~2–3 min on 2 cores; ``--fresh`` makes it again), and every timing below runs on a
copy-free, warm file.

Figures, each the median of several runs:
- ``stats`` for one year (``monitor.report.stats.compute``): target < 2 s;
- ``incidents list`` with filters, in-process through the real CLI (``--json``): < 200 ms;
- ``items search`` for a two-word query, through the CLI: < 200 ms;
- the annual report in each format (``yuqing report annual``): < 10 s;
- the database size per million items.
The baseline measured in the same run is a bare ``SELECT count(*)`` over a year of items
through the same index, the least any per-period figure can cost.

    .venv/bin/python bench/bench_report.py [--items 1000000] [--incidents 20000] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.store import Store  # noqa: E402
from monitor.store.audit import chain_hash  # noqa: E402

OUT = ROOT / "bench" / "out"
GENERATOR = 2          # bump when the generated rows change shape
START = datetime(2023, 12, 31, 16, 0, tzinfo=UTC)     # 2024-01-01 00:00 Beijing
END = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)       # 2027-01-01 00:00 Beijing
SPAN = (END - START).total_seconds()

PLACES = ["滨江", "城南", "北郊", "翠湖", "青山", "东湖", "西城", "江北", "南岸", "高新"]
THINGS = ["重点工程", "工地", "项目部", "安置房", "地铁站", "高架桥", "学校", "医院", "道路",
          "搅拌站", "物流园", "商业综合体", "污水厂", "公园", "菜市场"]
EVENTS = ["欠薪", "讨薪", "坍塌", "扬尘", "噪声", "封路", "拥堵", "投诉", "火灾", "渗水",
          "裂缝", "停工", "开工", "推进会", "验收", "招标", "拆迁", "补偿", "上访", "表彰"]
FILLER = ["今天", "上午", "下午", "居民", "反映", "记者", "现场", "看到", "有关部门", "表示",
          "正在", "处理", "情况", "进一步", "核实", "群众", "多次", "问题", "相关", "负责人",
          "回应", "称", "已经", "安排", "人员", "到场", "目前", "秩序", "正常", "关注"]
CATEGORIES = ["安全生产", "欠薪讨薪", "环境扰民", "工程质量", "征地拆迁", "交通出行", "廉政风险",
              "网络谣言", "干部网络行为", "信访维稳"]
RULES = [f"rule-{n:02d}" for n in range(30)]
LEVELS = ["blue"] * 50 + ["yellow"] * 30 + ["orange"] * 15 + ["red"] * 5
OUTCOMES = ["responded"] * 55 + ["clarified"] * 15 + ["referred"] * 10 + ["no_action"] * 10 \
    + ["false_positive"] * 10
STAFF = ["张三", "李四", "王五", "赵六", "钱七"]
FEEDS = [f"来源{n:02d}" for n in range(50)]


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def generate(path: Path, n_items: int, n_incidents: int) -> None:
    rng = random.Random(20261202)
    Store(path).close()                                     # our migrations, our schema
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    t0 = time.perf_counter()
    prev = ""
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO feeds (name, url, ok, consecutive_failures, created_at, "
                     "last_success_at) VALUES (?, ?, 1, 0, ?, ?)",
                     [(f, f"https://feeds.example/{n}.xml", iso(START), iso(END))
                      for n, f in enumerate(FEEDS)])
    batch_items, batch_fts, batch_events = [], [], []
    times = sorted(START + timedelta(seconds=rng.random() * SPAN) for _ in range(n_items))
    for i, when in enumerate(times, start=1):
        title_words = [rng.choice(PLACES), rng.choice(THINGS), rng.choice(EVENTS),
                       rng.choice(FILLER), rng.choice(EVENTS)]
        body_words = [rng.choice(FILLER) for _ in range(rng.randint(15, 30))]
        body_words[3] = rng.choice(EVENTS)
        title, body = "".join(title_words), "".join(body_words)
        feed = FEEDS[int(rng.paretovariate(1.2)) % len(FEEDS)]
        link = f"https://news.example/{feed}/{i}.html"
        at, fetched = iso(when), iso(when + timedelta(minutes=rng.randint(1, 30)))
        batch_items.append((i, feed, f"g:{i}", str(i), link, title, body, f"h{i}", at, fetched))
        batch_fts.append((i, " ".join(title_words), " ".join(body_words)))
        data = json.dumps({"feed": feed, "link": link, "title": title}, ensure_ascii=False,
                          sort_keys=True)
        h = chain_hash(prev, fetched, "item.stored", str(i), "system", data)
        batch_events.append((fetched, "item.stored", str(i), "system", data, prev, h))
        prev = h
        if len(batch_items) >= 20000:
            _flush_items(conn, batch_items, batch_fts, batch_events)
    _flush_items(conn, batch_items, batch_fts, batch_events)
    print(f"  items: {n_items:,} in {time.perf_counter() - t0:.0f} s", flush=True)

    incident_rows, ii_rows, match_rows, log_rows, deliveries = [], [], [], [], []
    item_ids = rng.sample(range(1, n_items + 1), min(n_items, n_incidents * 3))
    cursor = 0
    ack_within = {"red": 1800, "orange": 3600}
    respond_within = {"red": 86400, "orange": 86400, "yellow": 172800, "blue": 172800}
    for iid in range(1, n_incidents + 1):
        k = rng.choice([1, 1, 1, 2, 2, 3, 4])
        members = sorted(item_ids[cursor:cursor + k])
        cursor += k
        first = times[members[0] - 1]
        level, category = rng.choice(LEVELS), rng.choice(CATEGORIES)
        rules = sorted(set(rng.sample(RULES, rng.randint(1, 2))))
        opened = first + timedelta(minutes=rng.randint(1, 30))
        ack_s = rng.lognormvariate(7.0, 1.0)
        res_s = ack_s + rng.lognormvariate(10.0, 1.0)
        recent = opened > END - timedelta(days=10)
        status = "open" if recent and rng.random() < 0.5 else (
            "acknowledged" if recent else "resolved")
        acked = opened + timedelta(seconds=ack_s) if status != "open" else None
        resolved = opened + timedelta(seconds=res_s) if status == "resolved" else None
        ack_clock = None if level not in ack_within or acked is None else (
            "met" if ack_s <= ack_within[level] else "missed")
        respond_clock = None if resolved is None else (
            "met" if res_s <= respond_within[level] else "missed")
        who = rng.choice(STAFF)
        outcome = rng.choice(OUTCOMES) if resolved else None
        incident_rows.append((iid, f"{category}事件{iid}", category, level, status, iso(first),
                              iso(first + timedelta(hours=k)), k, k, json.dumps(rules),
                              json.dumps([category], ensure_ascii=False), iso(opened),
                              iso(acked) if acked else None, who if acked else None,
                              iso(resolved) if resolved else None, who if resolved else None,
                              outcome, ack_clock, respond_clock))
        for m in members:
            ii_rows.append((m, iid, FEEDS[m % len(FEEDS)], level, "similar", 0.9, "sig",
                            iso(times[m - 1]), iso(opened)))
            for rule in rules:
                match_rows.append((m, rule, f"规则{rule[-2:]}", category, level, 40, "[]", "v1"))
        log_rows.append((iid, iso(opened), "opened", None, None, level))
        if acked:
            log_rows.append((iid, iso(acked), "acknowledged", who, "已认领", None))
        if resolved:
            log_rows.append((iid, iso(resolved), "resolved", who, "已处置完毕", None))
        if ack_clock == "missed" or rng.random() < 0.05:
            log_rows.append((iid, iso(opened + timedelta(minutes=30)), "escalated", None,
                             None, None))
        subject = f"【{level}】{category}：{category}事件{iid}"
        message = json.dumps({"subject": subject, "text": subject, "markdown": subject,
                              "html": subject, "fields": {"incident": iid}},
                             ensure_ascii=False)
        for channel in ("email", "dingtalk"):
            deliveries.append(("opened", iid, who, channel, "sent", level, message,
                               f"i{iid}:opened:{who}:{channel}", iso(opened), iso(opened), 1,
                               iso(opened), iso(opened)))
    conn.executemany(
        "INSERT INTO incidents (id, title, category, level, status, first_seen, last_seen, "
        "items, sources, rules, categories, opened_at, acknowledged_at, acknowledged_by, "
        "resolved_at, resolved_by, outcome, ack_clock, respond_clock) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", incident_rows)
    conn.executemany(
        "INSERT INTO incident_items (item_id, incident_id, feed, level, how, similarity, "
        "signature, seen_at, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ii_rows)
    conn.executemany(
        "INSERT INTO matches (item_id, rule, name, category, level, weight, spans, "
        "ruleset_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", match_rows)
    conn.executemany("INSERT INTO incident_log (incident_id, at, action, actor, note, level) "
                     "VALUES (?, ?, ?, ?, ?, ?)", log_rows)
    conn.executemany(
        "INSERT INTO deliveries (kind, incident_id, recipient, channel, status, level, "
        "message, dedup_key, due_at, next_attempt_at, attempts, created_at, sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", deliveries)
    conn.execute("UPDATE items SET score = 40, level = 'blue', ruleset_version = 'v1', "
                 "scored_at = fetched_at")
    days = [(START + timedelta(days=d, hours=8)).date().isoformat()
            for d in range(int(SPAN // 86400))]
    conn.executemany("INSERT INTO fetch_days (feed, day, ok, failed) VALUES (?, ?, ?, ?)",
                     [(f, d, 90 + rng.randint(0, 6), rng.choice([0, 0, 0, 1, 2]))
                      for f in FEEDS for d in days])
    conn.executemany("INSERT INTO ruleset_versions (version, loaded_at, actor, rules, files, "
                     "changed) VALUES (?, ?, ?, 30, '{}', '[]')",
                     [(f"v{n}", iso(START + timedelta(days=30 * n)), "王五") for n in range(36)])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    print(f"  incidents: {n_incidents:,}; database made in {time.perf_counter() - t0:.0f} s",
          flush=True)


def _flush_items(conn: sqlite3.Connection, items: list, fts: list, events: list) -> None:
    conn.executemany(
        "INSERT INTO items (id, feed, dedup_key, guid, link, title, body, content_hash, "
        "published_at, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", items)
    conn.executemany("INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)", fts)
    conn.executemany("INSERT INTO events (at, kind, subject, actor, data, prev_hash, hash) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", events)
    items.clear()
    fts.clear()
    events.clear()


def timed(fn, runs: int = 5) -> float:
    """Median seconds of ``runs`` calls after one warm-up."""
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def ensure_database(n_items: int = 1_000_000, n_incidents: int = 20_000, *,
                    fresh: bool = False) -> tuple[Path, Path, Path]:
    """The generated database (made when absent, or again with ``fresh``) and a config for
    it: (work directory, database, config path). Other benches reuse it
    (``bench_web.py``)."""
    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / f"report-g{GENERATOR}-{n_items}-{n_incidents}"
    db = work / "data" / "monitor.db"
    if fresh and work.exists():
        shutil.rmtree(work)
    if not db.exists():
        print(f"generating {n_items:,} items and {n_incidents:,} incidents "
              f"over 2024–2026 into {db.relative_to(ROOT)}", flush=True)
        work.mkdir(parents=True, exist_ok=True)
        (work / "rules").mkdir(exist_ok=True)
        partial = db.with_suffix(".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        for p in partial.parent.glob("monitor.partial*"):
            p.unlink()
        generate(partial, n_items, n_incidents)
        partial.rename(db)
    cfg = work / "config" / "monitor.toml"
    cfg.parent.mkdir(exist_ok=True)
    feeds = "".join(f'[[feeds]]\nname = "{f}"\nurl = "https://feeds.example/{n}.xml"\n\n'
                    for n, f in enumerate(FEEDS))
    cfg.write_text('[storage]\npath = "../data/monitor.db"\n\n[rules]\ndir = "../rules"\n\n'
                   + feeds + '[[staff]]\nname = "张三"\nemail = "zs@example.org"\n',
                   encoding="utf-8")
    return work, db, cfg


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--incidents", type=int, default=20_000)
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    work, db, cfg = ensure_database(args.items, args.incidents, fresh=args.fresh)
    size = sum(p.stat().st_size for p in db.parent.glob("monitor.db*"))
    print(f"database: {size / 2**20:,.0f} MiB for {args.items:,} items "
          f"({size / 2**20 / (args.items / 1e6):,.0f} MiB per million items, with the "
          "full-text index and one audit event per item)")
    with sqlite3.connect(db) as con:                   # where the space goes (dbstat)
        parts = con.execute("SELECT name, SUM(pgsize) AS s FROM dbstat GROUP BY name "
                            "ORDER BY s DESC LIMIT 8").fetchall()
    print("  largest: " + ", ".join(f"{n} {s / 2**20:,.0f} MiB" for n, s in parts))

    from click.testing import CliRunner

    from monitor.cli import main as cli
    from monitor.config import load_config
    from monitor.report.stats import annual, compute

    config = load_config(cfg)
    store = Store(db)
    year = annual(2025)
    now = END
    with store.lock:
        since, until = iso(year.since), iso(year.until)
        base = timed(lambda: store.db.execute(
            "SELECT count(*) FROM items WHERE coalesce(published_at, fetched_at) >= ? AND "
            "coalesce(published_at, fetched_at) < ? AND deleted = 0", [since, until]).fetchone())
    t_stats = timed(lambda: compute(store, year, config=config, now=now), runs=3)
    print(f"stats for 2025: {t_stats * 1000:,.0f} ms (target < 2,000 ms); a bare count of the "
          f"year's items: {base * 1000:,.0f} ms ({t_stats / base:,.1f}×)")
    store.close()

    runner = CliRunner()

    def run(*argv: str) -> None:
        r = runner.invoke(cli, ["--config", str(cfg), *argv])
        assert r.exit_code == 0, r.output

    queries = [
        ("incidents list --since 2025-01-01 --until 2026-01-01 --level orange --json",
         ["incidents", "list", "--since", "2025-01-01", "--until", "2026-01-01",
          "--level", "orange", "--json"]),
        ("incidents list --status open --category 安全生产 --json",
         ["incidents", "list", "--status", "open", "--category", "安全生产", "--json"]),
        ("incidents list --text 坍塌 --since 2026-01-01 --json",
         ["incidents", "list", "--text", "坍塌", "--since", "2026-01-01", "--json"]),
        ("incidents list --feed 来源03 --outcome 误报 --json",
         ["incidents", "list", "--feed", "来源03", "--outcome", "误报", "--json"]),
        ("items search 欠薪 滨江 --json", ["items", "search", "欠薪 滨江", "--json"]),
        ("items search 坍塌 (human)", ["items", "search", "坍塌"]),
    ]
    for label, argv in queries:
        t = timed(lambda argv=argv: run(*argv))
        print(f"{label}: {t * 1000:,.0f} ms (target < 200 ms)"
              + ("" if t < 0.2 else "  未达标 below target"))
    ledger = work / "台账-2025.xlsx"
    t = timed(lambda: run("incidents", "list", "--since", "2025-01-01", "--until", "2026-01-01",
                          "--format", "xlsx", "-o", str(ledger)), runs=3)
    print(f"incidents list for 2025 --format xlsx (舆情台账): {t:,.2f} s")
    for fmt in ("docx", "md", "html"):
        out = work / f"report-2025.{fmt}"
        t = timed(lambda fmt=fmt, out=out: run("report", "annual", "--year", "2025",
                                               "--format", fmt, "-o", str(out)), runs=3)
        print(f"report annual --year 2025 --format {fmt}: {t:,.2f} s (target < 10 s)"
              + ("" if t < 10 else "  未达标 below target"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
