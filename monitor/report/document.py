"""The report section as a small document model: what ``compose`` builds from the statistics
and every renderer (docx, Markdown, HTML) lays out. No I/O, no formatting decisions beyond
the text itself: the same blocks give the same words in every format.

A chart block carries the very series it plots (taken from the statistics), so a test can
check that the prose, the tables and the charts agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    level: int               # 1: "一、…" (黑体), 2: "（一）…" (楷体)
    number: str              # "一、" or "（一）"
    text: str

    @property
    def full(self) -> str:
        return f"{self.number}{self.text}"


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    caption: str             # "表1 …"
    header: list[str]
    rows: list[list[str]]
    note: str | None = None  # a line under the table ("注：…")


@dataclass(frozen=True)
class MonthlySeries:
    """Incidents first seen each month, one row of counts per level (lowest first)."""

    months: list[str]                    # "2026-03"
    levels: list[str]                    # level codes, lowest first
    counts: dict[str, list[int]]         # level code -> one count per month


@dataclass(frozen=True)
class CategorySeries:
    categories: list[str]                # most first
    counts: list[int]


@dataclass(frozen=True)
class TimingSeries:
    """Median and 90th percentile, in seconds, of the time to acknowledge and to resolve,
    per level (None: no incident of that level got there)."""

    levels: list[str]
    ack_median: list[float | None]
    ack_p90: list[float | None]
    resolve_median: list[float | None]
    resolve_p90: list[float | None]


ChartData = MonthlySeries | CategorySeries | TimingSeries


@dataclass(frozen=True)
class Chart:
    key: str                 # "monthly", "categories", "timing": also the image's file stem
    caption: str             # "图1 …"
    data: ChartData


Block = Heading | Paragraph | Table | Chart


@dataclass(frozen=True)
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [b for b in self.blocks if isinstance(b, Paragraph)]
