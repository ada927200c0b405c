"""A self-hosted RSSHub behind ``rsshub:/route`` feed URLs: :func:`expand` turns the route
into a URL on ``[fetch] rsshub`` (with RSSHub's ``ACCESS_KEY`` as ``key=``, read from the
environment variable ``[fetch] rsshub_key_env`` and registered as a secret, so it is masked
in every log line and message), and :func:`error_of` turns RSSHub's error pages (HTTP
503/403/404/500 with an HTML, JSON or text body: "Cookies expired", "ConfigNotFoundError",
"NotFoundError", "this route is empty" …) into a :class:`FetchError` of kind ``rsshub`` that
says in Chinese what to do.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from urllib.parse import quote

from ..config import FetchConfig
from ..errors import FetchError
from ..redact import redact_text, redact_url, register_secret

SCHEME = "rsshub:"
ERROR_BODY_CAP = 256 * 1024          # enough for RSSHub's error page; more is not read

_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.S | re.I)
_PAGE_MESSAGE = re.compile(r"Error Message:\s*(.+?)\s*(?:Route:|Full Route:|Path:|$)", re.S)
_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9{}]+)+\b")
_PLATFORMS = {  # route prefix -> (name, the RSSHub setting that holds its cookie)
    "weibo": ("微博", "WEIBO_COOKIES"), "bilibili": ("B站", "BILIBILI_COOKIE_{uid}"),
    "zhihu": ("知乎", "ZHIHU_COOKIES"), "douyin": ("抖音", "Cookie"),
    "xiaohongshu": ("小红书", "XIAOHONGSHU_COOKIE"), "douban": ("豆瓣", "DOUBAN_COOKIE"),
    "xueqiu": ("雪球", "XUEQIU_COOKIES"),
}


def is_rsshub(url: str) -> bool:
    return url.startswith(SCHEME)


def route_of(url: str) -> str:
    """``rsshub:/weibo/user/1`` -> ``/weibo/user/1``."""
    return "/" + url[len(SCHEME):].lstrip("/")


def expand(url: str, settings: FetchConfig, env: Mapping[str, str] | None = None) -> str:
    """The URL to fetch for a feed URL: ``rsshub:/route`` on ``[fetch] rsshub`` (with
    ``key=`` when the access-key variable is set); any other URL unchanged."""
    if not is_rsshub(url):
        return url
    if not settings.rsshub:  # Config refuses this; a hand-built FeedConfig may not
        raise FetchError("rsshub", "订阅源地址以 rsshub: 开头，但没有配置 RSSHub 实例："
                                   "请在 [fetch] 中设置 rsshub = \"http://127.0.0.1:1200\"")
    full = settings.rsshub.rstrip("/") + route_of(url)
    key = (os.environ if env is None else env).get(settings.rsshub_key_env) or ""
    if key:
        register_secret(key)
        register_secret(quote(key, safe=""))
        full += ("&" if "?" in full else "?") + "key=" + quote(key, safe="")
    return full


def error_of(feed_url: str, status: int, body: bytes, content_type: str) -> FetchError | None:
    """RSSHub's error answer as a FetchError of kind ``rsshub``, or None when ``body`` is
    not one of RSSHub's (a reverse proxy's 502, say): the plain HTTP error stands then."""
    detail = _message(body, content_type)
    if detail is None:
        return None
    message = _advice(route_of(feed_url), status, detail)
    return FetchError("rsshub", redact_text(message), status=status)


def _message(body: bytes, content_type: str) -> str | None:
    """The error text RSSHub put in its page (HTML), its JSON (``{"error": {"message"}}``)
    or its plain-text answer; None if the body does not look like RSSHub's."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    if "json" in content_type or text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            err = doc.get("error")
            found = err.get("message") if isinstance(err, dict) else err or doc.get("message")
            return _plain(str(found)) if found else None
    plain = _plain(text)
    m = _PAGE_MESSAGE.search(plain)
    if m is not None:
        return m.group(1)
    if "RSSHub" in plain or _known(plain):
        return plain[:300]
    return None


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAGS.sub(" ", text))).strip()


def _known(text: str) -> bool:
    return bool(re.search(r"Cookies? expired|ConfigNotFoundError|NotFoundError|Route not found|"
                          r"route is empty|RejectError|RequestInProgressError|CaptchaError|"
                          r"InvalidParameterError|is disabled due to the lack of", text, re.I))


def _advice(route: str, status: int, detail: str) -> str:
    """What RSSHub said, in Chinese, with what to do about it."""
    lowered = detail.lower()
    platform = _PLATFORMS.get(route.strip("/").split("/", 1)[0])
    name, setting = platform or ("该平台", "Cookie")
    shown_route = redact_url(f"{SCHEME}{route}")
    short = detail[:200]
    if "authentication failed" in lowered or "rejecterror" in lowered or "access denied" in lowered:
        return ("RSSHub 拒绝访问：访问密钥不对或没有提供（RSSHub 设置了 ACCESS_KEY），"
                "请把同一个密钥放进 yuqing-monitor 的环境变量（[fetch] rsshub_key_env）")
    if "cookies expired" in lowered or "cookie expired" in lowered:
        return f"RSSHub 报告：Cookie 已过期，请在 RSSHub 的配置中更新{name} Cookie（{setting}）后重启 RSSHub"
    if "visitor cookies" in lowered or "weibo_cookies" in lowered:
        return ("RSSHub 报告：无法取得微博访客 Cookie，请在 RSSHub 的配置中设置 WEIBO_COOKIES"
                "（登录微博后从浏览器复制）后重启 RSSHub")
    if "confignotfounderror" in lowered or "due to the lack of" in lowered:
        names = sorted(set(_ENV_NAME.findall(detail)) - {"RSS"})
        need = f"（{'、'.join(names)}）" if names else ""
        return (f"RSSHub 缺少这条路由需要的配置{need}：请按 RSSHub 文档中该路由的说明设置后重启 RSSHub"
                f"（RSSHub 原文：{short}）")
    if "notfounderror" in lowered or "route not found" in lowered \
            or "does not exist" in lowered or (status == 404 and "route" in lowered):
        return f"RSSHub 没有这条路由（检查 {shown_route} 的写法或升级 RSSHub）"
    if "route is empty" in lowered:
        return (f"RSSHub 报告：这条路由没有取到任何内容（{shown_route}）：源站可能改版、"
                "账号不存在或内容仅登录可见，请在浏览器中核对，必要时升级 RSSHub 或为其配置 Cookie")
    if "requestinprogresserror" in lowered or "currently fetching" in lowered:
        return "RSSHub 正在抓取这条路由，稍后会自动重试"
    if "captcha" in lowered or "验证码" in detail:
        return (f"RSSHub 报告：{name}要求验证码（被源站反爬拦截），请稍后重试，"
                f"或在 RSSHub 中配置 {setting} 或代理")
    if "invalidparametererror" in lowered or "invalid parameter" in lowered:
        return f"RSSHub 报告：路由参数无效，请检查 {shown_route} 的写法（RSSHub 原文：{short}）"
    if re.search(r"\b(?:fetcherror|httperror|requesterror)\b|\[get\]", lowered):
        return (f"RSSHub 抓取源站失败，源站可能在拦截 RSSHub：请稍后重试，或为 RSSHub 配置"
                f"{name} Cookie 或代理（RSSHub 原文：{short}）")
    return f"RSSHub 报告错误（HTTP {status}）：{short}"
