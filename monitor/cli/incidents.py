"""``yuqing incidents ...``: list and show incidents, and the handling steps staff take on
them (acknowledge, resolve, reopen, set the level by hand).

Also what ``alerts.py`` shares with it: opening the store for a command that changes it
or names one record (never creating it), the clock, reading a level or status typed as a code or in Chinese,
and padding table cells that hold Chinese text.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import HandlingError
from ..models import (
    CLOCK_NAMES,
    INCIDENT_STATUS_NAMES,
    LEVEL_NAMES,
    OUTCOMES,
    distinct_phrases,
    incident_json,
)
from ..terminal import show
from ..timefmt import for_people
from .app import Invocation, emit_json, main, open_store, parse_when, pass_invocation
from .export import check_export, export_options, write_ledger
from .options import JSON_OPTION, SINCE_OPTION
from .render import echo_more, highlight

if TYPE_CHECKING:
    from ..store import Store

STATUS_HELP = "、".join(f"{c}（{n}）" for c, n in INCIDENT_STATUS_NAMES.items())
LEVEL_HELP = "、".join(f"{c} {n}" for c, n in LEVEL_NAMES.items())
OUTCOME_HELP = "、".join(f"{n}（{c}）" for c, n in OUTCOMES.items())


# ---- shared with alerts.py ------------------------------------------------------------
def now() -> datetime:
    """The time handling steps are recorded at (tests replace this)."""
    from ..store.db import utcnow

    return utcnow()


def open_existing(state: Invocation) -> Store:
    """The store for a command that writes, or that names one record: never created, and
    a missing database is an error (not an empty in-memory store that would swallow the
    change, or answer "no such incident" under a notice)."""
    from ..store import Store

    cfg = state.config
    return Store(cfg.storage.path, busy_timeout=cfg.storage.busy_timeout, create=False)


def _short_names(names: dict[str, str]) -> dict[str, str]:
    """Every way a person may type a code: the code, the Chinese name, and for levels
    its parts (较大（黄） -> 较大, 黄)."""
    out: dict[str, str] = {}
    for code, name in names.items():
        out[code] = out[name] = code
        if "（" in name:
            head, _, tail = name.partition("（")
            out[head] = out[tail.rstrip("）")] = code
    return out


def level_code(value: str, *, allow_info: bool = True) -> str:
    """A level typed as its code (yellow) or in Chinese (较大、黄、较大（黄））."""
    code = _short_names(LEVEL_NAMES).get(value.strip().lower() if value.isascii() else value)
    if code is None or (code == "info" and not allow_info):
        choices = {c: n for c, n in LEVEL_NAMES.items() if allow_info or c != "info"}
        raise HandlingError(f"未知的级别 {value!r}：可用 "
                            + "、".join(f"{c} {n}" for c, n in choices.items()))
    return code


def status_code(value: str, names: dict[str, str], what: str) -> str:
    code = _short_names(names).get(value.strip().lower() if value.isascii() else value)
    if code is None:
        raise HandlingError(f"未知的{what} {value!r}：可用 "
                            + "、".join(f"{c}（{n}）" for c, n in names.items()))
    return code


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cut(text: str, limit: int) -> str:
    """``text`` on one line, shortened to ``limit`` terminal columns (… marks the cut)."""
    text = " ".join(text.split())
    if width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain table, columns as wide as their widest cell (the last is not padded)."""
    sizes = [max([width(h), *(width(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        cells = [pad(c, sizes[i]) if i < len(line) - 1 else c for i, c in enumerate(line)]
        click.echo("  ".join(cells).rstrip())


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# ---- for people -------------------------------------------------------------------------
def _level(code: str | None) -> str:
    return LEVEL_NAMES.get(code or "", code or "—")


def _print_detail(d: dict[str, Any], at: datetime) -> None:
    from ..durations import describe_duration
    from ..incidents.detail import ACTION_NAMES, HOW_NAMES
    from ..models import CHANNEL_NAMES, DELIVERY_KINDS, DELIVERY_STATUS_NAMES

    def t(value: str | None) -> str:
        return for_people(_when(value))

    echo = click.echo
    echo(f"事件 #{d['id']}【{_level(d['level'])}】{show(d['category'])}：{show(d['title'])}")
    echo(f"  状态：{INCIDENT_STATUS_NAMES.get(d['status'], d['status'])}"
         f"    条目 {d['items']} 条 / 来源 {d['sources']} 个：{show('、'.join(d['feeds']))}")
    echo(f"  首次发现：{t(d['first_seen'])}    最近：{t(d['last_seen'])}")
    if d["level_reason"]:
        echo(f"  级别依据：{show(d['level_reason'])}")
    if d["link"]:
        echo(f"  链接：{show(d['link'])}")
    others = [c for c in d["categories"] if c != d["category"]]
    echo(f"  规则：{show('、'.join(d['rules'])) or '—'}"
         + (f"    另涉及类别：{show('、'.join(others))}" if others else ""))
    if d["acknowledged_at"]:
        echo(f"  认领：{show(d['acknowledged_by'])} {t(d['acknowledged_at'])}")
    if d["resolved_at"]:
        outcome = OUTCOMES.get(d["outcome"] or "", d["outcome"] or "—")
        echo(f"  办结：{show(d['resolved_by'])} {t(d['resolved_at'])}（结果：{outcome}）")
    for label, due_key, clock_key in (("认领时限", "ack_due_at", "ack_clock"),
                                      ("响应时限", "respond_due_at", "respond_clock")):
        due, state = d["clocks"][due_key], d["clocks"][clock_key]
        if due is None:
            continue
        text = CLOCK_NAMES.get(state or "", "—")
        if state == "running":
            due_dt = _when(due)
            assert due_dt is not None
            text += f"，还剩 {describe_duration((due_dt - at).total_seconds())}"
        echo(f"  {label}：{t(due)}（{text}）")

    tone = d["tone"]
    echo(f"  倾向：{tone['name']}（{tone['summary']}）"
         + (f"    依据：{''.join(f'〖{show(w)}〗' for w in tone['phrases'])}"
            if tone["phrases"] else ""))

    echo(f"\n条目（{len(d['entries'])}）：")
    for e in d["entries"]:
        how = HOW_NAMES.get(e["how"], e["how"])
        if e["how"] == "similar" and e["similarity"] is not None:
            how += f" {e['similarity']:.2f}"
        echo(f"  [{e['id']}] {t(e['published_at'] or e['fetched_at'])}  {show(e['feed'])}  "
             f"{_level(e['level'])}  {how}")
        echo(f"      {_marked_title(e)}")
        if e["tone"] is not None:
            echo(f"      {_tone_line(e['tone'])}")
        if e["link"]:
            echo(f"      {show(e['link'])}")

    echo(f"\n命中规则（{len(d['matches'])}）：")
    for m in d["matches"]:
        name = f" {show(m['name'])}" if m["name"] else ""
        echo(f"  {show(m['rule'])}{name}（{show(m['category'])}，{_level(m['level'])}）："
             f"{show('、'.join(m['words'])) or '—'}  [{len(m['items'])} 条]")

    echo(f"\n告警（{len(d['alerts'])}）：")
    for a in d["alerts"]:
        line = (f"  #{a['id']} {show(a['recipient'])}  {CHANNEL_NAMES.get(a['channel'], a['channel'])}"
                f"  {DELIVERY_KINDS.get(a['kind'], a['kind'])}  {_level(a['level'])}  "
                f"{DELIVERY_STATUS_NAMES.get(a['status'], a['status'])}  尝试 {a['attempts']} 次")
        if a["sent_at"]:
            line += f"  发送于 {t(a['sent_at'])}"
        if a["last_error"]:
            line += f"  最近错误：{show(a['last_error'])}"
        elif a["note"] and a["status"] != "sent":
            line += f"  （{show(a['note'])}）"
        echo(line)

    echo(f"\n处置记录（{len(d['log'])}）：")
    for s in d["log"]:
        line = f"  {t(s['at'])}  {ACTION_NAMES.get(s['action'], s['action'])}"
        if s["actor"]:
            line += f"  {show(s['actor'])}"
        if s["level"] and s["action"] in ("opened", "raised", "lowered"):
            line += f"  {_level(s['level'])}"
        if s["note"]:
            line += f"  {show(s['note'])}"
        echo(line)


def _explained(tone: dict[str, Any]) -> bool:
    """The phrases are the model's: they explain the tone unless staff changed it."""
    return bool(tone["phrases"]) and tone["label"] == tone["model_label"]


def _marked_title(e: dict[str, Any]) -> str:
    """The item's title, the tone's phrases in it marked 〖…〗 (each piece shown safely)."""
    title = e["title"] or ""
    tone = e["tone"]
    spans = [{"start": p["start"], "end": min(p["end"], len(title))} for p in tone["phrases"]
             if p["start"] < len(title)] if tone and _explained(tone) else []
    return highlight(title, spans, color=False)


def _tone_line(tone: dict[str, Any]) -> str:
    """倾向：负面（负面概率 0.93，人工更正）  依据：〖太失望了〗〖没人管〗"""
    from ..models import TONE_NAMES

    bits = []
    if tone["negative"] is not None:
        bits.append(f"负面概率 {tone['negative']:.2f}")
    if tone["corrected"]:
        model = tone["model_label"]
        bits.append("人工更正" + (f"，模型判为{TONE_NAMES.get(model, model)}"
                                  if model and model != tone["label"] else ""))
    line = f"倾向：{tone['name']}" + (f"（{'，'.join(bits)}）" if bits else "")
    if _explained(tone):
        words = distinct_phrases(p["text"] for p in tone["phrases"])
        line += "  依据：" + "".join(f"〖{show(w)}〗" for w in words if w)
    return line


# ---- commands ---------------------------------------------------------------------------
@main.group()
def incidents() -> None:
    """舆情事件：同一件事的多处报道合并为一个事件。查看、认领、办结、重新打开、调整级别。

    \b
    示例：
      yuqing incidents list --status open
      yuqing incidents show 12
      yuqing incidents ack 12 --by 张三
    """


BY_OPTION = click.option("--by", "by", required=True, metavar="姓名", help="处置人")
ALL_LIMIT_OPTION = click.option("--limit", default=None, type=click.IntRange(min=1), metavar="N",
                                help="最多显示多少条（默认全部）")


@incidents.command("list")
@SINCE_OPTION
@click.option("--until", default=None, metavar="日期", help="截止日期（不含），按首次发现时间")
@click.option("--level", default=None, metavar="级别", help=f"只看这一级别：{LEVEL_HELP}")
@click.option("--min-level", default=None, metavar="级别",
              help="只看这一级别及以上（如 yellow：较大及以上，与报告中的口径相同）")
@click.option("--status", default=None, metavar="状态", help=f"只看这一状态：{STATUS_HELP}")
@click.option("--category", default=None, metavar="类别", help="只看这一类别（如 安全生产）")
@click.option("--text", default=None, metavar="词语",
              help="只看标题或所含条目的标题、正文含这些词的事件（中文分词，繁简通搜）")
@click.option("--outcome", default=None, metavar="结果", help=f"只看这一办结结果：{OUTCOME_HELP}")
@click.option("--feed", "feed_name", default=None, metavar="名称", help="只看含这个订阅源条目的事件")
@ALL_LIMIT_OPTION
@export_options
@JSON_OPTION
@pass_invocation
def incidents_list(state: Invocation, since: str | None, until: str | None, level: str | None,
                   min_level: str | None, status: str | None, category: str | None, text: str | None,
                   outcome: str | None, feed_name: str | None, limit: int | None,
                   fmt: str | None, output: Path | None, as_json: bool) -> None:
    """列出舆情事件，最近有动静的在前；--since/--until 按首次发现时间筛选。

    \b
    示例：
      yuqing incidents list --status open --level yellow --since 2026-01-01
      yuqing incidents list --text 欠薪 --feed 区融媒体中心 --outcome 误报
      yuqing incidents list --since 2026-01-01 --format xlsx -o 舆情事件台账.xlsx
    """
    check_export(fmt, output, as_json)
    since_dt = parse_when(since, param="--since")
    until_dt = parse_when(until, param="--until")
    level_c = level_code(level) if level is not None else None
    min_c = level_code(min_level) if min_level is not None else None
    status_c = status_code(status, INCIDENT_STATUS_NAMES, "状态") if status is not None else None
    outcome_c = status_code(outcome, OUTCOMES, "办结结果") if outcome is not None else None
    if text is not None and not text.strip():
        raise HandlingError("--text 不能为空：请写要找的词语")
    filters: dict[str, Any] = {
        "since": since_dt, "until": until_dt, "level": level_c, "status": status_c,
        "category": category, "outcome": outcome_c, "feed": feed_name, "text": text,
        "min_level": min_c}
    with open_store(state) as store:
        rows = store.list_incidents(**filters, limit=limit)
        total = len(rows)
        if limit and len(rows) >= limit and fmt is None and not as_json:
            total = store.count_incidents(**filters)
        if fmt is not None:
            from ..report.ledger import incident_ledger

            ledger = incident_ledger(store, rows, at=now())
    if fmt is not None:
        write_ledger(ledger, fmt, output)
        return
    if as_json:
        emit_json([incident_json(r) for r in rows])
        return
    if not rows:
        click.echo("没有符合条件的舆情事件")
        return
    table(["编号", "级别", "状态", "类别", "标题", "条目/来源", "首次发现"],
          [[f"#{r.id}", _level(r.level), INCIDENT_STATUS_NAMES.get(r.status, r.status),
            cut(show(r.category), 12), cut(show(r.title), 40), f"{r.items}/{r.sources}",
            for_people(r.first_seen)] for r in rows])
    echo_more(total, len(rows))


@incidents.command("show")
@click.argument("incident_id", type=int, metavar="ID")
@JSON_OPTION
@pass_invocation
def incidents_show(state: Invocation, incident_id: int, as_json: bool) -> None:
    """一个事件的全部情况：倾向（是否负面舆情及依据）、条目、命中规则、告警、处置记录和处置时限。

    示例：yuqing incidents show 12 --json
    """
    from ..incidents.detail import incident_detail

    at = now()
    with open_existing(state) as store:
        detail = incident_detail(store, incident_id, at)
    if as_json:
        emit_json(detail)
    else:
        _print_detail(detail, at)


@incidents.command("ack")
@click.argument("incident_id", type=int, metavar="ID")
@BY_OPTION
@click.option("--note", default=None, metavar="说明", help="认领说明（可选）")
@pass_invocation
def incidents_ack(state: Invocation, incident_id: int, by: str, note: str | None) -> None:
    """认领事件：停止升级和提醒，尚未发出的告警一律取消。

    示例：yuqing incidents ack 12 --by 张三 --note 已联系项目部核实
    """
    from ..alerts import handling

    with open_existing(state) as store:
        _, cancelled = handling.acknowledge(state.config, store, incident_id, by=_name(by),
                                            note=note, now=now())
    click.echo(f"已认领事件 #{incident_id}，已取消 {cancelled} 条待发送的提醒")


@incidents.command("resolve")
@click.argument("incident_id", type=int, metavar="ID")
@BY_OPTION
@click.option("--note", required=True, metavar="说明", help="处置说明（必填，写入处置记录和年度报告）")
@click.option("--outcome", default="已回应", metavar="结果",
              help=f"办结结果（默认 已回应）：{OUTCOME_HELP}")
@pass_invocation
def incidents_resolve(state: Invocation, incident_id: int, by: str, note: str,
                      outcome: str) -> None:
    """办结事件并写明处置情况；尚未发出的告警一律取消。

    示例：yuqing incidents resolve 12 --by 张三 --note 已督促项目部结清工资 --outcome 已回应
    """
    from ..alerts import handling

    with open_existing(state) as store:
        inc, cancelled = handling.resolve(state.config, store, incident_id, by=_name(by),
                                          note=note, outcome=outcome, now=now())
    result = OUTCOMES.get(inc.outcome or "", inc.outcome or "")
    click.echo(f"已办结事件 #{incident_id}（结果：{result}），已取消 {cancelled} 条待发送的提醒")


@incidents.command("reopen")
@click.argument("incident_id", type=int, metavar="ID")
@BY_OPTION
@click.option("--note", default=None, metavar="说明", help="重新打开的理由（可选）")
@pass_invocation
def incidents_reopen(state: Invocation, incident_id: int, by: str, note: str | None) -> None:
    """重新打开已办结的事件（需要重新认领）。

    示例：yuqing incidents reopen 12 --by 张三 --note 当事人再次发帖
    """
    from ..alerts import handling

    with open_existing(state) as store:
        handling.reopen(state.config, store, incident_id, by=_name(by), note=note, now=now())
    click.echo(f"已重新打开事件 #{incident_id}，等待认领")


@incidents.command("level")
@click.argument("incident_id", type=int, metavar="ID")
@click.argument("level", metavar="级别")
@BY_OPTION
@click.option("--note", required=True, metavar="理由", help="调整理由（必填）")
@pass_invocation
def incidents_level(state: Invocation, incident_id: int, level: str, by: str,
                    note: str) -> None:
    """手动调高或调低事件级别：blue、yellow、orange、red，或 一般、较大、重大、特别重大。

    调高会按新级别通知相应人员，调低只记入处置记录。

    示例：yuqing incidents level 12 orange --by 张三 --note 已有媒体跟进报道
    """
    from ..alerts import handling

    code = level_code(level, allow_info=False)
    with open_existing(state) as store:
        inc, queued = handling.set_level(state.config, store, incident_id, code, by=_name(by),
                                         note=note, now=now())
    line = f"已将事件 #{incident_id} 调整为{LEVEL_NAMES[inc.level]}"
    if queued:
        line += f"，已安排 {queued} 条告警（守护进程随即发送，也可运行 yuqing alerts flush）"
    click.echo(line)


def _name(by: str) -> str:
    name = by.strip()
    if not name:
        raise HandlingError("--by 不能为空：请写处置人的姓名")
    return name
