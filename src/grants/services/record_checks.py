"""The invariants of each kind of record that no digest can show, checked as `grants verify`
reads the record: an entry's postings are the ones it makes, its running turnover, its key
against what it says; keys of the other records; accounts against their keys; received
workbooks against their SHA-256."""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from grants.db.records import RECORDS, Record
from grants.db.seal import accounts_of, stream_rows
from grants.errors import GrantsError, RuleError
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import rules
from grants.services.journal import content_prefix, derived_key, where_text
from grants.services.journal_entry import operation_prefix
from grants.services.keys import (
    COMMAND,
    DERIVED,
    RETURN_REVERSAL,
    RETURN_SPEND,
    agreement_key,
    instalment_key,
    match_key,
    plan_key,
    stage_key,
    statement_key,
)
from grants.services.rules import Operation
from grants.services.verification import Broken, Verification

if TYPE_CHECKING:
    from grants.services.walk_start import Start

_HEX40, _UUID, _RETURN_SPEND, _RETURN_REVERSAL = DERIVED, COMMAND, RETURN_SPEND, RETURN_REVERSAL


# An entry's shape: its postings as (account key, sign), the start of what its key says, its
# postings as (account id, sign) in order, and whether those accounts are all different.
Shape = tuple[list[tuple[str, int]] | str, str, list[tuple[int, int]], bool]


# What a filed return's workbook says against its recorded figures (figures: the return's
# rows of return_figure): a list of differences. Services read no workbook themselves.
Evidence = Callable[[bytes, list[list[Any]]], list[str]]

# How the walk checks a record of one table: (id, values, rows that belong to it, link).
Check = Callable[[int, list[Any], list[list[Any]], int | None], None]


def _unchecked(row_id: int, values: list[Any], children: list[list[Any]], seq: int | None) -> None:
    """A record of a table with no invariants beyond its seal."""


class RecordChecks:
    """The invariants of each kind of record, checked as the walk reads it."""

    def __init__(
        self,
        connection: Connection,
        result: Verification,
        evidence: Evidence | None = None,
        start: Start | None = None,
    ) -> None:
        self.result = result
        # A walk of the links after a head `grants verify` found whole: what the records up
        # to it leave (the turnover, the balances, the entries of each content) is read there.
        self.start = start
        self.evidence = evidence  # reads a return's workbook (grants.excel.return_evidence)
        self.connection = connection
        self.streams: dict[int, str] = dict(stream_rows(connection, "SELECT id, code FROM stream"))
        self.line_code: dict[int, str] = {}
        self.line_parent: dict[tuple[str | None, str], str | None] = {}
        self.line_stream: dict[int, str | None] = {}
        rows = list(stream_rows(connection, "SELECT id, stream_id, code, parent_id FROM line"))
        codes = {i: code for i, _, code, _ in rows}
        for i, stream_id, code, parent_id in rows:
            stream = self.streams.get(stream_id)
            self.line_code[i] = code
            self.line_stream[i] = stream
            self.line_parent[(stream, code)] = codes.get(parent_id) if parent_id else None
        self.account_rows = accounts_of(connection)
        self.accounts = {i: tuple(row[1:]) for i, row in self.account_rows.items()}
        self.account_keys = {i: row[0] for i, row in self.account_rows.items()}
        self.filings = {key for (key,) in stream_rows(connection, "SELECT key FROM return_filing")}
        self.reversed_refs: dict[int, str] = dict(
            stream_rows(
                connection,
                "SELECT id, ref FROM entry WHERE id IN "
                "(SELECT reverses_id FROM entry WHERE reverses_id IS NOT NULL)",
            )
        )
        self.turnover = start.turnover if start is not None else 0
        self.contents: dict[str, int] = {}  # identical entries seen, by what their key says
        self.shapes: dict[tuple[Any, ...], Shape] = {}
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
        self.balances: dict[int, int] = dict(start.balances) if start is not None else {}
        # Accounts an intended over-allocation posted to.
        self.over_allocated: set[int] = set(start.over_allocated) if start is not None else set()
        self._amount, self._reverses = entry["amount_pence"], entry["reverses_id"]
        self._turnover, self._key = entry["turnover_pence"], entry["key"]
        self.account_texts = {i: self._account_text(i) for i in self.accounts}
        self.account_ids = {text: i for i, text in self.account_texts.items()}
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

    def problem(self, check: str, table: str, row_id: int, message: str, seq: int | None) -> None:
        self.result.add(Broken(check, table, row_id, message, seq=seq))

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

    # -- keys of the other records -------------------------------------------------------

    def _period(self, first: int, last: int) -> str:
        text = self.periods.get((first, last))
        if text is None:
            text = self.periods[(first, last)] = str(
                Period(FinancialYear(first), FinancialYear(last))
            )
        return text

    def _period_object(self, first: Any, last: Any) -> Period:
        """``Period(FinancialYear(first), FinancialYear(last))``, made once for each pair of
        whole years (an entry's shape and an account's key each need one); any other values
        are made into a period (or refused) every time, as they come."""
        if type(first) is int and type(last) is int:
            found = self.period_objects.get((first, last))
            if found is None:
                found = Period(FinancialYear(first), FinancialYear(last))
                self.period_objects[(first, last)] = found
            return found
        return Period(FinancialYear(first), FinancialYear(last))

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

    # -- the journal ---------------------------------------------------------------------

    def _entry(self, row_id: int, v: list[Any], postings: list[list[Any]], seq: int | None) -> None:
        c = self._entry_columns
        amount = v[self._amount]
        total = moved = 0
        actual: list[tuple[int, int]] = []
        balances = self.balances
        balance = balances.get
        for _posting, account_id, _account, pence in postings:
            total += pence
            moved += abs(pence)
            actual.append((account_id, pence))
            balances[account_id] = balance(account_id, 0) + pence
        if v[self._over]:
            self.over_allocated.update([posting[1] for posting in postings])
        if total != 0:
            self.problem(
                "postings",
                "entry",
                row_id,
                f"its postings do not add up to zero (they add up to {gbp(from_pence(total))})",
                seq,
            )
        of = self._shape_of(v)
        shape = self.shapes.get(of)
        expected, head, by_id, distinct = shape if shape is not None else self._shape(of, v)
        if isinstance(expected, str):
            self.problem("postings", "entry", row_id, expected, seq)
        else:
            # Compared by account (each account's columns are checked against its key once).
            factor = -amount if v[self._reverses] is not None else amount
            actual.sort()
            # ``by_id`` is in order: with every account different, so is what it makes.
            wanted = [(i, sign * factor) for i, sign in by_id]
            if actual != (wanted if distinct else sorted(wanted)):
                texts = self.account_texts
                found = sorted((texts.get(i) or f"(no account {i})", pence) for i, pence in actual)
                wanted = sorted((key, sign * factor) for key, sign in expected)
                self.problem(
                    "postings",
                    "entry",
                    row_id,
                    f"its postings ({self._shown(found)}) are not the ones its "
                    f"{v[c['kind']]} of {gbp(from_pence(amount))} makes "
                    f"({self._shown(wanted)})",
                    seq,
                )
        self.turnover += moved
        stored = v[self._turnover]
        if stored != self.turnover:
            self.problem(
                "turnover",
                "entry",
                row_id,
                "its running total of the journal's "
                f"turnover is {stored} pence where the postings make it "
                f"{self.turnover}",
                seq,
            )
        if not self._key_holds(v, c, head):
            self.problem(
                "key",
                "entry",
                row_id,
                "says something other than its key: its date, "
                "amount, lines or source were changed, or its key",
                seq,
            )

    def _account_text(self, account_id: int) -> str:
        """The key an account's columns give (stream|first|last|line|role)."""
        columns = self.accounts.get(account_id)
        if columns is None:
            return f"(no account {account_id})"
        stream_id, first, last, line_id, role = columns
        line = self.line_code.get(line_id, "?") if line_id is not None else ""
        return f"{self.streams.get(stream_id, '?')}|{first}|{last}|{line}|{role}"

    def _shape(self, shape: tuple[Any, ...], v: list[Any]) -> Shape:
        """For each shape of entry (kind, stream, periods, lines, tranche: ``_shape_of``): the
        postings it makes (grants.services.rules) as (account key, sign) and as (account id,
        sign), in order, and what its key says of it up to the amount; worked out once a
        shape."""
        kind, stream_id, first, last, line_id, to_line_id, to_first, to_last, tranche = shape
        code = self.line_code.get
        ids: list[tuple[int, int]] = []
        try:
            # Of one penny; its fields given in order (by name, a frozen dataclass takes
            # a fifth longer to make, and there is one for each shape).
            operation = Operation(
                kind, self.streams.get(stream_id, "?"), self._period_object(first, last), 1,
                code(line_id) if line_id is not None else None,  # line
                code(to_line_id) if to_line_id is not None else None,  # to_line
                self._period_object(to_first, to_last)
                if to_first is not None and to_last is not None else None,  # to_period
                tranche, bool(v[self._over]),  # over_allocation
            )  # fmt: skip
            account = self.account_ids.get
            postings: list[tuple[str, int]] | str = []
            for (s, p, line, role), sign in rules.postings(operation, self._parent_of):
                text = f"{s}|{p.first.start}|{p.last.start}|{line or ''}|{role}"
                postings.append((text, sign))
                ids.append((account(text, 0), sign))
        except (RuleError, ValueError, TypeError) as exc:
            postings = f"it is not an entry the ledger could make: {exc}"
            ids = []
        head = where_text(
            kind, self.streams.get(stream_id, "?"), self._period(first, last),
            code(line_id, "?") if line_id is not None else None,
            code(to_line_id, "?") if to_line_id is not None else None,
            self._period(to_first, to_last) if to_first is not None else None,
        )  # fmt: skip
        ids.sort()
        distinct = len({i for i, _ in ids}) == len(ids)
        found = self.shapes[shape] = (postings, head, ids, distinct)
        return found

    def _parent_of(self, stream: str, line: str) -> str | None:
        return self.line_parent.get((stream, line))

    def _key_holds(self, v: list[Any], c: dict[str, int], head: str) -> bool:
        key = v[self._key]
        if not isinstance(key, str):
            return False
        if len(key) == 40 and _HEX40.match(key):  # from the books: what it says, hashed
            day, source, target, tranche, over, share = self._key_parts(v)
            if target is None:  # an operation: what it does, as the books key it
                prefix = operation_prefix(day, head, v[self._amount], tranche, over, share,
                                          source)  # fmt: skip
                return self._counted(prefix, key)
            # A reversal names the entry it reverses by its id or by its number.
            names = [self.reversed_refs.get(target), str(target)]
            return any(
                self._counted(content_prefix(day, name, None, None, source), key)
                for name in names
                if name
            )
        if _UUID.match(key):  # a command's entry: a random key
            return True
        spend = _RETURN_SPEND.match(key)
        if spend:  # reported spend from a return: names the return's file
            sha = (v[c["source"]] or "").removeprefix("return sha256:")
            return v[c["kind"]] == "spent" and sha.startswith(spend[1]) and sha in self.filings
        reversal = _RETURN_REVERSAL.match(key)
        if reversal:  # spend a corrected return replaced
            return v[c["reverses_id"]] == int(reversal[1]) and any(
                f.startswith(reversal[2]) for f in self.filings
            )
        return False

    def _counted(self, prefix: str, key: str) -> bool:
        """Whether ``key`` is the books' key of an entry that says ``prefix`` (what the key
        covers without the count of identical entries before it): the n-th such, n from 0,
        most likely the one after those seen (tried first). Counts it if so."""
        contents = self.contents
        seen = contents.get(prefix)
        if seen is None:  # the first of its content in this walk: any before it?
            seen = 0 if self.start is None else self.start.earlier(prefix)
        if derived_key(prefix, seen) == key or any(
            derived_key(prefix, occurrence) == key for occurrence in range(seen)
        ):
            contents[prefix] = seen + 1
            return True
        return False

    def _shown(self, postings: list[tuple[str, int]]) -> str:
        """Postings for people: ``PCC-CSF 2017-18 DA allocated £50,656.00``."""
        out = []
        for key, pence in postings:
            parts = key.split("|")
            if len(parts) == 5 and parts[1].isdigit() and parts[2].isdigit():
                period = self._period(int(parts[1]), int(parts[2]))
                key = " ".join(x for x in (parts[0], period, parts[3], parts[4]) if x)
            out.append(f"{key} {gbp(from_pence(pence))}")
        return ", ".join(out)

    def _rules(self) -> None:
        """The balances the journal leaves must keep within its rules (grants.services.rules):
        an entry the ledger would have refused, added behind its back, is seen here even when
        it was correctly sealed."""
        keys: dict[int, Any] = {}
        for account_id, (stream_id, first, last, line_id, role) in self.accounts.items():
            try:
                period = self._period_object(first, last)
            except (GrantsError, TypeError, ValueError):
                continue  # an account with impossible years: named by its own check
            line = self.line_code.get(line_id) if line_id is not None else None
            keys[account_id] = (self.streams.get(stream_id, "?"), period, line, role)
        balances = {keys[i]: pence for i, pence in self.balances.items() if i in keys}
        over = {keys[i] for i in self.over_allocated if i in keys}
        lines = {(self.line_stream.get(i), code): i for i, code in self.line_code.items()}
        for anchor, what in rules.breaches(balances, over, self._parent_of):
            line_id = lines.get((anchor[0], anchor[2])) if anchor[2] else None
            self.result.add(
                Broken(
                    "rules", "line" if line_id else "stream", line_id,
                    f"{what}: the journal holds an entry the ledger would have refused, "
                    "recorded behind its back",
                )
            )  # fmt: skip

    def finish(self) -> None:
        self._rules()
        texts = self.account_texts  # each account's columns as its key would say them
        for account_id in self.accounts:
            text = texts[account_id]
            if self.account_keys[account_id] != text:
                self.result.add(
                    Broken(
                        "account",
                        "account",
                        account_id,
                        f"its key says "
                        f"{self.account_keys[account_id]!r} but its columns say "
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
