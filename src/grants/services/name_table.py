"""Each line's code, name and parent's code as a balance read keeps them
(grants.services.balance_catalogue), packed for a ledger of many lines: every line's three
texts one after another in one text shared by all, found through an array of the lines' ids
(in order) and an array of where each text starts. About 20 bytes a line and its texts'
characters (a byte each while every character of them is Latin-1, else two or four),
against some 350 in a dictionary of tuples of three strings; a national funder's ledger has
a line for each of hundreds of thousands of grants, and a process serving the web keeps
them with each database connection.

Packed only where the lines are as every ledger the commands wrote holds them: ids whole
numbers within 64 bits, read in order and each once, codes and names texts, a parent's code
a text that is not empty, fewer than 2**32 characters in all. Otherwise (a ledger changed
behind its back) ``pack`` gives None and the catalogue holds them in a dictionary, as it
reads them: the two answer alike (a ``3.0`` is the id 3 to both)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from grants.services.id_values import whole_id

COMPACT = 50_000  # lines read from which they are packed

Names = tuple[str, str, str | None]  # a line's code, name and parent's code

_TEXT = 1 << 32  # characters of every text together (offsets of 32 bits)
_PIECE = 4096  # texts joined at a time while the lines are read
_WHOLE = frozenset({int, bool})  # ids compared as they are (True is 1, as a dictionary finds)


class PackedNames(Mapping[int, Names]):
    """The lines' (code, name, parent's code) by id, as the dictionary they stand for
    answers. Each answer is made when asked for: a caller keeps what it needs."""

    __slots__ = ("_bounds", "_first", "_ids", "_nested", "_text")

    def __init__(self, ids: array[int], bounds: array[int], text: str) -> None:
        self._ids = ids  # in order
        self._first = ids[0] if ids else 0
        # Where the line at place k's code, name and parent's code start: 3k, 3k + 1 and
        # 3k + 2 (the next ends each; an empty parent's code is none).
        self._bounds = bounds
        self._text = text
        self._nested: bool | None = None

    def _place(self, line_id: Any) -> int:
        """The line's place in the arrays (-1: none), as a dictionary of ids finds it."""
        if type(line_id) is not int:
            line_id = whole_id(line_id)
            if line_id is None:
                return -1
        ids = self._ids
        at = line_id - self._first  # ids one after another: its place at once
        if not (0 <= at < len(ids) and ids[at] == line_id):
            at = bisect_left(ids, line_id)
            if at == len(ids) or ids[at] != line_id:
                return -1
        return at  # type: ignore[no-any-return]

    def _names(self, at: int) -> Names:
        bounds, text = self._bounds, self._text
        at *= 3
        code, name, parent, end = bounds[at], bounds[at + 1], bounds[at + 2], bounds[at + 3]
        return text[code:name], text[name:parent], text[parent:end] or None

    def __getitem__(self, line_id: Any) -> Names:
        at = self._place(line_id)
        if at < 0:
            raise KeyError(line_id)
        return self._names(at)

    def get(self, line_id: Any, default: Any = None) -> Any:
        at = self._place(line_id)
        return default if at < 0 else self._names(at)

    def __contains__(self, line_id: object) -> bool:
        return self._place(line_id) >= 0

    def _starts(self, line_ids: Iterable[Any]) -> Iterator[int]:
        """Where each of ``line_ids``' texts start in ``_bounds`` (a KeyError for an id of
        no line, as ``self[i]`` raises it)."""
        ids, first, size = self._ids, self._first, len(self._ids)
        for line_id in line_ids:
            at = line_id - first if type(line_id) is int else -1
            if not (0 <= at < size and ids[at] == line_id):
                at = self._place(line_id)
                if at < 0:
                    raise KeyError(line_id)
            yield at * 3

    def each(self, line_ids: Iterable[Any]) -> Iterator[Names]:
        """Each of ``line_ids``' names, as ``self[i]`` gives them: for a period's lines,
        the one call."""
        bounds, text = self._bounds, self._text
        for at in self._starts(line_ids):
            code, name, parent, end = bounds[at : at + 4]
            yield text[code:name], text[name:parent], text[parent:end] or None

    def codes(self, line_ids: Iterable[Any]) -> Iterator[str]:
        """Each of ``line_ids``' codes, as ``self[i][0]`` gives them (its name and parent's
        code not made)."""
        bounds, text = self._bounds, self._text
        for at in self._starts(line_ids):
            yield text[bounds[at] : bounds[at + 1]]

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def has_all(self, line_ids: Collection[Any]) -> bool:
        """Whether every one of ``line_ids`` is a line here, as ``all(i in self for i in
        line_ids)`` answers: without looking each up where the ids packed are one after
        another and those asked about are all integers (a national funder's are), by the
        least and the greatest of them."""
        ids = self._ids
        if not line_ids:
            return True
        if ids and ids[-1] - self._first == len(ids) - 1 and set(map(type, line_ids)) <= _WHOLE:
            return self._first <= min(line_ids) and max(line_ids) <= ids[-1]
        return all(map(self.__contains__, line_ids))

    def nested(self) -> bool:
        """Whether any line has a parent (without making every line's names; once: the
        catalogue keeps the lines for every read while the ledger stands as it was)."""
        if self._nested is None:
            bounds = self._bounds
            self._nested = any(bounds[at + 1] != bounds[at] for at in range(2, len(bounds) - 1, 3))
        return self._nested


def pack(rows: Iterable[tuple[Any, Any, Any, Any]]) -> PackedNames | None:
    """``rows`` of (id, code, name, parent's code), ordered by id, packed; None when
    anything in them is out of the ordinary (then the caller reads them into a dictionary)."""
    ids = array("q")
    bounds = array("I")
    pieces: list[str] = []
    piece: list[str] = []
    at = 0
    last = None
    for line_id, code, name, parent in rows:
        if (
            type(line_id) is not int
            or (last is not None and line_id <= last)
            or type(code) is not str
            or type(name) is not str
            or not (parent is None or (type(parent) is str and parent))
        ):
            return None
        last = line_id
        parent = parent or ""
        if at + len(code) + len(name) + len(parent) >= _TEXT:
            return None
        try:
            ids.append(line_id)
        except OverflowError:  # beyond 64 bits
            return None
        bounds.append(at)
        at += len(code)
        bounds.append(at)
        at += len(name)
        bounds.append(at)
        at += len(parent)
        piece += (code, name, parent)
        if len(piece) >= _PIECE:
            pieces.append("".join(piece))
            piece.clear()
    bounds.append(at)
    pieces.append("".join(piece))
    return PackedNames(ids, bounds, "".join(pieces))


__all__ = ["COMPACT", "Names", "PackedNames", "pack"]
