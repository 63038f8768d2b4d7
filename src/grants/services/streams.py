"""Finding a funding stream by its code, with the message every command gives."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Stream
from grants.errors import NotFound


def stream_id(session: Session, code: str) -> int:
    """The stream's id; NotFound, naming the code and where to look, if there is none."""
    found = session.scalar(select(Stream.id).where(Stream.code == code))
    if found is None:
        raise NotFound(f"there is no funding stream {code!r}; `grants streams` lists them")
    return int(found)


__all__ = ["stream_id"]
