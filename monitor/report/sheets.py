"""Writing a ledger (``report.ledger``) as a spreadsheet that Excel and WPS open in Chinese.

csv: UTF-8 with a BOM (without it Excel reads GBK and shows mojibake), CRLF line ends,
times as ``YYYY-MM-DD HH:MM`` in the display zone. xlsx (openpyxl, streamed in write-only
mode): a bold, frozen header row, column widths, links as hyperlinks, times as real Excel
datetimes (naive, in the display zone) with a date format.

Titles and bodies come from the sources and are hostile: a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would run as a formula when opened (CSV
injection). In csv such a cell gets a leading apostrophe; in xlsx every text cell is
written as a string cell, which no spreadsheet evaluates.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..errors import ExportError
from ..timefmt import for_people, zone
from .ledger import Ledger

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575        # a sheet's rows, less the header
XLSX_MAX_LINKS = 65_530          # hyperlinks Excel keeps on one sheet
_CELL_MAX = 32_767               # characters Excel keeps in one cell
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")   # what XML 1.0 cannot hold


def neutralize(text: str) -> str:
    """``text`` made inert for a csv cell: a leading apostrophe when it would start a
    formula (Excel and WPS show the text and hide the apostrophe)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return for_people(value)
    if isinstance(value, bool | int | float):
        return str(value)
    return neutralize(str(value))


def csv_rows(ledger: Ledger) -> Iterator[list[str]]:
    yield [c.header for c in ledger.columns]
    for row in ledger.rows:
        yield [_csv_cell(v) for v in row]


def write_csv(ledger: Ledger, out: IO[str]) -> int:
    """Write the ledger to ``out`` (a text stream opened with ``encoding="utf-8-sig"``
    and ``newline=""``); returns the number of data rows."""
    writer = csv.writer(out)     # the excel dialect: CRLF, quotes where needed
    writer.writerows(csv_rows(ledger))
    return len(ledger.rows)


def save_csv(ledger: Ledger, path: Path) -> int:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        return write_csv(ledger, f)


def _text(value: Any) -> str:
    text = _ILLEGAL.sub("", str(value))
    return text if len(text) <= _CELL_MAX else text[:_CELL_MAX - 1] + "…"


def _naive_local(dt: datetime) -> datetime:
    return (dt if dt.tzinfo else dt.replace(tzinfo=zone("UTC"))).astimezone(zone()) \
        .replace(tzinfo=None, microsecond=0)


def save_xlsx(ledger: Ledger, path: Path) -> int:
    """Write the ledger as one sheet of an xlsx workbook; returns the number of data rows."""
    if len(ledger.rows) > XLSX_MAX_ROWS:
        raise ExportError(f"共 {len(ledger.rows)} 行，超过 xlsx 一张表的上限 {XLSX_MAX_ROWS} 行："
                          "用 --since/--until 缩小范围，或改用 --format csv")
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(ledger.name)
    ws.freeze_panes = "A2"
    for i, col in enumerate(ledger.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    bold, link_font = Font(bold=True), Font(color="0563C1", underline="single")
    header = []
    for col in ledger.columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = bold
        cell.alignment = Alignment(vertical="center")
        header.append(cell)
    ws.append(header)
    links = 0
    for row in ledger.rows:
        cells = []
        for col, value in zip(ledger.columns, row, strict=True):
            if value is None:
                cells.append(WriteOnlyCell(ws, value=None))
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=_naive_local(value))
                cell.number_format = "yyyy-mm-dd hh:mm"
                cells.append(cell)
            elif isinstance(value, bool | int | float):
                cells.append(WriteOnlyCell(ws, value=value))
            else:
                text = _text(value)
                cell = WriteOnlyCell(ws, value=text)
                cell.data_type = "s"      # never a formula, whatever the text starts with
                if col.kind == "link" and text.startswith(("http://", "https://")) \
                        and links < XLSX_MAX_LINKS:
                    cell.hyperlink = text
                    cell.font = link_font
                    links += 1
                cells.append(cell)
        ws.append(cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return len(ledger.rows)
