"""The regranting chain: funder -> accountable body -> each line of the tree with its
recipient (partnership, recipient, project), with what was awarded, committed, paid and spent
at each level, reconciled level by level.

Every figure is a balance of the journal (grants.services.balances): a line's committed, paid
and spent are its branch's, its own and every line's beneath it, so each level includes the
levels below it and money passed on from a parent to a child counts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from grants.db.models import Line, Organisation, Stream
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import Period
from grants.services import access
from grants.services.balances import Balances, day_after

# The figures of each level, in the order they are shown.
FIGURES = ("awarded", "committed", "paid", "spent")


class ChainRow(NamedTuple):
    """One level of the chain of a stream and period. ``depth`` 0 is the funder, 1 the
    accountable body, 2 on the lines (2: a top-level line). ``line`` is None for the funder
    and the accountable body. A figure is None where the person may not see it (a
    recipient is not shown the stream's own figures) or the level has none (the funder's
    committed, paid and spent are the accountable body's to claim, not recorded here)."""

    stream: str
    period: Period
    depth: int
    # funder, accountable body; a line: project (its kind), partnership (it grants on to
    # lines beneath it) or recipient
    level: str
    line: str | None
    name: str
    organisation: str | None  # the organisation's code
    organisation_name: str | None
    awarded: Decimal | None
    committed: Decimal | None
    paid: Decimal | None
    spent: Decimal | None
    passed_on: Decimal | None  # what the line's recipient passed on to its children's
    flags: tuple[str, ...]  # where the level does not reconcile, with the figures


def chain_rows(
    session: Session,
    stream: str | None = None,
    period: Period | None = None,
    on: date | None = None,
) -> Iterator[ChainRow]:
    """The chain of each stream (or ``stream``) and period (overlapping ``period``), as the
    ledger stood at the end of the day ``on`` when given. A recipient sees the funder and
    accountable body by name only, and beneath them its own organisations' lines (and the
    lines beneath those), its top lines at the depth of a top-level line.

    Everything is read from the ledger here; the rows are made a stream and period at a
    time as they are taken, which may be after the session is closed (a national funder's
    chain is a row a line, some 1.4 KB each)."""
    access.require(session, "read")
    balances = Balances(session, stream, as_of=day_after(on))
    seen = access.visible_lines(session)
    info = _lines(session, stream)
    orgs = _stream_orgs(session)
    return _chains(balances, period, seen, info, orgs)


def _chains(
    balances: Balances,
    period: Period | None,
    seen: set[int] | None,
    info: dict[tuple[str, str], tuple[int, str, str, str | None, str | None, str | None]],
    orgs: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]],
) -> Iterator[ChainRow]:
    for code, span in sorted(balances.periods):
        if period is not None and not span.overlaps(period):
            continue
        members = [(line, parent) for _, line, _, parent, _ in balances.lines_in[(code, span)]]
        if seen is not None:
            members = [(c, p) for c, p in members if info[(code, c)][0] in seen]
            if not members:
                continue
        yield from _stream_chain(balances, code, span, members, info, orgs, seen is None)


def _stream_chain(
    balances: Balances,
    stream: str,
    span: Period,
    members: list[tuple[str, str | None]],
    info: dict[tuple[str, str], tuple[int, str, str, str | None, str | None, str | None]],
    orgs: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]],
    whole: bool,
) -> list[ChainRow]:
    rolled = balances.rolled(stream, span)
    codes = {c for c, _ in members}
    children: dict[str | None, list[str]] = {}
    for c, p in members:
        children.setdefault(p if p in codes else None, []).append(c)

    def pence(metric: str, line: str | None) -> int:
        return balances.value(stream, span, metric, line) or 0

    def own(line: str) -> dict[str, int]:  # the line's own balances, not its branch's
        return balances.by_line.get((stream, span.first.start, span.last.start, line), {})

    def figures(line: str) -> dict[str, int]:
        roles = rolled.get(line, {})
        return {"awarded": pence("allocated", line), "committed": roles.get("committed", 0),
                "paid": pence("paid", line), "spent": pence("reported", line),
                "passed_on": -own(line).get("passed", 0),
                # what the line may be paid: its allocation with underspend carried out or in
                "payable": pence("allocated", line) + own(line).get("carried", 0)
                + own(line).get("carried-in", 0)}  # fmt: skip

    lines = {c: figures(c) for c in codes}
    top = children.get(None, [])
    body = {"awarded": pence("awarded", None),
            "committed": sum(lines[c]["committed"] for c in top),
            "paid": pence("paid", None), "spent": pence("reported", None),
            "passed_on": 0}  # fmt: skip
    funder, accountable = orgs.get(stream, (None, None))
    rows = [
        _row(stream, span, 0, "funder", None, funder, {"awarded": body["awarded"]} if whole
             else {}, ()),
        _row(stream, span, 1, "accountable body", None, accountable, body if whole else {},
             _flags(body, [lines[c] for c in top]) if whole else ()),
    ]  # fmt: skip

    def walk(line: str, depth: int) -> None:
        _, name, kind, org, org_name, _ = info[(stream, line)]
        below = children.get(line, [])
        level = "project" if kind == "project" else "partnership" if below else "recipient"
        rows.append(
            ChainRow(
                stream, span, depth, level, line, name, org, org_name,
                *(_d(lines[line][f]) for f in FIGURES), _d(lines[line]["passed_on"]),
                _flags(lines[line], [lines[c] for c in below]),
            )
        )  # fmt: skip
        for child in below:
            walk(child, depth + 1)

    for line in top:
        walk(line, 2)
    return rows


def _flags(own: dict[str, int], below: list[dict[str, int]]) -> tuple[str, ...]:
    """Where a level does not reconcile: its children's sum of a figure beyond its own, or
    more paid than awarded."""
    out = []
    for figure in FIGURES:
        total = sum(b[figure] for b in below)
        if below and total > own[figure]:
            out.append(
                f"the levels beneath add up to {_money(total)} {figure}, more than the "
                f"{_money(own[figure])} {figure} here"
            )
    payable = own.get("payable", own["awarded"])
    if own["paid"] > payable:
        carried = "" if payable == own["awarded"] else " with the underspend carried"
        out.append(
            f"paid {_money(own['paid'])}, beyond the {_money(payable)} awarded{carried}, by "
            f"{_money(own['paid'] - payable)}"
        )
    return tuple(out)


def _row(
    stream: str,
    span: Period,
    depth: int,
    level: str,
    line: str | None,
    org: tuple[str, str] | None,
    figures: dict[str, int],
    flags: tuple[str, ...],
) -> ChainRow:
    code, name = org if org is not None else (None, "not recorded")
    return ChainRow(
        stream, span, depth, level, line, name, code, name if org is not None else None,
        *(_d(figures[f]) if f in figures else None for f in FIGURES), None, flags,
    )  # fmt: skip


def _d(pence: int) -> Decimal:
    return from_pence(pence)


def _money(pence: int) -> str:
    return gbp(from_pence(pence))


def _lines(
    session: Session, stream: str | None
) -> dict[tuple[str, str], tuple[int, str, str, str | None, str | None, str | None]]:
    """(stream, line) -> (id, name, kind, recipient code, recipient name, recipient role)."""
    query = (
        select(Stream.code, Line.code, Line.id, Line.name, Line.kind, Organisation.code,
               Organisation.name, Organisation.role)
        .join(Stream, Stream.id == Line.stream_id)
        .outerjoin(Organisation, Organisation.id == Line.recipient_id)
    )  # fmt: skip
    if stream is not None:
        query = query.where(Stream.code == stream)
    return {(s, c): (i, n, k, o, on, r) for s, c, i, n, k, o, on, r in session.execute(query)}


def _stream_orgs(
    session: Session,
) -> dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]]:
    """Each stream's funder and accountable body, as (code, name)."""
    funder, accountable = aliased(Organisation), aliased(Organisation)
    query = (
        select(Stream.code, funder.code, funder.name, accountable.code, accountable.name)
        .outerjoin(funder, funder.id == Stream.funder_id)
        .outerjoin(accountable, accountable.id == Stream.accountable_id)
    )
    return {
        s: ((fc, fn) if fc else None, (ac, an) if ac else None)
        for s, fc, fn, ac, an in session.execute(query)
    }


__all__ = ["FIGURES", "ChainRow", "chain_rows"]
