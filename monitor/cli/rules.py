"""``yuqing rules ...`` and ``yuqing items scored``: check, try, backtest and trace rules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError, RuleError
from ..terminal import show
from ..timefmt import for_people
from .app import Invocation, emit_json, main, open_store, parse_when, pass_invocation
from .i18n import ChineseGroup
from .options import JSON_OPTION, RULES_DIR_OPTION
from .render import highlight, snippet

if TYPE_CHECKING:
    from ..rules import Ruleset


def _read_text(path: str) -> str:
    """The file's text exactly as given (line endings kept, so offsets match the file)."""
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"不是 UTF-8 编码的文本（第 {e.start} 字节）", file=path,
                          hint="先转换为 UTF-8") from None


def _current_rules(state: Invocation, rules_dir: Path | None) -> Ruleset:
    from ..rules import load_ruleset  # the rule engine (and jieba) only when a command needs it

    return load_ruleset(rules_dir or state.config.rules.dir)


@main.group(cls=ChineseGroup)
def rules() -> None:
    """检查、试用和回测关键词规则。"""


@rules.command("check")
@click.argument("directory", required=False,
                type=click.Path(exists=True, path_type=Path))
@pass_invocation
def rules_check(state: Invocation, directory: Path | None) -> None:
    """校验规则文件并运行每条规则的示例；有问题时每个问题输出一行 文件:行号: 说明。

    示例：yuqing rules check rules/
    """
    from ..models import tone_text
    from ..rules import check_examples
    from ..rules.lint import rule_warnings
    from .tone import model_for

    rs = _current_rules(state, directory)
    model = model_for(state) if any(r.needs_tone for r in rs.rules) else None
    problems = check_examples(rs, None if model is None else
                              (lambda title, body: model.tone(tone_text(title, body))))
    for note in rule_warnings(Path(directory or state.config.rules.dir)):
        click.echo(f"{note.file}:{note.line}: 注意：{note.message}", err=True)
    if problems:
        raise RuleError(problems)
    examples = sum(len(r.examples) for r in rs.rules)
    click.echo(f"规则有效：{len(rs)} 条规则，{rs.word_count} 个词，{examples} 个示例全部通过"
               f"（版本 {rs.version}）")


@rules.command("test")
@click.option("--title", default="", help="标题")
@click.option("--body", default="", help="正文")
@click.option("--file", "file_", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="从文件读取正文（UTF-8；- 表示标准输入）")
@RULES_DIR_OPTION
@JSON_OPTION
@pass_invocation
def rules_test(state: Invocation, title: str, body: str, file_: Any, rules_dir: Path | None,
               as_json: bool) -> None:
    """用当前规则评估一段文本，显示得分、级别和高亮的命中词。

    示例：yuqing rules test --title "某工地农民工讨薪" --body "项目部拖欠工资三个月"
    """
    if file_ is not None:
        body = (body + "\n" if body else "") + _read_text(file_)
    if not title and not body:
        raise click.UsageError("请给出 --title、--body 或 --file")
    from ..models import tone_text
    from .tone import model_for

    rs = _current_rules(state, rules_dir)
    model = model_for(state)
    text = tone_text(title, body)
    tone = model.tone(text) if model is not None else None
    ev = rs.evaluate(title=title, body=body, tone=tone)
    doc = ev.to_dict()
    doc["tone"] = None if tone is None else {
        "label": tone.label, "negative": round(tone.negative, 4),
        "phrases": tone.phrases(text), "spans": [list(s) for s in tone.spans],
        "bonus": ev.tone_bonus}
    if as_json:
        emit_json(doc)
        return
    _print_evaluation(doc, title, body)
    _print_tone(doc, text)
    _print_tone_refusals(rs, title, body, tone)


def _print_tone(doc: dict[str, Any], text: str) -> None:
    from .render import highlight
    from .tone import tone_words

    t = doc["tone"]
    if t is None:
        click.echo("倾向：未判定（[tone] enabled = false）")
        return
    line = tone_words(t["label"], t["negative"])
    if t["spans"]:
        line += f"　依据：{highlight(text, [{'start': a, 'end': b} for a, b in t['spans']], color=False)}".replace("\n", " / ")
    click.echo(line)
    if t["bonus"]:
        click.echo(f"  负面概率不低于 0.9，得分另加 {t['bonus']} 分")


def _print_tone_refusals(rs: Ruleset, title: str, body: str, tone: Any) -> None:
    """The rules whose words matched but whose ``tone``/``min_negative`` did not."""
    for r in rs.explain(title=title, body=body, tone=tone).of("tone"):
        click.echo(f"  · {r.rule.id}（{show(r.rule.name)}）词语命中但未计入：{r.tone_reason}")


def _print_evaluation(doc: dict[str, Any], title: str, body: str) -> None:
    from ..models import LEVEL_NAMES

    color = sys.stdout.isatty()
    if not doc["matches"]:
        click.echo("未命中任何规则（得分 0）")
        return
    click.echo(f"得分 {doc['score']}，级别 {LEVEL_NAMES.get(doc['level'], doc['level'])}")
    spans = [dict(s, rule=m["rule"]) for m in doc["matches"] for s in m["spans"]]
    for field, text in (("title", title), ("body", body)):
        mine = [s for s in spans if s["field"] == field]
        if text and mine:
            label = "标题" if field == "title" else "正文"
            click.echo(f"{label}：{highlight(*snippet(text, mine, 200), color=color)}")
    for m in doc["matches"]:
        words = "、".join(dict.fromkeys(show(s["text"]) for s in m["spans"]))
        name = m.get("name") or m["rule"]
        click.echo(f"  · {m['rule']}（{name}，{m['category']}，"
                   f"{LEVEL_NAMES.get(m['level'], m['level'])}）：{words}")


@rules.command("backtest")
@click.option("--since", required=True, metavar="日期", help="起始日期 YYYY-MM-DD 或 ISO 8601 时间")
@click.option("--until", default=None, metavar="日期", help="截止日期（不含）")
@click.option("--rules-dir", type=click.Path(exists=True, path_type=Path), default=None,
              help="用这个目录的规则（默认配置中的规则目录），可用来试验改动后的规则")
@JSON_OPTION
@pass_invocation
def rules_backtest(state: Invocation, since: str, until: str | None, rules_dir: Path | None,
                   as_json: bool) -> None:
    """用当前规则重新评估历史条目（不告警、不改动已存结果），并与已存结果对比。

    示例：yuqing rules backtest --since 2026-01-01 --until 2026-07-01
    """
    from ..backtest import backtest

    rs = _current_rules(state, rules_dir)
    with open_store(state) as store:
        result = backtest(store, rs, since=parse_when(since, param="--since"),
                          until=parse_when(until, param="--until"))
        titles = {}
        if not as_json:
            shown_ids = {i for v in (*result.added.values(), *result.removed.values())
                         for i in v[:3]}
            found = store.get_items(sorted(shown_ids))
            titles = {i: item.title for i, item in found.items()}
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"回测 {result.items} 条，命中 {result.matched} 条（规则版本 {rs.version}）")
    for rule in rs.rules:
        n = result.by_rule.get(rule.id, 0)
        add, rem = result.added.get(rule.id, []), result.removed.get(rule.id, [])
        if not (n or add or rem):
            continue
        line = f"  {rule.id}（{rule.name}）：{n} 条"
        if add or rem:
            line += f"；较已存结果 新增 {len(add)}、不再命中 {len(rem)}"
        click.echo(line)
        for sign, ids in (("+", add), ("-", rem)):
            for i in ids[:3]:
                click.echo(f"      {sign} [{i}] {show(titles.get(i, ''))}")


@rules.command("versions")
@click.option("--diff", "show_diff", is_flag=True, help="同时显示每个版本的改动")
@JSON_OPTION
@pass_invocation
def rules_versions(state: Invocation, show_diff: bool, as_json: bool) -> None:
    """规则集的历次版本（守护进程每次加载新规则都会记录）。示例：yuqing rules versions --diff"""

    with open_store(state) as store:
        rows = store.ruleset_versions()
    if as_json:
        emit_json([{k: r[k] for k in ("version", "loaded_at", "actor", "rules", "changed", "diff")}
                   for r in rows])
        return
    if not rows:
        click.echo("还没有记录过规则版本（守护进程或 yuqing fetch 加载规则时记录）")
    for r in rows:
        changed = "、".join(r["changed"]) or "（无变化）"
        click.echo(f"{r['version']}  {for_people(r['loaded_at'])}  {r['actor'] or '—'}  "
                   f"{r['rules']} 条规则  改动：{changed}")
        if show_diff and r["diff"]:
            click.echo(r["diff"])


@rules.command("apply")
@click.option("--since", required=True, metavar="日期",
              help="起始日期 YYYY-MM-DD、ISO 8601 时间、today 或 7d 这样的时长")
@click.option("--until", default=None, metavar="日期", help="截止日期（不含）")
@JSON_OPTION
@pass_invocation
def rules_apply(state: Invocation, since: str, until: str | None, as_json: bool) -> None:
    """用当前规则重新评分这段时间的已存条目，此前的得分和级别记入审计日志。

    新达到告警级别的条目像新条目一样归入舆情事件（标注“重新评分发现”）；只有日期在
    [rules] rescore_alert_within（默认 24 小时）以内的才提醒，更早的只归入事件不提醒。

    示例：yuqing rules apply --since 7d
    """
    import asyncio

    from ..logsetup import setup_logging
    from ..store.db import utcnow

    cfg = state.config
    setup_logging(cfg, debug=state.debug, one_shot=True)
    start, end = parse_when(since, param="--since"), parse_when(until, param="--until")
    result = asyncio.run(_apply(state, start, end, utcnow()))
    if as_json:
        emit_json(result.to_json())
        return
    window = _hours(cfg.rules.rescore_alert_within)
    click.echo(f"重新评分 {result.items} 条：新增命中 {result.newly_matched} 条、级别变化 "
               f"{result.level_changed} 条、新开事件 {result.incidents_opened} 起、提醒 "
               f"{result.alerts} 封（超过 {window}的只归入事件不提醒）"
               f"（规则版本 {result.ruleset_version}）")
    if result.quiet:
        click.echo(f"  其中 {result.quiet} 条较早的条目已归入事件，未提醒")


def _hours(seconds: float) -> str:
    """``86400`` -> ``"24 小时"`` (whole hours up to three days), else in days and hours."""
    from ..durations import describe_duration

    if seconds % 3600 == 0 and 0 < seconds <= 3 * 86400:
        return f"{int(seconds // 3600)} 小时"
    return describe_duration(seconds)


async def rescore_and_send(state: Invocation, store: Any, now: Any,
                           run: Callable[[Any], Any]) -> Any:
    """``run(rescorer)`` with the rescorer the daemon would use (intake, planner, tone
    model), then send at once the alerts it planned; returns what ``run`` returned."""
    from ..alerts.deliver import Deliverer
    from ..alerts.plan import Planner
    from ..incidents.intake import Intake
    from ..rescore import Rescorer
    from ..score import ToneKeeper

    cfg = state.config
    rescorer = Rescorer(store, Intake(cfg, store), Planner(cfg, store),
                        alert_within=cfg.rules.rescore_alert_within,
                        tones=ToneKeeper.from_config(cfg))
    result = run(rescorer)
    if result.alerts:
        deliverer = Deliverer(cfg, store, clock=lambda: now)
        try:
            await deliverer.deliver_due()
        finally:
            await deliverer.aclose()
    return result


async def _apply(state: Invocation, since: Any, until: Any, now: Any) -> Any:
    """Re-score with the rules in force (recorded as a version, as the daemon does), then
    send the alerts it planned."""
    from ..rulekeeper import RuleKeeper

    cfg = state.config
    with open_store(state, create=True) as store:
        keeper = RuleKeeper(cfg.rules.dir, store)
        ruleset = keeper.load(now=now)
        if ruleset is None:
            raise ConfigError("没有可用的规则，无法重新评分：" + "；".join(keeper.problems[:3]),
                              file=str(cfg.rules.dir), hint="先用 yuqing rules check 修好规则")
        return await rescore_and_send(state, store, now, lambda r: r.rescore(
            ruleset, since=since, until=until, now=now))
