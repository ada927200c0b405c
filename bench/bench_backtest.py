"""Backtest benchmark (standalone; prints figures, asserts nothing).

Stores 100,000 items (realistic Chinese local-news titles and bodies, a few per cent of
them carrying words the default rules catch) in a real SQLite file, scores them once with
the default ruleset (so the comparison with stored results has something to compare),
then times ``monitor.backtest.backtest`` over all of them: items per second. The baseline
in the same run is ``Ruleset.evaluate`` alone over the same texts held in memory, so the
ratio shows what reading the store and comparing with stored results costs.

    .venv/bin/python bench/bench_backtest.py [--items 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.backtest import backtest  # noqa: E402
from monitor.rules import load_ruleset  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.store.db import iso  # noqa: E402

SEED = 7
PLACES = ["青山区", "滨江新区", "江北街道", "翠湖路", "滨湖路", "青山大道", "江湾村"]
NEUTRAL = ["召开重点项目推进会", "开展营商环境和服务水平提升行动", "举行消防演练", "发布招聘启事",
           "公布一季度经济数据", "组织志愿服务活动", "完成道路绿化提升", "开展安全生产检查"]
HOT = ["工地发生坍塌事故造成人员伤亡", "农民工聚集讨薪", "拆迁补偿不公引发不满", "夜间施工噪音扰民",
       "施工封路导致严重拥堵", "项目负责人涉嫌受贿", "网传消息系不实谣言", "工作人员用微信传送涉密文件",
       "安置房墙面出现裂缝疑似偷工减料"]
FILLER = ("会议要求，各部门要压实责任，强化协调，确保项目按期推进。"
          "相关负责人表示，将持续做好群众工作，及时回应社会关切。")


def make_items(n: int, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        place = rng.choice(PLACES)
        event = rng.choice(HOT) if rng.random() < 0.05 else rng.choice(NEUTRAL)
        body = f"{place}{event}。" + FILLER * rng.randint(1, 4)
        out.append((f"{place}{event}", body))
    return out


def fill(store: Store, texts: list[tuple[str, str]]) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"feed": f"源{i % 50}", "dedup_key": f"g:{i}", "title": t, "body": b,
             "content_hash": str(i), "published_at": iso(t0 + timedelta(minutes=i)),
             "fetched_at": iso(t0 + timedelta(minutes=i))}
            for i, (t, b) in enumerate(texts)]
    with store.tx() as db:
        db["items"].insert_all(rows, batch_size=5000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    args = ap.parse_args()
    rng = random.Random(SEED)
    texts = make_items(args.items, rng)
    rs = load_ruleset(ROOT / "rules")
    rs.evaluate(title="预热", body="工地讨薪")  # build lookup tables outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        fill(store, texts)
        ids = [r[0] for r in store.db.execute("SELECT id FROM items ORDER BY id")]
        t = time.perf_counter()
        with store.tx():
            for (title, body), item_id in zip(texts, ids, strict=True):
                store.save_evaluation(item_id, rs.evaluate(title=title, body=body),
                                      version="stored")
        score_s = time.perf_counter() - t

        t = time.perf_counter()
        for title, body in texts:
            rs.evaluate(title=title, body=body)
        base_s = time.perf_counter() - t

        t = time.perf_counter()
        result = backtest(store, rs, since=None)
        bt_s = time.perf_counter() - t
        store.close()
    n = len(texts)
    print(f"回测 backtest: {n:,} 条 items，命中 matched {result.matched:,}")
    print(f"  scoring on ingest (evaluate + store results): {n / score_s:,.0f} items/s")
    print(f"  baseline evaluate only (in memory):          {n / base_s:,.0f} items/s")
    print(f"  backtest (read store + evaluate + compare):   {n / bt_s:,.0f} items/s "
          f"= {base_s / bt_s:.2f}× baseline, {bt_s:.1f} s for {n:,} items")


if __name__ == "__main__":
    main()
