"""redact_url: every place a URL hides a secret, and harmless URLs left byte for byte."""

from __future__ import annotations

import pytest

from monitor.redact import redact_text, redact_url, secret_name

FEISHU = "0a1b2c3d-1111-2222-3333-444455556666"

CASES = [
    # userinfo
    ("https://alice:S3cret@example.org/rss.xml", "https://alice:***@example.org/rss.xml"),
    ("https://ghp_PLANTED0123456789@example.org/a.atom", "https://***@example.org/a.atom"),
    ("https://user@x.org/feed", "https://***@x.org/feed"),  # no password: may be a token
    ("http://proxyuser:pw@127.0.0.1:3128", "http://proxyuser:***@127.0.0.1:3128"),
    ("http://u:pa#ss@example.org/", "http://u:***@example.org/"),
    # query parameters by name, any case, with prefixes and suffixes
    ("https://x.org/rss?page=2&token=T1", "https://x.org/rss?page=2&token=***"),
    ("https://oapi.dingtalk.com/robot/send?access_token=T2",
     "https://oapi.dingtalk.com/robot/send?access_token=***"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=T3",
     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"),
    ("https://x.org/f?password=T4&passwd=T5&pwd=T6&pass=T7",
     "https://x.org/f?password=***&passwd=***&pwd=***&pass=***"),
    ("https://x.org/f?auth=T8&Authorization=T9", "https://x.org/f?auth=***&Authorization=***"),
    ("https://x.org/f?signature=A&sign=B&sig=C", "https://x.org/f?signature=***&sign=***&sig=***"),
    ("https://x.org/f?apikey=A&api_key=B&apiKey=C&access_key=D",
     "https://x.org/f?apikey=***&api_key=***&apiKey=***&access_key=***"),
    ("https://x.org/f?ticket=A&session=B&sessionid=C&JSESSIONID=D&sid=E",
     "https://x.org/f?ticket=***&session=***&sessionid=***&JSESSIONID=***&sid=***"),
    ("https://x.org/f?code=A&credential=B&client_secret=C&private_token=D",
     "https://x.org/f?code=***&credential=***&client_secret=***&private_token=***"),
    ("https://s3.example/o?X-Amz-Signature=A&X-Amz-Credential=B&X-Amz-Date=20240101",
     "https://s3.example/o?X-Amz-Signature=***&X-Amz-Credential=***&X-Amz-Date=20240101"),
    ("https://x.org/f?app_secret=A&X-Token=B&appkey=C&TOKEN=D&%74oken=E",
     "https://x.org/f?app_secret=***&X-Token=***&appkey=***&TOKEN=***&%74oken=***"),
    # fragments
    ("https://x.org/cb#access_token=A&state=s1", "https://x.org/cb#access_token=***&state=s1"),
    ("https://x.org/#/list?sig=A&page=3", "https://x.org/#/list?sig=***&page=3"),
    # nested URLs: plain, percent-encoded once and twice
    ("https://x.org/r?url=https://y.org/?password=A", "https://x.org/r?url=https://y.org/?password=***"),
    ("https://x.org/r?url=https%3A%2F%2Fy%2F%3Ftoken%3DSECRET&id=5",
     "https://x.org/r?url=https%3A%2F%2Fy%2F%3Ftoken%3D***&id=5"),
    ("https://x.org/r?u=https%253A%252F%252Fy%252F%253Fapi_key%253DSECRET",
     "https://x.org/r?u=https%253A%252F%252Fy%252F%253Fapi_key%253D***"),
    ("https://x.org/r?next=%2Fcb%3Fcode%3DSECRET", "https://x.org/r?next=%2Fcb%3Fcode%3D***"),
    # robot hooks with the token in the path
    (f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU}",
     "https://open.feishu.cn/open-apis/bot/v2/hook/***"),
    ("https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx",
     "https://hooks.slack.com/services/***/***/***"),
    ("https://api.telegram.org/bot123456:ABC-DEF1234ghIkl/sendMessage",
     "https://api.telegram.org/bot***/sendMessage"),
]

HARMLESS = [
    "http://127.0.0.1:1/a.xml",
    "https://x.org/list?page=2&id=5",
    "https://x.org/search?keyword=%E6%AC%A0%E8%96%AA&author=%E5%BC%A0%E4%B8%89&sort=new",
    "https://x.org/s?searchKey=欠薪&area_code=110000&type=rss+2.0",
    "https://x.org/a%20b/c.xml?q=a+b&empty=&flag",
    "https://x.org/?",
    "https://x.org/#",
    "https://x.org/page#section-2",
    "https://x.org/services/rss2024.xml",
    "https://x.org/r?url=https%3A%2F%2Fy.org%2Ffeed%3Fpage%3D2",
    "http://[::1]:8080/feed.xml?id=1",
    "feed.xml",
]


@pytest.mark.parametrize("url, want", CASES)
def test_secrets_are_hidden(url: str, want: str) -> None:
    assert redact_url(url) == want


@pytest.mark.parametrize("url", HARMLESS)
def test_harmless_urls_unchanged_byte_for_byte(url: str) -> None:
    assert redact_url(url) == url


def test_redaction_is_idempotent() -> None:
    for _url, want in CASES:
        assert redact_url(want) == want


@pytest.mark.parametrize("name, secret", [
    ("token", True), ("access_token", True), ("X-Token", True), ("appSecret", True),
    ("APPKEY", True), ("authCode", True), ("vcode", True), ("X-Sign", True),
    ("page", False), ("id", False), ("keyword", False), ("author", False), ("design", False),
    ("passport", False), ("search_key", False), ("area_code", False), ("errcode", False),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


def test_urls_inside_messages() -> None:
    text = "重定向循环：http://x.org/?sig=S1 已访问过（最后指向 'http://y.org/a?code=S2'）。"
    assert redact_text(text) == ("重定向循环：http://x.org/?sig=*** 已访问过"
                                 "（最后指向 'http://y.org/a?code=***'）。")
    assert redact_text("see http://x.org/?token=S3).") == "see http://x.org/?token=***)."
    assert redact_text("HTTP 500 服务器错误") == "HTTP 500 服务器错误"
