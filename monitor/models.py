"""Plain dataclasses shared by every stage (no I/O, no behaviour beyond small helpers)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

LevelCode = Literal["info", "blue", "yellow", "orange", "red"]   # lowest to highest
LEVELS: tuple[str, ...] = get_args(LevelCode)
LEVEL_NAMES: dict[str, str] = {
    "info": "记录",
    "blue": "一般（蓝）",
    "yellow": "较大（黄）",
    "orange": "重大（橙）",
    "red": "特别重大（红）",
}
ToneCode = Literal["negative", "neutral", "positive"]
TONES: tuple[str, ...] = get_args(ToneCode)
TONE_NAMES: dict[str, str] = {"negative": "负面", "neutral": "中性", "positive": "正面"}
# Why an item is dated at its fetch time (``items.date_note``; see ``monitor.finish``).
DATE_NOTES: dict[str, str] = {
    "too_old": "发布时间不可信（早于 1990 年），按抓取时间计",
    "future": "发布时间不可信（晚于抓取时间一天以上），按抓取时间计",
}


def tone_text(title: str, body: str) -> str:
    """What the tone model reads of an item: its title, a line break, its body."""
    return f"{title}\n{body}" if body else title


@dataclass(frozen=True)
class ToneSignal:
    """What rules and scoring read of an item's tone: its label and ``negative``
    probability (a staff correction counts as certain: 1.0 for negative, else 0.0)."""

    label: str
    negative: float


def distinct_phrases(texts: Iterable[str]) -> list[str]:
    """Phrases as a person reads a list of them: whitespace collapsed, each once, none that
    another listed phrase contains (the same words marked in the title and again in the
    body, or 项目部讨薪 beside 项目部讨薪被), in order of first appearance."""
    seen: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if text and text not in seen:
            seen.append(text)
    return [t for t in seen if not any(t != o and t in o for o in seen)]


def level_rank(level: str | None) -> int:
    """Order of a level code; ``None`` ranks below ``info``."""
    return -1 if level is None else LEVELS.index(level)


@dataclass
class FetchResult:
    """What one HTTP fetch of a feed produced (before parsing)."""

    url: str                      # final URL after redirects
    status: int                   # HTTP status; 304 means not modified
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None  # seconds the server asks us not to re-fetch (Cache-Control/Expires)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class ParsedItem:
    """One entry as the source published it: ``body`` is readable text (markup removed)."""

    guid: str | None
    link: str | None
    title: str
    body: str
    published_at: datetime | None = None  # timezone-aware UTC
    author: str | None = None
    date_note: str | None = None          # set when published_at is the fetch time (DATE_NOTES)


@dataclass
class ParsedFeed:
    items: list[ParsedItem]
    title: str = ""
    link: str | None = None
    format: str = ""              # e.g. rss20, atom10, json1
    encoding: str = ""            # the encoding the bytes were decoded with
    ttl: float | None = None      # seconds, from <ttl> / <sy:updatePeriod>
    next_url: str | None = None   # an html list page's next page (its `next` selector)


class Record:
    """Models read as mappings too (``item["title"]`` as well as ``item.title``), as the
    store's rows were read before they became models."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass
class StoredMatch(Record):
    """One rule's match on a stored item, as the store keeps it (spans as JSON shapes)."""

    rule: str
    category: str
    level: str
    name: str | None = None
    weight: int | None = None
    spans: list[dict[str, Any]] = field(default_factory=list)
    ruleset_version: str | None = None


@dataclass
class Item(Record):
    """A stored item: as the source published it, plus what the rules made of it."""

    id: int
    feed: str
    title: str = ""
    body: str = ""
    link: str | None = None
    guid: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    updated_at: datetime | None = None
    date_note: str | None = None          # why published_at is the fetch time (DATE_NOTES)
    revision_of: int | None = None        # the stored item this one is an edit of
    score: int | None = None
    level: str | None = None
    ruleset_version: str | None = None
    scored_at: datetime | None = None
    deleted: bool = False
    tone: str | None = None               # the model's: negative, neutral or positive
    tone_negative: float | None = None    # its calibrated probability of negative
    tone_spans: str | None = None         # JSON [[start, end], ...] into tone_text()
    tone_model: str | None = None         # the model version that labelled it
    tone_corrected: str | None = None     # the staff's correction, which wins
    matches: list[StoredMatch] = field(default_factory=list)  # filled by scored queries

    @property
    def effective_tone(self) -> str | None:
        """The tone everything uses: the staff's correction, else the model's."""
        return self.tone_corrected or self.tone

    @property
    def tone_signal(self) -> ToneSignal | None:
        """The tone the rules use: the staff's correction (certain), else the model's;
        ``None`` when the item has no tone yet."""
        if self.tone_corrected:
            return ToneSignal(self.tone_corrected,
                              1.0 if self.tone_corrected == "negative" else 0.0)
        if self.tone:
            return ToneSignal(self.tone, float(self.tone_negative or 0.0))
        return None

    def tone_text(self) -> str:
        """The text the tone was read from; ``tone_spans`` are offsets into it."""
        return tone_text(self.title, self.body)

    def tone_phrases(self) -> list[tuple[int, int, str]]:
        """The phrases behind the model's tone: (start, end, text) in ``tone_text()``."""
        if not self.tone_spans:
            return []
        text = self.tone_text()
        return [(a, b, text[a:b]) for a, b in json.loads(self.tone_spans)]

    @property
    def when(self) -> datetime | None:
        """The item's date: its publication time, else when it was fetched."""
        return self.published_at or self.fetched_at


@dataclass
class FeedState(Record):
    """A feed's state row: validators, the last outcome, failures, the next check."""

    name: str
    url: str
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_status: int | None = None
    ok: bool | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    last_checked_at: datetime | None = None
    last_new_item_at: datetime | None = None
    next_check_at: datetime | None = None
    ttl: float | None = None
    max_age: float | None = None
    encoding: str | None = None
    format: str | None = None
    failure_alerted_at: datetime | None = None
    created_at: datetime | None = None
    rearmed_at: datetime | None = None
    rearm_note: str | None = None
    feed_id: str | None = None
    response_ms: int | None = None  # how long the last fetch took, from start to stored
    items_total: int = 0


@dataclass
class RulesetVersion(Record):
    """One recorded version of the ruleset: when first seen, by whom, what changed."""

    version: str
    loaded_at: datetime
    actor: str | None
    rules: int
    changed: list[str] = field(default_factory=list)
    diff: str | None = None


# ---- incidents and alerts ------------------------------------------------------------

IncidentStatus = Literal["open", "acknowledged", "resolved"]
INCIDENT_STATUS_NAMES: dict[str, str] = {
    "open": "待处置",
    "acknowledged": "已认领",
    "resolved": "已办结",
}
# How an incident was closed (``incidents resolve --outcome``); 误报 is counted per rule.
OUTCOMES: dict[str, str] = {
    "responded": "已回应",
    "clarified": "已澄清辟谣",
    "referred": "转办",
    "no_action": "不予处置",
    "false_positive": "误报",
}
# A response clock's state (``incidents show``, the 舆情台账).
CLOCK_NAMES: dict[str, str] = {"met": "已按时", "missed": "已超时", "running": "进行中"}
# FetchError.kind (and the html/json feeds' layout failures), as people read them
FETCH_ERROR_NAMES: dict[str, str] = {
    "timeout": "超时", "connection": "连接失败", "http_status": "HTTP 错误", "http": "HTTP 错误",
    "too_large": "内容过大", "not_feed": "不是订阅源", "blocked": "地址被拦截",
    "redirect": "重定向有误", "parse": "解析失败", "layout": "页面结构变化",
    "rsshub": "RSSHub 错误", "browser": "浏览器不可用",
}


def clock_state(due: datetime | None, settled: str | None, done: datetime | None,
                at: datetime) -> str | None:
    """``met`` / ``missed`` / ``running`` for a clock due at ``due`` whose step was taken
    at ``done`` (None: not yet), as recorded (``settled``) or as it stands at ``at``;
    None when the level has no such clock."""
    if settled is not None:
        return settled
    if due is None:
        return None
    if done is not None:
        return "met" if done <= due else "missed"
    return "missed" if at > due else "running"



@dataclass
class IncidentEvent:
    """Something that happened to an incident that its recipients must hear about: it
    opened, or its level rose (the alerts planner turns these into deliveries)."""

    incident_id: int
    kind: Literal["opened", "raised"]
    level: str
    previous: str | None = None
    reason: str | None = None
    item_id: int | None = None
    actor: str | None = None


# What a delivery tells its recipient (``deliveries.kind``).
DELIVERY_KINDS: dict[str, str] = {
    "opened": "新舆情",
    "raised": "级别上升",
    "escalation": "未认领升级",
    "reminder": "认领提醒",
    "digest": "汇总",
    "summary": "超出频率汇总",
    "admin": "系统提醒",
}
# A delivery's state in the outbox. pending/sending/sent/failed are the contract's;
# held: waits for a digest; digested: went out inside one; muted: a silence held it back;
# capped: over the recipient's rate cap (told in a summary); cancelled: the incident was
# acknowledged or resolved before it went out.
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "held", "digested", "muted",
                     "capped", "cancelled")
# every state an outbox row can be in, as people read it
DELIVERY_STATUS_NAMES: dict[str, str] = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "失败",
    "held": "等待汇总",
    "digested": "已汇总发送",
    "muted": "已静默",
    "capped": "超出频率",
    "cancelled": "已取消",
}
CHANNELS = ("email", "webhook", "wecom", "dingtalk", "feishu")
CHANNEL_NAMES: dict[str, str] = {
    "email": "邮件",
    "webhook": "Webhook",
    "wecom": "企业微信机器人",
    "dingtalk": "钉钉机器人",
    "feishu": "飞书机器人",
}


@dataclass
class Incident(Record):
    """One story: the items (from one or many sources) that report it, and its handling."""

    id: int
    title: str
    category: str
    level: str
    status: str = "open"
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    items: int = 0
    sources: int = 0
    rules: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    link: str | None = None
    opened_at: datetime | None = None
    awaiting_since: datetime | None = None    # unacknowledged since (opened or reopened)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    ack_due_at: datetime | None = None        # the level's acknowledgement clock
    respond_due_at: datetime | None = None    # the level's response clock
    ack_clock: str | None = None              # met / missed (None: still running, or none)
    respond_clock: str | None = None
    level_reason: str | None = None           # why the level is what it is


def incident_json(inc: Incident) -> dict[str, Any]:
    """The contract's shape of an incident in ``incidents list --json`` (exactly these
    keys; ``incidents show --json`` starts with them)."""
    from .timefmt import for_json

    return {"id": inc.id, "title": inc.title, "category": inc.category, "level": inc.level,
            "status": inc.status, "first_seen": for_json(inc.first_seen),
            "last_seen": for_json(inc.last_seen), "items": inc.items, "sources": inc.sources,
            "acknowledged_at": for_json(inc.acknowledged_at),
            "acknowledged_by": inc.acknowledged_by, "resolved_at": for_json(inc.resolved_at)}


@dataclass
class IncidentStep(Record):
    """One entry of an incident's handling log (append-only)."""

    id: int
    incident_id: int
    at: datetime
    action: str          # opened, joined, raised, lowered, acknowledged, resolved, reopened,
                         # escalated, clock_missed, silenced
    actor: str | None = None
    note: str | None = None
    level: str | None = None
    item_id: int | None = None


@dataclass
class Message:
    """One alert as rendered for people, before a channel formats it: every channel
    shows the same facts (the webhook sends ``fields`` as JSON)."""

    subject: str                 # one line, e.g. 【重大（橙）】安全生产：某工地塔吊倒塌
    text: str                    # plain text, lines separated by \n
    markdown: str                # the same as Markdown (robots)
    html: str                    # the same as HTML, every value escaped (email)
    fields: dict[str, Any] = field(default_factory=dict)   # the webhook's JSON body


@dataclass
class Delivery(Record):
    """One alert to one recipient on one channel: a row of the outbox."""

    id: int
    kind: str
    recipient: str
    channel: str
    status: str = "pending"
    target: str | None = None             # the target's non-secret key (rate limits)
    note: str | None = None               # why the row is held, muted, cancelled...
    incident_id: int | None = None
    level: str | None = None
    message: Message | None = None
    dedup_key: str | None = None
    due_at: datetime | None = None
    next_attempt_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    claimed_at: datetime | None = None


# What an audit-log event records (``events.kind``), as people read it. A family is the
# part before the dot (``incident`` is every incident event).
AUDIT_KINDS: dict[str, str] = {
    "item.stored": "保存新条目",
    "item.changed": "条目内容变更",
    "item.deleted": "删除条目",
    "item.rescored": "条目重新评分（记录此前的得分和级别）",
    "incident.opened": "新建舆情事件",
    "incident.joined": "条目并入事件",
    "incident.raised": "事件升级",
    "incident.lowered": "事件降级",
    "incident.acknowledged": "认领事件",
    "incident.resolved": "办结事件",
    "incident.reopened": "重新打开事件",
    "incident.escalated": "未认领升级",
    "incident.clock_missed": "超过处置时限",
    "incident.silenced": "事件静默",
    "alert.sent": "告警已发送",
    "alert.retrying": "告警发送失败（将重试）",
    "alert.failed": "告警发送失败（已放弃）",
    "alert.retried": "告警重新排队",
    "silence.added": "添加静默",
    "silence.lifted": "解除静默",
    "rules.version": "规则集变更",
    "rules.rejected": "规则文件有误（未启用）",
    "feed.failure": "订阅源抓取失败",
    "feed.recovered": "订阅源恢复",
    "feed.rearmed": "订阅源计划重排",
    "problem.opened": "系统问题（已通知管理员）",
    "problem.cleared": "系统问题已解除",
    "daemon.started": "守护进程启动",
    "daemon.stopped": "守护进程停止",
    "config.changed": "配置变更",
    "retention.pruned": "按保留期清理正文",
    "db.backup": "数据库备份",
    "db.restored": "数据库恢复",
    "user.added": "添加控制台用户",
    "user.login": "控制台登录",
    "user.login_failed": "控制台登录失败",
    "user.locked": "控制台账号锁定（多次登录失败）",
    "user.logout": "控制台退出",
    "user.changed": "修改控制台用户",
    "user.link_used": "通过提醒链接操作",
    "user.link_refused": "提醒链接被拒绝",
    "feed.added": "添加订阅源",
    "feed.edited": "修改订阅源",
    "feed.disabled": "停用订阅源",
    "feed.enabled": "启用订阅源",
    "rules.edited": "在控制台修改规则文件",
    "report.generated": "生成报告",
}
AUDIT_FAMILIES: dict[str, str] = {
    "item": "条目", "incident": "舆情事件", "alert": "告警", "silence": "静默",
    "rules": "规则", "feed": "订阅源", "problem": "系统问题", "daemon": "守护进程",
    "config": "配置", "retention": "保留期", "db": "数据库", "user": "用户",
}


# Web-console roles: staff handle incidents; admins also tend rules, feeds, users and
# silences; reporters read everything and generate reports but change nothing.
ROLES: dict[str, str] = {"staff": "监测人员", "admin": "管理员", "reporter": "报告撰写人"}


@dataclass
class User:
    """A web-console account (the password only as its argon2 hash)."""

    name: str
    role: str
    password_hash: str
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    session_epoch: int = 0        # bumped on a password change or disable: old cookies die

    @property
    def active(self) -> bool:
        return self.disabled_at is None
