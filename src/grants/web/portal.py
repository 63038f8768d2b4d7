"""The recipient's portal (an officer sees every line): sign in, what is due, forms out and
back in, the filing history. Each page calls the services the command line calls, with the
person signed in; the services scope every row to them."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from pathlib import Path

from anyio import to_thread
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from grants import formatting
from grants.errors import GrantsError, LoginFailed, NotFound
from grants.excel import plan_form, return_form
from grants.limits import MAX_WORKBOOK_BYTES
from grants.periods import FinancialYear, parse_year
from grants.services.due import due
from grants.services.form_rows import Problem, Received
from grants.services.listings import plan_filing_rows
from grants.services.plan_forms import issue_own_plan_form
from grants.services.return_history import history
from grants.services.returns import PLAN_STAGE, issue_own_form
from grants.services.settings import ledger_name
from grants.web import auth, online
from grants.web.pages import ledger, needs, read_form, render, signed_in, small_form
from grants.web.uploads import Outcome, file_upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a multipart upload adds to the workbook's bytes (boundaries, headers, the token).
UPLOAD_OVERHEAD = 64 * 1024


# What the sign-in page says after a session ended (?ended=WHY, WHY a key of
# grants.services.sessions.ENDED): the banner's heading, and whether it is good news.
ENDED = {
    "signed_out": ("You have been signed out", True),
    "idle": (f"Your session ended after {auth.IDLE_SECONDS // 60} minutes without use: "
             "sign in again", False),
    "expired": (f"Your session ended {auth.MAX_SECONDS // 3600} hours after you signed in: "
                "sign in again", False),
    "password": ("Your session ended because your password was changed: sign in with the "
                 "new one", False),
    "disabled": ("Your session was ended: sign in again, or ask an admin if you cannot", False),
    "ended": ("Your session was ended: sign in again", False),
}  # fmt: skip


def _sign_in_form(request: Request, *, ended: str | None = None, error: str | None = None,
                  login: str = "", status: int = 200) -> Response:  # fmt: skip
    banner, good = ENDED.get(ended or "", (None, False))
    return render(request, "sign_in.html", {"banner": banner, "good": good, "error": error,
                  "login": login}, status)  # fmt: skip


async def _sign_in_post(request: Request) -> Response:
    form = await small_form(request, 5)
    auth.check_csrf(request, form.get("csrf_token"))
    login = str(form.get("login") or "").strip()[:200]
    password = str(form.get("password") or "")[: auth.MAX_PASSWORD]
    if not login or not password:
        return _sign_in_form(request, error="Enter your login and password", login=login,
                             status=400)  # fmt: skip
    wait, attempted = await run_in_threadpool(auth.attempt, ledger(request), request, login)
    if wait:
        await run_in_threadpool(auth.held, ledger(request), login)
        minutes = max(1, (wait + 59) // 60)
        return _sign_in_form(
            request, login=login, status=429,
            error=f"Too many failed sign-ins: wait {formatting.count(minutes, 'minute')} and "
            "try again, or ask an admin to reset your password",
        )  # fmt: skip
    try:
        actor, starts = await to_thread.run_sync(
            auth.check_password, ledger(request), login, password,
            limiter=auth.password_checks(),
        )  # fmt: skip
    except LoginFailed as exc:  # counted against the login already (auth.attempt)
        await run_in_threadpool(auth.failed, ledger(request), request, attempted, login,
                                exc.reason)  # fmt: skip
        return _sign_in_form(request, error="The login or password is not right", login=login,
                             status=400)  # fmt: skip
    except Exception:  # the service failed, not the password: not a failed sign-in
        await run_in_threadpool(auth.forget, ledger(request), attempted)
        raise
    # Written to the audit log (one writer at a time) after the password check has given
    # back its place, so that a sign-in waiting to write holds no other sign-in up.
    try:
        await run_in_threadpool(auth.start_session, ledger(request), request, actor, starts,
                                attempted)  # fmt: skip
    except Exception:
        await run_in_threadpool(auth.forget, ledger(request), attempted)
        raise
    return RedirectResponse("/", status_code=303)


async def sign_in_route(request: Request) -> Response:
    if request.method == "GET":
        return _sign_in_form(request, ended=request.query_params.get("ended"))
    return await _sign_in_post(request)


async def sign_out(request: Request) -> Response:
    form = await small_form(request, 2)
    auth.check_csrf(request, form.get("csrf_token"))
    await run_in_threadpool(auth.sign_out, ledger(request), request)
    return RedirectResponse("/sign-in?ended=signed_out", status_code=303)


@dataclass
class Group:
    stream: str
    year: FinancialYear
    lines: list[object] = field(default_factory=list)


def home(request: Request) -> Response:
    actor = signed_in(request)
    if not actor.may("import"):  # a viewer: the dashboard is theirs
        return RedirectResponse("/dashboard", status_code=303)
    today = date.today()
    with ledger(request).reading(actor) as session:
        rows = due(session, as_of=today)
    groups = [Group(s, y, list(items)) for (s, y), items in
              groupby(rows, key=lambda r: (r.stream, r.year))]  # fmt: skip
    return render(request, "home.html", {"groups": groups, "today": today,
                                         "day": formatting.day})  # fmt: skip


def line_page(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "import", "see a line's returns")
    stream, line = request.path_params["stream"], request.path_params["line"]
    fy = _year(request.path_params["year"])
    today = date.today()
    with ledger(request).reading(actor) as session:
        found = [r for r in due(session, stream, fy, today) if r.line == line]
        if not found:
            raise NotFound(f"no line {stream} {line} {fy}")
        returns = history(session, stream, fy, line)
        plans = plan_filing_rows(session, stream, fy, line)
    return render(request, "line.html", {"row": found[0], "returns": returns, "plans": plans,
                  "day": formatting.day, "PLAN_STAGE": PLAN_STAGE})  # fmt: skip


def _year(text: str) -> FinancialYear:
    try:
        return parse_year(text)
    except GrantsError:
        raise NotFound(f"no year {text!r}") from None


def form_download(request: Request) -> Response:
    """The line's form, pre-filled, recorded as issued to the person (the services refuse
    another organisation's line: answered 404)."""
    actor = signed_in(request)
    needs(actor, "import", "take forms to fill in")
    p = request.path_params
    fy = _year(p["year"])
    with ledger(request).writing(actor) as session, tempfile.TemporaryDirectory() as folder:
        name = ledger_name(session)
        if p["stage"] == PLAN_STAGE:
            plan = issue_own_plan_form(session, p["stream"], fy, p["line"],
                                       plan_form.display_cells)  # fmt: skip
            filename = plan_form.filename(plan)
            path = Path(folder) / filename
            plan_form.write(plan, path, name)
        else:
            form = issue_own_form(session, p["stream"], fy, p["stage"], p["line"],
                                  return_form.display_cells)  # fmt: skip
            filename = return_form.filename(form)
            path = Path(folder) / filename
            return_form.write(form, path, name)
        content = path.read_bytes()
    return Response(
        content,
        media_type=XLSX,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def upload(request: Request) -> Response:
    actor = await run_in_threadpool(signed_in, request)
    needs(actor, "import", "file returns")
    if request.method == "GET":
        return render(request, "upload.html", {"outcome": None})
    size = request.headers.get("content-length")
    if size is None or not size.isdigit() or int(size) > MAX_WORKBOOK_BYTES + UPLOAD_OVERHEAD:
        return _too_big(request)
    form = await read_form(request, 1, 3)
    auth.check_csrf(request, form.get("csrf_token"))
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        outcome = Outcome(problems=[Problem("", None, "Select a filled return form (.xlsx)")])
        return render(request, "upload.html", {"outcome": outcome}, 400)
    content = await file.read(MAX_WORKBOOK_BYTES + 1)
    if len(content) > MAX_WORKBOOK_BYTES:
        return _too_big(request)
    received = Received(Path(file.filename).name[:200], content)
    outcome = await run_in_threadpool(file_upload, ledger(request), actor, received)
    if outcome.receipt is not None or outcome.plan_receipt is not None:
        # POST, redirect, GET: the receipt has a page of its own.
        path = (f"/filings/return-{outcome.receipt}" if outcome.receipt is not None
                else f"/filings/plan-{outcome.plan_receipt}")  # fmt: skip
        warnings = [f"{w.where}: {w.message}" if w.where else w.message for w in outcome.warnings]
        online.remember(request, path, warnings, outcome.note)
        return RedirectResponse(path, status_code=303)
    return render(request, "upload.html", {"outcome": outcome},
                  400 if outcome.problems else 200)  # fmt: skip


def _too_big(request: Request) -> Response:
    limit = formatting.count(MAX_WORKBOOK_BYTES // (1024 * 1024), "MB")
    outcome = Outcome(
        problems=[
            Problem(
                "",
                None,
                f"The file must be smaller than {limit}: "
                "upload the return form as issued, filled in",
            )
        ]
    )
    return render(request, "upload.html", {"outcome": outcome}, 413)


def history_page(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "import", "see the filing history")
    with ledger(request).reading(actor) as session:
        returns = history(session)
        plans = plan_filing_rows(session)
    return render(request, "history.html", {"returns": returns, "plans": plans,
                  "day": formatting.day, "FinancialYear": FinancialYear})  # fmt: skip


__all__ = ["form_download", "history_page", "home", "line_page", "sign_in_route",
           "sign_out", "upload"]  # fmt: skip
