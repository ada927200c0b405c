"""The font the charts draw Chinese with: one found on this system by matplotlib's font
manager (Noto Sans/Serif CJK from Debian's ``fonts-noto-cjk``, Source Han, WenQuanYi, the
Windows and macOS fonts), checked to hold the characters the charts use. Nothing is ever
downloaded; with no such font a ``ReportError`` says which package to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import ReportError

# Sans faces first (charts read best in a 黑体-like face), most complete first. A .ttc
# collection shows matplotlib its first face, so "Noto Sans CJK JP" stands for the whole
# Noto CJK collection (its Simplified Chinese glyphs are the same).
PREFERRED = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "Noto Sans CJK JP", "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
    "Noto Serif CJK SC", "Noto Serif SC", "Source Han Serif SC", "Source Han Serif CN",
    "Noto Serif CJK JP", "AR PL UMing CN", "AR PL UKai CN", "SimSun", "Droid Sans Fallback",
)
# every character a chart may draw beyond ASCII: level names, axis titles, units, empty state
PROBE = "记录一般较大重大特别红橙黄蓝年月舆情起认领办结用时中位数分位小时分钟暂无数据（）"

INSTALL_HINT = "请安装中文字体，例如 Debian/Ubuntu：apt-get install fonts-noto-cjk"


@dataclass(frozen=True)
class CjkFont:
    name: str                # the family name matplotlib knows it by
    path: str                # the font file


@lru_cache(maxsize=1)
def cjk_font() -> CjkFont:
    """The first preferred font that is installed and holds every character of ``PROBE``;
    else any installed font that does. Raises ``ReportError`` when there is none."""
    found = _search()
    if found is None and _add_new_system_fonts():
        found = _search()
    if found is None:
        raise ReportError(f"找不到能显示中文的字体，图表无法绘制（{INSTALL_HINT}）")
    return found


def _add_new_system_fonts() -> bool:
    """Fonts installed after matplotlib cached its font list (e.g. ``apt-get install
    fonts-noto-cjk`` on a machine that ran matplotlib before) are unknown to it: add the
    CJK-looking ones. True when any was added."""
    from matplotlib import font_manager

    known = {e.fname for e in font_manager.fontManager.ttflist}
    added = False
    for path in font_manager.findSystemFonts():
        name = path.rsplit("/", 1)[-1].lower()
        if path not in known and any(k in name for k in ("cjk", "han", "wqy", "sc-", "sc.")):
            try:
                font_manager.fontManager.addfont(path)
                added = True
            except (OSError, RuntimeError, ValueError):
                continue
    return added


def _search() -> CjkFont | None:
    from matplotlib import font_manager

    # regular upright faces first: the weight matplotlib picks for the family's plain text
    entries = sorted(font_manager.fontManager.ttflist,
                     key=lambda e: (e.style != "normal", abs(_weight(e.weight) - 400)))
    by_name: dict[str, list[tuple[str, int]]] = {}
    for e in entries:
        by_name.setdefault(e.name, []).append((e.fname, getattr(e, "index", 0)))
    for name in PREFERRED:
        for path, index in by_name.get(name, []):
            if _covers(path, index):
                return CjkFont(name, path)
    for e in entries:
        if ("CJK" in e.name or "Han" in e.name or "WenQuanYi" in e.name) \
                and _covers(e.fname, getattr(e, "index", 0)):
            return CjkFont(e.name, e.fname)
    return None


def _weight(weight: int | str) -> int:
    names = {"light": 300, "normal": 400, "regular": 400, "medium": 500, "bold": 700}
    return weight if isinstance(weight, int) else names.get(str(weight).lower(), 400)


def _covers(path: str, index: int = 0) -> bool:
    """The font (face ``index`` of a collection) holds a glyph for every character of
    ``PROBE``."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path, face_index=index) if index else FT2Font(path)
        cmap = font.get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(ch) in cmap for ch in PROBE)
