"""A return filled in the browser, and the receipt page every filing leads to.

The page and its checks are grants.services.returns_online's: this module reads the request,
opens the session for the person signed in, and renders. A filing ends with a redirect to
its receipt (POST, redirect, GET), which only the filer's organisation and officers see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from grants import formatting
from grants.errors import NotFound
from grants.periods import FinancialYear, parse_year
from grants.services.listings import plan_receipt
from grants.services.return_history import receipt
from grants.services.returns_online import OnlineOutcome, file_online, online_form
from grants.web import auth
from grants.web.pages import ledger, needs, read_form, render, signed_in

FLASH = "filed"  # the session's note for the receipt page: warnings and what changed
MAX_FORM_BYTES = 2 * 1024 * 1024  # every field at its longest, with room to spare
MAX_FIELDS = 2_000
LARGEST_ID = 2**31 - 1  # the largest id a row has (an integer column on PostgreSQL)


class _Rejected(Exception):
    """Problems with a posted return: the transaction is rolled back."""

    def __init__(self, outcome: OnlineOutcome) -> None:
        super().__init__("rejected")
        self.outcome = outcome


def _year(text: str) -> FinancialYear:
    try:
        return parse_year(text)
    except Exception:
        raise NotFound(f"no year {text!r}") from None


def _show(request: Request, outcome: OnlineOutcome, status: int = 200) -> Response:
    return render(request, "return_online.html", {
        "page": outcome.form, "problems": outcome.problems,
        "fields": {p.field for p in outcome.problems if p.field},
        "errors": {p.field: p.message for p in reversed(outcome.problems) if p.field},
        "day": formatting.day, "FinancialYear": FinancialYear,
    }, status)  # fmt: skip


def remember(request: Request, receipt_path: str, warnings: list[str], note: str | None) -> None:
    """Keep a filing's warnings and note in the session, for its receipt page to show once
    (the cookie is small: the first ten, each cut to 200 characters)."""
    shown = [w if len(w) <= 200 else w[:199] + "…" for w in warnings[:10]]
    if len(warnings) > 10:
        shown.append(f"and {len(warnings) - 10} more")
    request.session[FLASH] = {"path": receipt_path, "warnings": shown, "note": note}


def _file(request: Request, stream: str, year: FinancialYear, stage: str, line: str,
          posted: dict[str, str]) -> OnlineOutcome:  # fmt: skip
    actor = signed_in(request)
    now = datetime.now().replace(microsecond=0)
    for attempt in (1, 2):
        try:
            with ledger(request).writing(actor) as session:
                outcome = file_online(session, stream, year, stage, line, posted, now)
                if outcome.problems:
                    raise _Rejected(outcome)
                return outcome
        except _Rejected as exc:
            return exc.outcome
        except IntegrityError:
            # The same return sent twice at once: the other was recorded first. Once more,
            # and this one finds it standing (nothing changed).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def online_return(request: Request) -> Response:
    actor = await run_in_threadpool(signed_in, request)
    needs(actor, "import", "file returns")
    p = request.path_params
    stream, line, stage = p["stream"], p["line"], p["stage"]
    fy = _year(p["year"])
    if request.method == "GET":

        def shown() -> OnlineOutcome:
            with ledger(request).reading(actor) as session:
                return OnlineOutcome(online_form(session, stream, fy, stage, line))

        return _show(request, await run_in_threadpool(shown))
    size = request.headers.get("content-length")
    if size is None or not size.isdigit() or int(size) > MAX_FORM_BYTES:
        return render(request, "error.html", {"title": "There is a problem", "message": (
            "The return sent was too large: open the return again from your line's page")},
            413)  # fmt: skip
    form = await read_form(request, 0, MAX_FIELDS)
    auth.check_csrf(request, form.get("csrf_token"))
    posted = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    outcome = await run_in_threadpool(_file, request, stream, fy, stage, line, posted)
    if outcome.problems or outcome.receipt is None:
        return _show(request, outcome, 400)
    path = f"/filings/return-{outcome.receipt}"
    remember(request, path, outcome.warnings, outcome.note)
    return RedirectResponse(path, status_code=303)


def filing_page(request: Request) -> Response:
    """A filing's receipt: the filer's organisation's and officers' only (404 otherwise, as
    the history's scoping has it)."""
    actor = signed_in(request)
    needs(actor, "import", "see filings")
    kind, _, number = request.path_params["receipt"].partition("-")
    if kind not in ("return", "plan") or not (number.isascii() and number.isdigit()):
        raise NotFound("no such receipt")
    if int(number) > LARGEST_ID:  # no filing has it, and PostgreSQL's integer cannot hold it
        raise NotFound("no such receipt")
    with ledger(request).reading(actor) as session:
        row = receipt(session, int(number)) if kind == "return" else plan_receipt(
            session, int(number))  # fmt: skip
    flash = request.session.pop(FLASH, None)
    if not isinstance(flash, dict) or flash.get("path") != request.url.path:
        flash = {}
    return render(request, "filing.html", {
        "r": row, "kind": kind, "warnings": flash.get("warnings") or [],
        "note": flash.get("note"), "day": formatting.day,
        "year": row.year if isinstance(row.year, FinancialYear) else FinancialYear(row.year),
    })  # fmt: skip


__all__ = ["filing_page", "online_return", "remember"]
