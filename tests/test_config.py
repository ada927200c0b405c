"""Config validation: errors name the file, the line, the key and a hint, in Chinese."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from monitor.config import dump_config, load_config
from monitor.config_errors import find_key_line
from monitor.errors import ConfigError

from support import run_yuqing, write_config

BASE = """[storage]
path = "../data/monitor.db"

[rules]
dir = "../rules"

[[feeds]]
name = "甲"
url = "http://127.0.0.1:1/a.xml"
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    p = tmp_path / "config" / "monitor.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("extra", "key", "line", "needle"), [
    ('interval = "15x"\n', "feeds[0].interval", 10, "时长"),
    ('intervall = "15m"\n', "feeds[0].intervall", 10, "interval"),
    ('enabled = "yes"\n', "feeds[0].enabled", 10, "true 或 false"),
    ('encoding = "gbk-nope"\n', "feeds[0].encoding", 10, "编码"),
    ('timezone = "Mars/Base"\n', "feeds[0].timezone", 10, "时区"),
    ('\n[[feeds]]\nname = "甲"\nurl = "http://127.0.0.1:1/b.xml"\n', "feeds[1].name", 12, "重复"),
    ('\n[[feeds]]\nname = "乙"\nurl = "ftp://x/b.xml"\n', "feeds[1].url", 13, "http"),
    ('\n[fetch]\nallow_private_networks = ["10.0.0.0/33"]\n', "fetch.allow_private_networks[0]", 12, "CIDR"),
    ('\n[web]\nlisten = "8700"\n', "web.listen", 12, "主机:端口"),
    ('\n[[staff]]\nname = "张三"\n[[routes]]\nnotify = ["李四"]\n', "routes[0].notify", 14, "李四"),
    ('\n[[routes]]\nnotify = []\nmin_level = "purple"\n', "routes[0].min_level", 13, "yellow"),
])
def test_bad_values_name_file_line_key_and_hint(tmp_path, extra, key, line, needle):
    path = _write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    found = [e for e in ei.value.all if e.key == key]   # routes: notify = [] is wrong too
    assert found, str(ei.value)
    msg = str(found[0])
    assert msg.startswith(f"{path}:{line}:"), msg
    assert needle in msg


def test_missing_storage_and_missing_file(tmp_path):
    path = _write(tmp_path, '[rules]\ndir = "../rules"\n')
    with pytest.raises(ConfigError, match="storage") as ei:
        load_config(path)
    assert ei.value.key == "storage"
    assert str(ei.value).startswith(f"{path}: 配置项 storage: 缺少必填项"), str(ei.value)
    assert "yuqing init" in str(ei.value)  # the hint
    with pytest.raises(ConfigError, match="不存在") as ei:
        load_config(tmp_path / "nope.toml")
    assert str(ei.value).startswith(f"{tmp_path / 'nope.toml'}: 配置文件不存在"), str(ei.value)


def test_toml_syntax_error(tmp_path):
    path = _write(tmp_path, BASE + "oops = \n")
    with pytest.raises(ConfigError, match="TOML") as ei:
        load_config(path)
    assert str(ei.value).startswith(f"{path}:10: TOML 语法错误（第 8 列）："), str(ei.value)


def test_minimal_config_and_relative_paths(tmp_path):
    path = _write(tmp_path, BASE)
    cfg = load_config(path)
    assert cfg.storage.path == (tmp_path / "data" / "monitor.db").resolve()
    assert cfg.rules.dir == (tmp_path / "rules").resolve()
    assert cfg.feeds[0].interval == 900
    assert cfg.feeds[0].enabled is True
    assert cfg.fetch.max_bytes == 15 * 1024 * 1024


def test_dump_redacts_secrets_and_round_trips(tmp_path, monkeypatch):
    text = BASE + """
[smtp]
host = "127.0.0.1"
sender = "a@example.org"
password_env = "MY_SMTP_PW"

[[staff]]
name = "张三"
dingtalk = { webhook = "https://oapi.dingtalk.com/robot/send?access_token=SECRET123", secret_env = "DT" }
webhook = "http://user:hunter2@127.0.0.1:9/hook?token=abc"
"""
    monkeypatch.setenv("MY_SMTP_PW", "pw-in-env")
    cfg = load_config(_write(tmp_path, text))
    assert cfg.secret(cfg.smtp.password_env) == "pw-in-env"
    out = dump_config(cfg)
    for secret in ("SECRET123", "hunter2", "abc", "pw-in-env"):
        assert secret not in out
    dumped = tomllib.loads(out)
    assert dumped["feeds"][0]["interval"] == "15m"
    assert dumped["smtp"]["password_env"] == "MY_SMTP_PW"


def test_find_key_line():
    text = BASE + '\n[[feeds]]\nname = "乙"\nurl = "x"\ninterval = "1m"\n'
    assert find_key_line(text, "feeds[1].interval") == 14
    assert find_key_line(text, "storage.path") == 2
    assert find_key_line(text, "feeds[0]") == 7


def test_cli_config_check_exit_codes(tmp_path):
    good = write_config(tmp_path, feeds=[{"name": "a", "url": "http://127.0.0.1:1/"}])
    r = run_yuqing("--config", str(good), "config", "check")
    assert r.returncode == 0 and "配置有效" in r.stdout
    r = run_yuqing("--config", str(good), "config", "check", "--dump")
    assert r.returncode == 0 and tomllib.loads(r.stdout)["feeds"][0]["name"] == "a"
    bad = _write(tmp_path / "b", BASE + 'interval = "soon"\n')
    r = run_yuqing("--config", str(bad), "config", "check")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert f"{bad}:10" in r.stderr and "Traceback" not in r.stderr
    r = run_yuqing("--config", str(bad), "--debug", "config", "check")
    assert r.returncode == 1 and "Traceback" in r.stderr
    r = run_yuqing("--config", str(good), "config", "frobnicate")
    assert r.returncode == 2


def test_config_env_var_default(tmp_path):
    good = write_config(tmp_path)
    r = run_yuqing("config", "check", env={"YUQING_CONFIG": str(good)}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_dump_hides_request_headers_but_harmless_ones(tmp_path):
    text = BASE + 'headers = { Authorization = "Bearer SECRET123", Cookie = "sid=abc", Referer = "http://x/" }\n'
    out = dump_config(load_config(_write(tmp_path, text)))
    assert "SECRET123" not in out and "sid=abc" not in out
    assert tomllib.loads(out)["feeds"][0]["headers"]["Referer"] == "http://x/"


def test_paths_expand_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = BASE.replace('path = "../data/monitor.db"', 'path = "~/yq/monitor.db"')
    cfg = load_config(_write(tmp_path, text))
    assert cfg.storage.path == (tmp_path / "home" / "yq" / "monitor.db").resolve()


def test_dump_routes_every_url_through_redact_url(tmp_path):
    text = BASE.replace("a.xml", "a.xml?sig=PLANTED1&page=2") + (
        'headers = { Referer = "http://x/?ticket=PLANTED2" }\n'
        'proxy = "http://PLANTED3@127.0.0.1:3128"\n'
        '\n[web]\nbase_url = "https://admin:PLANTED4@yuqing.example.org"\n')
    dumped = dump_config(load_config(_write(tmp_path, text)))
    assert "PLANTED" not in dumped
    doc = tomllib.loads(dumped)
    assert doc["feeds"][0]["url"] == "http://127.0.0.1:1/a.xml?sig=***&page=2"
    assert doc["feeds"][0]["headers"]["Referer"] == "http://x/?ticket=***"
    assert doc["feeds"][0]["proxy"] == "http://***@127.0.0.1:3128"
    assert doc["web"]["base_url"] == "https://admin:***@yuqing.example.org"


def test_secret_fields_are_declared_on_the_schema():
    """Every field that can hold a secret says so on the schema: redaction follows the
    declaration, not a guess from the key's name."""
    from pydantic import BaseModel

    from monitor.config import Config, secret_of

    undeclared = []

    def walk(model: type[BaseModel], path: str) -> None:
        for name, info in model.model_fields.items():
            sub = [a for a in (info.annotation, *getattr(info.annotation, "__args__", ()))
                   if isinstance(a, type) and issubclass(a, BaseModel)]
            for arg in getattr(info.annotation, "__args__", ()):  # list[Model]
                sub += [a for a in getattr(arg, "__args__", ())
                        if isinstance(a, type) and issubclass(a, BaseModel)]
            if sub:
                walk(sub[0], f"{path}{name}.")
            elif (name in ("url", "webhook", "proxy", "headers", "password")
                  or name.endswith("_env")) and secret_of(model, name) is None:
                undeclared.append(path + name)

    walk(Config, "")
    assert not undeclared


def test_dump_redacts_by_declaration_and_masks_env_values(tmp_path, monkeypatch, caplog):
    import logging

    from monitor.config import load_config
    from monitor.logsetup import ChineseFormatter

    monkeypatch.setenv("YUQING_SMTP_PASSWORD", "hunter2-very-secret")
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        '[storage]\npath = "x.db"\n[smtp]\nhost = "127.0.0.1"\n'
        '[[staff]]\nname = "群"\n'
        'feishu = { webhook = "https://open.feishu.cn/open-apis/bot/v2/hook/'
        'b1c2d3e4-aaaa-bbbb-cccc-0123456789ab" }\n', encoding="utf-8")
    config = load_config(cfg)
    from monitor.config import dump_config

    dumped = dump_config(config)
    assert "b1c2d3e4" not in dumped and "/open-apis/bot/v2/hook/***" in dumped
    assert 'password_env = "YUQING_SMTP_PASSWORD"' in dumped  # the name is shown
    record = logging.LogRecord("monitor.alerts", logging.ERROR, __file__, 1,
                               "SMTP 登录失败：%s", ("535 bad password hunter2-very-secret",),
                               None)
    line = ChineseFormatter("%(levelname)s %(message)s").format(record)
    assert "hunter2" not in line and "***" in line


def test_hook_urls_hide_tokens_anywhere_and_header_values_are_masked_in_logs(tmp_path):
    import logging

    from monitor.config import dump_config, load_config
    from monitor.logsetup import ChineseFormatter

    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        '[storage]\npath = "x.db"\n'
        '[[feeds]]\nname = "源"\nurl = "http://127.0.0.1:8000/rss"\n'
        'headers = { Authorization = "Bearer HDRSECRET42", Referer = "http://127.0.0.1/" }\n'
        '[[staff]]\nname = "张三"\n'
        'webhook = "https://hooks.internal.example/notify/sk_live_AbCdEf123456"\n'
        'feishu = { webhook = "https://open.feishu.cn/open-apis/bot/v2/hook/abc123" }\n',
        encoding="utf-8")
    dumped = dump_config(load_config(cfg))
    for secret in ("sk_live_AbCdEf123456", "abc123", "HDRSECRET42"):
        assert secret not in dumped
    assert "https://hooks.internal.example/notify/***" in dumped
    record = logging.LogRecord("httpcore.http11", logging.DEBUG, __file__, 1,
                               "send_request_headers headers=%s",
                               ("[(b'Authorization', b'Bearer HDRSECRET42')]",), None)
    assert "HDRSECRET42" not in ChineseFormatter("%(message)s").format(record)


def test_header_values_with_line_breaks_are_refused(tmp_path):
    from monitor.config import load_config
    from monitor.errors import ConfigError

    cfg = tmp_path / "monitor.toml"
    cfg.write_text('[storage]\npath = "x.db"\n[[feeds]]\nname = "源"\n'
                   'url = "http://127.0.0.1:8000/rss"\nheaders = { X-A = "a\\r\\nX-B: b" }\n',
                   encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert "第 1 个订阅源的 headers" in str(info.value) and "换行" in str(info.value)


def test_alerts_admins_must_be_staff(tmp_path):
    from monitor.config import load_config
    from monitor.errors import ConfigError

    cfg = tmp_path / "monitor.toml"
    base = '[storage]\npath = "x.db"\n[[staff]]\nname = "王五"\n'
    cfg.write_text(base + '[alerts]\nadmins = ["王五"]\n', encoding="utf-8")
    assert load_config(cfg).alerts.admins == ["王五"]
    cfg.write_text(base + '[alerts]\nadmins = ["赵六"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert "alerts.admins" in str(info.value) and "赵六" in str(info.value)
