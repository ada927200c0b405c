"""Deliver one rendered :class:`~monitor.models.Message` to one :class:`Target`.

    targets = targets_of(person, config)          # every channel the person configured
    ctx = SendContext(http=client, smtp=config.smtp or SmtpConfig(),
                      smtp_password=config.secret((config.smtp or SmtpConfig()).password_env),
                      now=now, delivery_id=row.id)
    note = await send(target, message, ctx)       # raises DeliveryError

Each channel is a module with ``async send(target, message, ctx) -> str | None``: email,
webhook (generic JSON, HMAC-signed), wecom, dingtalk, feishu. A failure raises
:class:`~monitor.errors.DeliveryError` with a Chinese message that quotes the platform's
answer and never a token or secret; ``permanent`` when retrying cannot help, and
``retry_after`` when the platform said "too fast".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...config import Config, StaffConfig
from ...models import Message
from . import dingtalk, email, feishu, webhook, wecom
from .base import SendContext, Target, fail

__all__ = ["SendContext", "Target", "send", "targets_of"]

Sender = Callable[[Target, Message, SendContext], Awaitable[str | None]]
SENDERS: dict[str, Sender] = {
    "email": email.send,
    "webhook": webhook.send,
    "wecom": wecom.send,
    "dingtalk": dingtalk.send,
    "feishu": feishu.send,
}


def targets_of(person: StaffConfig, config: Config) -> list[Target]:
    """Every channel ``person`` configured, in the order of ``models.CHANNELS``; signing
    secrets are read from their environment variables (and so masked from then on)."""
    targets: list[Target] = []
    if person.email:
        targets.append(Target("email", person.email.strip(), None))
    if person.webhook:
        targets.append(Target("webhook", person.webhook.strip(),
                              config.secret(person.webhook_secret_env)))
    for channel in ("wecom", "dingtalk", "feishu"):
        robot = getattr(person, channel)
        if robot is not None and robot.webhook:
            targets.append(Target(channel, robot.webhook.strip(), config.secret(robot.secret_env)))
    return targets


async def send(target: Target, message: Message, ctx: SendContext) -> str | None:
    """Deliver ``message`` to ``target`` once; a short note for the record, or None."""
    sender = SENDERS.get(target.channel)
    if sender is None:
        raise fail(target, f"未知的通道 {target.channel!r}", permanent=True)
    return await sender(target, message, ctx)
