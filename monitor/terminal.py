"""Item text on a terminal: invisible characters that steer the display are made visible.

Stored text has no control characters (``monitor.finish`` removes them), but Unicode
bidirectional controls are ordinary characters that a terminal obeys: U+202E turns
``gpj.exe`` into what reads as ``exe.jpg``, and a title can hide or reorder its own words
(the "Trojan Source" trick). Every human (non-JSON) printer of item text passes it through
:func:`show`, which writes each such character as ``<U+202E>``. Any control character that
reached the database before it was cleaned is shown the same way, so it is never
sent to the terminal raw. JSON output keeps the text as stored: JSON escapes are safe.
"""

from __future__ import annotations

import re

__all__ = ["show"]

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_STEERING = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


def show(text: str | None) -> str:
    """``text`` with every bidi control and C0/C1 control (but tab and line feed)
    written visibly as ``<U+XXXX>``; ``None`` becomes ``""``."""
    if not text:
        return ""
    return _STEERING.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", text)
