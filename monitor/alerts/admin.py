"""System trouble for ``[alerts] admins``: a feed failing ``[fetch] failure_alert_after``
times in a row, a feed silent far longer than its usual rhythm, a rules reload that
failed, a delivery that failed for good. Each problem is told once when it appears and
once when it clears (``admin_problems`` keeps which are open), never on every retry.
"""

from __future__ import annotations

import itertools
import logging
import statistics
from datetime import datetime

from ..durations import describe_duration
from ..models import CHANNEL_NAMES, Delivery
from ..timefmt import for_people
from .plan import Planner

log = logging.getLogger(__name__)


def _open(planner: Planner, key: str, kind: str, subject: str | None, title: str,
          detail: str, now: datetime, skip_target: str | None = None) -> bool:
    if not planner.store.open_problem(key, kind=kind, subject=subject, detail=detail, now=now):
        return False
    log.info("已记录系统问题 problem=%s admins=%d", key, len(planner.config.alerts.admins))
    planner.queue_admin(key, title, detail, cleared=False, opened_at=now, now=now,
                        fields={"problem": kind, "subject": subject}, skip_target=skip_target)
    return True


def _clear(planner: Planner, key: str, title: str, detail: str, now: datetime) -> bool:
    row = planner.store.clear_problem(key, now=now)
    if row is None:
        return False
    opened = datetime.fromisoformat(row["opened_at"])
    log.info("系统问题已恢复 problem=%s", key)
    planner.queue_admin(key, title, detail, cleared=True, opened_at=opened, now=now,
                        fields={"problem": row["kind"], "subject": row["subject"]})
    return True


def check_feeds(planner: Planner, now: datetime) -> None:
    """Failing and silent feeds (and those that recovered)."""
    config, store = planner.config, planner.store
    states = {s.name: s for s in store.feeds_status()}
    for feed in config.feeds:
        state = states.get(feed.name)
        if state is None or not feed.enabled:
            continue
        key = f"feed-failing:{feed.name}"
        if state.consecutive_failures >= config.fetch.failure_alert_after:
            _open(planner, key, "feed_failing", feed.name, f"订阅源连续抓取失败：{feed.name}",
                  f"订阅源「{feed.name}」已连续 {state.consecutive_failures} 次抓取失败，"
                  f"最近一次错误：{state.last_error or '未知'}。系统会继续重试；"
                  "请检查地址是否变更、源站是否可达。", now)
        elif state.ok:
            _clear(planner, key, f"订阅源已恢复：{feed.name}",
                   f"订阅源「{feed.name}」已恢复正常抓取。", now)
        _check_silent(planner, feed.name, feed.interval, state.last_new_item_at, now)


def _check_silent(planner: Planner, name: str, interval: float,
                  last_new: datetime | None, now: datetime) -> None:
    """Silent: no new item for ``silent_after`` times the feed's usual gap between items
    (the median of its last 20), and never less than that many fetch intervals."""
    key = f"feed-silent:{name}"
    if last_new is None:
        return
    quiet = (now - last_new).total_seconds()
    if quiet <= planner.config.alerts.silent_after * interval:   # never silent this soon:
        _clear(planner, key, f"订阅源恢复更新：{name}",             # no need for its rhythm
               f"订阅源「{name}」又有了新条目。", now)
        return
    times = planner.store.recent_item_times(name, limit=20)
    if len(times) < 5:
        return
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(times)]
    usual = max(statistics.median(gaps), interval)
    if quiet > planner.config.alerts.silent_after * usual:
        _open(planner, key, "feed_silent", name, f"订阅源长时间没有新内容：{name}",
              f"订阅源「{name}」已 {describe_duration(quiet)} 没有新条目（平时约每 "
              f"{describe_duration(usual)} 一条；最近一条抓取于 {for_people(last_new)}）。"
              "请确认源站是否改版或停更。", now)
    else:
        _clear(planner, key, f"订阅源恢复更新：{name}", f"订阅源「{name}」又有了新条目。", now)


def check_rules(planner: Planner, problems: list[str], now: datetime) -> None:
    if problems:
        shown = "\n".join(problems[:5])
        more = f"\n（另有 {len(problems) - 5} 处问题）" if len(problems) > 5 else ""
        _open(planner, "rules", "rules_reload", None, "规则文件有错误，未能重新加载",
              f"规则修改后校验失败，系统继续使用原有规则：\n{shown}{more}\n"
              "修正后会自动加载（可先用 yuqing rules check 检查）。", now)
    else:
        _clear(planner, "rules", "规则已恢复正常加载", "规则文件已修正，新规则已生效。", now)


def delivery_failed(planner: Planner, row: Delivery, error: str, now: datetime) -> None:
    """A delivery failed for good. A notice to admins that itself failed is only logged
    (telling them about it would loop)."""
    if row.kind == "admin":
        return
    channel = CHANNEL_NAMES.get(row.channel, row.channel)
    _open(planner, f"delivery:{row.recipient}:{row.channel}", "delivery_failed",
          f"{row.recipient}/{row.channel}", f"告警投递失败：{row.recipient} 的{channel}",
          f"发给 {row.recipient} 的{channel}告警（编号 {row.id}"
          f"{f'，事件 #{row.incident_id}' if row.incident_id else ''}）多次投递失败："
          f"{error}。请检查该通道配置；修好后可用 yuqing alerts retry {row.id} 重新发送。",
          now, skip_target=row.target)


def delivery_recovered(planner: Planner, row: Delivery, now: datetime) -> None:
    if row.kind == "admin":
        return
    channel = CHANNEL_NAMES.get(row.channel, row.channel)
    _clear(planner, f"delivery:{row.recipient}:{row.channel}",
           f"告警通道已恢复：{row.recipient} 的{channel}",
           f"发给 {row.recipient} 的{channel}告警已能正常送达。", now)
