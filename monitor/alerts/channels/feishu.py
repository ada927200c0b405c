"""Feishu (飞书) custom bot: ``POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN``.

As the platform documents it (飞书开放平台《自定义机器人使用指南》):

- 签名校验: ``string_to_sign = timestamp + "\\n" + secret`` with ``timestamp`` in
  seconds; ``sign = base64(HmacSHA256(key=string_to_sign, msg=b""))`` - the string is
  the HMAC *key* over an empty message, the reverse of DingTalk (a common bug, see
  THEWOLFWALKER/dsh-notifier#8); ``timestamp`` (a string) and ``sign`` go into the JSON
  body beside ``msg_type``. The timestamp may be at most an hour off.
- The message is ``msg_type: "post"`` (rich text): a title and one paragraph per line of
  ``text`` and ``a`` (link) elements. Nothing in it is interpreted as markup, so a
  hostile item title cannot inject links or formatting. The request body may not exceed
  20 KB; the text is cut to fit.
- Success is ``code`` 0 (``StatusCode`` is a legacy duplicate). 19021: "sign match fail or
  timestamp is not within one hour from current time" (feiyu563/PrometheusAlert#422);
  19001: the token is invalid (retrying cannot help); 19022 IP not allowed; 19024 keywords
  not found; 9499: "Bad Request", also "too many request" when throttled; 11232:
  "frequency limited" (100 messages a minute and 5 a second per bot, and system peaks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from ...models import Message
from .base import SendContext, Target, answer_json, fail, post
from .limits import fit

BODY_LIMIT = 20000          # "请求体大小不能超过 20 KB"; kept under 20 000 bytes to be safe
TOO_FAST = {11232, 11233, 11247}
TOO_FAST_WAIT = 60.0
BAD_TOKEN = {19001}
_URL = re.compile(r"https?://[^\s<>\"'（）。，、；：“”‘’「」【】《》！？]+")


def sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def paragraphs(text: str) -> list[list[dict[str, str]]]:
    """Each line of ``text`` as one ``post`` paragraph; URLs in it become ``a`` links."""
    out: list[list[dict[str, str]]] = []
    for line in text.split("\n"):
        elements: list[dict[str, str]] = []
        pos = 0
        for m in _URL.finditer(line):
            if m.start() > pos:
                elements.append({"tag": "text", "text": line[pos:m.start()]})
            url = m.group(0).rstrip(".,;:!?)]}")
            elements.append({"tag": "a", "text": url, "href": url})
            if len(url) < len(m.group(0)):
                elements.append({"tag": "text", "text": m.group(0)[len(url):]})
            pos = m.end()
        if pos < len(line) or not elements:
            elements.append({"tag": "text", "text": line[pos:]})
        out.append(elements)
    return out


def body_of(message: Message, *, timestamp: int | None = None,
            signature: str | None = None) -> bytes:
    def build(text: str) -> bytes:
        data: dict[str, Any] = {}
        if timestamp is not None and signature is not None:
            data["timestamp"] = str(timestamp)
            data["sign"] = signature
        data["msg_type"] = "post"
        data["content"] = {"post": {"zh_cn": {"title": message.subject,
                                              "content": paragraphs(text)}}}
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    return fit(build, message.text, BODY_LIMIT)


async def send(target: Target, message: Message, ctx: SendContext) -> str | None:
    if target.secret:
        ts = int(ctx.timestamp())
        body = body_of(message, timestamp=ts, signature=sign(target.secret, ts))
    else:
        body = body_of(message)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = await post(target, ctx, target.address, body, headers)
    answer = answer_json(target, response)
    code = answer.get("code", answer.get("StatusCode"))
    said = str(answer.get("msg") or answer.get("StatusMessage") or "")
    if code == 0:
        return said or None
    throttled = code in TOO_FAST or (code == 9499 and "too many" in said.lower())
    if throttled:
        raise fail(target, f"发送太频繁（code {code}）：{said}", retry_after=TOO_FAST_WAIT)
    if code in BAD_TOKEN:
        raise fail(target, f"发送失败（code {code}）：{said}；机器人地址无效，"
                           "请在群设置里重新复制 Webhook 地址")
    if code == 19021:
        raise fail(target, f"发送失败（code {code}）：{said}；请核对签名校验密钥（secret_env）"
                           "和服务器时钟")
    raise fail(target, f"发送失败（code {code}）：{said}")
