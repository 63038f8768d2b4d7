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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import (
    Organisation,
    Setting,
    Stream,
)
from grants.errors import GrantsError, NotFound, behind_its_back
from grants.ledger.giving_books import PREFIX
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import access, giving_reads, streams
from grants.services.giving_reads import GrantLine
from grants.services.seen_ids import FirstSeen
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


class _Orgs:
    """The organisations as the grants name them (an identifier from the books, or one made
    with the prefix, when they give none: those are kept to be named). A recipient comes with
    its line, and the one that makes a regrant with the line above; a stream's accountable
    body or funder is read once."""

    def __init__(self, session: Session, settings: dict[str, str], prefix: str) -> None:
        self.session, self.settings, self.prefix = session, settings, prefix
        self.unidentified: dict[str, str] = {}
        self._makers: dict[int, dict[str, str]] = {}

    def named(self, code: str, name: str) -> dict[str, str]:
        identifier = self.settings.get(f"org-id {code}")
        if identifier is None:
            self.unidentified[code] = name
            identifier = f"{self.prefix}-ORG-{code}"
        return {"id": identifier, "name": name}

    def of(self, org_id: int) -> dict[str, str]:
        found = self._makers.get(org_id)
        if found is None:
            row = self.session.execute(
                select(Organisation.code, Organisation.name).where(Organisation.id == org_id)
            ).first()
            if row is None:
                raise behind_its_back("a stream names an organisation the ledger lacks")
            found = self._makers[org_id] = self.named(*row)
        return dict(found)  # each grant's own


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
    orgs = _Orgs(session, settings, result.prefix)
    seen = FirstSeen()  # every grant's id, by its digest
    clashing: set[str] = set()
    top = 0
    for s in wanted:
        for grant, pence in _stream_grants(
            session, s, period, result.prefix, orgs, result.left_out
        ):
            if seen.first(grant["id"], result.count) is not None:
                clashing.add(grant["id"])
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
    result.unidentified = [f"{c} ({n})" for c, n in sorted(orgs.unidentified.items())]


def _stream_grants(
    session: Session,
    s: Stream,
    period: Period | None,
    prefix: str,
    orgs: _Orgs,
    left_out: list[str],
) -> Iterator[tuple[dict[str, Any], int]]:
    """The stream's grants, each with what it awards from the stream (a regrant: nothing, its
    amount is inside its parent's), by the first year of their periods, line and last year:
    what they need is read in that order (giving_reads), so the work grows with the entries
    and the memory only with the lines in regranting chains."""
    parents = giving_reads.parents(session, s)
    until = period.last.start if period is not None else None
    standing = giving_reads.Standing(session, s, until)
    no_recipient: dict[Period, list[str]] = {}  # lines that hold an allocation, by period
    year = None
    # The names of the lines beneath each line in the year, by (last year, line id); and the
    # grants made in the year of lines with lines beneath them: a grant inside one of them (a
    # regrant's line's) awards nothing from the stream; one beneath a line not published (a
    # heading with no recipient) does. A parent is declared before its lines, so its grant is
    # made first.
    children: dict[tuple[int, int], list[str]] = {}
    published: set[tuple[int, int]] = set()
    try:
        for line, first, last, pence in giving_reads.allocations(session, s, until):
            if first != year:
                year, published = first, set()
                children = giving_reads.children(session, s, year) if parents else {}
            if pence <= 0:
                continue
            span = Period(FinancialYear(first), FinancialYear(last))
            if period is not None and not span.overlaps(period):
                continue
            if line.recipient is None:
                no_recipient.setdefault(span, []).append(line.code)
                continue
            parent = parents.get(line.parent_id) if line.parent_id else None
            # Made by the recipient of the line above, else by the stream's accountable body
            # or its funder.
            maker = s.accountable_id or s.funder_id
            if parent is not None and parent.recipient is not None:
                funder = orgs.named(*parent.recipient)
            elif maker is not None:
                funder = orgs.of(maker)
            else:
                left_out.append(f"{s.code} {span} {line.code}: no organisation made it (give "
                                "the stream `accountable:`)")  # fmt: skip
                continue
            passed_on = children.get((last, line.id), [])
            recipient = orgs.named(*line.recipient)
            grant = _grant(s, prefix, span, line, parent, pence,
                           standing.of(first, line.id, last), passed_on,
                           recipient=recipient, funder=funder)  # fmt: skip
            if passed_on:
                published.add((last, line.id))
            inside = parent is not None and (last, parent.id) in published
            yield grant, 0 if inside else pence
    finally:
        standing.close()
    for span, codes in no_recipient.items():
        left_out.append(f"{s.code} {span}: {len(codes)} line{'s' if len(codes) > 1 else ''} "
                        f"with no recipient ({', '.join(codes)})")  # fmt: skip


def _grant(
    s: Stream,
    prefix: str,
    span: Period,
    line: GrantLine,
    parent: GrantLine | None,
    pence: int,
    standing: tuple[date | None, list[giving_reads.Pay], list[giving_reads.Run]],
    passed_on: list[str],
    *,
    recipient: dict[str, str],
    funder: dict[str, str],
) -> dict[str, Any]:
    """The grant of ``line``'s allocation of ``pence`` for ``span``, made by ``funder`` to
    ``recipient``, with what ``standing`` of its entries gives (its allocation's day, its
    payments, its agreements' days) and the lines it ``passed_on`` to."""
    grant_id = f"{prefix}-{s.code}-{_slug(span)}-{line.code}"
    awarded, pays, runs = standing
    starts = min((r[0] for r in runs), default=span.first.first_day)
    ends = max((r[1] for r in runs), default=span.last.last_day)
    planned = {"startDate": starts.isoformat(), "endDate": ends.isoformat()}
    grant: dict[str, Any] = {
        "id": grant_id,
        "title": f"{line.name}: {s.name} {span}",
        "description": _description(s, span, line, parent, recipient["name"], passed_on),
        "currency": "GBP",
        "amountAwarded": from_pence(pence),
        "awardDate": (awarded or span.first.first_day).isoformat(),
        "plannedDates": [planned],
        "recipientOrganization": [recipient],
        "fundingOrganization": [funder],
        "grantProgramme": [{"code": s.code, "title": s.name}],
    }
    if pays:
        grant["disbursementTransaction"] = [
            {"id": f"{grant_id}-PAY-{n}", "transactionDate": day.isoformat(),
             "value": from_pence(amount), "currency": "GBP"}
            for n, (day, _, amount) in enumerate(sorted(pays), start=1)
        ]  # fmt: skip
    if passed_on:
        grant["regrantType"] = REGRANT
    return grant


def _description(
    s: Stream,
    span: Period,
    line: GrantLine,
    parent: GrantLine | None,
    recipient: str,
    children: list[str],
) -> str:
    text = f"{s.name} {span}: the allocation to {line.name}, received by {recipient}"
    if parent is not None:
        text += f", out of the allocation to {parent.name}"
    if children:
        text += f"; passed on to {', '.join(children)}"
    return text + "."


__all__ = ["DEFAULT_PREFIX", "GivingExport", "giving_package"]
