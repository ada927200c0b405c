"""``--format csv|xlsx -o FILE`` on the listing commands: the 舆情台账 written where asked
(csv to stdout without ``-o``), and one Chinese line on stderr saying how many rows went
where. The rows and the writers are ``monitor.report.ledger`` and ``.sheets``."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..report.ledger import Ledger

FORMATS = ("csv", "xlsx")


def export_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format`` and ``-o/--output`` (declared once for every listing command)."""
    command = click.option(
        "-o", "--output", "output", default=None, metavar="文件",
        type=click.Path(dir_okay=False, path_type=Path),
        help="导出到这个文件（csv 不写则输出到标准输出；xlsx 必须写）")(command)
    return click.option(
        "--format", "fmt", default=None, type=click.Choice(FORMATS),
        help="导出舆情台账：csv（UTF-8 带 BOM，Excel、WPS 直接打开）或 xlsx")(command)


def check_export(fmt: str | None, output: Path | None, as_json: bool) -> None:
    """Usage errors (exit 2) before any work: the options that do not go together."""
    if fmt is None:
        if output is not None:
            raise click.UsageError("-o/--output 只用于导出：请同时写 --format csv 或 --format xlsx")
        return
    if as_json:
        raise click.UsageError("--json 和 --format 不能同时使用：二选一")
    if fmt == "xlsx" and output is None:
        raise click.UsageError("xlsx 是二进制文件，不能输出到终端：请用 -o 指定文件，"
                               "如 -o 舆情台账.xlsx")


def write_ledger(ledger: Ledger, fmt: str, output: Path | None) -> None:
    """Write the ledger and say on stderr how many rows were written where."""
    from ..report.sheets import save_csv, save_xlsx, write_csv

    if output is None:
        stream = sys.stdout.buffer
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        try:
            rows = write_csv(ledger, text)
            text.flush()
        finally:
            text.detach()
        where = "标准输出"
    else:
        rows = (save_xlsx(ledger, output) if fmt == "xlsx"
                else save_csv(ledger, output))
        where = str(output)
    click.echo(f"已导出{ledger.name} {rows} 行（{fmt}）到 {where}", err=True)
