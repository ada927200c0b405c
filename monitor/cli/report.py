"""``yuqing report annual`` and ``yuqing report period``: the report section of a year or of
any period, as docx, Markdown or HTML, written from the same statistics as ``yuqing stats``."""

from __future__ import annotations

from pathlib import Path

import click

from .app import Invocation, main, open_store, pass_invocation
from .stats import resolve_period

FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["docx", "md", "html"]),
                             default="docx", show_default=True,
                             help="docx（Word，按公文格式排版）、md（图表另存为同名文件夹）或 html（单个文件）")
OUTPUT_OPTION = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                             required=True, metavar="文件", help="写到这个文件（已有则覆盖）")


@main.group("report")
def report_group() -> None:
    """生成年度报告章节（或任一时段的报告），数字与 yuqing stats 相同。

    \b
    示例：
      yuqing report annual --year 2026 --format docx -o 2026年舆情工作.docx
    """


@report_group.command("annual")
@click.option("--year", type=int, required=True, metavar="年份", help="一个自然年（北京时间）")
@FORMAT_OPTION
@OUTPUT_OPTION
@pass_invocation
def report_annual(state: Invocation, year: int, fmt: str, output: Path) -> None:
    """一年的报告章节：监测情况、舆情总体情况、处置时效、典型舆情、规则维护、存在的问题和下一步工作，附图表。

    示例：yuqing report annual --year 2026 --format docx -o 2026年舆情工作.docx
    """
    _write(state, year, None, None, fmt, output)


@report_group.command("period")
@click.option("--since", required=True, metavar="日期", help="起始日期 YYYY-MM-DD（含）")
@click.option("--until", default=None, metavar="日期",
              help="截止日期（不含，与 incidents list 相同），默认现在")
@FORMAT_OPTION
@OUTPUT_OPTION
@pass_invocation
def report_period(state: Invocation, since: str, until: str | None, fmt: str,
                  output: Path) -> None:
    """任一时段的报告章节，内容同年度报告；--until 那一天不计入。

    示例：yuqing report period --since 2026-01-01 --until 2026-07-01 --format html -o 上半年.html
    """
    _write(state, None, since, until, fmt, output)


def _write(state: Invocation, year: int | None, since: str | None, until: str | None,
           fmt: str, output: Path) -> None:
    from ..report.stats import compute
    from ..report.write import write_report
    from ..store.db import utcnow

    now = utcnow()
    period = resolve_period(year, since, until, now)
    with open_store(state) as store:
        stats = compute(store, period, config=state.config, now=now)
    written = write_report(stats, fmt, output)
    line = f"已生成{period.label}报告：{written.path}"
    if written.charts_dir is not None:
        line += f"（图表在 {written.charts_dir}）"
    click.echo(line)
    for warning in written.warnings:
        click.echo(f"警告：{warning}", err=True)
