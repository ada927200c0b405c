"""The web console under load, served by the daemon that keeps fetching (standalone;
prints figures, asserts nothing).

One daemon process (``monitor.daemon.Daemon``, what ``yuqing run`` runs) with
``[web] enabled = true`` on a copy of bench_report's generated database (1,000,000 items,
20,000 incidents; the copy so the daemon's writes never touch the cache, removed at the
end) fetches a few feeds from a local HTTP server on 127.0.0.1 every 2 s, each with a new
item. The only addition to the real daemon is a measuring hook: when a feed's job starts
it records how late it is against the time it was armed for (``Daemon._due``).

This process first leaves the daemon alone (``--quiet`` seconds), then runs the load:
``--sessions`` logged-in sessions (one ``httpx.AsyncClient`` each, own cookie jar) going
through a mix of pages for ``--seconds``, each pausing on a page as a person does
(``--think`` seconds on average; ``--think 0`` asks back to back, which saturates the
server and measures its capacity instead). It prints per page p50/p95/max latency
against the target p95 < 200 ms, the throughput, and the daemon's fetch lateness quiet
and under load, with their ratio.

    .venv/bin/python bench/bench_web.py [--sessions 20] [--seconds 30] [--think 1] [--quiet 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from bench_report import OUT, ensure_database  # noqa: E402

from servers import FeedServer, send  # noqa: E402
from support import ALERT_RULES, write_config  # noqa: E402

SECRET = "bench-web-secret-0123456789abcdef"
USER, PASSWORD = "压测", "bench password 0123"
FEEDS, INTERVAL = 6, 2.0
TARGET_MS = 200.0
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# ---- the daemon, in its own process --------------------------------------------------------

def run_daemon(config_path: Path, out: Path) -> int:
    """The child: the real daemon, recording each feed job's lateness (wall time, seconds
    late) into ``out`` when it stops (SIGTERM)."""
    from monitor.config import FeedConfig, load_config
    from monitor.daemon import Daemon

    late: list[tuple[float, float]] = []

    class TimedDaemon(Daemon):
        async def _run_feed(self, feed: FeedConfig) -> None:
            due = self._due.get(feed.name)
            if due is not None:
                late.append((time.time(), (self.now() - due).total_seconds()))
            await super()._run_feed(feed)

    daemon = TimedDaemon(load_config(config_path))
    try:
        asyncio.run(daemon.run())
    finally:
        out.write_text(json.dumps(late), encoding="utf-8")
    return 0


def fresh_rss(h: Any, srv: FeedServer) -> None:
    n = len(srv.requests)
    body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源'
            f'</title><item><title>滨江工地第{n}条动态</title><link>http://example.org/{n}</link>'
            f'<description>居民反映第{n}次扬尘问题</description></item></channel></rss>').encode()
    send(h, 200, body, {"Content-Type": "application/rss+xml"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(work: Path, db: Path, srv: FeedServer, port: int) -> Path:
    """A deployment in ``work``: a copy of the database with an account, a small ruleset,
    local feeds every INTERVAL seconds, the console on ``port``."""
    from monitor import accounts
    from monitor.store import Store

    data = work / "data"
    data.mkdir(parents=True)
    for part in db.parent.glob("monitor.db*"):
        if not part.name.endswith(".lock"):
            shutil.copyfile(part, data / part.name)
    (work / "rules").mkdir()
    (work / "rules" / "bench.yaml").write_text(ALERT_RULES, encoding="utf-8")
    for i in range(FEEDS):
        srv.route(f"/{i}", handler=fresh_rss)
    cfg = write_config(work, feeds=[{"name": f"本地{i}", "url": srv.url(f"/{i}"),
                                     "interval": f"{INTERVAL:g}s"} for i in range(FEEDS)],
                       extra={"fetch": {"min_interval": "1s", "startup_spread": "1s"},
                              "web": {"enabled": True, "listen": f"127.0.0.1:{port}",
                                      "base_url": f"http://127.0.0.1:{port}"}})
    with Store(data / "monitor.db") as store:
        accounts.add_user(store, USER, "staff", PASSWORD, by="bench",
                          now=datetime.now().astimezone())
    return cfg


# ---- the load --------------------------------------------------------------------------------

def pages(db: Path) -> list[tuple[str, str]]:
    """(label, path) of the pages asked for; the incident is an open one."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        row = con.execute("SELECT max(id) FROM incidents WHERE status = 'open'").fetchone()
    incident = row[0] or 1
    return [("/", "/"), ("/incidents", "/incidents"),
            ("/incidents?level=red&status=open", "/incidents?level=red&status=open"),
            ("/items?q=坍塌", "/items?q=坍塌"), ("/items?q=欠薪 滨江", "/items?q=欠薪 滨江"),
            ("/incidents/{id}", f"/incidents/{incident}")]


async def wait_up(base: str, proc: subprocess.Popen[bytes], limit: float = 60.0) -> float:
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as c:
        while time.perf_counter() - start < limit:
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited ({proc.returncode}) before serving")
            try:
                if (await c.get("/healthz")).status_code < 500:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"the console did not answer within {limit:.0f} s")


async def logged_in(base: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=base, timeout=30.0, follow_redirects=False)
    m = CSRF.search((await c.get("/login")).text)
    assert m, "no CSRF token on /login"
    r = await c.post("/login", data={"name": USER, "password": PASSWORD, "csrf": m.group(1),
                                     "next": "/"})
    if r.status_code != 303:
        raise SystemExit(f"login failed: {r.status_code}")
    return c


async def load(clients: list[httpx.AsyncClient], mix: list[tuple[str, str]],
               seconds: float, think: float = 0.0) -> dict[str, list[tuple[int, float]]]:
    """Every client asks for pages back to back (each starting at another page of the
    mix) until ``seconds`` have passed, pausing between pages as a person reading does
    (uniformly 0.5–1.5 × ``think`` seconds; 0: back to back); (status, seconds) per page
    label."""
    import random

    rng = random.Random(7)
    results: dict[str, list[tuple[int, float]]] = {label: [] for label, _ in mix}
    end = time.perf_counter() + seconds

    async def session(c: httpx.AsyncClient, offset: int) -> None:
        n = offset
        while time.perf_counter() < end:
            label, path = mix[n % len(mix)]
            n += 1
            t = time.perf_counter()
            try:
                status = (await c.get(path)).status_code
            except httpx.HTTPError:          # a dropped connection counts, as status 0
                status = 0
            results[label].append((status, time.perf_counter() - t))
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

    await asyncio.gather(*(session(c, i) for i, c in enumerate(clients)))
    return results


# ---- figures ---------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report_pages(results: dict[str, list[tuple[int, float]]], seconds: float) -> None:
    total = sum(len(v) for v in results.values())
    print(f"{total:,} requests in {seconds:.0f} s: {total / seconds:,.0f} pages/s")
    for label, samples in results.items():
        codes = sorted({s for s, _ in samples})
        times = [t * 1000 for s, t in samples if s == 200]
        if not times:
            what = ("page missing (404: not built yet)" if codes == [404]
                    else f"no 200 answers (status {codes})")
            print(f"GET {label}: {what}, {len(samples)} requests (target p95 < "
                  f"{TARGET_MS:.0f} ms not measured)")
            continue
        p95 = pct(times, 0.95)
        others = f"; other answers {codes}" if codes != [200] else ""
        print(f"GET {label}: p50 {statistics.median(times):,.0f} ms, p95 {p95:,.0f} ms, "
              f"max {max(times):,.0f} ms, n={len(times)} (target p95 < {TARGET_MS:.0f} ms)"
              + ("" if p95 < TARGET_MS else "  未达标 below target") + others)


def report_lateness(late: list[tuple[float, float]], quiet: tuple[float, float],
                    busy: tuple[float, float]) -> None:
    def within(span: tuple[float, float]) -> list[float]:
        return [s * 1000 for at, s in late if span[0] <= at < span[1]]

    q, b = within(quiet), within(busy)
    for name, xs in (("quiet", q), ("under load", b)):
        if xs:
            print(f"fetch lateness {name}: p50 {statistics.median(xs):,.1f} ms, "
                  f"p95 {pct(xs, 0.95):,.1f} ms, max {max(xs):,.1f} ms over {len(xs)} fetches")
        else:
            print(f"fetch lateness {name}: no fetches recorded")
    if q and b:
        base = max(pct(q, 0.95), 1.0)        # a floor of 1 ms: a ratio of jitter means nothing
        print(f"RESULT daemon fetch lateness p95 under web load: {pct(b, 0.95):,.1f} ms vs "
              f"{pct(q, 0.95):,.1f} ms quiet ({pct(b, 0.95) / base:,.1f}×)")


# ---- main ------------------------------------------------------------------------------------

async def measure(base: str, proc: subprocess.Popen[bytes], mix: list[tuple[str, str]],
                  args: argparse.Namespace) -> tuple[dict[str, list[tuple[int, float]]],
                                                     tuple[float, float], tuple[float, float]]:
    up = await wait_up(base, proc)
    print(f"console answering after {up:.1f} s; logging in {args.sessions} sessions",
          flush=True)
    clients = [await logged_in(base) for _ in range(args.sessions)]
    try:
        await asyncio.sleep(3)                        # the first fetches after the start
        q0 = time.time()
        print(f"quiet: the daemon alone for {args.quiet:.0f} s", flush=True)
        await asyncio.sleep(args.quiet)
        q1 = b0 = time.time()
        print(f"load: {args.sessions} sessions for {args.seconds:.0f} s, each reading a page "
              f"for {args.think:g} s on average before the next"
              + (" (0: back to back, the server saturated)" if not args.think else ""),
              flush=True)
        results = await load(clients, mix, args.seconds, args.think)
        b1 = time.time()
    finally:
        for c in clients:
            await c.aclose()
    return results, (q0, q1), (b0, b1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean seconds a session spends on a page (0: back to back)")
    ap.add_argument("--quiet", type=float, default=12.0)
    ap.add_argument("--daemon", nargs=2, metavar=("CONFIG", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.daemon:
        return run_daemon(Path(args.daemon[0]), Path(args.daemon[1]))

    _, db, _ = ensure_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FeedServer() as srv, tempfile.TemporaryDirectory(dir=OUT, prefix="web-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        cfg = prepare(work, db, srv, port)
        print(f"copied the 1M-item database and made an account in "
              f"{time.perf_counter() - t:.1f} s; {FEEDS} local feeds every {INTERVAL:g} s",
              flush=True)
        mix = pages(work / "data" / "monitor.db")
        late_file = work / "late.json"
        env = dict(os.environ, YUQING_WEB_SECRET=SECRET)
        log = (work / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--daemon",
                                 str(cfg), str(late_file)], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            results, quiet, busy = asyncio.run(measure(base, proc, mix, args))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        report_pages(results, busy[1] - busy[0])
        late = [tuple(x) for x in json.loads(late_file.read_text())] if late_file.exists() \
            else []
        report_lateness(late, quiet, busy)  # type: ignore[arg-type]
        print(f"feed requests served: {len(srv.requests)}; daemon exit status "
              f"{proc.returncode}")
        said = (work / "daemon.log").read_text(encoding="utf-8", errors="replace")
        if proc.returncode != 0 or said.strip():     # only warnings and errors get there
            print("the daemon said (last lines):\n" + "\n".join(said.splitlines()[-15:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
