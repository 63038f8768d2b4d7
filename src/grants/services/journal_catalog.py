"""The streams, lines and accounts the journal resolves codes and keys with: read from the
database once a transaction, or kept between the transactions of one command
(:class:`Catalog`)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Collection, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from sys import intern
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from grants.db.models import Line, Stream
from grants.errors import NotFound
from grants.periods import period_of
from grants.services.rules import AccountKey

# Where the catalog stands (built once: read as every journal begins).
_STAMP = text(
    "SELECT (SELECT coalesce(max(id), 0) FROM stream), "
    "(SELECT coalesce(max(id), 0) FROM line), "
    "(SELECT coalesce(max(id), 0) FROM account), (SELECT count(*) FROM account)"
)


def account_key_text(key: AccountKey) -> str:
    stream, period, line, role = key
    return f"{stream}|{period.first.start}|{period.last.start}|{line or ''}|{role}"


def _accounts(
    session: Session,
    streams: dict[int, str],
    lines: Mapping[int, str],
    after: int,
    where: str = "",
) -> Iterator[tuple[int, AccountKey]]:
    """Each account above id ``after`` (and meeting ``where``, SQL of ids alone), with its
    key, read as plain rows; each period one object (grants.periods.period_of), as the
    books' periods are, so that keys compare at once."""
    rows = session.connection().exec_driver_sql(
        "SELECT id, stream_id, first_year, last_year, line_id, role FROM account WHERE id > "
        f"{int(after)}{' AND ' + where if where else ''} ORDER BY id"
    )
    for account_id, stream_id, first, last, line_id, role in rows:
        line = lines[line_id] if line_id else None
        yield account_id, (streams[stream_id], period_of(first, last), line, role)


_LINE = (Line.id, Line.stream_id, Line.code, Line.parent_id)
# Ids bound in one statement at most (``_branches``).
IN_CHUNK = 1000


def _branches(
    session: Session, streams: Mapping[str, int], wanted: Collection[tuple[str, str]]
) -> list[Row[Any]]:
    """The lines ``wanted`` ((stream code, line code)), every line above them and every line
    beneath those: all a rule check of entries on ``wanted`` reads (a line's limits are
    anchored on it, a line above it, or the stream; its branch figure sums the lines
    beneath), through the stream's unique key and ix_line_parent, not every line."""
    codes: dict[int, list[str]] = {}
    for stream, code in wanted:
        if stream in streams:
            codes.setdefault(streams[stream], []).append(code)
    found: dict[int, Row[Any]] = {}
    for stream_id, named in codes.items():
        query = select(*_LINE).where(Line.stream_id == stream_id, Line.code.in_(named))
        found.update((r.id, r) for r in session.execute(query))
    while above := {r.parent_id for r in found.values() if r.parent_id} - found.keys():
        found.update((r.id, r) for r in session.execute(select(*_LINE).where(Line.id.in_(above))))
    level = sorted(found)
    while level:
        # A level of a branch may hold more lines than a statement may bind (PostgreSQL's
        # driver takes 65,535 parameters): asked for a chunk of them at a time.
        beneath = [
            r
            for at in range(0, len(level), IN_CHUNK)
            for r in session.execute(
                select(*_LINE).where(Line.parent_id.in_(level[at : at + IN_CHUNK]))
            )
        ]
        level = sorted({r.id for r in beneath} - found.keys())
        found.update((r.id, r) for r in beneath)
    return list(found.values())


@dataclass
class Catalog:
    """The streams, lines and accounts a Journal resolves codes with, kept between the
    transactions of one command that records many small batches (importing a thousand
    returns). Before each use it is checked against the database: streams and lines only
    grow, and accounts added since are read; anything else (a rolled-back account, another
    database) reloads it whole."""

    stamp: tuple[int, int, int, int] | None = None
    streams: dict[str, int] = field(default_factory=dict)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    parents: dict[tuple[str, str], str] = field(default_factory=dict)
    line_codes: dict[int, str] = field(default_factory=dict)
    account_ids: dict[AccountKey, int] = field(default_factory=dict)
    account_keys: dict[int, AccountKey] = field(default_factory=dict)


class CatalogReads:
    """The catalogue of a journal: its streams, lines and accounts, by code and key."""

    session: Session
    catalog: Catalog | None
    _streams: dict[str, int]
    _lines: dict[tuple[str, str], int]  # (stream, code) -> the line's id
    _parents: dict[tuple[str, str], str]  # (stream, code) -> its parent's code, if it has one
    _account_ids: MutableMapping[AccountKey, int]
    _account_keys: MutableMapping[int, AccountKey]

    def _stamp(self) -> tuple[int, int, int, int]:
        row = self.session.execute(_STAMP).one()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def load_catalog(
        self, accounts: bool = True, lines: Collection[tuple[str, str]] | None = None
    ) -> None:
        """The streams, lines and accounts; with ``accounts`` False (and no catalogue kept
        between transactions), only the streams' own accounts, those of no line: the lines'
        are read as they are needed (``read_line_accounts``). With ``lines`` ((stream,
        code): an officer's few entries'), only those lines' branches (``_branches``)."""
        cache = self.catalog
        if cache is None:
            self._load_catalog(accounts, lines)
            return
        stamp = self._stamp()
        old = cache.stamp
        if old is not None and old[:2] == stamp[:2] and stamp[2] >= old[2]:
            codes = {sid: code for code, sid in cache.streams.items()}
            for account_id, account in _accounts(self.session, codes, cache.line_codes, old[2]):
                cache.account_ids[account] = account_id
                cache.account_keys[account_id] = account
            if len(cache.account_keys) == stamp[3]:
                cache.stamp = stamp
                # Shared, not copied (a copy per batch grows with the ledger): this journal
                # only reads streams and lines, and keeps the accounts it creates to itself
                # until the next load, which reads them back if they were committed.
                self._streams = cache.streams
                self._lines = cache.lines
                self._parents = cache.parents
                self._account_ids = ChainMap({}, cache.account_ids)
                self._account_keys = ChainMap({}, cache.account_keys)
                return
        self._load_catalog()
        cache.stamp = self._stamp()
        cache.streams = dict(self._streams)
        cache.lines = dict(self._lines)
        cache.parents = dict(self._parents)
        cache.line_codes = {i: code for i, code in self.session.execute(select(Line.id, Line.code))}
        cache.account_ids = dict(self._account_ids)
        cache.account_keys = dict(self._account_keys)

    def _load_catalog(
        self, accounts: bool = True, wanted: Collection[tuple[str, str]] | None = None
    ) -> None:
        s = self.session
        # Each stream's code interned, as the books' entries intern theirs
        # (grants.ledger.validate_entries.money_op): one string wherever the journal keeps
        # it. So is the code of a line of a branch, which the rules also name through the
        # catalogue (a child's allocation posts to its parent's account). Any other line's
        # code is one string in the catalogue and in its accounts' keys read here, but not
        # interned: half a million lines' codes grew the interpreter's table of interned
        # strings by some 40 bytes a line, and a load keeps in its keys only the lines its
        # entries are reaching (grants.services.journal_cold), by the entries' own strings.
        self._streams = {
            intern(code): sid for code, sid in s.execute(select(Stream.code, Stream.id))
        }
        codes = {sid: code for code, sid in self._streams.items()}
        if wanted is None:
            rows = s.execute(select(*_LINE)).all()
        else:
            rows = _branches(s, self._streams, wanted)
        line_codes = {r.id: r.code for r in rows}
        for r in rows:
            if r.parent_id:
                line_codes[r.id] = intern(line_codes[r.id])
                line_codes[r.parent_id] = intern(line_codes[r.parent_id])
        # A line's id, and apart (most lines have none) its parent's code: a pair for each
        # line would cost a national funder's catalogue a tuple for every grant.
        self._lines = {(codes[r.stream_id], line_codes[r.id]): r.id for r in rows}
        self._parents = {
            (codes[r.stream_id], line_codes[r.id]): line_codes[r.parent_id]
            for r in rows
            if r.parent_id
        }
        where = "" if accounts else "line_id IS NULL"
        self._account_keys = dict(_accounts(s, codes, line_codes, 0, where))
        self._account_ids = {account: i for i, account in self._account_keys.items()}

    def read_line_accounts(self, lines: Mapping[int, str]) -> list[int]:
        """Add the accounts of ``lines`` (id -> code) to the catalogue (one read the
        streams' own accounts only, ``load_catalog(accounts=False)``); their ids."""
        codes = {sid: code for code, sid in self._streams.items()}
        ids = ", ".join(str(int(i)) for i in sorted(lines))
        added = []
        for account_id, account in _accounts(self.session, codes, lines, 0, f"line_id IN ({ids})"):
            self._account_keys[account_id] = account
            self._account_ids[account] = account_id
            added.append(account_id)
        return added

    def account_keys_of(self, account_ids: Collection[int]) -> dict[int, AccountKey]:
        """The keys of accounts by id, read with their lines' codes (a reversal's, in a load
        that reads lines' accounts as it reaches them and does not keep their ids)."""
        codes = {sid: code for code, sid in self._streams.items()}
        ids = ", ".join(str(int(i)) for i in sorted(set(account_ids)))
        rows = self.session.connection().exec_driver_sql(
            "SELECT a.id, a.stream_id, a.first_year, a.last_year, l.code, a.role FROM account a "
            f"LEFT JOIN line l ON l.id = a.line_id WHERE a.id IN ({ids})"
        )
        return {
            account_id: (codes[stream_id], period_of(first, last), code, role)
            for account_id, stream_id, first, last, code, role in rows
        }

    def stream_id(self, code: str) -> int:
        try:
            return self._streams[code]
        except KeyError:
            raise NotFound(
                f"there is no funding stream {code!r}; `grants streams` lists them"
            ) from None

    def line_id(self, stream: str, code: str) -> int:
        try:
            return self._lines[(stream, code)]
        except KeyError:
            raise NotFound(
                f"stream {stream} has no line {code!r}; `grants allocations --stream {stream}` "
                "lists its lines (a new line needs a name: --name)"
            ) from None

    def parent_of(self, stream: str, code: str) -> str | None:
        key = (stream, code)
        parent = self._parents.get(key)
        if parent is None and key not in self._lines:
            self.line_id(stream, code)  # raises NotFound
        return parent
