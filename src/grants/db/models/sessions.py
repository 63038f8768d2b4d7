"""The web face's sessions and the failed sign-ins its rate limit counts."""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.models.base import Base

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
