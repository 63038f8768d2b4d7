"""What the ledger proves: the key and the record of the forms it issues, and each chain
head a walk of every link found whole.
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
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.models.base import Base


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
