"""The officer's and viewer's pages: a dashboard per stream and year (the figures of
`grants balance --summary` and the findings of `grants reconcile`) and the report workbooks
(`grants report all`). The services refuse a recipient (answered 404)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from grants import formatting
from grants.errors import NotFound
from grants.excel import capital as capital_workbook
from grants.excel import pcc_template as pcc_workbook
from grants.excel import resourcing as resourcing_workbook
from grants.excel import templates
from grants.excel.book import file_name
from grants.excel.capital_layout import with_headings
from grants.periods import Period
from grants.services.balances import balance_rows
from grants.services.capital import (
    capital_programme,
    capital_stream,
    programme_years,
    stream_headings,
    versions_to_compare,
)
from grants.services.published import published_figures
from grants.services.reconcile import SEVERITIES, reconcile
from grants.services.reports import pcc_template
from grants.services.reports import resourcing as resourcing_table
from grants.services.settings import ledger_name
from grants.services.workbooks import Workbook, workbooks
from grants.web.pages import ledger, needs, render, signed_in
from grants.web.portal import XLSX, _year

COLUMNS = ("awarded", "stated", "allocated", "unallocated", "paid", "reported")


def report_name(book: Workbook) -> str:
    """A workbook's name in its URL, as `grants report all` names its file (no .xlsx)."""
    if book.kind == "resourcing":
        parts = [book.stream, "resourcing"]
    elif book.kind == "pcc-template":
        assert book.year is not None and book.stage is not None
        parts = [book.stream, book.year.render(), book.stage]
    else:
        parts = [book.stream, "programme"]
    return file_name(*parts).removesuffix(".xlsx")


def dashboard(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "report", "see the dashboard")
    with ledger(request).reading(actor) as session:
        rows = [r for r in balance_rows(session) if r.line is None]
        books = [(report_name(b), b) for b in workbooks(session)]
    return render(request, "dashboard.html", {"rows": rows, "books": books,
                  "columns": COLUMNS, "money": formatting.gbp})  # fmt: skip


def dashboard_year(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "report", "see the dashboard")
    stream = request.path_params["stream"]
    fy = _year(request.path_params["year"])
    today = date.today()
    with ledger(request).reading(actor) as session:
        rows = balance_rows(session, None, Period(fy, fy))
        rows = [r for r in rows if r.stream == stream]
        if not rows:
            raise NotFound(f"no stream {stream} in {fy}")
        findings = reconcile(session, stream, fy, today)
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    return render(request, "dashboard_year.html", {
        "stream": stream, "year": fy, "rows": rows, "findings": findings, "counts": counts,
        "columns": COLUMNS, "money": formatting.gbp, "today": formatting.day(today),
    })  # fmt: skip


def report_download(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "report", "download reports")
    name = request.path_params["name"]
    with ledger(request).reading(actor) as session, tempfile.TemporaryDirectory() as folder:
        found = [b for b in workbooks(session) if report_name(b) == name]
        if not found:
            raise NotFound(f"no report {name!r}")
        path = Path(folder) / f"{name}.xlsx"
        title = ledger_name(session)
        _writer(session, found[0])(path, title)
        content = path.read_bytes()
    saved = download_name(title, name, date.today())
    return Response(
        content,
        media_type=XLSX,
        headers={"content-disposition": f'attachment; filename="{saved}"'},
    )


def download_name(title: str, name: str, day: date) -> str:
    """The file name a downloaded report is saved under: the ledger's title, the report
    and the day it was made, so that a finance officer finds it in Downloads among others
    (`oxfordshire-grants-pcc-csf-resourcing-2026-12-03.xlsx`). Only letters, digits, '-'
    and '_' (grants.excel.book.file_name), so the header needs no quoting."""
    stem = re.sub("-+", "-", file_name(title).removesuffix(".xlsx"))[:40].strip("-")
    return file_name(*([stem] if stem else []), name, day.isoformat())


def _writer(session: Session, book: Workbook) -> Callable[[Path, str], None]:
    """How `grants report all` writes the workbook."""
    if book.kind == "resourcing":
        assert book.span is not None
        span = book.span

        def resourcing(path: Path, name: str) -> None:
            resourcing_workbook.write(resourcing_table(session, book.stream, span), path, name,
                                      published_figures(session, book.stream))  # fmt: skip

        return resourcing
    if book.kind == "pcc-template":
        assert book.year is not None and book.stage is not None
        year, stage = book.year, book.stage

        def template(path: Path, name: str) -> None:
            pcc_workbook.write(pcc_template(session, book.stream, year, stage, None), path, name,
                               published_figures(session, book.stream))  # fmt: skip

        return template

    def programme(path: Path, name: str) -> None:
        code = capital_stream(session, book.stream)
        layout = with_headings(templates.load("capital-programme"),
                               stream_headings(session, code))  # fmt: skip
        base, other = versions_to_compare(session, code, None)
        table = capital_programme(
            session, code, programme_years(session, code), base, other,
            summary_table=layout["summary"]["books_table"],
            resources_table=layout["resources"]["books_table"],
            funding_table=layout["funding"]["books_table"],
            allocations_table=layout["allocations"]["books_table"],
        )  # fmt: skip
        capital_workbook.write(session, table, path, name)

    return programme


__all__ = ["dashboard", "dashboard_year", "download_name", "report_download", "report_name"]
