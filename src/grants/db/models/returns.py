"""Spending plans and returns: plan lines and their agreement, a stream's reporting
calendar, filed returns and their figures, plan filings and the workbooks as received.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.models.base import Base, Pence, Provenance


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
