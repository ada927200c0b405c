"""The console's door: login with argon2 and lockout, signed session cookies that expire
and die with a password change, CSRF on every form, the security headers, no page
without a login (but /healthz, static files and signed links), and /healthz itself."""

from __future__ import annotations

import json

from starlette.routing import Mount, Route

from monitor.web.app import all_routes
from monitor.web.security import SESSION_COOKIE

import webkit
from support import Cli
from webkit import PASSWORD, Web

OPEN = {"/login", "/healthz", "/incidents/{incident_id:int}/link"}

web = webkit.web   # the fixture: the console on the seeded database


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(web: Web) -> None:
    c = web.client()
    r = web.login(c, "张三")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    low = cookie.lower()
    assert "httponly" in low and "samesite=lax" in low
    assert "secure" in low                      # base_url is https
    assert PASSWORD not in cookie
    page = c.get("/")
    assert page.status_code == 200 and "张三" in page.text
    assert web.post(c, "/logout").status_code == 303
    assert c.get("/").status_code == 303
    kinds = [e.kind for e in web.store.list_log(kinds=["user."])]
    assert kinds.count("user.login") == 1 and "user.logout" in kinds


def test_no_secure_flag_over_plain_http(tmp_path, monkeypatch) -> None:
    w = Web(tmp_path, monkeypatch, base_url="http://10.0.0.5:8700")
    try:
        r = w.login(w.client(), "张三")
        assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()
    finally:
        w.close()


def test_wrong_passwords_lock_the_account_then_it_opens_again(web: Web) -> None:
    c = web.client()
    r = web.login(c, "张三", "wrong password")
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    unknown = web.login(c, "没有这个人", "wrong password")
    assert unknown.status_code == 401 and "用户名或密码不正确" in unknown.text  # same words
    for _ in range(4):
        r = web.login(c, "张三", "wrong password")
    assert r.status_code == 401 and "账号已锁定至" in r.text
    refused = web.login(c, "张三")                         # even the right password
    assert refused.status_code == 401 and "账号已锁定" in refused.text
    web.advance(minutes=16)
    assert web.login(c, "张三").status_code == 303
    kinds = [e.kind for e in web.store.list_log(kinds=["user."])]
    assert kinds.count("user.login_failed") == 7 and "user.locked" in kinds


def test_sessions_expire_and_end_with_a_password_change_or_disable(web: Web) -> None:
    c = web.client("张三")
    assert c.get("/").status_code == 200
    web.advance(hours=13)                                # [web] session_ttl is 12 h
    r = c.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    c = web.client("张三")
    cli = Cli(web.cfg_path)
    assert cli("users", "passwd", "张三", "--password-stdin",
               input="another long password\n").exit_code == 0
    assert c.get("/").status_code == 303
    c = web.client("赵六")
    assert cli("users", "disable", "赵六").exit_code == 0
    assert c.get("/").status_code == 303
    assert web.login(web.client(), "赵六").status_code == 401


def test_login_returns_to_the_page_asked_for_and_never_off_site(web: Web) -> None:
    c = web.client()
    r = c.get("/?status=open")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2F%3Fstatus%3Dopen"
    token = web.csrf(c, r.headers["location"])
    ok = c.post("/login", data={"name": "张三", "password": PASSWORD, "csrf": token,
                                "next": "/?status=open"})
    assert ok.headers["location"] == "/?status=open"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        c2 = web.client()
        r = c2.post("/login", data={"name": "张三", "password": PASSWORD,
                                    "csrf": web.csrf(c2), "next": evil})
        assert r.headers["location"] == "/", evil


def test_forms_without_the_csrf_token_are_refused(web: Web) -> None:
    c = web.client()
    web.csrf(c)                                            # a session exists
    r = c.post("/login", data={"name": "张三", "password": PASSWORD})
    assert r.status_code == 403 and "表单令牌" in r.text
    c = web.client("张三")
    assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert c.get("/").status_code == 200                 # still logged in


def test_every_route_needs_a_login_but_the_open_ones(web: Web) -> None:
    anonymous = web.client()
    checked = 0
    for route in all_routes():
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        path = route.path.replace("{incident_id:int}", "1").replace("{name}", "x")
        path = path.replace("{item_id:int}", "1").replace("{silence_id:int}", "1")
        for method in sorted(route.methods or []):
            if method == "HEAD":
                continue
            checked += 1
            if route.path in OPEN:
                continue
            r = anonymous.request(method, path)
            if method == "GET":
                assert r.status_code == 303, (method, path, r.status_code)
                assert r.headers["location"].startswith("/login"), path
            else:
                assert r.status_code in (401, 403), (method, path, r.status_code)
    assert checked >= 5


def test_security_headers_on_every_kind_of_response(web: Web) -> None:
    c = web.client()
    for path in ("/login", "/healthz", "/static/app.css", "/nowhere"):
        h = c.get(path).headers
        assert "script-src 'self'" in h["content-security-policy"], path
        assert "unsafe-inline" not in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-content-type-options"] == "nosniff"
    assert c.get("/login").headers["cache-control"] == "no-store"
    assert "no-store" not in c.get("/static/app.css").headers.get("cache-control", "")


def test_pages_have_no_inline_script_or_style(web: Web) -> None:
    c = web.client("王五")
    for path in ("/login", "/"):
        text = c.get(path).text
        assert "<script>" not in text and "style=" not in text and "<style" not in text
        assert 'onclick=' not in text


def test_an_oversized_post_is_refused_before_it_is_read(web: Web) -> None:
    r = web.client().post("/login", content=b"x" * (3 * 1024 * 1024),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_healthz_answers_without_login_as_json(web: Web) -> None:
    r = web.client().get("/healthz")
    doc = json.loads(r.text)
    assert set(doc) >= {"ok", "fetching", "delivery", "database", "at"}
    assert doc["database"] == {"ok": True}
    assert doc["fetching"]["feeds"] == 3
    assert r.status_code == (200 if doc["ok"] else 503)
    assert "secret" not in r.text.lower() and "access_token" not in r.text


def test_healthz_says_503_when_the_database_is_gone(web: Web) -> None:
    web.store.close()
    r = web.client().get("/healthz")
    assert r.status_code == 503 and json.loads(r.text)["database"]["ok"] is False


def test_users_cli(web: Web) -> None:
    cli = Cli(web.cfg_path)
    r = cli("users", "add", "钱七", "--role", "reporter", "--password-stdin",
            input="a long enough password\n")
    assert r.exit_code == 0 and "已添加用户 钱七（报告撰写人）" in r.stdout
    assert "值班名单" in r.stdout                        # not on the staff list: said so
    again = cli("users", "add", "钱七", "--role", "staff", "--password-stdin", input="x" * 9)
    assert again.exit_code == 1 and "已存在" in again.stderr
    short = cli("users", "add", "孙八", "--role", "staff", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "密码太短" in short.stderr
    role = cli("users", "add", "孙八", "--role", "boss", "--password-stdin",
               input="a long enough password\n")
    assert role.exit_code == 1 and "未知的角色" in role.stderr
    rows = cli.json("users", "list")
    assert {u["name"]: u["role"] for u in rows} == {"张三": "staff", "王五": "admin",
                                                   "赵六": "reporter", "钱七": "reporter"}
    assert all("hash" not in json.dumps(u) for u in rows)
    assert cli("users", "role", "钱七", "admin").exit_code == 0
    assert web.login(web.client(), "钱七", "a long enough password").status_code == 303
    added = web.store.list_log(kinds=["user.added"])
    assert [e.subject for e in added][-1] == "钱七"


def test_config_check_warns_about_the_console(web: Web, monkeypatch) -> None:
    cli = Cli(web.cfg_path)
    assert cli("config", "check").stderr == ""           # key set, base_url https
    monkeypatch.delenv("YUQING_WEB_SECRET")
    r = cli("config", "check")
    assert r.exit_code == 0 and "YUQING_WEB_SECRET 未设置" in r.stderr
    text = web.cfg_path.read_text("utf-8").replace("https://yuqing.example.org",
                                                   "http://10.1.2.3:8700")
    web.cfg_path.write_text(text, encoding="utf-8")
    assert "不经 HTTPS" in cli("config", "check").stderr
