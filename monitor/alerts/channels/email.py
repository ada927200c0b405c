"""Email through the configured SMTP server (``[smtp]``), with aiosmtplib.

One ``multipart/alternative`` message: the plain text, then the HTML (every value in it
escaped by the renderer). ``Subject`` is the message's subject, RFC 2047 encoded (UTF-8)
by the email package; ``From`` the ``[smtp] sender``, ``To`` the recipient, ``Date`` from
``SendContext.now``, and ``Message-ID: <yuqing-delivery-ID@DOMAIN>`` from the delivery id,
so a repeat after a crash is recognisable. Implicit TLS when ``ssl = true`` (port 465),
STARTTLS when ``starttls = true``, neither otherwise (aiosmtplib would otherwise upgrade
on its own whenever the server offers STARTTLS); ``AUTH`` when ``username`` is set.

Failures: a recipient refused with a 5xx reply is permanent (the address is wrong);
everything else - connection refused, timeouts, 4xx, authentication, a dropped
connection - is retryable. Messages carry the server's reply code and text, never the
password.
"""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage

import aiosmtplib

from ...models import Message
from .base import SendContext, Target, fail, os_reason


def domain_of(sender: str) -> str:
    address = email.utils.parseaddr(sender)[1] or sender
    domain = address.rpartition("@")[2].strip(" <>")
    return domain or "localhost"


def one_line(text: str) -> str:
    return " ".join(text.split())


def build(target: Target, message: Message, ctx: SendContext) -> EmailMessage:
    """The email, ready for SMTP."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = one_line(message.subject)
    msg["From"] = one_line(ctx.smtp.sender)
    msg["To"] = one_line(target.address)
    msg["Date"] = email.utils.format_datetime(ctx.now)
    msg["Message-ID"] = f"<yuqing-delivery-{ctx.delivery_id}@{domain_of(ctx.smtp.sender)}>"
    msg["Auto-Submitted"] = "auto-generated"            # RFC 3834: no vacation replies
    msg.set_content(message.text, subtype="plain", charset="utf-8")
    msg.add_alternative(message.html, subtype="html", charset="utf-8")
    return msg


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {one_line(exc.message)}"


async def send(target: Target, message: Message, ctx: SendContext) -> str | None:
    smtp = ctx.smtp
    address = target.address.strip()
    if "@" not in address or any(c in address for c in "\r\n<>,; "):
        raise fail(target, "收件地址格式不对，请检查 [[staff]] email", permanent=True)
    if smtp.username and not ctx.smtp_password:
        raise fail(target, f"配置了 SMTP 用户名 {smtp.username}，但环境变量 "
                           f"{smtp.password_env} 中没有密码")
    secrets = (ctx.smtp_password,)
    where = f"邮件服务器 {smtp.host}:{smtp.port}"
    try:
        msg = build(target, message, ctx)
        _, reply = await aiosmtplib.send(
            msg, sender=email.utils.parseaddr(smtp.sender)[1] or smtp.sender,
            recipients=[address], hostname=smtp.host, port=smtp.port,
            username=smtp.username or None,
            password=ctx.smtp_password if smtp.username else None,
            use_tls=smtp.ssl, start_tls=smtp.starttls if not smtp.ssl else False,
            timeout=smtp.timeout, tls_context=ctx.tls_context,
            validate_certs=True)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0] if exc.recipients else None
        code = refused.code if refused else 0
        text = _reply(refused) if refused else "收件人被拒收"
        raise fail(target, f"{where} 拒收收件人 {address}：{text}",
                   permanent=500 <= code < 600, extra=secrets) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise fail(target, f"{where} 登录失败（用户 {smtp.username}）：{_reply(exc)}",
                   extra=secrets) from None
    except aiosmtplib.SMTPNotSupported as exc:
        raise fail(target, f"{where} 不支持所需功能（STARTTLS 或登录）：{one_line(str(exc))}",
                   extra=secrets) from None
    except (aiosmtplib.SMTPConnectTimeoutError, aiosmtplib.SMTPTimeoutError):
        raise fail(target, f"{where} 超时（{smtp.timeout:g} 秒）", extra=secrets) from None
    except aiosmtplib.SMTPConnectError as exc:
        raise fail(target, f"无法连接{where}：{os_reason(exc)}", extra=secrets) from None
    except aiosmtplib.SMTPServerDisconnected:
        raise fail(target, f"{where} 中途断开了连接", extra=secrets) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise fail(target, f"{where} 拒绝了邮件：{_reply(exc)}", extra=secrets) from None
    except aiosmtplib.SMTPException as exc:
        raise fail(target, f"{where} 出错：{one_line(str(exc))}", extra=secrets) from None
    except (OSError, ValueError) as exc:   # ssl errors are OSErrors
        raise fail(target, f"{where} 出错：{os_reason(exc)}", extra=secrets) from None
    return one_line(reply)[:200] or None
