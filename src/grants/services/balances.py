"""Balances: every figure derived from the journal with one GROUP BY over the postings."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, select, true

from grants.db import bulk
from grants.errors import behind_its_back, not_in_ledger
from grants.formatting import SCALES
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access, balance_reads
from grants.services.account_span import of_span
from grants.services.balance_catalogue import Catalogue, LineNames
from grants.services.balance_reads import AccountRow, Wanted, account_sql
from grants.services.balance_table import table_rows
from grants.services.figure_entries import FigureEntries as FigureEntries
from grants.services.figure_entries import FigureEntry as FigureEntry
from grants.services.figure_entries import entries_behind as entries_behind
from grants.services.figures import (
    _ZERO,
    LINE_FIGURES,
    METRICS,
    ROLLED_UP,
    STREAM_FIGURES,
    BalanceRow,
    figure_of,
)
from grants.services.line_balances import LineBalances, LinesIn, LineTotals, has_role, roles_of
from grants.services.line_tree import beneath as beneath
from grants.services.line_tree import roll_up as roll_up
from grants.services.name_table import PackedNames

# The ORM and the models are imported by the reads that need them: balances read through
# SQLAlchemy Core alone (`grants report capital-programme`) need neither.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Balances:
    """All account balances of the journal (optionally of one stream), grouped by role."""

    def __init__(
        self,
        session: Session,
        stream: str | None = None,
        as_of: date | None = None,
        top_level_only: bool = False,
        stated_on: date | None = None,
        period: Period | None = None,
        lines: Collection[str] | None = None,
    ) -> None:
        """``as_of``: only entries dated before that day (a balance at the start of it).
        ``top_level_only``: the streams and their top-level lines, not the lines beneath.
        ``stated_on``: only statements dated on or before that day (the reports as of a day;
        the dashboard and reconcile take the latest statement whatever its day).
        ``period``: only the periods that overlap it. ``lines`` (of ``stream``): only the
        stream's own balances and those of these lines and every line beneath them (what
        their figures add up). Each narrowing is made in the query: only the postings
        wanted are read. The figures of what is read are the same as unnarrowed."""
        # Every read below is plain rows from one DBAPI cursor of the session's connection
        # (no result object for a query of a few rows, on reads of a few milliseconds); the
        # streams, lines and statements as kept while the ledger stands as it was read.
        catalogue = Catalogue(session.connection())
        try:
            streams = catalogue.streams()
            stream_id = None
            if stream is not None:
                stream_id = next((i for i, code in streams.items() if code == stream), 0)
            line_ids = None
            if lines is not None:
                line_ids = _lines_beneath(session, stream_id or 0, lines)
            # The stream's own balances by role of each stream and period.
            self.periods: dict[tuple[str, Period], dict[str, int]] = {}
            # Each stream and period's lines' balances as read (LineTotals).
            self.line_totals: dict[tuple[str, Period], LineTotals] = {}
            self._of_lines: dict[tuple[str, Period], dict[int, dict[str, int]]] | None = None
            self._by_line: dict[tuple[str, int, int, str], dict[str, int]] | None = None
            self._lines_in: LinesIn | None = None
            key_of = stream if stream_id and catalogue.sqlite else None
            wanted = Wanted(stream_id, period, line_ids, top_level_only, as_of, key_of)
            with _no_gc():  # what is made of the rows: many small objects, no cycles
                # Grouped as they are fetched, a chunk at a time (the rows of a national
                # funder's ledger, two accounts a grant, would otherwise be held whole).
                self._group(catalogue.each(account_sql(wanted)), streams)  # type: ignore[arg-type]
                # Each line's code, name and parent's code (shared between reads: read only).
                self.names: LineNames = catalogue.line_names(stream_id) if self.periods else {}
                if stream_id:
                    self._only_of(streams[stream_id])
                else:
                    self._every_line_known()
            # Each line's balances summed with those of every line beneath it (by period key).
            self._rolled: dict[tuple[str, Period], dict[str, dict[str, int]]] = {}
            self.stated: dict[tuple[str, Period], int] = catalogue.stated(
                streams, stream_id, stated_on
            )
        finally:
            catalogue.close()

    def _group(self, rows: Iterable[AccountRow], streams: dict[int, str]) -> None:
        """Each account's balance into its stream's or line's balances by role: one pass
        over the rows, a dictionary of roles for each stream and period (keyed by its one
        integer, account_span.SPAN) and for each line (LineTotals: a line allocated to and
        nothing more, its allocated balance alone; with one role more, the two in a tuple)."""
        spans: dict[int | None, tuple[dict[str, int], LineTotals]] = {}
        previous: object = _NOTHING  # the span of the row before: a span's accounts mostly follow
        own: dict[str, int] = {}  # one another (made together), so each is looked up once
        lines: LineTotals = {}
        # Each role's text once: a line's balances by role keep it, and each row brings its own.
        texts: dict[str, str] = {}
        for span_key, role, line_id, total in rows:
            if span_key != previous:
                span = spans.get(span_key)
                if span is None:
                    of_span(span_key)  # refused here if it is not one the ledger makes
                    span = spans[span_key] = ({}, {})
                own, lines = span
                previous = span_key
            if total is None:  # postings of no amount (NOT NULL dropped behind its back)
                raise behind_its_back("an account's postings add up to no amount")
            if line_id is None:  # a stream's accounts are one a role (the sum keeps it plain)
                own[role] = own.get(role, 0) + total
            else:
                role = texts.setdefault(role, role)
                roles = lines.get(line_id)
                if roles is None:
                    lines[line_id] = total if role == "allocated" else {role: total}
                elif roles.__class__ is int:  # its allocated balance, and now another
                    lines[line_id] = (roles, role, total)  # type: ignore[assignment]
                elif roles.__class__ is tuple:  # and a third: a dictionary
                    held = lines[line_id] = roles_of(roles)
                    held[role] = total
                else:
                    roles[role] = total  # type: ignore[index]
        periods: dict[int, Period] = {}
        for span_key, (own, lines) in spans.items():
            stream_id, first, last = of_span(span_key)
            years = first * 10_000 + last
            period = periods.get(years)
            if period is None:
                period = periods[years] = Period(FinancialYear(first), FinancialYear(last))
            if stream_id not in streams:
                spanned = (of_span(k)[0] for k in spans)
                raise not_in_ledger("an account", "stream", spanned, streams)
            key = (streams[stream_id], period)
            self.periods[key] = own
            self.line_totals[key] = lines

    def _only_of(self, stream: str) -> None:
        """A read of one stream holds only that stream's accounts and lines, as the ledger
        posts them: an entry of the stream posting to another stream's account (read as of
        a day, the stream's entries are read), or an account of the stream for another
        stream's line, was made behind the ledger's back. Its figures cannot be told apart
        from the stream's: the read stops, naming what it found, rather than show them."""
        found = ""
        for other, _ in self.periods:
            if other != stream:
                found = f"an entry of {stream} posts to an account of {other}"
                break
        else:
            for lines in self.line_totals.values():
                if not _all_named(self.names, lines):
                    found = f"an account of {stream} is for a line {stream} does not have"
                    break
        if found:
            raise behind_its_back(found)

    def _every_line_known(self) -> None:
        """A read of every stream holds only accounts of lines the ledger has, as it posts
        them: an account made to name another (behind the ledger's back, its foreign key
        dropped) would leave its line's figures out of every line's and stop any read of
        the lines. The read stops, naming the least such line (of any period: the order
        the periods are read in is the database's)."""
        names = self.names
        unknown = [lines for lines in self.line_totals.values() if not _all_named(names, lines)]
        if unknown:
            ids = (i for lines in unknown for i in lines)
            raise not_in_ledger("an account", "line", ids, names)  # type: ignore[arg-type]

    @property
    def of_lines(self) -> dict[tuple[str, Period], dict[int, dict[str, int]]]:
        """Each stream and period's lines' balances by role, by line id."""
        if self._of_lines is None:
            self._of_lines = {
                key: {i: roles_of(roles) for i, roles in lines.items()}
                for key, lines in self.line_totals.items()
            }
        return self._of_lines

    @property
    def by_line(self) -> dict[tuple[str, int, int, str], dict[str, int]]:
        """Balances by role of each line, keyed (stream, first year, last year, line code)."""
        if self._by_line is None:
            names = self.names
            codes = (
                names.codes
                if isinstance(names, PackedNames)
                else lambda ids: (names[i][0] for i in ids)
            )
            self._by_line = {
                (stream, period.first.start, period.last.start, code): roles
                for (stream, period), lines in self.of_lines.items()
                for code, roles in zip(codes(lines), lines.values(), strict=True)
            }
        return self._by_line

    @property
    def lines_in(self) -> Mapping[tuple[str, Period], list[LineBalances]]:
        """For each stream and period, its lines in the order they were declared: (line id,
        code, name, parent's code, balances by role). Each period's list is made when first
        asked for (line_balances.LinesIn)."""
        if self._lines_in is None:
            self._lines_in = LinesIn(self.line_totals, self.names)
        return self._lines_in

    @cached_property
    def nested(self) -> bool:
        """Whether any of the lines whose names were read (every line of the stream, or of
        every stream) has a parent."""
        names = self.names
        if isinstance(names, PackedNames):
            return names.nested()
        return any(parent is not None for _, _, parent in names.values())

    def lines_having(self, stream: str, period: Period, role: str) -> Iterator[LineBalances]:
        """The period's lines that have a balance of ``role``, as :attr:`lines_in` gives
        them: each line's names made only for those (a national funder's lines have no
        commitments)."""
        lines, names = self.line_totals.get((stream, period), {}), self.names
        for i in sorted(lines):
            roles = lines[i]
            if has_role(roles, role):
                code, name, parent = names[i]
                yield i, code, name, parent, roles_of(roles)

    def lines_of_both(
        self, stream: str, before: Period, after: Period
    ) -> Iterator[tuple[str, str | None, int, int]]:
        """The lines of ``after`` that ``before`` has too (a line of the same code and
        parent's code; the last by id of a code twice), in the order declared: each one's
        code, parent's code and allocated balance in each. Only theirs made whole: a
        national funder's grants are each of one year."""
        names = self.names
        then, now = self.line_totals[(stream, before)], self.line_totals[(stream, after)]
        earlier = {names[i][0]: i for i in sorted(then)}
        for i in sorted(now):
            code, _, parent = names[i]
            was = earlier.get(code)
            if was is not None and names[was][2] == parent:
                yield (code, parent, roles_of(then[was]).get("allocated", 0),
                       roles_of(now[i]).get("allocated", 0))  # fmt: skip

    # -- metrics --------------------------------------------------------------------------

    def has_line(self, stream: str, period: Period, line: str) -> bool:
        """Whether anything was ever posted for the line in the period."""
        return (stream, period.first.start, period.last.start, line) in self.by_line

    def tranches(self, stream: str, period: Period) -> set[str]:
        roles = self.periods.get((stream, period), {})
        return {role.partition(":")[2] for role in roles if role.startswith("funder:")}

    def value(self, stream: str, period: Period, metric: str, target: str | None) -> int | None:
        """A metric in pence (see grants.services.rules for what each balance means).

        ``target`` is a tranche (for ``awarded``) or a line; ``A+B+C`` sums several.
        """
        if target and "+" in target:
            parts = [self.value(stream, period, metric, t) for t in target.split("+")]
            return None if any(p is None for p in parts) else sum(p or 0 for p in parts)
        if metric == "awarded" and target:
            return -self.periods.get((stream, period), {}).get("funder:" + target, 0)
        if metric == "stated":
            return self.stated.get((stream, period))
        if target is None:
            if metric not in STREAM_FIGURES:
                raise ValueError(f"unknown metric {metric!r}")
            return figure_of(STREAM_FIGURES[metric], self.periods.get((stream, period), {}))
        if metric not in LINE_FIGURES:
            raise ValueError(f"unknown metric {metric!r}")
        if metric in ROLLED_UP:
            roles = self.rolled(stream, period).get(target, {})
        else:
            roles = self.by_line.get((stream, period.first.start, period.last.start, target), {})
        return figure_of(LINE_FIGURES[metric], roles)

    def rolled(self, stream: str, period: Period) -> dict[str, dict[str, int]]:
        """Each line's balances by role added up with those of every line beneath it."""
        key = (stream, period)
        done = self._rolled.get(key)
        if done is None:
            members = self.lines_in.get(key, [])
            if all(m[3] is None for m in members):  # no line beneath another: their own
                done = {code: roles for _, code, _, _, roles in members}
            else:
                done = roll_up(
                    {code: parent for _, code, _, parent, _ in members},
                    {code: roles for _, code, _, _, roles in members},
                )
            self._rolled[key] = done
        return done

    def within(self, stream: str, period: Period, metric: str, target: str | None) -> int | None:
        """A metric summed over every period of the stream inside ``period`` (a figure the
        council printed for a range of years covers the accounts of each year in it, and of
        any shorter range in it, as well as those of exactly that range)."""
        first, last = period.first.start, period.last.start
        known = self.stated if metric == "stated" else self.periods
        inside = [p for s, p in known if s == stream and first <= p.first.start]
        inside = [p for p in inside if p.last.start <= last]
        if not inside:
            return self.value(stream, period, metric, target)
        parts = [self.value(stream, p, metric, target) for p in inside]
        known_parts = [p for p in parts if p is not None]
        return sum(known_parts) if known_parts else None

    def rows(self, period_filter: Period | None = None) -> list[BalanceRow]:
        """Rows for `grants balance`: each stream and period, then each of its lines."""
        with _no_gc():
            return table_rows(self, period_filter)


def _all_named(names: LineNames, lines: LineTotals) -> bool:
    """Whether every line of ``lines`` has its names in ``names``."""
    if isinstance(names, PackedNames):
        return names.has_all(lines)
    return names.keys() >= lines.keys()


def _lines_beneath(session: Session, stream_id: int, codes: Collection[str]) -> frozenset[int]:
    """The ids of the stream's lines ``codes`` and of every line beneath them."""
    from grants.db.models import Line

    known = session.execute(
        select(Line.id, Line.code, Line.parent_id).where(Line.stream_id == stream_id)
    ).all()
    code_of = {i: code for i, code, _ in known}
    tree = {code: code_of.get(parent) for _, code, parent in known}
    wanted: set[str] = set()
    for code in codes:
        if code in tree:
            wanted |= beneath(tree, code)
    return frozenset(i for i, code, _ in known if code in wanted)


_NOTHING = object()


def _no_gc() -> contextlib.AbstractContextManager[None]:
    """Pause the cyclic garbage collector while building tens of thousands of small objects
    that hold no cycles (it would otherwise run over all of them again and again), where the
    process has one thread (grants.db.bulk.no_cycle_collection)."""
    return bulk.no_cycle_collection(0, at_least=0)


_RULES = {"half-up": (ROUND_HALF_UP,), "down": (ROUND_DOWN,), "up": (ROUND_UP,),
          "any": (ROUND_HALF_UP, ROUND_DOWN, ROUND_UP)}  # fmt: skip


def compare(
    actual_pence: int | None, amount: str, scale: str, rounding: str | None = None
) -> tuple[bool, Decimal | None]:
    """Does a ledger figure match one written as ``amount`` in ``scale``, rounded to the
    places written by ``rounding`` (half-up unless the books say how: down cuts towards
    zero, up rounds away from it, any accepts either)? Returns (matches, the ledger figure in
    that scale, rounded as the figure was: half-up for ``any`` unless another way matches)."""
    if actual_pence is None:
        return False, None
    written = Decimal(amount.replace(",", "").replace("£", ""))
    places = max(0, -written.as_tuple().exponent)  # type: ignore[operator]
    quantum = Decimal(1).scaleb(-places)
    exact = from_pence(actual_pence) / SCALES[scale]
    shown = [exact.quantize(quantum, rounding=rule) for rule in _RULES[rounding or "half-up"]]
    return written in shown, written if written in shown else shown[0]


def day_after(on: date | None) -> date | None:
    """The first day not counted in balances as they stood at the end of ``on`` (None: every
    day counted, as for no day or the last day a date can be, which has no day after)."""
    if on is None or on >= date.max:
        return None
    return on + timedelta(days=1)


def through(column: Any, on: date | None) -> ColumnElement[bool]:
    """The as-of rule as a condition on a record's day (an entry's date, the day a return
    or plan form was received, a statement's or programme version's day): a record counts
    in the ledger as it stood at the end of ``on`` when its day is ``on`` or earlier,
    whenever it was recorded; every record counts when ``on`` is None. (Balances take the
    same rule as the first day not counted: ``day_after``.)"""
    return true() if on is None else column <= on


def as_it_stood(
    session: Session, stream: str | None, on: date | None, top_level_only: bool = False
) -> Balances:
    """The balances a report as of ``on`` reads (every report's one way to read them): the
    entries dated on or before it and the statements dated on or before it (all, when
    None)."""
    return read(session, stream, day_after(on), top_level_only, stated_on=on)


def read(
    session: Session,
    stream: str | None = None,
    as_of: date | None = None,
    top_level_only: bool = False,
    stated_on: date | None = None,
) -> Balances:
    """:class:`Balances` (the same arguments), read once within a
    :func:`grants.services.balance_reads.shared` block and the same answer again after,
    while nothing new is posted or stated: a command that writes many reports of one stream
    reads its balances as of each day once."""
    key = ("balances", stream, as_of, top_level_only, stated_on)
    found = balance_reads.cached(session, key)
    if found is None:
        found = Balances(session, stream, as_of, top_level_only, stated_on)
        balance_reads.keep(session, key, found)
    return found


def balance_rows(
    session: Session,
    stream: str | None = None,
    period: Period | None = None,
    on: date | None = None,
) -> list[BalanceRow]:
    """`grants balance` for the person acting (as the ledger stood at the end of the day
    ``on``, when given: entries dated after it not counted): every row; for a recipient, its
    own lines beneath a heading for each stream and period whose figures are its lines' own (what
    was awarded and stated for the stream, and what stands unallocated, are not its), and
    a parent line it cannot see shown as none."""
    access.require(session, "read")
    rows = Balances(session, stream, as_of=day_after(on), period=period).rows(period)
    seen = access.visible_lines(session)
    if seen is None:
        return rows
    from grants.db.models import Line, Stream

    mine = set(
        session.execute(
            select(Stream.code, Line.code)
            .join(Line, Line.stream_id == Stream.id)
            .where(Line.id.in_(seen))
        ).all()
    )
    own: dict[tuple[str, Period], list[BalanceRow]] = {}
    for r in rows:
        if r.line is not None and (r.stream, r.line) in mine:
            if (r.stream, r.parent) not in mine:  # a line it cannot see is not named to it
                r = r._replace(parent=None)
            own.setdefault((r.stream, r.period), []).append(r)
    out: list[BalanceRow] = []
    for (code, span), lines in own.items():  # in the order of the rows: by stream, period
        codes = {r.line for r in lines}
        top = [r for r in lines if r.parent not in codes]  # beneath none of its own lines
        out.append(
            BalanceRow(
                code, span, None, "", None, None, None,
                sum((r.allocated for r in top), _ZERO), None,  # a top line's figures
                sum((r.paid for r in top), _ZERO), sum((r.reported for r in top), _ZERO),
            )
        )  # fmt: skip
        out.extend(lines)
    return out


FIGURES = METRICS
