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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Commitment, Entry, Line, Organisation, Setting, Stream
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
    """A 360Giving data package (``package``, plain JSON values but for amounts, which are
    Decimal) and what the export must tell its reader: the prefix used and where it came
    from, the organisations with no identifier, and the lines left out (and why)."""

    package: dict[str, Any]
    prefix: str
    prefix_from: str
    unidentified: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    # What the grants of top-level lines award: the money that leaves the streams (a
    # regrant's amount is inside its parent's).
    top_level: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class _Org:
    code: str
    name: str


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
                f"--prefix: {typed!r} is not a 360Giving prefix: give `360G-` and letters, "
                "digits and hyphens, the prefix 360Giving registered for the publisher "
                "(e.g. 360G-OCC)"
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
    when nothing is left to publish."""
    access.require(session, "report")
    code = streams.stream_code(session, stream, work="report") if stream is not None else None
    settings = _settings(session)
    used, used_from = _prefix(prefix, settings)
    orgs = {i: _Org(c, n) for i, c, n in session.execute(
        select(Organisation.id, Organisation.code, Organisation.name))}  # fmt: skip
    result = GivingExport({}, used, used_from)
    unidentified: dict[str, str] = {}

    def org(org_id: int) -> dict[str, str]:
        o = orgs[org_id]
        identifier = settings.get(f"org-id {o.code}")
        if identifier is None:
            unidentified[o.code] = o.name
            identifier = f"{used}-ORG-{o.code}"
        return {"id": identifier, "name": o.name}

    query = select(Stream).order_by(Stream.id)
    wanted = list(session.scalars(query if code is None else query.where(Stream.code == code)))
    grants: list[dict[str, Any]] = []
    for s in wanted:
        made, top = _stream_grants(session, s, period, used, org, result.left_out)
        grants.extend(made)
        result.top_level += top
    seen: dict[str, int] = {}
    for g in grants:
        seen[g["id"]] = seen.get(g["id"], 0) + 1
    if clashing := sorted(i for i, n in seen.items() if n > 1):
        # Stream F's line 2017-18-A and stream F-2017-18's line A, both in 2017-18, make one id.
        raise GrantsError(
            f"two grants would have the id {clashing[0]}: a stream's and a line's codes run "
            "together into it, and a grant's id must be its own; publish one of the two "
            "streams on its own (--stream) with a prefix of its own (--prefix)"
        )
    if not grants:
        where = f" of {code}" if code else ""
        when = f" for {period}" if period else ""
        raise NotFound(
            f"there are no allocations{where}{when} to publish: see `grants allocations`"
        )
    name = ledger_name(session)
    publisher: dict[str, str] = {"name": name}
    publisher_org = settings.get("360giving-publisher")
    if publisher_org and f"org-id {publisher_org}" in settings:
        publisher["identifier"] = settings[f"org-id {publisher_org}"]
    scope = (code or "every stream") + (f", {period}" if period else "")
    result.package = {
        "grants": grants,
        "version": VERSION,
        "title": f"{name}: grants ({scope})",
        "description": f"Allocations recorded in the ledger of {name} ({scope}), one grant "
        "for each line's allocation for a financial year, with its payments.",
        "issued": (today or date.today()).isoformat(),
        "publisher": publisher,
    }
    result.unidentified = [f"{c} ({n})" for c, n in sorted(unidentified.items())]
    return result


def _stream_grants(
    session: Session,
    s: Stream,
    period: Period | None,
    prefix: str,
    org: Callable[[int], dict[str, str]],
    left_out: list[str],
) -> tuple[list[dict[str, Any]], Decimal]:
    """The stream's grants, and what its top-level ones award together."""
    lines = {x.id: x for x in session.scalars(select(Line).where(Line.stream_id == s.id))}
    by_code = {x.code: x for x in lines.values()}
    balances = Balances(session, s.code)
    held: dict[tuple[Period, int], int] = {}
    for (_, first, last, line_code), roles in balances.by_line.items():
        span = Period(FinancialYear(first), FinancialYear(last))
        if period is not None and not span.overlaps(period):
            continue
        if roles.get("allocated", 0) > 0:
            held[(span, by_code[line_code].id)] = roles["allocated"]
    entries = list(session.scalars(select(Entry).where(Entry.stream_id == s.id).order_by(Entry.id)))
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id is not None}
    standing = [e for e in entries if e.reverses_id is None and e.id not in reversed_ids]
    # The days a signed grant agreement runs (`commit`) are the grant's planned dates.
    agreed = {c.entry_id: (c.starts, c.ends) for c in session.scalars(
        select(Commitment).join(Entry, Entry.id == Commitment.entry_id)
        .where(Entry.stream_id == s.id))}  # fmt: skip
    grants = []
    top = 0
    no_recipient: dict[Period, list[str]] = {}
    for (span, line_id), pence in sorted(held.items(), key=lambda i: (i[0][0].first, i[0][1])):
        line = lines[line_id]
        where = f"{s.code} {span} {line.code}"
        if line.recipient_id is None:
            no_recipient.setdefault(span, []).append(line.code)
            continue
        parent = lines.get(line.parent_id) if line.parent_id else None
        funder_id = (parent.recipient_id if parent else None) or s.accountable_id or s.funder_id
        if funder_id is None:
            left_out.append(f"{where}: no organisation made it (give the stream `accountable:`)")
            continue
        mine = [e for e in standing if Period(FinancialYear(e.first_year),
                                              FinancialYear(e.last_year)) == span]  # fmt: skip
        awarded = [e.day for e in mine if (e.kind == "allocate" and e.line_id == line_id)
                   or (e.kind == "virement" and e.to_line_id == line_id)]  # fmt: skip
        pays = [e for e in mine if e.kind == "pay" and e.line_id == line_id]
        children = [lines[c].name for (p, c) in held if p == span and lines[c].parent_id == line_id]
        grant_id = f"{prefix}-{s.code}-{_slug(span)}-{line.code}"
        recipient = org(line.recipient_id)
        runs = [agreed[e.id] for e in mine
                if e.kind == "commit" and e.line_id == line_id and e.id in agreed]  # fmt: skip
        starts = min((r[0] for r in runs), default=span.first.first_day)
        ends = max((r[1] for r in runs), default=span.last.last_day)
        planned = {"startDate": starts.isoformat(), "endDate": ends.isoformat()}
        grant: dict[str, Any] = {
            "id": grant_id,
            "title": f"{line.name}: {s.name} {span}",
            "description": _description(s, span, line, parent, recipient["name"], children),
            "currency": "GBP",
            "amountAwarded": from_pence(pence),
            "awardDate": min(awarded, default=span.first.first_day).isoformat(),
            "plannedDates": [planned],
            "recipientOrganization": [recipient],
            "fundingOrganization": [org(funder_id)],
            "grantProgramme": [{"code": s.code, "title": s.name}],
        }
        if pays:
            grant["disbursementTransaction"] = [
                {"id": f"{grant_id}-PAY-{n}", "transactionDate": e.day.isoformat(),
                 "value": from_pence(e.amount_pence), "currency": "GBP"}
                for n, e in enumerate(sorted(pays, key=lambda e: (e.day, e.id)), start=1)
            ]  # fmt: skip
        if children:
            grant["regrantType"] = REGRANT
        grants.append(grant)
        top += 0 if parent else pence
    for span, codes in no_recipient.items():
        left_out.append(f"{s.code} {span}: {len(codes)} line{'s' if len(codes) > 1 else ''} "
                        f"with no recipient ({', '.join(codes)})")  # fmt: skip
    return grants, from_pence(top)


def _description(
    s: Stream, span: Period, line: Line, parent: Line | None, recipient: str, children: list[str]
) -> str:
    text = f"{s.name} {span}: the allocation to {line.name}, received by {recipient}"
    if parent is not None:
        text += f", out of the allocation to {parent.name}"
    if children:
        text += f"; passed on to {', '.join(children)}"
    return text + "."


__all__ = ["DEFAULT_PREFIX", "GivingExport", "giving_package"]
