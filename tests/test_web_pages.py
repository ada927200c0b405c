"""The console's item search, silences, reports and ledgers, and user pages, over HTTP on
the seeded database: who may use which route, search results as ``store.search_items``
gives them with the hits marked and hostile text escaped, report and ledger downloads
that open in python-docx, lxml, zipfile and openpyxl, and every change in the audit log
with the console user as actor."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from urllib.parse import quote

import docx
import openpyxl
from lxml import html as lxml_html

from monitor import accounts
from monitor.models import ParsedItem
from monitor.report.stats import annual, compute

import webkit
from webkit import PASSWORD, Web

web = webkit.web

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
META_ID = re.compile(r'<p class="meta">#(\d+) ')
ROW_ID = re.compile(r'<td data-label="编号">#(\d+)</td>')


def _add_items(w: Web, titles: list[tuple[str, str]], feed: str = "甲源") -> None:
    w.store.store_items(feed, [
        ParsedItem(guid=f"t-{n}-{title}", link=f"https://news.example/{n}", title=title,
                   body=body, published_at=w.now - timedelta(hours=n))
        for n, (title, body) in enumerate(titles)], now=w.now)


def _clean(text: str) -> None:
    """No hostile markup survived: only its escaped form."""
    assert SCRIPT not in text and "<img src=x" not in text and "onerror=alert" not in \
        text.replace("onerror=alert(1)&gt;", "")


# ---- who may do what -----------------------------------------------------------------------

def test_every_page_route_for_staff_admin_and_reporter(web: Web) -> None:
    gets = {"/items": "read", "/items?q=甲一": "read", "/silences": "read",
            "/reports": "report", "/users": "admin"}
    posts = {"/silences": ("admin", {"scope": "category", "value": "x", "duration": "1h",
                                     "note": "n"}),
             "/silences/1/lift": ("admin", {}),
             "/reports": ("report", {"kind": "annual", "year": "2026", "format": "html"}),
             "/reports/ledger": ("report", {"what": "items", "format": "csv"}),
             "/users": ("admin", {"name": "新人", "role": "staff", "password": "x" * 10}),
             "/users/孙八/role": ("admin", {"role": "admin"}),
             "/users/孙八/password": ("admin", {"password": "y" * 10}),
             "/users/孙八/disable": ("admin", {}),
             "/users/孙八/enable": ("admin", {})}
    accounts.add_user(web.store, "孙八", "reporter", PASSWORD, by="测试", now=web.now)
    caps = {"张三": {"read", "handle"}, "王五": {"read", "handle", "report", "admin"},
            "赵六": {"read", "report"}}
    for name, has in caps.items():
        c = web.client(name)
        for path, cap in gets.items():
            r = c.get(path)
            assert r.status_code == (200 if cap in has else 403), (name, path, r.status_code)
            if cap not in has:
                assert "权限不足" in r.text
        for path, (cap, data) in posts.items():
            r = web.post(c, path, data, form_page="/items")
            if cap in has:
                assert r.status_code in (200, 303, 404), (name, path, r.status_code)
            else:
                assert r.status_code == 403 and "权限不足" in r.text, (name, path)
    sun = web.store.get_user("孙八")
    assert sun is not None and sun.role == "admin"              # the admin's change only
    assert web.store.get_user("新人") is not None


def test_navigation_shows_only_what_the_role_may_open(web: Web) -> None:
    staff = web.client("张三").get("/items").text
    assert 'href="/items"' in staff and 'href="/silences"' in staff
    assert 'href="/reports"' not in staff and 'href="/users"' not in staff
    reporter = web.client("赵六").get("/items").text
    assert 'href="/reports"' in reporter and 'href="/users"' not in reporter
    assert 'action="/silences"' not in web.client("赵六").get("/silences").text


def test_forms_without_a_csrf_token_are_refused(web: Web) -> None:
    c = web.client("王五")
    c.get("/users")
    for path, data in (("/silences", {"scope": "category", "value": "x", "duration": "1h",
                                       "note": "n"}),
                       ("/users", {"name": "钱七", "role": "staff", "password": "x" * 10}),
                       ("/users/赵六/disable", {}),
                       ("/reports", {"kind": "annual", "year": "2026", "format": "docx"}),
                       ("/reports/ledger", {"what": "items", "format": "csv"})):
        r = c.post(path, data=data)
        assert r.status_code == 403 and "表单令牌" in r.text, path
        r = c.post(path, data={**data, "csrf": "forged"})
        assert r.status_code == 403, path
    assert web.store.silences(now=web.now) == []
    assert web.store.get_user("钱七") is None
    assert web.store.get_user("赵六").active                    # type: ignore[union-attr]
    assert web.store.list_log(kinds=["report.generated"]) == []


# ---- item search ---------------------------------------------------------------------------

def test_search_results_are_the_stores_ranked_results_with_hits_marked(web: Web) -> None:
    _add_items(web, [("农民工讨薪欠薪", "工地上的欠薪问题"),
                     ("欠薪", "正文没有那个词"),
                     ("无关标题", "这里说到了欠薪的事情"),
                     ("完全无关", "什么也没有")])
    r = web.client("张三").get("/items", params={"q": "欠薪"})
    assert r.status_code == 200
    shown = [int(i) for i in META_ID.findall(r.text)]
    expected = [i.id for i in web.store.search_items("欠薪")]
    assert shown == expected and len(shown) == 3
    assert "农民工讨薪<mark>欠薪</mark>" in r.text
    assert "这里说到了<mark>欠薪</mark>的事情" in r.text
    assert 'href="https://news.example/0" rel="noopener noreferrer"' in r.text
    assert "甲源" in r.text and "2026-12-02" in r.text
    assert "完全无关" not in r.text


def test_traditional_characters_are_found_and_marked_where_they_stand(web: Web) -> None:
    _add_items(web, [("歡迎參觀", "正文")])
    r = web.client("张三").get("/items", params={"q": "欢迎"})
    assert "<mark>歡迎</mark>參觀" in r.text


def test_hostile_titles_and_bodies_are_escaped_in_results_and_listing(web: Web) -> None:
    _add_items(web, [(f"{SCRIPT}欠薪{IMG}", f"{IMG}正文欠薪{SCRIPT}")])
    c = web.client("张三")
    found = c.get("/items", params={"q": "欠薪"}).text
    _clean(found)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>欠薪</mark>&lt;img" in found
    listing = c.get("/items").text
    _clean(listing)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;欠薪" in listing
    assert "<mark>" not in listing
    query = c.get("/items", params={"q": SCRIPT}).text       # the query itself is echoed
    _clean(query)


def test_search_pages_by_fifty_and_says_when_there_are_more(web: Web) -> None:
    _add_items(web, [(f"坍塌通报第{n}号", "工地坍塌") for n in range(60)])
    c = web.client("张三")
    first = c.get("/items", params={"q": "坍塌"}).text
    second = c.get("/items", params={"q": "坍塌", "page": "2"}).text
    ids1 = [int(i) for i in META_ID.findall(first)]
    ids2 = [int(i) for i in META_ID.findall(second)]
    assert len(ids1) == 50 and len(ids2) == 10
    assert ids1 + ids2 == [i.id for i in web.store.search_items("坍塌", limit=100)]
    assert "还有更多结果" in first and "下一页" in first
    assert "还有更多结果" not in second and "上一页" in second
    assert "page=2" in first and "q=%E5%9D%8D%E5%A1%8C" in first
    past = c.get("/items", params={"q": "坍塌", "page": "3"}).text
    assert META_ID.findall(past) == [] and "没有更多结果了" in past


def test_without_a_query_the_latest_items_newest_first_with_filters(web: Web) -> None:
    c = web.client("张三")
    for q in ("", "   "):
        r = c.get("/items", params={"q": q})
        ids = [int(i) for i in ROW_ID.findall(r.text)]
        assert ids == [i.id for i in web.store.list_items(limit=50)] and ids, repr(q)
        assert "最新条目" in r.text
    feed = c.get("/items", params={"feed": "乙源"}).text
    assert [int(i) for i in ROW_ID.findall(feed)] == \
        [i.id for i in web.store.list_items(feed="乙源")]
    assert "乙一" in feed and "甲一" not in feed
    period = c.get("/items", params={"since": "2026-03-01", "until": "2026-04-01"}).text
    titles = re.findall(r'rel="noopener noreferrer" target="_blank">([^<]+)</a>', period)
    assert titles == ["甲六", "乙一", "甲五"]                   # 甲删 was deleted
    bad = c.get("/items", params={"since": "上周"})
    assert bad.status_code == 200 and "不是日期" in bad.text


def test_the_latest_items_page_by_fifty(web: Web) -> None:
    _add_items(web, [(f"条目{n}", "正文") for n in range(55)])
    c = web.client("张三")
    first = c.get("/items").text
    second = c.get("/items", params={"page": "2"}).text
    ids = [int(i) for i in ROW_ID.findall(first)] + [int(i) for i in ROW_ID.findall(second)]
    assert ids == [i.id for i in web.store.list_items(limit=None)]
    assert "还有更多结果" in first and "还有更多结果" not in second


# ---- silences ------------------------------------------------------------------------------

def test_an_admin_adds_and_lifts_a_silence_logged_as_that_admin(web: Web) -> None:
    admin = web.client("王五")
    r = web.post(admin, "/silences", {"scope": "category", "value": "环境扰民",
                                      "duration": "2h", "note": "夜间施工已报备"},
                 form_page="/silences")
    assert r.status_code == 303
    [s] = web.store.silences(now=web.now)
    assert (s["scope"], s["value"], s["note"], s["created_by"]) == \
        ("category", "环境扰民", "夜间施工已报备", "王五")
    assert s["until"] == web.now + timedelta(hours=2)
    page = admin.get(r.headers["location"]).text
    assert f"已添加静默 #{s['id']}" in page and "类别「环境扰民」" in page
    assert "2026-12-02 14:00" in page                       # 12:00 Beijing + 2 h
    staff = web.client("张三").get("/silences").text
    assert "夜间施工已报备" in staff and "/lift" not in staff
    assert web.post(admin, f"/silences/{s['id']}/lift", form_page="/silences"
                    ).status_code == 303
    assert web.store.silences(now=web.now) == []
    log = {e.kind: e for e in web.store.list_log(kinds=["silence."])}
    assert log["silence.added"].actor == "王五" and log["silence.lifted"].actor == "王五"
    assert log["silence.lifted"].subject == str(s["id"])
    again = web.post(admin, f"/silences/{s['id']}/lift", form_page="/silences")
    assert again.status_code == 404 and "生效中的静默" in again.text


def test_an_incident_silence_is_a_step_in_the_incidents_record(web: Web) -> None:
    admin = web.client("王五")
    r = web.post(admin, "/silences", {"scope": "incident", "value": "#5", "duration": "1d",
                                      "note": "已知问题"}, form_page="/silences")
    assert r.status_code == 303
    step = web.store.incident_log(5)[-1]
    assert (step.action, step.actor) == ("silenced", "王五") and "已知问题" in step.note
    missing = web.post(admin, "/silences", {"scope": "incident", "value": "999",
                                            "duration": "1d", "note": "x"},
                       form_page="/silences")
    assert missing.status_code == 400 and "999" in missing.text


def test_a_bad_silence_form_says_what_is_wrong_and_adds_nothing(web: Web) -> None:
    admin = web.client("王五")
    cases = [({"duration": "两小时"}, "无法识别的时长"), ({"note": " "}, "必须写明理由"),
             ({"value": ""}, "请填写要静默的类别"), ({"scope": "everything"}, "请选择静默范围"),
             ({"scope": "incident", "value": "abc"}, "应是数字"), ({"duration": "0h"}, "大于零")]
    for change, words in cases:
        data = {"scope": "category", "value": "环境扰民", "duration": "2h", "note": "理由",
                **change}
        r = web.post(admin, "/silences", data, form_page="/silences")
        assert r.status_code == 400 and words in r.text, (change, r.text[-500:])
    assert web.store.silences(now=web.now) == []


def test_silence_notes_are_escaped(web: Web) -> None:
    admin = web.client("王五")
    web.post(admin, "/silences", {"scope": "rule", "value": IMG, "duration": "1h",
                                  "note": SCRIPT}, form_page="/silences")
    _clean(web.client("赵六").get("/silences").text)


# ---- reports -------------------------------------------------------------------------------

def _disposition_name(r: object) -> str:
    header = r.headers["content-disposition"]                 # type: ignore[attr-defined]
    assert header.startswith("attachment;")
    m = re.search(r"filename\*=UTF-8''(\S+)", header)
    assert m, header
    return m.group(1)


def test_a_reporter_downloads_the_annual_docx_with_the_stats_figures(web: Web) -> None:
    c = web.client("赵六")
    r = web.post(c, "/reports", {"kind": "annual", "year": "2026", "format": "docx"},
                 form_page="/reports")
    assert r.status_code == 200, r.text[-400:]
    assert r.headers["content-type"] == ("application/vnd.openxmlformats-officedocument."
                                         "wordprocessingml.document")
    assert _disposition_name(r) == quote("2026年网络舆情监测与处置工作情况.docx")
    stats = compute(web.store, annual(2026), config=web.config, now=web.now)
    opening = [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs if p.text][1]
    assert f"发现涉及本单位舆情{stats.incidents_total}起" in opening
    assert f"较大及以上{stats.incidents_serious}起" in opening
    assert f"共监测信息{stats.items_total:,}条" in opening
    [event] = web.store.list_log(kinds=["report.generated"])
    assert event.actor == "赵六" and event.subject == "2026年网络舆情监测与处置工作情况.docx"
    assert event.details()["format"] == "docx" and event.details()["period"] == "2026年"


def test_a_period_report_as_html_parses(web: Web) -> None:
    c = web.client("王五")
    r = web.post(c, "/reports", {"kind": "period", "since": "2026-01-01",
                                 "until": "2026-07-01", "format": "html"}, form_page="/reports")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert _disposition_name(r) == quote("2026年1月1日至2026年6月30日网络舆情监测与处置工作情况.html")
    tree = lxml_html.fromstring(r.content.decode("utf-8"))
    assert "2026年1月1日至2026年6月30日" in tree.xpath("//h1")[0].text_content()


def test_a_markdown_report_is_a_zip_of_the_md_and_its_charts(web: Web) -> None:
    c = web.client("赵六")
    r = web.post(c, "/reports", {"kind": "annual", "year": "2026", "format": "md"},
                 form_page="/reports")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    stem = "2026年网络舆情监测与处置工作情况"
    assert _disposition_name(r) == quote(f"{stem}.zip")
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = z.namelist()
    md = z.read(f"{stem}.md").decode("utf-8")
    assert md.startswith("# 2026年网络舆情监测与处置工作情况")
    charts = [n for n in names if n.startswith(f"{stem}_图表/")]
    assert charts and all(n.endswith(".png") for n in charts)
    for chart in charts:                                # the md links each chart it holds
        assert chart in md
        assert z.read(chart).startswith(b"\x89PNG")


def test_report_form_errors_are_said_in_chinese(web: Web) -> None:
    c = web.client("赵六")
    cases = [({"kind": "annual", "year": "26", "format": "docx"}, "年份"),
             ({"kind": "period", "since": "", "format": "docx"}, "请填写起始日期"),
             ({"kind": "period", "since": "2026-05-01", "until": "2026-01-01",
               "format": "docx"}, "截止日期必须晚于起始日期"),
             ({"kind": "period", "since": "五月", "format": "docx"}, "不是日期"),
             ({"kind": "annual", "year": "2026", "format": "pdf"}, "请选择报告格式")]
    for data, words in cases:
        r = web.post(c, "/reports", data, form_page="/reports")
        assert r.status_code == 400 and "报告未生成" in r.text and words in r.text, data
    assert web.store.list_log(kinds=["report.generated"]) == []


def test_a_report_error_from_the_writer_shows_as_a_message(web: Web, monkeypatch) -> None:
    """A ``ReportError`` raised while writing (here: a folder that vanished) is the form
    page with its Chinese text, not a 500."""
    import tempfile

    from monitor.web.views import reports

    class Gone(tempfile.TemporaryDirectory):          # type: ignore[type-arg]
        def __enter__(self) -> str:
            return super().__enter__() + "/不存在"

    monkeypatch.setattr(reports.tempfile, "TemporaryDirectory", Gone)
    r = web.post(web.client("赵六"), "/reports", {"kind": "annual", "year": "2026",
                                                  "format": "docx"}, form_page="/reports")
    assert r.status_code == 400 and "报告未生成：目录不存在" in r.text


# ---- ledgers -------------------------------------------------------------------------------

def test_an_incident_ledger_as_xlsx_with_the_filters(web: Web) -> None:
    c = web.client("赵六")
    r = web.post(c, "/reports/ledger", {"what": "incidents", "since": "2026-01-01",
                                        "until": "2027-01-01", "level": "red",
                                        "format": "xlsx"}, form_page="/reports")
    assert r.status_code == 200
    assert r.headers["content-type"] == ("application/vnd.openxmlformats-officedocument."
                                         "spreadsheetml.sheet")
    assert _disposition_name(r) == quote("舆情事件台账_20261202.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "标题", "类别", "级别")
    assert sorted(row[0] for row in rows[1:]) == [1, 2]     # red and in 2026 (not #7)
    [event] = web.store.list_log(kinds=["report.generated"])
    assert event.actor == "赵六"
    assert event.details() == {"what": "incidents", "format": "xlsx", "rows": 2,
                               "filters": {"since": "2026-01-01", "until": "2027-01-01",
                                           "level": "red"}}


def test_an_item_ledger_as_csv_starts_with_the_bom(web: Web) -> None:
    _add_items(web, [(f"{SCRIPT}=1+2", "正文")], feed="乙源")
    r = web.post(web.client("王五"), "/reports/ledger", {"what": "items", "feed": "乙源",
                                                        "format": "csv"},
                 form_page="/reports")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("编号,标题,来源,链接")
    assert len(lines) == 3 and all(",乙源," in line for line in lines[1:])


def test_ledger_form_errors(web: Web) -> None:
    c = web.client("赵六")
    for data, words in (({"what": "people", "format": "csv"}, "请选择台账"),
                        ({"what": "items", "format": "pdf"}, "请选择台账格式"),
                        ({"what": "incidents", "level": "purple", "format": "csv"}, "级别"),
                        ({"what": "items", "since": "明天", "format": "csv"}, "不是日期")):
        r = web.post(c, "/reports/ledger", data, form_page="/reports")
        assert r.status_code == 400 and "台账未导出" in r.text and words in r.text, data


# ---- users ---------------------------------------------------------------------------------

def test_the_user_list_shows_roles_and_status_never_a_hash(web: Web) -> None:
    web.login(web.client(), "张三")
    for _ in range(5):
        web.login(web.client(), "赵六", "wrong password")
    r = web.client("王五").get("/users")
    assert r.status_code == 200
    assert "监测人员" in r.text and "报告撰写人" in r.text and "管理员" in r.text
    assert "锁定至 2026-12-02 12:15" in r.text
    assert "从未登录" not in r.text.split("张三")[1].split("</tr>")[0]
    assert "argon2" not in r.text and "$argon" not in r.text


def test_an_admin_adds_a_user_changes_role_password_and_disables(web: Web) -> None:
    admin = web.client("王五")
    r = web.post(admin, "/users", {"name": "钱七", "role": "reporter",
                                   "password": "a long enough password"}, form_page="/users")
    assert r.status_code == 303
    assert "已添加用户 钱七（报告撰写人）" in admin.get("/users").text
    qian = web.client()
    assert web.login(qian, "钱七", "a long enough password").status_code == 303
    assert qian.get("/reports").status_code == 200
    assert web.post(admin, "/users/钱七/role", {"role": "staff"}, form_page="/users"
                    ).status_code == 303
    assert web.store.get_user("钱七").role == "staff"            # type: ignore[union-attr]
    assert qian.get("/reports").status_code == 303             # the old session ended
    assert web.post(admin, "/users/钱七/password", {"password": "the new password"},
                    form_page="/users").status_code == 303
    assert web.login(web.client(), "钱七", "a long enough password").status_code == 401
    assert web.login(web.client(), "钱七", "the new password").status_code == 303
    assert web.post(admin, "/users/钱七/disable", form_page="/users").status_code == 303
    refused = web.login(web.client(), "钱七", "the new password")
    assert refused.status_code == 401 and "已停用" in refused.text
    assert "停用" in admin.get("/users").text
    assert web.post(admin, "/users/钱七/enable", form_page="/users").status_code == 303
    assert web.login(web.client(), "钱七", "the new password").status_code == 303
    changes = [e for e in web.store.list_log(kinds=["user.added", "user.changed"])
               if e.subject == "钱七"]
    assert [e.actor for e in changes] == ["王五"] * 5
    assert [e.details() for e in changes[1:]] == [
        {"role": "staff", "was": "reporter"}, {"password": "changed"}, {"active": False},
        {"active": True}]


def test_account_errors_show_on_the_page(web: Web) -> None:
    admin = web.client("王五")
    for data, words in (({"name": "张三", "role": "staff", "password": "x" * 10}, "已存在"),
                        ({"name": "孙八", "role": "staff", "password": "short"}, "密码太短"),
                        ({"name": "孙八", "role": "boss", "password": "x" * 10}, "未知的角色"),
                        ({"name": "孙 八", "role": "staff", "password": "x" * 10}, "不可用")):
        r = web.post(admin, "/users", data, form_page="/users")
        assert r.status_code == 400 and words in r.text, data
    r = web.post(admin, "/users/没有这人/disable", form_page="/users")
    assert r.status_code == 400 and "没有用户 没有这人" in r.text
    r = web.post(admin, "/users/赵六/password", {"password": "short"}, form_page="/users")
    assert r.status_code == 400 and "密码太短" in r.text
    assert web.login(web.client(), "赵六").status_code == 303  # the old password still works


def test_an_admin_cannot_disable_or_demote_themself(web: Web) -> None:
    admin = web.client("王五")
    r = web.post(admin, "/users/王五/disable", form_page="/users")
    assert r.status_code == 400 and "不能停用自己的账号" in r.text
    r = web.post(admin, "/users/王五/role", {"role": "staff"}, form_page="/users")
    assert r.status_code == 400 and "不能取消自己的管理员角色" in r.text
    me = web.store.get_user("王五")
    assert me is not None and me.active and me.role == "admin"
    assert admin.get("/users").status_code == 200               # still logged in


def test_an_admin_changing_their_own_password_stays_logged_in(web: Web) -> None:
    admin = web.client("王五")
    other = web.client("王五")                                 # another device
    r = web.post(admin, "/users/王五/password", {"password": "my new password"},
                 form_page="/users")
    assert r.status_code == 303
    page = admin.get("/users")
    assert page.status_code == 200 and "其他设备上的登录已失效" in page.text
    assert other.get("/users").status_code == 303
    assert web.login(web.client(), "王五", PASSWORD).status_code == 401


def test_hostile_user_names_are_escaped(web: Web) -> None:
    admin = web.client("王五")
    r = web.post(admin, "/users", {"name": "<img/src=x/onerror=alert(1)>", "role": "staff",
                                   "password": "x" * 10}, form_page="/users")
    assert r.status_code == 303
    text = admin.get("/users").text
    assert "<img/src=x" not in text and "&lt;img/src=x/onerror=alert(1)&gt;" in text


def test_pages_have_no_inline_script_or_style(web: Web) -> None:
    c = web.client("王五")
    _add_items(web, [("欠薪", "欠薪")])
    for path in ("/items", "/items?q=欠薪", "/silences", "/reports", "/users"):
        text = c.get(path).text
        assert "<script>" not in text and "style=" not in text and "<style" not in text
        assert not re.search(r"<[^>]+\son[a-z]+=", text), path
