"""Reversing an entry: the entry a reversal names, found among the entries of the same run
by its books id or in the journal by its ref or number, and the postings that undo it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import ColumnElement, select

from grants.db.models import Entry, Line, Posting, Stream
from grants.errors import NotFound, RuleError
from grants.periods import FinancialYear, Period, period_of
from grants.services import entry_refs
from grants.services.journal_catalog import CatalogReads
from grants.services.journal_entry import NewEntry
from grants.services.rules import AccountKey, Operation


class Named(NamedTuple):
    """An entry of this run named by its books id: what reversing it needs."""

    entry_id: int
    planned: list[tuple[AccountKey, int]]
    is_reversal: bool
    op: Operation | None
    share: Decimal | None


class Reversals(CatalogReads):
    """Finds what a reversal undoes."""

    _skipped_refs: dict[str, str]

    def _reversal(
        self, item: NewEntry, by_ref: dict[str, Named], first_entry: int, by_number: bool
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
        if wanted in self._skipped_refs:
            condition = Entry.key == self._skipped_refs[wanted]
        else:
            condition = self._named(wanted)
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
        postings = self.session.execute(
            select(Posting.account_id, Posting.amount_pence)
            .where(Posting.entry_id == row.id)
            .order_by(Posting.id)
        ).all()
        # A load into a journal that holds entries reads lines' accounts as it reaches them
        # and lets go of their keys by id: those it does not hold are read.
        keys = self._account_keys
        unread = [account_id for account_id, _ in postings if account_id not in keys]
        read = self.account_keys_of(unread) if unread else {}
        planned = [
            (keys[account_id] if account_id in keys else read[account_id], -amount)
            for account_id, amount in postings
        ]
        op, original = self._entry_as_new(row)
        return row.id, planned, op, original.share

    def _keyed_by_stored_ref(
        self, item: NewEntry, key: str, by_ref: dict[str, Named], first_entry: int
    ) -> tuple[str, bool]:
        """The key of a books reversal, and whether the journal holds an entry with it. A
        reversal that names an entry recorded before this run by an id the books give it only
        now (the entry skipped as already recorded, its stored ref another) is keyed as if it
        named the entry by its stored ref: the ledger never stored the new id, and the export
        writes, and `grants verify` works the key out from, the stored ref. Any other entry
        keeps ``key``."""
        wanted = item.reverses
        skipped = self._skipped_refs.get(wanted) if wanted is not None else None
        if skipped is None or wanted in by_ref or key != item.content_key():
            return key, False
        row = self.session.execute(select(Entry.id, Entry.ref).where(Entry.key == skipped)).first()
        if row is None or row.id >= first_entry or row.ref == wanted:
            return key, False
        # An entry is reversed once: no reversal of it can come before this one.
        named = replace(item, reverses=row.ref, occurrence=0, key=None, derived=None)
        keyed = named.content_key()
        found = self.session.execute(
            select(Entry.id).where(Entry.key == keyed, Entry.id < first_entry)
        ).first()
        return keyed, found is not None

    def _named(self, wanted: str) -> ColumnElement[bool]:
        """The journal's entries a reversal's ``wanted`` may name: by ref, or by number."""
        engine = self.session.get_bind().dialect.name
        if wanted.isascii() and wanted.isdigit() and len(wanted) < 18:
            return entry_refs.named(wanted, engine) | (Entry.id == int(wanted))
        return entry_refs.named(wanted, engine)

    def reversed_lines(self, batch: list[NewEntry]) -> tuple[set[str], set[tuple[str, str]]]:
        """The streams and the lines ((stream, code)) of every recorded entry the reversals
        of ``batch`` may name: what their rule checks read beside the batch's own (the
        entries of the batch that a reversal names by books id name their lines
        themselves)."""
        found: list[tuple[int, int | None, int | None]] = []
        for item in batch:
            if item.reverses is not None:
                query = select(Entry.stream_id, Entry.line_id, Entry.to_line_id)
                found.extend(self.session.execute(query.where(self._named(item.reverses))))
        stream_ids = {stream_id for stream_id, _, _ in found}
        line_ids = {i for _, line, to_line in found for i in (line, to_line) if i is not None}
        codes = dict(self.session.execute(select(Stream.id, Stream.code).where(
            Stream.id.in_(stream_ids))).all()) if stream_ids else {}  # fmt: skip
        lines = self.session.execute(
            select(Line.stream_id, Line.code).where(Line.id.in_(line_ids))
        ) if line_ids else []  # fmt: skip
        return set(codes.values()), {(codes[stream_id], code) for stream_id, code in lines}

    def _entry_as_new(self, row: Entry) -> tuple[Operation, NewEntry]:
        streams = {sid: code for code, sid in self._streams.items()}
        # Its lines' codes read by id: the catalogue holds a national funder's every line.
        ids = [i for i in (row.line_id, row.to_line_id) if i is not None]
        lines = (
            dict(self.session.execute(select(Line.id, Line.code).where(Line.id.in_(ids))).all())
            if ids
            else {}
        )
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
