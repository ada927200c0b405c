"""Keep robot messages within the platforms' size limits, cut by UTF-8 bytes.

The platforms count bytes, not characters (WeCom: ``text.content`` 2048 bytes,
``markdown.content`` 4096 bytes; DingTalk: the body 20000 bytes, ``errcode 460101``;
Feishu: the request body 20 KB). Content is cut on a character boundary (never inside a
multi-byte character), preferably at a line end near the limit, and ends with
:data:`MARKER` so readers know something is missing; the result is never over the limit.
"""

from __future__ import annotations

from collections.abc import Callable

MARKER = "…（内容过长已截断）"


def byte_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_bytes(text: str, limit: int, marker: str = MARKER) -> str:
    """``text`` if it fits in ``limit`` UTF-8 bytes, else its longest start that fits
    with ``marker`` appended (cut back to a line end when one is close)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - byte_len(marker)
    if room <= 0:
        return marker.encode("utf-8")[:max(limit, 0)].decode("utf-8", "ignore")
    head = data[:room].decode("utf-8", "ignore")  # drops a partial trailing character
    newline = head.rfind("\n")
    if newline >= len(head) * 3 // 4:              # a line end in the last quarter
        head = head[:newline + 1]
    return head + marker


def fit(build: Callable[[str], bytes], content: str, limit: int) -> bytes:
    """The smallest cut of ``content`` (by :func:`cut_bytes`) whose ``build(content)``
    (a request body) is at most ``limit`` bytes; serialisation overhead such as JSON
    escaping is measured, not guessed. Raises ``ValueError`` if even an empty content is
    too big."""
    body = build(content)
    budget = byte_len(content)
    while len(body) > limit:
        over = len(body) - limit
        if budget <= 0:
            raise ValueError("message envelope alone exceeds the platform limit")
        budget = max(0, budget - over - 8)
        body = build(cut_bytes(content, budget))
    return body
