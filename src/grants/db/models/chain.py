"""The ledger's own texts (its settings, a stream's tranche names and report headings) and
the hash chain that seals every record.
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

from grants.db.models.base import Base, Provenance


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
