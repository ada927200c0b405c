"""HTML list-page extraction benchmark (standalone; prints figures, asserts nothing).

Generated Discuz-like forum list pages (default 1,000 pages of 50 items, about 40 KB each,
UTF-8 declared in ``<meta>``, a fixed seed): each item a ``<tbody id="normalthread_N">``
with a title link, an author, a date (a ``<span title>`` or text, Chinese relative forms
such as ``3 天前`` and ``昨天 14:20`` among absolute ones) and a summary; a next-page link.

Measured in the same run, on the same bytes, with the same selectors:

- ``parse_html_list`` (our extractor): charset detection and decoding from bytes, parsel
  selection inside each item, whitespace normalising, link resolution against
  ``<base href>``, Chinese dates, layout checks and the finish step;
- bare parsel: ``Selector(text=...)`` on the already-decoded text and ``.css()`` of the
  same selectors, taking ``.get()`` of each (no decoding, no normalising, no finishing).

Target: our pages/s at least 0.5x the bare parsel pages/s. Times are CPU time of this
process (``time.process_time``); within each of ``--rounds`` rounds both take turns on
chunks of 50 pages, so both see the same machine state. Throughputs are the best round,
the ratio the median over rounds of the ratio within a round.

    .venv/bin/python bench/bench_pages.py [--pages 1000] [--items 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parsel import Selector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import SelectConfig
from monitor.parse.pages import parse_html_list

SEED = 11
TARGET = 0.5
CHUNK = 50
NOW = datetime(2024, 3, 8, 2, 0, tzinfo=UTC)
SELECT = {"item": "css:tbody[id^=normalthread_]", "title": "css:a.xst::text",
          "link": "css:a.xst::attr(href)",
          "date": ["css:td.by em span::attr(title)", "css:td.by em span::text"],
          "author": "css:td.by cite a::text", "body": "css:div.summary::text",
          "next": "css:a.nxt::attr(href)"}
WORDS = ("小区", "物业", "停车", "施工", "扬尘", "噪音", "学校", "医院", "公交", "地铁",
         "欠薪", "投诉", "道路", "积水", "路灯", "垃圾", "分类", "菜市场", "电梯", "供暖",
         "社区", "街道", "业主", "装修", "绿化", "河道", "养老", "幼儿园", "退休", "社保")
DATES = ("3&nbsp;天前", "昨天 14:20", "08:52", "2024-3-1 21:05", "半小时前", "2-20")


def phrase(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(WORDS) for _ in range(n))


def make_page(k: int, items: int, rng: random.Random) -> bytes:
    rows = []
    for i in range(items):
        tid = k * 1000 + i
        date = rng.choice(DATES)
        em = (f'<span title="2024-3-{rng.randint(1, 7)}">{date}</span>' if rng.random() < 0.5
              else f"<span>{date}</span>")
        rows.append(f"""<tbody id="normalthread_{tid}">
<tr><td class="icn"><a href="thread-{tid}-1-1.html" target="_blank"><img src="static/image/common/folder_new.gif" /></a></td>
<th class="new"><a href=" thread-{tid}-1-1.html" class="s xst">{phrase(rng, 6)}，
  {phrase(rng, 4)}</a>
<div class="summary">  {phrase(rng, 20)}
 </div></th>
<td class="by"><cite><a href="space-uid-{rng.randint(1, 9999)}.html">{phrase(rng, 2)}</a></cite><em>{em}</em></td>
<td class="num"><a href="thread-{tid}-1-1.html" class="xi2">{rng.randint(0, 99)}</a><em>{rng.randint(0, 999)}</em></td></tr>
</tbody>""")
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>民生话题 - 某区社区论坛 - 第 {k} 页</title><base href="https://bbs.example.org/" />
<script>var STYLEID = '1', STATICURL = 'static/';</script></head>
<body><div id="threadlist"><table id="threadlisttableid">
{"".join(rows)}
</table></div><div class="pg"><a href="forum-9-{k + 1}.html" class="nxt">下一页</a></div>
</body></html>""".encode()


def ours(pages: list[bytes], select: dict[str, Any]) -> int:
    n = 0
    for i, content in enumerate(pages):
        feed = parse_html_list(content, select, content_type="text/html",
                               base_url=f"https://bbs.example.org/forum-9-{i}.html", now=NOW)
        n += len(feed.items)
    return n


def bare(texts: list[str]) -> int:
    n = 0
    for text in texts:
        sel = Selector(text=text)
        for node in sel.css("tbody[id^=normalthread_]"):
            node.css("a.xst::text").get()
            node.css("a.xst::attr(href)").get()
            node.css("td.by em span::attr(title)").get() or node.css("td.by em span::text").get()
            node.css("td.by cite a::text").get()
            node.css("div.summary::text").get()
            n += 1
        sel.css("a.nxt::attr(href)").get()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(SEED)
    pages = [make_page(k, args.items, rng) for k in range(args.pages)]
    texts = [p.decode("utf-8") for p in pages]
    select = SelectConfig.model_validate(SELECT).model_dump()
    mb = sum(map(len, pages)) / 1e6
    print(f"{args.pages} pages x {args.items} items, {mb:.1f} MB in all")
    assert ours(pages[:1], select) == bare(texts[:1]) == args.items

    ours_best = bare_best = 0.0
    ratios = []
    for r in range(args.rounds):
        t_ours = t_bare = 0.0
        for start in range(0, len(pages), CHUNK):
            t0 = time.process_time()
            ours(pages[start:start + CHUNK], select)
            t1 = time.process_time()
            bare(texts[start:start + CHUNK])
            t2 = time.process_time()
            t_ours += t1 - t0
            t_bare += t2 - t1
        ours_ps, bare_ps = len(pages) / t_ours, len(pages) / t_bare
        ours_best, bare_best = max(ours_best, ours_ps), max(bare_best, bare_ps)
        ratios.append(ours_ps / bare_ps)
        print(f"round {r + 1}: parse_html_list {ours_ps:,.0f} pages/s, "
              f"bare parsel {bare_ps:,.0f} pages/s, ratio {ours_ps / bare_ps:.2f}")
    ratio = statistics.median(ratios)
    print(f"parse_html_list: {ours_best:,.0f} pages/s ({ours_best * args.items:,.0f} items/s)")
    print(f"bare parsel:     {bare_best:,.0f} pages/s")
    verdict = "ok" if ratio >= TARGET else "未达标 / below target"
    print(f"RESULT pages: ratio {ratio:.2f}x bare parsel (target >= {TARGET}x): {verdict}")


if __name__ == "__main__":
    main()
