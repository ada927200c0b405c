"""The report section as Markdown: headings, prose, pipe tables, and the charts as PNG files
in a folder beside the file (``<stem>_图表/``), linked by relative paths. Text from the data
(incident titles, feed names, notes) is escaped, so neither Markdown nor inline HTML in it
can change the page it is rendered into.
"""

from __future__ import annotations

from pathlib import Path

from .document import Chart, Document, Heading, Paragraph, Table

_SPECIAL = "\\`*_[]{}()#+!|~"


def charts_dir(path: Path) -> Path:
    """Where the charts of the Markdown file ``path`` go."""
    return path.with_name(f"{path.stem}_图表")


def escape(text: str) -> str:
    """Plain text that stays plain in Markdown: HTML's ``& < >`` as entities, Markdown's
    punctuation backslashed, line breaks as spaces."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = "".join(f"\\{ch}" if ch in _SPECIAL else ch for ch in text)
    return " ".join(text.splitlines())


def render_markdown(doc: Document, chart_files: dict[str, str]) -> str:
    """The Markdown text; ``chart_files`` maps a chart's key to its relative path (a chart
    without one is left out)."""
    out = [f"# {escape(doc.title)}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += [f"{'##' if block.level == 1 else '###'} {escape(block.full)}", ""]
        elif isinstance(block, Paragraph):
            out += [escape(block.text), ""]
        elif isinstance(block, Table):
            out += [f"**{escape(block.caption)}**", ""]
            out.append("| " + " | ".join(escape(h) for h in block.header) + " |")
            out.append("|" + "|".join("---" for _ in block.header) + "|")
            out += ["| " + " | ".join(escape(c) for c in row) + " |" for row in block.rows]
            out.append("")
            if block.note:
                out += [escape(block.note), ""]
        elif isinstance(block, Chart) and block.key in chart_files:
            out += [f"![{escape(block.caption)}](<{chart_files[block.key]}>)", "",
                    f"*{escape(block.caption)}*", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def write_markdown(doc: Document, charts: dict[str, bytes], path: Path, *,
                   text_to: Path | None = None) -> Path | None:
    """Write the Markdown file ``path`` (its text to ``text_to`` when given, to be moved
    into place later) and its charts; returns the charts' folder (None when the document has
    no chart). Chart images an earlier run left in the folder are replaced."""
    files: dict[str, str] = {}
    folder = charts_dir(path)
    wanted = [c for c in doc.charts if c.key in charts]
    if folder.is_dir():
        for old in folder.glob("图*_*.png"):
            old.unlink()
    if wanted:
        folder.mkdir(exist_ok=True)
        for chart in wanted:
            name = f"{chart.caption.split(' ')[0]}_{chart.key}.png"
            (folder / name).write_bytes(charts[chart.key])
            files[chart.key] = f"{folder.name}/{name}"
    (text_to or path).write_text(render_markdown(doc, files), encoding="utf-8")
    return folder if wanted else None
