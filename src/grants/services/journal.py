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
from collections.abc import Callable, Collection, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from grants.db import bulk
from grants.db.engine import journal_stands, lock_writers, under_writers_lock
from grants.db.models import Entry
from grants.errors import GrantsError, NotFound, RuleError
from grants.formatting import count
from grants.money import MAX_TURNOVER_PENCE
from grants.services import access, rules
from grants.services.arrears import Arrears
from grants.services.balance_reads import branches_beneath
from grants.services.journal_catalog import Catalog, account_key_text
from grants.services.journal_checks import SMALL_BATCH, GivenIds, check_carry, check_claim
from grants.services.journal_cold import ColdLines
from grants.services.journal_entry import (
    SEP,
    NewEntry,
    amount_text,
    content_prefix,
    derived_key,
    operation_text,
    where_text,
)
from grants.services.journal_reversal import Named, Reversals
from grants.services.journal_rows import ENTRY_COLUMNS, binds_text, insert_rows, sqlite_value
from grants.services.keys import DERIVED
from grants.services.rule_texts import describe, share_text
from grants.services.rules import AccountKey


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
    as_text: bool  # dates, times and booleans bound as SQLite stores them (journal_rows)
    keys: set[str | int] = field(default_factory=set)  # given to entries so far
    # The entries given an id so far, by id: what reversing one needs, kept for the whole
    # load (not the entry: its texts would be held too).
    by_ref: dict[str, Named] = field(default_factory=dict)
    first_entry: int = 0  # the id of the run's first entry: those from it on are its own
    reversed_in_batch: set[int] = field(default_factory=set)
    # The keys of the run's books reversals: two that name one entry by two names (its ref,
    # and an id the books give it only now) have one key, and the second is refused below
    # as reversing the entry twice, not skipped as recorded, wherever the batches fall.
    reversal_keys: set[str] = field(default_factory=set)
    new_accounts: list[dict[str, object]] = field(default_factory=list)
    entry_rows: list[tuple[object, ...]] = field(default_factory=list)
    posting_rows: list[tuple[int, int, int, int]] = field(default_factory=list)
    refused: bool = False
    # A load's: makes ready the lines a reversal undoes postings to (put back if packed, read
    # if not read yet) before it is checked; a reversal names an entry, not its lines.
    reach: Callable[[list[tuple[AccountKey, int]]], None] | None = None


def _digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=16).digest())


def _lines_named(batch: Iterable[NewEntry]) -> set[tuple[str, str]]:
    """The lines (stream, code) the entries of ``batch`` name (a reversal names none)."""
    return {(e.op.stream, c) for e in batch if e.op for c in (e.op.line, e.op.to_line) if c}


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# Which of some keys the journal holds: built once, the keys bound at each execution.
_KEYS_IN = select(Entry.key).where(Entry.key.in_(bindparam("keys", expanding=True)))


# The bound in pounds, as messages show it (beyond what one amount may be, so not through money).
_TURNOVER_LIMIT = f"£{MAX_TURNOVER_PENCE // 100:,}.{MAX_TURNOVER_PENCE % 100:02d}"

# From this many entries, a batch is written as a load: a bigger page cache and, into an
# empty journal, its indexes built after its rows (grants.db.bulk).
BIG_BATCH = 5_000


class Journal(Reversals):
    """Reads and appends the journal within the caller's transaction."""

    def __init__(self, session: Session, catalog: Catalog | None = None) -> None:
        self.session = session
        self.catalog = catalog
        self._streams: dict[str, int] = {}
        self._lines: dict[tuple[str, str], int] = {}
        self._parents: dict[tuple[str, str], str] = {}
        self._account_ids: MutableMapping[AccountKey, int] = {}
        self._skipped_refs: dict[str, str] = {}
        self._account_keys: MutableMapping[int, AccountKey] = {}

    # -- locking and balances -------------------------------------------------------------

    def lock(self) -> None:
        """Serialise writers to the journal for the rest of this transaction (a writing
        session's transaction is, from its start: nothing to ask)."""
        if not under_writers_lock(self.session):
            lock_writers(self.session.connection())

    def _balances(
        self,
        stream_codes: Iterable[str] | None,
        line_ids: Collection[int] | None = None,
        lines_only: bool = False,
    ) -> dict[AccountKey, int]:
        """Balances of the streams' accounts (every account with ``stream_codes`` None). With
        ``line_ids`` (lines with every line above them: ``_touched``), only the
        streams' own accounts (not with ``lines_only``) and those of these lines, and for
        each of these lines the BRANCH figure of the lines beneath it that are not among
        them, summed in SQL: enough to check a few operations on them (their limits are
        anchored on the same line, a line above it, or the stream), however many lines a
        branch holds."""
        query = "SELECT account_id, SUM(amount_pence) FROM posting GROUP BY account_id"
        if stream_codes is not None:
            ids = [self._streams[c] for c in stream_codes if c in self._streams]
            if not ids:
                return {}
            accounts = f"a.stream_id IN ({', '.join(str(int(i)) for i in ids)})"
            if line_ids is not None:
                lines = ", ".join(str(int(i)) for i in sorted(line_ids)) or "NULL"
                own = "" if lines_only else "a.line_id IS NULL OR "
                accounts += f" AND ({own}a.line_id IN ({lines}))"
            # Through the covering index, account by account: only these accounts' postings.
            query = (
                "SELECT p.account_id, SUM(p.amount_pence) FROM posting p WHERE p.account_id IN "
                f"(SELECT a.id FROM account a WHERE {accounts}) GROUP BY p.account_id"
            )
        # Sent as written (ids only): compiled, it would be a new statement for each set of
        # ids, as each file of an import brings.
        balances = {
            self._account_keys[account_id]: int(total)
            for account_id, total in self.session.connection().exec_driver_sql(query)
        }
        if stream_codes is not None and line_ids is not None:
            beneath = branches_beneath(self.session, self._lines, self._parents, line_ids)
            for key, total in beneath.items():
                balances[key] = balances.get(key, 0) + total
        return balances

    def _touched(self, named: Iterable[tuple[str, str]]) -> dict[int, str]:
        """The lines ``named`` ((stream, code)), with every line above them (a child's
        allocation posts to its parent's split account; a payment counts in what is left to
        pay of each line above), by id, with their codes. The lines beneath them are summed
        in SQL (``_balances``)."""
        touched: dict[int, str] = {}
        lines, parents = self._lines, self._parents
        for stream, code in named:
            seen: set[str] = set()
            at: str | None = code
            while at is not None and at not in seen and (stream, at) in lines:
                seen.add(at)
                touched[lines[(stream, at)]] = at
                at = parents.get((stream, at))
        return touched

    def _read_lines(
        self,
        run: _Run,
        streams: Iterable[str],
        named: Iterable[tuple[str, str]],
        read: set[int],
    ) -> None:
        """Into ``run`` (a load's into a journal that held entries, which began with the
        streams' own accounts alone), the accounts and balances of the lines ``named``
        ((stream, code): those the new entries post to, or a reversal undoes postings to),
        with every line above them, not ``read`` before, each line's
        BRANCH figure with them: what a ledger of many lines holds is read as the books
        reach it, not all at once. A line read stays in ``run``, its balances carried on in
        memory as they change. The lines beneath a line read first now cannot have been
        read before (a line is read with every line above it), so its BRANCH figure is
        theirs as stored, and that of a line above it, read before, counts them already."""
        new = {i: code for i, code in self._touched(named).items() if i not in read}
        if not new:
            return
        read.update(new)
        added = self.read_line_accounts(new)
        found = self._balances(streams, new, lines_only=True)
        # Their keys by id served that read alone: the load keeps accounts by key (and packs
        # the lines it has done with: grants.services.journal_cold).
        for account_id in added:
            del self._account_keys[account_id]
        lines, balances = self._lines, run.balances
        for key, amount in rules.rolled(list(found.items()), self.parent_of):
            if lines[(key[0], key[2])] in new:  # not a line above it read before
                found[key] = found.get(key, 0) + amount
        for key, amount in found.items():
            balances[key] = balances.get(key, 0) + amount

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
        reverses = any(e.reverses for e in batch)
        # A few entries (an officer's command) read the lines of the branches they post to,
        # or that the entries they reverse posted to, and those lines' accounts, not every
        # line and account: a national funder's ledger holds a line and two accounts a
        # grant. A catalogue kept between transactions keeps them all.
        few = len(batch) <= SMALL_BATCH and self.catalog is None
        streams = {e.op.stream for e in batch if e.op}
        named = _lines_named(batch)
        if few and reverses:
            reversed_streams, reversed_lines = self.reversed_lines(batch)
            streams |= reversed_streams
            named |= reversed_lines
        self.load_catalog(accounts=not few, lines=named if few else None)
        result = Recorded()
        if not batch:
            return result
        # Only the streams the batch touches, unless it reverses entries of any stream
        # among many entries.
        if reverses and not few:
            run = self._begin(None, None, len(batch))
        else:
            lines = self._touched(named) if len(batch) <= SMALL_BATCH else None
            if few and lines:
                self.read_line_accounts(lines)
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
        stands = self._where_it_stands()
        # Into a journal that holds entries, the lines' accounts and balances are read as
        # the entries reach them (``_read_lines``), not every one the ledger holds; the
        # streams' own accounts first, every stream's if the books reverse entries (a
        # reversal may undo an entry of any stream).
        lazily = self.catalog is None and not stands[4]
        self.load_catalog(accounts=not lazily)
        if lazily and streams is None:
            streams = set(self._streams)
        run = self._begin(streams, {} if lazily else None, total, whole=False, stands=stands)
        read: set[int] = set()
        # Once the checks hold many lines, those the batch did not name are kept packed (a
        # national funder's books name each grant's line a few times).
        cold = ColdLines(self._lines, self._parents) if self.catalog is None else None

        def reach(planned: list[tuple[AccountKey, int]]) -> None:
            """The lines a reversal undoes postings to, made ready before it is checked."""
            named = {(key[0], key[2]) for key, _ in planned if key[2] is not None}
            if cold is not None:
                cold.warm(named, run.balances, self._account_ids)
            if lazily:
                assert streams is not None
                self._read_lines(run, streams, named, read)

        run.reach = reach
        connection = self.session.connection()
        if connection.dialect.name == "sqlite":
            many = total >= BIG_BATCH
        else:  # every entry has a posting or more: rows are at least twice the entries
            many = 2 * total >= bulk.MANY
        if many:  # into an empty journal, every row is appended; the indexes are built after
            bulk.big_write(connection, appending=stands[4])
        after = (
            bulk.indexes_after(connection, ("account", "entry", "posting"), lean=True)
            if many
            else bulk.clashes_named(connection)
        )

        def record(batch: list[NewEntry]) -> Recorded:
            result = Recorded()
            keys = [e.idempotency_key() for e in batch]  # once each: a key is a SHA-256
            existing = set() if run.was_empty else self._existing_keys(keys)
            named = set()
            if cold is not None:
                named = _lines_named(batch)
                cold.warm(named, run.balances, self._account_ids)
            if lazily:
                assert streams is not None
                fresh = (e for e, key in zip(batch, keys, strict=True) if key not in existing)
                self._read_lines(run, streams, _lines_named(fresh), read)
            result.refused = self._check(run, batch, result, None, True, keys, existing)
            run.refused = run.refused or bool(result.refused)
            if not run.refused:
                run.given.check_new_keys(run.entry_rows)
                insert_rows(connection, run.new_accounts, run.entry_rows, run.posting_rows)
            run.new_accounts, run.entry_rows, run.posting_rows = [], [], []
            run.given.new_rows()
            if cold is not None:
                cold.cool(named, run.balances, self._account_ids)
            return result

        with after:
            yield record
            # Every batch is recorded: the balances and the accounts' ids the checks kept (a
            # national funder's books open two accounts for every grant) are let go before
            # the indexes are built, which take memory of their own. Recording again reads
            # the accounts again (load_catalog). The memory they held goes back to the
            # system before SQLite's sorter takes its own for the indexes (``lean``).
            run.balances.clear()
            self._account_ids.clear()
            if cold is not None:
                cold.clear()

    def _begin(
        self,
        streams: Iterable[str] | None,
        lines: Collection[int] | None,
        size: int,
        whole: bool = True,
        stands: tuple[int, int, int, int, bool] | None = None,
    ) -> _Run:
        """What checking entries carries from one to the next: the balances of ``streams``
        (every stream's if None; only their own accounts and those of ``lines`` if given),
        the next ids and the turnover (``stands``, if read already)."""
        balances = self._balances(streams, lines)
        # Entries skipped as already recorded may be named by an id given only now.
        self._skipped_refs = {}
        rules.with_branches(balances, self.parent_of)
        entry, posting, account, turnover, empty = stands or self._where_it_stands()
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
            as_text=binds_text(self.session.connection()),
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
        keys: list[str] | None = None,
        existing: set[str] | None = None,
    ) -> list[GrantsError]:
        """Check a batch entry by entry against the rules, carrying ``run`` on, and keep the
        rows of those that pass in it; the errors of those refused (raised at the first,
        unless ``keep_going``). ``keys``: the entries' idempotency keys, and ``existing``
        those the journal holds, if the caller has them already."""
        if keys is None:
            keys = [e.idempotency_key() for e in batch]  # once each: a key is a SHA-256
        if existing is None:
            existing = set() if run.was_empty else self._existing_keys(keys)
        balances, balance, given = run.balances, run.balance, run.given
        by_ref, reversed_in_batch, arrears = run.by_ref, run.reversed_in_batch, run.arrears
        new_accounts, entry_rows, posting_rows = run.new_accounts, run.entry_rows, run.posting_rows
        next_entry, next_posting, next_account = run.next_entry, run.next_posting, run.next_account
        turnover, as_text = run.turnover, run.as_text
        refused: list[GrantsError] = []
        # Looked up once a batch, not once an entry.
        parent_of, streams = self.parent_of, self._streams
        lines, account_ids, account_keys = self._lines, self._account_ids, self._account_keys
        entry_ids, items = result.entry_ids, result.items
        whole, run_keys, only_ours = run.whole, run.keys, run.was_empty and not run.whole
        postings, rolled, check, apply = rules.postings, rules.rolled, rules.check, rules.apply
        # The day and time of the entry before, and how they are bound (``sqlite_value``).
        day_was: object = None
        at_was: object = None
        day_text: object = None
        at_text: object = None
        for done, (item, key) in enumerate(zip(batch, keys, strict=True), start=1):
            try:
                if progress is not None and done % 10_000 == 0:
                    progress(10_000)
                # A key its content gives is the only one in a load (each entry counts the
                # identical ones before it): only the others are kept, across a load's
                # batches as a 128-bit digest (a command's key, a return's).
                again = key in existing
                twice = False
                if item.reverses is not None and DERIVED.match(key):
                    if not again and item.reverses in self._skipped_refs:
                        key, again = self._keyed_by_stored_ref(item, key, by_ref, run.first_entry)
                    twice = key in run.reversal_keys  # the same entry reversed twice: refused
                    run.reversal_keys.add(key)
                derived = not whole and key == item.derived
                held = key if whole or derived else _digest(key)
                if not twice and (again or (not derived and held in run_keys)):
                    result.skipped += 1
                    if item.ref:
                        self._skipped_refs[item.ref] = key
                    continue
                if not derived:
                    run_keys.add(held)
                if item.reverses:
                    original_id, planned, op, share = self._reversal(
                        item, by_ref, run.first_entry, by_number=not DERIVED.match(key)
                    )
                    if run.reach is not None:
                        run.reach(planned)
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
                            op.stream, op.line, lines[(op.stream, op.line)], item.day,
                            op.amount,
                        )  # fmt: skip
                    planned = postings(op, parent_of)
                    check_claim(op, balances)
                    check_carry(op, balance)
                    what = functools.partial(describe, op)
                    over = op.over_allocation
                    original_id, share = None, item.share
                rolls = rolled(planned, parent_of)  # for the check and the balances
                for warning in check(
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
                # Its id, refused if another entry has it, before it changes any balance: a
                # refused entry leaves the entries after it checked as if it were not there.
                ref = given.ref_of(item, key, by_ref, only_ours)
                turnover += moved
                apply(balances, planned, parent_of, rolls)
                if original_id is not None:
                    reversed_in_batch.add(original_id)
                entry_id = next_entry
                next_entry += 1
                if item.ref:
                    by_ref[item.ref] = Named(
                        entry_id, planned, original_id is not None, item.op, item.share
                    )
                for account, amount in planned:
                    account_id = account_ids.get(account)
                    if account_id is None:
                        account_id = next_account
                        next_account += 1
                        account_text = account_key_text(account)
                        account_ids[account] = account_id
                        if whole:  # a load's reversals name only accounts before it
                            account_keys[account_id] = account
                        stream, period, line, role = account
                        new_accounts.append(
                            {
                                "id": account_id,
                                "key": account_text,
                                "stream_id": streams[stream],
                                "first_year": period.first.start,
                                "last_year": period.last.start,
                                "line_id": lines[(stream, line)] if line else None,
                                "role": role,
                            }
                        )
                    posting_rows.append((next_posting, entry_id, account_id, amount))
                    next_posting += 1
                source_op = op
                day, at, over = item.day, item.recorded_at, source_op.over_allocation
                if as_text:  # a load's entries share a few days and mostly one time
                    # The books share one object for each day, but an exported entry reads
                    # its time as an object of its own, and other callers' days may be their
                    # own. Equal days, and equal times without a zone, are written alike; the
                    # same moment in two zones is not.
                    if day is not day_was and (
                        type(day) is not date or type(day_was) is not date or day != day_was
                    ):
                        day_was, day_text = day, sqlite_value(day)
                    if at is not at_was and (
                        type(at) is not datetime
                        or type(at_was) is not datetime
                        or at.tzinfo is not None
                        or at != at_was
                    ):
                        at_was, at_text = at, sqlite_value(at)
                    day, at, over = day_text, at_text, sqlite_value(over)
                entry_rows.append(
                    (
                        entry_id,
                        key,
                        ref,
                        source_op.kind,
                        day,
                        streams[source_op.stream],
                        source_op.period.first.start,
                        source_op.period.last.start,
                        lines[(source_op.stream, source_op.line)] if source_op.line else None,
                        lines[(source_op.stream, source_op.to_line)] if source_op.to_line else None,
                        source_op.to_period.first.start if source_op.to_period else None,
                        source_op.to_period.last.start if source_op.to_period else None,
                        source_op.amount,
                        source_op.tranche,
                        share_text(share),
                        over,
                        item.printed,
                        original_id,
                        item.actor,
                        item.reason,
                        at,
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

    def _existing_keys(self, keys: list[str]) -> set[str]:
        """The keys already in the journal (asked only of one that held entries at ``_begin``:
        entries are never taken away)."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(keys))):
            found.update(self.session.execute(_KEYS_IN, {"keys": chunk}).scalars())
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
            insert_rows(connection, accounts, entries, postings)
            return
        bulk.big_write(connection)
        # Into an empty journal, the indexes (and on PostgreSQL the keys) are built once,
        # after the rows.
        with bulk.indexes_after(connection, ("account", "entry", "posting")):
            insert_rows(connection, accounts, entries, postings)


def record_entries(session: Session, batch: list[NewEntry]) -> Recorded:
    """An officer's entries (award, allocate, pay, reverse...), checked and appended."""
    access.require(session, "record")
    return Journal(session).record(batch)


__all__ = [
    "BIG_BATCH", "ENTRY_COLUMNS", "SEP", "SMALL_BATCH", "Catalog", "Journal", "NewEntry",
    "Recorded", "Refused", "amount_text", "content_prefix", "derived_key", "operation_text",
    "record_entries", "where_text",
]  # fmt: skip
