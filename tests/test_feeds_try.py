"""``yuqing feeds try URL`` and ``feeds test NAME`` against pages served on 127.0.0.1: the
items a page source would give, what each selector found, the next page, the layout
error the daemon would record, a bad selector refused in one line; nothing stored. And
``feeds status`` naming each source's type.

Needs the extractors (``monitor.parse.pages`` / ``jsonapi``, branch f11/extract) and the
Chinese dates (``monitor.parse.cndates``, branch f11/dates).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from support import Cli, write_config

CST = timezone(timedelta(hours=8))
RSS = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>融媒体</title>'
       '<item><title>区重点项目推进会召开</title><link>https://news.example.cn/a/1.html</link>'
       '<guid>g1</guid><pubDate>Tue, 01 Dec 2026 10:00:00 +0800</pubDate>'
       '<description>会议通报了全区重点项目的进展情况。</description></item>'
       '</channel></rss>').encode()


def forum_page() -> bytes:
    """A Discuz-like list page in GBK declaring GB2312, with <base href> and forum dates."""
    rows = [(80201, "江北路工地脚手架倒塌一名工人受伤", "路人甲", "08:52"),
            (80202, "翠湖小区夜间施工噪音扰民", "翠湖业主", "3天前"),
            (80203, "青山湖樱花开了", "摄影爱好者", "2026-11-30")]
    body = "\n".join(
        f'<tbody id="normalthread_{tid}"><tr><th><a href="thread-{tid}-1-1.html" class="s xst">'
        f'{title}</a></th><td class="by"><cite><a href="space-uid-1.html">{author}</a></cite>'
        f"<em><span>{date}</span></em></td></tr></tbody>"
        for tid, title, author, date in rows)
    return ('<html><head><meta charset="gb2312"><base href="http://bbs.example.cn/">'
            "<title>民生杂谈 - 青山论坛</title></head><body><table>" + body + "</table>"
            '<div class="pg"><a href="forum-12-2.html" class="nxt">下一页</a></div>'
            "</body></html>").encode("gbk")


FORUM_SELECT = ["--select", "item=css:tbody[id^=normalthread_]",
                "--select", "title=css:a.xst::text", "--select", "link=css:a.xst::attr(href)",
                "--select", "date=css:td.by em span::text",
                "--select", "author=css:td.by cite a::text", "--next", "css:a.nxt::attr(href)"]


def api_answer(now: datetime) -> bytes:
    ms = int((now - timedelta(hours=2)).timestamp() * 1000)
    doc = {"code": 0, "data": {"list": [
        {"tid": 10231, "title": "青山大道工程项目部拖欠农民工工资", "createTime": ms,
         "content": "我们在青山大道重点工程干了三个月，项目部一直拖欠工资。" * 3},
        {"tid": 10232, "title": "建议公园增加夜间照明", "createTime": ms - 3_600_000,
         "content": "环湖步道晚上太暗。"}]}}
    return json.dumps(doc, ensure_ascii=False).encode()


def _db(config: Path) -> Path:
    return config.parent.parent / "data" / "monitor.db"


def test_try_an_html_page_prints_items_and_findings_and_stores_nothing(tmp_path, httpserver):
    httpserver.expect_request("/forum-12-1.html").respond_with_data(
        forum_page(), content_type="text/html")
    config = write_config(tmp_path)
    r = Cli(config)("feeds", "try", httpserver.url_for("/forum-12-1.html"), *FORUM_SELECT)
    assert r.exit_code == 0, r.output
    out = r.stdout
    # the items, decoded from GBK, links resolved against <base href>
    assert "1. 江北路工地脚手架倒塌一名工人受伤" in out
    assert "链接：http://bbs.example.cn/thread-80201-1-1.html" in out
    assert "作者：路人甲" in out
    # what each selector found, the raw date and what it was read as
    assert 'title ← css:a.xst::text = "江北路工地脚手架倒塌一名工人受伤"' in out
    assert 'link ← css:a.xst::attr(href) = "thread-80201-1-1.html" → ' \
           "http://bbs.example.cn/thread-80201-1-1.html" in out
    assert 'date ← css:td.by em span::text = "08:52" → ' in out
    assert 'date ← css:td.by em span::text = "3天前" → ' in out
    assert 'date ← css:td.by em span::text = "2026-11-30" → 2026-11-30 00:00' in out
    assert "下一页：http://bbs.example.cn/forum-12-2.html" in out
    assert "匹配 3 个节点，将保存 3 条（有日期 3 条，有作者 3 条）" in out
    assert not _db(config).exists()          # nothing stored: the database is not even made
    doc = Cli(config).json("feeds", "try", httpserver.url_for("/forum-12-1.html"), *FORUM_SELECT)
    assert doc["stored"] is False and doc["error"] is None and doc["nodes"] == 3
    assert doc["next_url"] == "http://bbs.example.cn/forum-12-2.html"
    first = doc["items"][0]
    assert first["findings"]["date"] == {"selector": "css:td.by em span::text", "value": "08:52"}
    assert first["published_at"].endswith("+00:00")
    assert not _db(config).exists()


def test_try_a_json_api(tmp_path, httpserver):
    now = datetime.now(UTC).replace(microsecond=0)
    httpserver.expect_request("/api/list").respond_with_data(
        api_answer(now), content_type="application/json")
    config = write_config(tmp_path)
    args = ["feeds", "try", httpserver.url_for("/api/list") + "?page=1", "--type", "json",
            "--select", "item=data.list", "--select", "title=title",
            "--select", "date=createTime", "--select", "body=content",
            "--select", "link_template=https://liuyan.example.cn/detail?tid={tid}"]
    r = Cli(config)(*args)
    assert r.exit_code == 0, r.output
    assert "1. 青山大道工程项目部拖欠农民工工资" in r.stdout
    assert "链接：https://liuyan.example.cn/detail?tid=10231" in r.stdout
    when = (now - timedelta(hours=2)).astimezone(CST).strftime("%Y-%m-%d %H:%M")
    assert f"日期：{when}" in r.stdout
    assert "item 选择器 data.list 匹配 2 个节点" in r.stdout
    # the body's first ~80 characters, then an ellipsis
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("正文："))
    assert line.endswith("…") and len(line.strip()) <= 3 + 80 + 1
    doc = Cli(config).json(*args)
    assert doc["items"][0]["findings"]["link"]["value"] == \
        "https://liuyan.example.cn/detail?tid=10231"
    assert not _db(config).exists()


def test_a_changed_layout_is_the_daemons_error_with_exit_1(tmp_path, httpserver):
    page = forum_page().replace(b"normalthread_", b"stickthread_")
    httpserver.expect_request("/forum.html").respond_with_data(page, content_type="text/html")
    config = write_config(tmp_path)
    r = Cli(config)("feeds", "try", httpserver.url_for("/forum.html"), *FORUM_SELECT)
    assert r.exit_code == 1
    assert "页面结构变化，layout" in r.stdout and "匹配 0 个节点" in r.stdout
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("错误：") and "item 选择器" in line and "tbody[id^=normalthread_]" in line
    assert "Traceback" not in r.output
    # the same message the daemon records on the feed
    url = httpserver.url_for("/forum.html")
    config = write_config(tmp_path, feeds=[{
        "name": "论坛", "url": url, "type": "html",
        "select": {"item": "css:tbody[id^=normalthread_]", "title": "css:a.xst::text"}}])
    r = Cli(config)("fetch", "--json")
    assert r.exit_code == 1  # the feed failed
    fetched = json.loads(r.stdout)
    assert fetched["feeds"][0]["error"] == line.removeprefix("错误：")
    # a title selector empty on every item is a layout error too, with what was found shown
    config = write_config(tmp_path / "2")
    httpserver.expect_request("/ok.html").respond_with_data(forum_page(), content_type="text/html")
    r = Cli(config)("feeds", "try", httpserver.url_for("/ok.html"),
                    "--select", "item=css:tbody", "--select", "title=css:a.gone::text")
    assert r.exit_code == 1
    assert "title ← css:a.gone::text：未找到" in r.stdout
    assert "title 选择器" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_bad_selector_is_refused_in_one_line(tmp_path, httpserver):
    config = write_config(tmp_path)
    url = httpserver.url_for("/never.html")
    cli = Cli(config)
    for args, expected in [
        (["--select", "item=css:tbody[", "--select", "title=a::text"], "--select item：CSS 选择器"),
        (["--select", "item=tbody", "--select", "titel=a::text"], "是不是想写 title"),
        (["--select", "item=tbody"], "--select title：缺少必填项"),
        (["--type", "json", "--select", "item=data.list[", "--select", "title=t"],
         "JMESPath 表达式"),
    ]:
        r = cli("feeds", "try", url, *args)
        assert r.exit_code == 1, (args, r.output)
        [line] = r.stderr.strip().splitlines()
        assert expected in line, (args, line)
        assert "Traceback" not in r.output
    assert not httpserver.log          # refused before anything was fetched
    r = cli("feeds", "try", url, "--select", "no-equals-sign")
    assert r.exit_code == 2


def test_feeds_test_a_configured_html_feed_and_an_rss_feed(tmp_path, httpserver):
    httpserver.expect_request("/forum.html").respond_with_data(forum_page(),
                                                              content_type="text/html")
    httpserver.expect_request("/rss.xml").respond_with_data(RSS, content_type="application/rss+xml")
    config = write_config(tmp_path, feeds=[
        {"name": "论坛", "url": httpserver.url_for("/forum.html"), "type": "html",
         "select": {"item": "css:tbody[id^=normalthread_]", "title": "css:a.xst::text",
                    "link": "css:a.xst::attr(href)",
                    "date": ["css:td.by em span::attr(title)", "css:td.by em span::text"]}},
        {"name": "融媒体", "url": httpserver.url_for("/rss.xml")},
    ])
    cli = Cli(config)
    r = cli("feeds", "test", "论坛")
    assert r.exit_code == 0, r.output
    assert "3. 青山湖樱花开了" in r.stdout
    # of a list, the alternative that found the value is named
    assert 'date ← css:td.by em span::text = "2026-11-30"' in r.stdout
    r = cli("feeds", "test", "融媒体")
    assert r.exit_code == 0, r.output
    assert "1. 区重点项目推进会召开" in r.stdout
    assert "链接：https://news.example.cn/a/1.html" in r.stdout
    assert "日期：2026-12-01 10:00" in r.stdout and "正文：会议通报了全区重点项目的进展情况。" in r.stdout
    assert "将保存 1 条" in r.stdout
    assert cli.json("feeds", "test", "融媒体")["items"][0]["title"] == "区重点项目推进会召开"
    assert not _db(config).exists()
    r = cli("feeds", "test", "没有这个")
    assert r.exit_code == 1 and "没有名为" in r.stderr and "论坛" in r.stderr


def test_feeds_status_shows_each_sources_type(tmp_path):
    select = {"item": "css:li", "title": "css:a::text"}
    config = write_config(tmp_path, feeds=[
        {"name": "融媒体", "url": "http://127.0.0.1:9/rss.xml"},
        {"name": "论坛", "url": "http://127.0.0.1:9/forum.html", "type": "html", "select": select},
        {"name": "动态页", "url": "http://127.0.0.1:9/app.html", "type": "html",
         "render": "browser", "select": select},
        {"name": "留言板", "url": "http://127.0.0.1:9/api", "type": "json",
         "select": {"item": "data.list", "title": "title"}},
    ])
    r = Cli(config)("feeds", "status")
    assert r.exit_code == 0, r.output
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.strip()}
    assert "〈订阅源〉" in lines["融媒体"] and "〈网页〉" in lines["论坛"]
    assert "〈网页（浏览器）〉" in lines["动态页"] and "〈接口〉" in lines["留言板"]
    # the JSON keys stay those of the contract (and the ones already there): no "type"
    docs = Cli(config).json("feeds", "status")
    assert all("type" not in d for d in docs) and len(docs) == 4
