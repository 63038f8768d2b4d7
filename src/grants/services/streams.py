"""Finding a funding stream, line or organisation by its code, as an officer types it.

Codes are written in capitals in the books; on the command line they are taken in any case
(``pcc-csf`` is ``PCC-CSF``), and a near miss is answered with the code that was probably
meant ("there is no funding stream 'PCC-CFS'; did you mean PCC-CSF?"). A stream or line the
acting person cannot see (a recipient's are those it has lines in, and its lines and those
beneath them) is answered exactly as one that does not exist, and a near miss is drawn only
from what they see: a code is not a way to learn what another organisation holds. The
person's right to the work (``work``, a permission of grants.services.access) is checked
first, so that work they may not do is refused whatever code they type. A command that needs a
stream of some kind and is given none takes the only one the ledger holds, or says which
there are (`StreamNeeded`), for the command line to ask or to list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Line, Organisation, ProgrammeVersion, Stream
from grants.errors import GrantsError, NotFound
from grants.services import access

# What a command needs of a stream: any stream, a PCC Community Safety Fund stream (the
# resourcing table, the reporting template, plans and returns) or a capital programme.
Need = Literal["any", "pcc", "capital"]
_WHAT = {
    "any": "funding stream",
    "pcc": "PCC Community Safety Fund stream (kind pcc-csf)",
    "capital": "capital stream (one with programme versions)",
}

_STREAMS = "`grants streams` lists them"


class StreamNeeded(GrantsError):
    """No stream was named and the ledger holds several that would do: the choices."""

    def __init__(self, need: Need, choices: Sequence[str]) -> None:
        self.need = need
        self.choices = list(choices)
        super().__init__(
            f"name the {_WHAT[need]} with --stream: the ledger holds {', '.join(self.choices)}"
        )


def near(typed: str, known: Sequence[str]) -> str | None:
    """The known code closest to ``typed`` when it is close enough to be a slip."""
    import difflib  # only a code that is not there is looked for among the known

    found = difflib.get_close_matches(typed.upper(), list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown(missing: str, typed: str, known: Sequence[str], where: str) -> NotFound:
    """``missing`` says what is not there ("there is no funding stream"), before the code."""
    guess = near(typed, known)
    hint = f"did you mean {guess}?" if guess else where
    return NotFound(f"{missing} {typed.strip().upper()!r}; {hint}")


def candidates(session: Session, need: Need = "any") -> list[str]:
    """The codes of the streams that would do for ``need``, in order: for a recipient, those
    it has lines in, when there are any (so that its only stream is the one meant; with none,
    the service it calls says what it may not do)."""
    query = select(Stream.code).order_by(Stream.code)
    if need == "pcc":
        query = query.where(Stream.kind == "pcc-csf")
    elif need == "capital":
        query = query.join(ProgrammeVersion, ProgrammeVersion.stream_id == Stream.id).distinct()
    every = list(session.scalars(query))
    own = _visible_streams(session)
    return every if own is None else [code for code in every if code in own]


def _visible_streams(session: Session) -> set[str] | None:
    """The codes of the streams the acting person has lines in; None for every stream."""
    seen = access.visible_lines(session)
    if seen is None:
        return None
    return set(session.scalars(select(Stream.code).join(Line).where(Line.id.in_(seen))))


def _known_streams(session: Session) -> list[str]:
    """The codes of the streams the acting person sees, in order."""
    every = list(session.scalars(select(Stream.code).order_by(Stream.code)))
    own = _visible_streams(session)
    return every if own is None else [code for code in every if code in own]


def stream_code(session: Session, typed: str | None, need: Need = "any", work: str = "read") -> str:
    """The code of the stream meant: ``typed`` in any case (NotFound, with the likely code,
    if there is none such that the acting person sees), or with nothing typed the only
    stream that would do for ``need`` (StreamNeeded if there are several, NotFound if there
    is none). Refused first if the person may not do ``work``."""
    access.require(session, work)
    if typed is not None:
        code = typed.strip().upper()
        known = _known_streams(session)
        if code not in known:
            raise _unknown("there is no funding stream", typed, known, _STREAMS)
        return code
    choices = candidates(session, need)
    if len(choices) == 1:
        return choices[0]
    if not choices and access.visible_lines(session) is not None:
        raise NotFound(f"you have no lines in any {_WHAT[need]}: ask an officer")
    if not choices:
        raise NotFound(
            f"the ledger holds no {_WHAT[need]}: load the books with `grants ledger load`"
        )
    raise StreamNeeded(need, choices)


def stream_id(session: Session, code: str) -> int:
    """The stream's id (the code in any case); NotFound, naming the code and the likely
    one, if there is none that the acting person sees."""
    found = session.scalar(select(Stream.id).where(Stream.code == code.strip().upper()))
    known = _known_streams(session)
    if found is None or code.strip().upper() not in known:
        raise _unknown("there is no funding stream", code, known, _STREAMS)
    return int(found)


def line_code(session: Session, stream: str, typed: str, work: str = "read") -> str:
    """The code of the stream's line meant by ``typed`` (any case); NotFound with the likely
    code if the stream has no such line that the acting person sees (Refused first if they
    may not do ``work``)."""
    access.require(session, work)
    code = typed.strip().upper()
    query = (
        select(Line.code)
        .join(Stream, Stream.id == Line.stream_id)
        .where(Stream.code == stream)
        .order_by(Line.code)
    )
    seen = access.visible_lines(session)
    if seen is not None:  # a recipient sees, and is offered, its own lines only
        query = query.where(Line.id.in_(seen))
    # The line itself first: the stream's every code only to offer the likely one (a
    # national funder's stream holds a line a grant).
    if session.scalar(query.where(Line.code == code)) is not None:
        return code
    known = list(session.scalars(query))
    where = f"`grants allocations --stream {stream}` lists them"
    raise _unknown(f"{stream} has no line", typed, known, where)


def organisation_code(session: Session, typed: str) -> str:
    """The code of the organisation meant by ``typed`` (any case); NotFound with the likely
    code if there is none."""
    code = typed.strip().upper()
    known = list(session.scalars(select(Organisation.code).order_by(Organisation.code)))
    if code not in known:
        raise _unknown("there is no organisation", typed, known, "the books' `org` lines name them")
    return code


__all__ = [
    "Need",
    "StreamNeeded",
    "candidates",
    "line_code",
    "near",
    "organisation_code",
    "stream_code",
    "stream_id",
]
