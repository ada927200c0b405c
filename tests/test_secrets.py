"""Secrets planted in feed URLs never reach a person: `feeds status` (human and JSON),
`config check --dump`, `feeds export` (unless --include-secrets), fetch errors and logs."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from monitor.redact import redact_url

from support import Cli, run_yuqing, wait_for, write_config

BASE = "http://127.0.0.1:1"
# One planted secret per place a URL can carry one; every value is unique in the output.
PLANTED = [
    ("口令", BASE.replace("//", "//reader:PLANTED01pw@") + "/a.xml"),
    ("纯令牌", BASE.replace("//", "//PLANTED02tokenonly@") + "/b.xml"),
    ("令牌", f"{BASE}/c.xml?page=2&token=PLANTED03tk"),
    ("密码", f"{BASE}/d.xml?id=5&password=PLANTED04pw"),
    ("认证", f"{BASE}/e.xml?auth=PLANTED05au"),
    ("签名", f"{BASE}/f.xml?signature=PLANTED06sg&ts=1"),
    ("apikey", f"{BASE}/g.xml?apikey=PLANTED07ak"),
    ("api_key", f"{BASE}/h.xml?api_key=PLANTED08ak"),
    ("access_key", f"{BASE}/i.xml?access_key=PLANTED09ak"),
    ("sig", f"{BASE}/j.xml?sig=PLANTED10sg"),
    ("ticket", f"{BASE}/k.xml?ticket=PLANTED11tk&session=PLANTED12ss"),
    ("一次编码", f"{BASE}/l.xml?url=https%3A%2F%2Fy.org%2F%3Ftoken%3DPLANTED13nu"),
    ("两次编码", f"{BASE}/m.xml?url=https%253A%252F%252Fy.org%252F%253Fsid%253DPLANTED14nu"),
    ("飞书", f"{BASE}/open-apis/bot/v2/hook/PLANTED15-feishu-0a1b2c3d"),
    ("片段", f"{BASE}/n.xml?code=PLANTED16cd#access_token=PLANTED17fr"),
]
SECRETS = [f"PLANTED{n:02d}" for n in range(1, 18)]


def _deployment(tmp_path: Path, **extra: Any) -> Path:
    return write_config(tmp_path, feeds=[{"name": n, "url": u} for n, u in PLANTED], extra=extra)


def _assert_clean(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, (leaked, text)


def test_planted_urls_are_valid_feeds_carrying_every_secret(tmp_path):
    config = _deployment(tmp_path)
    text = config.read_text("utf-8")
    assert all(s in text for s in SECRETS)
    assert Cli(config)("config", "check").exit_code == 0


def test_feeds_status_hides_secrets_but_shows_where_feeds_point(tmp_path):
    cli = Cli(_deployment(tmp_path))
    r = cli("feeds", "status", "--json")
    assert r.exit_code == 0, r.output
    _assert_clean(r.stdout)
    rows = json.loads(r.stdout)
    assert [row["url"] for row in rows] == [redact_url(u) for _, u in PLANTED]
    by = {row["name"]: row["url"] for row in rows}
    assert by["令牌"] == f"{BASE}/c.xml?page=2&token=***"
    assert by["飞书"] == f"{BASE}/open-apis/bot/v2/hook/***"
    r = cli("feeds", "status")
    assert r.exit_code == 0
    _assert_clean(r.output)


def test_config_dump_hides_every_planted_secret(tmp_path):
    robots = {"name": "值班群", "webhook": f"{BASE}/hook?sig=PLANTED01pw",
              "feishu": {"webhook": "https://open.feishu.cn/open-apis/bot/v2/hook/PLANTED02tokenonly"},
              "dingtalk": {"webhook": "https://oapi.dingtalk.com/robot/send?access_token=PLANTED03tk"}}
    config = _deployment(tmp_path, staff=[robots],
                         fetch={"proxy": "http://proxy:PLANTED04pw@127.0.0.1:3128"})
    r = Cli(config)("config", "check", "--dump")
    assert r.exit_code == 0, r.output
    _assert_clean(r.output)
    dumped = tomllib.loads(r.stdout)
    assert [f["url"] for f in dumped["feeds"]] == [redact_url(u) for _, u in PLANTED]
    assert dumped["fetch"]["proxy"] == "http://proxy:***@127.0.0.1:3128"


def test_feeds_export_hides_secrets_unless_asked_and_full_export_reimports(tmp_path):
    cli = Cli(_deployment(tmp_path))
    r = cli("feeds", "export")
    assert r.exit_code == 0, r.output
    _assert_clean(r.stdout)
    assert f"{BASE}/c.xml?page=2&amp;token=***" in r.stdout
    assert "已隐去" in r.stderr and "--include-secrets" in r.stderr
    hidden = tmp_path / "hidden.opml"
    assert cli("feeds", "export", "-o", str(hidden)).exit_code == 0
    _assert_clean(hidden.read_text("utf-8"))

    full = tmp_path / "full.opml"
    r = cli("feeds", "export", "--include-secrets", "-o", str(full))
    assert r.exit_code == 0, r.output
    text = full.read_text("utf-8")
    assert all(s in text for s in SECRETS)
    assert "已隐去" not in r.output
    other = write_config(tmp_path / "other")
    r = Cli(other)("feeds", "import", str(full))
    assert r.exit_code == 0, r.output
    assert [f["url"] for f in tomllib.loads(other.read_text("utf-8"))["feeds"]] == \
        [u for _, u in PLANTED]


def test_redacted_export_is_not_imported_as_broken_feeds(tmp_path):
    plain = f"{BASE}/plain.xml?page=2"
    config = write_config(tmp_path, feeds=[{"name": "无密钥", "url": plain}]
                          + [{"name": n, "url": u} for n, u in PLANTED])
    hidden = tmp_path / "hidden.opml"
    assert Cli(config)("feeds", "export", "-o", str(hidden)).exit_code == 0
    other = write_config(tmp_path / "other")
    r = Cli(other)("feeds", "import", str(hidden))
    assert r.exit_code == 0, r.output
    # the feed without secrets comes across; the others are named with the reason
    assert [f["url"] for f in tomllib.loads(other.read_text("utf-8"))["feeds"]] == [plain]
    assert r.stderr.count("--include-secrets") == len(PLANTED)
    assert f"无效 {len(PLANTED)} 个" in r.stdout
    _assert_clean(r.output)


def _failing(httpserver) -> list[dict[str, str]]:
    """A server error, a redirect loop (its message names the URL) and a refused port."""
    httpserver.expect_request("/500.xml").respond_with_data("boom", status=500)
    loop = httpserver.url_for("/loop.xml") + "?page=1&sig=PLANTED01pw&password=PLANTED02tokenonly"
    httpserver.expect_request("/loop.xml").respond_with_data("", status=302,
                                                             headers={"Location": loop})
    return [
        {"name": "坏源", "url": httpserver.url_for("/500.xml") + "?auth=PLANTED03tk&ticket=PLANTED04pw"},
        {"name": "循环", "url": loop},
        {"name": "拒绝", "url": "http://127.0.0.1:1/x.xml?apikey=PLANTED05au"},
    ]


def test_fetch_failures_keep_tokens_out_of_errors_status_and_debug_log(tmp_path, httpserver):
    config = write_config(tmp_path, feeds=_failing(httpserver))
    r = run_yuqing("--config", str(config), "--debug", "fetch", "--json")
    assert r.returncode == 1, r.stderr  # the feeds failed
    doc = json.loads(r.stdout)
    assert [f["ok"] for f in doc["feeds"]] == [False, False, False]
    assert "重定向循环" in doc["feeds"][1]["error"] and "sig=***" in doc["feeds"][1]["error"]
    assert "抓取失败" in r.stderr  # the debug log went to stderr
    _assert_clean(r.stdout + r.stderr)
    r = run_yuqing("--config", str(config), "feeds", "status", "--json")
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert "重定向循环" in rows["循环"]["last_error"]
    _assert_clean(r.stdout)
    r = run_yuqing("--config", str(config), "feeds", "status")
    assert "连续失败 1 次" in r.stdout
    _assert_clean(r.stdout + r.stderr)


def test_daemon_log_file_has_no_tokens(tmp_path, httpserver):
    config = write_config(tmp_path, feeds=_failing(httpserver),
                          extra={"fetch": {"startup_spread": "1s"},
                                 "logging": {"dir": "../logs", "level": "DEBUG"}})
    log = tmp_path / "logs" / "yuqing.log"
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: log.exists() and log.read_text("utf-8").count("抓取失败 feed=") >= 6)
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=10)
    out = log.read_text("utf-8")
    assert "重定向循环" in out and "feed=循环" in out
    _assert_clean(out + stdout + stderr)
