"""Bytes -> text: which charset a feed or page is in, and decoding it.

``decode_feed`` picks the encoding in this order, stopping at the first source that
decodes cleanly:

1. ``override`` (the per-feed ``encoding`` key): trusted; undecodable bytes are replaced;
2. a byte order mark (UTF-8, UTF-16, UTF-32);
3. the HTTP ``charset``;
4. the XML declaration (or the NUL pattern of BOM-less UTF-16/32 XML), and for an HTML
   page (``html=True``) its ``<meta charset>`` / ``<meta http-equiv="Content-Type">``
   in the first 4 KB (pages often declare GB2312 and are really UTF-8: the check below
   then rejects the declaration);
5. detection: strict UTF-8, then GB18030 and Big5 scored by how many decoded characters
   are common Chinese characters (so short undeclared GBK is never read as a Cyrillic
   codepage), then charset-normalizer, finally Windows-1252.

A declared charset is rejected (and the next source tried) when it does not decode
strictly, or when it would produce mojibake: a single-byte charset (latin-1, ascii,
windows-125x ...) or a non-UTF-8 multibyte charset declared for bytes that are valid
multibyte UTF-8, or a single-byte charset for bytes that read as plausible GB18030/Big5
Chinese. GB2312 and GBK are always decoded as GB18030 (their superset), Big5 as
Big5-HKSCS.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from functools import lru_cache

log = logging.getLogger(__name__)

_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "ms936": "gb18030", "windows-936": "gb18030", "euc-cn": "gb18030", "euccn": "gb18030",
    "gb_2312-80": "gb18030", "gb2312-80": "gb18030", "csgb2312": "gb18030", "hz-gb-2312": "hz",
    "big5": "big5hkscs", "big-5": "big5hkscs", "cn-big5": "big5hkscs", "x-x-big5": "big5hkscs",
    "cp950": "big5hkscs", "csbig5": "big5hkscs",
    "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "l1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "iso8859-1": "cp1252", "windows-1252": "cp1252",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "utf-8-sig": "utf-8",
    "ucs-2": "utf-16", "unicode": "utf-16",
}
_CJK_MULTIBYTE = ("gb18030", "big5hkscs")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NUL_PATTERNS = (
    (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]{1,40})""", re.IGNORECASE)
_XML_DECL_ENC = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:\-]{1,40})["']""")


def normalize_encoding(name: str | None) -> str | None:
    """Canonical Python codec name for a charset label, or ``None`` if unknown/unusable."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    canon = _ALIASES.get(info.name.replace("_", "-"), info.name)
    return canon.replace("_", "-")


@lru_cache(maxsize=1)
def _common_chars() -> dict[str, frozenset[str]]:
    """Most common Chinese characters, read from the codecs themselves.

    GB2312 level 1 (B0A1-D7FE, 3755 simplified) and Big5 常用字 (A440-C67E, 5401 traditional).
    """
    gb = _decode_pairs("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF), 0xD7FE)
    trails = [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
    b5 = _decode_pairs("big5", range(0xA4, 0xC7), trails, 0xC67E)
    return {"gb18030": frozenset(gb), "big5hkscs": frozenset(b5)}


def _decode_pairs(codec: str, leads: range, trails: list[int] | range, last: int) -> list[str]:
    out = []
    for lead in leads:
        for trail in trails:
            if (lead << 8 | trail) <= last:
                ch = bytes((lead, trail)).decode(codec, "replace")
                if len(ch) == 1 and ch != "\ufffd":
                    out.append(ch)
    return out


def _is_cjk_punct(ch: str) -> bool:
    o = ord(ch)
    return (0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF or 0x2010 <= o <= 0x206F
            or o in (0xB7, 0xA0))


def cjk_score(text: str, encoding: str) -> tuple[float, int]:
    """(share of non-ASCII characters that are common characters for ``encoding``, count)."""
    common = _common_chars()[encoding]
    nonascii = good = 0
    for ch in text[:100_000]:
        if ch < "\x80":
            continue
        nonascii += 1
        if ch in common or _is_cjk_punct(ch):
            good += 1
    return (good / nonascii if nonascii else 1.0), nonascii


def _try(content: bytes, encoding: str) -> str | None:
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_ascii(content: bytes) -> bool:
    return content.isascii()


def _best_cjk(content: bytes) -> tuple[str, str, float, int] | None:
    """Decode as GB18030 and Big5 and keep the more plausible; ties go to GB18030."""
    best: tuple[str, str, float, int] | None = None
    for enc in _CJK_MULTIBYTE:
        text = _try(content, enc)
        if text is None:
            continue
        score, n = cjk_score(text, enc)
        if best is None or score > best[2] + 0.05:
            best = (text, enc, score, n)
    return best


def _acceptable(content: bytes, encoding: str) -> str | None:
    """Decode with a *declared* charset, or ``None`` when it fails or would garble."""
    if encoding.startswith(("utf-16", "utf-32")):
        text = _try(content, encoding)
        head = (text or "")[:200].lstrip("\ufeff \t\r\n")
        return text if head.startswith(("<", "{")) else None
    if _is_ascii(content):
        return content.decode("ascii")
    if encoding == "utf-8":
        return _utf8(content)
    if _utf8(content) is not None:
        return None  # valid multibyte UTF-8 mislabelled as something else
    text = _try(content, encoding)
    if text is None:
        return None
    if encoding in _CJK_MULTIBYTE:
        score, n = cjk_score(text, encoding)
        other = _CJK_MULTIBYTE[1 - _CJK_MULTIBYTE.index(encoding)]
        if n >= 8 and score < 0.6:
            alt = _try(content, other)
            if alt is not None and cjk_score(alt, other)[0] > 0.9:
                return None
        return text
    if _single_byte(encoding):
        cjk = _best_cjk(content)
        if cjk is not None and cjk[2] >= 0.9 and cjk[3] >= 2:
            return None  # Chinese bytes labelled latin-1 & co.
    return text


@lru_cache(maxsize=64)
def _single_byte(encoding: str) -> bool:
    try:
        return len(bytes(range(0x80, 0x100)).decode(encoding, "replace")) == 128
    except LookupError:
        return False


def _real_two_byte(text: str) -> bool:
    """Do the 2-byte UTF-8 characters look like real words (accents inside ASCII words, or
    letters of one script such as Cyrillic) rather than GBK bytes read as UTF-8?"""
    two = [(i, ch) for i, ch in enumerate(text[:100_000]) if "\x80" <= ch < "\u0800"]
    if not two:
        return True
    in_words = sum(1 for i, ch in two if ch.isalpha() and (
        (i > 0 and text[i - 1].isascii() and text[i - 1].isalpha())
        or (i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalpha())))
    if in_words * 2 >= len(two):
        return True
    scripts = {unicodedata.name(ch, "?").split()[0] for _, ch in two}
    return len(two) >= 3 and len(scripts) == 1 and all(ch.isalpha() for _, ch in two)


def _utf8(content: bytes) -> str | None:
    """Decode as UTF-8 unless the bytes are better read as GB18030.

    Short GBK text is often valid UTF-8 by accident, but then only as two-byte sequences
    (Latin/Greek/Cyrillic); real Chinese UTF-8 always has three-byte sequences. UTF-8 with a
    few broken sequences (CMSs cutting summaries mid-character) is accepted, lossily.
    """
    text = _try(content, "utf-8")
    if text is None:
        text = content.decode("utf-8", "replace")
        bad = text.count("\ufffd")
        good = sum(1 for ch in text[:200_000] if ch >= "\x80") - bad
        if bad > max(2, good // 200) or good < 4 * bad:
            return None
    if not any(ch >= "\u0800" and ch != "\ufffd" for ch in text) and not _real_two_byte(text):
        gb = _try(content, "gb18030")
        if gb is not None:
            score, n = cjk_score(gb, "gb18030")
            if n and score >= 0.9:
                return None
    return text


def _detect(content: bytes) -> tuple[str, str]:
    if _is_ascii(content):
        return content.decode("ascii"), "utf-8"
    text = _utf8(content)
    if text is not None:
        return text, "utf-8"
    cjk = _best_cjk(content)
    if cjk is not None and cjk[2] >= 0.5:
        return cjk[0], cjk[1]
    try:
        from charset_normalizer import from_bytes

        match = from_bytes(content[:200_000]).best()
    except Exception:  # pragma: no cover - detector failure must not break parsing
        match = None
    if match is not None:
        enc = normalize_encoding(match.encoding)
        if enc and (text := _try(content, enc)) is not None:
            return text, enc
    if cjk is not None:
        return cjk[0], cjk[1]
    return content.decode("cp1252", "replace"), "cp1252"


def split_content_type(content_type: str) -> tuple[str, str | None]:
    """``(mime type, charset or None)`` of an HTTP Content-Type."""
    mime, _, params = (content_type or "").partition(";")
    m = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
    return mime.strip().lower(), (m.group(1) if m else None)


def decode_feed(content: bytes, *, http_charset: str | None = None,
                override: str | None = None, html: bool = False) -> tuple[str, str]:
    """Decode feed bytes to text; returns ``(text, encoding_used)`` (see module docstring).
    ``html``: the bytes are a web page, whose ``<meta>`` may declare the charset."""
    enc = normalize_encoding(override)
    if override and enc is None:
        log.warning("未知的编码设置 %r，已忽略", override)
    if enc:
        text = _try(content, enc)
        if text is None:
            log.warning("内容不是合法的 %s 编码，无法解码的字节已替换", enc)
            text = content.decode(enc, "replace")
        return text.removeprefix("\ufeff"), enc
    for bom, bom_enc in _BOMS:
        if content.startswith(bom):
            text = _try(content[len(bom):], bom_enc)
            if text is not None:
                return text, bom_enc.removesuffix("-le").removesuffix("-be")
    sniffed = _sniff_meta(content) if html else None
    for declared in (normalize_encoding(http_charset), _sniff_declaration(content), sniffed):
        if declared and (text := _acceptable(content, declared)) is not None:
            return text.removeprefix("\ufeff"), declared
    return _detect(content)


def _sniff_declaration(content: bytes) -> str | None:
    head = content[:1024]
    for pattern, enc in _NUL_PATTERNS:
        if head.startswith(pattern):
            return enc
    m = _XML_DECL_ENC.match(head)
    return normalize_encoding(m.group(1).decode("ascii")) if m else None


def _sniff_meta(content: bytes) -> str | None:
    m = _META_CHARSET.search(content[:4096])
    return normalize_encoding(m.group(1).decode("ascii")) if m else None
