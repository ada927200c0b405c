"""The console in a real browser (Debian's Chromium through tests/browser.py): logging in
on a desktop, acknowledging from an alert's signed link on a phone, correcting an item's
tone on a phone, pages that fit a 390 px screen, hostile text that stays text, and no
console error, CSP violation or request off 127.0.0.1 on any page visited (checked by
every tab at teardown).

To add a flow, log in and submit forms with the helpers, e.g. resolving with a note::

    log_in(desktop, "张三")
    desktop.goto("/incidents/5")
    r = submit(desktop, 'form[action="/incidents/5/resolve"]',
               {"outcome": "responded", "note": "已核实"}, button="办结")
    assert r.status == 200 and desktop.served.web.store.get_incident(5).status == "resolved"

and likewise a rule edit that shows its error (``/rules/…``) or a report downloaded from
``/reports`` (``with desktop.page.expect_download() as d: …``).
"""

from __future__ import annotations

from typing import Any

import pytest

import browser
from browser import Served, Tab, assert_fits, log_in, submit, tap_button

OPEN = 5            # tests/seed.py: incident 5 is open (yellow, 环境扰民)
XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'

chromium = browser.chromium   # the fixtures: one browser per module,
served = browser.served       # the console for real on the seeded database,
phone = browser.phone         # a phone-sized tab,
desktop = browser.desktop     # a desktop tab


def test_logging_in_on_the_desktop(desktop: Tab) -> None:
    first = desktop.goto("/")
    assert first.status == 200 and "/login?next=" in desktop.page.url   # sent to log in
    wrong = log_in(desktop, "张三", "wrong password")
    assert wrong.status == 401
    assert "用户名或密码不正确" in desktop.page.get_by_role("alert").inner_text()
    right = log_in(desktop, "张三")
    assert right.status == 200 and desktop.page.url == desktop.served.url("/")
    assert desktop.page.locator("h1").inner_text() == "总览"
    assert "退出（张三" in desktop.page.get_by_role("button", name="退出").inner_text()


def test_a_signed_link_acknowledges_on_a_phone_once(phone: Tab) -> None:
    link = phone.served.link(OPEN, "张三")
    opened = phone.goto(link)
    assert opened.status == 200
    assert_fits(phone)
    done = tap_button(phone, "我来认领（张三）")
    assert done.status == 200
    assert "已认领" in phone.page.get_by_role("status").inner_text()
    assert_fits(phone)
    inc = phone.served.web.store.get_incident(OPEN)
    assert (inc.status, inc.acknowledged_by) == ("acknowledged", "张三")
    again = phone.goto(link)
    assert again.status == 410
    assert "使用过" in phone.page.locator("main").inner_text()
    assert phone.page.get_by_role("button", name="我来认领").count() == 0
    assert_fits(phone)


def test_pages_fit_a_phone_and_the_menu_opens(phone: Tab) -> None:
    phone.goto("/login")
    assert_fits(phone)
    log_in(phone, "王五")
    assert_fits(phone)
    nav = phone.page.locator("nav.nav")
    assert not nav.is_visible()                      # folded away on a phone
    phone.page.locator("label.nav-button").tap()
    assert nav.is_visible()
    assert_fits(phone)
    missing = phone.goto("/no-such-page")
    assert missing.status == 404
    assert_fits(phone)


def test_staff_correct_an_items_tone_on_a_phone(phone: Tab) -> None:
    web = phone.served.web
    item_id = web.item_id("甲一")                     # tests/webkit.py: the model says 负面
    log_in(phone, "张三")
    phone.goto("/items")
    assert_fits(phone)
    row = phone.page.locator(f"#item-{item_id}")
    assert row.locator(".tone").inner_text() == "负面"
    assert row.locator("mark.tone-negative").first.inner_text() == "甲一"
    with phone.page.expect_navigation() as nav:
        row.get_by_role("button", name="正面").tap()
    assert nav.value is not None and nav.value.status == 200
    assert phone.page.url == phone.served.url(f"/items#item-{item_id}")   # back where it was
    row = phone.page.locator(f"#item-{item_id}")
    assert row.locator(".tone").inner_text() == "正面"
    assert "已人工纠正（张三，" in row.locator(".tone-fixed").inner_text()
    assert row.get_by_role("button", name="正面").get_attribute("aria-pressed") == "true"
    assert_fits(phone)
    item = web.store.get_item(item_id)
    assert item is not None and item.effective_tone == "positive"
    assert [c.actor for c in web.store.tone_corrections(item_id=item_id)] == ["张三"]


def _hostile_incident(served: Served) -> int:
    store = served.web.store
    now = served.web.now
    store.create_incident({
        "id": 8, "title": XSS, "category": XSS, "level": "red", "status": "open",
        "first_seen": now, "last_seen": now, "items": 1, "sources": 1, "rules": ["x"],
        "categories": ["x"], "opened_at": now})
    return 8


def test_hostile_titles_stay_text_in_the_browser(phone: Tab) -> None:
    incident = _hostile_incident(phone.served)
    assert phone.goto(phone.served.link(incident, "张三")).status == 200
    assert phone.page.locator("h1").inner_text() == XSS
    assert phone.page.locator("main img, main script").count() == 0
    assert phone.dialogs == []                          # no alert() ran
    assert_fits(phone)


# ---- the harness itself: what it must catch -----------------------------------------------------

def test_the_harness_catches_a_csp_violation(desktop: Tab) -> None:
    desktop.goto("/login")
    desktop.page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.ran = 1'; document.body.appendChild(s); }""")
    desktop.page.wait_for_timeout(200)
    assert desktop.page.evaluate("window.ran") is None      # the CSP stopped it
    assert any("Content Security Policy" in e or "CSP violation" in e for e in desktop.errors)
    desktop.errors.clear()                                  # expected here: not a failure


def test_the_harness_keeps_the_browser_on_127_0_0_1(desktop: Tab) -> None:
    with pytest.raises(Exception, match="ERR_BLOCKED_BY_CLIENT"):
        desktop.page.goto("http://example.org/")
    assert desktop.outside == ["http://example.org/"]
    desktop.outside.clear()                                 # expected here: not a failure


def test_the_harness_records_page_errors(desktop: Tab) -> None:
    desktop.goto("/login")
    desktop.page.evaluate("() => { setTimeout(() => { throw new Error('boom'); }, 0); }")
    desktop.page.wait_for_timeout(200)
    errors: list[Any] = [e for e in desktop.errors if "boom" in e]
    assert errors
    desktop.errors.clear()


def test_from_the_alert_link_to_a_resolved_incident_on_a_phone(phone: Tab) -> None:
    """The staff member's whole path on the phone: the alert's link acknowledges in one
    tap, the page offers the login, and after it the incident is resolved with a note."""
    opened = phone.goto(phone.served.link(OPEN, "张三"))
    assert opened.status == 200
    tap_button(phone, "我来认领（张三）")
    with phone.page.expect_navigation():
        phone.page.get_by_role("link", name="登录控制台办结或调整级别").tap()
    assert "/login?next=" in phone.page.url
    landed = submit(phone, 'form[action="/login"]', {"name": "张三", "password": browser.PASSWORD},
                    button="登录", tap=True)
    assert landed.status == 200 and phone.page.url.endswith(f"/incidents/{OPEN}")
    assert_fits(phone)
    phone.page.locator("summary", has_text="办结").tap()      # the step folds open
    done = submit(phone, f'form[action="/incidents/{OPEN}/resolve"]',
                  {"outcome": "已回应", "note": "已联系施工单位整改并在问政平台答复"},
                  button="办结", tap=True)
    assert done.status == 200
    assert_fits(phone)
    inc = phone.served.web.store.get_incident(OPEN)
    assert (inc.status, inc.outcome, inc.resolved_by) == ("resolved", "responded", "张三")
    log = phone.page.locator("body").inner_text()
    assert "已联系施工单位整改并在问政平台答复" in log


def test_an_admin_edits_a_rule_with_an_error_and_sees_it(desktop: Tab) -> None:
    from support import ALERT_RULES

    rules_dir = desktop.served.web.config.rules.dir
    (rules_dir / "10-测试.yaml").write_text(ALERT_RULES, encoding="utf-8")
    log_in(desktop, "王五")
    desktop.goto("/rules/10-%E6%B5%8B%E8%AF%95.yaml/edit")
    broken = ALERT_RULES.replace("  level: yellow", "  level: yelow", 1)
    shown = submit(desktop, "form.rule-form", {"text": broken}, button="保存")
    assert shown.status in (200, 400)
    text = desktop.page.locator("body").inner_text()
    assert "10-测试.yaml:4" in text                                   # file:line
    assert "yelow" in desktop.page.locator("textarea[name=text]").input_value()  # kept
    assert (rules_dir / "10-测试.yaml").read_text("utf-8") == ALERT_RULES  # not saved
    fixed = submit(desktop, "form.rule-form", {"text": ALERT_RULES.replace("weight: 50",
                                                                          "weight: 55")},
                   button="保存")
    assert fixed.status == 200
    assert "weight: 55" in (rules_dir / "10-测试.yaml").read_text("utf-8")


def test_a_report_writer_downloads_the_annual_report(desktop: Tab, tmp_path) -> None:
    import docx

    log_in(desktop, "赵六")
    desktop.goto("/reports")
    page = desktop.page
    form = page.locator('form[action="/reports"]')
    form.locator('input[name="year"]').fill("2026")
    form.locator('select[name="format"]').select_option("docx")
    with page.expect_download() as info:
        page.get_by_role("button", name="生成并下载").click()
    download = info.value
    assert download.suggested_filename.endswith(".docx")
    assert "2026" in download.suggested_filename
    saved = tmp_path / "report.docx"
    download.save_as(saved)
    paragraphs = [p.text for p in docx.Document(str(saved)).paragraphs if p.text]
    assert paragraphs[0] == "2026年网络舆情监测与处置工作情况"
    assert "发现涉及本单位舆情" in paragraphs[1]
