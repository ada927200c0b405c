"""Every channel end to end against the fake platforms of tests/receivers.py: success,
signatures, "too fast", over-long content, HTTP 500, unreachable ports, bad tokens, and
no token or secret in any error text."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.alerts.channels import SendContext, Target, send
from monitor.alerts.channels.limits import MARKER
from monitor.config import SmtpConfig
from monitor.errors import DeliveryError
from monitor.models import Message

from receivers import RobotReceiver
from servers import closed_port

NOW = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)
TOKEN = "tok3n-PLANTED-9f8e7d6c"
SECRET = "SECplanted0123456789abcdef"
ROBOTS = ["dingtalk", "feishu", "wecom"]
ALL = [*ROBOTS, "webhook"]
SIGNED = ["dingtalk", "feishu", "webhook"]


def message(body: str = "正文") -> Message:
    fields = {"kind": "opened", "incident": 7, "level": "orange", "title": "某工地塔吊倒塌",
              "category": "安全生产", "link": "https://example.org/a/1", "rule": "tower-crane"}
    return Message(subject="【重大（橙）】安全生产：某工地塔吊倒塌",
                   text=f"新舆情 #7：某工地塔吊倒塌\n{body}\n原文：https://example.org/a/1",
                   markdown=f"### 新舆情 #7\n\n**标题**：某工地塔吊倒塌\n\n{body}",
                   html=f"<p>{body}</p>", fields=fields)


def deliver(target: Target, msg: Message | None = None, *, now: datetime = NOW,
            delivery_id: int = 41) -> str | None:
    async def go() -> str | None:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            ctx = SendContext(http=client, smtp=SmtpConfig(), smtp_password=None, now=now,
                              delivery_id=delivery_id)
            return await send(target, msg or message(), ctx)
    return asyncio.run(go())


def failure(target: Target, msg: Message | None = None, **kw: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        deliver(target, msg, **kw)
    err = info.value
    for secret in (TOKEN, SECRET, target.address):
        assert secret not in str(err), str(err)
    return err


@pytest.fixture
def robots():
    with RobotReceiver(clock=NOW.timestamp) as r:
        yield r


def target(robots: RobotReceiver, platform: str, *, secret: str | None = None,
           signed_with: str | None = None) -> Target:
    """A target whose robot demands ``secret`` and which signs with ``signed_with``
    (the same secret unless told)."""
    url = robots.url_for(platform, TOKEN, secret)
    return Target(platform, url, signed_with if signed_with is not None else secret)


# ---- success ---------------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "signed"),
                         [(p, False) for p in ALL] + [(p, True) for p in ALL if p in SIGNED])
def test_delivered_as_the_platform_documents(robots, platform, signed):
    # WeCom robots have no signing: only the others are tried signed
    t = target(robots, platform, secret=SECRET if signed else None)
    msg = message()
    note = deliver(t, msg)
    assert robots.rejected() == []
    [got] = robots.received(platform, TOKEN)
    body = got.body
    if platform == "dingtalk":
        assert note == "ok"
        assert body == {"msgtype": "markdown",
                        "markdown": {"title": msg.subject, "text": msg.markdown}}
        assert ("timestamp" in got.query) == signed
        if signed:
            assert got.query["timestamp"] == str(int(NOW.timestamp() * 1000))
    elif platform == "feishu":
        assert note == "success"
        assert body["msg_type"] == "post"
        post = body["content"]["post"]["zh_cn"]
        assert post["title"] == msg.subject
        lines = ["".join(el["text"] for el in para) for para in post["content"]]
        assert lines == msg.text.split("\n")
        assert {"tag": "a", "text": "https://example.org/a/1",
                "href": "https://example.org/a/1"} in post["content"][-1]
        assert ("sign" in body) == signed
        if signed:
            assert body["timestamp"] == str(int(NOW.timestamp()))
    elif platform == "wecom":
        assert note == "ok"
        assert body == {"msgtype": "markdown", "markdown": {"content": msg.markdown}}
    else:
        assert note == "HTTP 200"
        assert body == {**msg.fields, "delivery": 41}
        assert got.headers["x-yuqing-delivery"] == "41"
        assert got.headers["content-type"].startswith("application/json")
        assert ("x-yuqing-signature" in got.headers) == signed
        if signed:
            assert got.headers["x-yuqing-timestamp"] == str(int(NOW.timestamp()))


def test_webhook_signature_is_hmac_of_timestamp_dot_body(robots):
    import hashlib
    import hmac

    deliver(target(robots, "webhook", secret=SECRET))
    [got] = robots.received("webhook")
    ts = got.headers["x-yuqing-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{ts}.".encode() + got.raw, hashlib.sha256)
    assert got.headers["x-yuqing-signature"] == "sha256=" + expected.hexdigest()
    assert json.loads(got.raw)["delivery"] == 41


# ---- failures ---------------------------------------------------------------------------

WRONG_SIGN = {"dingtalk": "sign not match", "feishu": "sign match fail",
              "webhook": "X-Yuqing-Signature does not match"}


@pytest.mark.parametrize("platform", SIGNED)
def test_wrong_secret_is_refused_with_the_platforms_words(robots, platform):
    t = target(robots, platform, secret=SECRET, signed_with="SECwrong-secret-000")
    err = failure(t)
    assert WRONG_SIGN[platform] in str(err)
    assert "SECwrong-secret-000" not in str(err)
    assert robots.received() == []
    [rejected] = robots.rejected(platform)
    if platform == "dingtalk":
        assert rejected.answer["errcode"] == 310000
    elif platform == "feishu":
        assert rejected.answer["code"] == 19021


@pytest.mark.parametrize("platform", SIGNED)
def test_missing_signature_is_refused(robots, platform):
    err = failure(target(robots, platform, secret=SECRET, signed_with=""))
    assert err.retry_after is None


@pytest.mark.parametrize("platform", SIGNED)
def test_a_clock_two_hours_off_is_refused(robots, platform):
    err = failure(target(robots, platform, secret=SECRET), now=NOW - timedelta(hours=2))
    expected = {"dingtalk": "invalid timestamp", "feishu": "timestamp is not within one hour",
                "webhook": "more than 5 minutes off"}
    assert expected[platform] in str(err)


def test_webhook_timestamp_six_minutes_old_is_refused(robots):
    err = failure(target(robots, "webhook", secret=SECRET), now=NOW - timedelta(minutes=6))
    assert "HTTP 401" in str(err)


TOO_FAST = {"dingtalk": ("130101", 600.0), "feishu": ("11232", 60.0),
            "wecom": ("45009", 60.0), "webhook": ("HTTP 429", 30.0)}


@pytest.mark.parametrize("platform", ALL)
def test_too_fast_asks_to_wait(robots, platform):
    t = target(robots, platform)
    robots.too_fast(TOKEN, 1)
    err = failure(t)
    code, wait = TOO_FAST[platform]
    assert code in str(err) and "太频繁" in str(err)
    assert err.retry_after == wait and not err.permanent
    assert deliver(t) is not None                       # the next one goes through
    assert len(robots.received(platform)) == 1


@pytest.mark.parametrize("platform", ROBOTS)
def test_the_platform_rate_is_enforced(robots, platform):
    t = target(robots, platform)
    robots.rate(TOKEN, 2)
    deliver(t)
    deliver(t)
    err = failure(t)
    assert err.retry_after is not None
    assert len(robots.received(platform)) == 2


@pytest.mark.parametrize("platform", ALL)
def test_http_500_is_retryable(robots, platform):
    t = target(robots, platform)
    robots.fail(TOKEN, 1)
    err = failure(t)
    assert "HTTP 500" in str(err)
    assert not err.permanent and err.retry_after is None


@pytest.mark.parametrize("platform", ALL)
def test_unreachable_port_is_retryable(platform):
    paths = {"dingtalk": f"/robot/send?access_token={TOKEN}",
             "feishu": f"/open-apis/bot/v2/hook/{TOKEN}",
             "wecom": f"/cgi-bin/webhook/send?key={TOKEN}", "webhook": f"/hook/{TOKEN}"}
    t = Target(platform, f"http://127.0.0.1:{closed_port()}{paths[platform]}", SECRET)
    err = failure(t)
    assert "无法连接" in str(err)
    assert "127.0.0.1" in str(err)
    assert not err.permanent


UNKNOWN = {"dingtalk": "300005", "feishu": "19001", "wecom": "93000", "webhook": "HTTP 404"}


@pytest.mark.parametrize("platform", ALL)
def test_an_unknown_token_fails_and_is_retried(robots, platform):
    """The contract retries every robot failure (up to [alerts] max_attempts): a token
    fixed in the config while the row waits still gets the alert out."""
    robots.url_for(platform, "another-token-1234")
    t = Target(platform, robots.url_for(platform, TOKEN).replace(TOKEN, "zz" + TOKEN), None)
    err = failure(t)
    assert UNKNOWN[platform] in str(err)
    assert not err.permanent
    assert "zz" + TOKEN not in str(err)


def test_a_robot_answering_non_json_is_retryable(robots):
    robots.url_for("wecom", TOKEN)
    t = Target("wecom", f"{robots.base_url}/not-a-robot?key={TOKEN}", None)
    err = failure(t)
    assert "HTTP 404" in str(err) and not err.permanent


def test_bad_addresses_are_permanent():
    assert failure(Target("dingtalk", "ftp://example.org/robot?access_token=x", None)).permanent
    assert failure(Target("pager", "http://127.0.0.1:1/", None)).permanent


# ---- size limits ------------------------------------------------------------------------

@pytest.mark.parametrize("platform", ROBOTS)
def test_over_long_content_is_cut_and_accepted(robots, platform):
    long_body = "\n".join(f"第 {n} 行：某工地塔吊倒塌，现场情况如下……" for n in range(2500))
    t = target(robots, platform, secret=SECRET if platform != "wecom" else None)
    deliver(t, message(long_body))
    assert robots.rejected() == []
    [got] = robots.received(platform)
    if platform == "dingtalk":
        shown = got.body["markdown"]["text"]
        assert len(got.raw) <= 20000
    elif platform == "feishu":
        paras = got.body["content"]["post"]["zh_cn"]["content"]
        shown = "\n".join("".join(el["text"] for el in p) for p in paras)
        assert len(got.raw) <= 20 * 1024
    else:
        shown = got.body["markdown"]["content"]
        assert len(shown.encode()) <= 4096
    assert shown.endswith(MARKER)
    assert shown.startswith(message(long_body).markdown[:10]) or platform == "feishu"


@pytest.mark.parametrize("platform", ["dingtalk", "wecom"])
def test_receivers_refuse_what_the_platforms_refuse(robots, platform):
    """The fake platforms really enforce the limits the channels cut to."""
    url = robots.url_for(platform, TOKEN)
    big = "字" * 7000
    body = ({"msgtype": "markdown", "markdown": {"title": "t", "text": big}}
            if platform == "dingtalk" else {"msgtype": "markdown", "markdown": {"content": big}})
    answer = httpx.post(url, json=body, trust_env=False).json()
    assert answer["errcode"] == {"dingtalk": 460101, "wecom": 40058}[platform]
    answer = httpx.post(url, json={"msgtype": "nonsense"}, trust_env=False).json()
    assert answer["errcode"] in (400105, 40008)


# ---- targets -----------------------------------------------------------------------------

def test_targets_of_reads_every_channel_and_its_secret(tmp_path, monkeypatch):
    from monitor.alerts.channels import targets_of
    from monitor.config import load_config

    from support import write_config

    monkeypatch.setenv("T_HOOK_SECRET", "hook-secret-0001")
    monkeypatch.setenv("T_DING_SECRET", "SECding0002")
    staff = [{"name": "值班群", "email": "duty@example.org",
              "webhook": "http://127.0.0.1:9/hook/abc123", "webhook_secret_env": "T_HOOK_SECRET",
              "wecom": {"webhook": "http://127.0.0.1:9/cgi-bin/webhook/send?key=k-1"},
              "dingtalk": {"webhook": "http://127.0.0.1:9/robot/send?access_token=d-1",
                           "secret_env": "T_DING_SECRET"},
              "feishu": {"webhook": "http://127.0.0.1:9/open-apis/bot/v2/hook/f-1"}},
             {"name": "张三"}]
    config = load_config(write_config(tmp_path, extra={"staff": staff}))
    targets = targets_of(config.staff[0], config)
    assert [(t.channel, t.secret) for t in targets] == [
        ("email", None), ("webhook", "hook-secret-0001"), ("wecom", None),
        ("dingtalk", "SECding0002"), ("feishu", None)]
    assert targets_of(config.staff[1], config) == []
    ding = targets[3]
    assert "d-1" not in repr(ding) and "SECding0002" not in repr(ding)
    assert ding.key() == targets_of(config.staff[0], config)[3].key()
    assert ding.key().startswith("dingtalk:") and "d-1" not in ding.key()
    assert len({t.key() for t in targets}) == 5


# ---- the receivers in another process (as the demo runs them) -----------------------

def test_receivers_run_as_their_own_process(tmp_path):
    import subprocess
    import sys

    from support import ROOT

    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "receivers.py"), "--robot",
         f"dingtalk:{TOKEN}:{SECRET}", "--maildir", str(tmp_path / "mail")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        base, url = info["robots"], info["urls"][f"dingtalk:{TOKEN}"]
        now = datetime.now(UTC)
        assert deliver(Target("dingtalk", url, SECRET), now=now) == "ok"
        control = {"action": "too_fast", "token": TOKEN, "times": 1}
        assert httpx.post(f"{base}/_control", json=control, trust_env=False).json() == {"ok": True}
        assert failure(Target("dingtalk", url, SECRET), now=now).retry_after == 600

        async def mail() -> None:
            async with httpx.AsyncClient(trust_env=False) as client:
                smtp = SmtpConfig(port=info["smtp"]["port"], sender="y@example.org")
                ctx = SendContext(http=client, smtp=smtp, smtp_password=None, now=now,
                                  delivery_id=5)
                await send(Target("email", "a@example.org"), message(), ctx)
        asyncio.run(mail())

        received = httpx.get(f"{base}/_received", trust_env=False).json()
        assert [r["body"]["msgtype"] for r in received] == ["markdown"]
        rejected = httpx.get(f"{base}/_rejected", trust_env=False).json()
        assert rejected[0]["answer"]["errcode"] == 130101
        [got] = httpx.get(f"{base}/_mail", trust_env=False).json()
        assert got["subject"] == message().subject and got["to"] == ["a@example.org"]
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


# ---- every channel says the tone and the phrases behind it ---------------------------------

TONE_LINE = "倾向：负面（负面概率 0.93），依据：“太失望了”“没人管”"
HOSTILE_PHRASE = "[点我](http://evil.example)<b>"


def tone_message(phrase: str = "没人管") -> Message:
    """A rendered incident alert whose causing item is negative (its phrases the item's
    own text), of an incident whose items are 2 negative and 1 neutral."""
    from monitor.alerts.render import Evidence, render_incident
    from monitor.incidents.tone import ItemTone, incident_tone
    from monitor.models import Incident

    title = f"某小区物业太失望了 {phrase}"
    a = title.index("太失望了")
    b = title.index(phrase)
    neg = ItemTone("negative", 0.93, [(a, a + 4, "太失望了"), (b, b + len(phrase), phrase)],
                   model_label="negative")
    calm = ItemTone("neutral", 0.08, [(0, 2, "通报")], model_label="neutral")
    inc = Incident(id=7, title=title, category="物业服务", level="orange", first_seen=NOW,
                   last_seen=NOW, items=3, sources=2, rules=["estate"],
                   categories=["物业服务"], link="https://example.org/a/1")
    evidence = [Evidence(feed="本地论坛", title=title, link="https://example.org/a/1",
                         when=NOW, rule="estate", rule_name="物业投诉", category="物业服务",
                         level="orange", snippets=["某小区〖物业〗太失望了"], tone=neg),
                Evidence(feed="区融媒体", title="区住建局通报物业整改", link=None, when=NOW,
                         rule="estate", rule_name="物业投诉", category="物业服务",
                         level="blue", snippets=["〖物业〗整改"], tone=calm)]
    return render_incident("opened", inc, evidence, sources=["本地论坛", "区融媒体"], now=NOW,
                           tone=incident_tone([neg, neg, calm]))


@pytest.mark.parametrize("platform", ALL)
def test_every_channel_says_the_tone_and_its_phrases(robots, platform):
    msg = tone_message()
    deliver(target(robots, platform), msg)
    [got] = robots.received(platform, TOKEN)
    body = got.body
    if platform == "webhook":
        tone = body["tone"]
        assert tone["label"] == "negative" and tone["name"] == "负面"
        assert tone["negative"] == 0.93 and tone["phrases"] == ["太失望了", "没人管"]
        assert tone["line"] == TONE_LINE and tone["corrected"] is False
        assert tone["incident"]["negative"] is True
        assert tone["incident"]["counts"] == {"negative": 2, "neutral": 1, "positive": 0,
                                              "unknown": 0}
        assert [m["tone"]["label"] for m in body["matches"]] == ["negative", "neutral"]
        return
    if platform == "feishu":
        post = body["content"]["post"]["zh_cn"]
        shown = "\n".join("".join(el["text"] for el in para) for para in post["content"])
    elif platform == "dingtalk":
        shown = body["markdown"]["text"]
    else:
        shown = body["markdown"]["content"]
    assert TONE_LINE in shown                                    # the headline fact
    assert "事件倾向" in shown and "负面舆情（负面 2 条、中性 1 条）" in shown
    assert "倾向：中性（负面概率 0.08），依据：“通报”" in shown    # the second item's own


def test_hostile_phrases_are_escaped_in_markdown_and_html():
    msg = tone_message(HOSTILE_PHRASE)
    assert "“［点我］（http://evil.example）＜b＞”" in msg.markdown
    assert "](http://evil.example)" not in msg.markdown
    assert "<b>" not in msg.html.replace("<b>物业</b>", "")
    assert "&lt;b&gt;" in msg.html
    assert f"“{HOSTILE_PHRASE}”" in msg.text                      # plain text: as published


def test_digest_and_summary_say_each_incidents_tone():
    from monitor.alerts.render import render_digest, render_summary
    from monitor.incidents.tone import ItemTone, incident_tone
    from monitor.models import Incident

    bad = Incident(id=3, title="工地讨薪", category="欠薪讨薪", level="blue", first_seen=NOW,
                   items=2, sources=1)
    calm = Incident(id=4, title="例会召开", category="其他", level="blue", first_seen=NOW,
                    items=1, sources=1)
    neg = ItemTone("negative", 0.97, [(2, 4, "讨薪")], model_label="negative")
    tones = {3: incident_tone([neg, ItemTone("neutral", 0.1, model_label="neutral")]),
             4: incident_tone([ItemTone("neutral", 0.02, model_label="neutral")])}
    digest = render_digest([(bad, None), (calm, None)], since=None, now=NOW, tones=tones)
    assert "倾向：负面舆情（负面 1 条、中性 1 条），依据：“讨薪”" in digest.text
    assert "倾向：中性（中性 1 条）" in digest.text
    assert "负面舆情：1 个" in digest.text and "**负面舆情**：1 个" in digest.markdown
    assert "倾向：负面舆情（负面 1 条、中性 1 条），依据：“讨薪”" in digest.html
    assert digest.fields["negative"] == 1
    assert [i["tone"]["negative"] for i in digest.fields["incidents"]] == [True, False]
    summary = render_summary("张三", [bad, calm], window="1小时", now=NOW, tones=tones)
    assert "依据：“讨薪”" in summary.text and summary.fields["incidents"][0]["tone"]["line"]
