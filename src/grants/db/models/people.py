"""People and access: who uses the ledger, the roles granted them and their passwords,
and the audit log of logins, refusals and imports.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.db.models.base import Base

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
