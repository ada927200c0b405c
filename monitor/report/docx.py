"""The report section as a Word file laid out after GB/T 9704 (党政机关公文格式), as far as a
section of a larger report can follow it: A4, margins 37/35/28/26 mm, the title in
方正小标宋简体 二号 centred, the body in 仿宋_GB2312 三号 with a two-character first-line
indent and a fixed 28.95 pt line pitch (22 lines a page), headings in 黑体 / 楷体_GB2312
三号, tables in 仿宋_GB2312 小四 or 五号, charts as pictures with their captions, and the page
number "— 1 —" in 宋体 四号 at the foot.

Every style and every run names its East Asian font (``w:eastAsia``) as well as its Latin one:
python-docx's ``font.name`` sets only ``w:ascii``/``w:hAnsi``, and Word would then show
Chinese text in whatever East Asian font the template's theme says.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from .document import Chart, Document, Heading, Paragraph, Table

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
PAGE_FONT = "宋体"
LATIN_FONT = "Times New Roman"

SIZE_2 = Pt(22)          # 二号
SIZE_3 = Pt(16)          # 三号
SIZE_4 = Pt(14)          # 四号
SIZE_S4 = Pt(12)         # 小四
SIZE_5 = Pt(10.5)        # 五号
LINE = Pt(28.95)         # 22 lines in the 225 mm text area
TEXT_WIDTH_MM = 210 - 28 - 26


def write_docx(doc: Document, charts: dict[str, bytes], path: Path) -> None:
    """Write ``doc`` to ``path``; ``charts`` maps each chart's key to its PNG bytes (a chart
    without one is left out, caption and all)."""
    d = new_docx()
    _page(d)
    _styles(d)
    d.core_properties.title = doc.title
    d.core_properties.language = "zh-CN"
    title = d.add_paragraph(style="Title")
    _run(title, doc.title, TITLE_FONT, SIZE_2)
    d.add_paragraph(style="Normal")                       # one blank line under the title
    for block in doc.blocks:
        if isinstance(block, Heading):
            p = d.add_paragraph(style="Heading 1" if block.level == 1 else "Heading 2")
            _run(p, block.full, H1_FONT if block.level == 1 else H2_FONT, SIZE_3)
        elif isinstance(block, Paragraph):
            p = d.add_paragraph(style="Normal")
            _run(p, block.text, BODY_FONT, SIZE_3)
        elif isinstance(block, Table):
            _table(d, block)
        elif isinstance(block, Chart) and block.key in charts:
            _chart(d, block, charts[block.key])
    d.save(str(path))


# ---- page and styles ----------------------------------------------------------------------

def _page(d: Any) -> None:
    s = d.sections[0]
    s.orientation = WD_ORIENT.PORTRAIT
    s.page_width, s.page_height = Mm(210), Mm(297)
    s.top_margin, s.bottom_margin = Mm(37), Mm(35)
    s.left_margin, s.right_margin = Mm(28), Mm(26)
    s.header_distance, s.footer_distance = Mm(15), Mm(25)
    footer = s.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pf = footer.paragraph_format
    pf.first_line_indent = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _run(footer, "— ", PAGE_FONT, SIZE_4, latin=PAGE_FONT)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"),
                       ("end", None)):
        r = _run(footer, "" if text == " PAGE " else (text or ""), PAGE_FONT, SIZE_4,
                 latin=PAGE_FONT)._r
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            r.append(fld)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            r.append(instr)
    _run(footer, " —", PAGE_FONT, SIZE_4, latin=PAGE_FONT)


def set_fonts(rpr_owner: Any, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Name the fonts of a run or style in ``w:rFonts``: Latin (ascii, hAnsi, cs) and East
    Asian, dropping the theme fonts that would override them."""
    set_rpr_fonts(rpr_owner.get_or_add_rPr(), east_asia, latin)


def set_rpr_fonts(rpr: Any, east_asia: str, latin: str = LATIN_FONT) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        if fonts.get(qn(attr)) is not None:
            del fonts.attrib[qn(attr)]
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")


def _style(d: Any, name: str, font: str, size: Pt, *, align: Any = None,
           indent: bool = True, line: Pt | None = LINE) -> Any:
    st = d.styles[name]
    st.font.size = size
    st.font.bold = False
    st.font.italic = False
    st.font.color.rgb = RGBColor(0, 0, 0)
    set_fonts(st.element, font)
    pf = st.paragraph_format
    pf.first_line_indent = Pt(size.pt * 2) if indent else Pt(0)
    pf.left_indent = Pt(0)
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    if line is None:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = line
    if align is not None:
        pf.alignment = align
    return st


def _styles(d: Any) -> None:
    # the document defaults too, so that nothing falls back to the theme's fonts
    defaults = d.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        rpr = rpr_default.find(qn("w:rPr")) if rpr_default is not None else None
        if rpr is not None:
            set_rpr_fonts(rpr, BODY_FONT)
    normal = _style(d, "Normal", BODY_FONT, SIZE_3, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    _style(d, "Title", TITLE_FONT, SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
           line=Pt(36))
    _plain_title(d.styles["Title"])
    for name, font in (("Heading 1", H1_FONT), ("Heading 2", H2_FONT)):
        st = _style(d, name, font, SIZE_3, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        st.paragraph_format.keep_with_next = True
    _style(d, "Caption", H1_FONT, SIZE_S4, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
           line=None).paragraph_format.space_after = Pt(6)


def _plain_title(style: Any) -> None:
    """The template's Title has a rule under it and spaced, kerned letters; a 公文 title has
    none of these."""
    ppr = style.element.get_or_add_pPr()
    for name in ("w:pBdr", "w:contextualSpacing"):
        found = ppr.find(qn(name))
        if found is not None:
            ppr.remove(found)
    rpr = style.element.get_or_add_rPr()
    for name in ("w:spacing", "w:kern"):
        found = rpr.find(qn(name))
        if found is not None:
            rpr.remove(found)


def _run(p: Any, text: str, font: str, size: Pt, *, bold: bool = False,
         latin: str = LATIN_FONT) -> Any:
    run = p.add_run(text) if text else p.add_run()
    run.font.size = size
    run.font.bold = bold
    set_fonts(run._r, font, latin)
    return run


# ---- tables and charts --------------------------------------------------------------------

def _units(text: str) -> int:
    """Display width: a Chinese character is two units, an ASCII one."""
    return sum(1 if ord(ch) < 0x2E80 else 2 for ch in text)


def _widths(table: Table) -> list[float]:
    """Column widths (mm) across the text width, by how much each column holds: at least
    its header's width (wrapped once for long headers), at most 24 units, plus margins."""
    weights = []
    for i, head in enumerate(table.header):
        longest = max([0, *(_units(r[i]) for r in table.rows if i < len(r))])
        floor = _units(head) if _units(head) <= 8 else max(8, (_units(head) + 1) // 2)
        weights.append(min(max(longest, floor, 6), 24) + 3)     # + the cell's margins
    total = sum(weights)
    return [TEXT_WIDTH_MM * w / total for w in weights]


def _table(d: Any, table: Table) -> None:
    size = SIZE_S4 if len(table.header) <= 5 else SIZE_5
    cap = d.add_paragraph(style="Caption")
    cap.paragraph_format.keep_with_next = True
    _run(cap, table.caption, H1_FONT, SIZE_S4)
    t = d.add_table(rows=1 + len(table.rows), cols=len(table.header))
    t.style = d.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = _widths(table)
    for c, width in enumerate(widths):               # the grid (LibreOffice reads this one)
        t.columns[c].width = Mm(width)
    for r, values in enumerate([table.header, *table.rows]):
        row = t.rows[r]
        for c, value in enumerate(values):
            cell = row.cells[c]
            cell.width = Mm(widths[c])
            p = cell.paragraphs[0]
            pf = p.paragraph_format
            pf.first_line_indent = Pt(0)
            pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
            pf.alignment = (WD_ALIGN_PARAGRAPH.CENTER if r == 0 or len(value) <= 8
                            else WD_ALIGN_PARAGRAPH.LEFT)
            _run(p, value, H1_FONT if r == 0 else BODY_FONT, size)
    header = t.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")       # the header row again on every page
    repeat.set(qn("w:val"), "true")
    header.append(repeat)
    if table.note:
        p = d.add_paragraph(style="Normal")
        p.paragraph_format.first_line_indent = Pt(0)
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        p.paragraph_format.space_before = Pt(3)
        _run(p, table.note, BODY_FONT, SIZE_5)
    d.add_paragraph(style="Normal")


def _chart(d: Any, chart: Chart, png: bytes) -> None:
    p = d.add_paragraph(style="Normal")
    pf = p.paragraph_format
    pf.first_line_indent = Pt(0)
    pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE     # a fixed line pitch would crop it
    pf.keep_with_next = True
    _run(p, "", BODY_FONT, SIZE_3).add_picture(io.BytesIO(png), width=Mm(TEXT_WIDTH_MM))
    cap = d.add_paragraph(style="Caption")
    _run(cap, chart.caption, H1_FONT, SIZE_S4)
