"""The officer's and viewer's pages: a dashboard per stream and year (the figures of
`grants balance --summary` and the findings of `grants reconcile`) and the report workbooks
(`grants report all`). The services refuse a recipient (answered 404)."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from grants import formatting
from grants.dates import date_from_parts, parse_date
from grants.errors import GrantsError, NotFound
from grants.excel import capital as capital_workbook
from grants.excel import esif_claims as esif_workbook
from grants.excel import growth as growth_workbook
from grants.excel import pcc_template as pcc_workbook
from grants.excel import plan_form, return_form, templates
from grants.excel import resourcing as resourcing_workbook
from grants.excel.book import file_name
from grants.excel.capital_layout import with_headings
from grants.periods import FinancialYear, Period, parse_period
from grants.services.access import Actor
from grants.services.balances import BalanceRow, balance_rows, entries_behind
from grants.services.capital import (
    capital_programme,
    capital_stream,
    programme_years,
    stream_headings,
    versions_to_compare,
)
from grants.services.growth import monitoring
from grants.services.plan_forms import issue_plan_forms, no_open_plan, open_plan_forms
from grants.services.published import published_figures
from grants.services.reconcile import SEVERITIES, reconcile
from grants.services.reports import pcc_template
from grants.services.reports import resourcing as resourcing_table
from grants.services.returns import PLAN_STAGE, issue_forms
from grants.services.returns import stages as return_stages
from grants.services.settings import ledger_name
from grants.services.workbooks import Workbook, workbooks
from grants.web import auth
from grants.web.pages import ledger, needs, render, signed_in, small_form
from grants.web.portal import XLSX, _year

COLUMNS = ("awarded", "stated", "allocated", "unallocated", "paid", "reported")


def report_name(book: Workbook) -> str:
    """A workbook's name in its URL, as `grants report all` names its file (no .xlsx)."""
    if book.kind == "resourcing":
        parts = [book.stream, "resourcing"]
    elif book.kind == "pcc-template":
        assert book.year is not None and book.stage is not None
        parts = [book.stream, book.year.render(), book.stage]
    elif book.kind == "growth-monitoring":
        parts = ["growth", "monitoring"]
    elif book.kind == "esif-claims":
        parts = ["esif", "claims"]
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
                  "columns": COLUMNS, "money": formatting.gbp, "years": years})  # fmt: skip


def years(period: Period) -> list[FinancialYear]:
    """Each year of ``period``: a stream awarded for several has a page for each."""
    return [FinancialYear(y) for y in range(period.first.start, period.last.start + 1)]


def _as_of(request: Request) -> tuple[date | None, str | None, dict[str, str]]:
    """The day the dashboard is wanted as of (``?as-of=YYYY-MM-DD``, or the form's three
    boxes): (the day or None for today, what is wrong with it, the boxes as typed)."""
    q = request.query_params
    boxes = {p: str(q.get(f"as-of-{p}") or "")[:10] for p in ("day", "month", "year")}
    typed = str(q.get("as-of") or "")[:40]
    try:
        if typed.strip():
            on = parse_date(typed)
        elif any(v.strip() for v in boxes.values()):
            on = date_from_parts(boxes["day"], boxes["month"], boxes["year"])
        else:
            return None, None, boxes
    except GrantsError as exc:
        text = str(exc)
        return None, text[:1].upper() + text[1:], boxes
    boxes = {"day": str(on.day), "month": str(on.month), "year": str(on.year)}
    return on, None, boxes


def dashboard_year(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "report", "see the dashboard")
    stream = request.path_params["stream"]
    fy = _year(request.path_params["year"])
    on, error, boxes = _as_of(request)
    today = on or date.today()
    with ledger(request).reading(actor) as session:
        rows = balance_rows(session, None, Period(fy, fy), on=on)
        rows = [r for r in rows if r.stream == stream]
        if not rows and (on is None or not [
            r for r in balance_rows(session, None, Period(fy, fy)) if r.stream == stream
        ]):  # fmt: skip
            raise NotFound(f"no stream {stream} in {fy}")
        findings = reconcile(session, stream, fy, today)
        stages = list(return_stages(session, stream, fy)) if actor.may("issue") else []
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    return render(request, "dashboard_year.html", {
        "stream": stream, "year": fy, "rows": rows, "findings": findings, "counts": counts,
        "columns": COLUMNS, "money": formatting.gbp, "today": formatting.day(today),
        "on": on, "as_of_error": error, "boxes": boxes, "stages": stages,
        "links": LINKED, "error_title": error, "may_record": actor.may("record"),
        "entries_url": entries_url, "PLAN_STAGE": PLAN_STAGE,
    }, 400 if error else 200)  # fmt: skip


# The figures of the year page that open the entries behind them: a line's, and the stream's.
LINKED = {
    "line": ("allocated", "unallocated", "paid", "reported"),
    "stream": ("awarded", "stated", "allocated", "unallocated", "paid", "reported"),
}


def entries_url(year: FinancialYear, row: BalanceRow, figure: str, on: date | None) -> str:
    """Where the entries behind ``row``'s ``figure`` are listed, as of ``on``."""
    query = {"figure": figure}
    if row.line:
        query["line"] = row.line
    if row.period != Period(year, year):
        query["period"] = row.period.render()
    if on is not None:
        query["as-of"] = on.isoformat()
    return f"/dashboard/{quote(row.stream)}/{year.render()}/entries?{urlencode(query)}"


def figure_entries(request: Request) -> Response:
    """The journal entries behind one figure of the year page (``?figure=paid&line=X``,
    ``period`` when the figure's period is not the year alone, ``as-of`` kept)."""
    actor = signed_in(request)
    needs(actor, "report", "see the dashboard")
    stream = request.path_params["stream"]
    fy = _year(request.path_params["year"])
    q = request.query_params
    figure = str(q.get("figure") or "")
    line = str(q.get("line") or "") or None
    if figure not in LINKED["line" if line else "stream"]:
        raise NotFound(f"no figure {figure!r}")
    period = Period(fy, fy)
    if q.get("period"):
        try:
            period = parse_period(str(q.get("period"))[:40])
        except GrantsError:
            raise NotFound("no such period") from None
        if not period.overlaps(Period(fy, fy)):
            raise NotFound("the period is not of this year")
    on, error, _ = _as_of(request)
    if error:
        raise GrantsError(f"The date to show the figures as of is not right: {error}")
    with ledger(request).reading(actor) as session:
        found = entries_behind(session, stream, period, line, figure, on)
    return render(request, "figure_entries.html", {
        "found": found, "year": fy, "on": on, "money": formatting.gbp, "day": formatting.day,
    })  # fmt: skip


async def issue_forms_zip(request: Request) -> Response:
    """Every reporting line's return form for a stage (or every open plan's form), issued
    as `grants returns issue` and `grants plan issue` issue them, in one zip."""
    actor = await run_in_threadpool(signed_in, request)
    needs(actor, "issue", "issue forms")
    form = await small_form(request, 5)
    auth.check_csrf(request, form.get("csrf_token"))
    stage = str(form.get("stage") or "")[:40]
    return await run_in_threadpool(_issued_zip, request, actor, stage)


def _issued_zip(request: Request, actor: Actor, stage: str) -> Response:
    stream = request.path_params["stream"]
    fy = _year(request.path_params["year"])
    buffer = io.BytesIO()
    with ledger(request).writing(actor) as session, tempfile.TemporaryDirectory() as folder:
        name = ledger_name(session)
        if stage == PLAN_STAGE:
            wanted = issue_plan_forms(session, stream, fy, None, plan_form.display_cells)
            plans, _ = open_plan_forms(wanted, plan_form.MAX_LINES)
            if not plans:
                raise no_open_plan(stream, fy)
            paths = []
            for p in plans:
                paths.append(Path(folder) / plan_form.filename(p))
                plan_form.write(p, paths[-1], name)
        else:
            if stage not in return_stages(session, stream, fy):
                raise GrantsError(f"{stream} has no stage {stage!r} in {fy}: choose a stage of "
                                  "its reporting calendar")  # fmt: skip
            issued = issue_forms(session, stream, fy, stage, None, return_form.display_cells)
            if not issued:
                raise GrantsError(f"no line of {stream} reports in {fy}: no form to issue")
            paths = []
            for r in issued:
                paths.append(Path(folder) / return_form.filename(r))
                return_form.write(r, paths[-1], name)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
    zip_name = file_name(stream, fy.render(), stage, "forms").removesuffix(".xlsx") + ".zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{zip_name}"'},
    )


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
    if book.kind == "growth-monitoring":

        def growth(path: Path, name: str) -> None:
            rows, illustrative = monitoring(session)
            growth_workbook.write(rows, path, name, illustrative)

        return growth
    if book.kind == "esif-claims":

        def esif(path: Path, name: str) -> None:
            esif_workbook.write(monitoring(session)[0], path, name)

        return esif

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


__all__ = [
    "dashboard",
    "dashboard_year",
    "download_name",
    "figure_entries",
    "issue_forms_zip",
    "report_download",
    "report_name",
]
