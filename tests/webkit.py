"""The web console on the seeded database of tests/seed.py: the real app (Starlette) over a
real SQLite file, driven over HTTP in-process by Starlette's TestClient (httpx), with a
clock the test moves. Accounts: 张三 (staff, on the staff list), 王五 (admin), 赵六
(reporter); all with :data:`PASSWORD`. Three seeded items have a model's tone
(:data:`TONED`: 甲一 negative with a phrase in its title and one in its body, 甲二 positive
with one in its body, 乙一 neutral with none); the others have none yet."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from monitor import accounts
from monitor.config import load_config
from monitor.store import Store
from monitor.tone import Tone
from monitor.web.app import create_app
from monitor.web.context import WebContext

from seed import NOW, seed

SECRET = "web-test-secret-0123456789abcdef"
PASSWORD = "correct horse battery"
USERS = {"张三": "staff", "王五": "admin", "赵六": "reporter"}
BASE_URL = "https://yuqing.example.org"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# seeded item title -> its stored tone; spans are offsets into title + "\n" + body, and a
# seeded body is the title + "的正文" (so 甲一's spans are its title and its body's 正文)
TONED: dict[str, Tone] = {
    "甲一": Tone("negative", 0.91, 0.06, 0.03, ((0, 2), (6, 8))),
    "甲二": Tone("positive", 0.04, 0.16, 0.80, ((6, 8),)),
    "乙一": Tone("neutral", 0.12, 0.80, 0.08, ()),
}


class Web:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
                 base_url: str = BASE_URL) -> None:
        monkeypatch.setenv("YUQING_WEB_SECRET", SECRET)
        self.cfg_path, self.db = seed(tmp_path)
        with self.cfg_path.open("a", encoding="utf-8") as f:
            f.write(f'\n[web]\nenabled = true\nbase_url = "{base_url}"\n')
        self.config = load_config(self.cfg_path)
        self.now: datetime = NOW
        self.store = Store(self.db)
        for name, role in USERS.items():
            accounts.add_user(self.store, name, role, PASSWORD, by="测试", now=self.now)
        for title, tone in TONED.items():
            self.store.save_tone(self.item_id(title), tone, model="test")
        self.ctx = WebContext(self.config, self.store, lambda: self.now, SECRET,
                              config_path=self.cfg_path)
        self.app = create_app(self.ctx)

    def item_id(self, title: str) -> int:
        """The id of the seeded item with this title."""
        return next(i.id for i in self.store.list_items(limit=None) if i.title == title)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)

    def client(self, user: str | None = None) -> TestClient:
        # the browser sees the console at base_url (behind a TLS proxy when https)
        c = TestClient(self.app, base_url=self.config.web.base_url or "http://127.0.0.1",
                       follow_redirects=False)
        if user is not None:
            r = self.login(c, user)
            assert r.status_code == 303, r.text
        return c

    @staticmethod
    def csrf(c: TestClient, path: str = "/login") -> str:
        r = c.get(path)
        m = CSRF.search(r.text)
        assert m, f"no CSRF token on {path}: {r.status_code}"
        return m.group(1)

    def login(self, c: TestClient, name: str, password: str = PASSWORD) -> Any:
        return c.post("/login", data={"name": name, "password": password,
                                      "csrf": self.csrf(c, "/login"), "next": "/"})

    def post(self, c: TestClient, path: str, data: dict[str, Any] | None = None, *,
             form_page: str = "/") -> Any:
        """POST with the CSRF token a page of the session carries."""
        return c.post(path, data={**(data or {}), "csrf": self.csrf(c, form_page)})

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    w = Web(tmp_path, monkeypatch)
    yield w
    w.close()
