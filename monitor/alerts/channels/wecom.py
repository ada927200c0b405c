"""WeCom (企业微信) group robot: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``.

As the platform documents it (企业微信开发者中心《群机器人配置说明》, document/path/91770):
a JSON body ``{"msgtype": "markdown", "markdown": {"content": ...}}``; ``text.content`` may
hold at most 2048 bytes and ``markdown.content`` at most 4096 bytes of UTF-8 (longer
content is refused with ``errcode 40058``, "markdown.content exceed max length 4096", as
users report in RayWangQvQ/BiliBiliTool#569 and dromara/domain-admin#82), so content is
cut to fit. The answer is HTTP 200 with ``errcode`` 0 for success; other codes:
45009 "api freq out of limit" (each robot: at most 20 messages a minute), 93000 "invalid
webhook url" (a wrong or deleted key: retrying cannot help). The robot has no signing.
"""

from __future__ import annotations

import json

from ...models import Message
from .base import SendContext, Target, answer_json, fail, post
from .limits import cut_bytes

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
TOO_FAST = {45009}
TOO_FAST_WAIT = 60.0                 # the limit is per minute
BAD_KEY = {93000}


def body_of(message: Message) -> bytes:
    content = cut_bytes(message.markdown, MARKDOWN_LIMIT)
    data = {"msgtype": "markdown", "markdown": {"content": content}}
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


async def send(target: Target, message: Message, ctx: SendContext) -> str | None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = await post(target, ctx, target.address, body_of(message), headers)
    answer = answer_json(target, response)
    code = answer.get("errcode")
    said = str(answer.get("errmsg") or "")
    if code == 0:
        return said or None
    what = f"发送失败（errcode {code}）：{said}"
    if code in TOO_FAST:
        raise fail(target, f"发送太频繁（errcode {code}）：{said}", retry_after=TOO_FAST_WAIT)
    if code in BAD_KEY:
        raise fail(target, f"{what}；机器人的 key 无效，请在群里重新复制 Webhook 地址")
    raise fail(target, what)
