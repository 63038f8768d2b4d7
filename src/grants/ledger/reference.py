"""The organisations and lines the books declare, as the first read keeps them until they are
written: a tuple each, with its directive held (grants.ledger.parser.Directive.held), and
kept packed (``Kept``), since a national funder's books declare one of each for every few
grants."""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Iterator
from datetime import date
from typing import Any, Generic, NamedTuple, TypeVar

from grants.ledger.parser import Directive

# Records packed together: enough that a chunk compresses well, few enough that the one
# being read is small.
PACKED = 1024


class OrgRecord(NamedTuple):
    d: Directive
    code: str
    name: str
    role: str

    def values(self) -> dict[str, Any]:
        """The organisation's columns the books give."""
        return {"code": self.code, "name": self.name, "role": self.role}


class LineRecord(NamedTuple):
    d: Directive
    stream: str
    code: str
    name: str
    kind: str
    parent: str | None
    recipient: str | None
    ref: str | None
    aliases: str | None
    total_cost_pence: int | None
    specific_funding_pence: int | None

    def values(self) -> dict[str, Any]:
        """The line's own columns the books give (its stream, parent and recipient are
        given by their codes: the writer finds their ids)."""
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "ref": self.ref,
            "aliases": self.aliases,
            "total_cost_pence": self.total_cost_pence,
            "specific_funding_pence": self.specific_funding_pence,
        }


R = TypeVar("R", OrgRecord, LineRecord)


class Kept(Generic[R]):
    """The records of one kind, in the order given, kept as bytes until they are written:
    each PACKED records marshalled (texts, numbers, None and their directives' places and
    provenance) and compressed together, some 10 to 30 bytes a record where one held as
    objects took 440 (a national funder's books of 1,000,000 entries declare 1,000,000
    organisations and lines). Read back in order, a chunk at a time, as often as asked:
    records equal to those given, their directives held as they were (not the same
    objects). Only what the first read made is unpacked, never the books' text."""

    def __init__(self, record: type[R]) -> None:
        self._record = record
        self._chunks: list[bytes] = []
        self._open: list[tuple[Any, ...]] = []
        self._count = 0

    def append(self, rec: R) -> None:
        d = rec.d
        where = (d.file, d.line, d.day.toordinal(), d.keyword, dict(d.meta) or None, d.index)
        self._open.append((*where, *rec[1:]))
        self._count += 1
        if len(self._open) == PACKED:
            self._chunks.append(zlib.compress(marshal.dumps(self._open), 1))
            self._open = []

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[R]:
        make = self._record._make
        for chunk in self._chunks:
            for packed in marshal.loads(zlib.decompress(chunk)):
                yield make((_held(packed), *packed[6:]))
        for packed in list(self._open):
            yield make((_held(packed), *packed[6:]))

    def clear(self) -> None:
        self._chunks, self._open, self._count = [], [], 0


def _held(packed: tuple[Any, ...]) -> Directive:
    """A packed record's directive, held as it was (Directive.held)."""
    file, line, day, keyword, meta, index = packed[:6]
    return Directive.kept(file, line, date.fromordinal(day), keyword, meta or {}, index)
