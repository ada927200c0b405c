"""``yuqing report annual`` / ``report period`` on the seeded store of tests/seed.py: the
file is written, its headline figures are ``yuqing stats``'s, errors are one line."""

from __future__ import annotations

import re

import docx
from lxml import html as lxml_html

from seed import seed
from support import Cli


def test_report_annual_writes_the_docx_with_the_stats_figures(tmp_path) -> None:
    cfg, _ = seed(tmp_path)
    cli = Cli(cfg)
    doc = cli.json("stats", "--year", "2026")
    out = tmp_path / "2026年.docx"
    r = cli("report", "annual", "--year", "2026", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"已生成2026年报告：{out}"
    opening = [p.text for p in docx.Document(str(out)).paragraphs if p.text][1]
    assert f"发现涉及本单位舆情{doc['incidents_total']}起" in opening
    assert f"较大及以上{doc['incidents_serious']}起" in opening
    assert f"共监测信息{doc['items_total']:,}条" in opening


def test_report_period_md_and_html(tmp_path) -> None:
    cfg, _ = seed(tmp_path)
    cli = Cli(cfg)
    md = tmp_path / "上半年.md"
    r = cli("report", "period", "--since", "2026-01-01", "--until", "2026-07-01",
            "--format", "md", "-o", str(md))
    assert r.exit_code == 0, r.output
    assert "2026年1月1日至2026年6月30日" in r.stdout
    assert md.read_text("utf-8").startswith("# 2026年1月1日至2026年6月30日网络舆情监测与处置工作情况")
    page = tmp_path / "p.html"
    r = cli("report", "period", "--since", "2026-01-01", "--format", "html", "-o", str(page))
    assert r.exit_code == 0, r.output
    assert lxml_html.fromstring(page.read_text("utf-8")).xpath("//h1")


def test_report_errors_are_one_line(tmp_path) -> None:
    cfg, _ = seed(tmp_path)
    r = Cli(cfg)("report", "annual", "--year", "2026", "-o", str(tmp_path / "no" / "a.docx"))
    assert r.exit_code == 1
    assert re.fullmatch(r"错误：目录不存在：.*（请先创建）\n", r.stderr)


def test_without_a_chinese_font_the_report_has_no_charts_and_says_why(tmp_path, monkeypatch
                                                                     ) -> None:
    """A machine without a CJK font (matplotlib sees only its own DejaVu faces) still gets
    its report, with no chart and no prose pointing at one, and a warning naming the
    package; never a chart with boxes for glyphs."""
    from matplotlib import font_manager

    from monitor.report.fonts import cjk_font

    latin = [e for e in font_manager.fontManager.ttflist if "DejaVu" in e.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", latin)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    cjk_font.cache_clear()
    try:
        cfg, _ = seed(tmp_path)
        out = tmp_path / "无图.docx"
        r = Cli(cfg)("report", "annual", "--year", "2026", "-o", str(out))
        assert r.exit_code == 0, r.output
        assert r.stdout.strip() == f"已生成2026年报告：{out}"
        assert r.stderr.strip() == ("警告：报告未附图表：找不到能显示中文的字体，图表无法绘制"
                                    "（请安装中文字体，例如 Debian/Ubuntu：apt-get install "
                                    "fonts-noto-cjk）")
        d = docx.Document(str(out))
        text = "\n".join(p.text for p in d.paragraphs)
        assert "发现涉及本单位舆情" in text and "（见表" in text
        assert not re.search(r"图\d", text)
        assert not d.inline_shapes
    finally:
        cjk_font.cache_clear()
