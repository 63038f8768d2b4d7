"""Who and what the books are about: organisations, streams (funds and programmes) and
a stream's allocation lines.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import date

from sqlalchemy import (
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
    __table_args__ = (
        UniqueConstraint("stream_id", "code"),
        # The lines beneath a line found without reading every line (migration 0017).
        Index("ix_line_parent", "parent_id"),
    )

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
