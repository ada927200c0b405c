"""One call from statistics to a report file: compose the document, draw its charts, write
it as docx, Markdown (charts in a folder beside it) or HTML (charts inline). The file is
written under a temporary name and moved into place, so a failed run leaves no half file.
Without a font that draws Chinese the report is written without charts (its prose then
names no figure) and ``Written.warnings`` says why, rather than drawing boxes for glyphs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ReportError
from .charts import render
from .compose import compose
from .document import Document
from .fonts import cjk_font
from .stats import Stats

log = logging.getLogger(__name__)

FORMATS = ("docx", "md", "html")


@dataclass(frozen=True)
class Written:
    path: Path
    charts_dir: Path | None              # Markdown: the folder of chart images
    document: Document
    warnings: tuple[str, ...] = ()       # e.g. the charts left out for want of a CJK font


def write_report(stats: Stats, fmt: str, path: Path | str) -> Written:
    """Write the report section of ``stats`` to ``path`` in ``fmt`` (docx, md or html).
    Raises ``ReportError`` for an unknown format or a missing folder."""
    if fmt not in FORMATS:
        raise ReportError(f"不支持的报告格式 {fmt!r}，可选：{'、'.join(FORMATS)}")
    path = Path(path)
    if path.is_dir():
        raise ReportError(f"{path} 是目录，请给出文件名（如 {path / ('年度报告.' + fmt)}）")
    if not path.parent.is_dir():
        raise ReportError(f"目录不存在：{path.parent}（请先创建）")
    warnings: list[str] = []
    try:
        cjk_font()
        drawable = True
    except ReportError as e:
        drawable = False
        warnings.append(f"报告未附图表：{e}")
    doc = compose(stats, charts=drawable)
    charts = {chart.key: render(chart) for chart in doc.charts}
    tmp = path.with_name(f".{path.name}.tmp")
    charts_dir: Path | None = None
    try:
        if fmt == "docx":
            from .docx import write_docx

            write_docx(doc, charts, tmp)
        elif fmt == "html":
            from .html import write_html

            write_html(doc, charts, tmp)
        else:
            from .markdown import write_markdown

            charts_dir = write_markdown(doc, charts, path, text_to=tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("报告已生成 path=%s format=%s charts=%d", path, fmt, len(charts))
    return Written(path, charts_dir, doc, tuple(warnings))
