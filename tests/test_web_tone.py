"""Tone in the console, over HTTP on the seeded database (tests/webkit.py gives 甲一, 甲二
and 乙一 a model's tone): the badge, the negative probability and the phrases behind the
tone marked wherever an item is shown (the items page, search results, an incident's items,
the dashboard) for every role; staff and admins correcting a tone (reporters refused, CSRF
checked, the page they came from and only this site's, who and when shown, the audit
record); hostile text inside a marked phrase staying text."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from monitor.models import ParsedItem
from monitor.rules import load_ruleset
from monitor.tone import Tone

import webkit
from webkit import Web

web = webkit.web

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
RULES = Path(__file__).parent / "fixtures" / "rules" / "valid"
NOW_SHOWN = "2026-12-02 12:00"          # seed.NOW in Beijing time


def _row(html: str, item_id: int) -> str:
    """The part of a page showing one item (its row, result or incident entry)."""
    m = re.search(rf'id="item-{item_id}"(.*?)</(?:tr|li)>', html, re.S)
    assert m, f"item {item_id} is not on the page"
    return m.group(1)


def _clean(text: str) -> None:
    assert SCRIPT not in text and "<img src=x" not in text
    assert "onerror=alert(1)>" not in text


def _story(w: Web, title: str = "某工地农民工欠薪", body: str = "项目部拖欠工资，太失望了",
           spans: tuple[tuple[int, int], ...] | None = None) -> tuple[int, int]:
    """An incident of one item dated today, scored yellow by a real ruleset, with a
    negative tone whose phrase is ``spans`` (default: 太失望了 in the body)."""
    rs = load_ruleset(RULES)
    when = w.now - timedelta(minutes=20)
    item_id = w.store.store_items("甲源", [ParsedItem(
        guid=f"tone-{title}", link="http://news.example/tone", title=title, body=body,
        published_at=when)], now=when)[0].id
    ev = rs.evaluate(title=title, body=body)
    w.store.save_evaluation(item_id, ev, version="t", now=when)
    text = f"{title}\n{body}"
    if spans is None:
        start = text.index("太失望了")
        spans = ((start, start + 4),)
    w.store.save_tone(item_id, Tone("negative", 0.87, 0.1, 0.03, spans), model="test")
    iid = w.store.create_incident({
        "title": title, "category": "欠薪讨薪", "level": ev.level or "yellow",
        "status": "open", "first_seen": when, "last_seen": when, "items": 1, "sources": 1,
        "rules": ["wage-arrears"], "categories": ["欠薪讨薪"], "opened_at": when})
    w.store.add_incident_item(iid, item_id=item_id, feed="甲源", level=ev.level or "yellow",
                              how="opened", similarity=None, seen_at=when, now=when, keys=[],
                              signature="s")
    return iid, item_id


# ---- shown wherever an item is shown -------------------------------------------------------

@pytest.mark.parametrize("user", list(webkit.USERS))
def test_every_role_sees_the_tone_on_the_latest_items(web: Web, user: str) -> None:
    page = web.client(user).get("/items").text
    neg = _row(page, web.item_id("甲一"))
    assert '<span class="tone tone-negative" data-tone="negative">负面</span>' in neg
    assert "负面概率 0.91" in neg
    assert '<mark class="tone-negative">甲一</mark>' in neg                 # title
    assert '甲一的<mark class="tone-negative">正文</mark>' in neg            # body excerpt
    assert "依据：" in neg
    pos = _row(page, web.item_id("甲二"))
    assert 'data-tone="positive">正面</span>' in pos and "负面概率 0.04" in pos
    assert '甲二的<mark class="tone-positive">正文</mark>' in pos
    neutral = _row(page, web.item_id("乙一"))
    assert 'data-tone="neutral">中性</span>' in neutral and "<mark" not in neutral
    assert "未判定" in _row(page, web.item_id("甲三"))                      # no tone yet
    forms = re.findall(r'action="/items/(\d+)/tone"', page)
    if user == "赵六":                                                     # a reporter
        assert forms == []
    else:
        assert sorted(map(int, forms)) == sorted(i.id for i in web.store.list_items(limit=50))


def test_search_results_mark_the_words_and_the_tones_phrases(web: Web) -> None:
    _, item_id = _story(web)
    c = web.client("张三")
    row = _row(c.get("/items", params={"q": "欠薪"}).text, item_id)
    assert "<mark>欠</mark>" in row or "<mark>欠薪</mark>" in row        # the query's words
    assert '工资，<mark class="tone-negative">太失望了</mark>' in row     # and the phrase
    assert 'data-tone="negative">负面</span>' in row and "负面概率 0.87" in row
    seeded = _row(c.get("/items", params={"q": "正文"}).text, web.item_id("甲一"))
    assert '<mark class="tone-negative">甲一</mark>' in seeded            # title: the phrase
    assert 'data-tone="negative">负面</span>' in seeded


def test_an_incidents_items_show_their_tone_with_the_rules_hits(web: Web) -> None:
    iid, item_id = _story(web)
    for user in webkit.USERS:
        page = web.client(user).get(f"/incidents/{iid}").text
        entry = _row(page, item_id)
        assert 'data-tone="negative">负面</span>' in entry and "负面概率 0.87" in entry
        assert '<mark class="tone-negative">太失望了</mark>' in entry
        assert "某<mark>工地</mark>" in entry                                  # a rule's hit
        assert (f'action="/items/{item_id}/tone"' in entry) == (user != "赵六")


def test_the_dashboard_shows_the_tone_of_todays_items(web: Web) -> None:
    _story(web, title="某工地农民工欠薪没人管",
           spans=((8, 11),))                                # 没人管 in the title
    page = web.client("赵六").get("/").text
    latest = page.split('id="today-h"')[1].split("</section>")[0]
    assert '<mark class="tone-negative">没人管</mark>' in latest
    assert 'data-tone="negative">负面</span>' in latest and "负面概率 0.87" in latest
    assert "tone-form" not in latest                       # corrected on the items' pages


# ---- corrections ---------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["张三", "王五"])
def test_staff_and_admins_correct_a_tone_and_go_back(web: Web, user: str) -> None:
    item_id = web.item_id("甲一")
    c = web.client(user)
    here = "/items?q=" + quote("甲一")
    r = web.post(c, f"/items/{item_id}/tone", {"tone": "positive", "next": here},
                 form_page=here)
    assert r.status_code == 303 and r.headers["location"] == f"{here}#item-{item_id}"
    item = web.store.get_item(item_id)
    assert item is not None
    assert (item.tone, item.tone_corrected, item.effective_tone) == \
        ("negative", "positive", "positive")                      # the model's kept
    [done] = web.store.tone_corrections(item_id=item_id)
    assert (done.tone, done.previous, done.actor, done.at) == \
        ("positive", "negative", user, web.now)
    [event] = web.store.list_log(kinds=["item.tone_corrected"])
    assert (event.actor, event.subject) == (user, str(item_id))
    row = _row(c.get(here).text, item_id)
    assert 'data-tone="positive">正面</span>' in row
    assert f"已人工纠正（{user}，{NOW_SHOWN}）" in row and "模型判为负面" in row
    assert 'value="positive" class="tone-button tone-positive" aria-pressed="true"' in row


def test_a_correction_from_an_incident_goes_back_to_it_and_shows_there(web: Web) -> None:
    iid, item_id = _story(web)
    c = web.client("张三")
    web.advance(minutes=5)
    r = web.post(c, f"/items/{item_id}/tone", {"tone": "neutral", "next": f"/incidents/{iid}"},
                 form_page=f"/incidents/{iid}")
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{iid}#item-{item_id}"
    # the form goes back to the incident itself, never to a step's confirmation or POST
    shown = c.get(f"/incidents/{iid}?done=ack").text
    assert f'name="next" value="/incidents/{iid}"' in shown
    entry = _row(c.get(f"/incidents/{iid}").text, item_id)
    assert 'data-tone="neutral">中性</span>' in entry
    assert "已人工纠正（张三，2026-12-02 12:05）" in entry
    # a second correction: the latest one counts and is shown
    web.advance(minutes=5)
    web.post(c, f"/items/{item_id}/tone", {"tone": "negative", "next": f"/incidents/{iid}"},
             form_page=f"/incidents/{iid}")
    entry = _row(c.get(f"/incidents/{iid}").text, item_id)
    assert 'data-tone="negative">负面</span>' in entry
    assert "已人工纠正（张三，2026-12-02 12:10）" in entry and "模型判为" not in entry
    assert [x.tone for x in web.store.tone_corrections(item_id=item_id)] == \
        ["neutral", "negative"]


def test_a_reporter_cannot_correct_a_tone(web: Web) -> None:
    item_id = web.item_id("甲一")
    c = web.client("赵六")
    r = web.post(c, f"/items/{item_id}/tone", {"tone": "positive", "next": "/items"},
                 form_page="/items")
    assert r.status_code == 403 and "权限不足" in r.text
    assert web.store.get_item(item_id).tone_corrected is None      # type: ignore[union-attr]
    assert web.store.tone_corrections() == []
    assert web.store.list_log(kinds=["item.tone_corrected"]) == []


def test_a_correction_without_the_csrf_token_is_refused(web: Web) -> None:
    item_id = web.item_id("甲一")
    c = web.client("张三")
    c.get("/items")
    for data in ({"tone": "positive"}, {"tone": "positive", "csrf": "forged"}):
        r = c.post(f"/items/{item_id}/tone", data=data)
        assert r.status_code == 403 and "表单令牌" in r.text
    assert web.client().post(f"/items/{item_id}/tone", data={"tone": "positive"}
                             ).status_code == 401                    # not logged in
    assert web.store.tone_corrections() == []


def test_a_bad_tone_or_item_is_refused_and_changes_nothing(web: Web) -> None:
    c = web.client("张三")
    item_id = web.item_id("甲一")
    for tone in ("", "angry", "负面"):
        r = web.post(c, f"/items/{item_id}/tone", {"tone": tone}, form_page="/items")
        assert r.status_code == 400 and "请选择" in r.text, tone
    r = web.post(c, "/items/99999/tone", {"tone": "negative"}, form_page="/items")
    assert r.status_code == 404 and "没有编号为 99999 的条目" in r.text
    gone = web.store.db.execute("SELECT id FROM items WHERE title = '甲删'").fetchone()[0]
    assert web.store.get_item(gone).deleted                          # type: ignore[union-attr]
    assert web.post(c, f"/items/{gone}/tone", {"tone": "negative"},
                    form_page="/items").status_code == 404
    assert web.store.tone_corrections() == []


@pytest.mark.parametrize("target, back", [
    ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"),
    ("", "/items"), (None, "/items"), ("/incidents/5#top", "/incidents/5"),
])
def test_going_back_stays_on_this_site(web: Web, target: str | None, back: str) -> None:
    item_id = web.item_id("甲二")
    data = {"tone": "neutral"} if target is None else {"tone": "neutral", "next": target}
    r = web.post(web.client("张三"), f"/items/{item_id}/tone", data, form_page="/items")
    assert r.status_code == 303 and r.headers["location"] == f"{back}#item-{item_id}"


# ---- hostile text --------------------------------------------------------------------------

def test_hostile_text_inside_a_marked_phrase_stays_text(web: Web) -> None:
    title, body = f"{SCRIPT}工地欠薪太失望了{IMG}", f"{IMG}没人管{SCRIPT}"
    text = f"{title}\n{body}"
    # the phrases cover the payloads: one in the title, one across the line break
    spans = ((0, len(SCRIPT) + 4), (text.index("太失望了"), len(title) + 1 + len(IMG) + 3))
    iid, item_id = _story(web, title=title, body=body, spans=spans)
    c = web.client("王五")
    pages = {path: c.get(path) for path in ("/items", "/items?q=" + quote("欠薪"),
                                           f"/incidents/{iid}", "/")}
    for path, r in pages.items():
        assert r.status_code == 200, path
        _clean(r.text)
    esc_script, esc_img = "&lt;script&gt;alert(1)&lt;/script&gt;", \
        "&lt;img src=x onerror=alert(1)&gt;"
    detail = pages[f"/incidents/{iid}"].text
    assert f'<mark class="tone-negative">{esc_script}' in detail          # escaped inside
    assert f'<mark class="tone-negative">太失望了{esc_img}</mark>' in detail
    assert f'<mark class="tone-negative">{esc_img}没人管</mark>{esc_script}' in detail
    listing = _row(pages["/items"].text, item_id)
    assert f'<mark class="tone-negative">{esc_script}工地欠薪</mark>' in listing
    assert f'<mark class="tone-negative">{esc_img}没人管</mark>' in listing
    assert f"{esc_script}工地欠薪" in pages["/"].text
