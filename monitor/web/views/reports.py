"""Reports and ledgers for download (``/reports``, reporters and admins): the report
section of a year or a period (docx, Markdown zipped with its charts, or HTML), computed
by ``monitor.report.stats.compute`` and written by ``write_report`` as ``yuqing report``
does; and the 舆情台账 of incidents or items (csv with BOM, or xlsx) as the listing
commands' ``--format`` exports. The work runs in a thread in a temporary folder that is
gone before the response is sent; every download is in the audit log."""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...config import Config
from ...errors import ExportError, ReportError
from ...models import INCIDENT_STATUS_NAMES, LEVEL_NAMES
from ...store import Store
from ...timefmt import zone
from ..context import blocking, context
from ..render import page
from ..security import require, user_of
from .fields import FieldError, date, text

REPORT_FORMATS = {"docx": "Word（docx，公文格式）", "md": "Markdown（zip，含图表文件夹）",
                  "html": "网页（html，单个文件）"}
LEDGER_FORMATS = {"xlsx": "Excel（xlsx）", "csv": "csv（UTF-8 带 BOM，Excel、WPS 直接打开）"}
LEDGER_KINDS = {"incidents": "舆情事件台账", "items": "信息台账"}
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
    "zip": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Download:
    """A file for the browser: its Chinese name, bytes and what the audit log says."""

    name: str
    data: bytes
    detail: dict[str, Any]


def attachment(download: Download) -> Response:
    """The file as an attachment, its name in RFC 5987 form (and an ASCII fallback)."""
    ext = download.name.rsplit(".", 1)[-1]
    fallback = f"yuqing.{ext}"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(download.name)}"
    return Response(download.data, media_type=CONTENT_TYPES[ext],
                    headers={"content-disposition": disposition})


# ---- the report ----------------------------------------------------------------------------

def resolve_period(form: dict[str, str], now: datetime) -> Any:
    """The year, or ``[since, until)`` (until exclusive, default now), as ``yuqing report
    annual`` / ``period`` read them."""
    from ...report.stats import annual, between

    if form["kind"] == "annual":
        year = form["year"]
        if not year.isdigit() or not 2000 <= int(year) <= 2100:
            raise FieldError(f"年份“{year[:10]}”不对：请写四位数的年份，如 "
                             f"{now.astimezone(zone()).year}")
        return annual(int(year))
    start = date(form["since"], "起始日期")
    end = date(form["until"], "截止日期") or now
    if start is None:
        raise FieldError("请填写起始日期（或改选“年度报告”）")
    if end <= start:
        raise FieldError("截止日期必须晚于起始日期")
    return between(start, end)


def make_report(store: Store, config: Config, form: dict[str, str], now: datetime
                ) -> Download:
    from ...report.stats import compute
    from ...report.write import write_report

    fmt = form["format"]
    if fmt not in REPORT_FORMATS:
        raise FieldError("请选择报告格式：docx、md 或 html")
    period = resolve_period(form, now)
    stats = compute(store, period, config=config, now=now)
    stem = f"{period.label}网络舆情监测与处置工作情况"
    with tempfile.TemporaryDirectory(prefix="yuqing-report-") as tmp:
        written = write_report(stats, fmt, Path(tmp) / f"{stem}.{fmt}")
        if fmt == "md":
            data, name = _zipped(written.path, written.charts_dir), f"{stem}.zip"
        else:
            data, name = written.path.read_bytes(), f"{stem}.{fmt}"
    return Download(name, data, {"what": "report", "period": period.label, "format": fmt,
                                 "warnings": list(written.warnings)})


def _zipped(md: Path, charts: Path | None) -> bytes:
    """The Markdown file and its chart folder beside it, as one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(md, md.name)
        if charts is not None:
            for f in sorted(charts.iterdir()):
                z.write(f, f"{charts.name}/{f.name}")
    return buf.getvalue()


# ---- the ledgers ---------------------------------------------------------------------------

def make_ledger(store: Store, form: dict[str, str], now: datetime) -> Download:
    from ...report.ledger import incident_ledger, item_ledger

    kind, fmt = form["what"], form["format"]
    if kind not in LEDGER_KINDS:
        raise FieldError("请选择台账：舆情事件台账或信息台账")
    if fmt not in LEDGER_FORMATS:
        raise FieldError("请选择台账格式：xlsx 或 csv")
    since, until = date(form["since"], "起始日期"), date(form["until"], "截止日期")
    if since and until and until <= since:
        raise FieldError("截止日期必须晚于起始日期")
    filters = {k: form[k] for k in ("since", "until") if form[k]}
    if kind == "incidents":
        level, status = form["level"] or None, form["status"] or None
        if level is not None and level not in LEVEL_NAMES:
            raise FieldError("请从列表中选择级别")
        if status is not None and status not in INCIDENT_STATUS_NAMES:
            raise FieldError("请从列表中选择状态")
        rows = store.list_incidents(since=since, until=until, level=level, status=status,
                                    category=form["category"] or None)
        ledger = incident_ledger(store, rows, at=now)
        filters.update({k: form[k] for k in ("level", "status", "category") if form[k]})
    else:
        items = store.list_items(feed=form["feed"] or None, since=since, until=until,
                                 limit=None)
        ledger = item_ledger(store, items)
        filters.update({"feed": form["feed"]} if form["feed"] else {})
    data = _xlsx(ledger) if fmt == "xlsx" else _csv(ledger)
    day = now.astimezone(zone()).strftime("%Y%m%d")
    return Download(f"{LEDGER_KINDS[kind]}_{day}.{fmt}", data,
                    {"what": kind, "format": fmt, "rows": len(ledger.rows),
                     "filters": filters})


def _csv(ledger: Any) -> bytes:
    from ...report.sheets import write_csv

    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8-sig", newline="")
    write_csv(ledger, out)
    out.flush()
    out.detach()
    return buf.getvalue()


def _xlsx(ledger: Any) -> bytes:
    from ...report.sheets import save_xlsx

    with tempfile.TemporaryDirectory(prefix="yuqing-ledger-") as tmp:
        path = Path(tmp) / "ledger.xlsx"
        save_xlsx(ledger, path)
        return path.read_bytes()


# ---- the pages -----------------------------------------------------------------------------

REPORT_FIELDS = ("kind", "year", "since", "until", "format")
LEDGER_FIELDS = ("what", "since", "until", "level", "status", "category", "feed", "format")


def _form_page(request: Request, *, status: int = 200, error: str | None = None,
               report: dict[str, str] | None = None,
               ledger: dict[str, str] | None = None) -> Response:
    ctx = context(request)
    year = str(ctx.now().astimezone(zone()).year)
    return page(request, "reports/form.html", status=status, title="报告与台账", error=error,
                report=report or {"kind": "annual", "year": year, "since": "", "until": "",
                                  "format": "docx"},
                ledger=ledger or {"what": "incidents", "since": "", "until": "", "level": "",
                                  "status": "", "category": "", "feed": "", "format": "xlsx"},
                report_formats=REPORT_FORMATS, ledger_formats=LEDGER_FORMATS,
                ledger_kinds=LEDGER_KINDS, feeds=[f.name for f in ctx.config.feeds])


@require("report")
async def reports_page(request: Request) -> Response:
    return _form_page(request)


async def _deliver(request: Request, download: Download) -> Response:
    ctx = context(request)
    await blocking(ctx.store.log_event, "report.generated", download.name,
                   actor=user_of(request).name, data=download.detail, now=ctx.now())
    return attachment(download)


@require("report")
async def report_download(request: Request) -> Response:
    ctx = context(request)
    raw = await request.form()
    form = {k: text(raw, k, 40) for k in REPORT_FIELDS}
    try:
        download = await blocking(make_report, ctx.store, ctx.config, form, ctx.now())
    except (FieldError, ReportError) as e:
        return _form_page(request, status=400, error=f"报告未生成：{e}", report=form)
    return await _deliver(request, download)


@require("report")
async def ledger_download(request: Request) -> Response:
    ctx = context(request)
    raw = await request.form()
    form = {k: text(raw, k, 200) for k in LEDGER_FIELDS}
    try:
        download = await blocking(make_ledger, ctx.store, form, ctx.now())
    except (FieldError, ExportError) as e:
        return _form_page(request, status=400, error=f"台账未导出：{e}", ledger=form)
    return await _deliver(request, download)


routes = [
    Route("/reports", reports_page, methods=["GET"]),
    Route("/reports", report_download, methods=["POST"]),
    Route("/reports/ledger", ledger_download, methods=["POST"]),
]
