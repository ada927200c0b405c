"""How the command line shows matched text to a person: hits marked with 〖〗 (and colour
on a terminal), snippets around the first hit; every piece terminal-safe."""

from __future__ import annotations

from typing import Any

import click

from ..terminal import show


def highlight(text: str, spans: list[dict[str, Any]], *, color: bool) -> str:
    """Mark every span in ``text`` with 〖〗 (and colour on a terminal); overlaps merge.

    〖〗 rather than 【】, which Chinese headlines use themselves. Every piece of ``text``
    goes through :func:`show` (after the offsets are applied, so they still hold)."""
    ranges = sorted((s["start"], s["end"]) for s in spans)
    merged: list[list[int]] = []
    for start, end in ranges:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(show(text[pos:start]))
        hit = show(text[start:end])
        out.append(click.style(f"〖{hit}〗", fg="red", bold=True) if color else f"〖{hit}〗")
        pos = end
    out.append(show(text[pos:]))
    return "".join(out)


def snippet(text: str, spans: list[dict[str, Any]], width: int = 60) -> tuple[str, list[dict[str, Any]]]:
    """A window of ``text`` around its first span, with spans shifted into it; line breaks
    shown as spaces (one character for one, so offsets still hold)."""
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) <= width * 2 or not spans:
        return text, spans
    first = min(s["start"] for s in spans)
    lo = max(0, first - width // 2)
    hi = min(len(text), lo + width * 2)
    inside = [{**s, "start": s["start"] - lo, "end": s["end"] - lo} for s in spans
              if s["start"] >= lo and s["end"] <= hi]
    return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else ""), \
        [{**s, "start": s["start"] + (1 if lo else 0), "end": s["end"] + (1 if lo else 0)}
         for s in inside]


def echo_more(total: int, shown: int) -> None:
    """The last line of a list cut by ``--limit``: how many more there are."""
    if total > shown:
        click.echo(f"（还有 {total - shown} 条未显示：用 --limit 显示更多）")
