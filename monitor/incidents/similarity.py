"""The near-duplicate key: is a newly scored item the same story as an incident's items?

One story reposted by ten sites is one incident. Reposts are lightly edited (punctuation,
a 突发！ or 【转载】 prefix, a site name appended, a sentence added or dropped, traditional
characters, full-width forms, HTML entities); different stories often share most of their
words (two collapses in two districts, two 欠薪 stories at two companies).

    sig = signature(title, body)     # pure: no I/O, the same in every process and run
    keys = bucket_keys(sig)          # <= 16 short LSH keys, stored with the incident's item
    same_story(sig, other)           # similarity(sig, other) >= DEFAULT_THRESHOLD
    Signature.load(sig.dump())       # a TEXT column of about 600 characters

How a text becomes a :class:`Signature` (``clean_title`` and ``clean_body`` show steps 1-2):

1. Title: HTML entities decoded and NFKC applied to the raw title, every separator marked
   (so that it survives :func:`monitor.normalize.normalize`, which drops punctuation
   between two Han characters), then normalized (case folded, traditional -> simplified).
   A trailing site name after ``_ | - — · 丨 /`` (at most 12 characters, ending in 网, 报,
   台, 新闻, 在线, 发布, .com …) and leading tags (``【…】`` of up to 10 characters, or a
   marker word such as 突发, 快讯, 视频, 网友爆料 followed by punctuation) are dropped; then
   only letters and digits remain.
2. Body: normalized, letters and digits only, a leading copy of the title (or ``原标题`` and
   the title) dropped, and only the first ``BODY_LEAD`` characters kept: reposts keep the
   lead, and a feed that carries only a summary carries the lead.
3. Elements: character bigrams. Measured on the test table against jieba words: jieba
   splits invented names inconsistently (翠/湖区), and bigrams separate the table better.
   Names (two characters before a suffix that says what is named: 青山区, 滨江路, 云溪村,
   宏达建设集团, 白沙河, G320国道) are found in title and body; the bigrams of a name's two
   characters count ``ENTITY_WEIGHT`` times, so two collapses in two districts stay apart
   although every other word matches. Repeats count as often as they occur (multisets).
4. Sketches: each element is hashed to 64 bits (splitmix64 of its code points and copy
   number: stable across processes, no ``hash()``); the ``TITLE_SKETCH`` / ``BODY_SKETCH``
   smallest (bottom-k) are kept, as 32-bit values: the exact Jaccard index while both sets
   fit (nearly every title), an unbiased estimate beyond.
5. LSH bands: a band is the ``rows`` smallest of the sketch's 64-bit hashes under one
   multiply-add permutation; two texts share it with probability about ``J ** rows``.
   ``TITLE_BANDS`` bands of ``TITLE_ROWS`` from the title, ``BODY_BANDS`` of ``BODY_ROWS``
   from a body of at least ``SHORT_BODY`` characters: 16 keys (see :func:`bucket_keys`).
   Body bands also hash the body's first name: bodies that differ only in their names
   (the same official wording about two roads) do not meet, while a repost's body, which
   keeps its lead, does. A title band hashes the title's first name only when none of its
   rows comes from a name: with one fixed set of permutations, frequent bigrams (安置小区,
   工人, 施工) that a permutation happens to rank low would otherwise put every title that
   has them into one bucket; bands with a name's elements stay as they are, since a
   repost may name the city first (江城市…).

Similarity is the title's Jaccard index when either body is empty, otherwise
``w * J_title + (1 - w) * J_body`` with ``w = TITLE_WEIGHT``. A title shorter than
``SHORT_TITLE`` characters says little (情况通报), and so does a body shorter than
``SHORT_BODY`` (截至发稿时，尚无进一步消息。, or a site's slogan in every item): its weight
shrinks in proportion, and when too little text is left the similarity itself shrinks
(so 情况通报 alone is never the same story as 情况通报 alone). When both titles name a
place (or a road, an organisation, a river) and neither title's first such name is in the
other, the similarity is multiplied by ``NAME_CONFLICT``.

datasketch was not used: it brings numpy and scipy into a daemon that needs neither, and its
MinHash has no weights, no bottom-k exactness for short titles and no Chinese cleanup; what
is needed here is some 40 lines of hashing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import re
import struct
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ..normalize import is_interference, normalize

__all__ = ["DEFAULT_THRESHOLD", "Signature", "bucket_keys", "same_story", "signature",
           "similarity"]

VERSION = 1               # in every dump and key: another version never matches this one
DEFAULT_THRESHOLD = 0.55  # same story at or above (test table: reposts >= 0.74, others <= 0.42)
TITLE_WEIGHT = 0.5        # of the title when both bodies are there (its names weigh more too)
SHORT_TITLE = 10          # characters; a shorter title carries proportionally less weight
SHORT_BODY = 40           # likewise for bodies (截至发稿时…); shorter bodies get no LSH keys
BODY_LEAD = 120           # characters of the cleaned body that count
ENTITY_WEIGHT = 5         # a name's bigrams count five times
NAME_CONFLICT = 0.5       # similarity factor when the titles name different places (or firms)
TITLE_SKETCH = 48         # bottom-k sizes: a 30-character title with two names has ~45 elements
BODY_SKETCH = 64
TITLE_BANDS = 12          # LSH keys: 12 title bands of 4 rows, 4 body bands of 4 rows
TITLE_ROWS = 4
BODY_BANDS = 4
BODY_ROWS = 4

_M64 = (1 << 64) - 1
_KEY_SALT = 0x9E3779B97F4A7C15          # element keys start away from zero
_SEP, _OPEN, _CLOSE, _SITE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKED = _SEP + _OPEN + _CLOSE + _SITE
_OPENERS = frozenset("【[〔(「『〖<《")
_CLOSERS = frozenset("】]〕)」』〗>》")
_SITE_SEPARATORS = frozenset("_|丨-–—·/")
_MARKERS = ("网友爆料", "转载", "转发", "突发", "快讯", "重磅", "独家", "最新", "紧急", "扩散",
            "视频", "组图", "图", "爆料", "热点", "曝光", "原创", "关注", "提醒", "滚动", "速看",
            "直播", "转", "re", "fw")
_SITE_NAME = re.compile(
    r"(网|报|台|新闻|在线|论坛|社区|频道|客户端|发布|头条|资讯|门户|政府|融媒|中心|微博|"
    r"公众号|号|app|tv|观察|视界|com|cn|net|org)$")
_SITE_NAME_MAX = 12
_TAG = re.compile(f"{_OPEN}[^{_CLOSE}{_OPEN}]{{0,10}}{_CLOSE}")   # 【转载】 at the start
# Names: two Han characters (or G320, S208) and a suffix that says what is named. Names of
# one class (0 places: areas, villages, estates; 1 roads; 2 organisations and sites;
# 3 waters) are compared with each other. Longer suffixes first (街道 before 街).
_NAME_SUFFIXES = (
    (0, ("安置小区", "新区", "街道", "社区", "小区", "花园", "家园", "区", "县", "市", "镇", "乡",
         "村")),
    (1, ("国道", "省道", "高速", "大道", "路", "街")),
    (2, ("建设集团", "建筑公司", "置业公司", "市政公司", "劳务公司", "污水处理厂", "垃圾处理厂",
         "体育中心", "会展中心", "文化中心", "商业综合体", "人民医院", "中心医院", "实验小学",
         "实验中学", "第一中学", "棚改项目", "安置项目", "改造项目", "改造工程", "产业园",
         "工业园", "科技园", "集团", "公司", "中学", "小学",
         "学校", "医院", "园区", "厂")),
    (3, ("河", "湖")),
)
_NAME_CLASS = {suffix: cls for cls, suffixes in _NAME_SUFFIXES for suffix in suffixes}
_NAME = re.compile("([\u4e00-\u9fff]{2}|[gs][0-9]{1,4})("
                   + "|".join(sorted(_NAME_CLASS, key=len, reverse=True)) + ")")
# Not names: the suffix makes a common word with the character before it (施工封路, 城市)
# or after it (引发村民, 新铺路面).
_NOT_NAME_BEFORE = frozenset({
    "封路", "道路", "线路", "马路", "公路", "铁路", "修路", "绕路", "让路", "出路",
    "进路", "超市", "都市", "上市", "地区", "景区", "辖区", "片区", "街区", "市区",
    "郊区", "校区", "全区", "该区", "本区", "我区", "全市", "该市", "本市", "我市",
    "全县", "该县", "本县", "我县", "全镇", "该镇", "本镇", "全村", "该村", "本村",
    "农村", "乡村", "乡镇", "村镇", "工厂", "该厂", "全厂"})
_NOT_NAME_AFTER = frozenset({
    "村民", "村委", "村里", "村干", "村级", "市民", "市场", "区域", "厂房", "厂家",
    "厂区", "厂长", "路面", "路段", "路况", "路线", "路人", "路过", "街头", "河道"})
_RAW_BODY_LIMIT = 8 * BODY_LEAD   # raw characters read for the lead (entities, spaces)


@dataclass(frozen=True, slots=True)
class Signature:
    """Sketches of one item: bottom-k 32-bit hashes of the title's and the body's
    elements, the cleaned title's length, and the LSH band values."""

    title: tuple[int, ...]
    body: tuple[int, ...]
    title_len: int
    body_len: int
    names: tuple[int, ...]
    title_bands: tuple[int, ...]
    body_bands: tuple[int, ...]

    def dump(self) -> str:
        """A compact text for a TEXT column (ASCII, about 600 characters at most)."""
        parts = [str(VERSION), str(self.title_len), str(self.body_len)]
        parts += [_pack(x) for x in (self.title, self.body, self.names, self.title_bands,
                                     self.body_bands)]
        return ".".join(parts)

    @classmethod
    def load(cls, text: str) -> Signature:
        """The signature :meth:`dump` wrote; ``ValueError`` for anything else (including
        a dump of another version, which must not be compared with this one)."""
        parts = text.split(".")
        if len(parts) != 8 or parts[0] != str(VERSION) or not parts[1].isdigit() or \
                not parts[2].isdigit():
            raise ValueError(f"not a version {VERSION} signature: {text[:40]!r}")
        title, body, names, tb, bb = (_unpack(p) for p in parts[3:])
        return cls(title, body, int(parts[1]), int(parts[2]), names, tb, bb)


def _pack(values: tuple[int, ...]) -> str:
    raw = struct.pack(f">{len(values)}I", *values)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unpack(text: str) -> tuple[int, ...]:
    raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if len(raw) % 4:
        raise ValueError("truncated signature")
    return struct.unpack(f">{len(raw) // 4}I", raw)


# ---- text -> cleaned title and body ---------------------------------------------------
def _mark(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch in _OPENERS:
            out.append(_OPEN)
        elif ch in _CLOSERS:
            out.append(_CLOSE)
        elif ch in _SITE_SEPARATORS:
            out.append(_SITE)
        elif is_interference(ch):
            out.append(_SEP)
        else:
            out.append(ch)
    return "".join(out)


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def clean_title(title: str) -> str:
    """The title as compared: normalized, without site name and repost tags, letters and
    digits only."""
    s = normalize(_mark(unicodedata.normalize("NFKC", html.unescape(title)))).text
    parts = s.split(_SITE)
    while len(parts) > 1:
        tail = _letters(parts[-1])
        if len(tail) > _SITE_NAME_MAX or not _SITE_NAME.search(tail) or \
                not _letters(_SITE.join(parts[:-1])):
            break
        parts.pop()
    s = _SITE.join(parts)
    while True:
        s = s.lstrip(_SEP + _SITE + _CLOSE)
        m = _TAG.match(s)
        if m and _letters(s[m.end():]):
            s = s[m.end():]
            continue
        word = next((w for w in _MARKERS if s.startswith(w) and len(s) > len(w)
                     and s[len(w)] in _MARKED), None)
        if word is None or not _letters(s[len(word):]):
            break
        s = s[len(word):]
    return _letters(s)


def clean_body(body: str, title: str) -> str:
    """The body's lead as compared (``title`` cleaned as by :func:`clean_title`)."""
    s = _letters(normalize(body[:_RAW_BODY_LIMIT]).text)
    if title:
        for prefix in ("原标题" + title, title):
            if s.startswith(prefix):
                s = s[len(prefix):]
                break
    return s[:BODY_LEAD]


# ---- elements, hashes, sketches, bands ------------------------------------------------
def _mix(x: int) -> int:
    """splitmix64's finalizer: a stable 64-bit hash of a 64-bit key."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _M64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _M64
    return x ^ (x >> 31)


def _hashes(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """64-bit hashes of the bigrams of ``text`` as a multiset: the k-th copy of a bigram
    (a repeat, or one of a name's ``ENTITY_WEIGHT`` copies) is its own element. A bigram's
    key is its two code points; copy k adds ``k << 42``."""
    if len(text) < 2:
        return [_mix(ord(text) + _KEY_SALT)] if text else []
    keys = [a << 21 | b for a, b in itertools.pairwise(map(ord, text))]
    counts = Counter(keys)
    for start, end in spans:              # a name's bigrams count ENTITY_WEIGHT times
        for i in range(start, end - 1):
            counts[keys[i]] += ENTITY_WEIGHT - 1
    return [_mix(key + (j << 42) + _KEY_SALT)
            for key, n in counts.items() for j in range(n)]


def _names(text: str) -> tuple[list[tuple[int, int]], tuple[int, ...]]:
    """The spans of the names' cores in a cleaned text, and the names as ``hash | class``
    in the order they first appear."""
    spans: list[tuple[int, int]] = []
    names: dict[int, None] = {}
    for m in _NAME.finditer(text):
        core, suffix = m.group(1), m.group(2)
        if core[-1] + suffix[0] in _NOT_NAME_BEFORE or \
                suffix[-1] + text[m.end():m.end() + 1] in _NOT_NAME_AFTER:
            continue
        spans.append((m.start(), m.start() + len(core) + 1))   # the core's bigrams
        digest = hashlib.blake2b(core.encode("utf-8", "surrogatepass"), digest_size=4)
        names.setdefault(int.from_bytes(digest.digest(), "big") & ~7 | _NAME_CLASS[suffix])
    return spans, tuple(names)


def _permutations(count: int, salt: str) -> list[tuple[int, int]]:
    """``count`` fixed (a, b) pairs, a odd: the band permutations h -> a*h + b mod 2**64."""
    out: list[tuple[int, int]] = []
    for i in range(count):
        d = hashlib.blake2b(f"yuqing-monitor {salt} band {i}".encode(), digest_size=16).digest()
        out.append((int.from_bytes(d[:8], "big") | 1, int.from_bytes(d[8:], "big")))
    return out


_TITLE_PERMS = _permutations(TITLE_BANDS, "title")
_BODY_PERMS = _permutations(BODY_BANDS, "body")


def _bottom(hashes: list[int], k: int) -> list[int]:
    """The ``k`` smallest distinct hashes."""
    return sorted(set(hashes))[:k]


def _sketch(bottom: list[int]) -> tuple[int, ...]:
    """A bottom-k sketch as 32-bit values (the hashes' high halves keep their order)."""
    return tuple(dict.fromkeys(h >> 32 for h in bottom))


def _bands(hashes: list[int], perms: list[tuple[int, int]], rows: int, anchor: int = 0,
           named: frozenset[int] = frozenset()) -> tuple[int, ...]:
    """One value per permutation: its ``rows`` smallest hashes, hashed. A band none of whose
    rows belongs to a name (``named``) hashes ``anchor`` too."""
    if not hashes:
        return ()
    out: list[int] = []
    for a, b in perms:
        low = sorted([((a * h + b) & _M64, h) for h in hashes])[:rows]
        tag = anchor if not named or not any(h in named for _, h in low) else 0
        packed = struct.pack(f">{len(low) + 1}Q", tag, *(p for p, _ in low))
        out.append(int.from_bytes(hashlib.blake2b(packed, digest_size=4).digest(), "big"))
    return tuple(out)


def signature(title: str, body: str) -> Signature:
    """The signature of one item (deterministic: the same in every process and run)."""
    t = clean_title(title)
    b = clean_body(body, t)
    spans, names = _names(t)
    all_th = _hashes(t, spans)
    th = _bottom(all_th, TITLE_SKETCH)
    named = frozenset(all_th) - frozenset(_hashes(t, []))   # the names' extra copies
    bspans, bnames = _names(b)
    bh = _bottom(_hashes(b, bspans), BODY_SKETCH)
    # bands from the sketches: the whole set for nearly every title; for a body its
    # BODY_SKETCH smallest elements, and the body's first name: bodies are templated
    # (施工围挡占用大半车道…) and told apart by their names
    return Signature(_sketch(th), _sketch(bh), len(t), len(b), names,
                     _bands(th, _TITLE_PERMS, TITLE_ROWS, names[0] if names else 0, named),
                     _bands(bh if len(b) >= SHORT_BODY else [], _BODY_PERMS, BODY_ROWS,
                            bnames[0] if bnames else 0))


def bucket_keys(sig: Signature) -> list[str]:
    """LSH keys: at most ``TITLE_BANDS + BODY_BANDS`` (16) strings of 11 characters.

    Two titles whose elements have Jaccard index ``J`` share a title key with probability
    about ``1 - (1 - J**4) ** 12``: 1 for identical cleaned titles (most reposts), 0.96 at
    J = 0.7, 0.54 at J = 0.5, 0.09 at J = 0.3, 1e-3 at J = 0.1. Two bodies that start with
    the same name share a body key with about ``1 - (1 - J**4) ** 4``: 0.99 at J = 0.9,
    0.67 at J = 0.7, 0.23 at J = 0.5, 4e-4 at J = 0.1; bodies naming different places
    first, almost never. (A band is the bottom rows of one permutation, which for small
    sets gives slightly less than ``J ** rows``.)
    """
    keys = [f"{VERSION}t{i:x}{v:08x}" for i, v in enumerate(sig.title_bands)]
    keys += [f"{VERSION}b{i:x}{v:08x}" for i, v in enumerate(sig.body_bands)]
    return keys


# ---- comparing ----------------------------------------------------------------------
def _jaccard(a: tuple[int, ...], b: tuple[int, ...], k: int) -> float:
    """Jaccard index from two bottom-k sketches (exact while both sets are complete)."""
    sa, sb = set(a), set(b)
    both = sa & sb
    if len(a) < k and len(b) < k:
        return len(both) / len(sa | sb)
    union = sorted(sa | sb)[:k]
    return sum(1 for x in union if x in both) / len(union)


def _names_conflict(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """True if both titles name a place (road, organisation, water) and neither title's
    first name of that class is among the other's: 青山区… against 翠湖区… conflict,
    江城市青山区… against 青山区… do not."""
    for cls in {x & 7 for x in a} & {x & 7 for x in b}:
        in_a = [x for x in a if x & 7 == cls]
        in_b = [x for x in b if x & 7 == cls]
        if in_a[0] not in in_b and in_b[0] not in in_a:
            return True
    return False


def similarity(a: Signature, b: Signature) -> float:
    """How alike two items are, 0..1 (see the module docstring)."""
    penalty = NAME_CONFLICT if _names_conflict(a.names, b.names) else 1.0
    return penalty * _similarity(a, b)


def _similarity(a: Signature, b: Signature) -> float:
    wt = wb = jt = jb = 0.0
    if a.title and b.title:
        wt = TITLE_WEIGHT * min(1.0, min(a.title_len, b.title_len) / SHORT_TITLE)
        jt = _jaccard(a.title, b.title, TITLE_SKETCH)
    if a.body and b.body:
        wb = (1 - TITLE_WEIGHT) * min(1.0, min(a.body_len, b.body_len) / SHORT_BODY)
        jb = _jaccard(a.body, b.body, BODY_SKETCH)
    if not wt + wb:
        return 0.0
    # little text is little evidence: below TITLE_WEIGHT in all, the similarity shrinks
    return (wt * jt + wb * jb) / max(wt + wb, TITLE_WEIGHT)


def same_story(a: Signature, b: Signature, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True if the two items report the same story."""
    return similarity(a, b) >= threshold
