"""The journal: accounts, entries and their postings, what a claim or a grant agreement
says beyond its amount, payment schedules, stated figures and match funding.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.ddl import WHERE  # a partial index's WHERE, for either engine
from grants.db.models.base import Base, Pence, Provenance

ENTRY_KINDS = (
    "award",
    "allocate",
    "pay",
    "spent",
    "clawback",
    "virement",
    "reprofile",
    "claim",
    "receipt",
    "commit",
    "carry-forward",
)
STATEMENT_KINDS = ("stated", "balance", "printed")
# How an allocation is paid: before the spend, after it, by quarters, or on milestones.
SCHEDULE_BASES = ("in-advance", "in-arrears", "quarterly", "milestone")
# An entry's ref that is a books id, not the one its key gives: the rows uq_entry_ref indexes.
GIVEN_REF = "ref <> 'e' || substr(key, 1, 12)"


class Account(Base):
    """A balance the journal posts to: (stream, period, line or none, role)."""

    __tablename__ = "account"
    # A line's accounts found without reading every account (migration 0017): a load into
    # a ledger of many lines reads those of the lines its new entries post to.
    __table_args__ = (Index("ix_account_line", "line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("line.id"))
    role: Mapped[str] = mapped_column(String(60))


class Entry(Base):
    """One money movement. Append-only; its postings sum to zero."""

    __tablename__ = "entry"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in ENTRY_KINDS) + ")", name="kind_known"
        ),
        Index("ix_entry_stream_period", "stream_id", "first_year", "last_year"),
        Index("uq_entry_key", "key", unique=True),
        # Only a books id (``id:``) is indexed: an entry without one has the ref its key gives
        # ("e" and the key's first 12 digits), which the unique key already finds, so a copy
        # of every key is not kept (see grants.services.entry_refs).
        Index("uq_entry_ref", "ref", unique=True, info={WHERE: GIVEN_REF}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("line.id"))
    to_line_id: Mapped[int | None] = mapped_column(ForeignKey("line.id"))
    to_first_year: Mapped[int | None] = mapped_column(Integer)
    to_last_year: Mapped[int | None] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Pence)
    tranche: Mapped[str | None] = mapped_column(String(40))
    share: Mapped[str | None] = mapped_column(String(20))
    over_allocation: Mapped[bool] = mapped_column(Boolean, default=False)
    printed: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"), unique=True)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The journal's turnover up to and including this entry: every posting's amount, made
    # positive and added up. Bounded (grants.money.MAX_TURNOVER_PENCE) so that no sum of
    # postings, in any order, can overflow a 64-bit integer on either engine.
    turnover_pence: Mapped[int] = mapped_column(Pence, default=0)


class Claim(Base):
    """What a claim to a funder says beyond its amount: the days its expenditure was incurred
    (inclusive), the eligible expenditure claimed on, and the evidence it rests on. One per
    claim entry (kind ``claim``), written with it; the claim's name is the entry's
    ``tranche``."""

    __tablename__ = "claim"
    __table_args__ = (
        CheckConstraint("eligible_pence >= 0", name="eligible_not_negative"),
        CheckConstraint("starts <= ends", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), unique=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    eligible_pence: Mapped[int] = mapped_column(Pence)
    evidence: Mapped[str] = mapped_column(Text)


class Commitment(Base):
    """What a signed grant agreement says beyond its amount: its reference, its conditions
    and the days it runs (inclusive). One per commitment entry (kind ``commit``), written
    with it."""

    __tablename__ = "commitment"
    __table_args__ = (CheckConstraint("starts <= ends", name="starts_before_ends"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), unique=True)
    agreement: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)


class Instalment(Provenance, Base):
    """One dated instalment of an allocation's payment schedule: how much is due to the
    line's recipient, and when (or on which milestone). A line's schedule for a period is
    its instalments, all on one basis."""

    __tablename__ = "instalment"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint(
            "basis IN (" + ", ".join(f"'{b}'" for b in SCHEDULE_BASES) + ")", name="basis_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(12))
    amount_pence: Mapped[int] = mapped_column(Pence)
    due: Mapped[date] = mapped_column(Date)
    milestone: Mapped[str | None] = mapped_column(Text)


class Posting(Base):
    __tablename__ = "posting"
    __table_args__ = (
        CheckConstraint("amount_pence <> 0", name="amount_nonzero"),
        # Covering index: balances are SUM(amount_pence) GROUP BY account_id, index-only.
        Index("ix_posting_account_amount", "account_id", "amount_pence"),
        # Postings by entry, in order: the chain reads each entry with its postings.
        Index("ix_posting_entry_id", "entry_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    amount_pence: Mapped[int] = mapped_column(Pence)


class Statement(Provenance, Base):
    """A figure stated or printed about the ledger: a stated award, or an assertion."""

    __tablename__ = "statement"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in STATEMENT_KINDS) + ")", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    day: Mapped[date] = mapped_column(Date)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(Text)  # a tranche or line, or A+B+C
    amount: Mapped[str] = mapped_column(String(40))  # as written, in `scale` units
    scale: Mapped[str] = mapped_column(String(4), default="1")
    printed: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str | None] = mapped_column(Text)
    row_label: Mapped[str | None] = mapped_column(Text)
    # How a printed figure was rounded (grants.ledger.grammar.ROUNDINGS); None: half-up.
    rounding: Mapped[str | None] = mapped_column(String(8))


class MatchFunding(Provenance, Base):
    __tablename__ = "match_funding"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    amount_pence: Mapped[int] = mapped_column(Pence)
    from_source: Mapped[str | None] = mapped_column(Text)
    form: Mapped[str] = mapped_column(String(10))
