"""The officer's forms to record an allocation or a payment: the same service as
`grants allocate` and `grants pay` (grants.services.recording), so the same rules. Each
form carries the entry's key, fixed when the form is shown: sent twice, it is one entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from grants import formatting
from grants.dates import date_from_parts
from grants.errors import GrantsError, NotFound, Refused
from grants.services import recording
from grants.services.recording import FORM, Origin, Problems
from grants.web import auth
from grants.web.pages import ledger, needs, render, signed_in, small_form

# The fields of each form, in the order they are shown (and errors listed).
PAYMENT = ("stream", "year", "line", "amount", "from", "date", "reason", "source")
ALLOCATION = ("stream", "year", "line", "amount", "name", "parent", "recipient", "share",
              "date", "reason", "source")  # fmt: skip
DATE_PARTS = ("date-day", "date-month", "date-year")
LONGEST = 2000  # characters kept of any field: the services refuse anything near it


def _values(source: Any, fields: tuple[str, ...]) -> dict[str, str]:
    names = [f for f in fields if f != "date"] + list(DATE_PARTS) + ["key", "over-allocate"]
    return {name: str(source.get(name) or "")[:LONGEST] for name in names}


def _form(request: Request, kind: str, values: dict[str, str], errors: dict[str, str],
          status: int = 200) -> Response:  # fmt: skip
    fields = ALLOCATION if kind == "allocation" else PAYMENT
    order = [f for f in (*fields, "key") if f in errors]
    return render(request, "record.html", {
        "kind": kind, "values": values, "errors": errors, "order": order,
    }, status)  # fmt: skip


# What a link may fill in on a blank form (a year's page links it with its stream and year):
# never the amount, the reasons or the over-allocation box, so that no link sent to an
# officer can have a form ready to record what they did not type.
FILLED_BY_LINK = ("stream", "year", "line")


def _blank(request: Request, kind: str) -> Response:
    fields = ALLOCATION if kind == "allocation" else PAYMENT
    values = _values({k: v for k, v in request.query_params.items() if k in FILLED_BY_LINK},
                     fields)  # fmt: skip
    today = date.today()
    values.update({"date-day": str(today.day), "date-month": str(today.month),
                   "date-year": str(today.year), "key": recording.form_key()})  # fmt: skip
    return _form(request, kind, values, {})


def _recorded(request: Request, kind: str, actor: Any, values: dict[str, str]) -> Response:
    errors: dict[str, str] = {}
    wanted: Any = None
    try:
        if kind == "allocation":
            wanted = recording.read_allocation(
                values["stream"], values["year"], values["line"], values["amount"],
                values["name"], values["parent"], values["recipient"], values["share"],
                values["over-allocate"] == "yes", values["reason"], values["source"],
                names=FORM, collect=True,
            )  # fmt: skip
        else:
            wanted = recording.read_payment(
                values["stream"], values["year"], values["line"], values["amount"],
                values["reason"], values["source"], names=FORM, collect=True,
                passed_on_by=values["from"].strip() or None,
            )  # fmt: skip
    except Problems as problems:
        for error in problems.errors:
            errors.setdefault(error.field or "amount", _sentence(error))
    day = None
    try:
        day = date_from_parts(*(values[p] for p in DATE_PARTS))
    except GrantsError as exc:
        errors["date"] = _sentence(exc)
    key = ""
    try:
        key = recording.checked_form_key(values["key"])
    except GrantsError as exc:
        errors["key"] = _sentence(exc)
        values["key"] = recording.form_key()
    if errors:
        return _form(request, kind, values, errors, 400)
    assert day is not None
    page = f"/record/{kind}"
    origin = Origin(actor.login, f"web: recorded by {actor.login} on {page}", key, day,
                    datetime.now().replace(microsecond=0))  # fmt: skip
    record: Callable[..., dict[str, Any]] = (
        recording.allocate if kind == "allocation" else recording.pay
    )
    try:
        with ledger(request).writing(actor) as session:
            args = (session, wanted, origin, FORM) if kind == "allocation" else (
                session, wanted, origin)  # fmt: skip
            told = record(*args)
    except Refused:
        raise
    except GrantsError as exc:
        errors[exc.field or "amount"] = _sentence(exc)
        return _form(request, kind, values, errors, 400)
    warnings = [w[:400] for w in told["warnings"][:5]]  # the session is a cookie: kept short
    request.session["told"] = {"key": key, "warnings": warnings, "again": bool(told.get("again"))}
    return RedirectResponse(f"/record/recorded/{key}", status_code=303)


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:]


async def _page(request: Request, kind: str) -> Response:
    actor = await run_in_threadpool(signed_in, request)
    needs(actor, "record", f"record {'allocations' if kind == 'allocation' else 'payments'}")
    if request.method == "GET":
        return _blank(request, kind)
    form = await small_form(request, 30)
    auth.check_csrf(request, form.get("csrf_token"))
    fields = ALLOCATION if kind == "allocation" else PAYMENT
    return await run_in_threadpool(_recorded, request, kind, actor, _values(form, fields))


async def allocation(request: Request) -> Response:
    return await _page(request, "allocation")


async def payment(request: Request) -> Response:
    return await _page(request, "payment")


def recorded(request: Request) -> Response:
    """The confirmation: the entry recorded under the form's key, and what it changed."""
    actor = signed_in(request)
    needs(actor, "record", "record allocations or payments")
    key = request.path_params["key"]
    if not recording.FORM_KEY.match(key):
        raise NotFound(f"no entry {key!r}")
    with ledger(request).reading(actor) as session:
        entry = recording.recorded_entry(session, key)
    told = request.session.get("told") or {}
    if told.get("key") != key:
        told = {}
    else:
        request.session.pop("told", None)
    return render(request, "recorded.html", {
        "entry": entry, "warnings": told.get("warnings", []), "again": told.get("again"),
        "money": formatting.gbp, "day": formatting.day,
    })  # fmt: skip


__all__ = ["allocation", "payment", "recorded"]
