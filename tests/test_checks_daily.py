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
    assert lines[0].startswith(f"错误：{path}:8: 配置项 fetch.timeout:"), lines
    assert lines[1].startswith(f"错误：{path}:12: 配置项 第 1 个订阅源的 url:"), lines
    assert lines[2].startswith(f"错误：{path}:17: 配置项 第 2 个订阅源的 enabled:") and "true 或 false" in lines[2]


def test_config_check_missing_rules_dir_and_unwritable_database(tmp_path):
    (tmp_path / "data").write_text("a file where the database directory should be")
    path = _config(tmp_path, CONFIG.split("[fetch]")[0].replace('"../data/monitor.db"',
                                                                  '"../data/db/monitor.db"')
                   .replace('"../rules"', '"../nowhere"'))
    r = Cli(path)("config", "check")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert any(line.startswith(f"错误：{path}:5: 配置项 rules.dir:") and "不存在" in line
               for line in lines), r.stderr
    assert any(line.startswith(f"错误：{path}:2: 配置项 storage.path:") and "不是目录" in line
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


RULE = """- id: pay
  name: 讨薪
  category: 欠薪讨薪
  level: {level}
  weight: {weight}
  words:
    主体: [农民工, 工人]
    事件: [讨薪, {word}]
    排除: [招聘]
  condition: {condition}
"""


def _rules(tmp_path: Path, text: str, name: str = "30-欠薪.yaml") -> tuple[Cli, Path]:
    path = write_config(tmp_path)
    rules = tmp_path / "rules"
    (rules / name).write_text(text, encoding="utf-8")
    return Cli(path), rules


def _notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": 注意：" in line]


def test_rules_check_warns_about_a_group_the_condition_never_uses(tmp_path):
    cli, rules = _rules(tmp_path, RULE.format(level="yellow", weight=20, word="欠薪",
                                              condition="主体 and 事件"))
    r = cli("rules", "check")
    assert r.exit_code == 0, r.stderr
    notes = _notes(r.stderr)
    assert len(notes) == 1, r.stderr
    assert notes[0].startswith(f"{rules / '30-欠薪.yaml'}:9: 注意：词组 “排除”"), notes


def test_rules_check_warns_about_one_character_and_stop_words_at_high_weight(tmp_path):
    cli, rules = _rules(tmp_path, RULE.format(level="yellow", weight=40, word="的",
                                              condition="主体 and 事件 and not 排除"))
    r = cli("rules", "check")
    assert r.exit_code == 0, r.stderr
    notes = _notes(r.stderr)
    assert len(notes) == 1 and f"{rules / '30-欠薪.yaml'}:8: 注意：" in notes[0], r.stderr
    assert "“的”" in notes[0] and "权重 40" in notes[0]
    (rules / "30-欠薪.yaml").write_text(RULE.format(level="yellow", weight=20, word="的",
                                                  condition="主体 and 事件 and not 排除"))
    assert _notes(cli("rules", "check").stderr) == []   # a low weight: no warning


def test_rules_check_warns_about_placeholder_region_words(tmp_path):
    shipped = Path(__file__).resolve().parent.parent / "rules" / "00-本单位与辖区.yaml"
    cli, rules = _rules(tmp_path, shipped.read_text(encoding="utf-8"), "00-本单位与辖区.yaml")
    r = cli("rules", "check")
    assert r.exit_code == 0, r.stderr
    text = "\n".join(_notes(r.stderr))
    assert "“青山区” 是默认规则自带的示例" in text and "“区重点办”" in text, r.stderr
    assert f"{rules / '00-本单位与辖区.yaml'}:12: 注意：“青山区”" in text
    assert f"{rules / '00-本单位与辖区.yaml'}:14: 注意：“重点项目服务中心”" in text


def test_rules_check_says_files_in_subdirectories_are_skipped(tmp_path):
    cli, rules = _rules(tmp_path, RULE.format(level="yellow", weight=20, word="欠薪",
                                              condition="主体 and 事件 and not 排除"))
    (rules / "旧规则").mkdir()
    (rules / "旧规则" / "10-x.yaml").write_text("[]\n", encoding="utf-8")
    r = cli("rules", "check")
    assert r.exit_code == 0, r.stderr
    notes = _notes(r.stderr)
    assert notes == [f"{rules / '旧规则' / '10-x.yaml'}:1: 注意：子目录中的规则文件不会加载"
                     f"（只读取 {rules} 下的文件）：请移到规则目录下，或删除"], r.stderr


def test_rules_accept_chinese_level_names(tmp_path):
    for level in ("较大", "黄", "较大（黄）"):
        cli, _rules_dir = _rules(tmp_path, RULE.format(level=level, weight=20, word="欠薪",
                                                       condition="主体 and 事件 and not 排除"))
        assert cli("rules", "check").exit_code == 0
        doc = cli.json("rules", "test", "--body", "农民工讨薪")
        assert doc["level"] == "yellow", (level, doc)


def test_rules_check_suggests_the_key_for_a_misspelt_one(tmp_path):
    text = RULE.format(level="yellow", weight=20, word="欠薪",
                       condition="主体 and 事件 and not 排除").replace("weight:", "wieght:")
    cli, rules = _rules(tmp_path, text)
    r = cli("rules", "check")
    assert r.exit_code == 1
    assert f"{rules / '30-欠薪.yaml'}:5: 未知字段 “wieght”（是不是想写 weight？" in r.stderr, r.stderr
