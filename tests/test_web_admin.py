"""The feeds and rules pages: everyone reads, only an admin changes anything. Feed edits go
into the config file with its comments kept, validated first and never with a redacted
secret; rule edits are checked as the whole directory (``file:line`` problems), backtested
against the rules on disk, saved atomically or refused with the old file intact; file
names in URLs stay inside the rules directory."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.models import ParsedItem

import webkit
from support import ALERT_RULES
from webkit import CSRF, Web

web = webkit.web   # the fixture: the console on the seeded database

CONFIG = """\
# 舆情监测配置 KEEP-TOP
[storage]
path = "../data/monitor.db"

[rules]
dir = "../rules"

[logging]
dir = "../logs"

# 订阅源：每个 [[feeds]] 一个 KEEP-FEEDS
[[feeds]]
name = "甲源"
url = "http://127.0.0.1:9/a.xml"  # KEEP-INLINE
interval = "15m"

[[feeds]]
name = "乙源"
url = "http://127.0.0.1:9/b.xml"

[[feeds]]
name = "停用源"
url = "http://127.0.0.1:9/c.xml"
enabled = false

[[feeds]]
name = "密钥源"
url = "https://news.example.org/rss?token=PLANTED123"
headers = { Authorization = "Bearer PLANTED456" }

[[staff]]
name = "张三"
email = "zs@example.org"

[[staff]]
name = "李四"
email = "ls@example.org"

# 控制台 KEEP-WEB
[web]
enabled = true
base_url = "https://yuqing.example.org"
"""
SECRETS = ("PLANTED123", "PLANTED456")
XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
RULE_FILE = "10-安全生产.yaml"
BROKEN_YAML = "- id: collapse\n  name: 坍塌\n  words: [unclosed\n"
BAD_SCHEMA = ALERT_RULES.replace("level: red", "level: purple")


@pytest.fixture
def w(web: Web) -> Web:
    """The console over the commented config above, with rules in its rules directory."""
    web.cfg_path.write_text(CONFIG, encoding="utf-8")
    web.ctx.config = load_config(web.cfg_path)
    web.store.sync_feeds(web.ctx.config.feeds, now=web.now)
    web.store.record_failure("密钥源", now=web.now - timedelta(hours=1), kind="http_status",
                             error="HTTP 403 https://news.example.org/rss?token=PLANTED123 "
                                   "(Bearer PLANTED456)",
                             next_check_at=web.now + timedelta(minutes=10), status=403)
    (rules_dir(web) / RULE_FILE).write_text(ALERT_RULES, encoding="utf-8")
    return web


def rules_dir(w: Web) -> Path:
    return w.ctx.config.rules.dir


def form_csrf(page: str) -> str:
    m = CSRF.search(page)
    assert m
    return m.group(1)


def post_form(w: Web, c: Any, path: str, data: dict[str, Any], form_page: str | None = None
              ) -> Any:
    return w.post(c, path, data, form_page=form_page or path)


def feed_table(w: Web, name: str) -> dict[str, Any]:
    import tomllib

    doc = tomllib.loads(w.cfg_path.read_text(encoding="utf-8"))
    found = [f for f in doc["feeds"] if f["name"] == name]
    assert len(found) == 1, found
    return found[0]


FEED_KINDS = ["feed.added", "feed.edited", "feed.disabled", "feed.enabled"]


def events(w: Web, kind: str) -> list[tuple[str, str | None, str]]:
    """The console's audit events of ``kind`` (``feed.``: its feed changes only)."""
    kinds = FEED_KINDS if kind == "feed." else [kind]
    return [(e.kind, e.subject, e.actor) for e in w.store.list_log(kinds=kinds)]


def add_item(w: Web, title: str, body: str = "", days_ago: float = 1) -> None:
    when = w.now - timedelta(days=days_ago)
    w.store.store_items("甲源", [ParsedItem(guid=title, link=f"http://news.example/{title}",
                                           title=title, body=body, published_at=when)],
                        now=when)


# ---- who may do what ---------------------------------------------------------------------

READ_PAGES = ["/feeds", "/rules", "/rules/test", "/rules/versions"]
ADMIN_PAGES = ["/feeds/new", "/feeds/甲源/edit", "/rules/new", f"/rules/{RULE_FILE}/edit"]


def admin_posts() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/feeds/new", {"name": "新源", "url": "http://127.0.0.1:9/n.xml", "interval": "1h",
                        "enabled": "on"}),
        ("/feeds/甲源/edit", {"name": "甲源", "url": "http://127.0.0.1:9/x.xml",
                             "interval": "1h", "enabled": "on"}),
        ("/feeds/甲源/disable", {}),
        ("/feeds/停用源/enable", {}),
        ("/rules/new", {"name": "20-新.yaml", "text": ALERT_RULES.replace("id: ", "id: n-"),
                        "action": "save"}),
        (f"/rules/{RULE_FILE}/edit", {"text": ALERT_RULES.replace("weight: 50", "weight: 60"),
                                      "action": "save", "base": "x"}),
    ]


@pytest.mark.parametrize("user", ["张三", "王五", "赵六"])
def test_everyone_reads_the_feeds_and_rules_pages(w: Web, user: str) -> None:
    c = w.client(user)
    for path in READ_PAGES:
        r = c.get(path)
        assert r.status_code == 200, (path, r.text)
    assert "甲源" in c.get("/feeds").text and "collapse" in c.get("/rules").text
    r = post_form(w, c, "/rules/test", {"title": "工地坍塌", "body": ""})
    assert r.status_code == 200 and "<mark>坍塌</mark>" in r.text
    listing = c.get("/feeds").text
    admin = user == "王五"
    assert ('href="/feeds/new"' in listing) is admin
    assert ("/disable" in listing) is admin
    assert ('.yaml/edit"' in c.get("/rules").text) is admin
    assert ('href="/rules/new"' in c.get("/rules").text) is admin


@pytest.mark.parametrize("user", ["张三", "赵六"])
def test_only_an_admin_changes_anything(w: Web, user: str) -> None:
    c = w.client(user)
    for path in ADMIN_PAGES:
        r = c.get(path)
        assert r.status_code == 403 and "权限不足" in r.text, path
    config_before = w.cfg_path.read_bytes()
    rule_before = (rules_dir(w) / RULE_FILE).read_bytes()
    for path, data in admin_posts():
        r = post_form(w, c, path, data, form_page="/feeds")
        assert r.status_code == 403 and "权限不足" in r.text, path
    assert w.cfg_path.read_bytes() == config_before
    assert (rules_dir(w) / RULE_FILE).read_bytes() == rule_before
    assert not (rules_dir(w) / "20-新.yaml").exists()
    assert events(w, "feed.") == [] and events(w, "rules.edited") == []


def test_the_admin_opens_every_admin_page(w: Web) -> None:
    c = w.client("王五")
    for path in ADMIN_PAGES:
        r = c.get(path)
        assert r.status_code == 200 and 'name="csrf"' in r.text, path
    assert '<textarea name="text" class="code"' in c.get(f"/rules/{RULE_FILE}/edit").text


def test_anonymous_visitors_go_to_the_login(w: Web) -> None:
    c = w.client()
    for path in READ_PAGES + ADMIN_PAGES:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_a_post_without_csrf_is_refused_and_changes_nothing(w: Web) -> None:
    c = w.client("王五")
    config_before = w.cfg_path.read_bytes()
    rule_before = (rules_dir(w) / RULE_FILE).read_bytes()
    for path, data in admin_posts():
        r = c.post(path, data=data)
        assert r.status_code == 403 and "表单令牌" in r.text, path
        r = c.post(path, data={**data, "csrf": "forged"})
        assert r.status_code == 403, path
    assert w.cfg_path.read_bytes() == config_before
    assert (rules_dir(w) / RULE_FILE).read_bytes() == rule_before
    assert events(w, "feed.") == [] and events(w, "rules.edited") == []


# ---- feeds ---------------------------------------------------------------------------------

def cells(page: str, name: str) -> dict[str, str]:
    """The cells of a feed's row on /feeds, by their data-label, tags removed."""
    at = page.index(f"<b>{name}</b>")
    row = page[page.rindex("<tr", 0, at):page.index("</tr>", at)]
    return {label: re.sub(r"<[^>]+>", "", value).strip()
            for label, value in re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row,
                                           re.S)}


def test_the_feed_list_shows_each_state(w: Web) -> None:
    w.store.record_success("甲源", now=w.now - timedelta(minutes=5), status=200,
                           next_check_at=w.now + timedelta(minutes=10))
    text = w.client("张三").get("/feeds").text
    ok = cells(text, "甲源")       # NOW is 12:00 in Beijing
    assert (ok["状态"], ok["最近成功"], ok["下次抓取"], ok["连续失败"]) == (
        "正常", "2026-12-02 11:55", "2026-12-02 12:10", "0")
    assert ok["最近错误"] == "—"            # the February timeout is over
    assert ok["条目数"] == str(len([i for i in w.store.list_items(feed="甲源", limit=None)]))
    assert ok["间隔"] == "15m" and ok["地址"] == "http://127.0.0.1:9/a.xml"
    bad = cells(text, "密钥源")
    assert (bad["状态"], bad["连续失败"]) == ("异常", "1")
    assert bad["最近错误"].startswith("HTTP 错误：HTTP 403 https://news.example.org/rss?token=***")
    assert bad["最近成功"] == "—" and bad["条目数"] == "0"
    seeded = cells(text, "乙源")             # seed: two failures in June
    assert (seeded["状态"], seeded["连续失败"]) == ("异常", "2")
    assert "HTTP 500" in seeded["最近错误"]
    off = cells(text, "停用源")
    assert (off["状态"], off["下次抓取"]) == ("停用", "—")
    assert "操作" not in ok                   # staff: no buttons


def test_secrets_are_never_rendered(w: Web) -> None:
    for user in ("张三", "王五", "赵六"):
        c = w.client(user)
        for path in ("/feeds", "/feeds/密钥源/edit"):
            text = c.get(path).text
            for secret in SECRETS:
                assert secret not in text, (user, path, secret)
    edit = w.client("王五").get("/feeds/密钥源/edit").text
    assert "token=***" in edit
    assert "token=***" in w.client("张三").get("/feeds").text


def test_a_feed_added_and_edited_through_the_console(w: Web) -> None:
    c = w.client("王五")
    r = post_form(w, c, "/feeds/new", {"name": "新源", "url": "https://example.org/feed.xml",
                                       "interval": "30m", "enabled": "on"})
    assert r.status_code == 303 and r.headers["location"] == "/feeds"
    listing = c.get("/feeds").text
    assert "已添加订阅源“新源”" in listing and "无需重启" in listing
    assert "新源" in listing                         # the console's view follows at once
    cfg = load_config(w.cfg_path)
    feed = cfg.feed("新源")
    assert feed is not None and feed.url == "https://example.org/feed.xml"
    assert feed.interval == 1800 and feed.enabled
    text = w.cfg_path.read_text(encoding="utf-8")
    for mark in ("KEEP-TOP", "KEEP-FEEDS", "KEEP-INLINE", "KEEP-WEB"):
        assert mark in text, mark

    r = post_form(w, c, "/feeds/新源/edit", {"name": "新源二", "url": "https://example.org/2.xml",
                                            "interval": "2h"})     # no "enabled": disabled
    assert r.status_code == 303
    cfg = load_config(w.cfg_path)
    assert cfg.feed("新源") is None
    feed = cfg.feed("新源二")
    assert feed is not None and feed.url == "https://example.org/2.xml"
    assert feed.interval == 7200 and not feed.enabled
    assert [f.name for f in cfg.feeds] == ["甲源", "乙源", "停用源", "密钥源", "新源二"]
    text = w.cfg_path.read_text(encoding="utf-8")
    assert all(m in text for m in ("KEEP-TOP", "KEEP-FEEDS", "KEEP-INLINE", "KEEP-WEB"))
    assert w.ctx.config.feed("新源二") is not None
    logged = w.store.list_log(kinds=FEED_KINDS)
    assert [(e.kind, e.subject, e.actor) for e in logged] == [
        ("feed.added", "新源", "王五"), ("feed.edited", "新源二", "王五")]
    assert "新源" in (logged[1].data or "")           # renamed from


def test_disable_and_enable_write_the_file(w: Web) -> None:
    c = w.client("王五")
    r = post_form(w, c, "/feeds/甲源/disable", {}, form_page="/feeds")
    assert r.status_code == 303
    assert feed_table(w, "甲源")["enabled"] is False
    assert "已停用订阅源“甲源”" in c.get("/feeds").text
    r = post_form(w, c, "/feeds/停用源/enable", {}, form_page="/feeds")
    assert r.status_code == 303 and feed_table(w, "停用源")["enabled"] is True
    assert "KEEP-INLINE" in w.cfg_path.read_text(encoding="utf-8")
    assert events(w, "feed.") == [("feed.disabled", "甲源", "王五"),
                                  ("feed.enabled", "停用源", "王五")]
    cfg = load_config(w.cfg_path)
    assert not cfg.feed("甲源").enabled and cfg.feed("停用源").enabled   # type: ignore[union-attr]


def test_a_redacted_url_sent_back_keeps_its_secret(w: Web) -> None:
    c = w.client("王五")
    form = c.get("/feeds/密钥源/edit").text
    url = re.search(r'name="url" value="([^"]+)"', form)
    assert url and "***" in url.group(1)
    shown = url.group(1).replace("&amp;", "&")
    r = post_form(w, c, "/feeds/密钥源/edit", {"name": "密钥源", "url": shown,
                                              "interval": "1h", "enabled": "on"})
    assert r.status_code == 303
    table = feed_table(w, "密钥源")
    assert table["url"] == "https://news.example.org/rss?token=PLANTED123"
    assert table["interval"] == "1h"
    assert table["headers"] == {"Authorization": "Bearer PLANTED456"}
    # a redacted URL that was changed elsewhere cannot be saved with *** in it
    before = w.cfg_path.read_bytes()
    r = post_form(w, c, "/feeds/密钥源/edit", {"name": "密钥源", "url": shown + "&x=1",
                                              "interval": "1h", "enabled": "on"})
    assert r.status_code == 400 and "***" in r.text and "完整地址" in r.text
    assert w.cfg_path.read_bytes() == before
    assert not any(s in r.text for s in SECRETS)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("url", "ftp://example.org/feed", "http://"),
    ("url", "not a url", "http://"),
    ("interval", "15 minutes", "时长"),
    ("interval", "-5m", "时长"),
    ("name", "乙源", "重复"),
])
def test_a_broken_value_is_refused_with_the_config_error(w: Web, field: str, value: str,
                                                          words: str) -> None:
    c = w.client("王五")
    before = w.cfg_path.read_bytes()
    good = {"name": "新源", "url": "https://example.org/f.xml", "interval": "15m",
            "enabled": "on"}
    for path in ("/feeds/new", "/feeds/甲源/edit"):
        r = post_form(w, c, path, {**good, field: value})
        assert r.status_code == 400, (path, r.text)
        assert "未保存" in r.text and words in r.text, (path, r.text)
        assert "Traceback" not in r.text
        assert w.cfg_path.read_bytes() == before
    assert events(w, "feed.") == []
    assert w.ctx.config.feed("新源") is None


def test_the_seed_layout_an_inline_array_is_edited_too(web: Web) -> None:
    c = web.client("王五")
    r = post_form(web, c, "/feeds/new", {"name": "内联", "url": "https://example.org/i.xml",
                                         "interval": "15m", "enabled": "on"})
    assert r.status_code == 303
    r = post_form(web, c, "/feeds/乙源/disable", {}, form_page="/feeds")
    assert r.status_code == 303
    cfg = load_config(web.cfg_path)
    assert cfg.feed("内联") is not None and not cfg.feed("乙源").enabled  # type: ignore[union-attr]


def test_feed_names_with_markup_are_escaped(w: Web) -> None:
    c = w.client("王五")
    r = post_form(w, c, "/feeds/new", {"name": XSS, "url": "https://example.org/x.xml",
                                       "interval": "15m", "enabled": "on"})
    assert r.status_code == 303
    text = c.get("/feeds").text
    assert XSS not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert load_config(w.cfg_path).feed(XSS) is not None


def test_an_unknown_feed_is_not_found(w: Web) -> None:
    c = w.client("王五")
    assert c.get("/feeds/没有的源/edit").status_code == 404
    r = post_form(w, c, "/feeds/没有的源/disable", {}, form_page="/feeds")
    assert r.status_code == 404


# ---- rules ---------------------------------------------------------------------------------

def test_the_rules_page_lists_each_files_rules(w: Web) -> None:
    (rules_dir(w) / "20-噪声.yml").write_text(
        "- id: noise\n  name: 噪声扰民\n  category: 环境扰民\n  level: blue\n  weight: 15\n"
        "  words:\n    事件: [噪音]\n", encoding="utf-8")
    text = w.client("赵六").get("/rules").text
    first, second = text.index(RULE_FILE), text.index("20-噪声.yml")
    assert first < second
    for token in ("collapse", "坍塌事故", "安全生产", "fire", "火灾", "80", "dust"):
        assert token in text[first:second], token
    assert "noise" in text[second:] and "噪声扰民" in text[second:] and "15" in text[second:]
    assert "4 条规则" in text


def test_the_test_page_scores_and_marks_like_the_cli(w: Web) -> None:
    c = w.client("张三")
    r = post_form(w, c, "/rules/test", {"title": f"工地坍塌{XSS}", "body": f"现场大火{IMG}后爆炸"})
    assert r.status_code == 200
    from monitor.rules import load_ruleset

    ev = load_ruleset(rules_dir(w)).evaluate(title=f"工地坍塌{XSS}", body=f"现场大火{IMG}后爆炸")
    assert f"得分<b>{ev.score}</b>" in r.text
    assert "特别重大" in r.text or "红色" in r.text or ev.level in r.text
    assert "工地<mark>坍塌</mark>&lt;script&gt;" in r.text
    assert "现场<mark>大火</mark>&lt;img src=x onerror=alert(1)&gt;后<mark>爆炸</mark>" in r.text
    assert XSS not in r.text and IMG not in r.text
    nothing = post_form(w, c, "/rules/test", {"title": "风和日丽", "body": ""})
    assert "未命中任何规则" in nothing.text


def test_a_yaml_or_schema_error_is_refused_with_file_and_line(w: Web) -> None:
    c = w.client("王五")
    path = f"/rules/{RULE_FILE}/edit"
    before = (rules_dir(w) / RULE_FILE).read_bytes()
    for text, line in ((BROKEN_YAML, None), (BAD_SCHEMA, ALERT_RULES.split("\n").index(
            "  level: red") + 1)):
        for action in ("check", "save"):
            form = c.get(path).text
            r = c.post(path, data={"text": text, "action": action, "csrf": form_csrf(form),
                                   "base": re.search(r'name="base" value="([^"]*)"', form)
                                   .group(1)})  # type: ignore[union-attr]
            assert r.status_code == 400, r.text
            m = re.search(rf"<code>{re.escape(RULE_FILE)}:(\d+)</code>", r.text)
            assert m, r.text
            if line is not None:
                assert int(m.group(1)) == line
            assert "<textarea" in r.text
            shown = r.text[r.text.index("<textarea"):r.text.index("</textarea>")]
            assert (text.split("\n")[0]) in shown            # the edited text is kept
            assert (rules_dir(w) / RULE_FILE).read_bytes() == before
    assert events(w, "rules.edited") == []


def test_a_good_edit_is_saved_atomically_and_listed(w: Web) -> None:
    c = w.client("王五")
    path = f"/rules/{RULE_FILE}/edit"
    form = c.get(path).text
    base = re.search(r'name="base" value="([^"]+)"', form)
    assert base
    edited = ALERT_RULES.replace("name: 火灾", "name: 火灾爆炸").replace("weight: 80", "weight: 90")
    r = c.post(path, data={"text": edited.replace("\n", "\r\n"), "action": "save",
                           "base": base.group(1), "csrf": form_csrf(form)})
    assert r.status_code == 303 and r.headers["location"] == "/rules"
    assert (rules_dir(w) / RULE_FILE).read_text(encoding="utf-8") == edited   # LF, as sent
    listing = c.get("/rules").text
    assert "已保存规则文件" in listing and "火灾爆炸" in listing and "90" in listing
    assert events(w, "rules.edited") == [("rules.edited", RULE_FILE, "王五")]
    assert [p.name for p in rules_dir(w).iterdir()] == [RULE_FILE]      # no temp file left
    # saving again from the old page: someone changed the file meanwhile
    r = c.post(path, data={"text": ALERT_RULES, "action": "save", "base": base.group(1),
                           "csrf": form_csrf(form)})
    assert r.status_code == 400 and "已被他人修改" in r.text
    assert (rules_dir(w) / RULE_FILE).read_text(encoding="utf-8") == edited


def test_a_failing_example_blocks_the_save(w: Web) -> None:
    c = w.client("王五")
    path = f"/rules/{RULE_FILE}/edit"
    edited = ALERT_RULES.replace("    事件: [扬尘]\n", "    事件: [扬尘]\n  examples:\n"
                                 "    match: [今天天气很好]\n")
    form = c.get(path).text
    r = c.post(path, data={"text": edited, "action": "save", "csrf": form_csrf(form),
                           "base": re.search(r'name="base" value="([^"]+)"', form).group(1)})  # type: ignore[union-attr]
    assert r.status_code == 400 and "示例应命中规则 dust" in r.text
    assert (rules_dir(w) / RULE_FILE).read_text(encoding="utf-8") == ALERT_RULES


def test_the_backtest_compares_the_edit_with_the_rules_on_disk(w: Web) -> None:
    add_item(w, "工地坍塌", days_ago=1)
    add_item(w, "隧道塌方", days_ago=2)
    add_item(w, "桥梁垮塌", days_ago=3)
    add_item(w, "仓库大火", days_ago=4)
    add_item(w, "老隧道塌方", days_ago=45)           # outside the 30 days
    edited = ALERT_RULES.replace("事件: [坍塌, 垮塌]", "事件: [坍塌, 塌方]")
    c = w.client("王五")
    path = f"/rules/{RULE_FILE}/edit"
    r = post_form(w, c, path, {"text": edited, "action": "check"})
    assert r.status_code == 200, r.text
    assert "检查通过" in r.text
    from monitor.backtest import compare
    from monitor.rules import load_ruleset_texts

    result = compare(w.store, load_ruleset_texts({RULE_FILE: ALERT_RULES}),
                     load_ruleset_texts({RULE_FILE: edited}), since=w.now - timedelta(days=30))
    assert result.items == 4
    assert (result.current["collapse"], result.candidate["collapse"]) == (2, 2)
    assert (len(result.added["collapse"]), len(result.removed["collapse"])) == (1, 1)
    assert (result.current["fire"], result.candidate["fire"]) == (1, 1)
    assert "最近 30 天的 4 条条目" in r.text
    row = r.text[r.text.index("<code>collapse</code>"):]
    row = row[:row.index("</tr>")]
    cells = re.findall(r'data-label="(当前规则命中|改动后命中|新增命中|不再命中)"[^>]*>(\d+)<', row)
    assert cells == [("当前规则命中", "2"), ("改动后命中", "2"), ("新增命中", "1"),
                     ("不再命中", "1")]
    assert "+ 隧道塌方" in row and "− 桥梁垮塌" in row and "老隧道" not in row
    fire = r.text[r.text.index("<code>fire</code>"):]
    fire = fire[:fire.index("</tr>")]
    assert re.findall(r'data-label="[^"]+命中"[^>]*>(\d+)<', fire) == ["1", "1", "0", "0"]
    assert (rules_dir(w) / RULE_FILE).read_text(encoding="utf-8") == ALERT_RULES  # not saved
    assert events(w, "rules.edited") == []


def test_a_new_rule_file(w: Web) -> None:
    c = w.client("王五")
    text = ("- id: noise\n  name: 噪声\n  category: 环境扰民\n  level: blue\n  weight: 15\n"
            "  words:\n    事件: [噪音]\n  examples:\n    match: [深夜施工噪音扰民]\n")
    for bad in ("../20-x.yaml", "/tmp/20-x.yaml", "20-x.txt", "x.yaml", "20-..yaml",
                "20-a/b.yaml", ".20-x.yaml"):
        r = post_form(w, c, "/rules/new", {"name": bad, "text": text, "action": "save"})
        assert r.status_code == 400 and "两位数字-名称.yaml" in r.text, bad
    r = post_form(w, c, "/rules/new", {"name": RULE_FILE, "text": text, "action": "save"})
    assert r.status_code == 400 and "已存在" in r.text
    dup = post_form(w, c, "/rules/new", {"name": "20-重复.yaml", "text": ALERT_RULES,
                                         "action": "save"})
    assert dup.status_code == 400 and "重复" in dup.text and RULE_FILE in dup.text
    r = post_form(w, c, "/rules/new", {"name": "20-环境扰民.yaml", "text": text,
                                       "action": "save"})
    assert r.status_code == 303
    assert (rules_dir(w) / "20-环境扰民.yaml").read_text(encoding="utf-8") == text
    assert "noise" in c.get("/rules").text
    assert sorted(p.name for p in rules_dir(w).iterdir()) == [RULE_FILE, "20-环境扰民.yaml"]
    assert not (rules_dir(w).parent / "20-x.yaml").exists()
    assert events(w, "rules.edited") == [("rules.edited", "20-环境扰民.yaml", "王五")]


def test_a_broken_neighbour_does_not_block_fixing_another_file(w: Web) -> None:
    (rules_dir(w) / "20-坏.yaml").write_text(BROKEN_YAML, encoding="utf-8")
    c = w.client("王五")
    listing = c.get("/rules").text
    assert "20-坏.yaml:" in listing and "YAML" in listing
    path = f"/rules/{RULE_FILE}/edit"
    form = c.get(path).text
    r = c.post(path, data={"text": ALERT_RULES.replace("weight: 20", "weight: 25"),
                           "action": "save", "csrf": form_csrf(form),
                           "base": re.search(r'name="base" value="([^"]+)"', form).group(1)})  # type: ignore[union-attr]
    assert r.status_code == 303
    assert "weight: 25" in (rules_dir(w) / RULE_FILE).read_text(encoding="utf-8")
    assert "其他规则文件仍有错误" in c.get("/rules").text


@pytest.mark.parametrize("name", [
    "..%2Fconfig%2Fmonitor.toml", "%2E%2E%2Fconfig%2Fmonitor.toml", "..", "%2E%2E",
    "%2Fetc%2Fpasswd", "monitor.toml", "..%5Cconfig%5Cmonitor.toml", ".hidden.yaml",
])
def test_path_traversal_is_refused(w: Web, name: str) -> None:
    (rules_dir(w) / ".hidden.yaml").write_text(ALERT_RULES, encoding="utf-8")
    (rules_dir(w) / "monitor.toml").symlink_to(w.cfg_path)
    c = w.client("王五")
    before = w.cfg_path.read_bytes()
    r = c.get(f"/rules/{name}/edit")
    assert r.status_code in (404, 405), r.status_code
    assert "KEEP-TOP" not in r.text and "storage" not in r.text
    r = post_form(w, c, f"/rules/{name}/edit", {"text": "x: 1", "action": "save"},
                  form_page="/rules")
    assert r.status_code in (404, 405)
    assert w.cfg_path.read_bytes() == before
    assert events(w, "rules.edited") == []


def test_a_link_out_of_the_rules_dir_is_refused(w: Web) -> None:
    outside = rules_dir(w).parent / "outside.yaml"
    outside.write_text(ALERT_RULES.replace("id: ", "id: o-"), encoding="utf-8")
    (rules_dir(w) / "30-link.yaml").symlink_to(outside)
    c = w.client("王五")
    assert c.get("/rules/30-link.yaml/edit").status_code == 404


def test_the_version_history_shows_escaped_diffs(w: Web) -> None:
    w.store.record_ruleset("v3", {"r.yaml": f"# v2\n- id: x\n  name: {XSS}\n"}, 1,
                           actor="王五", now=w.now)
    text = w.client("赵六").get("/rules/versions").text
    assert XSS not in text
    assert '<span class="diff-add">+  name: &lt;script&gt;alert(1)&lt;/script&gt;</span>' in text
    assert '<span class="diff-add">+- id: x</span>' in text
    for version in ("v0", "v1", "v2", "v3"):
        assert f"<code>{version}</code>" in text
    w.store.record_ruleset("v4", {"r.yaml": "# v4\n"}, 0, actor="王五", now=w.now)
    text = w.client("赵六").get("/rules/versions").text
    assert '<span class="diff-del">-  name: &lt;script&gt;alert(1)&lt;/script&gt;</span>' in text


def test_rule_text_with_markup_is_escaped_in_the_editor(w: Web) -> None:
    hostile = ALERT_RULES.replace("name: 扬尘", f"name: \"{XSS}</textarea>{IMG}\"")
    (rules_dir(w) / RULE_FILE).write_text(hostile, encoding="utf-8")
    c = w.client("王五")
    for path in (f"/rules/{RULE_FILE}/edit", "/rules"):
        text = c.get(path).text
        assert XSS not in text and IMG not in text and "&lt;/textarea&gt;" in text, path
