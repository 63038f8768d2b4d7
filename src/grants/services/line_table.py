"""Every line of a ledger of many, as `grants verify` holds them for its whole walk: each
line's code in one text shared by all, found by the line's id through arrays, and each line
found by its stream and code through a table of ids, rather than a string, an integer and
two dictionaries' entries a line (about 240 bytes a line, here about 30: 10 in the arrays by
id, 10 in the table by stream and code, and the code's characters, one byte each while every
code is Latin-1). A national funder's ledger has a line for each of hundreds of thousands of
grants.

Packed only where nothing in the lines and streams is out of the ordinary, which is what
every ledger the commands wrote holds: ids of whole numbers, not too sparse, each line of a
stream the ledger has, its code a text without a ``|`` and once in its stream, the streams'
codes texts told apart in a key (grants.services.account_table.streams_apart). Otherwise (a
ledger changed behind its back, which verify must name exactly) ``read`` gives None and
verify holds the lines in dictionaries, as it reads them: the two give the same answers."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection

from grants.db.canonical import stream_rows
from grants.services.account_table import of_many, streams_apart
from grants.services.id_values import whole_id

COMPACT = 50_000  # lines in the ledger from which they are packed

_TEXT = 1 << 32  # characters of every code together (offsets of 32 bits)
_PIECE = 4096  # codes joined at a time while the lines are read
_SPREAD = 0x9E3779B1  # a line's slot is its code's hash and its stream's index times this


class PackedLines:
    """Each line's code and stream by its id (``codes`` and ``streams``: read as the
    dictionaries they stand for), and each line's id by its stream and code (``id_of``)."""

    __slots__ = ("_at", "_ends", "_mask", "_slots", "_starts", "_stream_index", "_stream_of",
                 "_text", "codes", "count", "streams")  # fmt: skip

    def __init__(self, streams: Mapping[int, str], top: int) -> None:
        self._stream_of: list[str] = []  # each stream's code by its index (from 1)
        self._stream_index: dict[str, int] = {}
        self._starts = array("I", [0]) * (top + 1)  # where each line's code starts in the text
        self._ends = array("I", [0]) * (top + 1)  # and ends
        self._text = ""
        self._slots = array("I")  # line ids by their stream and code (0: an empty slot)
        self._mask = 0
        self.count = 0
        for stream_id in sorted(streams):
            self._stream_index[streams[stream_id]] = len(self._stream_of) + 1
            self._stream_of.append(streams[stream_id])
        self._at = array("H", [0]) * (top + 1)  # each line's stream's index (0: no line)
        self.streams = _Streams(self)
        self.codes = _Codes(self)

    def _joined(self, text: str) -> None:
        """The codes' text, once every line is read."""
        self._text = text
        self.codes = _Codes(self)

    @property
    def top(self) -> int:
        """The greatest id a line may have."""
        return len(self._at) - 1

    def _index(self, line_id: Any) -> int:
        """The line's place in the arrays, as a dictionary of ids finds it (``3.0`` is 3:
        id_values.whole_id); 0 for no line."""
        if type(line_id) is not int:
            line_id = whole_id(line_id)
            if line_id is None:
                return 0
        if 0 < line_id < len(self._starts) and self._at[line_id]:
            return line_id  # type: ignore[no-any-return]
        return 0

    def code(self, line_id: Any) -> str | None:
        at = self._index(line_id)
        return self._text[self._starts[at] : self._ends[at]] if at else None

    def stream(self, line_id: Any) -> str | None:
        at = self._index(line_id)
        return self._stream_of[self._at[at] - 1] if at else None

    def id_of(self, stream: str | None, code: str) -> int | None:
        """The id of the stream's line ``code``; None if it has none."""
        index = self._stream_index.get(stream) if type(stream) is str else None
        if index is None or type(code) is not str:
            return None
        slots, mask, by_id = self._slots, self._mask, self._at
        starts, ends, text = self._starts, self._ends, self._text
        slot = (hash(code) + index * _SPREAD) & mask  # as _find_each put it
        size = len(code)
        while found := slots[slot]:
            start = starts[found]
            if by_id[found] == index and ends[found] - start == size:
                if text.startswith(code, start):
                    return found
            slot = (slot + 1) & mask
        return None

    def ids(self) -> Iterator[int]:
        """The lines' ids, in order."""
        for line_id, index in enumerate(self._at):
            if index:
                yield line_id

    def _find_each(self) -> bool:
        """Make the table that finds each line by its stream and code; False if a code is
        twice in one stream."""
        size = 1
        while size < 2 * self.count:
            size *= 2
        self._slots = array("I", [0]) * size
        self._mask = mask = size - 1
        slots, by_id = self._slots, self._at
        starts, ends, text = self._starts, self._ends, self._text
        for line_id in self.ids():
            index = by_id[line_id]
            code = text[starts[line_id] : ends[line_id]]
            slot = (hash(code) + index * _SPREAD) & mask
            while found := slots[slot]:
                if by_id[found] == index and text[starts[found] : ends[found]] == code:
                    return False
                slot = (slot + 1) & mask
            slots[slot] = line_id
        return True


class _View(Mapping[int, Any]):
    """One of the lines' values by the line's id, as a dictionary of them answers (``_of``:
    the value, None for no line)."""

    __slots__ = ("_lines",)

    def __init__(self, lines: PackedLines) -> None:
        self._lines = lines

    def _of(self, line_id: Any) -> Any:
        raise NotImplementedError

    def get(self, line_id: Any, default: Any = None) -> Any:
        found = self._of(line_id)
        return default if found is None else found

    def __getitem__(self, line_id: Any) -> Any:
        found = self._of(line_id)
        if found is None:
            raise KeyError(line_id)
        return found

    def __contains__(self, line_id: Any) -> bool:
        return bool(self._lines._index(line_id))

    def __iter__(self) -> Iterator[int]:
        return self._lines.ids()

    def __len__(self) -> int:
        return self._lines.count


class _Codes(_View):
    """Each line's code by its id. Asked for a million times and more by verify (each
    entry's shape, each account's key): an id of a line is answered by ``get`` and
    ``__getitem__`` themselves, without a further call; anything else through
    ``PackedLines.code``."""

    __slots__ = ("_at", "_ends", "_starts", "_text", "_top")

    def __init__(self, lines: PackedLines) -> None:
        super().__init__(lines)
        self._at, self._starts, self._ends, self._text = (
            lines._at, lines._starts, lines._ends, lines._text,
        )  # fmt: skip
        self._top = lines.top

    def _of(self, line_id: Any) -> str | None:
        return self._lines.code(line_id)

    def get(self, line_id: Any, default: Any = None) -> Any:
        if type(line_id) is int and 0 < line_id <= self._top and self._at[line_id]:
            return self._text[self._starts[line_id] : self._ends[line_id]]
        return super().get(line_id, default)

    def __getitem__(self, line_id: Any) -> str:
        if type(line_id) is int and 0 < line_id <= self._top and self._at[line_id]:
            return self._text[self._starts[line_id] : self._ends[line_id]]
        return super().__getitem__(line_id)  # type: ignore[no-any-return]


class _Streams(_View):
    """Each line's stream's code by the line's id."""

    __slots__ = ()

    def _of(self, line_id: Any) -> str | None:
        return self._lines.stream(line_id)


def read(connection: Connection, streams: Mapping[int, str]) -> PackedLines | None:
    """Every line, packed; None when there are fewer than ``COMPACT`` or anything in them is
    out of the ordinary (then verify reads them into dictionaries)."""
    sized = of_many(connection, "line", COMPACT)
    if sized is None or not streams_apart(streams):  # (fewer than 4,096: 16 bits an index)
        return None
    count, top = sized
    lines = PackedLines(streams, top)
    by_id, starts, ends = lines._at, lines._starts, lines._ends
    index_of = lines._stream_index
    pieces: list[str] = []
    piece: list[str] = []
    at = 0
    for line_id, stream_id, code in stream_rows(
        connection, "SELECT id, stream_id, code FROM line ORDER BY id"
    ):
        if (
            type(line_id) is not int
            or not 0 < line_id <= top
            or by_id[line_id]
            or type(code) is not str
            or not code
            or "|" in code
        ):
            return None
        index = index_of.get(streams.get(stream_id))  # type: ignore[arg-type]
        if index is None or at + len(code) >= _TEXT:
            return None
        by_id[line_id] = index
        starts[line_id] = at
        at += len(code)
        ends[line_id] = at
        piece.append(code)
        if len(piece) == _PIECE:
            pieces.append("".join(piece))
            piece.clear()
        lines.count += 1
    pieces.append("".join(piece))
    lines._joined("".join(pieces))
    del pieces, piece
    if lines.count != count or not lines._find_each():
        return None
    return lines


__all__ = ["COMPACT", "PackedLines", "read"]
