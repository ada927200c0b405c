"""Outbox benchmark: 1,000 pending deliveries sent through the real outbox, against a bare
httpx loop posting the same bodies to the same server (standalone; prints figures,
asserts nothing).

The receiver runs in a process of its own (its work does not share our GIL) and both runs
post to it: by default a minimal asyncio HTTP/1.1 server that answers every POST ``200
{"ok": true}`` at once and counts the delivery ids it saw (so the figures are the
senders', not the receiver's); with ``--receiver robots`` the generic webhook of
``tests/receivers.py`` (``RobotReceiver``: parses and checks every body as a real
receiver would; httpx on our side is the slower end either way, the figures are alike).

- outbox: a fresh SQLite file (``Store``) with 1,000 ``pending`` webhook rows spread over
  50 recipients (50 targets: the Deliverer serves ``CONCURRENCY`` targets at once, each
  target's rows one by one), sent by ``Deliverer.deliver_due`` with its store calls on a
  worker thread as in the daemon (``Services.in_store``), passes repeated until nothing is
  pending. Includes the claim, each row's body and send, each attempt's record (``sent``
  committed before the next send on that target) and the log line per delivery, formatted
  by the daemon's formatter.
- baseline: an ``httpx.AsyncClient`` (same timeouts) posting the same 1,000 bodies with the
  same headers, ``CONCURRENCY`` requests in flight, nothing recorded.

Rounds are interleaved and the median ratio is reported (target: outbox ≥ 0.3× bare).
``--profile`` shows where the outbox's time goes: the store calls on the worker thread,
by the line of deliver.py that made them, then a cProfile of the event loop's thread.

    .venv/bin/python bench/bench_outbox.py [--rows 1000] [--targets 50] [--rounds 5]
                                           [--receiver fast|robots] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.alerts import deliver as deliver_module  # noqa: E402
from monitor.alerts.channels import webhook  # noqa: E402
from monitor.alerts.deliver import CONCURRENCY, Deliverer  # noqa: E402
from monitor.alerts.render import render_incident  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.logsetup import ChineseFormatter  # noqa: E402
from monitor.models import Incident  # noqa: E402
from monitor.store import Store  # noqa: E402

TARGET = 0.3
RECEIVERS = {"fast": "a minimal asyncio HTTP server",
             "robots": "tests/receivers.py (RobotReceiver)"}
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


_OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
       b'{"ok": true}')


def serve() -> None:
    """The fast receiver (``--serve``): prints its port, answers until stdin closes, then
    prints how many requests it answered and how many distinct delivery ids it saw."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                    elif name.lower() == b"x-yuqing-delivery":
                        seen.add(int(value))
                await reader.readexactly(length)
                counts[0] += 1
                writer.write(_OK)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        server.close()
        print(json.dumps({"requests": counts[0], "ids": len(seen)}), flush=True)

    seen: set[int] = set()
    counts = [0]
    asyncio.run(main())


def start_receiver(kind: str, tokens: list[str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    if kind == "fast":
        proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        return proc, {t: f"http://127.0.0.1:{port}/hook/{t}" for t in tokens}
    args = [sys.executable, str(ROOT / "tests" / "receivers.py")]
    for t in tokens:
        args += ["--robot", f"webhook:{t}"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, {t: info["urls"][f"webhook:{t}"] for t in tokens}


def stop_receiver(kind: str, proc: subprocess.Popen[str]) -> str:
    """Stop the receiver (the fast one stops when its stdin closes, the other on
    SIGTERM); returns what it printed last."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    if kind != "fast":
        proc.terminate()
    out = proc.stdout.read()
    proc.wait(10)
    return out.strip()


def write_config(tmp: Path, urls: dict[str, str]) -> Path:
    import tomli_w

    staff = [{"name": f"值班员{i:02d}", "webhook": url} for i, url in enumerate(urls.values())]
    data = {"storage": {"path": str(tmp / "monitor.db")}, "staff": staff,
            "logging": {"dir": str(tmp / "logs")}}
    path = tmp / "monitor.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def message() -> Any:
    inc = Incident(id=1, title="城南重点工程工地基坑坍塌 两名工人被困", category="安全生产",
                   level="orange", first_seen=NOW, last_seen=NOW, items=3, sources=3,
                   rules=["collapse"], categories=["安全生产"],
                   link="https://news.example/a/1", opened_at=NOW)
    return render_incident("opened", inc, [], sources=["区融媒体中心", "某某论坛", "网络问政"],
                           now=NOW)


def fill(store: Store, config: Any, rows: int) -> list[tuple[int, str, str]]:
    """``rows`` pending webhook rows, round-robin over the staff; returns (id, recipient,
    url) per row."""
    from monitor.alerts.channels import targets_of

    msg = message()
    staff = [(p.name, targets_of(p, config)[0]) for p in config.staff]
    out = []
    with store.tx():
        for i in range(rows):
            name, target = staff[i % len(staff)]
            rid = store.add_delivery(kind="opened", recipient=name, channel="webhook",
                                     message=msg, dedup_key=f"bench:{i}", due_at=NOW, now=NOW,
                                     incident_id=None, level="orange", target=target.key())
            assert rid is not None
            out.append((rid, name, target.address))
    return out


def client() -> httpx.AsyncClient:
    # the Deliverer's own client settings
    return httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=10.0), follow_redirects=False,
                             trust_env=False)


async def outbox_run(config_path: Path, rows: int, *, profile: cProfile.Profile | None = None,
                     store_times: dict[str, tuple[int, float]] | None = None
                     ) -> tuple[float, int]:
    """Seconds to send ``rows`` through the outbox (a fresh database each time);
    ``store_times``: where each store call came from -> (calls, seconds on the worker)."""
    config = load_config(config_path)
    if config.storage.path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(config.storage.path) + suffix).unlink(missing_ok=True)
    store = Store(config.storage.path)
    fill(store, config, rows)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuqing-work")

    async def in_store(fn: Any, *args: Any) -> Any:   # as Services.in_store
        if store_times is None:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

        def timed() -> Any:
            t = time.perf_counter()
            try:
                return fn(*args)
            finally:
                where = f"{Path(fn.__code__.co_filename).name}:{fn.__code__.co_firstlineno}"
                calls, total = store_times.get(where, (0, 0.0))
                store_times[where] = (calls + 1, total + time.perf_counter() - t)

        t0 = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, timed)
        finally:
            calls, total = store_times.get("(awaited on the loop)", (0, 0.0))
            store_times["(awaited on the loop)"] = (calls + 1, total + time.perf_counter() - t0)

    deliverer = Deliverer(config, store, clock=lambda: NOW, in_store=in_store)
    passes = 0
    try:
        if profile is not None:
            profile.enable()
        t0 = time.perf_counter()
        while True:
            result = await deliverer.deliver_due()
            passes += 1
            if not (result.sent or result.retried or result.deferred):
                break
        elapsed = time.perf_counter() - t0
        if profile is not None:
            profile.disable()
        sent = len(store.deliveries_with_status("sent"))
        assert sent == rows, f"only {sent} of {rows} sent: {result.errors[:3]}"
    finally:
        await deliverer.aclose()
        executor.shutdown(wait=True)
        store.close()
    return elapsed, passes - 1


async def bare_run(bodies: list[tuple[str, bytes, dict[str, str]]]) -> float:
    """Seconds to post the same bodies, ``CONCURRENCY`` at a time, recording nothing."""
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    async with client() as http:
        async def worker() -> None:
            while not queue.empty():
                url, body, headers = queue.get_nowait()
                r = await http.post(url, content=body, headers=headers)
                assert r.status_code == 200, r.text

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - t0


def bare_bodies(rows: list[tuple[int, str, str]]) -> list[tuple[str, bytes, dict[str, str]]]:
    from monitor.alerts.channels import SendContext
    from monitor.config import SmtpConfig

    msg = message()
    out = []
    for rid, _name, url in rows:
        ctx = SendContext(http=None, smtp=SmtpConfig(), smtp_password=None,  # type: ignore[arg-type]
                          now=NOW, delivery_id=rid)
        out.append((url, webhook.body_of(msg, ctx),
                    {"Content-Type": "application/json; charset=utf-8",
                     webhook.DELIVERY_HEADER: str(rid)}))
    return out


def profile(config_path: Path, rows: int) -> None:
    """Where the outbox's time goes: the store calls on the worker thread (by the line of
    deliver.py that made them), then cProfile of the event loop's thread."""
    times: dict[str, tuple[int, float]] = {}
    elapsed, _ = asyncio.run(outbox_run(config_path, rows, store_times=times))
    lines = Path(deliver_module.__file__).read_text("utf-8").splitlines()
    print(f"\nstore calls during one outbox run of {elapsed:.2f} s (worker thread; "
          "calls, seconds, µs per delivery):")
    for where, (calls, total) in sorted(times.items(), key=lambda kv: -kv[1][1]):
        name, _, line = where.partition(":")
        code = lines[int(line) - 1].strip() if name == "deliver.py" else ""
        print(f"  {where:24} {calls:6d} {total:7.3f} s {total / rows * 1e6:7.0f} µs  {code[:70]}")
    prof = cProfile.Profile()
    asyncio.run(outbox_run(config_path, rows, profile=prof))
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
    print("\ncProfile of the event loop's thread (by own time):")
    print(out.getvalue())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--receiver", choices=("fast", "robots"), default="fast")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve()
        return 0
    # the daemon logs one INFO line per delivery through its formatter (which redacts
    # URLs and secrets); keep that cost, off screen
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(ChineseFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])

    tokens = [f"bench-{i:02d}-5f0c9e7a3b1d" for i in range(args.targets)]
    receiver, urls = start_receiver(args.receiver, tokens)
    try:
        with tempfile.TemporaryDirectory(prefix="yuqing-bench-outbox-") as d:
            tmp = Path(d)
            config_path = write_config(tmp, urls)
            config = load_config(config_path)
            store = Store(tmp / "bodies.db")
            bodies = bare_bodies(fill(store, config, args.rows))
            store.close()
            print(f"{args.rows} webhook deliveries to {args.targets} recipients (one webhook each), "
                  f"Deliverer CONCURRENCY={CONCURRENCY}, body {len(bodies[0][1])} bytes; "
                  f"receiver: {RECEIVERS[args.receiver]}, in its own process")
            asyncio.run(bare_run(bodies[:100]))               # warm up both paths
            asyncio.run(outbox_run(config_path, 100))
            outbox_t, bare_t, ratios = [], [], []
            for _ in range(args.rounds):
                t_out, passes = asyncio.run(outbox_run(config_path, args.rows))
                t_bare = asyncio.run(bare_run(bodies))
                outbox_t.append(t_out)
                bare_t.append(t_bare)
                ratios.append(t_bare / t_out)
            o_rate = args.rows / statistics.median(outbox_t)
            b_rate = args.rows / statistics.median(bare_t)
            ratio = statistics.median(ratios)
            print(f"bare httpx.AsyncClient, {CONCURRENCY} in flight: {b_rate:,.0f} deliveries/s")
            print(f"outbox (Store + Deliverer.deliver_due, {passes} pass(es)): "
                  f"{o_rate:,.0f} deliveries/s")
            mark = "" if ratio >= TARGET else "  未达标 / below target"
            print(f"RESULT ratio outbox / bare: {ratio:.2f}× (median of {args.rounds} "
                  f"interleaved rounds; target ≥ {TARGET}×){mark}")
            if args.profile:
                profile(config_path, args.rows)
    finally:
        seen = stop_receiver(args.receiver, receiver)
    if args.receiver == "fast":
        print(f"receiver: {seen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
