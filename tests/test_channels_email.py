"""The email channel against a real SMTP server (tests/receivers.py SmtpInbox): the
multipart message, Chinese subject, headers, AUTH, STARTTLS and implicit TLS (with a
throwaway CA from trustme), refused and deferred recipients, and an outage."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest
import trustme

from monitor.alerts.channels import SendContext, Target, send
from monitor.config import SmtpConfig
from monitor.errors import DeliveryError
from monitor.models import Message

from receivers import SmtpInbox, free_port

NOW = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)
PASSWORD = "smtp-PLANTED-pw-4711"
MSG = Message(subject="【重大（橙）】安全生产：某工地塔吊倒塌致 2 人受伤",
              text="新舆情 #7：某工地塔吊倒塌\n级别：重大（橙）",
              markdown="### 新舆情 #7",
              html="<p>新舆情 #7：某工地塔吊倒塌 &lt;script&gt;</p>", fields={})


def deliver(address: str, smtp: SmtpConfig, *, password: str | None = None,
            tls: ssl.SSLContext | None = None, delivery_id: int = 99) -> str | None:
    async def go() -> str | None:
        async with httpx.AsyncClient(trust_env=False) as client:
            ctx = SendContext(http=client, smtp=smtp, smtp_password=password, now=NOW,
                              delivery_id=delivery_id, tls_context=tls)
            return await send(Target("email", address, None), MSG, ctx)
    return asyncio.run(go())


def failure(address: str, smtp: SmtpConfig, **kw: object) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        deliver(address, smtp, **kw)  # type: ignore[arg-type]
    assert PASSWORD not in str(info.value)
    return info.value


def smtp_for(inbox: SmtpInbox, **kw: object) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=inbox.port, sender="舆情监测 <yuqing@example.org>",
                      timeout=5, **kw)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def test_plain_message_with_text_html_and_headers():
    with SmtpInbox() as inbox:
        note = deliver("zhangsan@example.org", smtp_for(inbox))
        [mail] = inbox.messages
    assert note == "2.0.0 Message accepted for delivery"
    assert mail.rcpt_tos == ["zhangsan@example.org"]
    assert mail.mail_from == "yuqing@example.org"
    m = mail.message
    assert m.get_content_type() == "multipart/alternative"
    assert mail.subject == MSG.subject                          # decoded
    assert b"=?utf-8?" in mail.raw.lower()                      # RFC 2047 on the wire
    assert mail.text is not None and mail.text.replace("\r\n", "\n").strip() == MSG.text
    assert mail.html is not None and mail.html.strip() == MSG.html
    assert m["Message-ID"] == "<yuqing-delivery-99@example.org>"
    assert parsedate_to_datetime(m["Date"]) == NOW
    assert "yuqing@example.org" in m["From"] and "舆情监测" in str(m["From"])
    assert m["To"] == "zhangsan@example.org"
    assert mail.auth_user is None and not mail.tls


def test_auth_login():
    with SmtpInbox(users={"yuqing": PASSWORD}) as inbox:
        deliver("a@example.org", smtp_for(inbox, username="yuqing"), password=PASSWORD)
        [mail] = inbox.messages
    assert mail.auth_user == "yuqing"


def test_wrong_password_is_retryable_and_never_shown():
    with SmtpInbox(users={"yuqing": "the-right-one"}) as inbox:
        err = failure("a@example.org", smtp_for(inbox, username="yuqing"), password=PASSWORD)
        assert inbox.messages == []
    assert "登录失败" in str(err) and "535" in str(err)
    assert not err.permanent


def test_username_without_password_says_which_variable():
    with SmtpInbox(users={"yuqing": PASSWORD}) as inbox:
        err = failure("a@example.org", smtp_for(inbox, username="yuqing"))
    assert "YUQING_SMTP_PASSWORD" in str(err)


def test_server_requiring_auth_refuses_anonymous_mail():
    with SmtpInbox(users={"yuqing": PASSWORD}) as inbox:
        err = failure("a@example.org", smtp_for(inbox))
    assert "530" in str(err) and not err.permanent


def test_refused_recipient_is_permanent_and_deferred_is_not():
    with SmtpInbox(refuse={"nobody@example.org"}, defer={"busy@example.org"}) as inbox:
        refused = failure("nobody@example.org", smtp_for(inbox))
        deferred = failure("busy@example.org", smtp_for(inbox))
    assert refused.permanent and "550" in str(refused) and "nobody@example.org" in str(refused)
    assert not deferred.permanent and "450" in str(deferred)


def test_malformed_address_is_permanent():
    with SmtpInbox() as inbox:
        assert failure("not-an-address", smtp_for(inbox)).permanent
        assert failure("a@example.org\r\nBcc: x@example.org", smtp_for(inbox)).permanent


def test_outage_then_recovery_on_the_same_port():
    inbox = SmtpInbox().start()
    try:
        smtp = smtp_for(inbox)
        inbox.stop()
        err = failure("a@example.org", smtp)
        assert "连接被拒绝" in str(err) and not err.permanent
        inbox.start()
        deliver("a@example.org", smtp)
        assert len(inbox.messages) == 1
    finally:
        inbox.stop()


def test_unreachable_server_is_retryable():
    smtp = SmtpConfig(host="127.0.0.1", port=free_port(), sender="y@example.org", timeout=5)
    err = failure("a@example.org", smtp)
    assert "无法连接" in str(err) and not err.permanent


def test_starttls_with_auth(server_tls, client_tls):
    with SmtpInbox(users={"yuqing": PASSWORD}, tls_context=server_tls,
                   require_starttls=True) as inbox:
        deliver("a@example.org", smtp_for(inbox, username="yuqing", starttls=True),
                password=PASSWORD, tls=client_tls)
        [mail] = inbox.messages
    assert mail.tls and mail.auth_user == "yuqing"


def test_starttls_off_does_not_upgrade_on_its_own(server_tls):
    """aiosmtplib upgrades whenever the server offers STARTTLS unless told not to."""
    with SmtpInbox(tls_context=server_tls) as inbox:
        deliver("a@example.org", smtp_for(inbox))
        [mail] = inbox.messages
    assert not mail.tls


def test_starttls_refused_when_the_certificate_is_not_trusted(server_tls):
    with SmtpInbox(tls_context=server_tls) as inbox:
        err = failure("a@example.org", smtp_for(inbox, starttls=True))
        assert inbox.messages == []
    assert "证书" in str(err) or "TLS" in str(err)
    assert not err.permanent


def test_starttls_required_but_not_offered():
    with SmtpInbox() as inbox:
        err = failure("a@example.org", smtp_for(inbox, starttls=True))
    assert "STARTTLS" in str(err)


def test_implicit_tls(server_tls, client_tls):
    with SmtpInbox(ssl_context=server_tls) as inbox:
        deliver("a@example.org", smtp_for(inbox, ssl=True), tls=client_tls)
        [mail] = inbox.messages
    assert mail.tls


def test_the_mail_says_the_tone_and_its_phrases_in_text_and_html():
    from test_channels import TONE_LINE, tone_message

    msg = tone_message()
    async def go() -> None:
        async with httpx.AsyncClient(trust_env=False) as client:
            ctx = SendContext(http=client, smtp=smtp_for(inbox), smtp_password=None, now=NOW,
                              delivery_id=5)
            await send(Target("email", "zs@example.org", None), msg, ctx)

    with SmtpInbox() as inbox:
        asyncio.run(go())
        [mail] = inbox.messages
    assert mail.text is not None and TONE_LINE in mail.text
    assert mail.html is not None
    assert "负面概率 0.93" in mail.html and "“太失望了”“没人管”" in mail.html
    assert "负面舆情（负面 2 条、中性 1 条）" in mail.html
