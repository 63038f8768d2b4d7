"""Every account of a ledger of many, as `grants verify` holds it for its whole walk: packed
into one 64-bit number each (its line, stream, years and role), in arrays, rather than as a
tuple with its key's text (about 300 bytes an account, here 24). A national funder's ledger
has two accounts for each of hundreds of thousands of grants.

Packed only where nothing in the accounts is out of the ordinary, which is what every
ledger the commands wrote holds: ids not too sparse, each account's key
the text its columns give, of a known stream, of a line of that same stream or none, years
of whole numbers from 1900 to 2155, a role of text; streams' and lines' codes without a
``|``, each line's code once in its stream. Otherwise (a ledger changed behind its back,
which verify must name exactly) ``read`` gives None and verify holds every account as it
is read (grants.db.canonical.held_accounts): the two give the same answers."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from grants.db.canonical import ACCOUNT_COLUMNS, stream_rows
from grants.services.id_values import whole_id

if TYPE_CHECKING:
    from grants.services.line_table import PackedLines

COMPACT = 50_000  # accounts in the ledger from which they are packed

_YEAR = 1900  # years are packed as their distance from it, 0 to 255
_STREAMS = 1 << 12  # stream ids below this
_LINES = 1 << 27  # line ids below this
_ROLES = 256  # roles at most

Account = tuple[str, int, int, int, int | None, str]  # key, stream, first, last, line, role


class TextIds(Protocol):
    """Each account's id by the text of its key (0, or what is given, for none)."""

    def get(self, text: str, default: int, /) -> int: ...


class PackedAccounts(Mapping[int, Account]):
    """Each account by id (``get``: its key and columns, as ``held_accounts`` holds them),
    and by the text of its key (``ids.get``)."""

    __slots__ = ("_by_id", "_codes", "_ids", "_keys", "_line_of", "_lineless", "_lineless_ids",
                 "_role_index", "_roles", "_stream_ids", "_streams", "count", "ids")  # fmt: skip

    def __init__(
        self,
        streams: Mapping[int, str],
        codes: Mapping[int, str],
        line_of: Callable[[str, str], int | None],
        top: int,
    ) -> None:
        self._streams = streams
        self._stream_ids = {code: stream_id for stream_id, code in streams.items()}
        self._codes = codes  # each line's code by its id
        self._line_of = line_of  # a line's id by its stream's code and its own
        self._by_id = array("q", [-1]) * (top + 1)  # each account's packed columns, or -1
        self._roles: list[str] = []
        self._role_index: dict[str, int] = {}
        self._keys = array("q")  # packed columns in order, and the id of each
        self._ids = array("q")
        # The accounts of no line, whole (a stream's: few, and half of all postings).
        self._lineless: dict[int, Account] = {}
        self._lineless_ids: dict[str, int] = {}
        self.count = 0
        self.ids = _ByText(self)

    def _add(self, account_id: int, stream_id: int, first: int, last: int,
             line_id: int | None, role: str) -> int | None:  # fmt: skip
        index = self._role_index.get(role)
        if index is None:
            if len(self._roles) >= _ROLES:
                return None
            index = self._role_index[role] = len(self._roles)
            self._roles.append(role)
        packed = _pack(line_id or 0, stream_id, first - _YEAR, last - _YEAR, index)
        self._by_id[account_id] = packed
        self.count += 1
        if line_id is None:
            held = self._lineless[account_id] = self._unpacked(packed)
            self._lineless_ids[held[0]] = account_id
        return packed

    @property
    def top(self) -> int:
        """The greatest id an account may have."""
        return len(self._by_id) - 1

    def _found(self, account_id: Any) -> Account | int | None:
        """An account of no line, whole; else the account's number; None if none."""
        if type(account_id) is not int:
            account_id = whole_id(account_id)
        found = self._lineless.get(account_id)
        if found is not None:
            return found
        by_id = self._by_id
        if account_id is None or not 0 < account_id < len(by_id):
            return None
        packed = by_id[account_id]
        return packed if packed >= 0 else None

    def get(self, account_id: Any, default: Any = None) -> Account | Any:
        found = self._found(account_id)
        if type(found) is int:
            return self._unpacked(found)
        return default if found is None else found

    def _unpacked(self, packed: int) -> Account:
        line_id = packed >> 36
        stream_id = (packed >> 24) & 0xFFF
        first = ((packed >> 16) & 0xFF) + _YEAR
        last = ((packed >> 8) & 0xFF) + _YEAR
        role = self._roles[packed & 0xFF]
        stream = self._streams[stream_id]
        if line_id:
            key = f"{stream}|{first}|{last}|{self._codes[line_id]}|{role}"
            return (key, stream_id, first, last, line_id, role)
        return (f"{stream}|{first}|{last}||{role}", stream_id, first, last, None, role)

    def __getitem__(self, account_id: Any) -> Account:
        found = self.get(account_id)
        if found is None:
            raise KeyError(account_id)
        return found  # type: ignore[no-any-return]

    def __contains__(self, account_id: Any) -> bool:
        return self.get(account_id) is not None

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[int]:
        """The ids, in order (the order they were read in)."""
        for account_id, packed in enumerate(self._by_id):
            if packed >= 0:
                yield account_id

    def items(self) -> Iterator[tuple[int, Account]]:
        for account_id in self:
            yield account_id, self[account_id]

    def id_of(self, text: str, default: int) -> int:
        """The account whose key is ``text``."""
        found = self._lineless_ids.get(text)
        if found is not None:
            return found
        parts = text.split("|", 4)
        if len(parts) != 5:
            return default
        stream, first, last, code, role = parts
        stream_id = self._stream_ids.get(stream)
        index = self._role_index.get(role)
        since = _YEARS.get(first)
        until = _YEARS.get(last)
        if stream_id is None or index is None or since is None or until is None:
            return default
        line_id = 0
        if code:
            found = self._line_of(stream, code)
            if found is None:
                return default
            line_id = found
        # Each part found by its own text (the line's code, the stream's and the role's as
        # dictionary keys, the years as one of their 256 texts): the account found has
        # this text for its key, not only the same numbers.
        packed = _pack(line_id, stream_id, since, until, index)
        keys = self._keys
        at = bisect_left(keys, packed)
        if at < len(keys) and keys[at] == packed:
            return self._ids[at]
        return default

    def columns(self, account_id: Any) -> tuple[Any, int, int, int, int | None, str] | None:
        """``get``, the key's text left out where it would be made (the rules read only the
        columns)."""
        packed = self._found(account_id)
        if type(packed) is not int:
            return packed
        first = ((packed >> 16) & 0xFF) + _YEAR
        last = ((packed >> 8) & 0xFF) + _YEAR
        return (None, (packed >> 24) & 0xFFF, first, last, packed >> 36 or None,
                self._roles[packed & 0xFF])  # fmt: skip

    def _index(self, packed: list[int], ids: array[int]) -> bool:
        """Keep the packed accounts (of ``ids``) in order, for ``id_of``; False if two are
        alike."""
        order = sorted(range(len(packed)), key=packed.__getitem__)
        keys = self._keys = array("q", [packed[i] for i in order])
        if any(keys[i] == keys[i + 1] for i in range(len(keys) - 1)):
            return False
        self._ids = array("q", [ids[i] for i in order])
        return True


class _ByText:
    """``PackedAccounts.id_of`` as a mapping's ``get``: what verify holds otherwise."""

    __slots__ = ("get",)

    def __init__(self, accounts: PackedAccounts) -> None:
        self.get = accounts.id_of


class Balances(Mapping[int, int]):
    """Each account's balance by its id, as a dictionary holds them (in the order the
    accounts were first posted to), for a ledger whose accounts are packed: in arrays, a
    64-bit number for each account (about 17 bytes an account against 115). A posting a
    dictionary would hold otherwise (of an account id beyond the packed ones, an amount
    that is not a whole number or a balance beyond 64 bits: written behind the ledger's
    back) turns them into that dictionary, which then holds them all."""

    __slots__ = ("_amounts", "_held", "_order", "_posted")

    def __init__(self, top: int, start: Iterable[tuple[int, int]] = ()) -> None:
        """``start``: each account's balance (id, pence) before the first posting added."""
        self._amounts = array("q", [0]) * (top + 1)
        self._posted = bytearray(top + 1)
        self._order = array("q")  # the ids, as first posted to
        self._held: dict[int, Any] | None = None  # the dictionary, once it is one
        for account_id, pence in start:
            self.add(account_id, pence)

    def add(self, account_id: Any, pence: Any) -> None:
        """``balances[account_id] = balances.get(account_id, 0) + pence``."""
        held = self._held
        if held is None:
            if (
                type(account_id) is int
                and type(pence) is int
                and 0 < account_id < len(self._posted)
            ):
                try:
                    if self._posted[account_id]:
                        self._amounts[account_id] += pence
                    else:
                        self._amounts[account_id] = pence
                        self._posted[account_id] = 1
                        self._order.append(account_id)
                    return
                except OverflowError:
                    pass
            held = self._as_dictionary()
        held[account_id] = held.get(account_id, 0) + pence

    def _as_dictionary(self) -> dict[int, Any]:
        amounts = self._amounts
        held = self._held = {account_id: amounts[account_id] for account_id in self._order}
        self._amounts, self._posted, self._order = array("q"), bytearray(), array("q")
        return held

    def __getitem__(self, account_id: Any) -> Any:
        if self._held is not None:
            return self._held[account_id]
        whole = account_id if type(account_id) is int else whole_id(account_id)
        if whole is not None and 0 < whole < len(self._posted) and self._posted[whole]:
            return self._amounts[whole]
        raise KeyError(account_id)

    def __contains__(self, account_id: Any) -> bool:
        if self._held is not None:
            return account_id in self._held
        whole = account_id if type(account_id) is int else whole_id(account_id)
        return whole is not None and 0 < whole < len(self._posted) and bool(self._posted[whole])

    def __iter__(self) -> Iterator[int]:
        return iter(self._order if self._held is None else self._held)

    def __len__(self) -> int:
        return len(self._order if self._held is None else self._held)


def _pack(line_id: int, stream_id: int, first: int, last: int, role: int) -> int:
    return line_id << 36 | stream_id << 24 | first << 16 | last << 8 | role


_YEARS = {str(_YEAR + offset): offset for offset in range(256)}  # each year's text, packed


def read(
    connection: Connection,
    streams: Mapping[int, str],
    line_code: Mapping[int, str],
    line_stream: Mapping[int, str | None],
    packed_lines: PackedLines | None = None,
) -> PackedAccounts | None:
    """Every account, packed; None when there are fewer than ``COMPACT`` or anything in them
    (or in the streams and lines their keys name) is out of the ordinary. ``packed_lines``:
    the lines, when they are packed (grants.services.line_table; ``line_code`` and
    ``line_stream`` are then its views), which find a line by its code themselves."""
    sized = of_many(connection, "account", COMPACT)
    if sized is None:
        return None
    count, top = sized
    line_of = (
        _lines(streams, line_code, line_stream)
        if packed_lines is None  # packed, the lines' streams were told apart (streams_apart)
        else (packed_lines.id_of if packed_lines.top < _LINES else None)
    )
    if line_of is None:
        return None
    accounts = PackedAccounts(streams, line_code, line_of, top)
    packed: list[int] = []
    ids = array("q")
    before = 0
    # In the order of their ids: PostgreSQL's own order is where each row lies (a row
    # changed moves), or where another reader's scan of a large table has got to.
    for account_id, key, stream_id, first, last, line_id, role in stream_rows(
        connection, f"SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY id"
    ):
        if (
            type(account_id) is not int
            or not before < account_id <= top
            or type(stream_id) is not int
            or type(first) is not int
            or type(last) is not int
            or type(role) is not str
            or not 0 <= first - _YEAR < 256
            or not 0 <= last - _YEAR < 256
        ):
            return None
        before = account_id
        stream = streams.get(stream_id)
        if stream is None:
            return None
        if line_id is None:
            code = ""
        elif type(line_id) is not int or line_stream.get(line_id) != stream:
            return None  # of no line the ledger has, or of another stream's
        else:
            code = line_code[line_id]
        if key != f"{stream}|{first}|{last}|{code}|{role}":
            return None
        columns = accounts._add(account_id, stream_id, first, last, line_id, role)
        if columns is None:
            return None
        packed.append(columns)
        ids.append(account_id)
    if accounts.count != count or not accounts._index(packed, ids):
        return None
    return accounts


def of_many(connection: Connection, table: str, at_least: int) -> tuple[int, int] | None:
    """The rows of ``table`` and its greatest id, where it holds ``at_least`` rows with ids
    not too sparse to be found through arrays by id; None otherwise."""
    count, top = connection.exec_driver_sql(f"SELECT COUNT(*), MAX(id) FROM {table}").one()
    if (
        type(count) is not int
        or count < at_least
        or type(top) is not int
        or not count <= top <= 4 * count + 1024
    ):
        return None
    return count, top


def streams_apart(streams: Mapping[int, str]) -> bool:
    """Whether each stream's code can be told apart in a key, and its id packed."""
    codes = list(streams.values())
    return (
        len(set(codes)) == len(codes)
        and all(type(s) is int and 0 < s < _STREAMS for s in streams)
        and all(type(code) is str and code and "|" not in code for code in codes)
    )


def _lines(
    streams: Mapping[int, str],
    line_code: Mapping[int, str],
    line_stream: Mapping[int, str | None],
) -> Callable[[str, str], int | None] | None:
    """Each line's id by its stream's code and its own (a dictionary by code, and by stream
    for a code more than one stream uses); None if a stream's or a line's code could not be
    told apart in a key."""
    if not streams_apart(streams):
        return None
    by_code: dict[str, Any] = {}
    for line_id, code in line_code.items():
        stream = line_stream.get(line_id)
        if (
            type(line_id) is not int
            or not 0 < line_id < _LINES
            or stream is None
            or type(code) is not str
            or not code
            or "|" in code
        ):
            return None
        found = by_code.get(code)
        if found is None:
            by_code[code] = line_id
            continue
        if type(found) is not dict:
            found = by_code[code] = {line_stream[found]: found}
        if stream in found:  # the code twice in one stream
            return None
        found[stream] = line_id

    def line_of(stream: str, code: str) -> int | None:
        found = by_code.get(code)
        return found.get(stream) if type(found) is dict else found

    return line_of


__all__ = [
    "COMPACT",
    "Balances",
    "PackedAccounts",
    "TextIds",
    "of_many",
    "read",
    "streams_apart",
]
