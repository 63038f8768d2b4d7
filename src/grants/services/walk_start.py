"""Where a walk of the chain starts when it relies on a head a walk of every link found whole
(grants.services.checkpoints): the link after that head, each table's records after the last
one sealed up to it, and what the records before it leave the per-record checks (the
journal's running turnover, every account's balance, the accounts an intended
over-allocation posted to, how many entries with each content the journal holds already).

What is read here grows with the chain only in SQL (every account's balance, summed through
its covering index); of the links before the head only one is re-hashed: that of the last
entry sealed up to it, whose turnover the walk continues."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import Connection

from grants.db.canonical import ACCOUNT_COLUMNS, Records, payload
from grants.db.records import BY_TABLE, FORMS, MARKED, RECORDS, earlier
from grants.db.seal import GENESIS, stream_rows
from grants.services import walk_balances
from grants.services.journal import derived_key
from grants.services.verification import Broken, Checkpoint, Verification
from grants.services.walk_balances import Before

PROBE = 16  # keys of identical entries asked for at a time
# The keys of every entry up to the head are read at once (not asked for by content, a query
# for each content first seen in the walk) when the entries after the head are at least this
# share of those up to it: a query costs about as much as reading 90 keys (44 us against
# 0.5 us at 100,000 entries, SQLite), and not every entry since needs one.
BULK = 1 / 64
ADDED = 100  # rows added to records sealed up to the head named, at most, of each table


@dataclass
class Start:
    """A walk from just after link ``count`` (whose digest is ``digest``)."""

    count: int
    digest: str
    after: dict[str, int]  # each table's last id sealed up to the head
    turnover: int = 0  # the journal's running turnover at the last entry sealed up to it
    balances: Before = field(default_factory=Before)  # by account, up to that entry
    over_allocated: set[int] = field(default_factory=set)
    connection: Connection | None = None
    bulk: bool = False  # read every key up to the head at once, at the first content
    keys: set[object] | None = None  # those keys, once read

    def earlier(self, prefix: str) -> int:
        """How many entries up to the head say ``prefix`` (their keys are the books' keys
        of its occurrences 0, 1, 2, ...: each is the next, the ledger gives no other)."""
        assert self.connection is not None
        last = self.after.get("entry", 0)
        if not last:
            return 0  # no entry up to the head
        if self.bulk:
            keys = self.keys
            if keys is None:
                sql = "SELECT key FROM entry WHERE id <= %(last)s"
                keys = self.keys = {k for (k,) in stream_rows(self.connection, sql, {"last": last})}
            n = 0
            while derived_key(prefix, n) in keys:
                n += 1
            return n
        found = 0
        while True:
            keys = {derived_key(prefix, found + k): found + k for k in range(PROBE)}
            params: dict[str, object] = {f"k{i}": key for i, key in enumerate(keys)}
            params["last"] = last
            marks = ", ".join(f"%(k{i})s" for i in range(len(keys)))
            sql = f"SELECT key FROM entry WHERE key IN ({marks}) AND id <= %(last)s"
            present = sorted(keys[key] for (key,) in stream_rows(self.connection, sql, params))
            run = 0
            while run < len(present) and present[run] == found + run:
                run += 1
            found += run
            if run < PROBE:
                return found


def start(connection: Connection, since: Checkpoint, result: Verification) -> Start | None:
    """Where to start after ``since``; None (and the problem added to ``result``) when its
    link is not as the walk recorded found it: the chain is shorter, or was rewritten up to it."""
    if since.unfit is not None:
        result.add(Broken(
            "verification", "verification", since.id,
            f"is not one `grants verify` or `grants reconcile` wrote: {since.unfit}; every link "
            "was walked",
        ))  # fmt: skip
        return None
    count, digest = since.head.count, since.head.digest
    sql = "SELECT (SELECT digest FROM seal WHERE seq = %(c)s), (SELECT MAX(seq) FROM seal)"
    row = next(iter(stream_rows(connection, sql, {"c": count})))
    found, top = row[0], int(row[1] or 0)
    if found is None:
        result.add(Broken(
            "verification", "seal", None,
            f"the chain holds {top:,} links, fewer than the {count:,} a walk of every link found "
            f"whole on {since.when()}: records were removed since (or "
            f"{since.named} is not one it wrote); every link was walked"
            if top < count else
            f"the chain's link {count:,}, the last that a walk of every link found whole on "
            f"{since.when()}, is missing: it was removed since; every link was walked",
            seq=count,
        ))  # fmt: skip
        return None
    if found != digest:
        result.add(Broken(
            "verification", "seal", count,
            f"the chain's link {count:,} is not the one a walk of every link found whole on "
            f"{since.when()}: what was recorded up to it has been rewritten since; every link "
            "was walked",
            seq=count,
        ))  # fmt: skip
        return None
    # Each table's last record sealed up to the head: the index on (tbl, row_id) read from
    # the top down, past the links after the head only.
    parts = [
        f"(SELECT row_id FROM seal WHERE tbl = '{r.table}' AND seq <= %(c)s "
        "ORDER BY row_id DESC LIMIT 1)"
        for r in RECORDS
    ]
    parts.append("(SELECT MAX(id) FROM entry)")
    row = next(iter(stream_rows(connection, "SELECT " + ", ".join(parts), {"c": count})))
    after = {r.table: int(v or 0) for r, v in zip(RECORDS, row[:-1], strict=True)}
    if not _as_marked(connection, since, after, result):
        return None
    if not _as_sealed(connection, since, after.get("entry", 0), result):
        return None
    begin = Start(count, digest, after, connection=connection)
    last = after.get("entry", 0)
    begin.bulk = (int(row[-1] or 0) - last) >= BULK * last
    try:
        _before(connection, begin, after.get("entry", 0))
    except (LookupError, TypeError, ValueError):
        return None  # values no command writes: every link is walked, and they are named
    return begin


def unmarked(since: Checkpoint) -> list[str]:
    """The tables of record whose mark ``since`` lacks (it was made before the ledger had
    them): a walk cannot start from it, and walks every link."""
    return [t for t, _ in MARKED if since.marks is None or t not in since.marks]


def _as_marked(
    connection: Connection, since: Checkpoint, after: dict[str, int], result: Verification
) -> bool:
    """Whether the tables stand, up to the verified link, as they stood when a walk of every link
    found the record whole (its marks): each table of record sealed up to its mark, and no
    row added since to a record sealed up to the link. If not, says why (a break, or in
    ``result.whole_because``) and every link is walked."""
    marks = since.marks
    missing = unmarked(since)
    if marks is None or missing:
        result.whole_because = (
            f"{since.named} does not say where {', '.join(missing)} stood "
            "(it was made before the ledger had them)"
        )
        return False
    named = since.named
    for table, record in MARKED:
        if table == record.table and marks[table] != after[table]:
            result.add(Broken(
                "verification", "verification", since.id,
                f"says {table} ran to {marks[table]:,} when a walk of every link found the record "
                f"whole, but the chain's first {since.head.count:,} links seal {table} to "
                f"{after[table]:,}: {named} is not one `grants verify` or `grants reconcile` "
                "wrote, or the chain has been rebuilt; every link was walked",
            ))  # fmt: skip
            return False
    added = 0
    for table, record in MARKED:
        if table == record.table or record.child is None:
            continue
        # The rows added since (the primary key's range: ``+`` keeps the parent's index out
        # of it) that belong to a record sealed up to the link.
        parent = record.child.parent
        sql = (
            f"SELECT id, {parent} FROM {table} WHERE id > %(m)s AND +{parent} <= %(a)s "
            f"ORDER BY id LIMIT {ADDED}"
        )
        for row_id, owner in stream_rows(
            connection, sql, {"m": marks[table], "a": after[record.table]}
        ):
            added += 1
            result.add(Broken(
                "added", table, row_id,
                f"was added to {record.table} {owner}, sealed at or before link "
                f"{since.head.count:,}, after a walk of every link found the record whole on "
                f"{since.when()}: the record was changed behind the ledger's back; every "
                "link was walked",
            ))  # fmt: skip
    return not added


def _as_sealed(connection: Connection, since: Checkpoint, entry: int, result: Verification) -> bool:
    """Whether ``entry``, the last entry sealed up to the verified link, whose running
    turnover the walk after the link continues, is as it was sealed: its values and postings,
    hashed after the digest of the link before its own, give its own link's digest. If not
    (it was changed or removed since, its guards put back), says why in
    ``result.whole_because``, and every link is walked: the walk names it, as verify does,
    rather than every later entry as having a wrong turnover."""
    if not entry:
        return True  # no entry up to the link: the turnover starts from 0
    sql = (
        "SELECT s.seq, s.form, s.digest, (SELECT p.digest FROM seal p WHERE p.seq = s.seq - 1) "
        "FROM seal s WHERE s.tbl = 'entry' AND s.row_id = %(e)s AND s.seq <= %(c)s "
        "ORDER BY s.seq LIMIT 1"
    )
    seq, form, digest, previous = next(
        iter(stream_rows(connection, sql, {"e": entry, "c": since.head.count}))
    )
    if seq == 1:
        previous = GENESIS
    record = BY_TABLE["entry"]
    accounts = {
        row[0]: list(row[1:])
        for row in stream_rows(
            connection,
            f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE id IN "
            "(SELECT account_id FROM posting WHERE entry_id = %(e)s)",
            {"e": entry},
        )
    }
    reader = Records(connection, record, entry - 1, accounts, until=entry)
    found = [item for item in reader if item[0] == entry]
    reader.rest_of_children()  # read to the end: no cursor is left open
    what = "was removed"
    if found:
        _, values, children = found[0]
        what = "has changed since it was sealed"
        then = record if form == record.form else FORMS.get((record.table, form))
        sealed = values if then is record else earlier(record, form, values) if then else None
        text = None if then is None or sealed is None else payload(then, sealed, children)
        if (
            text is not None
            and type(previous) is str
            and previous.isascii()
            and hashlib.sha256(previous.encode("ascii") + text).hexdigest() == digest
        ):
            return True
    result.whole_because = (
        f"entry {entry}, whose running turnover the links after link "
        f"{since.head.count:,} continue, {what} (link {seq:,} of the chain)"
    )
    return False


def _before(connection: Connection, begin: Start, entry: int) -> None:
    """What the entries up to ``entry`` leave the checks of the entries after it."""
    if entry:
        sql = "SELECT turnover_pence FROM entry WHERE id = %(e)s"
        begin.turnover = int(next(iter(stream_rows(connection, sql, {"e": entry})), (0,))[0])
        begin.balances = walk_balances.read(connection, entry)
        begin.over_allocated = {
            int(account)
            for (account,) in stream_rows(
                connection,
                "SELECT DISTINCT account_id FROM posting WHERE entry_id IN "
                "(SELECT id FROM entry WHERE over_allocation AND id <= %(e)s)",
                {"e": entry},
            )
        }


__all__ = ["Start", "start", "unmarked"]
