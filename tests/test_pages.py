"""HTML list pages (``type = "html"``): saved pages of the shapes sites publish (a Discuz
forum with ``<base href>``, a Tieba list, a GBK page declaring GB2312, a page whose
``<meta>`` lies, a news list with a next link), the extractor on their bytes, and the real
pipeline (``yuqing fetch``, ``feeds status``) on them served from 127.0.0.1: the page walk,
dedup across overlapping pages, a layout change recorded and told to admins, and broken
selectors refused when the config loads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import SelectConfig, load_config
from monitor.errors import ConfigError, ParseError
from monitor.parse.feeds import parse_in_worker
from monitor.parse.pages import parse_html_list

from receivers import RobotReceiver
from servers import FeedServer
from support import FIXTURES, Cli, write_config

PAGES = FIXTURES / "pages"
NOW = datetime(2024, 3, 8, 2, 0, tzinfo=UTC)          # 2024-03-08 10:00 in Beijing
DISCUZ = {"item": "css:tbody[id^=normalthread_]", "title": "css:a.xst",
          "link": "css:a.xst::attr(href)",
          "date": ["css:td.by em span::attr(title)", "css:td.by em span::text",
                   "css:td.by em::text"],
          "author": "css:td.by cite a::text", "next": "css:a.nxt"}
TIEBA = {"item": "li.j_thread_list", "title": "a.j_th_tit::attr(title)",
         "link": "a.j_th_tit::attr(href)", "date": "span.threadlist_reply_date::text",
         "author": "a.frs-author-name::text", "body": "div.threadlist_abs"}
NEWS = {"item": "xpath://div[@class='list']//li", "title": "xpath:./a",
        "link": "xpath:./a/@href", "date": "xpath:./span/text()"}
LIST = {"item": "ul.news-list li.news", "title": "a::text", "link": "a::attr(href)",
        "date": "span.date::text", "next": "a.next::attr(href)"}


def recipe(select: dict[str, Any]) -> dict[str, Any]:
    """What the pipeline hands a parse worker (the validated, dumped SelectConfig)."""
    return SelectConfig.model_validate(select).model_dump()


def parse(name: str, select: dict[str, Any], url: str, **kw: Any) -> Any:
    return parse_html_list((PAGES / name).read_bytes(), recipe(select), base_url=url, now=NOW,
                           **kw)


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def page(items: str, head: str = "") -> bytes:
    return (f"<html><head><meta charset='utf-8'>{head}</head><body><ul>{items}</ul>"
            "</body></html>").encode()


# ------------------------------------------------------------------ the extractor


def test_discuz_list_reads_every_thread_against_base_href() -> None:
    feed = parse("discuz.html", DISCUZ, "https://www.example.org/bbs/forum-9-1.html")
    assert [i.title for i in feed.items] == [
        "幸福里小区 物业 欠薪三个月，保安集体停工", "东环路施工扬尘严重，晚上十点还在打桩",
        "求助：孩子入学积分怎么算？", "周末 qingming 踏青 去哪里"]
    assert [i.link for i in feed.items] == [
        "https://bbs.example.org/forum.php?mod=viewthread&tid=1001&extra=page%3D1",
        "https://bbs.example.org/thread-1002-1-1.html",      # leading spaces trimmed
        "https://bbs.example.org/thread-1003-1-1.html",
        "https://bbs.example.org/thread-1004-1-1.html"]
    assert [i.author for i in feed.items] == ["业主甲", "路过的", "新市民", "老街坊"]
    assert [i.published_at for i in feed.items] == [
        local(2024, 3, 5), local(2024, 3, 1, 21, 5), None, local(2024, 2, 20, 8)]
    assert all(i.guid is None and i.date_note is None for i in feed.items)
    assert feed.next_url == "https://bbs.example.org/forum-9-2.html"
    assert feed.link == "https://www.example.org/bbs/forum-9-1.html"   # the page, not <base>
    assert (feed.format, feed.encoding) == ("html", "utf-8")
    assert feed.title.startswith("民生话题 - 某区社区论坛")


def test_an_item_without_a_date_keeps_none_and_the_page_still_parses() -> None:
    feed = parse("discuz.html", DISCUZ, "https://bbs.example.org/forum-9-1.html")
    undated = [i for i in feed.items if i.published_at is None]
    assert [i.title for i in undated] == ["求助：孩子入学积分怎么算？"]
    assert undated[0].date_note is None and undated[0].link


def test_tieba_list_root_relative_links_authors_and_abstracts() -> None:
    feed = parse("tieba.html", TIEBA, "https://tieba.baidu.com/f?kw=%E6%9F%90%E5%8C%BA&ie=utf-8")
    assert [i.link for i in feed.items] == [
        "https://tieba.baidu.com/p/8012345678", "https://tieba.baidu.com/p/8012340000",
        "https://tieba.baidu.com/p/6400000000"]
    assert feed.items[0].title == "地铁站口又堵了，早高峰半小时出不去"
    assert feed.items[0].body == "今天早上又是这样，站口的护栏围了一大圈……"
    assert [i.author for i in feed.items] == ["通勤人", "遛弯的", "吧务"]


def test_tieba_dates_as_tieba_writes_them() -> None:
    feed = parse("tieba.html", TIEBA, "https://tieba.baidu.com/f?kw=x")
    assert [i.published_at for i in feed.items] == [
        local(2024, 3, 8, 8, 52),        # today: 10:00 now
        local(2023, 7, 3),               # 7-3: the most recent past July 3rd
        local(2019, 12, 1)]              # a month only


def test_relative_dates_count_from_the_fetch_time_and_date_format_is_used() -> None:
    body = page("<li><a>一</a><em>3&nbsp;天前</em></li><li><a>二</a><em>发布时间：昨天 14:20</em></li>"
                "<li><a>三</a><em>05/03/2024 10h20</em></li>")
    feed = parse_html_list(body, recipe({"item": "li", "title": "a::text", "date": "em::text",
                                         "date_format": "%d/%m/%Y %Hh%M"}),
                           base_url="http://x.org/", now=NOW)
    assert [i.published_at for i in feed.items] == [
        local(2024, 3, 5, 10), local(2024, 3, 7, 14, 20), local(2024, 3, 5, 10, 20)]


def test_gbk_page_declaring_gb2312_decodes_as_gb18030() -> None:
    feed = parse("gbk_gb2312.html", NEWS, "http://www.example.gov.cn/tzgg/")
    assert feed.encoding == "gb18030"
    assert feed.title == "通知公告_某区人民政府"
    assert feed.items[2].title == "区领导调研安全生产工作——喆园街道"   # 喆 is GBK, not GB2312
    assert feed.items[0].link == "http://www.example.gov.cn/tzgg/202403/t20240305_101.html"
    assert feed.items[0].published_at == local(2024, 3, 5)


def test_utf8_page_whose_meta_says_gb2312_decodes_as_utf8() -> None:
    feed = parse("meta_lies.html", NEWS, "http://www.example.gov.cn/xwdt/")
    assert feed.encoding == "utf-8"
    assert [i.title for i in feed.items] == [
        "区政府召开第十二次常务会议", "我区开展“学雷锋”志愿服务活动",
        "区领导调研安全生产工作——喆园街道"]


def test_http_charset_and_the_per_feed_encoding_are_heard() -> None:
    gbk = "<html><body><ul><li><a href='/a'>区里通知</a></li></ul></body></html>".encode("gbk")
    select = recipe({"item": "li", "title": "a::text"})
    by_header = parse_html_list(gbk, select, content_type="text/html; charset=GBK",
                                base_url="http://x.org/")
    by_override = parse_html_list(gbk, select, encoding="gbk", base_url="http://x.org/")
    assert by_header.items[0].title == by_override.items[0].title == "区里通知"
    assert by_header.encoding == "gb18030"


def test_a_truthful_meta_charset_is_heard() -> None:
    """EUC-KR bytes also decode as GB18030; the page's <meta> says which they are."""
    body = ("<html><head><meta charset='euc-kr'></head><body><ul><li><a href='/a'>서울 뉴스 오늘"
            "</a></li></ul></body></html>").encode("euc-kr")
    feed = parse_html_list(body, recipe({"item": "li", "title": "a::text"}),
                           base_url="http://x.org/")
    assert (feed.encoding, feed.items[0].title) == ("euc-kr", "서울 뉴스 오늘")


def test_javascript_hash_and_non_http_links_are_dropped() -> None:
    body = page(
        "<li><a class=t href='javascript:void(0)' data-url='/thread/1'>一</a></li>"
        "<li><a class=t href='#'>二</a></li>"
        "<li><a class=t href='  JavaScript:;'>三</a></li>"
        "<li><a class=t href='mailto:a@b.org'>四</a></li>"
        "<li><a class=t href='\n /thread/5 '>五</a></li>"
        "<li><a class=t href='ftp://x.org/6'>六</a></li>")
    links = [i.link for i in parse_html_list(
        body, recipe({"item": "li", "title": "a::text", "link": "a.t::attr(href)"}),
        base_url="https://bbs.x.org/list").items]
    assert links == [None, None, None, None, "https://bbs.x.org/thread/5", None]
    fallback = parse_html_list(body, recipe({"item": "li", "title": "a::text", "link": [
        "a.t::attr(href)", "a.t::attr(data-url)"]}), base_url="https://bbs.x.org/list")
    assert fallback.items[0].link == "https://bbs.x.org/thread/1"   # the next alternative


def test_without_a_link_selector_an_item_links_to_the_page() -> None:
    feed = parse_html_list(page("<li>公告一</li><li>公告二</li>"),
                           recipe({"item": "li", "title": "xpath:string(.)"}),
                           base_url="https://x.gov.cn/gg.html")
    assert [(i.title, i.link) for i in feed.items] == [
        ("公告一", "https://x.gov.cn/gg.html"), ("公告二", "https://x.gov.cn/gg.html")]


def test_values_are_whitespace_normalised_and_alternatives_tried_in_turn() -> None:
    body = page("<li><h3> Hello <b>world</b>\n\t2024 </h3><p class=s>  第一行<br>第二行 </p>"
                "<i title=' 3月5日 '></i></li>"
                "<li><h3>区里<em>欠薪</em>\u3000问题</h3><span class=d>2024-03-01</span></li>")
    feed = parse_html_list(body, recipe({
        "item": "li", "title": ["h4::text", "css:h3 ::text"], "body": "p.s",
        "date": ["i::attr(title)", "span.d::text"]}), base_url="http://x.org/", now=NOW)
    assert [i.title for i in feed.items] == ["Hello world 2024", "区里欠薪 问题"]
    assert feed.items[0].body == "第一行\n第二行"
    assert feed.items[1].published_at == local(2024, 3, 1)


def test_a_next_link_that_is_javascript_is_no_next_page() -> None:
    body = page("<li><a href='/1'>一</a></li>") + b"<a class=next href='javascript:;'>next</a>"
    feed = parse_html_list(body, recipe({"item": "li", "title": "a::text", "next": "a.next"}),
                           base_url="http://x.org/")
    assert feed.next_url is None


def test_the_worker_entry_point_dispatches_html_recipes() -> None:
    feed = parse_in_worker((PAGES / "discuz.html").read_bytes(), "text/html", None,
                           "Asia/Shanghai", "https://bbs.example.org/forum-9-1.html", NOW,
                           {"type": "html", "select": recipe(DISCUZ)})
    assert len(feed.items) == 4 and feed.format == "html"


# ------------------------------------------------------------------ layout failures


def layout_error(content: bytes, select: dict[str, Any], url: str) -> ParseError:
    with pytest.raises(ParseError) as ei:
        parse_html_list(content, recipe(select), base_url=url, now=NOW)
    assert ei.value.kind == "layout"
    return ei.value


def test_an_item_selector_matching_nothing_is_a_layout_failure_naming_it() -> None:
    err = layout_error((PAGES / "discuz_changed.html").read_bytes(), DISCUZ,
                       "https://bbs.example.org/forum-9-1.html?auth_token=s3cr3tvalue")
    msg = str(err)
    assert "item 选择器 'css:tbody[id^=normalthread_]'" in msg and "没有匹配到任何条目" in msg
    assert "https://bbs.example.org/forum-9-1.html?auth_token=***" in msg
    assert "s3cr3tvalue" not in msg
    assert "render" not in msg     # a real page with content: no JavaScript hint


def test_a_page_that_needs_javascript_gets_the_browser_hint() -> None:
    err = layout_error((PAGES / "js_app.html").read_bytes(),
                       {"item": "div.list-item", "title": "a::text"}, "https://wz.example.gov.cn/")
    assert 'render = "browser"' in str(err)
    shell = b"<html><body><div id=root></div><script>" + b"var a=1;" * 2000 + b"</script></body></html>"
    assert 'render = "browser"' in str(layout_error(shell, {"item": "li", "title": "a"},
                                                    "https://x.org/"))


def test_a_title_or_link_empty_on_every_item_is_a_layout_failure() -> None:
    url = "https://bbs.example.org/forum-9-1.html"
    body = (PAGES / "discuz.html").read_bytes()
    err = layout_error(body, {**DISCUZ, "title": "css:a.subject::text"}, url)
    assert "title 选择器 'css:a.subject::text'" in str(err) and "4 个条目" in str(err)
    err = layout_error(body, {**DISCUZ, "link": ["css:a.xst::attr(data-href)", "a.gone"]}, url)
    assert "link 选择器 'css:a.xst::attr(data-href)' / 'a.gone'" in str(err)
    # a title missing on some items only is no layout failure: those items are dropped
    feed = parse_html_list(page("<li><a href='/1'>一</a></li><li><a href='/2'></a></li>"),
                           recipe({"item": "li", "title": "a::text", "link": "a::attr(href)"}),
                           base_url=url)
    assert [i.title for i in feed.items] == ["一"]


# ------------------------------------------------------------------ selectors at config load


BASE = """[storage]
path = "../data/monitor.db"

[[feeds]]
name = "新闻"
url = "http://127.0.0.1:1/a.xml"

[[feeds]]
name = "论坛"
url = "http://127.0.0.1:1/forum"
type = "{type}"
[feeds.select]
item = "li"
{line}
"""


@pytest.mark.parametrize(("feed_type", "line", "key", "needle"), [
    ("html", 'title = "a..b::text"', "feeds[1].select.title", "CSS 选择器 'a..b::text' 写法有误"),
    ("html", 'title = "a::texts"', "feeds[1].select.title", "::attr(名称)"),
    ("html", 'title = ["a::text", "xpath://a[@"]', "feeds[1].select.title[1]", "XPath 表达式"),
    ("html", 'title = "a"\ndate = "xpath:nope:fn(.)"', "feeds[1].select.date", "无法执行"),
    ("html", 'title = "a"\nnext = "css:"', "feeds[1].select.next", "选择器为空"),
    ("json", 'title = "items[*"', "feeds[1].select.title", "JMESPath 表达式 'items[*' 写法有误"),
    ("json", 'title = "css:a::text"', "feeds[1].select.title", "不用 css:/xpath: 前缀"),
    ("json", 'title = "t"\nlink_template = "https://x/d?id={tid.__class__}"',
     "feeds[1].select.link_template", "只能写条目的字段名"),
    ("json", 'title = "t"\nlink_template = "https://x/d?id={tid"',
     "feeds[1].select.link_template", "花括号"),
    ("html", 'title = "a"\nlink_template = "https://x/d?id={tid}"',
     "feeds[1].select.link_template", "只用于"),
])
def test_broken_selectors_are_config_errors_naming_the_key(tmp_path: Path, feed_type: str,
                                                          line: str, key: str,
                                                          needle: str) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(BASE.format(type=feed_type, line=line), encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    assert ei.value.key == key, str(ei.value)
    assert needle in str(ei.value)
    assert str(ei.value).startswith(f"{path}:"), str(ei.value)   # with the line number


def test_config_check_shows_the_selector_error(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(BASE.format(type="html", line='title = "a[href"'), encoding="utf-8")
    r = Cli(path)("config", "check")
    assert r.exit_code == 1
    assert "第 2 个订阅源的 select.title" in r.stderr and "CSS 选择器" in r.stderr
    assert "Traceback" not in r.stderr


def test_good_selectors_load(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(BASE.format(type="html", line='title = ["a.xst::text", "xpath:.//a/@title"]\n'
                                'date = "td.by em span::attr(title)"\nnext = "a.nxt"'),
                    encoding="utf-8")
    assert load_config(path).feeds[1].select is not None


# ------------------------------------------------------------------ through the pipeline


def serve_pages(srv: FeedServer, **names: str) -> None:
    for route, name in names.items():
        ctype = "text/html" if name.endswith(".html") else "application/json"
        srv.route(f"/{route}", body=(PAGES / name).read_bytes(), headers={"Content-Type": ctype})


def requested(srv: FeedServer, path: str) -> int:
    return sum(1 for r in srv.requests if r.path == path)


def test_next_pages_are_walked_once_each_and_overlaps_count_once(tmp_path: Path) -> None:
    with FeedServer() as srv:
        serve_pages(srv, **{f"list-{n}.html": f"list-{n}.html" for n in (1, 2, 3)})
        feed = {"name": "工作动态", "url": srv.url("/list-1.html"), "type": "html",
                "select": {**LIST, "max_pages": 5}}
        cli = Cli(write_config(tmp_path / "a", feeds=[feed]))
        out = cli.json("fetch")
        assert out["feeds"][0]["ok"] is True and out["new_items"] == 8
        # page 3 links back to page 1: the walk ends there, every page fetched once
        assert [requested(srv, f"/list-{n}.html") for n in (1, 2, 3)] == [1, 1, 1]
        items = cli.json("items", "list", "--limit", "50")
        links = sorted(i["link"] for i in items)
        assert links == sorted(srv.url(f"/news/{n}.html") for n in range(1, 9))
        assert {i["title"] for i in items} >= {"区里召开优化营商环境推进会", "区文化馆公益课程招生"}
        again = cli.json("fetch")                       # the same pages: nothing new
        assert again["new_items"] == 0
        before = requested(srv, "/list-3.html")

        short = Cli(write_config(tmp_path / "b", feeds=[{**feed, "select": {**LIST,
                                                                            "max_pages": 2}}]))
        assert short.json("fetch")["new_items"] == 6    # pages 1 and 2, items 3-4 once
        assert requested(srv, "/list-3.html") == before  # max_pages = 2: never page 3


def wait(status: dict[str, Any]) -> timedelta:
    """How long the feed waits before its next check."""
    return (datetime.fromisoformat(status["next_check_at"])
            - datetime.fromisoformat(status["last_checked_at"]))


def told(robots: RobotReceiver) -> list[dict[str, Any]]:
    """What the admins were told about failing feeds."""
    return [r.body for r in robots.received("webhook", "ww")
            if r.body.get("problem") == "feed_failing"]


def test_a_layout_change_fails_the_feed_tells_admins_and_clears_when_fixed(
        tmp_path: Path) -> None:
    robots = RobotReceiver()
    robots.start()
    try:
        with FeedServer() as srv:
            serve_pages(srv, **{"forum-9-1.html": "discuz.html"})
            config = write_config(tmp_path, feeds=[{
                "name": "社区论坛", "url": srv.url("/forum-9-1.html"), "type": "html",
                "interval": "10m", "select": DISCUZ}], extra={
                "fetch": {"failure_alert_after": 2, "backoff_base": "1h"},
                "staff": [{"name": "王五", "webhook": robots.url_for("webhook", "ww",
                                                                     secret=None)}],
                "alerts": {"admins": ["王五"]}})
            cli = Cli(config)
            assert cli.json("fetch")["new_items"] == 4

            serve_pages(srv, **{"forum-9-1.html": "discuz_changed.html"})
            failed = cli("fetch", "--json")
            assert failed.exit_code == 1                      # a feed failed
            (out,) = json.loads(failed.stdout)["feeds"]
            assert out["ok"] is False and "item 选择器" in out["error"]
            (status,) = cli.json("feeds", "status")
            assert status["ok"] is False and status["last_error_kind"] == "layout"
            assert status["consecutive_failures"] == 1
            assert "tbody[id^=normalthread_]" in status["last_error"]
            assert srv.url("/forum-9-1.html") in status["last_error"]
            assert wait(status) > timedelta(minutes=40)   # backoff: 1 h, not the 10 min interval
            assert told(robots) == []                   # once is not yet "failing"
            text = cli("feeds", "status").output
            assert "异常" in text and "页面结构可能已变化" in text

            assert cli("fetch", "--json").exit_code == 1      # the second failure: admins hear
            (notice,) = told(robots)
            assert notice["problem"] == "feed_failing" and "社区论坛" in notice["title"]
            assert "页面结构可能已变化" in notice["detail"]
            (status,) = cli.json("feeds", "status")
            assert status["consecutive_failures"] == 2 and wait(status) > timedelta(minutes=90)

            serve_pages(srv, **{"forum-9-1.html": "discuz.html"})   # the selectors fixed
            (out,) = cli.json("fetch")["feeds"]
            assert out["ok"] is True
            (status,) = cli.json("feeds", "status")
            assert status["ok"] is True and status["consecutive_failures"] == 0
            assert [n["cleared"] for n in told(robots)] == [False, True]
    finally:
        robots.stop()


def test_a_gbk_forum_page_is_stored_readable(tmp_path: Path) -> None:
    with FeedServer() as srv:
        serve_pages(srv, **{"tzgg/": "gbk_gb2312.html"})
        cli = Cli(write_config(tmp_path, feeds=[{
            "name": "通知公告", "url": srv.url("/tzgg/"), "type": "html", "select": NEWS}]))
        assert cli.json("fetch")["new_items"] == 3
        titles = {i["title"] for i in cli.json("items", "list")}
        assert "区领导调研安全生产工作——喆园街道" in titles
