"""Money in: `grants claim` (the council claims from a funder) and `grants receipt` (cash
received from the funder, against a claim or the award). Each records one journal entry in
its own transaction through grants.services.money_in, checked by the same rules as the
books."""

from __future__ import annotations

from datetime import date, datetime

import click

from grants.cli.common import AppContext, pass_app
from grants.cli.options import DATE
from grants.cli.write import ARGS, _common, _day, _new, _report, _text
from grants.errors import GrantsError
from grants.money import money, to_pence
from grants.periods import parse_period
from grants.services import money_in
from grants.services.money_in import ClaimDetails, quarter_days
from grants.services.recording import valid_code
from grants.services.rules import Operation
from grants.text import Kind, clean


def _claim_days(
    year: str, starts: datetime | None, ends: datetime | None, quarter: str | None
) -> tuple[date, date]:
    if quarter is not None:
        if starts is not None or ends is not None:
            raise GrantsError("give --quarter, or --from and --to, not both")
        return quarter_days(parse_period(year), clean(quarter, "--quarter"))
    if starts is None or ends is None:
        raise GrantsError(
            "give the days the claim's expenditure was incurred: --from and --to, or --quarter"
        )
    return _as_day(starts), _as_day(ends)


def _as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("name")
@click.argument("amount")
@click.option("--from", "starts", type=DATE, help="First day of the expenditure claimed for.")
@click.option("--to", "ends", type=DATE, help="Last day of the expenditure claimed for.")
@click.option("--quarter", metavar="Q1-Q4", help="Or: the quarter of YEAR claimed for.")
@click.option(
    "--eligible", required=True, metavar="AMOUNT", help="The eligible expenditure claimed on."
)
@click.option(
    "--evidence", required=True, metavar="TEXT", help="The claim form or return it rests on."
)
@_common
@pass_app
def claim(
    app: AppContext,
    stream: str,
    year: str,
    name: str,
    amount: str,
    starts: datetime | None,
    ends: datetime | None,
    quarter: str | None,
    eligible: str,
    evidence: str,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Record a claim NAME of AMOUNT to STREAM's funder for YEAR (never beyond what is
    awarded and not yet claimed)."""
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    name = valid_code(clean(name, "NAME").strip().upper(), "NAME") or ""
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    evidence_text = _text(evidence, "--evidence")
    if evidence_text is None:
        raise GrantsError("--evidence: name the claim form or return the claim rests on")
    period = parse_period(year)
    first, last = _claim_days(year, starts, ends, quarter)
    details = ClaimDetails(first, last, to_pence(money(clean(eligible, "--eligible"))),
                           evidence_text)  # fmt: skip
    op = Operation("claim", stream, period, to_pence(money(amount)), tranche=name)
    with app.session() as session:
        item = _new(app, op, _day(day), reason=reason, source=source)
        recorded = money_in.claim(session, item, details)
    _report(recorded, as_json)


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("amount")
@click.option(
    "--claim", "claim_name", metavar="NAME", help="The claim this pays (default: the award)."
)
@_common
@pass_app
def receipt(
    app: AppContext,
    stream: str,
    year: str,
    amount: str,
    claim_name: str | None,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Record AMOUNT received from STREAM's funder for YEAR, against a claim (--claim) or
    the award (never beyond what was claimed, or awarded)."""
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    named = _text(claim_name, "--claim")
    named = valid_code(named.strip().upper(), "--claim") if named else None
    op = Operation("receipt", stream, parse_period(year), to_pence(money(amount)), tranche=named)
    with app.session() as session:
        item = _new(app, op, _day(day), reason=reason, source=source)
        recorded = money_in.receipt(session, item)
    _report(recorded, as_json)


COMMANDS = (claim, receipt)
