"""The dashboard and the incident pages: every route for every role (a reporter reads
everything and changes nothing, staff handle but cannot silence), the list's filters as
``store.list_incidents`` gives them, each handling step changing the incident and logging
its actor, refusals shown on the page, CSRF, hostile text shown only escaped, and the
dashboard's figures as the store has them."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.models import LEVELS, ParsedItem
from monitor.rules import load_ruleset
from monitor.web.views.dashboard import beijing_day

import webkit
from webkit import Web

web = webkit.web   # the fixture: the console on the seeded database

OPEN, ACKED, RESOLVED = 5, 6, 1          # tests/seed.py
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
RULES = Path(__file__).parent / "fixtures" / "rules" / "valid"
INCIDENT_ROW = re.compile(r'data-incident="(\d+)"')

GETS = ["/", "/incidents", f"/incidents/{OPEN}", f"/incidents/{ACKED}",
        f"/incidents/{RESOLVED}", "/incidents?status=resolved&level=red"]
# every step with a form that would succeed on incident 5 (open) or 1 (resolved)
POSTS: list[tuple[str, dict[str, str]]] = [
    (f"/incidents/{OPEN}/ack", {"note": "已联系"}),
    (f"/incidents/{OPEN}/level", {"level": "orange", "note": "媒体跟进"}),
    (f"/incidents/{OPEN}/resolve", {"outcome": "responded", "note": "已回应"}),
    (f"/incidents/{RESOLVED}/reopen", {"note": "再次发帖"}),
    (f"/incidents/{OPEN}/silence", {"duration": "2h", "note": "夜间施工已报备"}),
]


def _state(w: Web) -> Any:
    """Everything a handling step could change."""
    s = w.store
    return ([s.get_incident(i) for i in (OPEN, ACKED, RESOLVED)],
            [len(s.incident_log(i)) for i in (OPEN, ACKED, RESOLVED)],
            s.silences(), len(s.list_log()))


def _ids(html: str) -> list[int]:
    return [int(i) for i in INCIDENT_ROW.findall(html)]


def _story(w: Web, *, title: str = f"{SCRIPT}城南工地欠薪{IMG}") -> tuple[int, list[int]]:
    """An incident of two items from two feeds, scored by a real ruleset, whose texts
    hold XSS payloads; the items are dated today (Beijing time)."""
    rs = load_ruleset(RULES)
    now = w.now
    texts = [(f"{SCRIPT}某工地农民工欠薪", f"{IMG}项目部拖欠工资，农民工讨薪"),
             (f"转：{IMG}工地欠薪", f"正文{SCRIPT}")]
    ids: list[int] = []
    for n, (feed, (t, b)) in enumerate(zip(["甲源", "乙源"], texts, strict=True)):
        when = now - timedelta(minutes=30 - n * 10)
        stored = w.store.store_items(feed, [ParsedItem(
            guid=f"xss-{n}", link=f"http://news.example/xss/{n}", title=t, body=b,
            published_at=when)], now=when)
        item_id = stored[0].id
        ev = rs.evaluate(title=t, body=b)
        assert ev.level == "yellow"
        w.store.save_evaluation(item_id, ev, version="t", now=when)
        ids.append(item_id)
    first = now - timedelta(minutes=30)
    iid = w.store.create_incident({
        "title": title, "category": "欠薪讨薪", "level": "yellow", "status": "open",
        "first_seen": first, "last_seen": first + timedelta(minutes=10), "items": 2,
        "sources": 2, "rules": ["wage-arrears"], "categories": ["欠薪讨薪"],
        "opened_at": first, "link": "javascript:alert(1)",
        "ack_due_at": now + timedelta(hours=1), "respond_due_at": now + timedelta(hours=5)})
    for n, (item_id, feed) in enumerate(zip(ids, ["甲源", "乙源"], strict=True)):
        seen = first + timedelta(minutes=10 * n)
        w.store.add_incident_item(iid, item_id=item_id, feed=feed, level="yellow",
                                  how="opened" if n == 0 else "similar",
                                  similarity=None if n == 0 else 0.91, seen_at=seen,
                                  now=seen, keys=[], signature="s")
    w.store.log_step(iid, "opened", now=first, level="yellow", note=f"首条{SCRIPT}")
    return iid, ids


# ---- roles ------------------------------------------------------------------------------
@pytest.mark.parametrize("user", list(webkit.USERS))
def test_every_role_reads_every_page(web: Web, user: str) -> None:
    c = web.client(user)
    for path in GETS:
        r = c.get(path)
        assert r.status_code == 200, (user, path, r.text[:300])
    assert c.get("/incidents/9999").status_code == 404


def test_pages_need_a_login(web: Web) -> None:
    c = web.client()
    for path in GETS:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path, data in POSTS:
        assert c.post(path, data=data).status_code == 401
    assert web.store.get_incident(OPEN).status == "open"


def test_a_reporter_is_refused_every_step_and_changes_nothing(web: Web) -> None:
    c = web.client("赵六")
    page = c.get(f"/incidents/{OPEN}").text
    for action in ("ack", "level", "resolve", "reopen", "silence"):
        assert f"/incidents/{OPEN}/{action}" not in page       # no buttons it cannot use
    before = _state(web)
    for path, data in POSTS:
        r = web.post(c, path, data, form_page=f"/incidents/{OPEN}")
        assert r.status_code == 403 and "权限不足" in r.text, path
    assert _state(web) == before


def test_staff_handle_but_cannot_silence(web: Web) -> None:
    c = web.client("张三")
    page = c.get(f"/incidents/{OPEN}").text
    assert f"/incidents/{OPEN}/ack" in page and f"/incidents/{OPEN}/resolve" in page
    assert f"/incidents/{OPEN}/silence" not in page
    before = _state(web)
    r = web.post(c, f"/incidents/{OPEN}/silence", {"duration": "2h", "note": "x"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 403 and "权限不足" in r.text
    assert _state(web) == before
    for path, data in POSTS[:4]:
        r = web.post(c, path, data, form_page=f"/incidents/{OPEN}")
        assert r.status_code == 303, (path, r.text[:500])


def test_an_admin_takes_every_step(web: Web) -> None:
    c = web.client("王五")
    assert f"/incidents/{OPEN}/silence" in c.get(f"/incidents/{OPEN}").text
    for path, data in POSTS:
        r = web.post(c, path, data, form_page=f"/incidents/{OPEN}")
        assert r.status_code == 303, (path, r.text[:500])
        action = path.rsplit("/", 1)[1]
        assert r.headers["location"].endswith(f"?done={action}")


def test_only_the_steps_that_apply_to_the_status_are_offered(web: Web) -> None:
    c = web.client("王五")
    acked = c.get(f"/incidents/{ACKED}").text
    assert f"/incidents/{ACKED}/ack" not in acked and f"/incidents/{ACKED}/reopen" not in acked
    assert f"/incidents/{ACKED}/resolve" in acked and f"/incidents/{ACKED}/level" in acked
    resolved = c.get(f"/incidents/{RESOLVED}").text
    assert f"/incidents/{RESOLVED}/reopen" in resolved
    for action in ("ack", "resolve", "level", "silence"):
        assert f"/incidents/{RESOLVED}/{action}" not in resolved
    # the level form never offers the level the incident already has (5 is yellow)
    form = c.get(f"/incidents/{OPEN}").text.split(f"/incidents/{OPEN}/level")[1]
    options = re.findall(r'<option value="(\w+)"', form.split("</select>")[0])
    assert options == ["blue", "orange", "red"]


# ---- the steps --------------------------------------------------------------------------
def _audit(w: Web, kind: str, incident: int) -> list[str | None]:
    return [e.actor for e in w.store.list_log(kinds=[kind], subject=str(incident))]


def test_acknowledging_logs_the_user_and_confirms(web: Web) -> None:
    c = web.client("张三")
    r = web.post(c, f"/incidents/{OPEN}/ack", {"note": "已联系街道"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{OPEN}?done=ack"
    inc = web.store.get_incident(OPEN)
    assert (inc.status, inc.acknowledged_by, inc.acknowledged_at) == \
        ("acknowledged", "张三", web.now)
    step = web.store.incident_log(OPEN)[-1]
    assert (step.action, step.actor, step.note) == ("acknowledged", "张三", "已联系街道")
    assert _audit(web, "incident.acknowledged", OPEN) == ["张三"]
    page = c.get(r.headers["location"]).text
    assert "已认领：升级提醒已停止" in page and "已联系街道" in page


def test_setting_the_level_needs_a_note_and_logs_the_user(web: Web) -> None:
    c = web.client("张三")
    r = web.post(c, f"/incidents/{OPEN}/level", {"level": "red", "note": "  "},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 400 and "调整级别必须写明理由" in r.text
    r = web.post(c, f"/incidents/{OPEN}/level", {"level": "purple", "note": "x"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 400 and "请选择新的级别" in r.text
    assert web.store.get_incident(OPEN).level == "yellow"
    r = web.post(c, f"/incidents/{OPEN}/level", {"level": "red", "note": "多家媒体转载"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 303
    inc = web.store.get_incident(OPEN)
    assert inc.level == "red" and inc.level_reason == "张三 手动调高：多家媒体转载"
    step = web.store.incident_log(OPEN)[-1]
    assert (step.action, step.actor, step.level) == ("raised", "张三", "red")
    r = web.post(c, f"/incidents/{OPEN}/level", {"level": "yellow", "note": "核实后降级"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 303
    assert [(s.action, s.actor) for s in web.store.incident_log(OPEN)][-1] == ("lowered", "张三")
    assert "级别已调整" in c.get(r.headers["location"]).text


def test_resolving_needs_an_outcome_and_a_note(web: Web) -> None:
    c = web.client("王五")
    r = web.post(c, f"/incidents/{OPEN}/resolve", {"outcome": "responded", "note": ""},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 400 and "办结必须写明处置情况" in r.text
    r = web.post(c, f"/incidents/{OPEN}/resolve", {"outcome": "maybe", "note": "保留这段说明"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 400 and "请选择办结结果" in r.text
    assert "保留这段说明</textarea>" in r.text                 # what was typed is kept
    assert web.store.get_incident(OPEN).status == "open"
    r = web.post(c, f"/incidents/{OPEN}/resolve",
                 {"outcome": "false_positive", "note": "系施工公告，误报"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 303
    inc = web.store.get_incident(OPEN)
    assert (inc.status, inc.outcome, inc.resolved_by) == ("resolved", "false_positive", "王五")
    step = web.store.incident_log(OPEN)[-1]
    assert (step.action, step.actor, step.note) == ("resolved", "王五", "系施工公告，误报")
    assert _audit(web, "incident.resolved", OPEN) == ["王五"]
    page = c.get(r.headers["location"]).text
    assert "已办结" in page and "误报" in page


def test_reopening_a_resolved_incident(web: Web) -> None:
    c = web.client("张三")
    r = web.post(c, f"/incidents/{RESOLVED}/reopen", {"note": "当事人再次发帖"},
                 form_page=f"/incidents/{RESOLVED}")
    assert r.status_code == 303
    inc = web.store.get_incident(RESOLVED)
    assert (inc.status, inc.resolved_at, inc.outcome) == ("open", None, None)
    step = web.store.incident_log(RESOLVED)[-1]
    assert (step.action, step.actor, step.note) == ("reopened", "张三", "当事人再次发帖")
    page = c.get(r.headers["location"]).text
    assert "已重新打开" in page and f"/incidents/{RESOLVED}/ack" in page


def test_an_admin_silences_one_incident(web: Web) -> None:
    c = web.client("王五")
    r = web.post(c, f"/incidents/{OPEN}/silence", {"duration": "1d", "note": "夜间施工已报备"},
                 form_page=f"/incidents/{OPEN}")
    assert r.status_code == 303
    (s,) = web.store.silences(now=web.now)
    assert (s["scope"], s["value"], s["created_by"], s["note"]) == \
        ("incident", str(OPEN), "王五", "夜间施工已报备")
    assert s["until"] == web.now + timedelta(days=1)
    step = web.store.incident_log(OPEN)[-1]
    assert (step.action, step.actor) == ("silenced", "王五")
    assert [e.actor for e in web.store.list_log(kinds=["silence.added"])] == ["王五"]
    page = c.get(r.headers["location"]).text
    assert "已静默" in page and "夜间施工已报备" in page
    for bad, words in (({"duration": "soon", "note": "x"}, "无法识别的时长"),
                       ({"duration": "90d", "note": "x"}, "1 分钟到 30 天"),
                       ({"duration": "2h", "note": ""}, "静默必须写明理由")):
        r = web.post(c, f"/incidents/{OPEN}/silence", bad, form_page=f"/incidents/{OPEN}")
        assert r.status_code == 400 and words in r.text, bad
    assert len(web.store.silences()) == 1


ALERT = re.compile(r'<p class="card error" role="alert">(.*?)</p>')


def test_a_refused_step_is_a_message_on_the_page(web: Web) -> None:
    c = web.client("王五")
    before = _state(web)
    for path, data, said in (
            (f"/incidents/{ACKED}/ack", {"note": "我也来"}, "事件 #6 已由 张三 认领"),
            (f"/incidents/{RESOLVED}/resolve", {"outcome": "responded", "note": "x"},
             "事件 #1 已于此前办结"),
            (f"/incidents/{OPEN}/reopen", {}, "事件 #5 尚未办结，无需重新打开"),
            (f"/incidents/{RESOLVED}/ack", {}, "事件 #1 已办结；如需继续处置，请先重新打开"),
            (f"/incidents/{OPEN}/level", {"level": "yellow", "note": "x"}, "事件 #5 已是较大（黄）")):
        r = web.post(c, path, data, form_page="/incidents")
        assert r.status_code == 409, path
        assert ALERT.findall(r.text) == [said], path
        assert "<h1>#" in r.text                  # the incident's page, not an error page
    r = web.post(c, "/incidents/9999/ack", {}, form_page="/incidents")
    assert r.status_code == 404 and "没有编号为 9999 的舆情事件" in r.text
    assert _state(web) == before


def test_a_post_without_the_csrf_token_is_refused(web: Web) -> None:
    c = web.client("王五")
    before = _state(web)
    for path, data in POSTS:
        r = c.post(path, data=data)
        assert r.status_code == 403 and "表单令牌" in r.text, path
        r = c.post(path, data={**data, "csrf": "forged"})
        assert r.status_code == 403, path
    assert _state(web) == before


# ---- the list ---------------------------------------------------------------------------
def test_the_filters_give_what_the_store_gives(web: Web) -> None:
    from monitor.timefmt import read_time

    _story(web)
    c = web.client("赵六")
    cases: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({}, {}),
        ({"status": "resolved"}, {"status": "resolved"}),
        ({"status": "已认领"}, {"status": "acknowledged"}),
        ({"level": "red"}, {"level": "red"}),
        ({"min_level": "orange"}, {"min_level": "orange"}),
        ({"category": "欠薪讨薪"}, {"category": "欠薪讨薪"}),
        ({"outcome": "false_positive"}, {"outcome": "false_positive"}),
        ({"feed": "乙源"}, {"feed": "乙源"}),
        ({"text": "欠薪"}, {"text": "欠薪"}),
        ({"text": "拖欠工资"}, {"text": "拖欠工资"}),
        ({"since": "2026-03-01", "until": "2026-07-01"},
         {"since": read_time("2026-03-01"), "until": read_time("2026-07-01")}),
        ({"since": "2026-01-01", "min_level": "yellow", "status": "resolved"},
         {"since": read_time("2026-01-01"), "min_level": "yellow", "status": "resolved"}),
    ]
    for query, args in cases:
        r = c.get("/incidents", params=query)
        assert r.status_code == 200, query
        want = [i.id for i in web.store.list_incidents(**args)]
        assert _ids(r.text) == want, query
        if query:
            assert want != [i.id for i in web.store.list_incidents()] or query == {}, query
    assert _ids(c.get("/incidents", params={"text": "没有这个词"}).text) == []
    assert "没有符合条件的舆情事件" in c.get("/incidents", params={"level": "info"}).text


def test_bad_filters_are_told_in_chinese(web: Web) -> None:
    c = web.client("张三")
    for query, words in (({"since": "上周"}, "起始日期“上周”不是日期"),
                         ({"until": "2026-13-01"}, "截止日期“2026-13-01”不是日期"),
                         ({"since": "2026-05-01", "until": "2026-04-01"}, "截止日期须晚于起始日期"),
                         ({"level": "purple"}, "未知的级别“purple”"),
                         ({"status": "closed"}, "未知的状态“closed”"),
                         ({"outcome": "done"}, "未知的办结结果“done”"),
                         ({"page": "0"}, "页码“0”应为正整数"),
                         ({"page": "abc"}, "页码“abc”应为正整数")):
        r = c.get("/incidents", params=query)
        assert r.status_code == 400 and words in r.text, query
        assert _ids(r.text) == []
    r = c.get("/incidents", params={"level": "<script>"})
    assert "<script>" not in r.text.split("<main>")[1]


def test_the_list_pages_by_fifty(web: Web) -> None:
    base = web.now - timedelta(days=10)
    for n in range(60):
        at = base + timedelta(minutes=n)
        web.store.create_incident({"title": f"批量{n}", "category": "环境扰民", "level": "blue",
                                   "status": "open", "first_seen": at, "last_seen": at,
                                   "opened_at": at, "items": 1, "sources": 1})
    c = web.client("张三")
    first = c.get("/incidents", params={"status": "open"})
    ids1 = _ids(first.text)
    assert len(ids1) == 50
    m = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', first.text)
    assert m
    href = m.group(1).replace("&amp;", "&")
    assert "status=open" in href and "page=2" in href
    second = c.get(href)
    ids2 = _ids(second.text)
    assert ids1 + ids2 == [i.id for i in web.store.list_incidents(status="open")]
    assert len(ids2) == 62 - 50 and 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text
    assert _ids(c.get("/incidents", params={"status": "open", "page": "9"}).text) == []


# ---- one incident -----------------------------------------------------------------------
def test_the_detail_shows_items_hits_sources_alerts_log_and_clocks(web: Web) -> None:
    iid, _ = _story(web)
    c = web.client("赵六")
    page = c.get(f"/incidents/{iid}").text
    # the rules' hits are marked where they are, in titles and bodies
    assert "<mark>工地</mark>" in page and "<mark>欠薪</mark>" in page
    assert "<mark>项目部</mark>" in page and "<mark>拖欠工资</mark>" in page
    assert "命中规则：wage-arrears" in page and "内容相似 0.91" in page
    # sources over time: each feed with when it first carried the story, in that order
    timeline = page.split('id="sources-h"')[1].split("</section>")[0]
    first = web.now - timedelta(minutes=30)
    from monitor.timefmt import for_people
    assert timeline.index("甲源") < timeline.index("乙源")
    assert for_people(first) in timeline and for_people(first + timedelta(minutes=10)) in timeline
    # clocks, in Beijing time, with the time left
    assert "认领时限：" + for_people(web.now + timedelta(hours=1)) in page
    assert "还剩 1 小时" in page
    # the item links are shown, the incident's javascript: link is not a link
    assert 'href="http://news.example/xss/0" rel="noopener noreferrer"' in page
    assert "javascript:" not in page
    # alerts and their delivery status (seed: incident 1 has two sent, 2 one failed)
    one = c.get("/incidents/1").text
    assert one.count("delivery-sent") == 2 and "邮件" in one and "已发送" in one
    two = c.get("/incidents/2").text
    assert "delivery-failed" in two and "失败" in two and "连接被拒绝" in two
    # the handling log
    assert "已会同住建部门核实并公开回应" in one and "办结 · 张三" in one
    # past its due time with nobody acknowledging, the clock is missed
    assert "认领时限" in page and "进行中" in page
    web.advance(hours=2)
    later = c.get(f"/incidents/{iid}").text
    assert "（已超时）" in later and "还剩" in later.split("响应时限")[1]


def test_delivery_errors_are_shown_redacted(web: Web) -> None:
    from monitor.models import Message

    did = web.store.add_delivery(kind="opened", recipient="张三", channel="dingtalk",
                                 message=Message(subject="s", text="t", markdown="m", html="h"),
                                 dedup_key="leak", due_at=web.now, now=web.now,
                                 incident_id=OPEN)
    assert did is not None
    web.store.record_attempt(did, now=web.now, ok=False, status="failed",
                             error="HTTP 500 (https://oapi.dingtalk.com/robot/send?"
                                   "access_token=SEKRET-TOKEN-1234)")
    page = web.client("张三").get(f"/incidents/{OPEN}").text
    assert "HTTP 500" in page and "SEKRET-TOKEN-1234" not in page
    assert "access_token" not in page


def test_hostile_text_is_only_ever_shown_escaped(web: Web) -> None:
    iid, _ = _story(web)
    web.store.log_step(iid, "acknowledged", now=web.now, actor=f"张三{IMG}", note=SCRIPT)
    c = web.client("王五")
    for path in ("/", "/incidents", f"/incidents/{iid}", "/incidents?text=欠薪",
                 f"/incidents?category={SCRIPT}"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert SCRIPT not in r.text and IMG not in r.text, path
        assert "onerror=alert(1)>" not in r.text, path
    detail = c.get(f"/incidents/{iid}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "&lt;img src=x onerror=alert(1)&gt;" in detail
    # marked text is escaped around the marks too
    assert "&lt;script&gt;alert(1)&lt;/script&gt;某<mark>工地</mark>" in detail
    assert "&lt;script&gt;" in c.get("/").text and "&lt;img" in c.get("/incidents").text


# ---- the dashboard ----------------------------------------------------------------------
def _clock_incident(w: Web, title: str, **fields: Any) -> int:
    at = w.now - timedelta(hours=3)
    return w.store.create_incident({"title": title, "category": "安全生产", "level": "orange",
                                    "status": "open", "first_seen": at, "last_seen": at,
                                    "opened_at": at, "items": 1, "sources": 1, **fields})


def test_the_dashboard_shows_what_the_store_says(web: Web) -> None:
    iid, _ = _story(web)
    now = web.now
    soon = _clock_incident(web, "一小时内到期", ack_due_at=now + timedelta(minutes=50))
    late = _clock_incident(web, "已经超时", ack_due_at=now - timedelta(minutes=30))
    later = _clock_incident(web, "三小时后到期", ack_due_at=now + timedelta(hours=3))
    met = _clock_incident(web, "已认领的", status="acknowledged", acknowledged_by="张三",
                          acknowledged_at=now - timedelta(hours=1),
                          ack_due_at=now - timedelta(minutes=10),
                          respond_due_at=now + timedelta(minutes=90))
    web.store.record_failure("甲源", now=now, kind="timeout",
                             error="超时：https://a.example/rss?token=TOPSECRET99",
                             next_check_at=now + timedelta(minutes=15))
    page = web.client("赵六").get("/").text

    # open incidents by level, as the store lists them
    for lv in LEVELS:
        opened = len(web.store.list_incidents(status="open", level=lv))
        acked = len(web.store.list_incidents(status="acknowledged", level=lv))
        if lv != "info" or opened + acked:
            assert f'data-level="{lv}">{opened + acked}</b>' in page, lv
            assert f'data-open="{lv}">{opened}<' in page and \
                f'data-acknowledged="{lv}">{acked}<' in page, lv
    unresolved = (web.store.list_incidents(status="open")
                  + web.store.list_incidents(status="acknowledged"))
    listed = page.split('id="open-h"')[1].split("</section>")[0]
    shown = [int(i) for i in re.findall(r'href="/incidents/(\d+)"', listed)]
    assert sorted(shown) == sorted(i.id for i in unresolved)
    levels = [web.store.get_incident(i).level for i in shown]
    assert levels == sorted(levels, key=LEVELS.index, reverse=True)          # red first
    assert f"未办结的舆情事件（{len(unresolved)}）" in page

    # clocks due within two hours or past, soonest first; not the far one, not the met one
    clocks = page.split('id="clocks-h"')[1].split("</section>")[0]
    order = [int(i) for i in re.findall(r'href="/incidents/(\d+)"', clocks)]
    assert order == [late, soon, iid, met]
    assert later not in order
    assert "已超时 30 分钟" in clocks and "还剩 50 分钟" in clocks
    assert "响应时限" in clocks                               # met's respond clock

    # today's items: the count for the Beijing day, the latest scored ones
    start, end = beijing_day(now)
    today = len(web.store.list_items(since=start, until=end, limit=None))
    assert today == 2
    assert f'<b id="today-items">{today}</b>' in page
    latest = page.split('id="today-h"')[1].split("</section>")[0]
    assert latest.index("乙源") < latest.index("甲源")        # newest first
    assert "wage-arrears" in latest

    # feed health: the configured feeds as the store has them; errors redacted
    states = {s.name: s for s in web.store.feeds_status()}
    enabled = [f.name for f in web.config.feeds if f.enabled]
    failing = [n for n in enabled if states[n].ok is False]
    assert set(failing) == {"甲源", "乙源"}
    assert f'<b id="feeds-failing" class="error">{len(failing)}</b>' in page
    assert f'<b id="feeds-ok">{len(enabled) - len(failing)}</b>' in page
    assert '<b id="feeds-disabled">1</b>' in page
    assert "超时" in page and "HTTP 500" in page and "TOPSECRET99" not in page


def test_the_beijing_day_starts_at_midnight_beijing_time(web: Web) -> None:
    from datetime import UTC, datetime

    start, end = beijing_day(datetime(2026, 12, 2, 17, 30, tzinfo=UTC))    # 01:30 on the 3rd
    assert start.astimezone(UTC) == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)
