"""``yuqing items ...``: list, search and delete stored items."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..models import LEVELS, Item
from ..terminal import show
from ..timefmt import for_json, for_people
from .app import (
    Invocation,
    cli_actor,
    emit_json,
    main,
    open_store,
    parse_when,
    pass_invocation,
)
from .export import check_export, export_options, write_ledger
from .options import DEFAULT_LIMIT, FEED_OPTION, JSON_OPTION, LIMIT_OPTION, SINCE_OPTION
from .render import echo_more, highlight, snippet

if TYPE_CHECKING:
    from ..store import Store

FETCHED_SINCE_OPTION = click.option(
    "--fetched-since", default=None, metavar="日期",
    help="只看这之后才抓到的条目（按抓取时间；today、24h 等写法同 --since）")


def _item_json(item: Item) -> dict[str, Any]:
    return {"id": item.id, "feed": item.feed, "title": item.title, "link": item.link,
            "published_at": for_json(item.published_at), "fetched_at": for_json(item.fetched_at),
            "body": item.body}


def _times(item: Item) -> str:
    """``发布 … 抓取 …`` (an untrustworthy publication date says it is the fetch time)."""
    published = for_people(item.published_at) if item.published_at else "—"
    if item.date_note:
        published += "（发布时间不可信，按抓取时间）"
    return f"发布 {published}  抓取 {for_people(item.fetched_at)}"


def _print_items(items: list[Item]) -> None:
    if not items:
        click.echo("没有符合条件的条目")
    for item in items:
        click.echo(f"[{item.id}] {show(item.feed)}  {_times(item)}\n"
                   f"    {show(item.title)}")
        if item.link:
            click.echo(f"    {show(item.link)}")


@main.group()
def items() -> None:
    """查看和搜索已抓取的条目。"""


@items.command("list")
@FEED_OPTION
@SINCE_OPTION
@click.option("--until", default=None, metavar="日期", help="截止日期（不含）")
@FETCHED_SINCE_OPTION
@click.option("--limit", default=None, type=click.IntRange(min=1), metavar="N",
              help="最多显示多少条（默认 50；导出时默认全部）")
@export_options
@JSON_OPTION
@pass_invocation
def items_list(state: Invocation, feed_name: str | None, since: str | None, until: str | None,
               fetched_since: str | None, limit: int | None, fmt: str | None,
               output: Path | None, as_json: bool) -> None:
    """列出条目，最新的在前；可导出为舆情台账（csv、xlsx）。

    \b
    示例：
      yuqing items list --feed 区融媒体中心 --since 2026-01-01
      yuqing items list --fetched-since today
      yuqing items list --since 2026-01-01 --until 2026-02-01 --format csv -o 一月信息台账.csv
    """
    check_export(fmt, output, as_json)
    since_dt = parse_when(since, param="--since")
    until_dt = parse_when(until, param="--until")
    if limit is None and fmt is None:
        limit = DEFAULT_LIMIT
    fetched_dt = parse_when(fetched_since, param="--fetched-since")
    with open_store(state) as store:
        rows = store.list_items(feed=feed_name, since=since_dt, until=until_dt,
                                fetched_since=fetched_dt, limit=limit)
        if fmt is not None:
            _export(store, rows, fmt, output)
            return
        total = len(rows)
        if limit and len(rows) >= limit and not as_json:
            total = store.count_items(feed=feed_name, since=since_dt, until=until_dt,
                                      fetched_since=fetched_dt)
    if as_json:
        emit_json([_item_json(r) for r in rows])
        return
    _print_items(rows)
    echo_more(total, len(rows))


def _export(store: Store, rows: list[Item], fmt: str, output: Path | None) -> None:
    from ..report.ledger import item_ledger

    write_ledger(item_ledger(store, rows), fmt, output)


@items.command("delete")
@click.argument("item_ids", nargs=-1, required=True, type=int)
@click.option("--by", default=None, metavar="姓名",
              help="记入审计日志的操作人（默认当前登录用户名）")
@pass_invocation
def items_delete(state: Invocation, item_ids: tuple[int, ...], by: str | None) -> None:
    """删除条目（例如广告、垃圾信息）：从列表和搜索中消失，再次抓取也不会回来。
    每次删除连同操作人和标题记入审计日志；已删除的条目再删只提示，不算错误（退出码 0）。

    示例：yuqing items delete 12 13 --by 张三
    """
    from ..errors import NotFoundError

    actor = cli_actor(by)
    with open_store(state) as store:
        found = store.get_items(list(item_ids))
        missing = [i for i in item_ids if i not in found]
        if missing:
            raise NotFoundError(f"没有编号为 {'、'.join(map(str, missing))} 的条目"
                                "（用 yuqing items list 查看编号）")
        deleted = 0
        for i in dict.fromkeys(item_ids):
            if store.delete_item(i, actor=actor):
                deleted += 1
            else:
                click.echo(_already_deleted(store, i))
    if deleted:
        click.echo(f"已删除 {deleted} 条（操作人 {show(actor)}）；它们不会在再次抓取时重新出现")


_TONE_ARGS = {"negative": "negative", "neutral": "neutral", "positive": "positive",
              "负面": "negative", "中性": "neutral", "正面": "positive"}


@items.command("tone")
@click.argument("item_id", type=int, metavar="ID")
@click.argument("tone_arg", metavar="negative|neutral|positive",
                type=click.Choice(list(_TONE_ARGS), case_sensitive=False))
@click.option("--by", default=None, metavar="姓名",
              help="记入审计日志的更正人（默认当前登录用户名）")
@pass_invocation
def items_tone(state: Invocation, item_id: int, tone_arg: str, by: str | None) -> None:
    """更正一个条目的倾向（也可写 负面、中性、正面）：更正连同更正人和时间保存，此后以更正
    为准，并用于下一次 yuqing tone train；随即用现行规则重新评估这一条，达到告警级别的像新
    条目一样归入舆情事件。

    示例：yuqing items tone 12 negative --by 张三
    """
    import asyncio

    from ..logsetup import setup_logging
    from ..models import TONE_NAMES
    from ..store.db import utcnow

    tone = _TONE_ARGS[tone_arg.lower()]
    actor = cli_actor(by)
    now = utcnow()
    setup_logging(state.config, debug=state.debug, one_shot=True)
    with open_store(state) as store:
        fix = store.correct_tone(item_id, tone, actor=actor, now=now)
    before = TONE_NAMES.get(fix.previous or "", "未判定")
    click.echo(f"条目#{item_id} 倾向：{before} → {TONE_NAMES[tone]}"
               f"（{show(actor)}，{for_people(now)}）")
    result = asyncio.run(_rescore_one(state, item_id, now))
    if result is None:
        click.echo("没有可用的规则，未重新评分（用 yuqing rules check 检查规则）")
    elif result.level_changed or result.newly_matched or result.incidents_opened:
        click.echo(f"已按更正后的倾向重新评分：新开事件 {result.incidents_opened} 起、"
                   f"提醒 {result.alerts} 封")


async def _rescore_one(state: Invocation, item_id: int, now: Any) -> Any:
    from ..rulekeeper import RuleKeeper
    from .rules import rescore_and_send

    with open_store(state) as store:
        ruleset = RuleKeeper(state.config.rules.dir, store).load(now=now)
        if ruleset is None:
            return None
        return await rescore_and_send(state, store, now,
                                      lambda r: r.rescore_ids(ruleset, [item_id], now=now))


def _already_deleted(store: Store, item_id: int) -> str:
    """``条目 N 已于 … 由 X 删除`` from the audit log."""
    done = store.deletion_of(item_id)
    if done is None:
        return f"条目 {item_id} 已删除过（审计日志中没有记录操作人）"
    at, who = done
    return f"条目 {item_id} 已于 {for_people(at)} 由 {show(who)} 删除，无需再删"


@items.command("search")
@click.argument("query")
@click.option("--feed", "feed_name", default=None, metavar="名称", help="只搜这个订阅源的条目")
@SINCE_OPTION
@click.option("--until", default=None, metavar="日期", help="截止日期（不含），按条目时间")
@LIMIT_OPTION
@export_options
@JSON_OPTION
@pass_invocation
def items_search(state: Invocation, query: str, feed_name: str | None, since: str | None,
                 until: str | None, limit: int, fmt: str | None, output: Path | None,
                 as_json: bool) -> None:
    """全文搜索（支持中文词语，繁简通搜），最相关的在前（标题中的词权重更高），
    命中的词用〖〗标出（终端上另加颜色）。空格分开的词都要命中；A OR B 命中其一即可；
    -词 排除含该词的条目；词* 匹配以它开头的词。

    \b
    示例：
      yuqing items search 欠薪
      yuqing items search "滨江大道 -招标" --since 2026-11-01
      yuqing items search "坍塌 OR 垮塌" --feed 区融媒体中心
      yuqing items search "工地 坍塌" --format csv -o 坍塌.csv
    """
    from ..store.search import parse_query

    if not query.strip():
        raise click.UsageError("搜索词不能为空：请写要找的词，例如 yuqing items search 欠薪")
    parsed = parse_query(query)
    if not parsed.fts and parsed.excluded:
        raise click.UsageError(f"“{query.strip()}”只有要排除的词：请至少写一个要找的词，"
                               "例如 \"滨江大道 -招标\"")
    check_export(fmt, output, as_json)
    since_dt = parse_when(since, param="--since")
    until_dt = parse_when(until, param="--until")
    with open_store(state) as store:
        rows = store.search_items(query, limit=limit, feed=feed_name, since=since_dt,
                                  until=until_dt)
        more = 0
        if limit and len(rows) >= limit:
            more = store.count_search(query, feed=feed_name, since=since_dt,
                                      until=until_dt) - len(rows)
        if fmt is not None:
            _export(store, rows, fmt, output)
            return
    if as_json:
        emit_json([_item_json(r) for r in rows])
        return
    _print_found(rows, query, color=sys.stdout.isatty())
    if more > 0:
        click.echo(f"（还有 {more} 条未显示：用 --limit 显示更多，或加词、--since、--feed 缩小范围）")


def _print_found(rows: list[Item], query: str, *, color: bool) -> None:
    """Search results for people: the query's words marked in the title and in a snippet
    of the body, at their places in the text as published (found through the
    normalization, so 歡迎 is marked for 欢迎)."""
    from ..store.search import query_terms, term_spans

    if not rows:
        click.echo("没有找到含这些词的条目")
        return
    terms = query_terms(query)
    for item in rows:
        title_spans = [{"start": a, "end": b} for a, b in term_spans(item.title, terms)]
        click.echo(f"[{item.id}] {for_people(item.when)}  {show(item.feed)}\n"
                   f"    {highlight(item.title, title_spans, color=color)}")
        body_spans = [{"start": a, "end": b} for a, b in term_spans(item.body, terms)]
        if body_spans:
            click.echo(f"    {highlight(*snippet(item.body, body_spans), color=color)}")
        if item.link:
            click.echo(f"    {show(item.link)}")


@items.command("scored")
@click.option("--min-score", default=1, type=click.IntRange(0, 100),
              help="最低得分 0-100（默认 1）")
@click.option("--min-level", default="blue", metavar="级别",
              help="只看这一级别及以上（默认 blue 一般（蓝）；info 记录级也看；可写中文如 较大）")
@SINCE_OPTION
@FETCHED_SINCE_OPTION
@LIMIT_OPTION
@JSON_OPTION
@pass_invocation
def items_scored(state: Invocation, min_score: int, min_level: str, since: str | None,
                 fetched_since: str | None, limit: int, as_json: bool) -> None:
    """有风险的条目：按级别（高的在前）再按得分列出命中规则的条目，并高亮命中词；
    默认不含只记录、不告警的“记录”级。

    \b
    示例：
      yuqing items scored --fetched-since today
      yuqing items scored --min-level 较大 --since 7d
    """
    from ..models import LEVEL_NAMES
    from .incidents import level_code

    code = level_code(min_level)
    levels = list(LEVELS[LEVELS.index(code):])
    filters: dict[str, Any] = {
        "min_score": min_score, "levels": levels, "since": parse_when(since, param="--since"),
        "fetched_since": parse_when(fetched_since, param="--fetched-since")}
    with open_store(state) as store:
        rows = store.scored_items(**filters, limit=limit)
        total = len(rows)
        if limit and len(rows) >= limit and not as_json:
            total = store.count_scored(**filters)
    if as_json:
        emit_json([{"id": r["id"], "feed": r["feed"], "title": r["title"], "link": r["link"],
                    "published_at": r["published_at"], "score": r["score"], "level": r["level"],
                    "ruleset_version": r["ruleset_version"],
                    "matches": [{"rule": m["rule"], "category": m["category"],
                                 "level": m["level"], "spans": m["spans"]}
                                for m in r["matches"]]} for r in rows])
        return
    color = sys.stdout.isatty()
    if not rows:
        click.echo("没有命中规则的条目")
    for r in rows:
        spans = [s for m in r["matches"] for s in m["spans"]]
        level = LEVEL_NAMES.get(r["level"], r["level"])
        click.echo(f"[{r['id']}] {r['score']:>3} {level}  {show(r['feed'])}  "
                   f"发布 {for_people(r['published_at'])}  抓取 {for_people(r['fetched_at'])}")
        click.echo("      " + highlight(r["title"], [s for s in spans if s["field"] == "title"],
                                        color=color))
        body_spans = [s for s in spans if s["field"] == "body"]
        if body_spans:
            click.echo(f"      {highlight(*snippet(r['body'], body_spans), color=color)}")
        rules_hit = "、".join(f"{m['rule']}（{m['category']}）" for m in r["matches"])
        click.echo(f"      规则：{rules_hit}")
        if r["link"]:
            click.echo(f"      {show(r['link'])}")
    echo_more(total, len(rows))


@items.command("show")
@click.argument("item_id", type=int, metavar="ID")
@JSON_OPTION
@pass_invocation
def items_show(state: Invocation, item_id: int, as_json: bool) -> None:
    """一个条目的详情：来源、时间、链接，用当前规则重新评估的命中规则及各自计入的分数、
    命中的词组、生效的排除词、差一点命中的规则和计分公式，以及入库时的评分结果。

    示例：yuqing items show 12
    """
    from ..errors import NotFoundError
    from ..rules import load_ruleset

    with open_store(state) as store:
        item = store.get_item(item_id)
        if item is None:
            raise NotFoundError(f"没有编号为 {item_id} 的条目（用 yuqing items list 查看编号）")
        stored = store.matches_of([item_id]).get(item_id, [])
        fixes = store.tone_corrections(item_id=item_id)
    rs = load_ruleset(state.config.rules.dir)
    ex = rs.explain(title=item.title, body=item.body, tone=item.tone_signal)
    changed = _changed(item, stored, ex.evaluation)
    if as_json:
        doc = _show_json(item, stored, ex, rs.version, changed)
        doc["tone"] = _tone_json(item, fixes)
        emit_json(doc)
        return
    _print_item(item)
    _print_tone(item, fixes)
    _print_explanation(ex, rs.version)
    _print_stored(item, stored, changed)


def _changed(item: Item, stored: list[Any], ev: Any) -> bool:
    """Whether the current rules judge the item differently from the stored result."""
    if item.ruleset_version is None:
        return False
    return ((item.score, item.level, sorted(m.rule for m in stored))
            != (ev.score, ev.level, sorted(m.rule for m in ev.matches)))


def _rule_json(r: Any) -> dict[str, Any]:
    return {"rule": r.rule.id, "name": r.rule.name, "category": r.rule.category,
            "level": r.rule.level, "weight": r.rule.weight, "in_title": r.in_title,
            "contribution": r.contribution, "counted": r.counted,
            "groups": [{"group": g.group, "words": list(g.words)} for g in r.hits],
            "exclusions": [{"group": g.group, "words": list(g.words)} for g in r.exclusions]}


def _show_json(item: Item, stored: list[Any], ex: Any, version: str,
               changed: bool) -> dict[str, Any]:
    from ..rules.explain import FORMULA

    doc = _item_json(item)
    doc["date_note"] = item.date_note
    doc["current"] = {"ruleset_version": version, "score": ex.evaluation.score,
                      "level": ex.evaluation.level,
                      "matches": [_rule_json(r) for r in ex.of("matched")],
                      "excluded": [_rule_json(r) for r in ex.of("excluded")],
                      "near_misses": [_rule_json(r) for r in ex.of("near")],
                      "tone_refused": [dict(_rule_json(r), reason=r.tone_reason)
                                       for r in ex.of("tone")],
                      "tone_bonus": ex.evaluation.tone_bonus}
    doc["stored"] = {"ruleset_version": item.ruleset_version, "score": item.score,
                     "level": item.level, "scored_at": for_json(item.scored_at),
                     "matches": [{"rule": m.rule, "category": m.category, "level": m.level,
                                  "weight": m.weight} for m in stored]}
    doc["changed"] = changed
    doc["formula"] = FORMULA
    return doc


def _tone_json(item: Item, fixes: list[Any]) -> dict[str, Any]:
    last = fixes[-1] if fixes else None
    return {"label": item.effective_tone, "model_label": item.tone,
            "negative": item.tone_negative, "model": item.tone_model,
            "phrases": [p for _a, _b, p in item.tone_phrases()],
            "spans": [[a, b] for a, b, _p in item.tone_phrases()],
            "corrected": None if last is None else {
                "tone": last.tone, "previous": last.previous, "by": last.actor,
                "at": for_json(last.at)}}


def _print_tone(item: Item, fixes: list[Any]) -> None:
    from ..models import TONE_NAMES
    from .tone import tone_words

    if item.tone is None and not item.tone_corrected:
        click.echo("倾向：未判定")
        return
    if item.tone_corrected:
        last = fixes[-1] if fixes else None
        who = f"（{show(last.actor)}，{for_people(last.at)} 更正" if last else "（已更正"
        model = f"；模型判为{TONE_NAMES.get(item.tone or '', '未判定')}" + (
            f"，负面概率 {item.tone_negative:.2f}" if item.tone_negative is not None else "")
        click.echo(f"倾向：{TONE_NAMES[item.tone_corrected]}{who}{model}）")
    else:
        click.echo(tone_words(item.tone, item.tone_negative)
                   + (f"（模型 {item.tone_model}）" if item.tone_model else ""))
    spans = [{"start": a, "end": b} for a, b, _p in item.tone_phrases()]
    if spans:
        click.echo("倾向依据：" + highlight(item.tone_text(), spans, color=False).replace("\n", " / "))


def _print_item(item: Item) -> None:
    from ..models import DATE_NOTES

    click.echo(f"[{item.id}] {show(item.title)}")
    if item.deleted:
        click.echo("（此条目已删除，不在列表和搜索中）")
    click.echo(f"来源：{show(item.feed)}")
    click.echo(f"发布：{for_people(item.published_at) if item.published_at else '—'}"
               + (f"（{DATE_NOTES.get(item.date_note, item.date_note)}）"
                  if item.date_note else ""))
    click.echo(f"抓取：{for_people(item.fetched_at)}")
    click.echo(f"链接：{show(item.link) if item.link else '—'}")


def _groups_text(groups: list[Any]) -> str:
    return "；".join(f"{show(g.group)}：{'、'.join(show(w) for w in g.words)}" for g in groups)


def _print_explanation(ex: Any, version: str) -> None:
    from ..models import LEVEL_NAMES
    from ..rules.explain import FORMULA

    ev = ex.evaluation
    level = LEVEL_NAMES.get(ev.level, ev.level) if ev.level else "—"
    click.echo(f"\n当前规则（版本 {version}）评估：得分 {ev.score}，级别 {level}")
    matched = ex.of("matched")
    if not matched:
        click.echo("  未命中任何规则")
    for r in matched:
        share = f"权重 {r.rule.weight}" + ("×1.25（标题中命中）" if r.in_title else "")
        share += f" = {r.contribution:g}"
        if r.counted != r.contribution:
            share += f"，同类别已有更高的一条，减半计入 {r.counted:g}"
        click.echo(f"  · {r.rule.id}（{show(r.rule.name)}，{show(r.rule.category)}，"
                   f"{LEVEL_NAMES.get(r.rule.level, r.rule.level)}）：{share}")
        click.echo(f"      命中词组  {_groups_text(r.hits)}")
        if r.exclusions:
            click.echo(f"      排除词    {_groups_text(r.exclusions)}")
    for title, outcome in (("倾向不符（词语命中，未计分）", "tone"),
                           ("排除词生效（未计分）", "excluded"),
                           ("差一点命中（命中部分词组，条件不成立）", "near")):
        rows = ex.of(outcome)
        if rows:
            click.echo(f"{title}：")
        for r in rows:
            click.echo(f"  · {r.rule.id}（{show(r.rule.name)}）：命中 {_groups_text(r.hits)}"
                       + (f"；排除词 {_groups_text(r.exclusions)}" if r.exclusions else "")
                       + (f"；{r.tone_reason}" if r.tone_reason else ""))
    if matched:
        parts = " + ".join(f"{show(c)} {v:g}" for c, v in ex.by_category.items())
        if ev.tone_bonus:
            parts += f" + 负面倾向 {ev.tone_bonus}"
        click.echo(f"计分：{parts} → {ev.score}")
    click.echo(f"计分公式：{FORMULA}")


def _print_stored(item: Item, stored: list[Any], changed: bool) -> None:
    from ..models import LEVEL_NAMES

    if item.ruleset_version is None:
        click.echo("\n入库时评分：尚未评分")
        return
    level = LEVEL_NAMES.get(item.level, item.level) if item.level else "—"
    rules_hit = "、".join(m.rule for m in stored) or "无"
    click.echo(f"\n入库时评分（规则版本 {item.ruleset_version}，{for_people(item.scored_at)}）："
               f"得分 {item.score}，级别 {level}，命中 {rules_hit}")
    if changed:
        click.echo("注意：规则改动后，当前规则的评估与入库时的结果不同"
                   "（用 yuqing rules backtest 查看全部差异）")
