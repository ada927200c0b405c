"""Nothing from a feed reaches a terminal raw: a hostile JSON Feed is fetched over real HTTP
and listed under a real pty; the bytes the terminal receives carry no control character,
and bidi controls are shown as visible text."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tty
from datetime import UTC, datetime
from pathlib import Path

from monitor.models import ParsedItem
from monitor.parse import parse_feed
from monitor.parse.finish import finish_item
from monitor.rulekeeper import RuleKeeper
from monitor.score import Scorer
from monitor.store import Store
from monitor.terminal import show

from support import ROOT, Cli, run_yuqing, write_config

ESC, BEL, CSI = "\x1b", "\x07", "\u009b"
HOSTILE = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": f"{ESC}]0;被改的窗口标题{BEL}恶意源",
    "items": [
        {"id": f"evil-1{ESC}[2J", "url": f"http://x.example/a{ESC}]52;c;QkFTRTY0{BEL}",
         "title": "地铁施工\u202egpj.exe通知", "content_text": f"正文{CSI}31m施工",
         "authors": [{"name": f"记者{ESC}[31m"}], "date_published": "2024-03-10T09:30:00+08:00"},
        {"id": "evil-2", "url": f"http://x.example/b{ESC}[2J{CSI}2J\r\nSet-Cookie",
         "title": "施工噪音\u2066扰民\u2069\u200f", "content_text": "夜间施工",
         "date_published": "2024-03-09T09:30:00+08:00"},
    ],
}
# what a terminal must never receive: C0 but tab/line feed, DEL, C1 (ESC is 0x1b)
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def run_in_pty(*args: str, timeout: float = 60) -> tuple[int, str]:
    """``python -m monitor ARGS`` with a pty as its terminal; returns what the terminal got.

    The pty is raw (no output processing), so we see exactly the bytes the program wrote:
    not even the CR that a cooked terminal adds before each line feed."""
    master, slave = os.openpty()
    tty.setraw(slave)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            assert ready, "the program wrote nothing in time"
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the program exited and closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8")  # strict: no stray bytes either


def _assert_safe(out: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in FORBIDDEN.findall(out)})
    assert not bad, (bad, out)
    assert not BIDI.search(out), out


def test_hostile_feed_reaches_the_terminal_harmless(tmp_path, httpserver):
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(HOSTILE), content_type="application/feed+json")
    config = write_config(tmp_path, feeds=[{"name": "恶意源", "url": httpserver.url_for("/feed.json")}])
    r = run_yuqing("--config", str(config), "fetch")
    assert r.returncode == 0 and "新增 2 条" in r.stdout, r.stdout + r.stderr

    code, out = run_in_pty("--config", str(config), "items", "list")
    assert code == 0, out
    _assert_safe(out)
    assert "地铁施工<U+202E>gpj.exe通知" in out
    assert "施工噪音<U+2066>扰民<U+2069><U+200F>" in out
    assert "http://x.example/a]52;c;QkFTRTY0" in out  # the link is kept, cleaned
    assert "http://x.example/b[2J2JSet-Cookie" in out

    code, out = run_in_pty("--config", str(config), "items", "search", "施工")
    assert code == 0, out
    # on a terminal the matched words are coloured: exactly our own codes around 〖…〗;
    # anything else the feed tried to send is still found
    ours = re.compile("\x1b\\[31m\x1b\\[1m(〖[^〗\x1b]*〗)\x1b\\[0m")
    assert ours.search(out), out
    _assert_safe(ours.sub(r"\1", out))
    assert "<U+202E>" in out and "<U+2066>" in out

    # JSON keeps the text as stored (no controls were stored; the bidi marks are text)
    rows = Cli(config).json("items", "list")
    assert {r["title"] for r in rows} == {"地铁施工\u202egpj.exe通知", "施工噪音\u2066扰民\u2069\u200f"}
    for row in rows:
        assert not FORBIDDEN.search(json.dumps(row, ensure_ascii=False)), row


def test_every_stored_field_is_cleaned_and_links_checked_after_cleaning():
    feed = parse_feed(json.dumps(HOSTILE).encode(), content_type="application/feed+json",
                      base_url="http://x.example/feed.json")
    assert feed.title == "]0;被改的窗口标题恶意源"
    for item in feed.items:
        for value in (item.title, item.body, item.author, item.link, item.guid):
            assert value is None or not FORBIDDEN.search(value.replace("\n", "")), value
    assert feed.items[0].guid == "evil-1[2J" and feed.items[0].author == "记者[31m"
    # a scheme hidden behind a control character is seen once the control is gone
    sneaky = ParsedItem(guid="g", link=f"java{ESC}script:alert(1)", title="t", body="")
    assert finish_item(sneaky).link is None
    kept = ParsedItem(guid="g", link=f"https://x.example/{ESC}[0m", title=f"a\tb{BEL}\nc", body="")
    assert finish_item(kept).link == "https://x.example/[0m" and kept.title == "a b c"


def _rules_dir(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    (d / "r.yaml").write_text("""- id: noise
  name: 施工噪音
  category: 环境
  level: blue
  weight: 30
  words:
    事件: [施工]
""", "utf-8")
    return d


def test_rules_test_and_items_scored_show_bidi_controls(tmp_path):
    config = write_config(tmp_path, rules_dir=_rules_dir(tmp_path))
    cli = Cli(config)
    r = cli("rules", "test", "--title", "夜间\u202e施工\u202c扰民")
    assert r.exit_code == 0, r.output
    assert "夜间<U+202E>〖施工〗<U+202C>扰民" in r.output and not BIDI.search(r.output)
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with Store(tmp_path / "data" / "monitor.db") as store:
        stored = store.store_items("f", [ParsedItem(guid="1", link=None, title="\u2067施工\u2069",
                                                    body="夜间\u202e施工")], now=now)
        keeper = RuleKeeper(tmp_path / "rules", store)
        keeper.load(now=now)
        Scorer(store, keeper).score_items([s.id for s in stored], now)
    r = cli("items", "scored")
    assert r.exit_code == 0, r.output
    assert "<U+2067>〖施工〗<U+2069>" in r.output and "夜间<U+202E>〖施工〗" in r.output
    assert not BIDI.search(r.output)


def test_show():
    assert show("正常标题 abc") == "正常标题 abc"
    assert show(None) == "" and show("") == ""
    assert show("a\u202eb\u061cc\u200e") == "a<U+202E>b<U+061C>c<U+200E>"
    # controls stored before they were cleaned are not sent raw either
    assert show(f"x{ESC}[2J{CSI}\r\ty\n") == "x<U+001B>[2J<U+009B><U+000D>\ty\n"
