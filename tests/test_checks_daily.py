"""``config check`` and ``rules check`` find everything at once and warn about what will
go wrong (issue 12, points 5 and 6), through the real CLI."""

from __future__ import annotations

from pathlib import Path

from support import Cli, write_config

CONFIG = """[storage]
path = "../data/monitor.db"

[rules]
dir = "../rules"

[fetch]
timeout = "soon"

[[feeds]]
name = "甲"
url = "ftp://127.0.0.1/a.xml"

[[feeds]]
name = "乙"
url = "http://127.0.0.1:1/b.xml"
enabled = "yes"
"""


def _config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "rules").mkdir(exist_ok=True)
    path = tmp_path / "config" / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_check_reports_every_error_with_its_line(tmp_path):
    path = _config(tmp_path, CONFIG)
    r = Cli(path)("config", "check")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 3, r.stderr
    assert lines[0].startswith(f"{path}:8: 配置项 fetch.timeout:"), lines
    assert lines[1].startswith(f"{path}:12: 配置项 feeds[0].url:"), lines
    assert lines[2].startswith(f"{path}:17: 配置项 feeds[1].enabled:") and "true 或 false" in lines[2]


def test_config_check_missing_rules_dir_and_unwritable_database(tmp_path):
    (tmp_path / "data").write_text("a file where the database directory should be")
    path = _config(tmp_path, CONFIG.split("[fetch]")[0].replace('"../data/monitor.db"',
                                                                  '"../data/db/monitor.db"')
                   .replace('"../rules"', '"../nowhere"'))
    r = Cli(path)("config", "check")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert any(line.startswith(f"{path}:5: 配置项 rules.dir:") and "不存在" in line
               for line in lines), r.stderr
    assert any(line.startswith(f"{path}:2: 配置项 storage.path:") and "不是目录" in line
               for line in lines), r.stderr
    assert "配置有效" not in r.stdout


def test_config_check_warns_about_bare_and_clamped_intervals(tmp_path):
    path = write_config(tmp_path, feeds=[
        {"name": "秒", "url": "http://127.0.0.1:1/a.xml", "interval": 15},
        {"name": "快", "url": "http://127.0.0.1:1/b.xml", "interval": "30s"},
        {"name": "好", "url": "http://127.0.0.1:1/c.xml", "interval": "15m"}])
    r = Cli(path)("config", "check")
    assert r.exit_code == 0, r.stderr
    assert "配置有效" in r.stdout
    notes = r.stderr.strip().splitlines()
    bare = [n for n in notes if "秒 的 interval = 15" in n]
    assert bare and bare[0].startswith("注意：") and "15 秒" in bare[0] and '"15m"' in bare[0]
    clamped = [n for n in notes if "快" in n]
    assert clamped and "min_interval（1m）" in clamped[0] and "实际按 1m" in clamped[0]
    assert not [n for n in notes if "订阅源 好" in n]
