"""The Chain page of the dashboard: a stream's regranting chain in a year, level by level
(grants.services.chain, the rows `grants chain` prints), as of a day when asked."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from grants import formatting
from grants.errors import NotFound
from grants.periods import Period
from grants.services.chain import FIGURES, chain_rows
from grants.web.officer import _as_of
from grants.web.pages import ledger, needs, render, signed_in
from grants.web.portal import _year


def chain_page(request: Request) -> Response:
    actor = signed_in(request)
    needs(actor, "report", "see the dashboard")
    stream = request.path_params["stream"]
    fy = _year(request.path_params["year"])
    on, error, boxes = _as_of(request)
    with ledger(request).reading(actor) as session:
        rows = [r for r in chain_rows(session, None, Period(fy, fy), on) if r.stream == stream]
        if not rows and (on is None or not [
            r for r in chain_rows(session, None, Period(fy, fy)) if r.stream == stream
        ]):  # fmt: skip
            raise NotFound(f"no stream {stream} in {fy}")
    today: date = on or date.today()
    flags = [(r, flag) for r in rows for flag in r.flags]
    return render(request, "chain.html", {
        "stream": stream, "year": fy, "rows": rows, "figures": FIGURES, "flags": flags,
        "money": formatting.gbp, "today": formatting.day(today), "on": on,
        "as_of_error": error, "boxes": boxes, "error_title": error,
    }, 400 if error else 200)  # fmt: skip
