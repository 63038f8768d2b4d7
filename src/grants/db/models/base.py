"""The declarative base every model shares, with the constraint naming convention, the
pence column type and the provenance columns most records carry.
"""

# No `from __future__ import annotations` (see grants.db.models): each Mapped[...] is made
# as its class is.

from sqlalchemy import (
    BigInteger,
    Integer,
    MetaData,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT on PostgreSQL; INTEGER (64-bit, the rowid type) on SQLite.
Pence = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Provenance:
    """Where a record came from: the published source, and the books line or command."""

    source: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
