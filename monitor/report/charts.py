"""The report's charts as PNG bytes: incidents per month stacked by level, incidents per
category, time to acknowledge and to resolve per level. Drawn with matplotlib's Agg canvas on
a ``Figure`` of our own (no pyplot, no global backend switch), in the CJK font that
``fonts`` finds, from the series the document carries, so the picture shows the very
figures of the prose and tables. The caption is the document's, under the picture.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from .document import CategorySeries, Chart, ChartData, MonthlySeries, TimingSeries
from .fonts import cjk_font
from .wording import level_name, month_cn

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# the alert levels' colours (national warning colours)
LEVEL_COLOURS = {"blue": "#2f6fdb", "yellow": "#f2c200", "orange": "#f08300", "red": "#d7191c",
                 "info": "#9e9e9e"}
WIDTH_IN = 6.2           # the text width of an A4 page with GB/T 9704 margins, 156 mm
DPI = 200


def render(chart: Chart) -> bytes:
    """One chart of the document as PNG bytes."""
    return render_data(chart.data)


def render_data(data: ChartData) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    rc: dict[Any, Any] = {"font.family": [font.name, "DejaVu Sans"], "axes.unicode_minus": False,
          "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}
    with rc_context(rc):
        if isinstance(data, MonthlySeries):
            fig = Figure(figsize=(WIDTH_IN, 3.0))
            _monthly(fig, data)
        elif isinstance(data, CategorySeries):
            fig = Figure(figsize=(WIDTH_IN, max(2.2, 0.9 + 0.32 * len(data.categories))))
            _categories(fig, data)
        else:
            fig = Figure(figsize=(WIDTH_IN, 3.0))
            _timing(fig, data)
        FigureCanvasAgg(fig)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(ax: Axes) -> None:
    ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", transform=ax.transAxes,
            fontsize=12, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def _monthly(fig: Figure, data: MonthlySeries) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    if not data.months:
        _empty(ax)
        return
    years = {m.split("-")[0] for m in data.months}
    labels = [month_cn(m, year=len(years) > 1) for m in data.months]
    x = list(range(len(data.months)))
    bottom = [0] * len(x)
    for level in data.levels:
        counts = data.counts.get(level, [0] * len(x))
        if not any(counts):
            continue
        ax.bar(x, counts, bottom=bottom, color=LEVEL_COLOURS.get(level, "#888888"),
               label=level_name(level), width=0.65, edgecolor="white", linewidth=0.5)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_xticks(x, labels, rotation=45 if len(years) > 1 else 0)
    ax.set_ylabel("舆情（起）")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*bottom, 1]) * 1.15)
    for xi, total in zip(x, bottom, strict=True):
        if total:
            ax.text(xi, total, str(total), ha="center", va="bottom", fontsize=8)
    if any(bottom):
        handles, names = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], names[::-1], frameon=False, fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.0, 1.0))
    else:
        ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", transform=ax.transAxes,
                fontsize=12, color="#666666")


def _categories(fig: Figure, data: CategorySeries) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    if not data.categories:
        _empty(ax)
        return
    y = list(range(len(data.categories)))
    ax.barh(y, data.counts, color="#2f6fdb", height=0.6)
    ax.set_yticks(y, data.categories)
    ax.invert_yaxis()                      # most first, at the top
    ax.set_xlabel("舆情（起）")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(data.counts)
    ax.set_xlim(0, max(top, 1) * 1.15)
    for yi, n in zip(y, data.counts, strict=True):
        ax.text(n + top * 0.01, yi, str(n), va="center", fontsize=8)


def _timing(fig: Figure, data: TimingSeries) -> None:
    ax = fig.add_subplot()
    values = [*data.ack_median, *data.ack_p90, *data.resolve_median, *data.resolve_p90]
    known = [v for v in values if v is not None]
    if not data.levels or not known:
        _empty(ax)
        return
    hours = max(known) >= 2 * 3600
    unit, div = ("小时", 3600.0) if hours else ("分钟", 60.0)
    series = [("认领用时中位数", data.ack_median, "#9ecae1"),
              ("认领用时90%分位", data.ack_p90, "#3182bd"),
              ("办结用时中位数", data.resolve_median, "#fdae6b"),
              ("办结用时90%分位", data.resolve_p90, "#e6550d")]
    width = 0.2
    x = list(range(len(data.levels)))
    for i, (name, vals, colour) in enumerate(series):
        xs = [xi + (i - 1.5) * width for xi in x]
        heights = [float("nan") if v is None else v / div for v in vals]
        ax.bar(xs, heights, width=width, color=colour, label=name)
    ax.set_xticks(x, [level_name(lv) for lv in data.levels])
    ax.set_ylabel(f"用时（{unit}）")
    ax.set_ylim(0, max(known) / div * 1.15)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
