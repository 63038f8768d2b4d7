"""The journal: append-only entries and their postings, written in bulk under a lock.

One path writes every entry, whether it comes from an officer's command or from loading the
books: :meth:`Journal.record` takes a batch of :class:`NewEntry`, checks each against the
rules (grants.services.rules) with balances kept in memory, and inserts the batch with
executemany. On PostgreSQL the batch holds an exclusive lock on the journal, so two officers
allocating from the same award at the same moment are serialised and cannot overspend it; on
SQLite every transaction begins IMMEDIATE, which does the same.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from grants.db import bulk
from grants.db.engine import journal_stands, lock_writers, under_writers_lock
from grants.db.models import Entry, Line, Posting, Stream
from grants.errors import GrantsError, NotFound, RuleError
from grants.formatting import count
from grants.money import MAX_TURNOVER_PENCE
from grants.periods import FinancialYear, Period, period_of
from grants.services import access, entry_refs, rules
from grants.services.arrears import Arrears
from grants.services.balance_reads import branches_beneath
from grants.services.journal_checks import SMALL_BATCH, GivenIds, check_carry, check_claim
from grants.services.journal_entry import (
    SEP,
    NewEntry,
    amount_text,
    content_prefix,
    derived_key,
    operation_text,
    where_text,
)
from grants.services.keys import DERIVED
from grants.services.rules import AccountKey, Operation

ENTRY_COLUMNS = (
    "id", "key", "ref", "kind", "day", "stream_id", "first_year", "last_year", "line_id",
    "to_line_id", "to_first_year", "to_last_year", "amount_pence", "tranche", "share",
    "over_allocation", "printed", "reverses_id", "actor", "reason", "recorded_at", "source",
    "origin", "note", "turnover_pence",
)  # fmt: skip
POSTING_COLUMNS = ("id", "entry_id", "account_id", "amount_pence")
ACCOUNT_COLUMNS = ("id", "key", "stream_id", "first_year", "last_year", "line_id", "role")


class Refused(RuleError):
    """Several entries of a batch were refused; each error carries its entry (``.entry``)."""

    def __init__(self, errors: list[GrantsError]) -> None:
        self.errors = errors
        super().__init__(
            f"{count(len(errors), 'entry', 'entries')} refused; the first: {errors[0]}"
        )


@dataclass(slots=True)
class Recorded:
    entry_ids: list[int] = field(default_factory=list)
    items: list[NewEntry] = field(default_factory=list)  # what each new entry recorded
    skipped: int = 0
    warnings: list[tuple[NewEntry, str]] = field(default_factory=list)
    refused: list[GrantsError] = field(default_factory=list)  # a batch of a load's


class _Named(NamedTuple):
    """An entry of this run named by its books id: what reversing it needs."""

    entry_id: int
    planned: list[tuple[AccountKey, int]]
    is_reversal: bool
    op: Operation | None
    share: Decimal | None


@dataclass(slots=True)
class _Run:
    """What checking entries carries from one entry, and one batch, to the next."""

    balances: dict[AccountKey, int]
    balance: Callable[[AccountKey], int]
    given: GivenIds
    arrears: Arrears
    next_entry: int
    next_posting: int
    next_account: int
    turnover: int
    was_empty: bool  # the journal held no entry: keys are not looked up in it
    whole: bool  # one batch (every key kept), or a load's batches (only keys not derived)
    keys: set[str | int] = field(default_factory=set)  # given to entries so far
    # The entries given an id so far, by id: what reversing one needs, kept for the whole
    # load (not the entry: its texts would be held too).
    by_ref: dict[str, _Named] = field(default_factory=dict)
    first_entry: int = 0  # the id of the run's first entry: those from it on are its own
    reversed_in_batch: set[int] = field(default_factory=set)
    new_accounts: list[dict[str, object]] = field(default_factory=list)
    entry_rows: list[tuple[object, ...]] = field(default_factory=list)
    posting_rows: list[tuple[int, int, int, int]] = field(default_factory=list)
    refused: bool = False


def _digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=16).digest())


def account_key_text(key: AccountKey) -> str:
    stream, period, line, role = key
    return f"{stream}|{period.first.start}|{period.last.start}|{line or ''}|{role}"


def _accounts(
    session: Session, streams: dict[int, str], lines: dict[int, str], after: int
) -> Iterator[tuple[int, AccountKey]]:
    """Each account above id ``after``, with its key, read as plain rows; each period one
    object (grants.periods.period_of), as the books' periods are, so that keys compare at
    once."""
    rows = session.connection().exec_driver_sql(
        "SELECT id, stream_id, first_year, last_year, line_id, role FROM account WHERE id > "
        f"{int(after)} ORDER BY id"
    )
    for account_id, stream_id, first, last, line_id, role in rows:
        line = lines[line_id] if line_id else None
        yield account_id, (streams[stream_id], period_of(first, last), line, role)


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class Catalog:
    """The streams, lines and accounts a Journal resolves codes with, kept between the
    transactions of one command that records many small batches (importing a thousand
    returns). Before each use it is checked against the database: streams and lines only
    grow, and accounts added since are read; anything else (a rolled-back account, another
    database) reloads it whole."""

    stamp: tuple[int, int, int, int] | None = None
    streams: dict[str, int] = field(default_factory=dict)
    lines: dict[tuple[str, str], tuple[int, str | None]] = field(default_factory=dict)
    line_codes: dict[int, str] = field(default_factory=dict)
    account_ids: dict[AccountKey, int] = field(default_factory=dict)
    account_keys: dict[int, AccountKey] = field(default_factory=dict)


# The bound in pounds, as messages show it (beyond what one amount may be, so not through money).
_TURNOVER_LIMIT = f"£{MAX_TURNOVER_PENCE // 100:,}.{MAX_TURNOVER_PENCE % 100:02d}"

# From this many entries, a batch is written as a load: a bigger page cache and, into an
# empty journal, its indexes built after its rows (grants.db.bulk).
BIG_BATCH = 5_000


class Journal:
    """Reads and appends the journal within the caller's transaction."""

    def __init__(self, session: Session, catalog: Catalog | None = None) -> None:
        self.session = session
        self.catalog = catalog
        self._streams: dict[str, int] = {}
        self._lines: dict[tuple[str, str], tuple[int, str | None]] = {}
        self._account_ids: MutableMapping[AccountKey, int] = {}
        self._skipped_refs: dict[str, str] = {}
        self._account_keys: MutableMapping[int, AccountKey] = {}

    # -- reference data -------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int, int, int]:
        row = self.session.execute(
            text(
                "SELECT (SELECT coalesce(max(id), 0) FROM stream), "
                "(SELECT coalesce(max(id), 0) FROM line), "
                "(SELECT coalesce(max(id), 0) FROM account), (SELECT count(*) FROM account)"
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def load_catalog(self) -> None:
        cache = self.catalog
        if cache is None:
            self._load_catalog()
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
                self._account_ids = ChainMap({}, cache.account_ids)
                self._account_keys = ChainMap({}, cache.account_keys)
                return
        self._load_catalog()
        cache.stamp = self._stamp()
        cache.streams = dict(self._streams)
        cache.lines = dict(self._lines)
        cache.line_codes = {i: code for i, code in self.session.execute(select(Line.id, Line.code))}
        cache.account_ids = dict(self._account_ids)
        cache.account_keys = dict(self._account_keys)

    def _load_catalog(self) -> None:
        s = self.session
        self._streams = dict(s.execute(select(Stream.code, Stream.id)).all())
        codes = {sid: code for code, sid in self._streams.items()}
        rows = s.execute(select(Line.id, Line.stream_id, Line.code, Line.parent_id)).all()
        by_id = {r.id: r for r in rows}
        self._lines = {
            (codes[r.stream_id], r.code): (r.id, by_id[r.parent_id].code if r.parent_id else None)
            for r in rows
        }
        line_codes = {r.id: r.code for r in rows}
        self._account_keys = dict(_accounts(s, codes, line_codes, 0))
        self._account_ids = {account: i for i, account in self._account_keys.items()}

    def stream_id(self, code: str) -> int:
        try:
            return self._streams[code]
        except KeyError:
            raise NotFound(
                f"there is no funding stream {code!r}; `grants streams` lists them"
            ) from None

    def line_id(self, stream: str, code: str) -> int:
        try:
            return self._lines[(stream, code)][0]
        except KeyError:
            raise NotFound(
                f"stream {stream} has no line {code!r}; `grants allocations --stream {stream}` "
                "lists its lines (a new line needs a name: --name)"
            ) from None

    def parent_of(self, stream: str, code: str) -> str | None:
        found = self._lines.get((stream, code))
        if found is None:
            self.line_id(stream, code)  # raises NotFound
        assert found is not None
        return found[1]

    # -- locking and balances -------------------------------------------------------------

    def lock(self) -> None:
        """Serialise writers to the journal for the rest of this transaction (a writing
        session's transaction is, from its start: nothing to ask)."""
        if not under_writers_lock(self.session):
            lock_writers(self.session.connection())

    def _balances(
        self, stream_codes: Iterable[str] | None, line_ids: set[int] | None = None
    ) -> dict[AccountKey, int]:
        """Balances of the streams' accounts (every account with ``stream_codes`` None). With
        ``line_ids`` (lines with every line above them: ``_lines_touched``), only the
        streams' own accounts and those of these lines, and for each of these lines the
        BRANCH figure of the lines beneath it that are not among them, summed in SQL: enough
        to check a few operations on them (their limits are anchored on the same line, a line
        above it, or the stream), however many lines a branch holds."""
        query = "SELECT account_id, SUM(amount_pence) FROM posting GROUP BY account_id"
        if stream_codes is not None:
            ids = [self._streams[c] for c in stream_codes if c in self._streams]
            if not ids:
                return {}
            accounts = f"a.stream_id IN ({', '.join(str(int(i)) for i in ids)})"
            if line_ids is not None:
                lines = ", ".join(str(int(i)) for i in sorted(line_ids)) or "NULL"
                accounts += f" AND (a.line_id IS NULL OR a.line_id IN ({lines}))"
            # Through the covering index, account by account: only these accounts' postings.
            query = (
                "SELECT p.account_id, SUM(p.amount_pence) FROM posting p WHERE p.account_id IN "
                f"(SELECT a.id FROM account a WHERE {accounts}) GROUP BY p.account_id"
            )
        balances = {
            self._account_keys[account_id]: int(total)
            for account_id, total in self.session.execute(text(query))
        }
        if stream_codes is not None and line_ids is not None:
            for key, total in branches_beneath(self.session, self._lines, line_ids).items():
                balances[key] = balances.get(key, 0) + total
        return balances

    def _lines_touched(self, batch: list[NewEntry]) -> set[int]:
        """The lines a batch posts to, with every line above them (a child's allocation
        posts to its parent's split account; a payment counts in what is left to pay of
        each line above). The lines beneath them are summed in SQL (``_balances``)."""
        touched: set[int] = set()
        for e in batch:
            assert e.op is not None
            for code in (e.op.line, e.op.to_line):
                seen: set[str] = set()
                while code is not None and code not in seen and (e.op.stream, code) in self._lines:
                    seen.add(code)
                    line_id, parent = self._lines[(e.op.stream, code)]
                    touched.add(line_id)
                    code = parent
        return touched

    # -- recording ------------------------------------------------------------------------

    def record(
        self,
        batch: list[NewEntry],
        *,
        progress: Callable[[int], None] | None = None,
        keep_going: bool = False,
    ) -> Recorded:
        """Check and append a batch of entries; raises RuleError and writes nothing if any
        entry breaks a rule. Entries already in the journal (same idempotency key) are skipped.
        ``progress`` is told how many entries were checked, every 10,000. With ``keep_going``
        every refused entry is reported (as :class:`Refused`), not only the first.
        """
        self.lock()
        self.load_catalog()
        result = Recorded()
        if not batch:
            return result
        # Only the streams the batch touches, unless it reverses entries of any stream.
        if any(e.reverses for e in batch):
            run = self._begin(None, None, len(batch))
        else:
            streams = {e.op.stream for e in batch if e.op}
            lines = self._lines_touched(batch) if len(batch) <= SMALL_BATCH else None
            run = self._begin(streams, lines, len(batch))
        with bulk.no_cycle_collection(len(batch)):
            refused = self._check(run, batch, result, progress, keep_going)
            if refused:
                raise Refused(refused)
            run.given.check_new_keys(run.entry_rows)
            self._insert(run.new_accounts, run.entry_rows, run.posting_rows)
        return result

    @contextlib.contextmanager
    def in_batches(
        self, total: int, streams: Iterable[str] | None
    ) -> Iterator[Callable[[list[NewEntry]], Recorded]]:
        """Record ``total`` entries (a load's) batch by batch within the caller's
        transaction, so that only one batch is held at a time: the rules' balances, the
        ids and the turnover are carried from one batch to the next, as if they were one.
        Yields the function that checks a batch and writes its rows; each entry it refuses
        is in its result's ``refused`` (no rows are written from the first refusal on, and
        the caller must roll back). ``streams``: those the entries touch (None: any, as a
        reversal may). Into an empty journal of many entries, the indexes (on PostgreSQL the
        keys) are dropped before the first batch and built once after the last."""
        self.lock()
        self.load_catalog()
        run = self._begin(streams, None, total, whole=False)
        connection = self.session.connection()
        if connection.dialect.name == "sqlite":
            many = total >= BIG_BATCH
        else:  # every entry has a posting or more: rows are at least twice the entries
            many = 2 * total >= bulk.MANY
        if many:
            bulk.big_write(connection)
        after = (
            bulk.indexes_after(connection, ("account", "entry", "posting"))
            if many
            else contextlib.nullcontext()
        )

        def record(batch: list[NewEntry]) -> Recorded:
            result = Recorded()
            result.refused = self._check(run, batch, result, None, True)
            run.refused = run.refused or bool(result.refused)
            if not run.refused:
                run.given.check_new_keys(run.entry_rows)
                self._insert_rows(connection, run.new_accounts, run.entry_rows, run.posting_rows)
            run.new_accounts, run.entry_rows, run.posting_rows = [], [], []
            run.given.new_rows()
            return result

        with after:
            yield record

    def _begin(
        self, streams: Iterable[str] | None, lines: set[int] | None, size: int, whole: bool = True
    ) -> _Run:
        """What checking entries carries from one to the next: the balances of ``streams``
        (every stream's if None; only their own accounts and those of ``lines`` if given),
        the next ids and the turnover."""
        balances = self._balances(streams, lines)
        # Entries skipped as already recorded may be named by an id given only now.
        self._skipped_refs = {}
        rules.with_branches(balances, self.parent_of)
        entry, posting, account, turnover, empty = self._where_it_stands()
        return _Run(
            balances=balances,
            balance=rules.reader(balances),
            given=GivenIds(self.session, size),
            arrears=Arrears(self.session),
            next_entry=entry + 1,
            first_entry=entry + 1,
            next_posting=posting + 1,
            next_account=account + 1,
            turnover=turnover,
            was_empty=empty,
            whole=whole,
        )

    def _where_it_stands(self) -> tuple[int, int, int, int, bool]:
        """The greatest ids of entry, posting and account, the turnover, and whether the
        journal is empty: as read with the chain's marks when the transaction began, the
        first time the journal writes in it (grants.db.engine.journal_stands); else read."""
        read = journal_stands(self.session)
        if read is not None:
            ids = int(read["entry"]), int(read["posting"]), int(read["account"])
            return *ids, int(read["turnover"] or 0), not read["any_entry"]
        empty = self.session.execute(text("SELECT 1 FROM entry LIMIT 1")).first() is None
        ids = self._last_id("entry"), self._last_id("posting"), self._last_id("account")
        return *ids, self._turnover(), empty

    def _check(
        self,
        run: _Run,
        batch: list[NewEntry],
        result: Recorded,
        progress: Callable[[int], None] | None,
        keep_going: bool,
    ) -> list[GrantsError]:
        """Check a batch entry by entry against the rules, carrying ``run`` on, and keep the
        rows of those that pass in it; the errors of those refused (raised at the first,
        unless ``keep_going``)."""
        keys = [e.idempotency_key() for e in batch]  # once each: a key is a SHA-256
        existing = set() if run.was_empty else self._existing_keys(keys)
        balances, balance, given = run.balances, run.balance, run.given
        by_ref, reversed_in_batch, arrears = run.by_ref, run.reversed_in_batch, run.arrears
        new_accounts, entry_rows, posting_rows = run.new_accounts, run.entry_rows, run.posting_rows
        next_entry, next_posting, next_account = run.next_entry, run.next_posting, run.next_account
        turnover = run.turnover
        refused: list[GrantsError] = []
        # Looked up once a batch, not once an entry.
        parent_of, streams = self.parent_of, self._streams
        lines, account_ids = self._lines, self._account_ids
        entry_ids, items = result.entry_ids, result.items
        for done, (item, key) in enumerate(zip(batch, keys, strict=True), start=1):
            try:
                if progress is not None and done % 10_000 == 0:
                    progress(10_000)
                # A key its content gives is the only one in a load (each entry counts the
                # identical ones before it): only the others are kept, across a load's
                # batches as a 128-bit digest (a command's key, a return's).
                derived = not run.whole and key == item.derived
                held = key if run.whole or derived else _digest(key)
                if key in existing or (not derived and held in run.keys):
                    result.skipped += 1
                    if item.ref:
                        self._skipped_refs[item.ref] = key
                    continue
                if not derived:
                    run.keys.add(held)
                if item.reverses:
                    original_id, planned, op, share = self._reversal(
                        item, by_ref, run.first_entry, by_number=not DERIVED.match(key)
                    )
                    if original_id in reversed_in_batch:
                        raise RuleError(
                            f"entry {item.reverses} is reversed twice; an entry is reversed once"
                        )
                    what = f"reversing entry {item.reverses}".__str__
                    over = False
                else:
                    assert item.op is not None
                    op = item.op
                    if op.stream not in streams:
                        self.stream_id(op.stream)  # raises NotFound
                    for code in (op.line, op.to_line):
                        if code is not None and (op.stream, code) not in lines:
                            self.line_id(op.stream, code)  # raises NotFound
                    if op.kind == "pay" and op.line is not None:
                        arrears.check_pay(
                            op.stream, op.line, lines[(op.stream, op.line)][0], item.day,
                            op.amount,
                        )  # fmt: skip
                    planned = rules.postings(op, parent_of)
                    check_claim(op, balances)
                    check_carry(op, balance)
                    what = functools.partial(rules.describe, op)
                    over = op.over_allocation
                    original_id, share = None, item.share
                rolls = rules.rolled(planned, parent_of)  # for the check and the balances
                for warning in rules.check(
                    planned,
                    balance,
                    over_allocation=over,
                    what=what,
                    parent_of=parent_of,
                    may_over_allocate=op.kind == "allocate" and not item.reverses,
                    rolls=rolls,
                ):
                    result.warnings.append((item, warning))
                moved = 0
                for _, amount in planned:
                    moved += amount if amount > 0 else -amount
                if turnover + moved > MAX_TURNOVER_PENCE:
                    raise RuleError(
                        f"{what()} would take the journal's turnover (every amount it has "
                        f"moved, added up) past {_TURNOVER_LIMIT}, beyond "
                        "which its sums could overflow; it is refused (check the amount)"
                    )
                turnover += moved
                rules.apply(balances, planned, parent_of, rolls)
                if original_id is not None:
                    reversed_in_batch.add(original_id)
                entry_id = next_entry
                next_entry += 1
                ref = self._ref(item, key, by_ref, given, run.was_empty and not run.whole)
                if item.ref:
                    by_ref[item.ref] = _Named(
                        entry_id, planned, original_id is not None, item.op, item.share
                    )
                for account, amount in planned:
                    account_id = account_ids.get(account)
                    if account_id is None:
                        account_id = next_account
                        next_account += 1
                        account_text = account_key_text(account)
                        account_ids[account] = account_id
                        self._account_keys[account_id] = account
                        stream, period, line, role = account
                        new_accounts.append(
                            {
                                "id": account_id,
                                "key": account_text,
                                "stream_id": streams[stream],
                                "first_year": period.first.start,
                                "last_year": period.last.start,
                                "line_id": lines[(stream, line)][0] if line else None,
                                "role": role,
                            }
                        )
                    posting_rows.append((next_posting, entry_id, account_id, amount))
                    next_posting += 1
                source_op = op
                entry_rows.append(
                    (
                        entry_id,
                        key,
                        ref,
                        source_op.kind,
                        item.day,
                        streams[source_op.stream],
                        source_op.period.first.start,
                        source_op.period.last.start,
                        lines[(source_op.stream, source_op.line)][0] if source_op.line else None,
                        lines[(source_op.stream, source_op.to_line)][0]
                        if source_op.to_line
                        else None,
                        source_op.to_period.first.start if source_op.to_period else None,
                        source_op.to_period.last.start if source_op.to_period else None,
                        source_op.amount,
                        source_op.tranche,
                        rules.share_text(share),
                        source_op.over_allocation,
                        item.printed,
                        original_id,
                        item.actor,
                        item.reason,
                        item.recorded_at,
                        item.source,
                        item.origin,
                        item.note,
                        turnover,
                    )
                )
                entry_ids.append(entry_id)
                items.append(item)
            except (RuleError, NotFound) as exc:
                exc.entry = item  # type: ignore[attr-defined]  # the books report its line
                if not keep_going:
                    raise
                refused.append(exc)
        run.next_entry, run.next_posting, run.next_account = next_entry, next_posting, next_account
        run.turnover = turnover
        return refused

    def _ref(
        self,
        item: NewEntry,
        key: str,
        by_ref: dict[str, object],
        given: GivenIds,
        only_ours: bool = False,
    ) -> str:
        """The entry's ref: its books id, refused if another entry answers to it, or the one
        its key gives (which a books id of that shape must not be). ``only_ours``: the
        journal holds only this load's entries, whose ids are all in ``by_ref``."""
        own = entry_refs.key_ref(key)
        if item.ref is None or item.ref == own:
            # An id that is the ref its own key gives is stored as such a ref (outside
            # uq_entry_ref): it is refused, as a ref a key gives is, if another entry has it.
            given.check_keyed(own)
            return own
        ref = item.ref
        if ref != own:
            if ref in by_ref:
                raise RuleError(f"id {ref} is given to two entries: give each an id of its own")
            looked_up = not only_ours or entry_refs.looks_keyed(ref)
            taken = entry_refs.holders(self.session, ref) if looked_up else []
            if taken:
                raise RuleError(
                    f"id {ref} is already entry {taken[0]}'s: give the entry an id of its own"
                )
            given.add(ref)
        return ref

    def _reversal(
        self, item: NewEntry, by_ref: dict[str, _Named], first_entry: int, by_number: bool
    ) -> tuple[int, list[tuple[AccountKey, int]], Operation, Decimal | None]:
        """The entry ``item`` reverses: its id, the postings that undo it, its operation and
        share. An entry of this run (id ``first_entry`` on) is found only by its books id,
        as when the run was one batch: a load written batch by batch must not find by
        number what an earlier batch wrote, or the same books would load or not as the
        batches fall. ``by_number``: whether the entry may be named by its number (not when
        its key is the one its books' words give: the export names the entry by its ref,
        and the key would no longer be the words' on restore)."""
        assert item.reverses is not None
        wanted = item.reverses
        if wanted in by_ref:
            named = by_ref[wanted]
            if named.is_reversal:
                raise RuleError(f"entry {wanted} is itself a reversal; record the entry again")
            assert named.op is not None
            return named.entry_id, [(k, -a) for k, a in named.planned], named.op, named.share
        engine = self.session.get_bind().dialect.name
        if wanted in self._skipped_refs:
            condition = Entry.key == self._skipped_refs[wanted]
        elif wanted.isascii() and wanted.isdigit() and len(wanted) < 18:
            condition = entry_refs.named(wanted, engine) | (Entry.id == int(wanted))
        else:
            condition = entry_refs.named(wanted, engine)
        rows = self.session.execute(select(Entry).where(condition)).scalars().all()
        rows = [r for r in rows if r.id < first_entry]
        if len(rows) > 1:  # a books id that is also another entry's number
            rows = [r for r in rows if r.ref == wanted]
        if len(rows) > 1:  # two keys that begin alike: their refs are the same
            raise RuleError(
                f"entries {', '.join(str(r.id) for r in rows)} are all named {wanted}: give "
                "the entry's number instead (`grants journal` lists them)"
            )
        row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"there is no journal entry {wanted!r}; `grants journal` lists them")
        if row.ref != wanted and not by_number and row.key != self._skipped_refs.get(wanted):
            raise RuleError(
                f"entry {wanted} is named by its number, which an export of the ledger does "
                f"not keep: name it by its ref {row.ref}, as `grants journal` shows it"
            )
        if row.reverses_id is not None:
            raise RuleError(f"entry {wanted} is itself a reversal; record the entry again")
        done = self.session.execute(
            select(Entry.id).where(Entry.reverses_id == row.id)
        ).scalar_one_or_none()
        # Reversed by an entry of this run: refused as "reversed twice" by the caller.
        if done is not None and done < first_entry:
            raise RuleError(f"entry {wanted} was already reversed by entry {done}")
        planned = [
            (self._account_keys[account_id], -amount)
            for account_id, amount in self.session.execute(
                select(Posting.account_id, Posting.amount_pence)
                .where(Posting.entry_id == row.id)
                .order_by(Posting.id)
            )
        ]
        op, original = self._entry_as_new(row)
        return row.id, planned, op, original.share

    def _entry_as_new(self, row: Entry) -> tuple[Operation, NewEntry]:
        streams = {sid: code for code, sid in self._streams.items()}
        lines = {lid: code for (_, code), (lid, _) in self._lines.items()}
        op = Operation(
            kind=row.kind,
            stream=streams[row.stream_id],
            period=period_of(row.first_year, row.last_year),
            amount=row.amount_pence,
            line=lines.get(row.line_id) if row.line_id else None,
            to_line=lines.get(row.to_line_id) if row.to_line_id else None,
            to_period=Period(FinancialYear(row.to_first_year), FinancialYear(row.to_last_year))
            if row.to_first_year is not None and row.to_last_year is not None
            else None,
            tranche=row.tranche,
            over_allocation=row.over_allocation,
        )
        share = Decimal(row.share.rstrip("%")) if row.share else None
        return op, NewEntry(op, row.day, row.actor, row.recorded_at, share=share)

    def _existing_keys(self, keys: list[str]) -> set[str]:
        """The keys already in the journal (asked only of one that held entries at ``_begin``:
        entries are never taken away)."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(keys))):
            found.update(
                self.session.execute(select(Entry.key).where(Entry.key.in_(chunk))).scalars()
            )
        return found

    def _turnover(self) -> int:
        """The journal's turnover so far: the newest entry's running total."""
        value = self.session.execute(
            text("SELECT turnover_pence FROM entry ORDER BY id DESC LIMIT 1")
        ).scalar()
        return int(value or 0)

    def _last_id(self, table: str) -> int:
        value = self.session.execute(text(f"SELECT MAX(id) FROM {table}")).scalar()
        return int(value or 0)

    def _insert(
        self,
        accounts: list[dict[str, object]],
        entries: list[tuple[object, ...]],
        postings: list[tuple[int, int, int, int]],
    ) -> None:
        connection = self.session.connection()
        if connection.dialect.name == "sqlite":
            many = len(entries) >= BIG_BATCH
        else:
            many = len(entries) + len(postings) >= bulk.MANY
        if not many:
            self._insert_rows(connection, accounts, entries, postings)
            return
        bulk.big_write(connection)
        # Into an empty journal, the indexes (and on PostgreSQL the keys) are built once,
        # after the rows.
        with bulk.indexes_after(connection, ("account", "entry", "posting")):
            self._insert_rows(connection, accounts, entries, postings)

    @staticmethod
    def _insert_rows(
        connection: Connection,
        accounts: list[dict[str, object]],
        entries: list[tuple[object, ...]],
        postings: list[tuple[int, int, int, int]],
    ) -> None:
        rows = [tuple(a[c] for c in ACCOUNT_COLUMNS) for a in accounts]
        bulk.insert_rows(connection, "account", ACCOUNT_COLUMNS, rows)
        bulk.insert_rows(connection, "entry", ENTRY_COLUMNS, entries)
        bulk.insert_rows(connection, "posting", POSTING_COLUMNS, postings)


def record_entries(session: Session, batch: list[NewEntry]) -> Recorded:
    """An officer's entries (award, allocate, pay, reverse...), checked and appended."""
    access.require(session, "record")
    return Journal(session).record(batch)


__all__ = [
    "BIG_BATCH", "ENTRY_COLUMNS", "SEP", "SMALL_BATCH", "Catalog", "Journal", "NewEntry",
    "Recorded", "Refused", "amount_text", "content_prefix", "derived_key", "operation_text",
    "record_entries", "where_text",
]  # fmt: skip
