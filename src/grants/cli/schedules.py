"""`grants schedule`: one dated instalment of an allocation's payment schedule, recorded
through grants.services.schedules under the books' rules."""

from __future__ import annotations

from datetime import date, datetime

import click

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import DATE
from grants.cli.write import ARGS, _day, _origin, _text
from grants.db.models import SCHEDULE_BASES
from grants.formatting import day as formatted_day
from grants.formatting import gbp
from grants.money import money, to_pence
from grants.periods import parse_period
from grants.services import schedules
from grants.services.schedules import NewInstalment
from grants.text import Kind, clean


def _as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("amount")
@click.option("--basis", required=True, type=click.Choice(SCHEDULE_BASES),
              help="How the allocation is paid.")  # fmt: skip
@click.option("--due", required=True, type=DATE, help="The day the instalment is due.")
@click.option("--milestone", metavar="TEXT", help="The milestone it is paid on.")
@click.option("--source", metavar="TEXT", help="The agreement or paper that sets it.")
@click.option("--date", "day", type=DATE, help="Date of the record (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the instalment as JSON.")
@pass_app
def schedule(
    app: AppContext,
    stream: str,
    year: str,
    line: str,
    amount: str,
    basis: str,
    due: datetime,
    milestone: str | None,
    source: str | None,
    day: date | None,
    as_json: bool,
) -> None:
    """Schedule an instalment of AMOUNT of LINE's YEAR allocation, due on --due (a line's
    schedule for a year has one basis; reconcile reports instalments due and overdue)."""
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    line = clean(line, "LINE").strip().upper()
    new = NewInstalment(stream, parse_period(year), line, basis, to_pence(money(amount)),
                        _as_day(due), _text(milestone, "--milestone", Kind.FREE))  # fmt: skip
    with app.session() as session:
        told = schedules.schedule(session, new, _day(day), _origin(), _text(source, "--source"))
    if as_json:
        emit_json(told)
        return
    on = f" on {told['milestone']!r}" if told["milestone"] else ""
    terminal.echo(
        f"recorded instalment {told['instalment']}: {gbp(money(told['amount']))} to "
        f"{told['line']} ({told['stream']} {told['year']}, {told['basis']}), due "
        f"{formatted_day(new.due)}{on}"
    )


COMMANDS = (schedule,)
