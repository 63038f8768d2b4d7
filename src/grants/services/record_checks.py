"""The invariants of each kind of record that no digest can show, checked as `grants verify`
reads the record: an entry's postings are the ones it makes, its running turnover, its key
against what it says; keys of the other records; accounts against their keys; received
workbooks against their SHA-256. The checks of an entry, and of the balances the entries
leave, are kept in grants.services.entry_checks; this module reads what they need of the
ledger, and checks the other records and the accounts."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from grants.db.records import RECORDS, Record
from grants.db.seal import held_accounts, stream_rows
from grants.errors import GrantsError
from grants.periods import Period
from grants.services import account_table, line_table
from grants.services.account_table import TextIds
from grants.services.entry_checks import FEW_SHAPES, EntryChecks, Shape
from grants.services.keys import (
    COMMAND,
    agreement_key,
    instalment_key,
    match_key,
    plan_key,
    stage_key,
    statement_key,
)
from grants.services.seen_contents import ContentCounts
from grants.services.verification import Broken, Verification

if TYPE_CHECKING:
    from grants.services.walk_start import Start

_UUID = COMMAND


# What a filed return's workbook says against its recorded figures (figures: the return's
# rows of return_figure): a list of differences. Services read no workbook themselves.
Evidence = Callable[[bytes, list[list[Any]]], list[str]]

# How the walk checks a record of one table: (id, values, rows that belong to it, link).
Check = Callable[[int, list[Any], list[list[Any]], int | None], None]


def _unchecked(row_id: int, values: list[Any], children: list[list[Any]], seq: int | None) -> None:
    """A record of a table with no invariants beyond its seal."""


class RecordChecks(EntryChecks):
    """The invariants of each kind of record, checked as the walk reads it."""

    def __init__(
        self,
        connection: Connection,
        result: Verification,
        evidence: Evidence | None = None,
        start: Start | None = None,
    ) -> None:
        self.result = result
        # A walk of the links after a head a walk of every link found whole: what the records up
        # to it leave (the turnover, the balances, the entries of each content) is read there.
        self.start = start
        self.evidence = evidence  # reads a return's workbook (grants.excel.return_evidence)
        self.connection = connection
        self.streams: dict[int, str] = dict(stream_rows(connection, "SELECT id, code FROM stream"))
        # Only the lines that have a parent (``_parent_of`` finds None for the others): a
        # national funder's hundreds of thousands of lines have none.
        self.line_parent: dict[tuple[str | None, str], str | None] = {}
        self.packed_lines = line_table.read(connection, self.streams)
        if self.packed_lines is None:
            self._read_lines(connection)
        else:
            self.line_code = self.packed_lines.codes
            self.line_stream = self.packed_lines.streams
            for i, parent_id in stream_rows(
                connection, "SELECT id, parent_id FROM line WHERE parent_id IS NOT NULL"
            ):
                parent = self.line_code.get(parent_id) if parent_id else None
                if parent is not None:  # each line's code is once in its stream
                    self.line_parent[(self.line_stream[i], self.line_code[i])] = parent
        packed = account_table.read(
            connection, self.streams, self.line_code, self.line_stream, self.packed_lines
        )
        self.accounts = held_accounts(connection) if packed is None else packed
        self._columns = self.accounts.get if packed is None else packed.columns
        self.filings = {key for (key,) in stream_rows(connection, "SELECT key FROM return_filing")}
        self.reversed_refs: dict[int, str] = dict(
            stream_rows(
                connection,
                "SELECT id, ref FROM entry WHERE id IN "
                "(SELECT reverses_id FROM entry WHERE reverses_id IS NOT NULL)",
            )
        )
        self.turnover = start.turnover if start is not None else 0
        # Identical entries seen, by their first's key: for packed accounts (a ledger of
        # many) in byte arrays, sized for the entries the walk reads (the greatest id verify
        # read before the walk, less those up to where it starts).
        self.contents: dict[int, int] | ContentCounts = {}
        if packed is not None:
            top = (result.marks or {}).get("entry", 0)
            after = start.after.get("entry", 0) if start is not None else 0
            self.contents = ContentCounts(top - after)
        self.shapes: dict[tuple[Any, ...], Shape] = {}
        self.room, self.found_again = FEW_SHAPES, 0
        self._shared: dict[Any, Any] = {}  # the values of the shapes kept
        self.periods: dict[tuple[int, int], str] = {}
        self.period_objects: dict[tuple[int, int], Period] = {}  # of whole years only
        self.index = {r.table: {c: i for i, c in enumerate(r.columns)} for r in RECORDS}
        entry = self._entry_columns = self.index["entry"]
        # The columns that make an entry's shape, and those its key says besides: read in one.
        self._shape_of = itemgetter(*(entry[c] for c in (
            "kind", "stream_id", "first_year", "last_year", "line_id", "to_line_id",
            "to_first_year", "to_last_year", "tranche",
        )))  # fmt: skip
        self._key_parts = itemgetter(*(entry[c] for c in (
            "day", "source", "reverses_id", "tranche", "over_allocation", "share",
        )))  # fmt: skip
        self._over = entry["over_allocation"]
        # By account, as the journal leaves them: every account an entry posts to is here.
        before = start.balances.items() if start is not None else ()
        self.balances: Mapping[int, int] = (
            dict(before) if packed is None else account_table.Balances(packed.top, before)
        )
        # Accounts an intended over-allocation posted to.
        self.over_allocated: set[int] = set(start.over_allocated) if start is not None else set()
        self._amount, self._reverses = entry["amount_pence"], entry["reverses_id"]
        self._turnover, self._key = entry["turnover_pence"], entry["key"]
        # Each account by the key its columns give (packed: every key is that text, once).
        self.misnamed: dict[int, str] = {}  # accounts whose columns say another key
        self.account_ids: TextIds = self._by_text() if packed is None else packed.ids
        # Each keyed table's key as its columns give it: functions of the class, not methods
        # bound to this object (which would hold it in a cycle: all verify learnt, freed only
        # when the cycle collector next ran, a twentieth of verify's time at 100,000 entries).
        self.keyed: dict[str, Callable[[RecordChecks, dict[str, int], list[Any]], str]] = {
            "statement": RecordChecks._statement_key,
            "match_funding": RecordChecks._match_key,
            "instalment": RecordChecks._instalment_key,
            "plan_line": RecordChecks._plan_key,
            "plan_agreement": lambda _, c, v: agreement_key(
                v[c["line_id"]], v[c["year"]], v[c["day"]]
            ),
            "return_stage": lambda _, c, v: stage_key(
                v[c["stream_id"]], v[c["year"]], v[c["stage"]]
            ),
        }

    def _read_lines(self, connection: Connection) -> None:
        """Each line's code and stream's code by its id, in dictionaries, as read; and the
        parent's code of each line that has one."""
        self.line_code = {}
        self.line_stream = {}
        rows = list(stream_rows(connection, "SELECT id, stream_id, code, parent_id FROM line"))
        codes = {i: code for i, _, code, _ in rows}
        for i, stream_id, code, parent_id in rows:
            stream = self.streams.get(stream_id)
            self.line_code[i] = code
            self.line_stream[i] = stream
            parent = codes.get(parent_id) if parent_id else None
            if parent is not None:
                self.line_parent[(stream, code)] = parent
            else:  # a line of the same stream and code read before (SQLite keeps what it
                self.line_parent.pop((stream, code), None)  # is given) had one

    def _by_text(self) -> dict[str, int]:
        """Each held account by the text its columns give (``misnamed``: where its key says
        another); the text is the key's own where they agree, so that it is held once."""
        by_text: dict[str, int] = {}
        for account_id, row in self.accounts.items():
            text = self._account_text(account_id)
            if text == row[0]:
                text = row[0]
            else:
                self.misnamed[account_id] = text
            by_text[text] = account_id
        return by_text

    def record(
        self,
        record: Record,
        row_id: int,
        values: list[Any],
        children: list[list[Any]],
        seq: int | None,
    ) -> None:
        try:
            self._record(record, row_id, values, children, seq)
        except (ArithmeticError, LookupError, TypeError, ValueError, GrantsError) as exc:
            self._unreadable(record.table, row_id, exc, seq)

    def _unreadable(self, table: str, row_id: int, exc: Exception, seq: int | None) -> None:
        # Values no command writes (text where a number belongs, a year out of range): the
        # record was made or changed behind the ledger's back.
        self.problem("unreadable", table, row_id, "holds values the ledger never writes "
                     f"({type(exc).__name__}: {exc})", seq)  # fmt: skip

    def checker(self, record: Record) -> Check:
        """``record`` (the method) for the records of one table, as the walk calls it for
        each: an entry's checks without a call between, a table with none as nothing."""
        table = record.table
        if table == "entry":
            return self.entry
        if table in ("return_filing", "attachment") or table in self.keyed:
            return functools.partial(self.record, record)
        return _unchecked

    def entry(
        self, row_id: int, values: list[Any], postings: list[list[Any]], seq: int | None
    ) -> None:
        """``record`` of an entry."""
        try:
            self._entry(row_id, values, postings, seq)
        except (ArithmeticError, LookupError, TypeError, ValueError, GrantsError) as exc:
            self._unreadable("entry", row_id, exc, seq)

    def _record(
        self,
        record: Record,
        row_id: int,
        values: list[Any],
        children: list[list[Any]],
        seq: int | None,
    ) -> None:
        table = record.table
        if table == "entry":
            self._entry(row_id, values, children, seq)
        elif table == "return_filing":
            self._evidence(row_id, values, children, seq)
        elif table == "attachment":
            c = self.index[table]
            if values[c["content"]] != values[c["sha256"]]:  # content is read as its SHA-256
                self.problem(
                    "attachment",
                    table,
                    row_id,
                    "is not the file it names "
                    f"({values[c['filename']]!r}, SHA-256 {values[c['sha256']]})",
                    seq,
                )
        elif table in self.keyed:
            c = self.index[table]
            key = values[c["key"]]
            command = (
                table in ("statement", "instalment") and isinstance(key, str) and _UUID.match(key)
            )
            if not command and key != self.keyed[table](self, c, values):
                self.problem(
                    "key",
                    table,
                    row_id,
                    "says something other than its key: its content was changed, or its key",
                    seq,
                )

    def _evidence(
        self, row_id: int, values: list[Any], figures: list[list[Any]], seq: int | None
    ) -> None:
        """A return's figures against the workbook it came from, when the ledger keeps it
        and a reader of workbooks was given."""
        if self.evidence is None:
            return
        key = values[self.index["return_filing"]["key"]]
        found = list(
            stream_rows(
                self.connection,
                "SELECT content FROM attachment WHERE sha256 = %(k)s",
                {"k": key},
            )
        )
        if not found or found[0][0] is None:
            return
        for difference in self.evidence(bytes(found[0][0]), figures):
            self.problem("attachment", "return_filing", row_id,
                         f"is not the return its workbook holds: {difference}", seq)  # fmt: skip

    def _statement_key(self, c: dict[str, int], v: list[Any]) -> str:
        return statement_key(
            v[c["kind"]],
            v[c["day"]],
            self.streams.get(v[c["stream_id"]]),
            self._period(v[c["first_year"]], v[c["last_year"]]),
            v[c["metric"]],
            v[c["target"]],
            v[c["amount"]],
            v[c["scale"]],
            v[c["table_name"]],
            v[c["row_label"]],
            v[c["source"]],
        )

    def _match_key(self, c: dict[str, int], v: list[Any]) -> str:
        line_id = v[c["line_id"]]
        return match_key(
            v[c["day"]],
            self.line_stream.get(line_id),
            self.line_code.get(line_id),
            v[c["amount_pence"]],
            v[c["from_source"]],
            v[c["form"]],
        )

    def _instalment_key(self, c: dict[str, int], v: list[Any]) -> str:
        line_id = v[c["line_id"]]
        return instalment_key(
            v[c["day"]], self.line_stream.get(line_id),
            self._period(v[c["first_year"]], v[c["last_year"]]), self.line_code.get(line_id),
            v[c["basis"]], v[c["amount_pence"]], v[c["due"]], v[c["milestone"]],
            v[c["source"]],
        )  # fmt: skip

    def _plan_key(self, c: dict[str, int], v: list[Any]) -> str:
        return plan_key(
            v[c["line_id"]],
            v[c["year"]],
            v[c["title"]],
            v[c["objectives"]],
            v[c["cost_pence"]],
            v[c["other_funding"]],
            v[c["pcc_objective"]],
            v[c["source"]],
        )

    def finish(self) -> None:
        self._rules()
        misnamed = self.misnamed  # the accounts whose columns say another key than theirs
        for account_id in self.accounts:
            text = misnamed.get(account_id)
            if text is not None:
                self.result.add(
                    Broken(
                        "account",
                        "account",
                        account_id,
                        f"its key says {self.accounts[account_id][0]!r} but its columns say "
                        f"{text!r}",
                    )
                )
            if account_id not in self.balances:
                self.result.add(
                    Broken(
                        "account",
                        "account",
                        account_id,
                        "no entry posts to it: it was added behind the ledger's back",
                    )
                )


__all__ = ["Check", "Evidence", "RecordChecks", "Shape"]
