"""The finance officer's write commands: award, allocate, pay, clawback, reverse.

Each records one journal entry in its own transaction, checked by the same rules as the
books loader; a refused entry writes nothing.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import select

from grants.cli import terminal
from grants.cli.common import AppContext, emit_json, pass_app
from grants.cli.options import DATE
from grants.db.models import Statement, Stream
from grants.errors import GrantsError
from grants.formatting import gbp
from grants.money import money, to_pence
from grants.periods import parse_period
from grants.services import recording
from grants.services.journal import NewEntry
from grants.services.recording import (
    Origin,
    new_entry,
    optional_text,
    read_allocation,
    read_payment,
    record,
    valid_code,
)
from grants.services.rules import Operation
from grants.services.streams import stream_code
from grants.text import Kind, clean

# Let "-5" reach the command as an amount (and be refused with a clear message).
ARGS = {"ignore_unknown_options": True}


def _origin() -> str:
    """The command as typed, from its own arguments and options only (never --database,
    which may hold a password)."""
    ctx = click.get_current_context()
    words = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name == "as_json" or value is None or value is False:
            continue
        if isinstance(value, datetime):
            value = value.date().isoformat()
        if isinstance(param, click.Argument):
            words.append(shlex.quote(str(value)))
        else:
            flag = param.opts[-1] if param.opts else param.name
            words.append(str(flag) if value is True else f"{flag} {shlex.quote(str(value))}")
    # As free text is kept: a carriage return typed in an option is a line break.
    return "command: " + " ".join(words).replace("\r\n", "\n").replace("\r", "\n")


_code = valid_code
_text = optional_text


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")(func)
    func = click.option("--source", metavar="TEXT", help="Where the figure was published.")(func)
    func = click.option("--reason", metavar="TEXT", help="Why (kept with the entry).")(func)
    func = click.option(
        "--date",
        "day",
        type=DATE,
        help="Date of the entry (default: today).",
    )(func)
    return func


def _day(value: date | None) -> date:
    return value or date.today()


_record = record


def _report(recorded: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(recorded)
        return
    for warning in recorded["warnings"]:
        terminal.echo(f"warning: {warning}", err=True)
    what = f"reversal of entry {recorded['reverses']}" if recorded["reverses"] else recorded["kind"]
    amount = gbp(Decimal(recorded["amount"]))
    terminal.echo(f"recorded entry {recorded['entry']} ({recorded['ref']}): {what} {amount}")


def _origin_of(app: AppContext, day: date) -> Origin:
    return Origin(app.actor, _origin(), uuid.uuid4().hex,  # every command is a new entry
                  day, datetime.now().replace(microsecond=0))  # fmt: skip


def _new(app: AppContext, op: Operation | None, day: date, **kw: Any) -> NewEntry:
    return new_entry(_origin_of(app, day), op, **kw)


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("amount")
@click.option("--stated", metavar="AMOUNT", help="The amount the funder stated, if different.")
@click.option("--tranche", metavar="CODE", help="Name this part of the award.")
@_common
@pass_app
def award(
    app: AppContext,
    stream: str,
    year: str,
    amount: str,
    stated: str | None,
    tranche: str | None,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Record that STREAM's funder awarded AMOUNT for YEAR (e.g. 2017-18)."""
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    stated, tranche = _text(stated, "--stated"), _text(tranche, "--tranche")
    period = parse_period(year)
    op = Operation(
        "award", stream, period, to_pence(money(amount)), tranche=_code(tranche, "--tranche")
    )
    stated_amount = None if stated is None else f"{money(stated):.2f}"
    with app.session() as session:
        stream = stream_code(session, stream, work="record")
        op = replace(op, stream=stream)
        item = _new(app, op, _day(day), reason=reason, source=source)
        recorded = _record(session, item)
        if stated_amount is not None:
            stream_id = session.execute(select(Stream.id).where(Stream.code == stream)).scalar_one()
            session.add(
                Statement(
                    key=uuid.uuid4().hex,
                    kind="stated",
                    day=_day(day),
                    stream_id=stream_id,
                    first_year=period.first.start,
                    last_year=period.last.start,
                    metric="stated",
                    amount=stated_amount,
                    scale="1",
                    source=source,
                    origin=_origin(),
                )
            )
    _report(recorded, as_json)


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("amount")
@click.option("--name", metavar="TEXT", help="Create LINE with this name if it is new.")
@click.option("--parent", metavar="LINE", help="For a new line: the line it is part of.")
@click.option("--recipient", metavar="ORG", help="For a new line: the recipient organisation code.")
@click.option("--share", metavar="PCT", help="Share of the parent, e.g. 18.3%.")
@click.option(
    "--over-allocate",
    is_flag=True,
    help="Allow going beyond the award (or parent); it is recorded and reported.",
)
@_common
@pass_app
def allocate(
    app: AppContext,
    stream: str,
    year: str,
    line: str,
    amount: str,
    name: str | None,
    parent: str | None,
    recipient: str | None,
    share: str | None,
    over_allocate: bool,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Allocate AMOUNT of STREAM's YEAR award to LINE (or of LINE's parent's allocation)."""
    wanted = read_allocation(stream, year, line, amount, name, parent, recipient, share,
                             over_allocate, reason, source)  # fmt: skip
    with app.session() as session:
        recorded = recording.allocate(session, wanted, _origin_of(app, _day(day)))
    _report(recorded, as_json)


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("amount")
@click.option(
    "--from",
    "passed_on_by",
    metavar="PARENT",
    help="The money is passed on by the recipient of LINE's parent line PARENT, out of what "
    "it was paid (regranting), not paid by the council.",
)
@_common
@pass_app
def pay(
    app: AppContext,
    stream: str,
    year: str,
    line: str,
    amount: str,
    passed_on_by: str | None,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Record a payment of AMOUNT to LINE's recipient (never beyond what is allocated)."""
    wanted = read_payment(stream, year, line, amount, reason, source, passed_on_by=passed_on_by)
    with app.session() as session:
        recorded = recording.pay(session, wanted, _origin_of(app, _day(day)))
    _report(recorded, as_json)


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("amount")
@_common
@pass_app
def clawback(
    app: AppContext,
    stream: str,
    year: str,
    line: str,
    amount: str,
    day: date | None,
    reason: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Record AMOUNT recovered from LINE's recipient: it comes off what was paid and what is
    allocated, and returns to the award or the parent line (never beyond what was paid)."""
    wanted = read_payment(stream, year, line, amount, reason, source)
    with app.session() as session:
        recorded = recording.clawback(session, wanted, _origin_of(app, _day(day)))
    _report(recorded, as_json)


@click.command()
@click.argument("entry")
@click.option("--reason", required=True, metavar="TEXT", help="Why the entry is reversed.")
@click.option(
    "--date",
    "day",
    type=DATE,
    help="Date of the reversal (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
@pass_app
def reverse(app: AppContext, entry: str, reason: str, day: date | None, as_json: bool) -> None:
    """Append the exact opposite of journal entry ENTRY (its number or id)."""
    entry, reason = clean(entry, "ENTRY"), clean(reason, "--reason", Kind.FREE)
    if not reason.strip():
        raise GrantsError("--reason must say why the entry is reversed")
    if not entry.strip():
        raise GrantsError("give the entry to reverse: its number or id (`grants journal`)")
    with app.session() as session:
        recorded = _record(session, _new(app, None, _day(day), reverses=entry, reason=reason))
    _report(recorded, as_json)


COMMANDS = (award, allocate, pay, clawback, reverse)
