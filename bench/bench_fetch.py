"""Fetch-pass benchmark (standalone; prints figures, asserts nothing).

Target: one pass over 1,000 feeds in under 60 s and under 200 MB peak RSS on 2 cores.

A separate server process (asyncio, HTTP/1.1 keep-alive; its CPU and memory are not ours)
listens on 127.0.0.1 ... 127.0.0.20, one socket per address, and serves feed K at
``http://127.0.0.N:PORT/feed/K.xml``: 20 Chinese news items, about 30 KB (UTF-8 RSS,
undeclared GBK RSS and Atom, from bench_ingest.make_feed), gzip when asked, an ETag, and
304 to a matching If-None-Match. Each response waits ``--latency`` seconds first (a
stand-in for the round trip and the server's own time on the web). With ``--layout
blocks`` (default) each address serves 50 consecutive feeds, as a config lists a site's
feeds together; ``spread`` deals them out round robin. The server reports how many
requests were in flight at once, per address and in all: the per-host limit at work.

The real command runs against it: ``python -m monitor --config CFG fetch --json`` with a
config (the feeds, default fetch settings, the default ruleset) written to a temp dir. Measured: wall time and
peak RSS of that process (``os.wait4``), feeds ok, items stored; then a second pass in
which every feed answers 304. A pass still running at its deadline (the first: the 60 s
target; the second: when the bench has run ``--budget`` s) is stopped with SIGINT, and
the figures say how far it got and how long the whole pass would take at that rate.

    .venv/bin/python bench/bench_fetch.py [--feeds 1000] [--latency 0.05] [--layout blocks]

Feeds on 127.0.0.x are fetched because the host configured in a feed's URL is trusted by
the fetcher's private-network policy.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

HOSTS = 20
ITEMS = 20
BODY_CHARS = 310          # about 30 KB per feed with 20 items
TARGET_S = 60.0
TARGET_MB = 200.0


def host_of(k: int, n_feeds: int, layout: str) -> str:
    """``blocks``: feeds 0-49 on the first address, 50-99 on the next... (a site's feeds
    listed together, as an OPML import writes them); ``spread``: round robin."""
    i = k % HOSTS if layout == "spread" else k * HOSTS // n_feeds
    return f"127.0.0.{1 + i}"


# ---- the server (runs in its own process: ``bench_fetch.py --serve``) ----------------------

class _Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.status: Counter[int] = Counter()
        self.bytes = 0
        self.inflight: Counter[str] = Counter()
        self.max_inflight: Counter[str] = Counter()
        self.max_total = 0

    def to_json(self) -> dict[str, object]:
        return {"status": {str(k): v for k, v in self.status.items()}, "bytes": self.bytes,
                "max_inflight_per_host": max(self.max_inflight.values(), default=0),
                "max_inflight_total": self.max_total}


class _Http(asyncio.Protocol):
    """Just enough HTTP/1.1 for GET with keep-alive and pipelining-free clients."""

    def __init__(self, feeds: dict[int, tuple[bytes, bytes, str]], stats: _Stats,
                 latency: float) -> None:
        self.feeds, self.stats, self.latency = feeds, stats, latency
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.host = ""
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.host = transport.get_extra_info("sockname")[0]
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.queue.put_nowait(head)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _serve(self) -> None:
        while True:
            head = await self.queue.get()
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = [*lines[0].split(" "), "", ""][:3]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            st = self.stats
            if not path.startswith("/feed/"):  # /stats: no delay, not counted
                self._write(*self._respond(method, path, headers))
                continue
            st.inflight[self.host] += 1
            st.max_inflight[self.host] = max(st.max_inflight[self.host], st.inflight[self.host])
            st.max_total = max(st.max_total, sum(st.inflight.values()))
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
                status, extra, body = self._respond(method, path, headers)
            finally:
                st.inflight[self.host] -= 1
            st.status[status] += 1
            st.bytes += len(body)
            self._write(status, extra, body)

    def _write(self, status: int, extra: list[str], body: bytes) -> None:
        reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}.get(status, "X")
        out = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}",
               "Last-Modified: Mon, 10 Mar 2025 04:00:00 GMT", *extra]
        assert self.transport is not None
        self.transport.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)

    def _respond(self, method: str, path: str, headers: dict[str, str]
                 ) -> tuple[int, list[str], bytes]:
        if path.startswith("/stats"):
            body = json.dumps(self.stats.to_json()).encode()
            if "reset" in path:
                self.stats.reset()
            return 200, ["Content-Type: application/json"], body
        try:
            k = int(path.removeprefix("/feed/").removesuffix(".xml"))
            raw, gz, ctype = self.feeds[k]
        except (ValueError, KeyError):
            return 404, [], b"not found"
        etag = f'"feed-{k}-v1"'
        extra = [f"ETag: {etag}", f"Content-Type: {ctype}"]
        if headers.get("if-none-match") == etag:
            return 304, extra[:1], b""
        if "gzip" in headers.get("accept-encoding", ""):
            return 200, [*extra, "Content-Encoding: gzip", "Vary: Accept-Encoding"], gz
        return 200, extra, b"" if method == "HEAD" else raw


def serve(n_feeds: int, latency: float) -> None:
    from bench_ingest import make_feed

    feeds: dict[int, tuple[bytes, bytes, str]] = {}
    for k in range(n_feeds):
        raw, kind = make_feed(k, ITEMS, body_chars=BODY_CHARS)
        ctype = {"gbk": "application/rss+xml", "atom": "application/atom+xml; charset=utf-8"}.get(
            kind, "application/rss+xml; charset=utf-8")
        feeds[k] = (raw, gzip.compress(raw, 6), ctype)
    stats = _Stats()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers: list[asyncio.base_events.Server] = []
        for attempt in range(50):
            port = 20000 + (os.getpid() * 7 + attempt * 131) % 40000
            try:
                for i in range(1, HOSTS + 1):
                    servers.append(await loop.create_server(
                        lambda: _Http(feeds, stats, latency), f"127.0.0.{i}", port, backlog=512))
                break
            except OSError:
                for s in servers:
                    s.close()
                servers = []
        else:
            raise SystemExit("no free port on 127.0.0.1-20")
        raw_total = sum(len(v[0]) for v in feeds.values())
        gz_total = sum(len(v[1]) for v in feeds.values())
        print(f"READY {port} {raw_total} {gz_total}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()

    asyncio.run(main())


# ---- the driver ------------------------------------------------------------------------------

def stats(port: int, *, reset: bool = False) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/stats{'?reset' if reset else ''}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
    with opener.open(url, timeout=10) as r:
        return json.loads(r.read())


def write_config(tmp: Path, port: int, feeds: list[int], n_feeds: int, layout: str) -> Path:
    import tomli_w

    cfg = {
        "storage": {"path": "data/yuqing.db"},
        "logging": {"dir": "logs", "level": "WARNING"},
        # the default ruleset, so every new item is scored as in production
        "rules": {"dir": str(Path(__file__).resolve().parent.parent / "rules")},
        "fetch": {},  # defaults: concurrency 20, per host 2, timeout 30 s
        "feeds": [{"name": f"源{k:04d}", "url": f"http://{host_of(k, n_feeds, layout)}:{port}/feed/{k}.xml",
                   "interval": 900} for k in feeds],
    }
    path = tmp / "monitor.toml"
    path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    return path


def tree_rss_kib(pid: int) -> int:
    """Memory of ``pid`` and all its descendants (the parse worker processes), as the sum
    of their proportional set sizes: pages the processes share are counted once, not once
    per process as a sum of RSS would."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next((int(line.split()[1]) for line in f
                               if line.startswith("Pss:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_pass(config: Path, deadline: float) -> dict[str, Any]:
    """``yuqing fetch --json`` once: wall time, peak RSS, outcomes; or, when still running at
    ``deadline`` seconds (then stopped with SIGINT), how far it got."""
    out_path = config.parent / "out.json"
    err_path = config.parent / "err.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    since = datetime.now(UTC).replace(microsecond=0).isoformat()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config),
                                 "fetch", "--json"], stdout=out, stderr=err, cwd=config.parent,
                                env=env)
        stopped_at = None
        tree_peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree_peak = max(tree_peak, tree_rss_kib(proc.pid))
            elapsed = time.perf_counter() - start
            if stopped_at is None and elapsed > deadline:
                proc.send_signal(signal.SIGINT)
                stopped_at = elapsed
            elif stopped_at is not None and elapsed > stopped_at + 10:
                proc.kill()
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
    r: dict[str, Any] = {"wall": stopped_at or time.perf_counter() - start,
                         "rss_mb": usage.ru_maxrss / 1024, "tree_rss_mb": tree_peak / 1024,
                         "cpu": usage.ru_utime + usage.ru_stime,
                         "rc": proc.returncode, "stopped": stopped_at is not None}
    con = sqlite3.connect(config.parent / "data" / "yuqing.db")
    try:
        r["items"] = con.execute("SELECT count(*) FROM items").fetchone()[0]
        r["done"] = con.execute("SELECT count(*) FROM feeds WHERE last_checked_at >= ?",
                                [since]).fetchone()[0]
        r["ok_names"] = [n for (n,) in con.execute(
            "SELECT name FROM feeds WHERE ok = 1 AND last_checked_at >= ?", [since])]
        r["errors"] = Counter(k for (k,) in con.execute(
            "SELECT last_error_kind FROM feeds WHERE ok = 0 AND last_checked_at >= ?", [since]))
    finally:
        con.close()
    text = out_path.read_text(encoding="utf-8").strip()
    r["statuses"] = Counter()
    if text and not r["stopped"]:
        r["statuses"] = Counter(str(f["status"]) for f in json.loads(text)["feeds"])
    elif not r["stopped"]:
        r["stderr"] = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
    return r


def report(label: str, r: dict[str, Any], total: int, srv: dict[str, Any]) -> float:
    """Print one pass; returns its wall time (estimated for the whole pass when stopped)."""
    print(f"{label}: wall {r['wall']:.1f} s, peak RSS {r['rss_mb']:.0f} MiB (main process), "
          f"{r['tree_rss_mb']:.0f} MiB (PSS) with its parse workers, CPU {r['cpu']:.1f} s, "
          f"exit {r['rc']}")
    print(f"  server: statuses {srv['status']}, {srv['bytes'] / 1e6:.1f} MB sent, at most "
          f"{srv['max_inflight_per_host']} requests in flight per address and "
          f"{srv['max_inflight_total']} in all")
    errors = f"; failures {dict(r['errors'])}" if r["errors"] else ""
    if r["stopped"]:
        est = r["wall"] * total / r["done"] if r["done"] else float("inf")
        print(f"  stopped at the {r['wall']:.0f} s deadline: {r['done']} of {total} feeds done, "
              f"{r['items']:,} items in the database{errors}; at that rate the whole pass "
              f"would take ~{est:.0f} s")
        return est
    print(f"  feeds ok {len(r['ok_names'])} of {total} (HTTP {dict(r['statuses'])}), "
          f"{r['items']:,} items in the database{errors}")
    if r.get("stderr"):
        print("  stderr: " + r["stderr"].strip().replace("\n", "\n  "))
    return float(r["wall"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05, help="server delay per response, s")
    ap.add_argument("--layout", choices=("blocks", "spread"), default="blocks",
                    help="which address serves which feed (see host_of)")
    ap.add_argument("--deadline", type=float, default=TARGET_S,
                    help="stop the first pass after this many seconds (default: the target)")
    ap.add_argument("--budget", type=float, default=82.0,
                    help="stop the second pass when the whole bench has run this long")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.feeds, args.latency)
        return 0

    print("== 抓取一轮 fetch pass: yuqing fetch --json over loopback feeds ==")
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--feeds", str(args.feeds),
                               "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline().split()
        if not line or line[0] != "READY":
            print("server failed to start", file=sys.stderr)
            return 2
        port, raw_total, gz_total = int(line[1]), int(line[2]), int(line[3])
        print(f"server: {args.feeds} feeds on {HOSTS} addresses 127.0.0.1-{HOSTS} port {port} "
              f"(layout {args.layout}), {ITEMS} items each, avg {raw_total / args.feeds / 1024:.0f}"
              f" KB ({gz_total / args.feeds / 1024:.0f} KB gzipped), latency "
              f"{args.latency * 1000:.0f} ms; ready in {time.perf_counter() - t0:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp_s:
            tmp = Path(tmp_s)
            config = write_config(tmp, port, list(range(args.feeds)), args.feeds, args.layout)
            stats(port, reset=True)
            r1 = run_pass(config, args.deadline)
            wall1 = report("pass 1 (all new)", r1, args.feeds, stats(port, reset=True))

            ok = [int(n[1:]) for n in r1["ok_names"]]
            config2 = write_config(tmp, port, ok, args.feeds, args.layout)
            r2 = run_pass(config2, max(10.0, args.budget - (time.perf_counter() - t0)))
            wall2 = report(f"pass 2 (conditional GET, the {len(ok)} feeds fetched in pass 1)",
                           r2, len(ok), stats(port, reset=True))
        rss = max(float(r1["rss_mb"]), float(r1["tree_rss_mb"]))
        good = not r1["stopped"] and wall1 < TARGET_S and rss < TARGET_MB
        verdict = "达标 meets target" if good else "未达标 below target"
        est = " (estimated)" if r1["stopped"] else ""
        print(f"RESULT fetch: {args.feeds} feeds in {wall1:.1f} s{est}, peak RSS {rss:.0f} MiB (with parse workers);"
              f" target < {TARGET_S:.0f} s and < {TARGET_MB:.0f} MB: {verdict}. 304 pass over "
              f"{len(ok)} feeds {wall2:.1f} s{' (estimated)' if r2['stopped'] else ''}.")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
