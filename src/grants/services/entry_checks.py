"""The invariants of the journal's entries that no digest can show, checked as `grants verify`
reads each entry: its postings are the ones its kind, lines and amount make, its running
turnover, its key against what it says; and, once every entry is read, the balances they
leave within the journal's rules. The checks of every kind of record
(grants.services.record_checks) are built on these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from grants.errors import GrantsError, RuleError
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import balance_breaches, rules
from grants.services.journal import content_prefix, derived_key, where_text
from grants.services.journal_entry import operation_prefix
from grants.services.keys import COMMAND, DERIVED, RETURN_REVERSAL, RETURN_SPEND
from grants.services.rules import AccountKey, Operation
from grants.services.verification import Broken, Verification

if TYPE_CHECKING:
    from grants.services.account_table import TextIds
    from grants.services.line_table import PackedLines
    from grants.services.walk_start import Start

_HEX40, _UUID, _RETURN_SPEND, _RETURN_REVERSAL = DERIVED, COMMAND, RETURN_SPEND, RETURN_REVERSAL
# Shapes of entry kept (about 0.5 KB each): the synthetic ledger of 1,000,000 entries has
# 40,500; a national funder's, a line a grant, one or two for each line.
SHAPES = 65_536
# Kept until as many entries have found their shape kept as there are shapes: a national
# funder's entries, a shape or two a grant, find hardly any (then let go as they fill).
FEW_SHAPES = 16_384


# An entry's shape: its postings as (account key, sign), the start of what its key says, its
# postings as (account id, sign) in order, and whether those accounts are all different.
Shape = tuple[list[tuple[str, int]] | str | None, str, list[tuple[int, int]], bool]


class EntryChecks:
    """The invariants of each entry, checked as the walk reads it, and of the balances the
    entries leave; what they read of the ledger (its streams, lines and accounts) and keep
    as the walk goes (the turnover, the balances, the entries of each content) is set up by
    grants.services.record_checks.RecordChecks."""

    result: Verification
    start: Start | None
    streams: dict[int, str]
    line_code: Mapping[int, str]  # a dictionary, or packed (grants.services.line_table)
    line_parent: dict[tuple[str | None, str], str | None]
    line_stream: Mapping[int, str | None]
    packed_lines: PackedLines | None
    accounts: Mapping[int, tuple[Any, ...]]  # (key, stream_id, first, last, line_id, role)
    account_ids: TextIds  # each account by the text of its key
    _columns: Callable[[int], tuple[Any, ...] | None]  # ``accounts.get``, the key's text aside
    filings: set[str]
    reversed_refs: dict[int, str]
    turnover: int
    contents: Any  # dict[int, int], or for packed accounts seen_contents.ContentCounts
    shapes: dict[tuple[Any, ...], Shape]
    room: int  # shapes kept at most, until they are let go
    found_again: int  # entries whose shape was kept, since the shapes were last let go
    _shared: dict[Any, Any]
    periods: dict[tuple[int, int], str]
    period_objects: dict[tuple[int, int], Period]
    balances: Mapping[int, int]  # a dictionary, or for packed accounts account_table.Balances
    over_allocated: set[int]
    _entry_columns: dict[str, int]
    _shape_of: Callable[[list[Any]], tuple[Any, ...]]
    _key_parts: Callable[[list[Any]], tuple[Any, ...]]
    _over: int
    _amount: int
    _reverses: int
    _turnover: int
    _key: int

    def problem(self, check: str, table: str, row_id: int, message: str, seq: int | None) -> None:
        self.result.add(Broken(check, table, row_id, message, seq=seq))

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

    def _entry(self, row_id: int, v: list[Any], postings: list[list[Any]], seq: int | None) -> None:
        c = self._entry_columns
        amount = v[self._amount]
        total = moved = 0
        actual: list[tuple[int, int]] = []
        balances = self.balances
        if type(balances) is dict:
            balance = balances.get
            for _posting, account_id, _account, pence in postings:
                total += pence
                moved += abs(pence)
                actual.append((account_id, pence))
                balances[account_id] = balance(account_id, 0) + pence
        else:  # in arrays (grants.services.account_table.Balances)
            add = balances.add  # type: ignore[attr-defined]
            for _posting, account_id, _account, pence in postings:
                total += pence
                moved += abs(pence)
                actual.append((account_id, pence))
                add(account_id, pence)
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
        if shape is None:
            shape = self._shape(of, v)
        else:
            self.found_again += 1
        expected, head, by_id, distinct = shape
        if isinstance(expected, str):
            self.problem("postings", "entry", row_id, expected, seq)
        else:
            # Compared by account (each account's columns are checked against its key once).
            factor = -amount if v[self._reverses] is not None else amount
            actual.sort()
            # ``by_id`` is in order: with every account different, so is what it makes.
            wanted = [(i, sign * factor) for i, sign in by_id]
            if actual != (wanted if distinct else sorted(wanted)):
                if expected is None:  # kept without its texts: worked out again to show them
                    expected = self._shape(of, v, keep=False)[0]
                if isinstance(expected, list):
                    text = self._account_text
                    found = sorted((text(i), pence) for i, pence in actual)
                    wanted = sorted((key, sign * factor) for key, sign in expected)
                    message = (
                        f"its postings ({self._shown(found)}) are not the ones its "
                        f"{v[c['kind']]} of {gbp(from_pence(amount))} makes "
                        f"({self._shown(wanted)})"
                    )
                else:  # a shape's postings are its own: worked out again, they are the same
                    message = expected or "its postings are not the ones it makes"
                self.problem("postings", "entry", row_id, message, seq)
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
        _, stream_id, first, last, line_id, role = columns
        line = self.line_code.get(line_id, "?") if line_id is not None else ""
        return f"{self.streams.get(stream_id, '?')}|{first}|{last}|{line}|{role}"

    def _shape(self, shape: tuple[Any, ...], v: list[Any], keep: bool = True) -> Shape:
        """For each shape of entry (kind, stream, periods, lines, tranche: ``_shape_of``): the
        postings it makes (grants.services.rules) as (account key, sign) and as (account id,
        sign), in order, and what its key says of it up to the amount; worked out once a
        shape while ``SHAPES`` are kept (then let go, and worked out again as they come), or
        ``FEW_SHAPES`` while entries find their shape kept less often than not.
        Kept (``keep``) without the postings' texts, which only a mismatch shows, and with
        its kind and years one object for each value: a third of the memory."""
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
        found = (postings, head, ids, distinct)
        if keep:
            shapes = self.shapes
            if len(shapes) >= min(self.room, SHAPES):
                worth = self.found_again >= len(shapes)  # found again as often as not
                if worth and len(shapes) < SHAPES:
                    self.room = SHAPES
                else:  # a ledger of a line a grant: a shape or two each
                    self.room = SHAPES if worth else FEW_SHAPES
                    shapes.clear()
                    self.found_again = 0
            common = self._shared
            if len(common) >= SHAPES:  # kinds, years and tranches: a few dozen
                common.clear()
            # Equal values stand for each other in a key (the shape is worked out from the
            # entry's own): 1 and True, alike to the dictionary, may share.
            one = common.setdefault
            kind, stream_id, first, last, line_id, to_line_id, to_first, to_last, tranche = shape
            shared = (
                one(kind, kind), stream_id, one(first, first), one(last, last), line_id,
                to_line_id, one(to_first, to_first), one(to_last, to_last),
                one(tranche, tranche),
            )  # fmt: skip
            shapes[shared] = (postings if isinstance(postings, str) else None, head, ids, distinct)
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
        # Counted by the key of the content's first occurrence as an integer (160 bits of
        # SHA-256), not by the text: a walk of millions of entries holds a number for each,
        # not some 100 characters, and no two contents can be made to share a count.
        first = derived_key(prefix, 0)
        counted = int(first, 16) if type(contents) is dict else bytes.fromhex(first)
        seen = contents.get(counted)
        if seen is None:  # the first of its content in this walk: any before it?
            seen = 0 if self.start is None else self.start.earlier(prefix)
        if (first if seen == 0 else derived_key(prefix, seen)) == key or any(
            derived_key(prefix, occurrence) == key for occurrence in range(seen)
        ):
            contents[counted] = seen + 1
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

    def _account_key(self, account_id: int) -> AccountKey | None:
        """The account's key as the rules read it (stream, period, line, role); None if it
        has no row, or years or a role of a kind the ledger never writes (a fraction, bytes:
        SQLite keeps what it is given), named by its own check."""
        row = self._columns(account_id)
        if row is None:
            return None
        _, stream_id, first, last, line_id, role = row
        if type(first) is not int or type(last) is not int or type(role) is not str:
            return None
        try:
            period = self._period_object(first, last)
        except (GrantsError, TypeError, ValueError):
            return None
        line = self.line_code.get(line_id) if line_id is not None else None
        return (self.streams.get(stream_id, "?"), period, line, role)

    def _rules(self) -> None:
        """The balances the journal leaves must keep within its rules (grants.services.rules):
        an entry the ledger would have refused, added behind its back, is seen here even when
        it was correctly sealed."""
        found = balance_breaches.breaches(
            self.balances, self._account_key, self.over_allocated, self._parent_of
        )
        if not found:
            return
        if self.packed_lines is None:
            lines = {(self.line_stream.get(i), code): i for i, code in self.line_code.items()}
            line_of = lambda stream, code: lines.get((stream, code))  # noqa: E731
        else:
            line_of = self.packed_lines.id_of
        for anchor, what in found:
            line_id = line_of(anchor[0], anchor[2]) if anchor[2] else None
            self.result.add(
                Broken(
                    "rules", "line" if line_id else "stream", line_id,
                    f"{what}: the journal holds an entry the ledger would have refused, "
                    "recorded behind its back",
                )
            )  # fmt: skip
