"""Chinese for click's own words: help headings, the help option, usage errors.

Click writes "Usage:", "Options:", "Show this message and exit." and its usage errors in
English; users of this tool read Chinese. This module owns those texts; ``cli.py`` uses
its command classes and :func:`usage_error_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

# click's usage-error messages -> Chinese (the first pattern that matches wins)
_ERRORS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (r"^No such option:? '?([^'\s]+?)'?\.?\s*Did you mean '?([^'\s]+?)'?\?$",
     r"没有这个选项：\1（是不是想写 \2？）"),
    (r"^No such option:? '?([^'\s]+?)'?\.?\s*\(Possible options: (.*)\)$",
     r"没有这个选项：\1（可用：\2）"),
    (r"^No such option:? '?([^'\s]+?)'?\.?$", r"没有这个选项：\1"),
    (r"^No such command '(.+)'\.\s*Did you mean '(.+)'\?$", r"没有这个命令：\1（是不是想写 \2？）"),
    (r"^No such command '(.+)'\.$", r"没有这个命令：\1"),
    (r"^Missing argument '(.+)'\.\s*Choose from:\s*(.*)$", r"缺少参数 \1（可选：\2）"),
    (r"^Missing argument '(.+)'\.$", r"缺少参数 \1"),
    (r"^Missing option '(.+)'\.\s*Choose from:\s*(.*)$", r"缺少选项 \1（可选：\2）"),
    (r"^Missing option '(.+)'\.$", r"缺少选项 \1"),
    (r"^Missing parameter: (.+)$", r"缺少参数 \1"),
    (r"^Got unexpected extra arguments? \((.*)\)$", r"多余的参数：\1"),
    (r"^Option '(.+)' requires an argument\.$", r"选项 \1 需要一个值"),
    (r"^Option '(.+)' requires (\d+) arguments\.$", r"选项 \1 需要 \2 个值"),
    (r"^Option '(.+)' does not take a value\.$", r"选项 \1 不接受值"),
    (r"^Invalid value for (.+?): (.*)$", r"\1 的取值无效：\2"),
]]
_VALUES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (r"^'(.*)' is not a valid integer( range)?\.$", r"“\1”不是整数"),
    (r"^'(.*)' is not a valid float( range)?\.$", r"“\1”不是数字"),
    (r"^(.*) is not in the range (.*)\.$", r"\1 不在允许的范围内：\2"),
    (r"^'?(.*?)'? is not one of (.*)\.$", r"“\1”不是可选值（可选：\2）"),
    (r"^(?:File|Path|Directory) '(.*)' does not exist\.$", r"“\1”不存在"),
    (r"^(?:File|Path) '(.*)' is a directory\.$", r"“\1”是目录，应为文件"),
    (r"^(?:Path|Directory) '(.*)' is a file\.$", r"“\1”是文件，应为目录"),
    (r"^(?:File|Path|Directory) '(.*)' is not readable\.$", r"“\1”不可读"),
    (r"^(?:File|Path|Directory) '(.*)' is not writable\.$", r"“\1”不可写"),
]]
# click's type names in help (``--limit INTEGER``), longest first
_METAVARS = [("INTEGER RANGE", "整数"), ("FLOAT RANGE", "数字"), ("INTEGER", "整数"),
             ("FLOAT", "数字"), ("TEXT", "文字"), ("BOOLEAN", "true/false"),
             ("FILENAME", "文件"), ("FILE", "文件"), ("DIRECTORY", "目录"), ("PATH", "路径"),
             ("DATETIME", "时间"), ("UUID", "编号")]
# click's range descriptions: x>=1, x<10, 1<=x<=500
_RANGE = re.compile(r"(?:(-?[\d.]+)(<=?))?x(<=?|>=?)(-?[\d.]+)")


def range_text(text: str) -> str:
    """``x>=1`` -> ``不小于 1``, ``1<=x<=500`` -> ``1 到 500``: click's range notation in
    words."""
    return _RANGE.sub(_range_words, text)


def _range_words(m: re.Match[str]) -> str:
    low, low_op, op, bound = m.groups()
    if low is not None:
        tail = "（不含两端）" if low_op == "<" and op == "<" else (
            "（不含下限）" if low_op == "<" else "（不含上限）" if op == "<" else "")
        return f"{low} 到 {bound}{tail}"
    words = {">=": "不小于", ">": "大于", "<=": "不大于", "<": "小于"}
    return f"{words[op]} {bound}"


def help_extra_text(text: str) -> str:
    """An option's help with click's bracketed extras (``[default: 5; x>=1; required]``)
    in Chinese."""
    text = text.replace("[required]", "[必填]").replace("; required]", "；必填]")
    text = re.sub(r"\[(?:[^\[\]]*)\]$", lambda m: range_text(
        m.group(0).replace("default: ", "默认：").replace("env var: ", "环境变量：")
        .replace("; ", "；")), text)
    return text


def metavar_text(spec: str) -> str:
    """An option's spec with click's English type names (``INTEGER``) in Chinese."""
    for english, chinese in _METAVARS:
        spec = re.sub(rf"\b{english}\b", chinese, spec)
    return spec


def _translate(message: str, table: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in table:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def usage_error_text(e: click.ClickException) -> str:
    """The Chinese lines to print for a click error (usage line first, when known)."""
    message = " ".join(e.format_message().split())
    text = _translate(message, _ERRORS)
    if "的取值无效：" in text:
        head, _, value = text.partition("的取值无效：")
        text = f"{head}的取值无效：{range_text(_translate(value, _VALUES))}"
    ctx = getattr(e, "ctx", None)
    lines = []
    if isinstance(e, click.UsageError) and ctx is not None:
        lines.append(ctx.get_usage())
        text += f"（用 {ctx.command_path} -h 查看帮助）"
    lines.append(f"错误：{text}")
    return "\n".join(lines)


class ChineseHelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args.replace("[OPTIONS]", "[选项]")
                            .replace("COMMAND [ARGS]...", "命令 [参数]..."), prefix="用法：")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(metavar_text(spec), help_extra_text(text)) for spec, text in rows],
                         col_max, col_spacing)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(HEADINGS.get(name, name)):
            yield


class ChineseContext(click.Context):
    formatter_class = ChineseHelpFormatter


class _ChineseHelp:
    context_class: type[click.Context] = ChineseContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option: click.Option | None = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "显示本帮助并退出"
        return option


class ChineseCommand(_ChineseHelp, click.Command):
    pass


class ChineseGroup(_ChineseHelp, click.Group):
    """A group given no subcommand (``yuqing --config x``, ``yuqing feeds``) shows its help
    and exits 0 instead of click's "Missing command" usage error."""

    command_class = ChineseCommand
    group_class: Any = type  # subgroups are created with this same class

    def invoke(self, ctx: click.Context) -> Any:
        if not ctx._protected_args and not ctx.args and not self.invoke_without_command:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().invoke(ctx)
