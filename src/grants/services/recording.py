"""Recording an allocation or a payment: the one set of rules behind `grants allocate`,
`grants pay` and the web's forms for them.

What a person typed is read in two steps: `read_allocation` / `read_payment` check each field
(before any session is opened, as the command line always has), and `allocate` / `pay`
record the entry in the caller's session, checked against the ledger (the stream, the line,
the balances). A face names its fields its own way (`Names`: ``--share`` on the command
line, "Share" on a form); each refusal carries the field it is about (``GrantsError.field``)
and, read with ``collect=True``, every field's problem is found at once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Entry, Line, Organisation, Stream
from grants.errors import GrantsError, NotFound
from grants.ledger.loader import CODE
from grants.money import from_pence, money, to_pence
from grants.periods import FinancialYear, Period, parse_period
from grants.services import access
from grants.services.journal import NewEntry, record_entries
from grants.services.repeated import repeated_payments
from grants.services.rule_texts import share_text
from grants.services.rules import Operation
from grants.services.streams import line_code, organisation_code, stream_code
from grants.text import Kind, clean, difference, look_alike

T = TypeVar("T")


@dataclass(frozen=True)
class Names:
    """How a face names each field in its messages (the command line's by default)."""

    stream: str = "STREAM"
    year: str = "YEAR"
    line: str = "LINE"
    amount: str = "AMOUNT"
    name: str = "--name"
    parent: str = "--parent"
    recipient: str = "--recipient"
    share: str = "--share"
    reason: str = "--reason"
    source: str = "--source"
    code: str = "line"  # the line, when its code is refused as a code
    passed_on_by: str = "--from"  # the parent line that passes a payment on


COMMAND_LINE = Names()
FORM = Names("Stream", "Financial year", "Line", "Amount", "Name of the new line", "Parent line",
             "Recipient", "Share", "Reason", "Source", "Line", "Passed on by")  # fmt: skip


@dataclass(frozen=True)
class Allocation:
    """An allocation as typed, each field checked (not yet against the ledger)."""

    stream: str
    period: Period
    line: str
    amount: int  # pence
    name: str | None
    parent: str | None
    recipient: str | None
    share: Decimal | None
    over_allocate: bool
    reason: str | None
    source: str | None


@dataclass(frozen=True)
class Payment:
    """A payment as typed, each field checked (not yet against the ledger)."""

    stream: str
    period: Period
    line: str
    amount: int  # pence
    reason: str | None
    source: str | None
    passed_on_by: str | None = None  # the parent line whose recipient passes it on


class Problems(GrantsError):
    """Several fields were refused: ``errors``, each with its ``field``."""

    def __init__(self, errors: list[GrantsError]) -> None:
        self.errors = errors
        super().__init__(str(errors[0]))


class _Fields:
    """Runs each check of a field; the first refusal is raised, or with ``collect`` every
    one is kept (and the check's value is None)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.errors: list[GrantsError] = []

    def check(self, field: str, func: Callable[..., T], *args: Any) -> T:
        try:
            return func(*args)
        except GrantsError as exc:
            exc.field = field
            if not self.collect:
                raise
            self.errors.append(exc)
            return None  # type: ignore[return-value]

    def done(self) -> None:
        if self.errors:
            raise Problems(self.errors)


def tagged(field: str, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)``, any refusal marked as about ``field``."""
    return _Fields(False).check(field, func, *args)


def valid_code(value: str | None, what: str) -> str | None:
    if (value is not None and not CODE.match(value)) or (value is not None and len(value) > 40):
        raise GrantsError(
            f"{what} {value!r} is not a valid code: use capital letters, digits and '-', "
            "at most 40 characters"
        )
    return value


def optional_text(value: str | None, what: str, kind: Kind = Kind.VALUE) -> str | None:
    """An option checked as text (grants.text), if given: refused with its name if it holds
    a control or invisible character, or is too long; a name is NFC-normalised."""
    if value is None or not value.strip():
        return None  # an empty option is no option: no reason is not an empty reason
    return clean(value, what, kind)


def _share(share: str | None, what: str) -> Decimal | None:
    if share is None:
        return None
    try:
        value = Decimal(share.rstrip("%"))
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= 100:
        raise GrantsError(f"{what} {share!r} is not a percentage between 0% and 100%")
    return value


def _pence(amount: str) -> int:
    return to_pence(money(amount))


def _upper_code(line: str) -> str:
    return line.strip().upper() if CODE.match(line.strip().upper()) else line


def read_allocation(
    stream: str,
    year: str,
    line: str,
    amount: str,
    name: str | None = None,
    parent: str | None = None,
    recipient: str | None = None,
    share: str | None = None,
    over_allocate: bool = False,
    reason: str | None = None,
    source: str | None = None,
    names: Names = COMMAND_LINE,
    collect: bool = False,
) -> Allocation:
    """An allocation's fields, each checked in the order the command line always has."""
    f = _Fields(collect)
    stream = f.check("stream", clean, stream, names.stream)
    year = f.check("year", clean, year, names.year)
    amount = f.check("amount", clean, amount, names.amount)
    line = f.check("line", clean, line, names.line)
    name = f.check("name", optional_text, name, names.name, Kind.NAME)
    if line is not None:
        line = _upper_code(line)  # a code typed in any case; anything else refused below
    parent = f.check("parent", optional_text, parent, names.parent)
    recipient = f.check("recipient", optional_text, recipient, names.recipient)
    share = f.check("share", optional_text, share, names.share)
    reason = f.check("reason", optional_text, reason, names.reason, Kind.FREE)
    source = f.check("source", optional_text, source, names.source)
    period = f.check("year", parse_period, year) if year is not None else None
    share_value = f.check("share", _share, share, names.share)
    pence = f.check("amount", _pence, amount) if amount is not None else None
    code = f.check("line", valid_code, line, names.code)
    f.done()
    assert stream is not None and period is not None and code is not None and pence is not None
    return Allocation(stream, period, code, pence, name, parent, recipient, share_value,
                      over_allocate, reason, source)  # fmt: skip


def read_payment(
    stream: str,
    year: str,
    line: str,
    amount: str,
    reason: str | None = None,
    source: str | None = None,
    names: Names = COMMAND_LINE,
    collect: bool = False,
    passed_on_by: str | None = None,
) -> Payment:
    """A payment's fields, each checked in the order the command line always has.
    ``passed_on_by``: the line's parent, when its recipient passes the money on."""
    f = _Fields(collect)
    stream = f.check("stream", clean, stream, names.stream)
    year = f.check("year", clean, year, names.year)
    amount = f.check("amount", clean, amount, names.amount)
    line = f.check("line", clean, line, names.line)
    reason = f.check("reason", optional_text, reason, names.reason, Kind.FREE)
    source = f.check("source", optional_text, source, names.source)
    if passed_on_by is not None:
        passed_on_by = f.check("from", clean, passed_on_by, names.passed_on_by)
    period = f.check("year", parse_period, year) if year is not None else None
    pence = f.check("amount", _pence, amount) if amount is not None else None
    f.done()
    assert stream is not None and period is not None and line is not None and pence is not None
    return Payment(stream, period, line, pence, reason, source, passed_on_by)


@dataclass(frozen=True)
class Origin:
    """Who records, when, from where (``origin``: the command as typed, or the web page),
    and the entry's idempotency key (a new one for each command; fixed when a form is shown,
    so that sending the form twice records one entry)."""

    actor: str
    origin: str
    key: str
    day: date
    recorded_at: datetime


def record(session: Session, item: NewEntry) -> dict[str, Any]:
    """Record one entry; what to tell the person once the transaction has committed. An entry
    whose key is already in the journal (a form sent twice) is not recorded again: what is
    told is the entry recorded the first time, with ``again`` true."""
    result = record_entries(session, [item])
    again = not result.entry_ids
    if again:
        entry = session.execute(
            select(Entry).where(Entry.key == item.idempotency_key())
        ).scalar_one()
        _same(session, entry, item)
    else:
        entry = session.get(Entry, result.entry_ids[0])
    amount = from_pence(entry.amount_pence)
    if item.reverses:
        amount = -amount
    told: dict[str, Any] = {
        "entry": entry.id,
        "ref": entry.ref,
        "kind": entry.kind,
        "reverses": entry.reverses_id,
        "amount": f"{amount:.2f}",
        "actor": entry.actor,
        "warnings": [w for _, w in result.warnings]
        + list(repeated_payments(session, result.entry_ids).values()),
    }
    if again:
        told["again"] = True
    return told


def _same(session: Session, entry: Entry, item: NewEntry) -> None:
    """Refuse a form sent again with something changed: its key is the entry it recorded
    first, and a different entry needs a new form."""
    op = item.op
    line = session.scalar(select(Line.code).where(Line.id == entry.line_id))
    stream = session.scalar(select(Stream.code).where(Stream.id == entry.stream_id))
    if op is None or (entry.kind, stream, entry.first_year, entry.last_year, line,
                      entry.amount_pence, entry.day, entry.reason, entry.source, entry.share,
                      bool(entry.over_allocation)) != (
        op.kind, op.stream, op.period.first.start, op.period.last.start, op.line, op.amount,
        item.day, item.reason, item.source, share_text(item.share), bool(op.over_allocation),
    ):  # fmt: skip
        error = GrantsError(
            f"this form already recorded entry {entry.id} ({entry.ref}), which is not what it "
            "says now: nothing more was recorded; to record another entry, open a new form"
        )
        error.field = "key"
        raise error


def new_entry(origin: Origin, op: Operation | None, **kw: Any) -> NewEntry:
    return NewEntry(op, origin.day, origin.actor, origin.recorded_at, origin=origin.origin,
                    key=origin.key, **kw)  # fmt: skip


def allocate(
    session: Session, wanted: Allocation, origin: Origin, names: Names = COMMAND_LINE
) -> dict[str, Any]:
    """Allocate ``wanted.amount`` of the stream's award for the period to the line (or of
    its parent's allocation), creating the line when ``wanted.name`` is given and it is new.
    What to tell the person (`record`), with any warnings the new line's name gives."""
    op = Operation("allocate", wanted.stream, wanted.period, wanted.amount, line=wanted.line,
                   over_allocation=wanted.over_allocate)  # fmt: skip
    stream = tagged("stream", stream_code, session, wanted.stream, "any", "record")
    stream_row = session.execute(select(Stream).where(Stream.code == stream)).scalar_one()
    line = wanted.line
    if not wanted.name:  # an existing line, typed in any case
        line = tagged("line", line_code, session, stream, line, "record")
    parent = wanted.parent
    if parent:
        parent = tagged("parent", line_code, session, stream, parent, "record")
    recipient = wanted.recipient
    if recipient:
        recipient = tagged("recipient", organisation_code, session, recipient)
    op = replace(op, stream=stream, line=line)
    item = new_entry(origin, op, reason=wanted.reason, source=wanted.source, share=wanted.share)
    if session.scalar(select(Entry.id).where(Entry.key == item.idempotency_key())) is not None:
        return tagged("amount", record, session, item)  # a form sent again: what it recorded
    existing = session.execute(
        select(Line).where(Line.stream_id == stream_row.id, Line.code == line)
    ).scalar_one_or_none()
    warnings: list[str] = []
    name = wanted.name
    if existing is None and name:
        warnings = create_line(session, stream_row, line, name, parent, recipient, origin)
    elif existing is not None and name and " ".join(name.split()) != existing.name:
        error = GrantsError(
            f"line {line} already exists, named {existing.name!r} (perhaps just recorded "
            f"by someone else): leave out {names.name} to allocate to it, or choose another code"
        )
        error.field = "name"
        raise error
    elif existing is not None and (parent or recipient):
        error = GrantsError(
            f"line {line} already exists: {names.parent} and {names.recipient} are only for a "
            "new line"
        )
        error.field = "parent" if parent else "recipient"
        raise error
    told = tagged("amount", record, session, item)
    told["warnings"] = warnings + told["warnings"]
    return told


def create_line(
    session: Session,
    stream: Stream,
    code: str,
    name: str,
    parent: str | None,
    recipient: str | None,
    origin: Origin,
) -> list[str]:
    """Add the line; what is worth a warning (a name that looks like another line's)."""
    parent_id = recipient_id = None
    if parent:
        parent_id = session.execute(
            select(Line.id).where(Line.stream_id == stream.id, Line.code == parent)
        ).scalar_one_or_none()
        if parent_id is None:
            error = NotFound(f"stream {stream.code} has no line {parent!r} to be the parent")
            error.field = "parent"
            raise error
    if recipient:
        recipient_id = session.execute(
            select(Organisation.id).where(Organisation.code == recipient)
        ).scalar_one_or_none()
        if recipient_id is None:
            error = NotFound(f"there is no organisation {recipient!r}")
            error.field = "recipient"
            raise error
    session.add(
        Line(
            stream_id=stream.id,
            code=code,
            name=name,
            kind="allocation",
            parent_id=parent_id,
            recipient_id=recipient_id,
            day=origin.day,
            origin=origin.origin,
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


def pay(session: Session, wanted: Payment, origin: Origin) -> dict[str, Any]:
    """Record a payment to the line's recipient (never beyond what is allocated): the
    council's, or (``passed_on_by`` the line's parent) passed on by the parent's recipient."""
    op = Operation("pay", wanted.stream, wanted.period, wanted.amount, line=wanted.line)
    stream = tagged("stream", stream_code, session, wanted.stream, "any", "record")
    line = tagged("line", line_code, session, stream, wanted.line, "record")
    by = None
    if wanted.passed_on_by is not None:
        by = tagged("from", line_code, session, stream, wanted.passed_on_by, "record")
    op = replace(op, stream=stream, line=line, to_line=by)
    item = new_entry(origin, op, reason=wanted.reason, source=wanted.source)
    return tagged("amount", record, session, item)


def clawback(session: Session, wanted: Payment, origin: Origin) -> dict[str, Any]:
    """Record money recovered from the line's recipient: it reduces what was paid and what
    is allocated, and returns to the award or the parent line (never beyond what was
    paid). The same entry as the books' `clawback`."""
    op = Operation("clawback", wanted.stream, wanted.period, wanted.amount, line=wanted.line)
    stream = tagged("stream", stream_code, session, wanted.stream, "any", "record")
    line = tagged("line", line_code, session, stream, wanted.line, "record")
    op = replace(op, stream=stream, line=line)
    item = new_entry(origin, op, reason=wanted.reason, source=wanted.source)
    return tagged("amount", record, session, item)


FORM_KEY = re.compile(r"^[0-9a-f]{32}$")


def form_key() -> str:
    """A new entry's idempotency key, fixed when a form is shown: the form sent twice is
    the same entry, recorded once."""
    return uuid.uuid4().hex


def checked_form_key(value: str) -> str:
    """A form's key as sent back; refused unless it is one `form_key` makes."""
    if not FORM_KEY.match(value):
        error = GrantsError(
            "the form had no key or a damaged one, so it could be recorded twice: nothing was "
            "recorded; go back, reload the page and try again"
        )
        error.field = "key"
        raise error
    return value


# What an entry of each kind changes, as a line's figure.
FIGURE_OF_KIND = {"allocate": "allocated", "pay": "paid"}


@dataclass(frozen=True)
class RecordedEntry:
    """An entry as its confirmation shows it, with the line's figure it changed as it
    stands now (``figure``, ``now``)."""

    entry: int
    ref: str
    key: str
    kind: str
    day: date
    stream: str
    period: Period
    line: str | None
    line_name: str | None
    amount: Decimal
    figure: str | None
    now: Decimal | None
    actor: str
    reason: str | None
    source: str | None
    origin: str | None


def recorded_entry(session: Session, key: str) -> RecordedEntry:
    """The entry recorded under ``key`` (a form's); NotFound if there is none."""
    from grants.services.balances import Balances

    access.require(session, "record")
    found = session.execute(
        select(Entry, Stream.code, Line.code, Line.name)
        .join(Stream, Stream.id == Entry.stream_id)
        .outerjoin(Line, Line.id == Entry.line_id)
        .where(Entry.key == key)
    ).first()
    if found is None:
        raise NotFound(f"no entry was recorded under the key {key!r}")
    e, stream, line, line_name = found
    period = Period(FinancialYear(e.first_year), FinancialYear(e.last_year))
    figure = FIGURE_OF_KIND.get(e.kind) if line is not None else None
    now = None
    if figure is not None:
        pence = Balances(session, stream, period=period, lines=[line]).value(
            stream, period, figure, line
        )
        now = from_pence(pence or 0)
    return RecordedEntry(e.id, e.ref, e.key, e.kind, e.day, stream, period, line, line_name,
                         from_pence(e.amount_pence), figure, now, e.actor, e.reason, e.source,
                         e.origin)  # fmt: skip


__all__ = [
    "COMMAND_LINE",
    "FORM",
    "FORM_KEY",
    "Allocation",
    "Names",
    "Origin",
    "Payment",
    "Problems",
    "RecordedEntry",
    "allocate",
    "checked_form_key",
    "create_line",
    "form_key",
    "new_entry",
    "optional_text",
    "pay",
    "read_allocation",
    "read_payment",
    "record",
    "recorded_entry",
    "tagged",
    "valid_code",
]
