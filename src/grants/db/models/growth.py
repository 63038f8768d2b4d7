"""Growth projects: the catalogue of output indicators, forecast spend by quarter, a
project's claims, and its output targets and actuals.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.models.base import Base, Pence, Provenance


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
