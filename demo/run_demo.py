"""`make demo`: serve the bundled sample feeds on 127.0.0.1, run the daemon against them,
and show what it fetched (and how the rules scored it).

Everything happens under demo/work/ (recreated on each run); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import tomli_w

HERE = Path(__file__).resolve().parent
FEEDS = HERE / "feeds"
WORK = HERE / "work"

CONTENT_TYPES = {
    ".xml": "application/rss+xml",      # no charset: the GBK feed must be detected
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
}


class FeedHandler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return CONTENT_TYPES.get(Path(path).suffix, "application/octet-stream")

    def log_message(self, format: str, *args: object) -> None:  # keep the demo output clean
        pass


def start_server() -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(FeedHandler, directory=str(FEEDS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def yuqing(*args: str, config: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args],
                          capture_output=True, text=True, check=check)


def feed_list() -> list[tuple[str, str, str]]:
    """(name, file, note) of every sample feed, from ``feeds/manifest.json``."""
    manifest = json.loads((FEEDS / "manifest.json").read_text("utf-8"))
    return [(e["name"], e["file"], e.get("note", "")) for e in manifest]


def main() -> int:
    print("== yuqing-monitor 演示 ==")
    server, base = start_server()
    print(f"本地示例订阅源服务：{base}/（目录 {FEEDS.relative_to(HERE.parent)}）")
    if WORK.exists():
        shutil.rmtree(WORK)
    subprocess.run([sys.executable, "-m", "monitor", "init", str(WORK)], check=True,
                   capture_output=True, text=True)
    config = WORK / "config" / "monitor.toml"
    feeds = feed_list()
    with config.open("a", encoding="utf-8") as fh:
        fh.write("\n# 以下订阅源由 make demo 添加，指向本机的示例服务\n")
        fh.write(tomli_w.dumps({"feeds": [
            {"name": name, "url": f"{base}/{file}", "interval": "1m"}
            for name, file, _ in feeds]}))
    print(f"已生成演示部署：{WORK.relative_to(HERE.parent)}（{len(feeds)} 个订阅源）")
    print(yuqing("config", "check", config=config).stdout.strip())

    print("\n启动守护进程 yuqing run …")
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    status: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        time.sleep(1)
        status = json.loads(yuqing("feeds", "status", "--json", config=config).stdout)
        if status and all(s["last_checked_at"] for s in status):
            break
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    server.shutdown()
    print(f"守护进程已停止（退出码 {proc.returncode}）\n")

    print("== 订阅源状态 ==")
    print(yuqing("feeds", "status", config=config).stdout.rstrip())
    print("\n== 抓取到的条目 ==")
    ok = True
    for name, _, note in feeds:
        rows = json.loads(yuqing("items", "list", "--feed", name, "--limit", "100", "--json",
                                 config=config).stdout)
        print(f"\n【{name}】（{note}）{len(rows)} 条")
        ok = ok and bool(rows)
        for r in rows:
            print(f"  · {r['title']}")
    scored = yuqing("items", "scored", "--limit", "100", config=config, check=False)
    if scored.returncode == 0 and scored.stdout.strip():
        print("\n== 规则命中（按分数排序，〖〗内为命中词） ==")
        print(scored.stdout.rstrip())
    print(f"\n演示数据在 {WORK}；可继续尝试：")
    print(f"  .venv/bin/yuqing --config {config} items search 施工")
    print(f"  .venv/bin/yuqing --config {config} rules test --title '某工地农民工讨薪'")
    if not ok:
        print("\n有订阅源没有抓到条目，请查看上面的状态。", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
