"""The finance officer's write commands: award, allocate, pay, reverse.

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
from grants.db.models import Entry, Line, Organisation, Statement, Stream
from grants.errors import GrantsError, NotFound
from grants.formatting import gbp
from grants.ledger.loader import CODE
from grants.money import from_pence, money, to_pence
from grants.periods import parse_period
from grants.services.journal import NewEntry, record_entries
from grants.services.repeated import repeated_payments
from grants.services.rules import Operation
from grants.services.streams import line_code, organisation_code, stream_code
from grants.text import Kind, clean, difference, look_alike

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


def _code(value: str | None, what: str) -> str | None:
    if (value is not None and not CODE.match(value)) or (value is not None and len(value) > 40):
        raise GrantsError(
            f"{what} {value!r} is not a valid code: use capital letters, digits and '-', "
            "at most 40 characters"
        )
    return value


def _text(value: str | None, what: str, kind: Kind = Kind.VALUE) -> str | None:
    """An option checked as text (grants.text), if given: refused with its name if it holds
    a control or invisible character, or is too long; a name is NFC-normalised."""
    if value is None or not value.strip():
        return None  # an empty option is no option: no reason is not an empty reason
    return clean(value, what, kind)


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


def _record(session: Any, item: NewEntry) -> dict[str, Any]:
    """Record one entry; what to tell the user once the transaction has committed."""
    result = record_entries(session, [item])
    entry = session.get(Entry, result.entry_ids[0])
    amount = from_pence(entry.amount_pence)
    if item.reverses:
        amount = -amount
    return {
        "entry": entry.id,
        "ref": entry.ref,
        "kind": entry.kind,
        "reverses": entry.reverses_id,
        "amount": f"{amount:.2f}",
        "actor": entry.actor,
        "warnings": [w for _, w in result.warnings]
        + list(repeated_payments(session, result.entry_ids).values()),
    }


def _report(recorded: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(recorded)
        return
    for warning in recorded["warnings"]:
        terminal.echo(f"warning: {warning}", err=True)
    what = f"reversal of entry {recorded['reverses']}" if recorded["reverses"] else recorded["kind"]
    amount = gbp(Decimal(recorded["amount"]))
    terminal.echo(f"recorded entry {recorded['entry']} ({recorded['ref']}): {what} {amount}")


def _new(app: AppContext, op: Operation | None, day: date, **kw: Any) -> NewEntry:
    return NewEntry(
        op,
        day,
        app.actor,
        datetime.now().replace(microsecond=0),
        origin=_origin(),
        key=uuid.uuid4().hex,  # every command is a new entry
        **kw,
    )


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
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    line, name = clean(line, "LINE"), _text(name, "--name", Kind.NAME)
    if CODE.match(line.strip().upper()):
        line = line.strip().upper()  # a code typed in any case; anything else refused below
    parent, recipient = _text(parent, "--parent"), _text(recipient, "--recipient")
    share = _text(share, "--share")
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    period = parse_period(year)
    share_value = None
    if share is not None:
        try:
            share_value = Decimal(share.rstrip("%"))
        except ArithmeticError:
            share_value = Decimal("NaN")
        if not share_value.is_finite() or not 0 <= share_value <= 100:
            raise GrantsError(f"--share {share!r} is not a percentage between 0% and 100%")
    op = Operation(
        "allocate",
        stream,
        period,
        to_pence(money(amount)),
        line=_code(line, "line"),
        over_allocation=over_allocate,
    )
    with app.session() as session:
        stream = stream_code(session, stream, work="record")
        stream_row = session.execute(select(Stream).where(Stream.code == stream)).scalar_one()
        if not name:  # an existing line, typed in any case
            line = line_code(session, stream, line, "record")
        parent = line_code(session, stream, parent, "record") if parent else None
        recipient = organisation_code(session, recipient) if recipient else None
        op = replace(op, stream=stream, line=line)
        existing = session.execute(
            select(Line).where(Line.stream_id == stream_row.id, Line.code == line)
        ).scalar_one_or_none()
        warnings: list[str] = []
        if existing is None and name:
            warnings = _create_line(session, stream_row, line, name, parent, recipient, _day(day))
        elif existing is not None and name and " ".join(name.split()) != existing.name:
            raise GrantsError(
                f"line {line} already exists, named {existing.name!r} (perhaps just recorded "
                "by someone else): leave out --name to allocate to it, or choose another code"
            )
        elif existing is not None and (parent or recipient):
            raise GrantsError(
                f"line {line} already exists: --parent and --recipient are only for a new line"
            )
        item = _new(app, op, _day(day), reason=reason, source=source, share=share_value)
        recorded = _record(session, item)
    recorded["warnings"] = warnings + recorded["warnings"]
    _report(recorded, as_json)


def _create_line(
    session: Any,
    stream: Stream,
    code: str,
    name: str,
    parent: str | None,
    recipient: str | None,
    day: date,
) -> list[str]:
    """Add the line; what is worth a warning (a name that looks like another line's)."""
    parent_id = recipient_id = None
    if parent:
        parent_id = session.execute(
            select(Line.id).where(Line.stream_id == stream.id, Line.code == parent)
        ).scalar_one_or_none()
        if parent_id is None:
            raise NotFound(f"stream {stream.code} has no line {parent!r} to be the parent")
    if recipient:
        recipient_id = session.execute(
            select(Organisation.id).where(Organisation.code == recipient)
        ).scalar_one_or_none()
        if recipient_id is None:
            raise NotFound(f"there is no organisation {recipient!r}")
    session.add(
        Line(
            stream_id=stream.id,
            code=code,
            name=name,
            kind="allocation",
            parent_id=parent_id,
            recipient_id=recipient_id,
            day=day,
            origin=_origin(),
        )
    )
    session.flush()
    others = session.execute(
        select(Line.code, Line.name).where(Line.stream_id == stream.id, Line.code != code)
    ).all()
    return [
        f"line {code} {name!r} looks the same as line {other} {other_name!r} of {stream.code} "
        f"but is written with other characters ({difference(name, other_name)}): if they are "
        "different lines, give them names that read differently"
        for other, other_name in others
        if look_alike(name, other_name)
    ]


@click.command(context_settings=ARGS)
@click.argument("stream")
@click.argument("year")
@click.argument("line")
@click.argument("amount")
@_common
@pass_app
def pay(
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
    """Record a payment of AMOUNT to LINE's recipient (never beyond what is allocated)."""
    stream, year, amount = clean(stream, "STREAM"), clean(year, "YEAR"), clean(amount, "AMOUNT")
    line = clean(line, "LINE")
    reason, source = _text(reason, "--reason", Kind.FREE), _text(source, "--source")
    op = Operation("pay", stream, parse_period(year), to_pence(money(amount)), line=line)
    with app.session() as session:
        stream = stream_code(session, stream, work="record")
        op = replace(op, stream=stream, line=line_code(session, stream, line, "record"))
        recorded = _record(session, _new(app, op, _day(day), reason=reason, source=source))
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


COMMANDS = (award, allocate, pay, reverse)
