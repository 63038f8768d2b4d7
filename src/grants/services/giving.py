"""The ledger's allocations as grants in the 360Giving Data Standard (a data package).

Every line's allocation for a period is one grant, from the journal as it stands: the amount
is what the line holds allocated (after virements, clawbacks and reversals), the payments are
its `pay` entries (those not reversed), and a line whose allocation passes on to lines
beneath it is a regrant (``FRG010``, a common regrant, of the standard's regrantType list),
so that each level of a chain is a grant of its own, made by the organisation above it.

Identifiers come from the books only (`org-id`): an organisation the books give none is
identified with the publisher's prefix and its code, as the standard says to when there is no
external identifier, and `GivingExport.unidentified` names it so that the export can say so.
Docs: docs/360giving.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from grants.db.models import (
    Account,
    Commitment,
    Entry,
    Line,
    Organisation,
    Setting,
    Stream,
)
from grants.errors import GrantsError, NotFound
from grants.ledger.giving_books import PREFIX
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access, streams
from grants.services.balances import Balances
from grants.services.settings import ledger_name

# The prefix when neither the option nor the books give one: plainly not a registered one.
DEFAULT_PREFIX = "360G-UNREGISTERED"
VERSION = "1.4"  # the standard's version, major.minor, as the package schema asks
REGRANT = "FRG010"  # Common Regrant: to one grant-maker, to pass on as grants


@dataclass
class GivingExport:
    """A 360Giving data package made grant by grant, so that a funder of any size can be
    published without holding its grants: ``fields`` is every field of the package but its
    grants (plain JSON values), ``grants`` yields the grants one at a time (plain JSON values
    but for amounts, which are Decimal) and must be read in the session that made the export.
    Once every grant has been read, the rest is complete: how many there were, the
    organisations with no identifier, the lines left out (and why) and what the top-level
    grants award."""

    fields: dict[str, Any]
    grants: Iterator[dict[str, Any]]
    prefix: str
    prefix_from: str
    streams: list[str] = field(default_factory=list)  # the codes of the streams, in turn
    count: int = 0
    unidentified: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    # What the grants not inside another grant award: the money that leaves the streams (a
    # regrant's lines' amounts are inside its own; a line's beneath a heading not published
    # are not).
    top_level: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class _Org:
    code: str
    name: str


@dataclass(frozen=True)
class _Line:
    id: int
    code: str
    name: str
    parent_id: int | None
    recipient_id: int | None


def _settings(session: Session) -> dict[str, str]:
    """Each setting's latest value; `org-id` by organisation (``org-id OCC``)."""
    latest: dict[str, str] = {}
    for name, value in session.execute(select(Setting.name, Setting.value).order_by(Setting.id)):
        if name == "org-id":
            org, _, identifier = value.partition(" ")
            latest[f"org-id {org}"] = identifier
        else:
            latest[name] = value
    return latest


def _prefix(typed: str | None, settings: dict[str, str]) -> tuple[str, str]:
    if typed is not None:
        if not PREFIX.match(typed):
            raise GrantsError(
                f"--prefix: {typed!r} is not a 360Giving prefix: give `360G-` (in capitals) "
                "and letters, digits and single hyphens, not ending in one: the prefix "
                "360Giving registered for the publisher (e.g. 360G-OCC)"
            )
        return typed, "--prefix"
    if "360giving-prefix" in settings:
        return settings["360giving-prefix"], "the books (setting 360giving-prefix)"
    return DEFAULT_PREFIX, "the default (no setting 360giving-prefix in the books)"


def _slug(period: Period) -> str:
    return period.render("-").replace(":", "-")


def giving_package(
    session: Session,
    stream: str | None = None,
    period: Period | None = None,
    prefix: str | None = None,
    today: date | None = None,
) -> GivingExport:
    """The 360Giving package of every allocation (of ``stream``, and of periods overlapping
    ``period``, when given), for an officer or a viewer. NotFound for an unknown stream or
    when nothing is left to publish; reading the grants to their end raises GrantsError if
    two had one id."""
    access.require(session, "report")
    code = streams.stream_code(session, stream, work="report") if stream is not None else None
    settings = _settings(session)
    used, used_from = _prefix(prefix, settings)
    name = ledger_name(session)
    publisher: dict[str, str] = {"name": name}
    publisher_org = settings.get("360giving-publisher")
    if publisher_org and f"org-id {publisher_org}" in settings:
        publisher["identifier"] = settings[f"org-id {publisher_org}"]
    scope = (code or "every stream") + (f", {period}" if period else "")
    fields = {
        "version": VERSION,
        "title": f"{name}: grants ({scope})",
        "description": f"Allocations recorded in the ledger of {name} ({scope}), one grant "
        "for each line's allocation for a financial year, with its payments.",
        "issued": (today or date.today()).isoformat(),
        "publisher": publisher,
    }
    query = select(Stream).order_by(Stream.id)
    wanted = list(session.scalars(query if code is None else query.where(Stream.code == code)))
    result = GivingExport(fields, iter(()), used, used_from, streams=[s.code for s in wanted])
    grants = _grants(session, result, wanted, code, period, settings)
    first = next(grants)  # NotFound now, before anything is written, if there are no grants
    result.grants = itertools.chain((first,), grants)
    return result


def _grants(
    session: Session,
    result: GivingExport,
    wanted: list[Stream],
    code: str | None,
    period: Period | None,
    settings: dict[str, str],
) -> Iterator[dict[str, Any]]:
    """Every stream's grants in turn; once they are all made, GrantsError if two had one id
    (naming the first such id in order), NotFound if there were none."""
    orgs = {i: _Org(c, n) for i, c, n in session.execute(
        select(Organisation.id, Organisation.code, Organisation.name))}  # fmt: skip
    unidentified: dict[str, str] = {}

    def org(org_id: int) -> dict[str, str]:
        o = orgs[org_id]
        identifier = settings.get(f"org-id {o.code}")
        if identifier is None:
            unidentified[o.code] = o.name
            identifier = f"{result.prefix}-ORG-{o.code}"
        return {"id": identifier, "name": o.name}

    seen: set[str] = set()
    clashing: set[str] = set()
    top = 0
    for s in wanted:
        for grant, pence in _stream_grants(session, s, period, result.prefix, org, result.left_out):
            if grant["id"] in seen:
                clashing.add(grant["id"])
            seen.add(grant["id"])
            result.count += 1
            top += pence
            yield grant
    if clashing:
        # Stream F's line 2017-18-A and stream F-2017-18's line A, both in 2017-18, make one id.
        raise GrantsError(
            f"two grants would have the id {min(clashing)}: a stream's and a line's codes run "
            "together into it, and a grant's id must be its own; publish one of the two "
            "streams on its own (--stream) with a prefix of its own (--prefix)"
        )
    if not result.count:
        where = f" of {code}" if code else ""
        when = f" for {period}" if period else ""
        why = f" ({'; '.join(result.left_out)})" if result.left_out else ""
        raise NotFound(
            f"there are no allocations{where}{when} to publish{why}: a grant is a line's "
            "allocation to its recipient (`recipient:` on the line); see `grants allocations "
            "--stream CODE`"
        )
    result.top_level = from_pence(top)
    result.unidentified = [f"{c} ({n})" for c, n in sorted(unidentified.items())]


# A grant's entries are found by its years and line: (first year, last year, line id).
_Key = tuple[int, int, int]


@dataclass
class _Work:
    """What a stream's grants are made with, year by year."""

    session: Session
    stream: Stream
    period: Period | None
    prefix: str
    org: Callable[[int], dict[str, str]]
    left_out: list[str]
    lines: dict[int, _Line]  # every line of the stream, by id
    by_code: dict[str, int]  # every line's id by its code
    # The periods with lines that hold an allocation but have no recipient, and the lines.
    no_recipient: dict[Period, list[str]] = field(default_factory=dict)


def _stream_grants(
    session: Session,
    s: Stream,
    period: Period | None,
    prefix: str,
    org: Callable[[int], dict[str, str]],
    left_out: list[str],
) -> Iterator[tuple[dict[str, Any], int]]:
    """The stream's grants, each with what it awards from the stream (a regrant: nothing, its
    amount is inside its parent's), year by year (by the first year of their periods): what a
    year's grants need is read at once and sorted to them, so the work grows with the
    entries, not with the grants times the entries, and the memory with a year's grants."""
    lines = {
        row[0]: _Line(*row)
        for row in session.execute(
            select(Line.id, Line.code, Line.name, Line.parent_id, Line.recipient_id).where(
                Line.stream_id == s.id
            )
        )
    }
    by_code = {x.code: x.id for x in lines.values()}
    work = _Work(session, s, period, prefix, org, left_out, lines, by_code)
    years = session.scalars(
        select(Account.first_year).distinct()
        .where(Account.stream_id == s.id, Account.line_id.is_not(None))
        .order_by(Account.first_year)
    ).all()  # fmt: skip
    for year in years:
        if period is not None and year > period.last.start:
            break
        yield from _year_grants(work, year)
    for span, codes in work.no_recipient.items():
        left_out.append(f"{s.code} {span}: {len(codes)} line{'s' if len(codes) > 1 else ''} "
                        f"with no recipient ({', '.join(codes)})")  # fmt: skip


def _year_grants(work: _Work, year: int) -> Iterator[tuple[dict[str, Any], int]]:
    """The grants of the stream's periods that begin in ``year``, by line."""
    s, lines, period, org = work.stream, work.lines, work.period, work.org
    held: dict[_Key, int] = {}
    balances = Balances(work.session, s.code, period=Period.year(year))
    for (_, first, last, line_code), roles in balances.by_line.items():
        if first != year:  # a period that began in an earlier year: published with it
            continue
        if period is not None and not Period(FinancialYear(first),
                                             FinancialYear(last)).overlaps(period):  # fmt: skip
            continue
        if roles.get("allocated", 0) > 0:
            held[(first, last, work.by_code[line_code])] = roles["allocated"]
    awarded, pays, runs = _standing(work.session, s, year)
    children: dict[_Key, list[str]] = {}
    for first, last, line_id in held:
        parent_id = lines[line_id].parent_id
        if parent_id is not None:
            children.setdefault((first, last, parent_id), []).append(lines[line_id].name)
    # The grants made so far: a grant inside one of them (a regrant's line's) awards nothing
    # from the stream; one beneath a line not published (a heading with no recipient) does.
    # A parent is declared before its lines, so its grant is made first.
    published: set[_Key] = set()
    for key, pence in sorted(held.items(), key=lambda i: i[0][2]):
        first, last, line_id = key
        span = Period(FinancialYear(first), FinancialYear(last))
        line = lines[line_id]
        where = f"{s.code} {span} {line.code}"
        if line.recipient_id is None:
            work.no_recipient.setdefault(span, []).append(line.code)
            continue
        parent = lines.get(line.parent_id) if line.parent_id else None
        funder_id = (parent.recipient_id if parent else None) or s.accountable_id or s.funder_id
        if funder_id is None:
            work.left_out.append(
                f"{where}: no organisation made it (give the stream `accountable:`)"
            )
            continue
        grant_id = f"{work.prefix}-{s.code}-{_slug(span)}-{line.code}"
        recipient = org(line.recipient_id)
        agreed = runs.get(key, [])
        starts = min((r[0] for r in agreed), default=span.first.first_day)
        ends = max((r[1] for r in agreed), default=span.last.last_day)
        planned = {"startDate": starts.isoformat(), "endDate": ends.isoformat()}
        passed_on = children.get(key, [])
        grant: dict[str, Any] = {
            "id": grant_id,
            "title": f"{line.name}: {s.name} {span}",
            "description": _description(s, span, line, parent, recipient["name"], passed_on),
            "currency": "GBP",
            "amountAwarded": from_pence(pence),
            "awardDate": awarded.get(key, span.first.first_day).isoformat(),
            "plannedDates": [planned],
            "recipientOrganization": [recipient],
            "fundingOrganization": [org(funder_id)],
            "grantProgramme": [{"code": s.code, "title": s.name}],
        }
        if key in pays:
            grant["disbursementTransaction"] = [
                {"id": f"{grant_id}-PAY-{n}", "transactionDate": day.isoformat(),
                 "value": from_pence(amount), "currency": "GBP"}
                for n, (day, _, amount) in enumerate(sorted(pays[key]), start=1)
            ]  # fmt: skip
        if passed_on:
            grant["regrantType"] = REGRANT
        published.add(key)
        yield grant, 0 if parent and (first, last, parent.id) in published else pence


_Pays = dict[_Key, list[tuple[date, int, int]]]  # (day, entry id, pence) of each payment
_Runs = dict[_Key, list[tuple[date, date]]]  # the first and last day of each agreement


def _standing(session: Session, s: Stream, year: int) -> tuple[dict[_Key, date], _Pays, _Runs]:
    """From the stream's entries of periods that begin in ``year`` that stand (neither
    reversed nor a reversal), by grant: the day of its earliest allocation (an `allocate`, or
    a virement into it), its payments (day, entry id, pence) and the days its signed
    agreements (`commit`) run."""
    of_year = (Entry.stream_id == s.id, Entry.first_year == year)
    reversal = aliased(Entry)
    reversed_ids = set(session.scalars(select(reversal.reverses_id)
                                       .join(Entry, Entry.id == reversal.reverses_id)
                                       .where(*of_year)))  # fmt: skip
    agreed = {i: (starts, ends) for i, starts, ends in session.execute(
        select(Commitment.entry_id, Commitment.starts, Commitment.ends)
        .join(Entry, Entry.id == Commitment.entry_id).where(*of_year))}  # fmt: skip
    awarded: dict[_Key, date] = {}
    pays: _Pays = {}
    runs: _Runs = {}
    rows = session.execute(
        select(Entry.id, Entry.kind, Entry.line_id, Entry.to_line_id, Entry.first_year,
               Entry.last_year, Entry.day, Entry.amount_pence)
        .where(*of_year, Entry.reverses_id.is_(None),
               Entry.kind.in_(("allocate", "virement", "pay", "commit")))
    )  # fmt: skip
    for entry_id, kind, line_id, to_line_id, first, last, day, pence in rows:
        if entry_id in reversed_ids:
            continue
        if kind == "pay":
            pays.setdefault((first, last, line_id), []).append((day, entry_id, pence))
        elif kind == "commit":
            if entry_id in agreed:
                runs.setdefault((first, last, line_id), []).append(agreed[entry_id])
        else:
            key = (first, last, to_line_id if kind == "virement" else line_id)
            if key not in awarded or day < awarded[key]:
                awarded[key] = day
    return awarded, pays, runs


def _description(
    s: Stream, span: Period, line: _Line, parent: _Line | None, recipient: str, children: list[str]
) -> str:
    text = f"{s.name} {span}: the allocation to {line.name}, received by {recipient}"
    if parent is not None:
        text += f", out of the allocation to {parent.name}"
    if children:
        text += f"; passed on to {', '.join(children)}"
    return text + "."


__all__ = ["DEFAULT_PREFIX", "GivingExport", "giving_package"]
