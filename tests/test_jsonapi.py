"""JSON APIs (``type = "json"``): a saved 留言板 answer with millisecond dates and ids only
(``link_template``), the extractor on hostile and changed answers, and the real pipeline
(``yuqing fetch``) on the API served from 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import SelectConfig
from monitor.errors import ParseError
from monitor.parse.feeds import parse_in_worker
from monitor.parse.jsonapi import parse_json_api

from servers import FeedServer
from support import FIXTURES, Cli, write_config

API = FIXTURES / "pages" / "liuyan.json"
URL = "https://liuyan.example.gov.cn/api/msg/list?pageNo=1&pageSize=20"
NOW = datetime(2024, 3, 8, 2, 0, tzinfo=UTC)
LIUYAN = {"item": "data.list", "title": "title", "date": "createTime", "body": "content",
          "author": "userName", "link_template": "/detail.html?tid={tid}"}


def recipe(select: dict[str, Any]) -> dict[str, Any]:
    return SelectConfig.model_validate(select).model_dump()


def parse(doc: Any, select: dict[str, Any], url: str = URL) -> Any:
    content = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode()
    return parse_json_api(content, recipe(select), base_url=url, now=NOW)


def test_liuyan_api_with_millisecond_dates_and_a_link_template() -> None:
    feed = parse(API.read_bytes(), LIUYAN)
    assert [i.title for i in feed.items] == [
        "关于东环路夜间施工噪音扰民的投诉", "幸福里小区物业欠薪 保安停工", "建议增设公交线路"]
    assert [i.link for i in feed.items] == [
        f"https://liuyan.example.gov.cn/detail.html?tid={n}" for n in (50231, 50228, 50220)]
    assert [i.published_at for i in feed.items] == [
        datetime(2024, 3, 5, 2, 20, tzinfo=UTC),       # 1709605200000 ms
        datetime(2024, 3, 4, 2, 20, tzinfo=UTC),
        datetime(2024, 3, 1, 2, 20, tzinfo=UTC)]       # "2024-03-01 10:20" Beijing time
    assert feed.items[0].body == "东环路工地每天晚上十一点后还在施工，\n严重影响附近居民休息。"
    assert feed.items[1].body == "小区保安已经三个月没发工资了 希望有关部门介入"
    assert [i.author for i in feed.items] == ["匿名网友", "业主", None]
    assert all(i.guid is None for i in feed.items)
    assert (feed.format, feed.encoding, feed.link) == ("json", "utf-8", URL)


def test_seconds_iso_numbers_and_relative_links() -> None:
    doc = {"rows": [
        {"id": 7, "subject": 20240305, "url": "/m/7", "ts": 1709605200, "n": 3.0},
        {"id": 8, "subject": "二", "url": " https://other.org/m/8", "ts": "2024-03-05T10:20:00+08:00"},
        {"id": 9, "subject": "三", "url": "javascript:void(0)", "ts": None}]}
    feed = parse(doc, {"item": "rows", "title": "subject", "link": "url", "date": "ts",
                       "body": "n"})
    assert [i.title for i in feed.items] == ["20240305", "二", "三"]     # numbers as text
    assert feed.items[0].body == "3"
    assert [i.link for i in feed.items] == [
        "https://liuyan.example.gov.cn/m/7", "https://other.org/m/8", None]
    assert [i.published_at for i in feed.items] == [
        datetime(2024, 3, 5, 2, 20, tzinfo=UTC), datetime(2024, 3, 5, 2, 20, tzinfo=UTC), None]


def test_expressions_run_inside_each_element_and_alternatives_are_tried() -> None:
    doc = {"result": {"records": [
        {"info": {"t": "甲"}, "tags": ["投诉", "噪音"]},
        {"name": "乙", "tags": []}]}}
    feed = parse(doc, {"item": "result.records", "title": ["info.t", "name"], "body": "tags"})
    assert [(i.title, i.body) for i in feed.items] == [("甲", "投诉 噪音"), ("乙", "")]


def test_the_link_template_fills_values_safely() -> None:
    doc = {"list": [{"tid": "1&admin=1", "title": "一"}, {"title": "没有编号"}]}
    feed = parse(doc, {"item": "list", "title": "title",
                       "link_template": "https://x.gov.cn/d?id={tid}"})
    assert [i.link for i in feed.items] == ["https://x.gov.cn/d?id=1%26admin%3D1", None]


def test_a_changed_api_is_a_layout_failure_naming_the_expression() -> None:
    doc = json.loads(API.read_text("utf-8"))
    moved = {"code": 200, "result": doc["data"]}
    with pytest.raises(ParseError) as ei:
        parse(moved, LIUYAN, url=URL + "&token=abcdef123")
    assert ei.value.kind == "layout"
    assert "item 表达式 'data.list'" in str(ei.value) and "token=***" in str(ei.value)
    renamed = {"data": {"list": [{**m, "title": None, "msgTitle": m["title"]}
                                 for m in doc["data"]["list"]]}}
    with pytest.raises(ParseError) as ei:
        parse(renamed, LIUYAN)
    assert ei.value.kind == "layout" and "title 表达式 'title'" in str(ei.value)
    with pytest.raises(ParseError) as ei:
        parse(doc, {**LIUYAN, "link_template": "/detail.html?tid={msgId}"})
    assert ei.value.kind == "layout" and "link_template" in str(ei.value)
    with pytest.raises(ParseError) as ei:
        parse({"data": {"list": []}}, LIUYAN)
    assert ei.value.kind == "layout"


@pytest.mark.parametrize(("content", "needle"), [
    (b"<html><body>\xe8\xaf\xb7\xe7\x99\xbb\xe5\xbd\x95</body></html>", "网页而不是 JSON"),
    (b'{"data": [1, 2', "不是合法的 JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "嵌套"),
    (b"   ", "为空"),
])
def test_hostile_or_broken_answers_are_parse_errors(content: bytes, needle: str) -> None:
    with pytest.raises(ParseError) as ei:
        parse(content, LIUYAN)
    assert ei.value.kind == "parse" and needle in str(ei.value)


def test_the_worker_entry_point_dispatches_json_recipes() -> None:
    feed = parse_in_worker(API.read_bytes(), "application/json", None, "Asia/Shanghai", URL,
                           NOW, {"type": "json", "select": recipe(LIUYAN)})
    assert len(feed.items) == 3 and feed.format == "json"


def test_the_api_through_the_pipeline(tmp_path: Path) -> None:
    with FeedServer() as srv:
        srv.route("/api/msg/list", body=API.read_bytes(),
                  headers={"Content-Type": "application/json;charset=UTF-8"})
        cli = Cli(write_config(tmp_path, feeds=[{
            "name": "留言板", "url": srv.url("/api/msg/list?pageNo=1"), "type": "json",
            "select": LIUYAN}]))
        assert cli.json("fetch")["new_items"] == 3
        items = cli.json("items", "list")
        assert {i["link"] for i in items} == {srv.url(f"/detail.html?tid={n}")
                                              for n in (50231, 50228, 50220)}
        dated = {i["title"]: i["published_at"] for i in items}
        assert datetime.fromisoformat(dated["建议增设公交线路"]) == datetime(
            2024, 3, 1, 2, 20, tzinfo=UTC)
        assert cli.json("fetch")["new_items"] == 0             # deduplicated by link
        (status,) = cli.json("feeds", "status")
        assert status["ok"] is True and status["items_total"] == 3
