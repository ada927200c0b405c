"""Soak: a real ``yuqing run`` against slow, hanging, failing and hostile sources on
127.0.0.1 with accelerated intervals, checking that every feed keeps being fetched on time
(``make soak``; ``SOAK_SECONDS`` sets the length, default 300).

Twelve feeds share one host and its two connection slots: four healthy feeds that publish
a new item on every request, two that answer after 4 s, two that never answer (cut at the
3 s timeout), two that fail with HTTP 500, one that drips bytes forever and one that
serves an HTML page. Intervals are 5 s, backoff 5 s to 20 s. At the end it prints, per
feed, the number of requests and the longest gap between two of them, and whether that gap
stayed within the feed's interval (or backoff cap) plus the time the queue can add.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from servers import FeedServer, delayed, drip, hang  # noqa: E402
from support import write_config  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
INTERVAL, BACKOFF_MAX, TIMEOUT = 5.0, 20.0, 3.0


def fresh_rss(h, srv) -> None:  # type: ignore[no-untyped-def]
    from servers import send

    n = len(srv.requests)
    body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title>'
            f'<item><title>第{n}条</title><link>http://example.org/{n}</link></item>'
            '</channel></rss>').encode()
    send(h, 200, body, {"Content-Type": "application/rss+xml"})


def main() -> int:
    kinds = {"正常": (4, fresh_rss), "慢": (2, delayed(4.0, b"<rss version='2.0'><channel>"
                                                     b"<title>t</title></channel></rss>")),
             "不应答": (2, hang), "出错": (2, None), "滴灌": (1, drip(0.2)), "网页": (1, None)}
    with FeedServer() as srv, tempfile.TemporaryDirectory() as tmp:
        feeds = []
        for kind, (count, handler) in kinds.items():
            for i in range(count):
                path = f"/{len(feeds)}"
                if kind == "出错":
                    srv.route(path, status=500, body=b"oops")
                elif kind == "网页":
                    srv.route(path, body="<html><body>首页</body></html>".encode(),
                              headers={"Content-Type": "text/html"})
                else:
                    srv.route(path, handler=handler)
                feeds.append({"name": f"{kind}{i}", "url": srv.url(path), "interval": "5s"})
        config = write_config(Path(tmp), feeds=feeds, extra={
            "fetch": {"timeout": f"{TIMEOUT:g}s", "min_interval": "1s", "backoff_base": "5s",
                      "backoff_max": f"{BACKOFF_MAX:g}s", "startup_spread": "2s"},
            "daemon": {"health_interval": "2s"}})
        print(f"soak: {len(feeds)} feeds for {SECONDS:.0f} s ...", flush=True)
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        start = time.monotonic()
        seen: dict[str, list[float]] = {f["url"].rsplit("/", 1)[1]: [] for f in feeds}
        count = 0
        while time.monotonic() - start < SECONDS and proc.poll() is None:
            time.sleep(0.2)
            for r in srv.requests[count:]:
                seen.setdefault(r.path.lstrip("/"), []).append(time.monotonic() - start)
            count = len(srv.requests)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        proc.wait(timeout=15)
        stop_s = time.monotonic() - t0
        db = Path(tmp) / "data" / "monitor.db"
        conn = sqlite3.connect(db)
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        rearms = conn.execute("SELECT count(*) FROM events WHERE kind = 'feed.rearmed'"
                              ).fetchone()[0]
        conn.close()
    # the queue can hold a feed back by every other feed's worst request, two at a time
    queue = len(feeds) * max(TIMEOUT, 4.0) / 2
    ok = alive and proc.returncode == 0
    print(f"{'feed':<8} {'requests':>8} {'max gap s':>10} {'bound s':>8}")
    for f in feeds:
        times = seen[f["url"].rsplit("/", 1)[1]]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        gaps.append(SECONDS - times[-1] if times else SECONDS)
        bound = (INTERVAL if f["name"].startswith(("正常", "慢")) else BACKOFF_MAX) + queue + 5
        worst = max(gaps)
        ok = ok and bool(times) and worst <= bound
        print(f"{f['name']:<8} {len(times):>8} {worst:>10.1f} {bound:>8.0f}"
              f"{'' if worst <= bound else '  未达标 / below target'}")
    print(f"items stored {items}; watchdog re-arms {rearms}; stop took {stop_s:.1f} s")
    print(f"RESULT soak: every feed fetched on time: {'yes' if ok else '未达标 / below target'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
