"""Options that several commands share, declared once."""

from __future__ import annotations

from pathlib import Path

import click

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")
SINCE_OPTION = click.option("--since", default=None, metavar="日期",
                            help="起始日期 YYYY-MM-DD 或 ISO 8601 时间")
DEFAULT_LIMIT = 50
LIMIT_OPTION = click.option("--limit", default=DEFAULT_LIMIT, type=click.IntRange(min=1), metavar="N",
                            help="最多显示多少条（默认 50）")
FEED_OPTION = click.option("--feed", "feed_name", default=None, metavar="名称",
                           help="只处理这个订阅源")
RULES_DIR_OPTION = click.option("--rules-dir", type=click.Path(exists=True, path_type=Path), default=None,
                                help="用这个目录的规则（默认配置中的规则目录）")
