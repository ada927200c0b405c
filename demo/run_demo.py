"""`make demo`: serve the bundled sample feeds on 127.0.0.1, run the daemon against them,
and show what it fetched (and how the rules scored it).

Everything happens under demo/work/ (recreated on each run); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import functools
import html
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

HERE = Path(__file__).resolve().parent
FEEDS = HERE / "feeds"
WORK = HERE / "work"

TRAPS = ("演练", "演习", "和服务", "招聘")

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
    opml = WORK / "demo-feeds.opml"
    outlines = "\n".join(
        f'    <outline type="rss" text="{html.escape(name)}" xmlUrl="{base}/{file}"/>'
        for name, file, _ in feeds)
    opml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head>'
                    f"<title>演示订阅源</title></head><body>\n{outlines}\n</body></opml>\n",
                    encoding="utf-8")
    yuqing("feeds", "import", str(opml), "--interval", "1m", config=config)
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
    scored = yuqing("items", "scored", "--min-level", "blue", "--limit", "100", config=config)
    print("\n== 规则命中：一般（蓝）及以上，按得分排序，〖〗内为命中词 ==")
    print(scored.stdout.rstrip())
    alerting = {r["id"] for r in json.loads(yuqing(
        "items", "scored", "--min-level", "blue", "--limit", "1000", "--json",
        config=config).stdout)}
    everything = json.loads(yuqing("items", "list", "--limit", "1000", "--json",
                                   config=config).stdout)
    traps = [r for r in everything if r["id"] not in alerting
             and any(w in r["title"] + r["body"] for w in TRAPS)]
    print("\n== 干扰项：含“演练”“演习”“和服务”“招聘”等字样，但没有触发告警级别的规则 ==")
    for r in traps:
        print(f"  · {r['title']}")
    print(f"\n演示数据在 {WORK}；可继续尝试：")
    print(f"  .venv/bin/yuqing --config {config} items search 施工")
    print(f"  .venv/bin/yuqing --config {config} rules test --title '某工地农民工讨薪'")
    if not ok:
        print("\n有订阅源没有抓到条目，请查看上面的状态。", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
