"""`grants commit` (a signed grant agreement commits part of a line's allocation) and `grants
carry-forward` (a line's underspend carried into the next year). Each records one journal
entry in its own transaction through grants.services.commitments, checked by the same rules
as the books."""

from __future__ import annotations

from datetime import date, datetime

import click

from grants.cli.common import AppContext, pass_app
from grants.cli.options import DATE
from grants.cli.write import ARGS, _common, _day, _new, _report, _text
from grants.errors import GrantsError
from grants.money import money, to_pence
from grants.periods import parse_period
from grants.services import commitments
from grants.services.commitments import Agreement
from grants.services.recording import valid_code
from grants.services.rules import Operation
from grants.text import Kind, clean


def _as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("amount")
@click.option("--agreement", required=True, metavar="REF", help="The signed agreement's reference.")
@click.option("--from", "starts", required=True, type=DATE, help="The first day it runs.")
@click.option("--to", "ends", required=True, type=DATE, help="The last day it runs.")
@click.option("--conditions", metavar="TEXT", help="The agreement's conditions.")
@_common
@pass_app
def commit(
    app: AppContext,
    stream: str,
    year: str,
    line: str,
    amount: str,
    agreement: str,
    starts: datetime,
    ends: datetime,
    conditions: str | None,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Record a signed grant agreement committing AMOUNT of LINE's YEAR allocation (never
    beyond what is allocated to it and not yet committed)."""
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    line = clean(line, "LINE").strip().upper()
    valid_code(line, "LINE")
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    reference = _text(agreement, "--agreement")
    if reference is None:
        raise GrantsError("--agreement: give the signed agreement's reference")
    details = Agreement(reference, _text(conditions, "--conditions", Kind.FREE),
                        _as_day(starts), _as_day(ends))  # fmt: skip
    op = Operation("commit", stream, parse_period(year), to_pence(money(amount)), line=line)
    with app.session() as session:
        item = _new(app, op, _day(day), reason=reason, source=source)
        recorded = commitments.commit(session, item, details)
    _report(recorded, as_json)


@click.command("carry-forward", context_settings=ARGS)
@click.argument("stream")
@click.argument("from_year", metavar="FROM-YEAR")
@click.argument("to_year", metavar="TO-YEAR")
@click.argument("line")
@click.argument("amount")
@click.option("--approval", required=True, metavar="REF",
              help="The funder's approval reference (required).")  # fmt: skip
@_common
@pass_app
def carry_forward(
    app: AppContext,
    stream: str,
    from_year: str,
    to_year: str,
    line: str,
    amount: str,
    approval: str,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Carry AMOUNT of LINE's underspend in FROM-YEAR (what is allocated and neither paid nor
    passed to its lines) into TO-YEAR, the next, with the funder's approval; FROM-YEAR's
    allocation is kept and both years show the carry-forward."""
    stream, amount = clean(stream, "STREAM"), clean(amount, "AMOUNT")
    first, then = (
        parse_period(clean(from_year, "FROM-YEAR")),
        parse_period(clean(to_year, "TO-YEAR")),
    )
    line = clean(line, "LINE").strip().upper()
    valid_code(line, "LINE")
    reference = _text(approval, "--approval")
    if reference is None or len(reference) > 40:
        raise GrantsError(
            "--approval: give the funder's approval reference (at most 40 characters)"
        )
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    op = Operation("carry-forward", stream, first, to_pence(money(amount)), line=line,
                   to_period=then, tranche=reference)  # fmt: skip
    with app.session() as session:
        item = _new(app, op, _day(day), reason=reason, source=source)
        recorded = commitments.carry_forward(session, item)
    _report(recorded, as_json)


COMMANDS = (commit, carry_forward)
