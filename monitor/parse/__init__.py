"""Bytes -> items: charset detection (``charset``), XML clean-up (``xmlclean``), HTML to text
(``html``), dates (``dates``), feed formats (``feeds``: RSS, Atom, JSON Feed), and the last
step every parser ends with (``finish``: control characters, links, the date policy).

Worker processes import only this package (see ``monitor.workers``).
"""

from __future__ import annotations

from .charset import decode_feed
from .dates import parse_date
from .feeds import parse_feed, parse_in_worker
from .html import html_to_text

__all__ = ["decode_feed", "html_to_text", "parse_date", "parse_feed", "parse_in_worker"]
