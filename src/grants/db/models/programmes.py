"""Programme tables (a capital programme's versions): each line's profile and its
amounts by financial year.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import date

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.models.base import Base, Pence, Provenance


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
