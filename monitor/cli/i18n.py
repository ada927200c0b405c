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
    (r"^Missing argument '(.+)'\.$", r"缺少参数 \1"),
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
    (r"^'?(.*?)'? is not (?:one of|in) (.*)\.$", r"“\1”不在可选值 \2 之中"),
    (r"^(.*) is not in the range (.*)\.$", r"\1 不在范围 \2 内"),
    (r"^(?:File|Path|Directory) '(.*)' does not exist\.$", r"“\1”不存在"),
    (r"^(?:File|Path) '(.*)' is a directory\.$", r"“\1”是目录，应为文件"),
]]


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
        text = f"{head}的取值无效：{_translate(value, _VALUES)}"
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
    command_class = ChineseCommand
    group_class: Any = type  # subgroups are created with this same class
