"""Chinese everywhere a person reads: click's help and usage errors, bare groups, config
errors counted from 1, and log messages (checked by scanning the source)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support import ROOT, Cli, write_config

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"required|INTEGER|range|Missing|unexpected|extra argument|Usage|Options"
                     r"|default:|is not|Choose from|Error")
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
# log messages that may stay without Chinese (purely technical); none today
TECHNICAL_LOG_MESSAGES: set[str] = set()


@pytest.mark.parametrize("args", [(), ("feeds",), ("items",), ("rules",), ("db",)])
def test_a_bare_group_shows_its_help_and_exits_0(tmp_path, args):
    r = Cli(write_config(tmp_path))(*args)
    assert r.exit_code == 0, r.output
    assert "用法：" in r.stdout and "命令：" in r.stdout
    assert "错误：" not in r.output


@pytest.mark.parametrize(("args", "needle"), [
    (("items", "list", "--limit", "0"), "不在允许的范围内：不小于 1"),
    (("items", "search"), "缺少参数"),
    (("items", "search", "a", "b", "c"), "多余的参数"),
    (("report", "annual"), "缺少选项 --year"),
    (("items", "list", "--limit", "x"), "不是整数"),
])
def test_click_usage_errors_are_chinese(tmp_path, args, needle):
    r = Cli(write_config(tmp_path))(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.stderr, r.stderr
    assert not ENGLISH.search(r.stderr), r.stderr


@pytest.mark.parametrize("args", [("items", "list"), ("report", "annual"), ("items", "search"),
                                  ()])
def test_help_has_no_english_from_click(tmp_path, args):
    r = Cli(write_config(tmp_path))(*args, "--help")
    assert r.exit_code == 0, r.output
    assert not ENGLISH.search(r.stdout), r.stdout
    assert "选项：" in r.stdout


def test_help_extras_in_chinese(tmp_path):
    cli = Cli(write_config(tmp_path))
    assert "[不小于 1]" in cli("items", "list", "--help").stdout
    annual = cli("report", "annual", "--help").stdout
    assert "[必填]" in annual and "[默认：docx]" in annual


def test_a_config_error_starts_with_error_and_counts_feeds_from_1(tmp_path):
    path = write_config(tmp_path, feeds=[{"name": "甲", "url": "http://127.0.0.1:1/a.xml"},
                                         {"name": "乙", "url": "ftp://x/b.xml"}])
    r = Cli(path)("config", "check")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert lines and all(line.startswith("错误：") for line in lines), r.stderr
    assert "第 2 个订阅源的 url" in r.stderr and "feeds[1]" not in r.stderr, r.stderr


def _log_messages() -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS and node.args):
                first = node.args[0]
                text = (first.value if isinstance(first, ast.Constant)
                        and isinstance(first.value, str) else ast.unparse(first))
                found.append((path, node.lineno, text))
    return found


def test_every_log_message_is_chinese():
    messages = _log_messages()
    assert len(messages) > 20   # the scan does find the log calls
    english = [f"{p.relative_to(ROOT)}:{line}: {text}" for p, line, text in messages
               if not CJK.search(text) and text not in TECHNICAL_LOG_MESSAGES]
    assert not english, "\n".join(english)
