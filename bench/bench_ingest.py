"""Ingest throughput benchmark (standalone; prints figures, asserts nothing).

Target: parse + normalize + dedup + store at least 0.5x the speed of bare
``feedparser.parse`` over the same feeds, items per second, on one core.

Builds an in-memory corpus (default 100 feeds x 50 items, about 10 MB, fixed seed; 200
feeds take over 90 s on 2 busy cores) of Chinese news items with HTML descriptions: RSS 2.0
in UTF-8 (declared) and in GBK with no declaration at all, a few Atom feeds, CDATA and
escaped HTML, several date formats, some feeds without GUIDs, some traditional characters.
Then, in one thread (one core):

1. baseline: ``feedparser.parse`` over every feed's bytes (default options), feed by feed
   in step with ours, so that a change in the machine's load affects both sides alike;
2. ours: ``monitor.parse.parse_feed`` + ``Store.store_items`` (normalize, jieba for the
   full-text index, dedup, SQLite insert) into a real database file, with parse and store
   timed separately;
3. the same feeds again: every item a duplicate (the dedup path).

    .venv/bin/python bench/bench_ingest.py [--feeds 100] [--items 50] [--profile]

``--profile`` runs the first pass of ours under cProfile and prints where the time goes.
The corpus generator (``make_feed``) is also used by bench_fetch.py.
"""

from __future__ import annotations

import argparse
import gc
import html
import io
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEED = 20240611
TARGET = 0.5
CST = timezone(timedelta(hours=8))
BASE_TIME = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

# ---- corpus ------------------------------------------------------------------------------

PLACES = ["青山区", "滨江新区", "江北街道", "翠湖社区", "东湖高新区", "南湖街道", "江湾村",
          "城关镇", "西城区", "北港工业园", "临江县", "白沙洲", "梅园小区", "金桥开发区"]
ORGS = ["区住建局", "市生态环境局", "区人社局", "街道办事处", "区应急管理局", "区城管局",
        "市交通运输局", "区教育局", "区卫健委", "区市场监管局", "区信访局", "区纪委监委",
        "市公安局交管支队", "区自然资源和规划局", "区融媒体中心", "区消防救援大队"]
PEOPLE = ["市民", "居民", "网友", "业主", "村民", "家长", "农民工", "商户", "志愿者", "游客"]
EVENTS = ["重点项目建设推进会", "安全生产专项检查", "根治欠薪冬季专项行动", "老旧小区改造",
          "雨污分流管网改造", "背街小巷整治", "垃圾分类宣传周", "文明城市创建", "消防演练",
          "防汛应急演练", "营商环境座谈会", "征地拆迁补偿听证会", "交通拥堵治理", "扬尘污染治理",
          "食品安全抽检", "校园周边环境整治", "河湖长制巡查", "夜间施工噪音整治"]
PROBLEMS = ["拖欠工资", "施工噪音扰民", "扬尘严重", "道路积水", "墙面开裂", "停车难",
            "公交绕行", "补偿不公", "违规占道经营", "垃圾清运不及时", "电梯故障频发", "物业收费不透明"]
ACTIONS = ["责令整改", "约谈负责人", "立案调查", "现场督办", "限期整改", "通报批评",
           "组织专家论证", "召开协调会", "开展联合执法", "公开征求意见"]
TRAD = ["區住建局", "濱江新區", "網友反映", "業主們", "開發商", "補償標準", "環境問題",
        "關於", "記者從", "獲悉", "進一步", "說明"]
SENTENCES = [
    "{date}，{place}{org}召开{event}，通报了前期工作进展情况。",
    "会议要求，各部门要压实责任，确保{event}取得实效，切实维护群众合法权益。",
    "近日，有{people}反映{place}存在{problem}问题，{org}接报后第一时间赶赴现场核查。",
    "经核实，{people}反映的情况基本属实，{org}已{action}，并将处理结果向社会公开。",
    "据了解，{place}共有{n}个项目纳入本次{event}，涉及资金{m}万元。",
    "“我们家楼下{problem}已经好几个月了，一直没人管。”一位{people}告诉记者。",
    "{org}相关负责人表示，下一步将持续开展{event}，对{problem}等突出问题{action}。",
    "截至{month}月底，{place}累计排查隐患{n}处，已整改{k}处，整改率{pct}%。",
    "针对{people}关心的{problem}问题，{org}表示将在{n}个工作日内给予答复。",
    "{place}部分路段因{event}需要实行交通管制，预计工期{n}天，请市民提前规划出行路线。",
    "另据{org}消息，{place}将于{month}月{day}日起开展为期{n}天的{event}。",
    "该事件在网上引发关注，有{people}质疑{org}处置不及时，相关话题阅读量超过{m}万。",
    "记者从{org}获悉，涉事企业已被{action}，相关责任人正在接受调查。",
    "{place}{people}代表在座谈会上提出，希望尽快解决{problem}问题，{org}现场作出回应。",
]
TITLES = [
    "{place}召开{event}", "{place}{people}反映{problem}，{org}回应", "{org}对{place}{problem}问题{action}",
    "关于{place}{problem}的投诉", "{place}开展{event}", "{place}{n}个项目集中开工",
    "{org}：{event}取得阶段性成效", "网传{place}{problem}？{org}：已{action}",
]
GBK_SAFE_EXTRA = "，。、；：？！“”（）《》—…"


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        place=rng.choice(PLACES), org=rng.choice(ORGS), people=rng.choice(PEOPLE),
        event=rng.choice(EVENTS), problem=rng.choice(PROBLEMS), action=rng.choice(ACTIONS),
        n=rng.randint(2, 120), k=rng.randint(1, 90), m=rng.randint(10, 9000),
        pct=rng.randint(60, 100), month=rng.randint(1, 12), day=rng.randint(1, 28),
        date=f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日")


def _paragraph(rng: random.Random, traditional: bool) -> str:
    text = "".join(_fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(2, 4)))
    if traditional:
        text = rng.choice(TRAD) + text + rng.choice(TRAD) + "。"
    return text


def _body_html(rng: random.Random, target_chars: int, traditional: bool, k: int) -> str:
    parts: list[str] = []
    size = 0
    while size < target_chars:
        p = _paragraph(rng, traditional)
        size += len(p)
        roll = rng.random()
        if roll < 0.15:
            p = p.replace("。", "。<br/>", 1)
        elif roll < 0.3:
            words = p.split("，", 1)
            p = f"<strong>{words[0]}</strong>，{words[-1]}"
        elif roll < 0.4:
            p = f'{p}<a href="/news/{k}-{size}.html">详情</a>'
        parts.append(f'<p style="text-indent:2em">{p}</p>')
        if rng.random() < 0.2:
            parts.append(f'<p><img src="https://img.example.cn/{k}/{size}.jpg" alt="图片"/></p>')
    if rng.random() < 0.3:
        parts.append("<p>&nbsp;</p><p>（责任编辑：&ldquo;小编&rdquo;）</p>")
    return "".join(parts)


def _date(rng: random.Random, when: datetime, style: int) -> str:
    local = when.astimezone(CST)
    if style == 0:
        return local.strftime("%a, %d %b %Y %H:%M:%S +0800")
    if style == 1:
        return local.strftime("%Y-%m-%d %H:%M:%S")          # no offset: Beijing time
    if style == 2:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


def make_feed(k: int, n_items: int, *, body_chars: int = 450, version: int = 0,
              seed: int = SEED) -> tuple[bytes, str]:
    """Deterministic feed number ``k``: ``(bytes, kind)``; ``kind`` is utf8/gbk/atom.

    Roughly 55% UTF-8 RSS, 30% GBK RSS without any encoding declaration, 15% Atom (UTF-8).
    ``version`` changes the items (a later edition of the same feed).
    """
    rng = random.Random(seed * 1_000_003 + k * 7919 + version)
    roll = k % 20
    kind = "gbk" if roll < 6 else ("atom" if roll < 9 else "utf8")
    with_guid = k % 10 != 7
    cdata = k % 2 == 0
    traditional = k % 13 == 5
    date_style = k % 4
    site = f"https://news{k}.example.cn"
    title = f"{rng.choice(PLACES)}新闻网（{k}）"
    entries = []
    for i in range(n_items):
        idx = n_items * version + i
        when = BASE_TIME - timedelta(minutes=37 * i + k)
        t = _fill(rng.choice(TITLES), rng)
        body = _body_html(rng, rng.randint(body_chars // 2, body_chars * 3 // 2), traditional, k)
        link = f"{site}/content/2025-03/{k:04d}{idx:05d}.html"
        entries.append((t, body, link, f"{site}/guid/{idx}", _date(rng, when, date_style),
                        rng.choice(ORGS)))
    if kind == "atom":
        out = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
               f"<title>{title}</title><link href=\"{site}/\"/><id>{site}/</id>",
               f"<updated>{BASE_TIME.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"]
        for t, body, link, guid, _d, author in entries:
            when = BASE_TIME.strftime("%Y-%m-%dT%H:%M:%S+08:00")
            out.append(f"<entry><title>{html.escape(t)}</title><link href=\"{link}\"/>"
                       f"<id>{guid}</id><updated>{when}</updated>"
                       f"<author><name>{author}</name></author>"
                       f"<content type=\"html\">{html.escape(body)}</content></entry>")
        out.append("</feed>")
        return "\n".join(out).encode("utf-8"), kind
    decl = '<?xml version="1.0"?>' if kind == "gbk" else '<?xml version="1.0" encoding="UTF-8"?>'
    out = [decl, '<rss version="2.0"><channel>', f"<title>{title}</title>",
           f"<link>{site}/</link><description>{title}</description><ttl>15</ttl>"]
    for t, body, link, guid, d, author in entries:
        desc = f"<![CDATA[{body}]]>" if cdata else html.escape(body)
        g = f"<guid isPermaLink=\"false\">{guid}</guid>" if with_guid else ""
        out.append(f"<item><title>{html.escape(t)}</title><link>{link}</link>{g}"
                   f"<pubDate>{d}</pubDate><author>{author}</author>"
                   f"<description>{desc}</description></item>")
    out.append("</channel></rss>")
    text = "\n".join(out)
    return (text.encode("gbk") if kind == "gbk" else text.encode("utf-8")), kind


# ---- measuring ---------------------------------------------------------------------------

def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fmt_rate(n: int, secs: float) -> str:
    return f"{n / secs:,.0f} items/s" if secs > 0 else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=100)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--profile", action="store_true", help="cProfile the first pass of ours")
    args = ap.parse_args()

    import feedparser
    import jieba

    jieba.setLogLevel(60)
    from monitor.parse import parse_feed
    from monitor.store import Store
    from monitor.store.search import tokens

    t0 = time.perf_counter()
    corpus = [make_feed(k, args.items) for k in range(args.feeds)]
    build = time.perf_counter() - t0
    total_bytes = sum(len(b) for b, _ in corpus)
    kinds = {kind: sum(1 for _, x in corpus if x == kind) for kind in ("utf8", "gbk", "atom")}
    print("== 入库吞吐 ingest throughput (parse + normalize + dedup + store), one thread ==")
    print(f"corpus: {args.feeds} feeds x {args.items} items = {args.feeds * args.items:,} items, "
          f"{total_bytes / 1e6:.1f} MB (UTF-8 RSS {kinds['utf8']}, GBK RSS undeclared "
          f"{kinds['gbk']}, Atom {kinds['atom']}); built in {build:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    t0 = time.perf_counter()
    tokens("预热分词词典：青山区住建局")  # jieba dictionary + normalization tables
    print(f"warm-up (jieba dictionary, normalize tables): {time.perf_counter() - t0:.2f} s "
          "(once per process, not counted)")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        store = Store(Path(tmp) / "bench.db")
        now = BASE_TIME + timedelta(hours=1)

        def ours(k: int, data: bytes, kind: str) -> tuple[float, float, int, int]:
            ctype = "application/xml" if kind == "gbk" else "application/rss+xml; charset=utf-8"
            a = time.perf_counter()
            parsed = parse_feed(data, content_type=ctype,
                                base_url=f"https://news{k}.example.cn/rss")
            b = time.perf_counter()
            stored = store.store_items(f"feed-{k:04d}", parsed.items, now=now)
            c = time.perf_counter()
            return b - a, c - b, len(parsed.items), len(stored)

        # Pass 1: baseline and ours interleaved feed by feed, so that a change in the
        # machine's load during the run affects both sides alike.
        gc.collect()
        base_s = bare_s = parse1 = store1 = 0.0
        n_base = n1 = stored1 = 0
        for k, (data, kind) in enumerate(corpus):
            a = time.perf_counter()
            n_base += len(feedparser.parse(io.BytesIO(data)).entries)
            b = time.perf_counter()
            feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
            c = time.perf_counter()
            base_s += b - a
            bare_s += c - b
            if profiler is not None:
                profiler.enable()
            p, s, n, st = ours(k, data, kind)
            if profiler is not None:
                profiler.disable()
            parse1 += p
            store1 += s
            n1 += n
            stored1 += st
        # Pass 2: the same bytes again, every item already stored (the dedup path).
        gc.collect()
        parse2 = store2 = 0.0
        n2 = stored2 = 0
        for k, (data, kind) in enumerate(corpus):
            p, s, n, st = ours(k, data, kind)
            parse2 += p
            store2 += s
            n2 += n
            stored2 += st
        db_mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
        store.close()

    base_rate = n_base / base_s
    ours1 = n1 / (parse1 + store1)
    ours2 = n2 / (parse2 + store2)
    ratio = ours1 / base_rate

    def row(label: str, secs: float, n: int, extra: str = "") -> None:
        print(f"  {label:<44} {secs:6.2f} s {fmt_rate(n, secs):>16}  {extra}")

    row("baseline: feedparser.parse (defaults)", base_s, n_base, f"{n_base:,} entries")
    row("(feedparser, no sanitize/resolve, as we call it)", bare_s, n_base)
    row("ours, first pass (all new)", parse1 + store1, n1,
        f"{ratio:.2f}x baseline, stored {stored1:,} of {n1:,}")
    row("  parse: decode, feedparser, HTML->text, dates", parse1, n1,
        f"{100 * parse1 / (parse1 + store1):.0f}% of the pass")
    row("  store: dedup, normalize, jieba FTS, SQLite", store1, n1,
        f"{100 * store1 / (parse1 + store1):.0f}% of the pass")
    row("ours, second pass (all duplicates)", parse2 + store2, n2,
        f"{ours2 / base_rate:.2f}x baseline, stored {stored2:,}")
    row("  parse", parse2, n2)
    row("  store (dedup lookups only)", store2, n2)
    print(f"  database {db_mb:.1f} MB after both passes; peak RSS {peak_rss_mib():.0f} MiB")
    verdict = "达标 meets target" if ratio >= TARGET else "未达标 below target"
    print(f"RESULT ingest: {ours1:,.0f} items/s = {ratio:.2f}x bare feedparser.parse "
          f"({base_rate:,.0f} items/s); target >= {TARGET}x: {verdict}. "
          f"Dedup pass {ours2:,.0f} items/s ({ours2 / base_rate:.2f}x).")
    if stored2:
        print(f"note: the second pass stored {stored2} items (expected 0: dedup missed them)")
    if profiler is not None:
        import pstats

        print("\n-- cProfile, first pass of ours (top 20 by own time) --")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(20)
        print("-- top 20 by cumulative time --")
        stats.sort_stats("cumulative").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
