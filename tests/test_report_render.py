"""The annual report section: composed from hand-built statistics, written as docx, Markdown
and HTML into tmp_path, and read back (python-docx, lxml) to check layout, fonts and that
every figure is the statistics' own."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt
from lxml import html as lxml_html
from report_fixtures import HOSTILE, empty_stats, full_stats

from monitor.errors import ReportError
from monitor.report.charts import render, render_data
from monitor.report.compose import (
    category_series,
    compose,
    monthly_series,
    opening,
    timing_series,
)
from monitor.report.document import CategorySeries, MonthlySeries, Paragraph, TimingSeries
from monitor.report.fonts import cjk_font
from monitor.report.write import write_report


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The full year written once in every format."""
    out = tmp_path_factory.mktemp("report")
    stats = full_stats()
    return stats, {fmt: write_report(stats, fmt, out / f"2026年度报告.{fmt}")
                   for fmt in ("docx", "md", "html")}


def _figures(text: str) -> dict[str, int]:
    """The headline figures of the opening paragraph, read back from the prose."""
    pats = {"items": r"共监测信息([\d,]+)条", "incidents": r"发现涉及本单位舆情([\d,]+)起",
            "serious": r"较大及以上([\d,]+)起", "resolved": r"已办结([\d,]+)起",
            "in_time": r"其中([\d,]+)起在规定时限内完成处置"}
    out = {}
    for key, pat in pats.items():
        m = re.search(pat, text)
        assert m, (key, text)
        out[key] = int(m.group(1).replace(",", ""))
    return out


def _expected(stats) -> dict[str, int]:
    return {"items": stats.items_total, "incidents": stats.incidents_total,
            "serious": stats.incidents_serious, "resolved": stats.incidents_resolved,
            "in_time": stats.resolved_in_time}


# ---- composition ---------------------------------------------------------------------------

def test_the_opening_states_the_headline_figures_of_the_statistics():
    stats = full_stats()
    text = opening(stats)
    assert text.startswith("2026年，")
    assert "全年共监测信息1,662条" in text
    assert _figures(text) == _expected(stats)


def test_the_charts_plot_the_statistics_own_series():
    stats = full_stats()
    doc = compose(stats)
    by_key = {c.key: c.data for c in doc.charts}
    assert set(by_key) == {"monthly", "categories", "timing"}
    monthly = by_key["monthly"]
    assert isinstance(monthly, MonthlySeries) and monthly == monthly_series(stats)
    assert monthly.months == [m.month for m in stats.incidents_by_month]
    for i, m in enumerate(stats.incidents_by_month):
        assert sum(monthly.counts[lv][i] for lv in monthly.levels) == m.total
        assert all(monthly.counts[lv][i] == m.by_level[lv] for lv in monthly.levels)
    assert sum(sum(v) for v in monthly.counts.values()) == stats.incidents_total
    cats = by_key["categories"]
    assert isinstance(cats, CategorySeries) and cats == category_series(stats)
    assert list(zip(cats.categories, cats.counts, strict=True)) == \
        [(c.key, c.count) for c in stats.incidents_by_category]
    timing = by_key["timing"]
    assert isinstance(timing, TimingSeries) and timing == timing_series(stats)
    assert timing.ack_median == [t.ack_median for t in stats.timing]
    assert timing.resolve_p90 == [t.resolve_p90 for t in stats.timing]


def test_tables_and_prose_agree_with_the_statistics():
    stats = full_stats()
    doc = compose(stats)
    tables = {t.caption.split(" ", 1)[1]: t for t in doc.tables}
    cats = tables["舆情类别分布"]
    assert [(r[0], int(r[1])) for r in cats.rows[:-1]] == \
        [(c.key, c.count) for c in stats.incidents_by_category]
    assert cats.rows[-1][:2] == ["合计", str(stats.incidents_total)]
    assert cats.rows[0][2] == "48.0%"                      # 12 of 25, one decimal
    timing = tables["各级别舆情处置用时"]
    assert [r[0] for r in timing.rows] == ["特别重大（红）", "重大（橙）", "较大（黄）", "一般（蓝）"]
    assert timing.rows[0][3] == "12分钟" and timing.rows[0][6] == "5小时30分钟"
    assert timing.rows[3][7] == "46小时"
    precision = tables["监测规则命中与误报情况"]
    assert [r[1] for r in precision.rows] == ["env-noise", "gov-service"]  # not the idle rule
    typical = tables["典型舆情及处置情况"]
    assert [r[0] for r in typical.rows] == [f"#{t.id}" for t in stats.typical]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "特别重大（红色）1起、重大（橙色）2起、较大（黄色）5起、一般（蓝色）17起" in text
    assert "其中较大及以上8起，占32.0%" in text
    assert "时限内办结率91.7%" in text                    # 22 of 24 respond clocks met


def test_problems_come_from_the_data_only():
    stats = full_stats()
    text = "\n".join(p.text for p in compose(stats).paragraphs)
    assert "#23、#31" in text                               # the missed clocks
    assert "“窗口服务”（gov-service）" in text              # 2 of 6 误报: noisy
    assert "2条规则命中已办结舆情18起次，其中经核实为误报3起次" in text
    assert "涉及规则3条" in text
    assert "施工噪声扰民" not in text.split("存在的问题")[-1]  # 1 of 12: not noisy
    assert "已停更的博客" in text                            # the dead feed
    assert "3条预警通知发送失败" in text
    clean = replace(stats, missed_clocks=[], escalations=0, rules=[], dead_feeds=[],
                    alerts_failed=0)
    text = "\n".join(p.text for p in compose(clean).paragraphs)
    assert "从监测数据看，全年未出现超时处置、规则误报集中、信息源失效和预警发送失败等问题" in text
    assert "超时舆情" not in text and "失效信息源" not in text


def test_an_empty_period_gives_a_short_valid_section():
    stats = empty_stats()
    doc = compose(stats)
    assert doc.title == "2026年1月1日至2026年6月30日网络舆情监测与处置工作情况"
    assert doc.charts == [] and doc.tables == []
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "本期未监测到相关信息，未发现涉及本单位的舆情" in text
    assert "%" not in text                                  # no share of nothing


# ---- charts --------------------------------------------------------------------------------

def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught
            if "missing from" in str(w.message) or "Glyph" in str(w.message)]


def test_charts_render_in_a_cjk_font_without_missing_glyphs():
    font = cjk_font()
    assert Path(font.path).is_file()
    doc = compose(full_stats())
    extra = [CategorySeries(["涉企舆情（营商环境）", "教育·医疗"], [3, 1]),
             CategorySeries([], []), MonthlySeries([], [], {}),
             TimingSeries(["blue"], [None], [None], [None], [None]),
             TimingSeries(["red"], [300.0], [600.0], [None], [None])]     # minutes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pngs = [render(c) for c in doc.charts] + [render_data(d) for d in extra]
    assert not _glyph_warnings(caught), _glyph_warnings(caught)
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 5000 for p in pngs)


def test_no_cjk_font_is_a_domain_error_naming_the_package(monkeypatch):
    from matplotlib import font_manager

    import monitor.report.fonts as fonts

    fonts.cjk_font.cache_clear()
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [e for e in font_manager.fontManager.ttflist if e.name == "DejaVu Sans"])
    try:
        with pytest.raises(ReportError, match="apt-get install fonts-noto-cjk"):
            fonts.cjk_font()
    finally:
        fonts.cjk_font.cache_clear()


# ---- docx ----------------------------------------------------------------------------------

def _east_asia(rpr) -> str | None:
    fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def test_docx_page_is_a4_with_gbt9704_margins_and_page_numbers(written):
    d = docx.Document(str(written[1]["docx"].path))
    s = d.sections[0]
    mm = [round(v.mm, 1) for v in (s.page_width, s.page_height, s.top_margin, s.bottom_margin,
                                   s.left_margin, s.right_margin)]
    assert mm == [210, 297, 37, 35, 28, 26]                 # kept in twips: to 0.1 mm
    footer = s.footer.paragraphs[0]
    assert footer.text.replace("1", "").strip() == "—  —"
    assert footer._p.xpath(".//w:instrText")[0].text.strip() == "PAGE"
    assert {_east_asia(r._r.rPr) for r in footer.runs} == {"宋体"}
    assert {r.font.size for r in footer.runs} == {Pt(14)}


def test_docx_fonts_are_set_for_east_asian_text_everywhere(written):
    d = docx.Document(str(written[1]["docx"].path))
    styles = {name: _east_asia(d.styles[name].element.rPr)
              for name in ("Normal", "Title", "Heading 1", "Heading 2", "Caption")}
    assert styles == {"Normal": "仿宋_GB2312", "Title": "方正小标宋简体", "Heading 1": "黑体",
                      "Heading 2": "楷体_GB2312", "Caption": "黑体"}
    for name in styles:
        fonts = d.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:asciiTheme")) is None and fonts.get(qn("w:eastAsiaTheme")) is None
    normal = d.styles["Normal"]
    assert normal.font.size == Pt(16)
    pf = normal.paragraph_format
    assert pf.line_spacing_rule == WD_LINE_SPACING.EXACTLY and pf.line_spacing == Pt(28.95)
    assert pf.first_line_indent == Pt(32)
    runs = [r for p in d.paragraphs for r in p.runs]
    runs += [r for t in d.tables for row in t.rows for c in row.cells for p in c.paragraphs
             for r in p.runs]
    assert runs and all(_east_asia(r._r.rPr) for r in runs)
    title = d.paragraphs[0]
    assert title.style.name == "Title" and title.runs[0].font.size == Pt(22)
    assert _east_asia(title.runs[0]._r.rPr) == "方正小标宋简体"
    by_style = {p.style.name: p for p in reversed(d.paragraphs)}
    assert _east_asia(by_style["Heading 1"].runs[0]._r.rPr) == "黑体"
    assert by_style["Heading 1"].text == "一、监测工作开展情况"
    assert _east_asia(by_style["Heading 2"].runs[0]._r.rPr) == "楷体_GB2312"
    cell_sizes = {r.font.size for t in d.tables for row in t.rows for c in row.cells
                  for p in c.paragraphs for r in p.runs}
    assert cell_sizes <= {Pt(12), Pt(10.5)}                 # 小四 / 五号: 四号 or smaller


def test_docx_figures_tables_and_pictures_match_the_statistics(written):
    stats, files = written
    d = docx.Document(str(files["docx"].path))
    body = [p.text for p in d.paragraphs if p.text]
    assert body[0] == "2026年网络舆情监测与处置工作情况"
    assert _figures(body[1]) == _expected(stats)
    typical = next(t for t in d.tables if t.rows[0].cells[0].text == "编号")
    rows = [[c.text for c in row.cells] for row in typical.rows[1:]]
    assert [(r[0], r[2], r[6]) for r in rows] == \
        [(f"#{t.id}", t.title, t.handling or "—") for t in stats.typical]
    assert rows[0][7] == "已回应" and rows[2][7] == "已认领"
    assert len(d.inline_shapes) == 3
    captions = [p.text for p in d.paragraphs if p.style.name == "Caption"]
    assert [c for c in captions if c.startswith("图")] == \
        ["图1 各月舆情数量（按级别）", "图2 各类别舆情数量", "图3 各级别舆情认领与办结用时"]
    for shape in d.inline_shapes:
        assert round(shape.width.mm) == 156


# ---- html and markdown ---------------------------------------------------------------------

def test_html_is_one_escaped_self_contained_page(written):
    stats, files = written
    raw = files["html"].path.read_text("utf-8")
    page = lxml_html.fromstring(raw)
    assert page.xpath("//script") == []
    assert all(not img.get("onerror") for img in page.xpath("//img"))
    srcs = [img.get("src") for img in page.xpath("//img")]
    assert len(srcs) == 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    cells = [td.text_content() for td in page.xpath("//td")]
    assert HOSTILE in cells                                 # shown as text, not markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert page.xpath("//h1")[0].text_content() == "2026年网络舆情监测与处置工作情况"
    first = page.xpath("//body/p")[0].text_content()
    assert _figures(first) == _expected(stats)
    assert [h.text_content() for h in page.xpath("//h2")][-1] == "六、存在的问题和下一步工作"


def test_markdown_links_its_charts_in_a_folder_beside_it(written):
    stats, files = written
    md = files["md"]
    text = md.path.read_text("utf-8")
    assert md.charts_dir == md.path.with_name("2026年度报告_图表")
    links = re.findall(r"!\[[^\]]*\]\(<([^>]+)>\)", text)
    assert len(links) == 3
    assert all((md.path.parent / link).is_file() for link in links)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert _figures(text.split("\n\n")[1]) == _expected(stats)
    assert "| 编号 | 首次发现 |" in text


def test_an_empty_period_writes_valid_files_in_every_format(tmp_path):
    stats = empty_stats()
    for fmt in ("docx", "md", "html"):
        w = write_report(stats, fmt, tmp_path / f"empty.{fmt}")
        assert w.path.is_file() and w.charts_dir is None
    d = docx.Document(str(tmp_path / "empty.docx"))
    assert "未发现涉及本单位的舆情" in d.paragraphs[2].text
    assert len(d.inline_shapes) == 0
    page = lxml_html.fromstring((tmp_path / "empty.html").read_text("utf-8"))
    assert page.xpath("//img") == [] and "未监测到相关信息" in page.text_content()
    assert not (tmp_path / "empty_图表").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_format_or_folder_is_a_domain_error(tmp_path):
    stats = empty_stats()
    with pytest.raises(ReportError, match="不支持的报告格式"):
        write_report(stats, "pdf", tmp_path / "a.pdf")
    with pytest.raises(ReportError, match="目录不存在"):
        write_report(stats, "md", tmp_path / "no" / "a.md")
    with pytest.raises(ReportError, match="是目录"):
        write_report(stats, "html", tmp_path)


def test_prose_blocks_have_no_unfilled_values():
    for stats in (full_stats(), empty_stats()):
        for p in compose(stats).blocks:
            if isinstance(p, Paragraph):
                assert "None" not in p.text and "{" not in p.text, p.text


def test_the_first_rule_set_is_its_introduction_not_an_adjustment():
    stats = full_stats()
    first = replace(stats.rule_changes[0], initial=True,
                    changed=["00-本单位.yaml", "10-安全生产.yaml"])
    only_first = compose(replace(stats, rule_changes=[first]))
    text = "\n".join(p.text for p in only_first.paragraphs)
    assert "2026年2月10日建立监测规则库，首批启用监测规则8条（规则文件2个），此后未作调整。" in text
    assert "调整监测规则" not in text
    table = next(t for t in only_first.tables if t.caption.endswith("监测规则版本记录"))
    assert table.rows[0][4] == "首次启用（规则文件2个）"
    both = compose(replace(stats, rule_changes=[first, stats.rule_changes[1]]))
    text = "\n".join(p.text for p in both.paragraphs)
    assert "首批启用监测规则8条（规则文件2个）；全年共调整监测规则1次，涉及规则1条；目前启用监测规则9条" in text
