"""Statistics -> the report section's document (title, numbered headings, prose, tables,
charts), in the formal tone of an official report. Pure: every figure in the words, the
tables and the chart series is read from the same ``Stats``, so they agree; a period with
nothing in it gives a short, valid section that says so.

Sections: 一、监测工作开展情况 二、舆情总体情况（含负面舆情） 三、处置时效情况 四、典型舆情处置情况
五、规则与工作机制维护情况 六、存在的问题和下一步工作.
"""

from __future__ import annotations

from datetime import datetime

from ..models import LEVELS
from ..timefmt import zone
from .document import (
    Block,
    CategorySeries,
    Chart,
    Document,
    Heading,
    MonthlySeries,
    Paragraph,
    Table,
    TimingSeries,
)
from .findings import findings
from .stats import Stats
from .wording import (
    INCIDENT_LEVELS,
    date_cn,
    duration,
    level_name,
    level_prose,
    level_short,
    listing,
    month_cn,
    num,
    outcome_name,
    ratio,
    scope_word,
    share,
    spans_years,
)

NUMBERS = "一二三四五六七八九十"
TOP_FEEDS = 3                # feeds named in the coverage prose
MAX_RULE_CHANGES = 20        # rule changes listed in the table (the most recent)


def compose(stats: Stats, *, charts: bool = True) -> Document:
    """The report section of ``stats``; with ``charts=False`` (no CJK font to draw them) the
    document has no figures and the prose names none."""
    b = _Builder(charts=charts)
    b.blocks.append(Paragraph(opening(stats)))
    _coverage(b, stats)
    _overview(b, stats)
    _timeliness(b, stats)
    _typical(b, stats)
    _rules(b, stats)
    _problems(b, stats)
    b.blocks.append(Paragraph(_note(stats)))
    return Document(title=f"{stats.period.label}网络舆情监测与处置工作情况", blocks=b.blocks)


class _Builder:
    """Numbers headings (一、 and （一）), tables (表1) and charts (图1) as they are added."""

    def __init__(self, *, charts: bool = True) -> None:
        self.with_charts = charts
        self.blocks: list[Block] = []
        self.h1 = 0
        self.h2 = 0
        self.tables = 0
        self.charts = 0

    def heading(self, text: str) -> None:
        self.h1 += 1
        self.h2 = 0
        self.blocks.append(Heading(1, f"{NUMBERS[self.h1 - 1]}、", text))

    def subheading(self, text: str) -> None:
        self.h2 += 1
        self.blocks.append(Heading(2, f"（{NUMBERS[self.h2 - 1]}）", text))

    def para(self, text: str) -> None:
        self.blocks.append(Paragraph(text))

    def table_caption(self, title: str) -> str:
        self.tables += 1
        return f"表{self.tables} {title}"

    def table(self, title: str, header: list[str], rows: list[list[str]],
              note: str | None = None) -> str:
        caption = self.table_caption(title)
        self.blocks.append(Table(caption, header, rows, note))
        return caption.split(" ")[0]

    def chart(self, key: str, title: str, data: MonthlySeries | CategorySeries | TimingSeries
              ) -> str | None:
        """Add a chart; its reference (图N), or None when the document has no charts."""
        if not self.with_charts:
            return None
        self.charts += 1
        self.blocks.append(Chart(key, f"图{self.charts} {title}", data))
        return f"图{self.charts}"


def see(*refs: str | None) -> str:
    """「（见表1、图2）」 for the tables and charts that exist; empty when none does."""
    named = [r for r in refs if r]
    return f"（见{'、'.join(named)}）" if named else ""


# ---- the opening --------------------------------------------------------------------------

def opening(stats: Stats) -> str:
    """The headline figures as one paragraph of prose."""
    scope = scope_word(stats.period)
    label = stats.period.label
    head = (f"{label}，本单位依托网络舆情监测系统，对{num(stats.feeds_configured)}个信息源开展"
            f"常态化监测。" if stats.feeds_configured
            else f"{label}，本单位网络舆情监测系统尚未配置信息源。")
    if not stats.items_total and not stats.incidents_total:
        return head + f"{scope}未监测到相关信息，未发现涉及本单位的舆情。"
    text = head + f"{scope}共监测信息{num(stats.items_total)}条，"
    if not stats.incidents_total:
        return text + "未发现涉及本单位的舆情。"
    text += (f"发现涉及本单位舆情{num(stats.incidents_total)}起，其中较大及以上"
             f"{num(stats.incidents_serious)}起；已办结{num(stats.incidents_resolved)}起，"
             f"其中{num(stats.resolved_in_time)}起在规定时限内完成处置")
    unresolved = stats.incidents_total - stats.incidents_resolved
    if unresolved > 0:
        text += f"，尚有{num(unresolved)}起正在处置"
    return text + "。"


# ---- 一、监测工作开展情况 ---------------------------------------------------------------------

def _coverage(b: _Builder, stats: Stats) -> None:
    b.heading("监测工作开展情况")
    scope = scope_word(stats.period)
    with_items = sum(1 for c in stats.items_by_feed if c.count > 0)
    if stats.feeds_configured:
        text = (f"{scope}共配置监测信息源{num(stats.feeds_configured)}个，其中"
                f"{num(with_items)}个采集到信息，共采集信息{num(stats.items_total)}条。")
    else:
        text = f"{scope}未配置监测信息源，未采集到信息。"
    top = [c for c in stats.items_by_feed if c.count > 0][:TOP_FEEDS]
    if top:
        text += "采集量居前的信息源为" + listing(
            [f"{c.key}（{num(c.count)}条）" for c in top]) + "。"
    busiest = max(stats.items_by_month, key=lambda c: c.count, default=None)
    if busiest is not None and busiest.count > 0 and len(stats.items_by_month) > 1:
        text += (f"采集量最多的月份为{month_cn(busiest.key, year=spans_years(stats.period))}"
                 f"（{num(busiest.count)}条）。")
    b.para(text)
    fetches = sum(f.fetches for f in stats.feeds)
    ok = sum(f.ok for f in stats.feeds)
    if fetches:
        text = (f"系统{scope}共抓取信息源{num(fetches)}次，成功{num(ok)}次，成功率"
                f"{share(ok, fetches)}")
        text += (f"；目前有{num(len(stats.dead_feeds))}个信息源失效。" if stats.dead_feeds
                 else "，各信息源均可正常抓取。")
        b.para(text)
    if stats.staff_named:
        b.para(f"明确{num(len(stats.staff_named))}名工作人员接收舆情预警并负责处置："
               f"{listing(stats.staff_named)}。")
    else:
        b.para("系统中尚未指定接收舆情预警的工作人员。")
    if stats.feeds:
        rows = [[f.name, num(f.items), ratio(f.share), _when(f.last_success_at),
                 "失效" if f.dead else "正常"] for f in stats.feeds]
        b.table("信息源监测情况", ["信息源", "采集信息（条）", "抓取成功率", "最近成功抓取",
                                   "状态"], rows)


def _when(dt: datetime | None) -> str:
    return "—" if dt is None else date_cn(dt)


# ---- 二、舆情总体情况 -------------------------------------------------------------------------

def monthly_series(stats: Stats) -> MonthlySeries:
    return MonthlySeries(
        months=[m.month for m in stats.incidents_by_month],
        levels=list(INCIDENT_LEVELS),
        counts={lv: [m.by_level.get(lv, 0) for m in stats.incidents_by_month]
                for lv in INCIDENT_LEVELS})


def category_series(stats: Stats) -> CategorySeries:
    cats = [c for c in stats.incidents_by_category if c.count > 0]
    return CategorySeries([c.key for c in cats], [c.count for c in cats])


def timing_series(stats: Stats) -> TimingSeries:
    ts = sorted(stats.timing, key=lambda t: LEVELS.index(t.level) if t.level in LEVELS else 0)
    return TimingSeries([t.level for t in ts], [t.ack_median for t in ts],
                        [t.ack_p90 for t in ts], [t.resolve_median for t in ts],
                        [t.resolve_p90 for t in ts])


def _overview(b: _Builder, stats: Stats) -> None:
    b.heading("舆情总体情况")
    scope = scope_word(stats.period)
    total = stats.incidents_total
    if not total:
        b.para(f"{scope}未发现涉及本单位的舆情，各级别、各类别舆情均为0起。")
        _negative(b, stats)
        return
    levels = [f"{level_prose(lv)}{num(stats.incidents_by_level.get(lv, 0))}起"
              for lv in reversed(INCIDENT_LEVELS)]
    b.para(f"{scope}共发现涉及本单位舆情{num(total)}起。按级别分，{listing(levels)}；"
           f"其中较大及以上{num(stats.incidents_serious)}起，占"
           f"{share(stats.incidents_serious, total)}。")

    b.subheading("按时间分布")
    series = monthly_series(stats)
    year = spans_years(stats.period)
    if len(series.months) > 1:
        busiest = max(stats.incidents_by_month, key=lambda m: m.total)
        quiet = [m for m in stats.incidents_by_month if m.total == 0]
        text = (f"从时间分布看，{month_cn(busiest.month, year=year)}舆情最多，共"
                f"{num(busiest.total)}起")
        if quiet:
            text += f"；{num(len(quiet))}个月份未发现舆情"
        fig = b.chart("monthly", "各月舆情数量（按级别）", series)
        b.para(text + see(fig) + "。")
    else:
        b.chart("monthly", "舆情数量（按级别）", series)

    b.subheading("按类别分布")
    cats = category_series(stats)
    parts = [f"{c}{num(n)}起（{share(n, total)}）" for c, n in zip(cats.categories, cats.counts,
                                                                    strict=True)]
    rows = [[c, num(n), share(n, total) or "—"] for c, n in zip(cats.categories, cats.counts,
                                                                   strict=True)]
    rows.append(["合计", num(sum(cats.counts)), share(sum(cats.counts), total) or "—"])
    tab = b.table("舆情类别分布", ["类别", "舆情（起）", "占比"], rows)
    fig = b.chart("categories", "各类别舆情数量", cats)
    b.para(f"按类别分，{listing(parts)}{see(tab, fig)}。")

    b.subheading("负面舆情情况")
    _negative(b, stats)


def negative_prose(stats: Stats) -> str:
    """The 负面舆情 sentence: negative items among those with a tone, negative incidents
    among all (an incident is negative when any of its items is)."""
    scope = scope_word(stats.period)
    if not stats.items_total and not stats.incidents_total:
        return f"{scope}未监测到信息，未发现负面舆情。"
    if not stats.items_toned:
        return f"{scope}监测信息尚未进行倾向（正面、中性、负面）判定，暂无负面舆情统计。"
    text = (f"经倾向判定，{scope}已判定倾向的信息{num(stats.items_toned)}条中，负面信息"
            f"{num(stats.negative_items)}条，占{share(stats.negative_items, stats.items_toned)}")
    if stats.incidents_total:
        text += (f"；涉及本单位舆情{num(stats.incidents_total)}起中，负面舆情"
                 f"{num(stats.negative_incidents)}起，占"
                 f"{share(stats.negative_incidents, stats.incidents_total)}")
    text += "。"
    if not stats.negative_items and not stats.negative_incidents:
        return text + "未发现负面舆情。"
    year = spans_years(stats.period)
    busiest = max(stats.negative_by_month, key=lambda m: (m.incidents, m.items), default=None)
    if busiest is not None and len(stats.negative_by_month) > 1 and busiest.incidents:
        text += (f"负面舆情最多的月份为{month_cn(busiest.key, year=year)}"
                 f"（{num(busiest.incidents)}起）")
        top = stats.negative_by_category[0] if stats.negative_by_category else None
        if top is not None and top.incidents:
            text += f"，最多的类别为{top.key}（{num(top.incidents)}起）"
        text += "。"
    return text


def negative_month_rows(stats: Stats) -> list[list[str]]:
    year = spans_years(stats.period)
    rows = [[month_cn(m.key, year=year), num(m.incidents), num(m.items)]
            for m in stats.negative_by_month]
    rows.append(["合计", num(stats.negative_incidents), num(stats.negative_items)])
    return rows


def negative_category_rows(stats: Stats) -> list[list[str]]:
    rows = [[c.key, num(c.incidents), num(c.items)] for c in stats.negative_by_category]
    if stats.negative_items_unmatched:
        rows.append(["未命中监测规则", "—", num(stats.negative_items_unmatched)])
    return rows


def _negative(b: _Builder, stats: Stats) -> None:
    text = negative_prose(stats)
    if not (stats.items_toned and (stats.negative_items or stats.negative_incidents)):
        b.para(text)
        return
    months = b.table("负面舆情月度分布", ["月份", "负面舆情（起）", "负面信息（条）"],
                     negative_month_rows(stats),
                     note="注：舆情中任一条信息倾向为负面即计为负面舆情；"
                          "信息倾向经人工更正的，以更正为准。")
    cats = b.table("负面舆情类别分布", ["类别", "负面舆情（起）", "负面信息（条）"],
                   negative_category_rows(stats),
                   note="注：负面舆情按舆情类别计入；负面信息按所命中规则的类别计入，"
                        "命中多个类别的分别计入。")
    b.para(f"{text}各月和各类别分布见{months}、{cats}。")


# ---- 三、处置时效情况 -------------------------------------------------------------------------

def _timeliness(b: _Builder, stats: Stats) -> None:
    b.heading("处置时效情况")
    scope = scope_word(stats.period)
    if not stats.incidents_total:
        b.para(f"{scope}无需要处置的舆情，不涉及处置时效。")
        _alerts_line(b, stats)
        return
    ack_met = sum(t.ack_clock_met for t in stats.timing)
    ack_missed = sum(t.ack_clock_missed for t in stats.timing)
    resp_met = sum(t.respond_clock_met for t in stats.timing)
    resp_missed = sum(t.respond_clock_missed for t in stats.timing)
    text = (f"{scope}发现的舆情中，已办结{num(stats.incidents_resolved)}起，其中"
            f"{num(stats.resolved_in_time)}起在规定时限内完成处置")
    if resp_met + resp_missed:
        text += f"，时限内办结率{share(resp_met, resp_met + resp_missed)}"
    if resp_missed:
        text += f"，超过处置时限{num(resp_missed)}起"
    text += "。"
    if ack_missed:
        text += f"设有认领时限的舆情中，按时认领{num(ack_met)}起，超时认领{num(ack_missed)}起。"
    elif ack_met:
        text += f"设有认领时限的{num(ack_met)}起舆情均按时认领。"
    b.para(text)
    if stats.timing:
        rows = [[level_name(t.level), num(t.incidents), num(t.acknowledged),
                 duration(t.ack_median), duration(t.ack_p90), num(t.resolved),
                 duration(t.resolve_median), duration(t.resolve_p90),
                 f"{num(t.respond_clock_met)}/{num(t.respond_clock_missed)}"]
                for t in sorted(stats.timing, key=lambda t: -LEVELS.index(t.level))]
        tab = b.table("各级别舆情处置用时",
                      ["级别", "舆情（起）", "已认领", "认领用时中位数", "认领用时90%分位",
                       "已办结", "办结用时中位数", "办结用时90%分位", "按时/超时办结"], rows,
                      note="注：用时自舆情首次发现起算；90%分位指90%的舆情在该时长内完成。")
        series = timing_series(stats)
        fig = None
        if any(v is not None for v in (*series.ack_median, *series.resolve_median)):
            fig = b.chart("timing", "各级别舆情认领与办结用时", series)
        b.para(_timing_prose(stats) + see(tab, fig) + "。")
    outcomes = stats.incidents_by_outcome
    if outcomes:
        parts = [f"{outcome_name(code)}{num(n)}起" for code, n in outcomes.items()
                 if n and code != "open"]
        text = "从处置结果看，" + (listing(parts) if parts else "尚无办结的舆情")
        if outcomes.get("open"):
            text += f"，尚未办结{num(outcomes['open'])}起"
        b.para(text + "。")
    if stats.staff:
        b.para("人员处置方面，" + "；".join(
            f"{s.name}认领{num(s.acknowledged)}起、办结{num(s.resolved)}起"
            for s in stats.staff) + "。")
    _alerts_line(b, stats)


def _timing_prose(stats: Stats) -> str:
    parts = []
    for t in sorted(stats.timing, key=lambda t: -LEVELS.index(t.level)):
        bits = []
        if t.ack_median is not None:
            bits.append(f"认领用时中位数{duration(t.ack_median)}")
        if t.resolve_median is not None:
            bits.append(f"办结用时中位数{duration(t.resolve_median)}")
        if bits:
            parts.append(f"{level_prose(t.level)}舆情{'、'.join(bits)}")
    return "分级别看，" + "；".join(parts) if parts else "各级别舆情尚无认领和办结记录"


def _alerts_line(b: _Builder, stats: Stats) -> None:
    if not (stats.alerts_sent or stats.alerts_failed or stats.escalations):
        return
    text = f"系统共发送预警通知{num(stats.alerts_sent)}条"
    if stats.alerts_failed:
        text += f"，发送失败{num(stats.alerts_failed)}条"
    if stats.escalations:
        text += f"；因未及时认领升级通知{num(stats.escalations)}起"
    b.para(text + "。")


# ---- 四、典型舆情处置情况 ---------------------------------------------------------------------

def typical_rows(stats: Stats) -> list[list[str]]:
    year = spans_years(stats.period)
    return [[f"#{t.id}", date_cn(t.first_seen, year=year), t.title, t.category,
             level_short(t.level), f"{num(t.sources)}个来源/{num(t.items)}条",
             t.handling or "—", outcome_name(t.outcome, t.status)] for t in stats.typical]


def _typical(b: _Builder, stats: Stats) -> None:
    b.heading("典型舆情处置情况")
    if not stats.typical:
        b.para(f"{scope_word(stats.period)}未发现需要列示的典型舆情。")
        return
    caption = b.table_caption("典型舆情及处置情况")
    b.para(f"选取{scope_word(stats.period)}级别较高、传播较广的{num(len(stats.typical))}起舆情，"
           f"其处置情况见{caption.split(' ')[0]}。")
    b.blocks.append(Table(caption, ["编号", "首次发现", "舆情", "类别", "级别", "传播",
                                    "处置情况", "结果"], typical_rows(stats)))


# ---- 五、规则与工作机制维护情况 -----------------------------------------------------------------

def _rules(b: _Builder, stats: Stats) -> None:
    b.heading("规则与工作机制维护情况")
    scope = scope_word(stats.period)
    versions = stats.rule_changes
    changes = [c for c in versions if not c.initial]
    first = next((c for c in versions if c.initial), None)
    text = ""
    if first is not None:
        text = (f"{date_cn(first.at)}建立监测规则库，首批启用监测规则{num(first.rules)}条"
                f"（规则文件{num(len(first.changed))}个）")
    if changes:
        touched = sorted({r for c in changes for r in c.changed})
        # the store records changed rule files (or rule ids): name what was counted
        files = all(t.endswith((".yaml", ".yml")) for t in touched)
        what = f"规则文件{num(len(touched))}个" if files else f"规则{num(len(touched))}条"
        text += (f"{'；' if text else ''}{scope}共调整监测规则{num(len(changes))}次，涉及{what}；"
                 f"目前启用监测规则{num(changes[-1].rules)}条。规则每次调整均经校验后生效，"
                 "并留存版本记录。")
    elif first is not None:
        text += "，此后未作调整。规则经校验后生效，并留存版本记录。"
    if versions:
        b.para(text)
        shown = versions[-MAX_RULE_CHANGES:]
        rows = [[date_cn(c.at), c.version[:12], c.actor or "—", num(c.rules),
                 f"首次启用（规则文件{num(len(c.changed))}个）" if c.initial
                 else listing(c.changed) or "—"] for c in shown]
        note = (f"注：共{num(len(versions))}个版本，列出最近{num(len(shown))}个。"
                if len(shown) < len(versions) else None)
        b.table("监测规则版本记录", ["时间", "版本", "操作人", "规则数", "内容"], rows, note)
    else:
        b.para(f"{scope}监测规则未作调整。")
    checked = [r for r in stats.rules if r.incidents > 0]   # rules with resolved incidents
    if checked:
        hit = sum(r.incidents for r in checked)
        fp = sum(r.false_positives for r in checked)
        b.para(f"对已办结舆情的命中规则进行核查：{num(len(checked))}条规则命中已办结舆情"
               f"{num(hit)}起次，其中经核实为误报{num(fp)}起次。")
        rows = [[r.name or r.rule, r.rule, num(r.incidents), num(r.false_positives),
                 ratio(r.precision)] for r in checked]
        b.table("监测规则命中与误报情况", ["规则", "编号", "命中已办结舆情（起）", "误报（起）",
                                         "准确率"], rows,
                note="注：准确率＝1－误报起数÷命中已办结舆情起数。")


# ---- 六、存在的问题和下一步工作 -----------------------------------------------------------------

def _problems(b: _Builder, stats: Stats) -> None:
    b.heading("存在的问题和下一步工作")
    found = findings(stats)
    b.subheading("存在的问题")
    if not found:
        b.para(f"从监测数据看，{scope_word(stats.period)}未出现超时处置、规则误报集中、信息源失效和预警发送失败等问题。")
    for i, f in enumerate(found, 1):
        b.para(f"{i}. {f.problem}")
    b.subheading("下一步工作")
    if not found:
        b.para("继续按现行规则和值守机制做好舆情监测与处置，根据工作变化及时调整监测规则。")
    for i, f in enumerate(found, 1):
        b.para(f"{i}. {f.step}")


def _note(stats: Stats) -> str:
    key = zone().key
    when = "北京时间" if key == "Asia/Shanghai" else f"{key}时间"
    return (f"注：本节数据由网络舆情监测系统统计，统计时段为{stats.period.label}，"
            f"数据截至{date_cn(stats.generated_at)}；时间均为{when}，信息按发布时间计入，"
            "舆情按首次发现时间计入。")
