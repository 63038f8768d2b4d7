"""The names and headings a stream's books give (``tranche``, ``heading``; recorded by
grants.ledger.stream_texts): the latest record of each stands. ``words`` gathers what a
report's template may say of a stream: its name, funder and area, and the headings its books
give in their own words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from grants.errors import NotFound

# The ORM and the models are imported by the reads: a report's layout takes the names below
# without them (`grants report capital-programme` reads through SQLAlchemy Core alone).
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# What the placeholders of a report's texts become when the books name no funder or area.
NO_FUNDER = "the funder"


@dataclass(frozen=True)
class StreamWords:
    """What a report says of its stream: ``values`` fills the placeholders of the template's
    texts (``{stream}``, ``{stream_name}``, ``{funder}``, ``{area}``); ``headings`` are the
    books' own texts for template keys (``template:section.key`` -> (text, origin))."""

    values: dict[str, str] = field(default_factory=dict)
    headings: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def standing(session: Session, stream_id: int, kind: str) -> dict[str, tuple[str, str | None]]:
    """The names (``tranche``) or headings (``heading``) of a stream that stand:
    code -> (text, origin of the books line that gave it)."""
    from grants.db.models import StreamText

    out: dict[str, tuple[str, str | None]] = {}
    for code, text, origin in session.execute(
        select(StreamText.code, StreamText.text, StreamText.origin)
        .where(StreamText.stream_id == stream_id, StreamText.kind == kind)
        .order_by(StreamText.id)
    ):
        out[code] = (text, origin)
    return out


def words(session: Session, stream: str, area: str | None = None) -> StreamWords:
    """The stream's name, its funder's name (``funder:`` in the books), its area (``area``, else
    the accountable organisation's name, else the stream's name) and its books' headings."""
    from sqlalchemy.orm import aliased

    from grants.db.models import Organisation, Stream

    funder, accountable = aliased(Organisation), aliased(Organisation)
    row = session.execute(
        select(Stream.id, Stream.name, funder.name, accountable.name)
        .outerjoin(funder, funder.id == Stream.funder_id)
        .outerjoin(accountable, accountable.id == Stream.accountable_id)
        .where(Stream.code == stream)
    ).first()
    if row is None:
        raise NotFound(f"there is no funding stream {stream!r}")
    stream_id, name, funder_name, accountable_name = row
    values = {
        "stream": stream,
        "stream_name": name,
        "funder": funder_name or NO_FUNDER,
        "area": area or accountable_name or name,
    }
    return StreamWords(values, standing(session, stream_id, "heading"))


__all__ = ["NO_FUNDER", "StreamWords", "standing", "words"]
