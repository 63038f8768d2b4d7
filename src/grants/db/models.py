"""Typed models. Money columns are integer pence (``*_pence``); see grants.money.

Every table of record (grants.db.records) is append-only: the migrations install triggers
that refuse UPDATE, DELETE and TRUNCATE, a correction is a new record (a reversing entry, a
superseding return), and every record is sealed in the hash chain (``seal``).
"""

# No `from __future__ import annotations`: each Mapped[...] is made as its class is, where
# SQLAlchemy would otherwise evaluate its text again (a tenth of the time this module takes to
# import, which every command pays).
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from grants.db.ddl import WHERE  # a partial index's WHERE, for either engine

# BIGINT on PostgreSQL; INTEGER (64-bit, the rowid type) on SQLite.
Pence = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Provenance:
    """Where a record came from: the published source, and the books line or command."""

    source: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Organisation(Provenance, Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)


class Stream(Provenance, Base):
    __tablename__ = "stream"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    funder_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    accountable_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # Intervention rate as a percentage with up to two places, stored as hundredths of a percent.
    intervention_bp: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)


class Line(Provenance, Base):
    """An allocation line of a stream: a recipient, project, portfolio area or scheme."""

    __tablename__ = "line"
    __table_args__ = (UniqueConstraint("stream_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="allocation")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("line.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    ref: Mapped[str | None] = mapped_column(String(20))
    aliases: Mapped[str | None] = mapped_column(Text)
    total_cost_pence: Mapped[int | None] = mapped_column(Pence)
    specific_funding_pence: Mapped[int | None] = mapped_column(Pence)
    day: Mapped[date] = mapped_column(Date)


class Account(Base):
    """A balance the journal posts to: (stream, period, line or none, role)."""

    __tablename__ = "account"

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


class Indicator(Provenance, Base):
    """An output indicator of the catalogue: code, name, fund, unit and definition. A later
    record of the same code is a new version of its definition (the latest stands; both kept)."""

    __tablename__ = "indicator"
    __table_args__ = (Index("ix_indicator_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    fund: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(40))
    definition: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)


class SpendProfile(Provenance, Base):
    """A growth project's forecast eligible spend for one quarter of a financial year (1 is
    April to June). A later record of the same quarter reprofiles it (the latest stands)."""

    __tablename__ = "spend_profile"
    __table_args__ = (
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_known"),
        CheckConstraint("amount_pence >= 0", name="amount_not_negative"),
        Index("ix_spend_profile_line", "line_id", "year", "quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Pence)


class ProjectClaim(Provenance, Base):
    """A growth project's claim for one quarter, in arrears: the eligible expenditure it
    actually incurred, the grant it claims, and the match funding it spent (cash or in-kind)."""

    __tablename__ = "project_claim"
    __table_args__ = (
        UniqueConstraint("line_id", "year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_known"),
        CheckConstraint("grant_pence <= eligible_pence", name="grant_within_eligible"),
        CheckConstraint("match_pence >= 0", name="match_not_negative"),
        CheckConstraint(
            "match_form IS NULL OR match_form IN ('cash', 'in-kind')", name="form_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    eligible_pence: Mapped[int] = mapped_column(Pence)
    grant_pence: Mapped[int] = mapped_column(Pence)
    match_pence: Mapped[int] = mapped_column(Pence)
    match_form: Mapped[str | None] = mapped_column(String(10))
    evidence: Mapped[str | None] = mapped_column(Text)


class OutputTarget(Provenance, Base):
    """A growth project's target for one indicator of the catalogue, in the indicator's unit
    (hundredths, so that 2.5 FTE is exact). A later record for the same indicator stands."""

    __tablename__ = "output_target"
    __table_args__ = (Index("ix_output_target_line", "line_id", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    indicator: Mapped[str] = mapped_column(String(40))
    value_x100: Mapped[int] = mapped_column(Pence)


class OutputActual(Provenance, Base):
    """What a growth project achieved on one indicator in one quarter (from its claim or a
    return), in hundredths of the indicator's unit. The quarters add up to the actual to date."""

    __tablename__ = "output_actual"
    __table_args__ = (
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_known"),
        Index("ix_output_actual_line", "line_id", "indicator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(40))
    value_x100: Mapped[int] = mapped_column(Pence)


class ProgrammeVersion(Provenance, Base):
    __tablename__ = "programme_version"
    __table_args__ = (UniqueConstraint("stream_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    compare_code: Mapped[str | None] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)


class Profile(Provenance, Base):
    """One line of a programme table in one version: an amount per financial year."""

    __tablename__ = "profile"
    __table_args__ = (UniqueConstraint("version_id", "table_name", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("programme_version.id"))
    table_name: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    total_pence: Mapped[int | None] = mapped_column(Pence)
    estimate_years: Mapped[str | None] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)


class ProfileAmount(Base):
    """A profile's amount for one financial year, or (``year`` NULL) for the later years the
    council prints as one column ("Subsequent years"): no year is invented for it."""

    __tablename__ = "profile_amount"
    __table_args__ = (UniqueConstraint("profile_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id"))
    year: Mapped[int | None] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Pence)


class PlanLine(Provenance, Base):
    """One expenditure line of a recipient's spending plan for an allocation and year: the
    title returns must use, objectives, cost to the fund, other funding and, for the PCC
    fund, the PCC strategic objective (1-5) it serves."""

    __tablename__ = "plan_line"
    __table_args__ = (
        UniqueConstraint("line_id", "year", "title"),
        CheckConstraint("cost_pence >= 0", name="cost_not_negative"),
        CheckConstraint(
            "pcc_objective IS NULL OR pcc_objective BETWEEN 1 AND 5", name="pcc_objective_1_5"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    objectives: Mapped[str | None] = mapped_column(Text)
    cost_pence: Mapped[int] = mapped_column(Pence)
    other_funding: Mapped[str | None] = mapped_column(Text)
    pcc_objective: Mapped[int | None] = mapped_column(Integer)


class PlanAgreement(Provenance, Base):
    """The day a spending plan was agreed: from then on its titles are fixed."""

    __tablename__ = "plan_agreement"
    __table_args__ = (UniqueConstraint("line_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)


class ReturnStage(Provenance, Base):
    """The reporting calendar of a stream: for a year, each stage (plan, mid-year, end-year,
    q1..q4), the last day it covers and the day it is due."""

    __tablename__ = "return_stage"
    __table_args__ = (
        UniqueConstraint("stream_id", "year", "stage"),
        CheckConstraint("due >= covers_to", name="due_after_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[date] = mapped_column(Date)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    covers_to: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)


class ReturnFiling(Base):
    """A return workbook as imported: who filed it and when, what it is (stream, line, year,
    stage and the plan it was issued for) and which earlier filing it corrects. Append-only:
    a corrected resubmission is a new filing that supersedes the earlier one; both are kept."""

    __tablename__ = "return_filing"
    __table_args__ = (
        CheckConstraint(
            "stated_total_pence IS NULL OR stated_total_pence >= 0", name="stated_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the file
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(12))
    filename: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    received_on: Mapped[date] = mapped_column(Date)  # when the council received the file
    completed_by: Mapped[str | None] = mapped_column(Text)
    completed_on: Mapped[date | None] = mapped_column(Date)
    stated_total_pence: Mapped[int | None] = mapped_column(Pence)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("return_filing.id"), unique=True)


class ReturnFigure(Base):
    """One expenditure line of a filed return: the spend to date (None: left blank), progress
    and outcomes, and an output measure with its target and actual."""

    __tablename__ = "return_figure"
    __table_args__ = (
        UniqueConstraint("filing_id", "position"),
        CheckConstraint("spend_pence IS NULL OR spend_pence >= 0", name="spend_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("return_filing.id"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    cell: Mapped[str] = mapped_column(String(20))  # where the spend was read, e.g. D13
    spend_pence: Mapped[int | None] = mapped_column(Pence)
    progress: Mapped[str | None] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)
    target: Mapped[int | None] = mapped_column(Pence)
    actual: Mapped[int | None] = mapped_column(Pence)


class Attachment(Base):
    """A workbook as received (a filled return or plan form), kept whole so that the ledger
    holds the evidence behind every filing and an export is a complete backup."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class PlanFiling(Base):
    """A spending plan form as imported: who recorded it and when, and how many new plan
    lines it brought (each line's source is ``plan sha256:`` and the file's SHA-256)."""

    __tablename__ = "plan_filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the file
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    received_on: Mapped[date] = mapped_column(Date)
    completed_by: Mapped[str | None] = mapped_column(Text)
    completed_on: Mapped[date | None] = mapped_column(Date)
    lines: Mapped[int] = mapped_column(Integer)


class Setting(Provenance, Base):
    """A setting of the ledger (its title): the latest record of a name is the one that
    stands; earlier ones are kept."""

    __tablename__ = "setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    actor: Mapped[str | None] = mapped_column(String(100))


class StreamText(Provenance, Base):
    """A name or heading a stream's books give: a tranche's name (``tranche``), or the text
    of one heading of the stream's report (``heading``, keyed ``section.key`` of the report's
    template). The latest record of a (stream, kind, code) is the one that stands."""

    __tablename__ = "stream_text"
    __table_args__ = (
        CheckConstraint("kind IN ('tranche', 'heading')", name="kind_known"),
        Index("ix_stream_text_stream", "stream_id", "kind", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)


class Seal(Base):
    """One link of the hash chain: the record (table and id) sealed at this position, the
    form of its canonical text, and SHA-256 of the previous digest and that text."""

    __tablename__ = "seal"
    __table_args__ = (UniqueConstraint("tbl", "row_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tbl: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int] = mapped_column(Integer)
    form: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))


PERSON_EVENTS = ("grant", "revoke", "disable", "enable", "password")
ROLES = ("officer", "recipient", "viewer", "admin")
AUDIT_KINDS = ("login", "login_failed", "refused", "filed")


class Person(Base):
    """A person who uses the ledger: ``login`` as first given (NFC), ``key`` the same folded
    to one case (unique: logins are case-insensitive). What a person may do is derived from
    their ``person_event`` records, in order; their password from their latest
    ``credential``."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    login: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))


class PersonEvent(Base):
    """Something done to a person: a role granted or revoked (a recipient's with its
    organisation), the person disabled or enabled, or a new password set (the hash itself is
    in ``credential``)."""

    __tablename__ = "person_event"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('grant', 'revoke', 'disable', 'enable', 'password')", name="kind_known"
        ),
        CheckConstraint(
            "role IS NULL OR role IN ('officer', 'recipient', 'viewer', 'admin')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    role: Mapped[str | None] = mapped_column(String(10))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class Credential(Base):
    """A person's password as its Argon2id hash (never the password): the latest stands."""

    __tablename__ = "credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    hash: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """A login, a failed login (the login tried, whoever it names), a refusal (who, when,
    what they tried and why it was refused: kept even when the work it refused is not) or
    an import accepted (`filed`: who, which form, the file's SHA-256)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint("kind IN ('login', 'login_failed', 'refused', 'filed')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    login: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class FormKey(Base):
    """The ledger's secret for the identity of the forms it issues (HMAC-SHA256; 32 random
    bytes as hex): the latest stands. Append-only, not sealed, never written into a form,
    workbook or report, nor into the books of an export (see grants.services.form_identity)."""

    __tablename__ = "form_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class VerifiedHead(Base):
    """A walk of `grants verify` that found the record whole: the chain's head it proved
    (``count`` links, the last with ``digest``), when (UTC), who ran it (none for a ledger
    without people) and ``marks``: the greatest id then of every table of record and of rows
    that belong to a record (compact JSON, ``{"entry": 40, "posting": 120, ...}``).
    Append-only, not sealed: `grants reconcile` relies on the latest to walk only the links
    after it, and finds by the marks a row added since to a record sealed before it."""

    __tablename__ = "verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(DateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    marks: Mapped[str] = mapped_column(Text)


class FormIssue(Base):
    """A form as issued (a return or a spending plan form): its identity, its locked display
    cells exactly as written (JSON: cell reference -> value) and its MAC with the form key."""

    __tablename__ = "form_issue"
    __table_args__ = (CheckConstraint("kind IN ('return', 'plan')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(6))
    stream_id: Mapped[int] = mapped_column(ForeignKey("stream.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str | None] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(12))
    issued_on: Mapped[date] = mapped_column(Date)
    display: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


SESSION_ENDS = ("signed_out", "idle", "expired", "disabled", "password", "ended")


class WebSession(Base):
    """A web session: the SHA-256 of its opaque random id (the id itself is only in the
    person's cookie), whose it is, when it started and was last used, and when and why it
    ended (signed out, idle, 8 hours old, the person disabled or given a new password, or
    ended by an officer or admin). Not a table of record: its rows change (last seen, ended),
    it is not sealed nor guarded, and no export carries it."""

    __tablename__ = "web_session"
    __table_args__ = (
        CheckConstraint(
            "ended_why IS NULL OR ended_why IN "
            "('signed_out', 'idle', 'expired', 'disabled', 'password', 'ended')",
            name="ended_why_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_why: Mapped[str | None] = mapped_column(String(12))


class SignInFailure(Base):
    """A failed web sign-in, for the rate limit that every server process on the ledger
    shares: the login tried (folded to one case) and the client's address. Not a table of
    record (the audit log keeps each failure, `login_failed`): rows older than the limit's
    window are deleted, and a sign-in that succeeds clears its login's."""

    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(110), index=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
