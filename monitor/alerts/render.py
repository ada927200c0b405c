"""Render alerts for people: an incident, a digest, a rate-cap summary, a system notice.

Pure functions that build one :class:`~monitor.models.Message` - subject, plain text,
Markdown (robots), HTML (email) and the webhook's JSON ``fields`` - from the same list of
blocks, so every channel shows the same facts. All text is Chinese; levels are shown as
``LEVEL_NAMES``, times through :func:`~monitor.timefmt.for_people` (``fields`` keep ISO
8601 via :func:`~monitor.timefmt.for_json`).

Item titles, snippets and feed names are hostile input (anyone can publish a headline).
HTML escapes every value with :func:`html.escape`; Markdown replaces the characters that
make links, emphasis, headings, quotes or HTML (``[]()*_#<>`~|!\\``) by their full-width
forms, which read the same to a Chinese reader and mean nothing to any Markdown dialect
(WeCom's and DingTalk's subsets do not all honour backslash escapes), and folds line
breaks; only ``http(s)`` URLs become links, percent-encoded so they cannot close the link.
Matched words are marked 〖like this〗 in snippets (bold in Markdown and HTML).

Every incident message says its tone: 倾向：负面（负面概率 0.93），依据：“太失望了”“没人管”
for the item that caused it and for each item shown, and how many of the incident's
items have each tone (负面舆情 as :mod:`monitor.incidents.tone` defines it); digests and
summaries say it of each incident. The phrases are the item's own text and are escaped
like every other value; the webhook's JSON carries them as a ``tone`` object.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..durations import describe_duration
from ..incidents.tone import IncidentTone, ItemTone, incident_line, tone_line
from ..models import DELIVERY_KINDS, INCIDENT_STATUS_NAMES, LEVEL_NAMES, Incident, Message
from ..redact import redact_text
from ..timefmt import for_json, for_people

MAX_EVIDENCE = 5          # matched items shown per alert
MAX_SNIPPETS = 3          # snippets shown per item
_TITLE_CHARS = 60         # of an item title in a subject line
_ACK = "yuqing incidents ack {id} --by 姓名"
_OPEN = "点击打开"        # the text of a link whose value is the URL itself
_LEVEL_COLORS = {"info": "#8c8c8c", "blue": "#1677ff", "yellow": "#d4b106",
                 "orange": "#fa8c16", "red": "#f5222d"}
_KIND_TAGS = {"opened": "", "raised": "级别上升·", "escalation": "未认领升级·",
              "reminder": "认领提醒·"}


@dataclass
class Evidence:
    """One matched item shown in an alert."""

    feed: str
    title: str
    link: str | None
    when: datetime | None
    rule: str
    rule_name: str | None
    category: str
    level: str
    snippets: list[str] = field(default_factory=list)   # e.g. "…某工地〖塔吊倒塌〗致 2 人…"
    tone: ItemTone | None = None                         # the item's tone and its phrases


# ---- text helpers ---------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_MD_SPECIAL = str.maketrans({
    "[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿", "#": "＃", "<": "＜",
    ">": "＞", "`": "｀", "~": "～", "|": "｜", "!": "！", "\\": "＼"})
_MARKED = re.compile(r"〖([^〖〗]*)〗")


def one_line(text: str | None) -> str:
    """``text`` on one line: control and bidi characters removed, whitespace folded."""
    return " ".join(_CONTROL.sub("", text or "").split())


def md(text: str | None) -> str:
    """``text`` safe inside Markdown: one line, no character with a Markdown meaning."""
    return one_line(text).translate(_MD_SPECIAL)


def safe_url(url: str | None) -> str | None:
    """An ``http(s)`` URL with every character that could end a link percent-encoded;
    None for anything else (``javascript:``, ``data:``, relative)."""
    url = (url or "").strip()
    if not re.match(r"^https?://[^\s/?#]+", url, re.I) or _CONTROL.search(url):
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%-._~[]")


def snippet(text: str, start: int, end: int, width: int = 30) -> str:
    """The match ``text[start:end]`` marked 〖…〗 with up to ``width`` characters of
    context each side, on one line, with … where the text was cut."""
    start, end = max(0, start), min(len(text), max(start, end))
    before, match, after = text[max(0, start - width):start], text[start:end], \
        text[end:end + width]
    lead = "…" if start > width else ""
    tail = "…" if end + width < len(text) else ""
    return f"{lead}{one_line(before)}〖{one_line(match)}〗{one_line(after)}{tail}"


def level_name(level: str | None) -> str:
    return LEVEL_NAMES.get(level or "", level or "—")


# ---- the block model shared by the three renderings ---------------------------------

@dataclass
class _Fact:
    label: str
    value: str
    url: str | None = None
    raw: bool = False           # our own text (``#12``), shown in Markdown as is


@dataclass
class _Entry:
    head: str
    lines: list[str] = field(default_factory=list)      # plain; snippets may hold 〖〗
    links: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Doc:
    heading: str                # our own words, e.g. 未认领升级 #12
    title: str = ""             # hostile (an item title), shown after the heading
    level: str | None = None
    facts: list[_Fact] = field(default_factory=list)
    section: str = ""
    entries: list[_Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fact(self, label: str, value: str | None, url: str | None = None, *,
             raw: bool = False) -> None:
        if value:
            self.facts.append(_Fact(label, value, url, raw))

    def headline(self) -> str:
        return f"{self.heading}：{one_line(self.title)}" if self.title else self.heading


def _text(doc: _Doc, now: datetime) -> str:
    out = [doc.headline(), ""]
    for f in doc.facts:
        url = safe_url(f.url)
        value = url if url and f.value == f.url else one_line(f.value)
        out.append(f"{f.label}：{value}" + (f" {url}" if url and value != url else ""))
    if doc.entries:
        out += ["", f"{doc.section}："]
        for n, e in enumerate(doc.entries, 1):
            out.append(f"{n}. {one_line(e.head)}")
            out += [f"   {one_line(line)}" for line in e.lines]
            out += [f"   {label}：{u}" for label, url in e.links if (u := safe_url(url))]
    if doc.notes:
        out.append("")
        out += [one_line(n) for n in doc.notes]
    out += ["", f"—— 舆情监测系统 {for_people(now)}"]
    return "\n".join(out)


def _md_marked(text: str) -> str:
    return _MARKED.sub(lambda m: f"**{m.group(1)}**", md(text))


def _markdown(doc: _Doc, now: datetime) -> str:
    out = [f"### {doc.heading}" + (f"：{md(doc.title)}" if doc.title else "")]
    for f in doc.facts:
        url = safe_url(f.url)
        shown = f.value if f.raw else md(f.value)
        label = _OPEN if f.value == f.url else shown
        value = f"[{label}]({url})" if url else shown
        out.append(f"**{f.label}**：{value}")
    if doc.entries:
        out.append(f"**{doc.section}**：")
        for n, e in enumerate(doc.entries, 1):
            out.append(f"{n}. {md(e.head)}")
            out += [f"> {_md_marked(line)}" for line in e.lines]
            links = [f"[{label}]({u})" for label, url in e.links if (u := safe_url(url))]
            if links:
                out.append("　".join(links))
    out += [md(n) for n in doc.notes]
    out.append(f"舆情监测系统 {for_people(now)}")
    return "\n\n".join(out)


def _h(text: str | None) -> str:
    return html.escape(one_line(text), quote=True)


def _h_link(label: str, url: str | None) -> str:
    u = safe_url(url)
    return f'<a href="{html.escape(u, quote=True)}">{_h(label)}</a>' if u else _h(label)


def _html(doc: _Doc, subject: str, now: datetime) -> str:
    color = _LEVEL_COLORS.get(doc.level or "", "#595959")
    rows = "".join(
        f'<tr><th style="text-align:left;padding:4px 12px 4px 0;white-space:nowrap;'
        f'vertical-align:top">{_h(f.label)}</th>'
        f'<td style="padding:4px 0">'
        f'{_h_link(_OPEN if f.value == f.url else f.value, f.url)}</td></tr>'
        for f in doc.facts)
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{_h(subject)}</title></head>",
        '<body style="font-family:sans-serif;font-size:14px;color:#262626;line-height:1.6">',
        f'<h2 style="border-left:6px solid {color};padding-left:8px">{_h(doc.headline())}</h2>',
        f'<table style="border-collapse:collapse">{rows}</table>',
    ]
    if doc.entries:
        parts.append(f"<h3>{_h(doc.section)}</h3><ol>")
        for e in doc.entries:
            lines = "".join(
                '<div style="color:#595959">'
                + _MARKED.sub(lambda m: f"<b>{m.group(1)}</b>", _h(line)) + "</div>"
                for line in e.lines)
            links = "　".join(_h_link(label, url) for label, url in e.links if safe_url(url))
            parts.append(f"<li><div>{_h(e.head)}</div>{lines}"
                         + (f"<div>{links}</div>" if links else "") + "</li>")
        parts.append("</ol>")
    parts += [f"<p>{_h(n)}</p>" for n in doc.notes]
    parts.append(f'<p style="color:#8c8c8c;font-size:12px">舆情监测系统自动发送 · '
                 f"{_h(for_people(now))}</p></body></html>")
    return "".join(parts)


def _message(doc: _Doc, subject: str, fields: dict[str, Any], now: datetime) -> Message:
    subject = one_line(subject)
    return Message(subject=subject, text=_text(doc, now), markdown=_markdown(doc, now),
                   html=_html(doc, subject, now), fields=fields)


# ---- incidents ---------------------------------------------------------------------

def _incident_fields(inc: Incident, url: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "incident": inc.id, "level": inc.level, "level_name": level_name(inc.level),
        "title": inc.title, "category": inc.category, "link": inc.link,
        "rule": inc.rules[0] if inc.rules else None, "rules": list(inc.rules),
        "first_seen": for_json(inc.first_seen), "last_seen": for_json(inc.last_seen),
        "items": inc.items, "sources": inc.sources, "status": inc.status,
    }
    if url:
        out["url"] = url
    return out


def _evidence_entry(ev: Evidence) -> _Entry:
    head = "｜".join(p for p in (ev.feed, for_people(ev.when) if ev.when else "", ev.title) if p)
    lines = [f"规则：{ev.rule_name or ev.rule}（{ev.rule}，{ev.category}，{level_name(ev.level)}）"]
    lines += [f"命中：{s}" for s in ev.snippets[:MAX_SNIPPETS]]
    lines.append(tone_line(_tone_of(ev)))
    return _Entry(head, lines, [("查看原文", ev.link)] if ev.link else [])


_NO_TONE = ItemTone(label=None, negative=None)


def _tone_of(ev: Evidence | None) -> ItemTone:
    return ev.tone if ev is not None and ev.tone is not None else _NO_TONE


def _tone_fields(item: ItemTone, incident: IncidentTone | None) -> dict[str, Any]:
    """The webhook's ``tone`` object: the causing item's tone, its phrases (the item's
    own text) and the line people read, plus the incident's counts."""
    return {"label": item.label, "name": item.name,
            "negative": None if item.negative is None else round(item.negative, 4),
            "phrases": item.words() if item.explained else [], "corrected": item.corrected,
            "line": tone_line(item),
            "incident": incident.as_json() if incident is not None else None}


def _subject(tag: str, inc: Incident) -> str:
    title = one_line(inc.title)
    if len(title) > _TITLE_CHARS:
        title = title[:_TITLE_CHARS] + "…"
    return f"【{tag}{level_name(inc.level)}】{one_line(inc.category)}：{title}"


def render_incident(kind: str, incident: Incident, evidence: list[Evidence], *,
                    sources: list[str], url: str | None = None, note: str | None = None,
                    now: datetime, previous: str | None = None,
                    tone: IncidentTone | None = None) -> Message:
    """An incident alert; ``kind`` is opened, raised (``previous``: the level before),
    escalation or reminder; ``url`` the recipient's link to the incident in the console;
    ``tone`` the incident's (its items' tones), the first evidence being the item that
    caused the message."""
    inc = incident
    doc = _Doc(f"{DELIVERY_KINDS.get(kind, kind)} #{inc.id}", inc.title, level=inc.level)
    if kind == "raised" and previous:
        doc.fact("级别", f"{level_name(previous)} → {level_name(inc.level)}")
    else:
        doc.fact("级别", level_name(inc.level))
    if kind == "raised" or inc.level_reason:
        doc.fact("定级原因", inc.level_reason)
    others = [c for c in inc.categories if c != inc.category]
    doc.fact("类别", "、".join([inc.category, *others]))
    head_tone = _tone_of(evidence[0] if evidence else None)
    doc.fact("倾向", tone_line(head_tone).removeprefix("倾向："))
    if tone is not None and (inc.items > 1 or sum(tone.counts.values()) > 1):
        doc.fact("事件倾向", incident_line(tone).removeprefix("倾向："))
    doc.fact("标题", inc.title, inc.link)
    doc.fact("来源", "、".join(one_line(s) for s in sources) or "—")
    doc.fact("传播", f"累计 {inc.items} 条，来自 {inc.sources or len(sources)} 个来源")
    doc.fact("首次发现", for_people(inc.first_seen))
    doc.fact("最近发现", for_people(inc.last_seen))
    names = {ev.rule: ev.rule_name for ev in evidence}
    doc.fact("命中规则", "、".join(f"{names[r]}（{r}）" if names.get(r) else r for r in inc.rules))
    doc.fact("状态", INCIDENT_STATUS_NAMES.get(inc.status, inc.status))
    fields = {"kind": kind, "kind_name": DELIVERY_KINDS.get(kind, kind),
              **_incident_fields(inc, url)}
    # awaiting_since: unacknowledged since (opened or reopened); newer models only
    waiting = getattr(inc, "awaiting_since", None) or inc.opened_at or inc.first_seen
    if kind in ("escalation", "reminder") and waiting is not None:
        seconds = max(0.0, (now - waiting).total_seconds())
        doc.fact("无人认领", f"已 {describe_duration(seconds)}（自 {for_people(waiting)} 起）")
        fields["unacknowledged_seconds"] = int(seconds)
    doc.fact("说明", note)
    doc.fact("编号", f"#{inc.id}", raw=True)
    doc.fact("处置链接", url, url)
    doc.section = "命中内容"
    doc.entries = [_evidence_entry(ev) for ev in evidence[:MAX_EVIDENCE]]
    if len(evidence) > MAX_EVIDENCE:
        doc.notes.append(f"另有 {len(evidence) - MAX_EVIDENCE} 条命中未列出，请在控制台查看。")
    ack = _ACK.format(id=inc.id)
    tap = "打开处置链接点“我来认领”（无需登录），或" if url else ""
    if kind in ("escalation", "reminder"):
        doc.notes.append(f"请尽快认领并处置：{tap}运行 {ack}")
    else:
        doc.notes.append(f"认领：{tap}运行 {ack}" if url else f"认领：{ack}")
    if kind == "raised":
        fields["previous_level"] = previous
    fields["reason"] = inc.level_reason
    fields["note"] = note
    fields["source_names"] = list(sources)
    fields["matches"] = [
        {"feed": ev.feed, "title": ev.title, "link": ev.link, "when": for_json(ev.when),
         "rule": ev.rule, "rule_name": ev.rule_name, "category": ev.category,
         "level": ev.level, "snippets": list(ev.snippets),
         "tone": _tone_of(ev).as_json()} for ev in evidence]
    fields["tone"] = _tone_fields(head_tone, tone)
    return _message(doc, _subject(_KIND_TAGS.get(kind, ""), inc), fields, now)


def _listed(inc: Incident, url: str | None, tone: IncidentTone | None = None) -> _Entry:
    head = f"#{inc.id} {level_name(inc.level)}｜{one_line(inc.category)}｜{one_line(inc.title)}"
    line = (f"累计 {inc.items} 条，{inc.sources} 个来源；首次发现 {for_people(inc.first_seen)}；"
            f"{INCIDENT_STATUS_NAMES.get(inc.status, inc.status)}")
    links = [("处置链接", url)] if url else []
    if inc.link:
        links.append(("查看原文", inc.link))
    return _Entry(head, [line, incident_line(tone) if tone is not None else "倾向：未判定"],
                  links)


def _top(incidents: list[Incident]) -> str | None:
    order = list(LEVEL_NAMES)
    levels = [i.level for i in incidents if i.level in order]
    return max(levels, key=order.index) if levels else None


def _list_fields(kind: str, title: str, pairs: list[tuple[Incident, str | None]],
                 top: str | None, tones: Mapping[int, IncidentTone]) -> dict[str, Any]:
    """The webhook body of a message that lists incidents: the contract's keys at the
    top level (``incident`` is None: there is no single one) and each incident below,
    with its ``tone``."""
    listed = []
    for i, u in pairs:
        t = tones.get(i.id)
        listed.append({**_incident_fields(i, u), "tone": None if t is None else
                       {**t.as_json(), "line": incident_line(t)}})
    return {"kind": kind, "kind_name": DELIVERY_KINDS.get(kind, kind), "incident": None,
            "level": top, "level_name": level_name(top) if top else None, "title": title,
            "category": None, "link": None, "rule": None, "count": len(pairs),
            "negative": sum(1 for i, _ in pairs if (t := tones.get(i.id)) and t.negative),
            "incidents": listed}


def _negative_fact(doc: _Doc, incidents: list[Incident],
                   tones: Mapping[int, IncidentTone]) -> None:
    if incidents:
        n = sum(1 for i in incidents if (t := tones.get(i.id)) is not None and t.negative)
        doc.fact("负面舆情", f"{n} 个")


def render_digest(incidents: list[tuple[Incident, str | None]], *, since: datetime | None,
                  now: datetime, tones: Mapping[int, IncidentTone] | None = None) -> Message:
    """One message listing ``(incident, url)`` pairs, e.g. the 蓝/记录 incidents held for
    the 09:00 digest; ``tones``: each incident's tone by id."""
    tones = tones or {}
    top = _top([i for i, _ in incidents])
    span = f"{for_people(since)} 至 {for_people(now)}" if since else f"截至 {for_people(now)}"
    doc = _Doc(f"舆情汇总：{len(incidents)} 个事件", level=top)
    doc.fact("时段", span)
    doc.fact("事件数", str(len(incidents)))
    doc.fact("最高级别", level_name(top) if top else None)
    _negative_fact(doc, [i for i, _ in incidents], tones)
    doc.section = "事件"
    doc.entries = [_listed(i, u, tones.get(i.id)) for i, u in incidents]
    if not incidents:
        doc.notes.append("本时段没有新的事件。")
    subject = f"【舆情汇总】{span}，共 {len(incidents)} 个事件"
    if top:
        subject += f"（最高 {level_name(top)}）"
    fields = _list_fields("digest", one_line(subject), incidents, top, tones)
    fields.update(since=for_json(since), until=for_json(now))
    return _message(doc, subject, fields, now)


def render_summary(recipient: str, suppressed: list[Incident], *, window: str,
                   now: datetime, tones: Mapping[int, IncidentTone] | None = None) -> Message:
    """The alerts held back from ``recipient`` by a rate cap, told in one message;
    ``tones``: each incident's tone by id."""
    tones = tones or {}
    n = len(suppressed)
    top = _top(suppressed)
    doc = _Doc(f"超过频率上限，以下 {n} 条已合并", level=top)
    doc.fact("收件人", recipient)
    doc.fact("频率上限时段", window)
    doc.fact("最高级别", level_name(top) if top else None)
    _negative_fact(doc, suppressed, tones)
    doc.section = "合并的事件"
    doc.entries = [_listed(i, None, tones.get(i.id)) for i in suppressed]
    doc.notes.append("这些事件的单独提醒因超过频率上限未逐条发送，请在控制台查看并处置。")
    subject = f"【频率上限】超过频率上限，以下 {n} 条已合并"
    fields = _list_fields("summary", subject, [(i, None) for i in suppressed], top, tones)
    fields.update(recipient=recipient, window=window)
    return _message(doc, subject, fields, now)


def render_admin(title: str, detail: str, *, cleared: bool, now: datetime,
                 fields: dict[str, Any] | None = None) -> Message:
    """A notice to admins about the system itself (a feed failing, a rules reload that
    failed, a delivery given up), or that it has cleared. URLs in ``detail`` are
    redacted."""
    tag = "已恢复" if cleared else "系统提醒"
    doc = _Doc(tag, title)
    doc.fact("时间", for_people(now))
    doc.fact("状态", "已恢复正常" if cleared else "需要处理")
    doc.notes = [line for line in redact_text(detail).splitlines() if line.strip()]
    data: dict[str, Any] = {"kind": "admin", "kind_name": DELIVERY_KINDS["admin"],
                            "incident": None, "level": None, "title": title,
                            "category": "系统", "link": None, "rule": None,
                            "detail": redact_text(detail), "cleared": cleared,
                            "at": for_json(now), **(fields or {})}
    return _message(doc, f"【{tag}】{title}", data, now)
