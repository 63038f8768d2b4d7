"""The entries behind a figure of `grants balance`: each journal entry posted to the accounts
the figure is made of (grants.services.balances' recipes), with what it added."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from grants.errors import NotFound
from grants.periods import Period
from grants.services import access

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class FigureEntry(NamedTuple):
    """An entry behind a figure: what it added to the figure (``amount``), and where it came
    from (``origin``: the books' file and line, the command, or the workbook received)."""

    entry: int
    ref: str
    key: str
    day: date
    kind: str
    reverses: int | None
    line: str | None
    to_line: str | None
    amount: Decimal
    actor: str
    reason: str | None
    source: str | None
    origin: str | None


class FigureEntries(NamedTuple):
    stream: str
    period: Period
    line: str | None
    figure: str
    entries: list[FigureEntry]
    total: Decimal | None  # the figure (None: no figure stated)


def entries_behind(
    session: Session,
    stream: str,
    period: Period,
    line: str | None,
    figure: str,
    on: date | None = None,
) -> FigureEntries:
    """The journal entries that make one figure of `grants balance` (of the stream and
    period, or of its line), as the ledger stood at the end of the day ``on`` when given:
    each entry posted to the accounts the figure is made of (STREAM_FIGURES, LINE_FIGURES),
    with what it added; they add up to the figure. ``stated`` is the funder's statement that
    stands (the latest), not an entry. NotFound for a stream, line or figure there is none
    of."""
    # Read here: grants.services.balances, which these recipes are, imports this module (its
    # callers find entries_behind there).
    from grants.db.models import Account, Entry, Line, Posting, Stream
    from grants.services.balances import FIGURES, Balances, beneath
    from grants.services.figures import (
        _ZERO,
        LINE_FIGURES,
        ROLLED_UP,
        STREAM_FIGURES,
        sign_in,
    )
    from grants.services.figures import pounds as _d

    access.require(session, "report")
    recipes = LINE_FIGURES if line is not None else STREAM_FIGURES
    if figure not in FIGURES or (figure != "stated" and figure not in recipes):
        raise NotFound(f"there is no figure {figure!r}: choose one of {', '.join(recipes)}")
    stream_id = session.scalar(select(Stream.id).where(Stream.code == stream))
    if stream_id is None:
        raise NotFound(f"there is no funding stream {stream!r}")
    line_id = None
    if line is not None:
        line_id = session.scalar(select(Line.id).where(Line.stream_id == stream_id,
                                                       Line.code == line))  # fmt: skip
        if line_id is None:
            raise NotFound(f"stream {stream} has no line {line!r}")
    first, last = period.first.start, period.last.start
    if figure == "stated":
        if line is not None:
            raise NotFound("a line has no stated figure: the funder states the stream's")
        stated = Balances(session, stream, period=period).value(stream, period, "stated", None)
        return FigureEntries(stream, period, None, figure, [],
                             None if stated is None else _d(stated))  # fmt: skip
    recipe = recipes[figure]
    accounts = select(Account.id, Account.role).where(
        Account.stream_id == stream_id, Account.first_year == first, Account.last_year == last
    )
    if line_id is not None and figure in ROLLED_UP:  # the line's and those beneath it
        known = session.execute(
            select(Line.id, Line.code, Line.parent_id).where(Line.stream_id == stream_id)
        ).all()
        code_of = {i: code for i, code, _ in known}
        tree = {code: code_of.get(parent) for _, code, parent in known}
        wanted = beneath(tree, line)
        accounts = accounts.where(Account.line_id.in_([i for i, c, _ in known if c in wanted]))
    else:
        accounts = accounts.where(
            Account.line_id == line_id if line_id is not None else Account.line_id.is_(None)
        )
    signs = {i: sign_in(recipe, role) for i, role in session.execute(accounts)}
    signs = {i: s for i, s in signs.items() if s}
    added: dict[int, int] = {}
    if signs:
        query = (
            select(Posting.entry_id, Posting.account_id, Posting.amount_pence)
            .join(Entry, Entry.id == Posting.entry_id)
            .where(Posting.account_id.in_(signs))
        )
        if on is not None:
            query = query.where(Entry.day <= on)
        for entry_id, account_id, pence in session.execute(query):
            added[entry_id] = added.get(entry_id, 0) + signs[account_id] * pence
    ids = sorted(i for i, pence in added.items() if pence)
    lines = select(Line.id, Line.code).where(Line.stream_id == stream_id)
    codes = {i: code for i, code in session.execute(lines)}
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for e in session.scalars(select(Entry).where(Entry.id.in_(chunk)).order_by(Entry.id)):
            rows.append(
                FigureEntry(
                    e.id, e.ref, e.key, e.day, e.kind, e.reverses_id, codes.get(e.line_id),
                    codes.get(e.to_line_id), _d(added[e.id]), e.actor, e.reason, e.source,
                    e.origin,
                )
            )  # fmt: skip
    total = sum((r.amount for r in rows), _ZERO)
    return FigureEntries(stream, period, line, figure, rows, total)
