"""Signed action links from alerts: a valid link opens the incident and acknowledges it in
one tap as its recipient, once; an expired, reused, altered link, one shown with another
incident or for someone no longer on the staff list, gets a clear refusal page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from monitor.alerts.links import incident_url, make_token, read_token

import webkit
from webkit import BASE_URL, SECRET, Web

OPEN = 5            # tests/seed.py: incident 5 is open (yellow, 环境扰民)

web = webkit.web   # the fixture: the console on the seeded database


def _link(w: Web, incident: int = OPEN, recipient: str = "张三") -> str:
    url = incident_url(w.config, incident, recipient, now=w.now)
    assert url is not None and url.startswith(f"{BASE_URL}/incidents/{incident}/link?token=")
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _csrf(page: str) -> str:
    from webkit import CSRF

    m = CSRF.search(page)
    assert m
    return m.group(1)


def test_a_link_opens_the_incident_and_acknowledges_it_once(web: Web) -> None:
    phone = web.client()                                  # no login
    path = _link(web)
    r = phone.get(path)
    assert r.status_code == 200
    assert "我来认领（张三）" in r.text and "#5" in r.text
    done = phone.post(path, data={"csrf": _csrf(r.text)})
    assert done.status_code == 200 and "已认领" in done.text
    inc = web.store.get_incident(OPEN)
    assert (inc.status, inc.acknowledged_by) == ("acknowledged", "张三")
    steps = [(s.action, s.actor) for s in web.store.incident_log(OPEN)]
    assert ("acknowledged", "张三") in steps
    used = web.store.list_log(kinds=["user.link_used"])
    assert [(e.subject, e.actor) for e in used] == [("5", "张三")]
    again = phone.get(path)
    assert again.status_code == 410 and "已" in again.text and "使用过" in again.text
    assert "我来认领" not in again.text


def test_a_link_for_an_acknowledged_incident_stays_unused(web: Web) -> None:
    path = _link(web, incident=6)                          # 6 is acknowledged by 张三
    phone = web.client()
    r = phone.get(path)
    assert r.status_code == 200 and "已由 张三" in r.text and "我来认领" not in r.text
    post = phone.post(path, data={"csrf": _csrf(phone.get("/login").text)})
    assert post.status_code == 409 and "已由 张三 认领" in post.text
    assert web.store.list_log(kinds=["user.link_used"]) == []


def test_expired_altered_and_misplaced_links_are_refused(web: Web) -> None:
    path = _link(web)
    phone = web.client()
    token = parse_qs(urlsplit(path).query)["token"][0]

    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    r = phone.get(f"/incidents/{OPEN}/link?token={altered}")
    assert r.status_code == 403 and "链接无效" in r.text and "我来认领" not in r.text

    other = phone.get(f"/incidents/1/link?token={token}")
    assert other.status_code == 403 and "另一起事件" in other.text

    forged = make_token("another-key-0123456789abcdef", OPEN, "张三", now=web.now)
    assert phone.get(f"/incidents/{OPEN}/link?token={forged}").status_code == 403
    assert phone.get(f"/incidents/{OPEN}/link").status_code == 403      # no token

    stranger = make_token(SECRET, OPEN, "不在名单的人", now=web.now)
    r = phone.get(f"/incidents/{OPEN}/link?token={stranger}")
    assert r.status_code == 403 and "不在值班名单" in r.text

    web.advance(days=8)                                   # [web] link_ttl is 7 days
    r = phone.get(path)
    assert r.status_code == 410 and "链接已过期" in r.text
    post = phone.post(path, data={"csrf": _csrf(phone.get("/login").text)})
    assert post.status_code == 410
    assert web.store.get_incident(OPEN).status == "open"
    reasons = [e.details()["reason"] for e in web.store.list_log(kinds=["user.link_refused"])]
    assert {"invalid", "other-incident", "unknown-recipient", "expired"} <= set(reasons)


def test_a_post_without_the_pages_csrf_token_does_nothing(web: Web) -> None:
    path = _link(web)
    phone = web.client()
    phone.get(path)
    r = phone.post(path, data={"csrf": "forged"})
    assert r.status_code == 403
    assert web.store.get_incident(OPEN).status == "open"


def test_the_token_carries_incident_recipient_and_time(web: Web) -> None:
    token = make_token(SECRET, 12, "李四", now=web.now)
    link = read_token(SECRET, token, now=web.now, max_age=60)
    assert (link.incident_id, link.recipient, link.issued_at) == (12, "李四", web.now)
    assert link.nonce != read_token(SECRET, make_token(SECRET, 12, "李四", now=web.now),
                                    now=web.now, max_age=60).nonce
