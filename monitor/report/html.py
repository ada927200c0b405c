"""The report section as one self-contained HTML page: the charts inline as ``data:`` URIs,
CSS for the screen and for printing on A4 with the GB/T 9704 margins and fonts. Rendered by
jinja2 with autoescaping on: every value (incident titles are hostile input) is escaped.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from .document import Chart, Document, Heading, Paragraph, Table

TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
@page { size: A4; margin: 37mm 26mm 35mm 28mm;
        @bottom-center { content: "— " counter(page) " —"; font: 14pt "SimSun", "宋体", serif; } }
body { font-family: "FangSong_GB2312", "仿宋_GB2312", "FangSong", "仿宋", "STFangsong",
       "Noto Serif CJK SC", "Source Han Serif SC", serif;
       font-size: 16pt; line-height: 28.95pt; color: #000; background: #fff;
       max-width: 156mm; margin: 2em auto; padding: 0 1em; }
h1 { font-family: "FZXiaoBiaoSong-B05S", "方正小标宋简体", "SimHei", "黑体", "Noto Serif CJK SC",
     serif; font-size: 22pt; font-weight: normal; text-align: center; line-height: 1.6;
     margin: 0 0 28.95pt; }
h2 { font-family: "SimHei", "黑体", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif;
     font-size: 16pt; font-weight: normal; margin: 0; text-indent: 2em; }
h3 { font-family: "KaiTi_GB2312", "楷体_GB2312", "KaiTi", "楷体", "STKaiti", serif;
     font-size: 16pt; font-weight: normal; margin: 0; text-indent: 2em; }
p { margin: 0; text-indent: 2em; text-align: justify; }
p.note { text-indent: 0; font-size: 10.5pt; line-height: 1.5; margin-top: 3pt; }
figure { margin: 0.8em 0; text-align: center; break-inside: avoid; }
figure img { max-width: 100%; }
figcaption, caption { font-family: "SimHei", "黑体", "Noto Sans CJK SC", sans-serif;
                      font-size: 12pt; line-height: 1.6; text-align: center; }
table { border-collapse: collapse; width: 100%; margin: 0.8em 0 0.2em; font-size: 10.5pt;
        line-height: 1.5; }
th, td { border: 1px solid #000; padding: 2pt 4pt; vertical-align: middle; }
th { font-family: "SimHei", "黑体", "Noto Sans CJK SC", sans-serif; font-weight: normal; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
{% for b in blocks -%}
{% if b.kind == "h1" %}<h2>{{ b.text }}</h2>
{% elif b.kind == "h2" %}<h3>{{ b.text }}</h3>
{% elif b.kind == "p" %}<p>{{ b.text }}</p>
{% elif b.kind == "table" %}<table>
<caption>{{ b.caption }}</caption>
<thead><tr>{% for h in b.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in b.rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
{% if b.note %}<p class="note">{{ b.note }}</p>
{% endif %}
{% elif b.kind == "chart" %}<figure>
<img src="{{ b.src }}" alt="{{ b.caption }}">
<figcaption>{{ b.caption }}</figcaption>
</figure>
{% endif %}
{%- endfor %}
</body>
</html>
"""


def render_html(doc: Document, charts: dict[str, bytes]) -> str:
    """The page as text; ``charts`` maps a chart's key to its PNG bytes (a chart without one
    is left out)."""
    from jinja2 import Environment

    env = Environment(autoescape=True, keep_trailing_newline=True)
    blocks: list[dict[str, Any]] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            blocks.append({"kind": "h1" if block.level == 1 else "h2", "text": block.full})
        elif isinstance(block, Paragraph):
            blocks.append({"kind": "p", "text": block.text})
        elif isinstance(block, Table):
            blocks.append({"kind": "table", "caption": block.caption, "header": block.header,
                           "rows": block.rows, "note": block.note})
        elif isinstance(block, Chart) and block.key in charts:
            data = base64.b64encode(charts[block.key]).decode("ascii")
            blocks.append({"kind": "chart", "caption": block.caption,
                           "src": f"data:image/png;base64,{data}"})
    return env.from_string(TEMPLATE).render(title=doc.title, blocks=blocks)


def write_html(doc: Document, charts: dict[str, bytes], path: Path) -> None:
    path.write_text(render_html(doc, charts), encoding="utf-8")
