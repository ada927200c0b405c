"""Text normalization for matching, with an offset map back to the original text.

``normalize(text)`` returns a :class:`Normalized` whose ``.text`` is what rules match
against and whose ``.span(a, b)`` / ``.offsets`` map normalized positions back to the
characters the user sees. Steps, in order:

1. HTML entities decoded (``html.unescape`` semantics; one entity is one source span);
2. zero-width and format characters (Unicode ``Cf``, variation selectors) removed;
   every other character mapped by NFKC, case folding (unless ``casefold=False``) and
   NFKC again -- per character, so full-width ``ＡＢＣ`` becomes ``abc``;
3. interference characters (whitespace, punctuation, symbols: ``Z*``/``P*``/``S*``)
   standing between two CJK characters removed (``欠*薪``, ``欠 薪`` -> ``欠薪``);
4. traditional -> simplified with OpenCC ``t2s`` on the whole string when it holds
   traditional characters (phrase-aware); per character if that changes the length.

The per-character tables cover the BMP and the astral blocks that matter (mathematical
alphanumerics, enclosed forms, emoji, CJK compatibility); they are built once, lazily.
The common path is a handful of C-level passes (regex, ``str.translate``).
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from html.entities import html5 as _HTML5
from itertools import accumulate

__all__ = ["Normalized", "is_cjk", "is_interference", "normalize"]

# Han characters: 〇, extension A and the unified block (the two NFKC and case never
# touch), compatibility ideographs, the astral extensions.
_HAN_RANGES = ((0x3007, 0x3007), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
               (0x20000, 0x3FFFF))
_UNIFIED_HAN = _HAN_RANGES[1:3]
_TABLE_RANGES = ((0x0, 0xFFFF), (0x1D400, 0x1D7FF), (0x1F000, 0x1FBFF), (0x2F800, 0x2FA1F),
                 (0xE0000, 0xE01EF))
_ENTITY_RE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def is_cjk(ch: str) -> bool:
    """True for one Han character (unified, extensions, compatibility, 〇)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _HAN_RANGES)


def _char_class(cps: Iterable[int], ranges: Iterable[tuple[int, int]] = ()) -> str:
    """A regex matching one of the code points ``cps`` or of the inclusive ``ranges``.

    BMP and astral code points go in separate classes: ``re`` only uses its fast
    bitmap lookup for a class that stays inside the BMP.
    """
    runs: list[tuple[int, int]] = []
    for cp in sorted(set(cps)):
        if runs and cp == runs[-1][1] + 1 and cp != 0x10000:
            runs[-1] = (runs[-1][0], cp)
        else:
            runs.append((cp, cp))
    runs.extend(ranges)
    bmp = [_range(a, b) for a, b in runs if b < 0x10000]
    astral = [_range(a, b) for a, b in runs if a >= 0x10000]
    alts = [f"[{''.join(x)}]" for x in (bmp, astral) if x]
    if not alts:
        return "(?!)"
    return alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"


def _range(a: int, b: int) -> str:
    if a == b:
        return re.escape(chr(a))
    return f"{re.escape(chr(a))}-{re.escape(chr(b))}"


class _Profile:
    """Per-character tables for one normalization flavour (case folded or not)."""

    def __init__(self, casefold: bool) -> None:
        import opencc

        self.converter = opencc.OpenCC("t2s")
        self.lock = threading.Lock()
        pre: dict[str, str] = {}          # char -> NFKC(+casefold) form, where it differs
        drops: list[int] = []
        for cp in _table_code_points():
            c = chr(cp)
            if unicodedata.category(c) == "Cf" or 0xFE00 <= cp <= 0xFE0F or cp >= 0xE0100:
                drops.append(cp)
                continue
            m = unicodedata.normalize("NFKC", c)
            if casefold:
                m = unicodedata.normalize("NFKC", m.casefold())
            if m != c:
                if len(m) > 1 and all(is_interference(x) for x in m):
                    m = m[0]              # … -> . (keeps punctuation one-to-one)
                pre[c] = m
        # per-character traditional -> simplified, for every Han character we may see
        han = {chr(cp) for lo, hi in _HAN_RANGES[:4] for cp in range(lo, hi + 1)}
        han.update(x for m in pre.values() for x in m if is_cjk(x))
        han_list = sorted(han)
        conv = self.converter.convert("\n".join(han_list)).split("\n")
        t2s = {h: t for h, t in zip(han_list, conv, strict=True) if t != h and len(t) == 1}
        self.t_t2s = {ord(h): t for h, t in t2s.items()}
        full: dict[str, str] = dict.fromkeys(map(chr, drops), "")
        for c, m in pre.items():
            full[c] = "".join(t2s.get(x, x) for x in m)
        for h, t in t2s.items():
            full.setdefault(h, t)
        self.full = full
        self.t_full = {ord(c): m for c, m in full.items() if len(m) == 1}
        self.t_not2s = {ord(c): m for c, m in pre.items() if len(m) == 1}
        special = [ord(c) for c, m in full.items() if len(m) != 1]
        trad = [ord(c) for c in t2s] + [ord(c) for c, m in pre.items() if m in t2s]
        interf, cjk_extra = [], []
        for cp in _table_code_points():
            c = chr(cp)
            f = full.get(c, c)
            if len(f) != 1:
                continue
            if is_interference(f):
                interf.append(cp)
            elif is_cjk(f) and not is_cjk(c):
                cjk_extra.append(cp)
        self.bmp = _Patterns(cjk_extra, interf, special, list(self.t_full), trad, bmp_only=True)
        self.all = _Patterns(cjk_extra, interf, special, list(self.t_full), trad)

    def t2s(self, s: str) -> str:
        """Phrase-aware OpenCC conversion (per character for text OpenCC cannot take)."""
        try:
            with self.lock:
                return str(self.converter.convert(s))
        except UnicodeError:                  # lone surrogates
            return s.translate(self.t_t2s)


def is_interference(ch: str) -> bool:
    """True for whitespace, punctuation and symbols (Unicode ``Z*``, ``P*``, ``S*``)."""
    return ch.isspace() or unicodedata.category(ch)[0] in "ZPS"


class _Patterns:
    """The regexes one normalization needs (the BMP-only set is several times faster)."""

    def __init__(self, han: list[int], interf: list[int], special: list[int],
                 change: list[int], trad: list[int], bmp_only: bool = False) -> None:
        def cls(cps: list[int], ranges: tuple[tuple[int, int], ...] = ()) -> str:
            if bmp_only:
                cps = [cp for cp in cps if cp < 0x10000]
                ranges = tuple(r for r in ranges if r[1] < 0x10000)
            return _char_class(cps, ranges)

        cjk, inter = cls(han, _HAN_RANGES), cls(interf)
        self.interference = re.compile(f"({inter}(?<={cjk}{inter}){inter}*(?={cjk}))")
        self.special = re.compile(cls(special))
        self.change = re.compile(cls(change))
        self.trad = re.compile(cls(trad))


_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")


def _table_code_points() -> Iterable[int]:
    """Code points with table entries (unified Han needs none: NFKC and case leave it)."""
    for lo, hi in _TABLE_RANGES:
        for cp in range(lo, hi + 1):
            if not any(lo <= cp <= hi for lo, hi in _UNIFIED_HAN):
                yield cp


_PROFILES: dict[bool, _Profile] = {}
_PROFILE_LOCK = threading.Lock()


def _profile(casefold: bool) -> _Profile:
    prof = _PROFILES.get(casefold)
    if prof is None:
        with _PROFILE_LOCK:
            prof = _PROFILES.get(casefold)
            if prof is None:
                prof = _PROFILES[casefold] = _Profile(casefold)
    return prof


class _Map:
    """Piecewise map from positions in a new string to spans of an old string.

    Segment ``k`` starts at new position ``ns[k]``. If ``oe[k] < 0`` it is linear (new
    ``ns[k] + j`` is old ``os[k] + j``); otherwise every new char in it maps to the whole
    old span ``[os[k], oe[k])`` (an entity, an NFKC expansion).
    """

    __slots__ = ("ns", "oe", "os")

    def __init__(self, ns: list[int], os_: list[int], oe: list[int] | None) -> None:
        self.ns, self.os, self.oe = ns, os_, oe

    def locate(self, i: int) -> tuple[int, int]:
        k = bisect_right(self.ns, i) - 1
        if self.oe is None or self.oe[k] < 0:
            s = self.os[k] + i - self.ns[k]
            return s, s + 1
        return self.os[k], self.oe[k]


def _compose(outer: _Map | None, inner: _Map | None, n_new: int) -> _Map | None:
    """The map new -> old, given outer: new -> mid and inner: mid -> old."""
    if outer is None:
        return inner
    if inner is None:
        return outer
    ns: list[int] = []
    os_: list[int] = []
    oe: list[int] = []
    count = len(outer.ns)
    for k in range(count):
        n0 = outer.ns[k]
        n1 = outer.ns[k + 1] if k + 1 < count else n_new
        if n1 <= n0:
            continue
        if outer.oe is not None and outer.oe[k] >= 0:
            ns.append(n0)
            os_.append(inner.locate(outer.os[k])[0])
            oe.append(inner.locate(outer.oe[k] - 1)[1])
            continue
        m0 = pos = outer.os[k]
        m1 = m0 + (n1 - n0)
        j = bisect_right(inner.ns, m0) - 1
        while pos < m1:
            seg_end = inner.ns[j + 1] if j + 1 < len(inner.ns) else m1
            ns.append(n0 + pos - m0)
            if inner.oe is not None and inner.oe[j] >= 0:
                os_.append(inner.os[j])
                oe.append(inner.oe[j])
            else:
                os_.append(inner.os[j] + pos - inner.ns[j])
                oe.append(-1)
            pos = min(m1, seg_end)
            j += 1
    return _Map(ns, os_, oe)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized text and the way back to ``source``."""

    text: str
    source: str
    _map: _Map | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` covering normalized ``text[start:end]`` (end > start)."""
        if self._map is None:
            return start, end
        return self._map.locate(start)[0], self._map.locate(end - 1)[1]

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """For each normalized character, its ``(start, end)`` in ``source``."""
        if self._map is None:
            return [(i, i + 1) for i in range(len(self.text))]
        return [self._map.locate(i) for i in range(len(self.text))]


def _decode_entities(text: str) -> tuple[str, _Map | None]:
    pieces: list[str] = []
    ns: list[int] = []
    os_: list[int] = []
    oe: list[int] = []
    pos = npos = 0
    for m in _ENTITY_RE.finditer(text):
        a, b = m.span()
        s = m.group(1)
        if s[0] == "#":
            repl, ent_end = html.unescape(m.group(0)), b
        elif s in _HTML5:
            repl, ent_end = _HTML5[s], b
        else:
            for x in range(len(s) - 1, 1, -1):
                if s[:x] in _HTML5:
                    repl, ent_end = _HTML5[s[:x]], a + 1 + x
                    break
            else:
                continue
        if a > pos:
            ns.append(npos)
            os_.append(pos)
            oe.append(-1)
            pieces.append(text[pos:a])
            npos += a - pos
        ns.append(npos)
        os_.append(a)
        oe.append(ent_end)
        pieces.append(repl)
        npos += len(repl)
        pos = ent_end
    if not ns:
        return text, None
    if pos < len(text):
        ns.append(npos)
        os_.append(pos)
        oe.append(-1)
        pieces.append(text[pos:])
    return "".join(pieces), _Map(ns, os_, oe)


def _expand(text: str, prof: _Profile, pats: _Patterns) -> tuple[str, _Map | None]:
    """Drop format characters and expand multi-character mappings (…, ①, ß)."""
    pieces: list[str] = []
    ns: list[int] = []
    os_: list[int] = []
    oe: list[int] = []
    pos = npos = 0
    full = prof.full
    for m in pats.special.finditer(text):
        a = m.start()
        if a > pos:
            ns.append(npos)
            os_.append(pos)
            oe.append(-1)
            pieces.append(text[pos:a])
            npos += a - pos
        repl = full[m.group()]
        if repl:
            ns.append(npos)
            os_.append(a)
            oe.append(a + 1)
            pieces.append(repl)
            npos += len(repl)
        pos = a + 1
    if pos < len(text) or not ns:
        ns.append(npos)
        os_.append(pos)
        oe.append(-1)
        pieces.append(text[pos:])
    return "".join(pieces), _Map(ns, os_, oe)


def _drop_interference(text: str, pats: _Patterns) -> tuple[str, _Map | None]:
    """Remove runs of interference characters between two CJK characters."""
    parts = pats.interference.split(text)   # kept, removed, kept, ..., kept
    if len(parts) == 1:
        return text, None
    kept = parts[0::2]
    starts = list(accumulate(map(len, parts), initial=0))[0::2]
    ns = list(accumulate(map(len, kept), initial=0))
    ns.pop()
    return "".join(kept), _Map(ns, starts, None)


def normalize(text: str, *, casefold: bool = True) -> Normalized:
    """Normalize ``text`` for matching; see the module docstring for the steps."""
    prof = _profile(casefold)
    pats = prof.all if _ASTRAL_RE.search(text) else prof.bmp
    s = text
    mapping = None
    if "&" in s:
        s, mapping = _decode_entities(s)
        if pats is prof.bmp and _ASTRAL_RE.search(s):
            pats = prof.all
    if pats.special.search(s):
        s, m2 = _expand(s, prof, pats)
        mapping = _compose(m2, mapping, len(s))
    s, m3 = _drop_interference(s, pats)
    mapping = _compose(m3, mapping, len(s))
    if pats.trad.search(s):
        s1 = s.translate(prof.t_not2s)
        s = prof.t2s(s1)
        if len(s) != len(s1):
            s = s1.translate(prof.t_t2s)
    elif pats.change.search(s):
        s = s.translate(prof.t_full)
    return Normalized(s, text, mapping)
