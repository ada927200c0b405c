"""DingTalk (钉钉) custom robot: ``POST https://oapi.dingtalk.com/robot/send?access_token=T``.

As the platform documents it (钉钉开放平台《自定义机器人接入》/《自定义机器人安全设置》):

- 加签: ``string_to_sign = timestamp + "\\n" + secret`` with ``timestamp`` the current
  time in milliseconds; ``sign = urlEncode(base64(HmacSHA256(key=secret,
  msg=string_to_sign)))`` (UTF-8); both go into the query string:
  ``...&timestamp=T&sign=S``. The timestamp may be at most an hour off DingTalk's clock.
- The body: ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``; the
  title is what the notification preview shows. A body over 20000 bytes is refused
  (``errcode 460101`` "message too long, exceed 20000 bytes", as seen in
  Le0nsec/SecCrawler#12), so the text is cut to fit.
- HTTP 200 with ``errcode`` 0 is success. 310000: sign not match, invalid timestamp,
  keywords or IP not allowed (jenkinsci/dingtalk-plugin#116, x-cold/dingtalk-robot#7);
  130101 "send too fast, exceed 20 times per minute" and 410100 (限流): each robot may
  send 20 messages a minute and is then held back for 10 minutes; 300001 / 300005: the
  access_token is not valid (retrying cannot help).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote_plus

from ...models import Message
from .base import SendContext, Target, answer_json, fail, post
from .limits import fit

BODY_LIMIT = 20000
TOO_FAST = {130101, 410100}
TOO_FAST_WAIT = 600.0      # "超过 20 条会限流 10 分钟"
BAD_TOKEN = {300001, 300005}
_TITLE_CHARS = 60


def sign(secret: str, timestamp_ms: int) -> str:
    """The documented signature, base64 (before URL encoding)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(address: str, secret: str, timestamp_ms: int) -> str:
    joiner = "&" if "?" in address else "?"
    return (f"{address}{joiner}timestamp={timestamp_ms}"
            f"&sign={quote_plus(sign(secret, timestamp_ms))}")


def body_of(message: Message) -> bytes:
    title = message.subject[:_TITLE_CHARS]

    def build(text: str) -> bytes:
        data = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    return fit(build, message.markdown, BODY_LIMIT)


async def send(target: Target, message: Message, ctx: SendContext) -> str | None:
    url = target.address
    if target.secret:
        url = signed_url(url, target.secret, int(ctx.timestamp() * 1000))
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = await post(target, ctx, url, body_of(message), headers)
    answer = answer_json(target, response)
    code = answer.get("errcode")
    said = str(answer.get("errmsg") or "")
    if code == 0:
        return said or None
    if code in TOO_FAST:
        raise fail(target, f"发送太频繁（errcode {code}）：{said}", retry_after=TOO_FAST_WAIT)
    if code in BAD_TOKEN:
        raise fail(target, f"发送失败（errcode {code}）：{said}；access_token 无效，"
                           "请在群里重新复制机器人的 Webhook 地址")
    if code == 310000:
        raise fail(target, f"发送失败（errcode {code}）：{said}；请核对加签密钥（secret_env）、"
                           "服务器时钟、关键词或 IP 白名单设置")
    raise fail(target, f"发送失败（errcode {code}）：{said}")
