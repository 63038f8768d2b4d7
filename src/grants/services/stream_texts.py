"""The names and headings a stream's books give (``tranche``, ``heading``; recorded by
grants.ledger.stream_texts): the latest record of each stands."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import StreamText


def standing(session: Session, stream_id: int, kind: str) -> dict[str, tuple[str, str | None]]:
    """The names (``tranche``) or headings (``heading``) of a stream that stand:
    code -> (text, origin of the books line that gave it)."""
    out: dict[str, tuple[str, str | None]] = {}
    for code, text, origin in session.execute(
        select(StreamText.code, StreamText.text, StreamText.origin)
        .where(StreamText.stream_id == stream_id, StreamText.kind == kind)
        .order_by(StreamText.id)
    ):
        out[code] = (text, origin)
    return out


__all__ = ["standing"]
