"""An entry's ref: the books id it was given (``id:``), or else the one its key gives.

Only books ids are indexed (uq_entry_ref is partial, see grants.db.models.GIVEN_REF): an
entry without one has the ref ``e`` and the first 12 characters of its key, found through
the key's own unique index. A books id that reads like such a ref ("e" and 12 characters)
is checked here against the keys, so that no two entries answer to one name.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, text
from sqlalchemy.orm import Session

from grants.db.models import GIVEN_REF, Entry

KEY_PART = 12


def key_ref(key: str) -> str:
    """The ref an entry has when the books give it no id."""
    return f"e{key[:KEY_PART]}"


def looks_keyed(ref: str) -> bool:
    """Whether ``ref`` has the shape of a ref a key gives."""
    return len(ref) == KEY_PART + 1 and ref[0] == "e"


def named(ref: str, engine: str) -> ColumnElement[bool]:
    """The entries whose ref is ``ref``: books ids through uq_entry_ref; on SQLite, refs a
    key gives through the key's index (the keys that start with the ref's 12 characters,
    in SQLite's binary order). PostgreSQL's order depends on the database's collation, so
    there the refs a key gives are compared row by row."""
    given = and_(Entry.ref == ref, text(GIVEN_REF))
    if not looks_keyed(ref):
        return given
    if engine != "sqlite":
        return Entry.ref == ref
    start = ref[1:]
    by_key = and_(Entry.key >= start, Entry.key < start + "\U0010ffff", Entry.ref == ref)
    return or_(given, by_key)


def holders(session: Session, ref: str) -> list[int]:
    """The ids of the entries named ``ref`` (two at most: one is enough to refuse it)."""
    engine = session.get_bind().dialect.name
    return list(session.execute(select(Entry.id).where(named(ref, engine)).limit(2)).scalars())


def keyed_looking_ids(session: Session) -> set[str]:
    """The books ids recorded that read like a ref a key gives (there are seldom any)."""
    return set(
        session.execute(
            select(Entry.ref).where(text(GIVEN_REF), Entry.ref.like("e" + "_" * KEY_PART))
        ).scalars()
    )


# Built once: a journal asks it of every entry it records.
_GIVEN = select(Entry.id).where(Entry.ref == bindparam("ref"), text(GIVEN_REF)).limit(1)


def is_given(session: Session, ref: str) -> bool:
    """Whether ``ref`` is a recorded entry's books id (through uq_entry_ref)."""
    found = session.execute(_GIVEN, {"ref": ref})
    return found.first() is not None
