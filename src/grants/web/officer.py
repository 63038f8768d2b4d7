"""The officer's and viewer's pages: a dashboard per stream and year (the figures of
`grants balance --summary` and the findings of `grants reconcile`) and the report workbooks
(`grants report all`). The services refuse a recipient (answered 404)."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from grants import formatting
from grants.dates import date_from_parts, parse_date
from grants.errors import GrantsError, NotFound
from grants.excel import plan_form, return_form
from grants.excel.book import file_name
from grants.excel.reports import as_of_parts, report_parts, write_report
from grants.periods import FinancialYear, Period, parse_period
from grants.services import checkpoints
from grants.services.access import Actor
from grants.services.balances import BalanceRow, balance_rows, entries_behind
from grants.services.plan_forms import issue_plan_forms, no_open_plan, open_plan_forms
from grants.services.recent import Recent
from grants.services.reconcile import SEVERITIES, Finding, reconcile
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
    return file_name(*report_parts(book)).removesuffix(".xlsx")


def report_url(name: str, on: date | None) -> str:
    """Where a workbook is downloaded, as of ``on`` when the page is shown as of a day."""
    return f"/reports/{quote(name)}.xlsx" + (f"?as-of={on.isoformat()}" if on else "")


def _books(session: Session, on: date | None, stream: str | None = None,
           year: FinancialYear | None = None) -> list[tuple[str, Workbook]]:  # fmt: skip
    """The workbooks the ledger supported at the end of ``on`` (of one stream, and of one
    year's templates), each with its name."""
    return [
        (report_name(b), b)
        for b in workbooks(session, on)
        if (stream is None or b.stream == stream) and (year is None or b.year in (None, year))
    ]


def dashboard(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "report", "see the dashboard")
    on, error, _ = _as_of(request)
    if error:
        raise GrantsError(f"The date to show the figures as of is not right: {error}")
    with ledger(request).reading(actor) as session:
        rows = [r for r in balance_rows(session, on=on) if r.line is None]
        books = _books(session, on)
    return render(request, "dashboard.html", {"rows": rows, "books": books, "on": on,
                  "columns": COLUMNS, "money": formatting.gbp, "years": years,
                  "report_url": report_url, "day": formatting.day})  # fmt: skip


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
    recent: Recent = request.app.state.recent
    may_issue = actor.may("issue")
    env: Environment = request.app.state.templates

    def view(session: Session) -> _YearView | None:
        rows = [r for r in balance_rows(session, None, Period(fy, fy), on=on) if r.stream == stream]
        if not rows and (on is None or not [
            r for r in balance_rows(session, None, Period(fy, fy)) if r.stream == stream
        ]):  # fmt: skip
            return None
        findings = reconcile(session, stream, fy, today, verdicts=recent)
        stages = list(return_stages(session, stream, fy)) if may_issue else []
        books = _books(session, on, stream, fy)
        # The tables are the page's bulk: made once for this state of the record.
        tables = {"stream": stream, "year": fy, "rows": rows, "findings": findings,
                  "columns": COLUMNS, "money": formatting.gbp, "on": on, "links": LINKED,
                  "entries_url": entries_url}  # fmt: skip
        return _YearView(
            findings, stages, books,
            Markup(env.get_template("_dashboard_balances.html").render(tables)),
            Markup(env.get_template("_dashboard_findings.html").render(tables)),
        )  # fmt: skip

    with ledger(request).reading(actor) as session:
        # The same view for everyone who sees every line, while the record stands as it was.
        key = ("year", stream, fy.start, on, today, may_issue, actor.sees_everything
               or actor.organisations)  # fmt: skip
        shown = recent.result(session.connection(), key, lambda: view(session))
    if shown is None:
        raise NotFound(f"no stream {stream} in {fy}")
    counts = {s: sum(1 for f in shown.findings if f.severity == s) for s in SEVERITIES}
    return render(request, "dashboard_year.html", {
        "stream": stream, "year": fy, "counts": counts, "today": formatting.day(today),
        "on": on, "as_of_error": error, "boxes": boxes, "stages": shown.stages,
        "error_title": error, "may_record": actor.may("record"), "PLAN_STAGE": PLAN_STAGE,
        "balances_table": shown.balances, "findings_table": shown.findings_table,
        "walked_at": recent.walked_at, "day": formatting.day, "books": shown.books,
        "record_statement": _sentence(getattr(shown.findings, "record_statement", None)),
        "report_url": report_url,
    }, 400 if error else 200)  # fmt: skip


def _sentence(text: str | None) -> Markup | None:
    """A sentence for the page: a command named in backticks shown as code."""
    if not text:
        return None
    shown = str(escape(checkpoints.sentence(text)))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", shown))


@dataclass(frozen=True)
class _YearView:
    """What the year page shows of the record, the same for everyone who may see it."""

    findings: list[Finding]
    stages: list[str]
    books: list[tuple[str, Workbook]]
    balances: Markup
    findings_table: Markup


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
    """A report workbook as `grants report all` writes it, as of the day ``?as-of=`` names
    (the dashboard's links carry the day it is shown as of)."""
    actor = signed_in(request)
    needs(actor, "report", "download reports")
    name = request.path_params["name"]
    on, error, _ = _as_of(request)
    if error:
        raise GrantsError(f"The date to write the report as of is not right: {error}")
    with ledger(request).reading(actor) as session, tempfile.TemporaryDirectory() as folder:
        found = [b for b in workbooks(session, on) if report_name(b) == name]
        if not found:
            raise NotFound(f"no report {name!r}")
        path = Path(folder) / f"{name}.xlsx"
        title = ledger_name(session)
        write_report(session, found[0], path, title, on)
        content = path.read_bytes()
    saved = download_name(title, name, date.today(), on)
    return Response(
        content,
        media_type=XLSX,
        headers={"content-disposition": f'attachment; filename="{saved}"'},
    )


def download_name(title: str, name: str, day: date, as_of: date | None = None) -> str:
    """The file name a downloaded report is saved under: the ledger's title, the report
    and the day it was made, so that a finance officer finds it in Downloads among others
    (`oxfordshire-grants-pcc-csf-resourcing-2026-12-03.xlsx`), or the day it is as of
    (`...-resourcing-as-of-2017-11-15.xlsx`). Only letters, digits, '-' and '_'
    (grants.excel.book.file_name), so the header needs no quoting."""
    stem = re.sub("-+", "-", file_name(title).removesuffix(".xlsx"))[:40].strip("-")
    when = as_of_parts(as_of) or [day.isoformat()]
    return file_name(*([stem] if stem else []), name, *when)


__all__ = [
    "dashboard",
    "dashboard_year",
    "download_name",
    "figure_entries",
    "issue_forms_zip",
    "report_download",
    "report_name",
    "report_url",
]
