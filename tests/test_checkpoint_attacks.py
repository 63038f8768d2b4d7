"""What `grants reconcile` must still find when it relies on the last `grants verify`: rows
that belong to a record sealed before the verified link, added afterwards with no guard
taken off (the append-only guards let any writer add rows); and verifications the ledger
never writes (values of the wrong type, ids out of turn, a count of no link)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from grants.services.verify import verify
from tests.conftest import Grants
from tests.test_checkpoints import (
    at,
    behind,
    head_of,
    marks_at,
    problems,
    reconciled,
    rows,
    top,
)
from tests.test_tamper import unguard

# Each table of rows that belong to a sealed record: (table, the column naming the record).
CHILDREN = [
    ("posting", "entry_id"),
    ("profile_amount", "profile_id"),
    ("return_figure", "filing_id"),
]
OWNER = {"posting": "entry", "profile_amount": "profile", "return_figure": "return_filing"}
# Columns the copy may not repeat (a unique key): what it holds instead.
FRESH = {
    "profile_amount": {"year": "(SELECT MAX(year) + 1 FROM profile_amount)"},
    "return_figure": {"position": "(SELECT MAX(position) + 1 FROM return_figure)"},
}


def _record_broken(data: dict[str, Any]) -> list[str]:
    return [f["message"] for f in data["findings"] if f["check"] == "the record"]


def _add_child(engine: Engine, table: str, parent: str) -> int:
    """Add to the first record that has rows in ``table`` a copy of its first row, with the
    next id: an INSERT, which the guards allow, so no guard is taken off or put back. The
    ids still run without gaps. Returns the record's id."""
    with engine.begin() as connection:
        found = connection.execute(
            text(f"SELECT {parent}, MIN(id) FROM {table} GROUP BY {parent} ORDER BY {parent}")
        ).first()
        if found is None:
            pytest.skip(f"the demo ledger has no {table} rows")
        owner, first = found
        columns = list(connection.execute(text(f"SELECT * FROM {table} LIMIT 0")).keys())
        others = [c for c in columns if c != "id"]
        values = [FRESH.get(table, {}).get(c, c) for c in others]
        connection.execute(
            text(
                f"INSERT INTO {table} (id, {', '.join(others)}) "
                f"SELECT (SELECT MAX(id) + 1 FROM {table}), {', '.join(values)} "
                f"FROM {table} WHERE id = :i"
            ),
            {"i": first},
        )
    return int(owner)


@pytest.mark.parametrize(("table", "parent"), CHILDREN)
def test_a_row_added_to_a_record_sealed_before_the_verification_is_found(
    oxfordshire: Grants, engine: Engine, table: str, parent: str
) -> None:
    head_of(oxfordshire)
    owner = _add_child(engine, table, parent)
    broken, data = reconciled(oxfordshire, "--whole")
    assert broken  # the whole walk names the record the row was added to
    assert oxfordshire("verify").exit_code == 1
    broken, data = reconciled(oxfordshire)
    assert broken, f"{table} added to record {owner}: reconcile says the record is whole"
    assert data["record"]["walked"] == "whole"  # and every link is walked
    said = " ".join(_record_broken(data))
    assert f"{OWNER[table]} {owner}" in said, said  # the record it was added to
    problems = json.loads(oxfordshire("verify", "--json").output)["problems"]
    assert problems  # verify still finds it: nothing was recorded over it


def _forge(engine: Engine, values: str, marks: str | None = None) -> None:
    """A verification `grants verify` never wrote: the table is append-only, not sealed, and
    anyone who may add rows (the working role on PostgreSQL) may add one. ``marks``: those
    of the latest verification, unless given. An id of NEXT: the one the table gives next
    (on PostgreSQL, its sequence's)."""
    with engine.begin() as connection:
        after = (
            "nextval(pg_get_serial_sequence('verification', 'id'))"
            if engine.dialect.name == "postgresql"
            else "(SELECT MAX(id) + 1 FROM verification)"
        )
        values = values.replace("NEXT", after)
        if marks is None:
            marks = connection.exec_driver_sql(
                "SELECT marks FROM verification ORDER BY id DESC LIMIT 1"
            ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO verification (id, count, digest, verified_at, person_id, marks) "
                f"VALUES {values.rstrip(')')}, :marks)"
            ),
            {"marks": marks},
        )


@pytest.mark.parametrize(
    "values",
    [
        "(900, 'abc', 'D', '2026-12-01 10:00:00', NULL)",
        "(900, H, 'D', 'not a time', NULL)",
    ],
)
def test_a_verification_of_values_the_ledger_never_writes_is_reported(
    oxfordshire: Grants, engine: Engine, values: str
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses text in an integer or a timestamp column")
    head = head_of(oxfordshire)
    _forge(engine, values.replace("H", str(head["count"])).replace("'D'", f"'{head['digest']}'"))
    result = oxfordshire("reconcile", "--json")
    assert "unexpected failure" not in result.output
    data = json.loads(result.output)
    assert data["record"]["walked"] == "whole"  # nothing relied on that cannot be read
    assert _record_broken(data)  # and the row is named


@pytest.mark.parametrize("count", [0, -5])
def test_a_verification_of_no_link_is_not_called_a_shorter_chain(
    oxfordshire: Grants, engine: Engine, count: int
) -> None:
    head_of(oxfordshire)
    _forge(engine, f"(NEXT, {count}, '{'0' * 64}', '2026-12-01 10:00:00', NULL)")
    _, data = reconciled(oxfordshire)
    assert data["record"]["walked"] == "whole"
    said = " ".join(_record_broken(data))
    assert "records were removed since" not in said, said


def test_a_later_verification_is_relied_on_whatever_id_an_earlier_row_was_given(
    oxfordshire: Grants, engine: Engine, request: pytest.FixtureRequest
) -> None:
    """A row added with an id far ahead of the table's sequence (PostgreSQL keeps its own
    count, so each later verification is given a lower id): reconcile relies on the latest
    `grants verify`, not on the row with the highest id."""
    with engine.connect() as connection:
        first = connection.execute(text("SELECT digest FROM seal WHERE seq = 1")).scalar_one()
        marks = json.dumps(marks_at(connection, 1))
    _forge(engine, f"(1000000, 1, '{first}', '2026-01-01 00:00:00', NULL)", marks)
    head = head_of(oxfordshire)  # a verification now
    assert len(rows(engine, "SELECT id FROM verification")) == 2
    _, data = reconciled(oxfordshire)
    assert data["record"]["verified"]["count"] == head["count"]
    assert data["record"]["links_walked"] == 0


def test_a_walk_from_an_early_link_asks_the_journal_no_more_than_one_from_the_head(
    oxfordshire: Grants, rolled_back: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _queries(monkeypatch)
    end = top(rolled_back)
    assert problems(verify(rolled_back, since=at(rolled_back, end))) == []
    from_head = len(asked)
    asked.clear()
    result = verify(rolled_back, since=at(rolled_back, 1))
    assert problems(result) == [] and result.walked == end - 1
    entries = int(rolled_back.execute(text("SELECT COUNT(*) FROM entry")).scalar_one())
    assert entries > 2 * (from_head + 1)  # enough entries walked to tell
    assert len(asked) <= from_head + 1, f"{len(asked)} queries for {entries} entries walked"


def test_a_posting_replaced_on_sqlite_before_the_verification_is_found_by_verify(
    oxfordshire: Grants, engine: Engine
) -> None:
    """The documented limit (docs/design.md): SQLite's INSERT OR REPLACE deletes the row it
    replaces without firing the delete guard, so a posting before the verified link is
    rewritten with every guard in place, keeping its id. Reconcile from the verification
    does not read it, and says what finds it: `grants verify` and `reconcile --whole` do."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's INSERT OR REPLACE")
    head_of(oxfordshire)
    with engine.begin() as connection:
        entry = connection.exec_driver_sql(
            "SELECT entry_id FROM posting WHERE id = (SELECT MIN(id) FROM posting)"
        ).scalar_one()
        connection.exec_driver_sql(
            "INSERT OR REPLACE INTO posting (id, entry_id, account_id, amount_pence) "
            "SELECT id, entry_id, account_id, amount_pence * 2 FROM posting "
            "WHERE id = (SELECT MIN(id) FROM posting)"
        )
    broken, data = reconciled(oxfordshire, "--whole")
    assert broken and f"entry {entry}" in " ".join(_record_broken(data))
    verified = oxfordshire("verify")
    assert verified.exit_code == 1 and f"entry {entry}" in verified.output
    broken, data = reconciled(oxfordshire)
    assert data["record"]["walked"] == "since verification"
    assert not broken  # the limit: the row kept its id, and its record is before the link
    assert "is found by the next `grants verify`" in data["record"]["statement"]


@pytest.mark.parametrize(
    ("marks", "said"),
    [
        ("not json", "are not the greatest id of each table"),
        ('{"entry": "40"}', "are not the greatest id of each table"),
        ('{"entry": -1}', "are not the greatest id of each table"),
        ("[" * 100_000, "are not the greatest id of each table"),
    ],
)
def test_a_verification_whose_marks_do_not_read_is_named_and_every_link_walked(
    oxfordshire: Grants, engine: Engine, marks: str, said: str
) -> None:
    head = head_of(oxfordshire)
    _forge(engine, f"(NEXT, {head['count']}, '{head['digest']}', '2026-12-01 10:00:00', NULL)",
           marks)  # fmt: skip
    forged = rows(engine, "SELECT MAX(id) FROM verification")[0][0]
    broken, data = reconciled(oxfordshire)
    assert broken and data["record"]["walked"] == "whole"
    message = " ".join(_record_broken(data))
    assert (
        f"verification {forged}: is not one `grants verify` or `grants reconcile` wrote" in message
    ), message
    assert said in message


def test_a_verification_made_before_a_table_was_recorded_is_not_relied_on_and_says_why(
    oxfordshire: Grants, engine: Engine
) -> None:
    """Marks without a table the ledger now has (a verification from before a migration
    that added it): every link is walked, and why is said; nothing is called broken."""
    head = head_of(oxfordshire)
    with engine.connect() as connection:
        marks = marks_at(connection, head["count"])
    del marks["posting"]
    _forge(engine, f"(NEXT, {head['count']}, '{head['digest']}', '2026-12-01 10:00:00', NULL)",
           json.dumps(marks))  # fmt: skip
    from grants.services import checkpoints

    with engine.connect() as connection:  # what `grants serve` tells of the year pages
        assert checkpoints.unrelied(connection) == head["count"]
    broken, data = reconciled(oxfordshire)
    assert not broken
    assert data["record"]["walked"] == "whole"
    assert "does not say where posting stood" in data["record"]["whole_because"]
    assert "walked whole: verification " in data["record"]["statement"]


def test_a_verification_from_the_future_is_named(oxfordshire: Grants, engine: Engine) -> None:
    head = head_of(oxfordshire)
    _forge(engine, f"(NEXT, {head['count']}, '{head['digest']}', '2099-01-01 00:00:00', NULL)")
    broken, data = reconciled(oxfordshire)
    assert broken and data["record"]["walked"] == "whole"
    assert "its time 2099-01-01 00:00:00 UTC is to come" in " ".join(_record_broken(data))


def test_a_verification_whose_marks_are_not_the_chains_is_named(
    oxfordshire: Grants, engine: Engine
) -> None:
    """Marks that say a table ran further (or less far) than the chain seals it up to the
    link: not what `grants verify` records, or the chain was rebuilt."""
    head = head_of(oxfordshire)
    with engine.connect() as connection:
        marks = marks_at(connection, head["count"])
    marks["entry"] -= 1
    _forge(engine, f"(NEXT, {head['count']}, '{head['digest']}', '2026-12-01 10:00:00', NULL)",
           json.dumps(marks))  # fmt: skip
    broken, data = reconciled(oxfordshire)
    assert broken and data["record"]["walked"] == "whole"
    message = " ".join(_record_broken(data))
    assert f"says entry ran to {marks['entry']:,}" in message, message


def test_a_verification_far_behind_the_head_is_not_relied_on_and_reconcile_says_why(
    oxfordshire: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grants.services import checkpoints

    head = head_of(oxfordshire)
    assert oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1.00").exit_code == 0
    # A verification one link behind is relied on while the links since are not most of
    # the chain.
    monkeypatch.setattr(checkpoints, "SHARE", 0.5)
    record = reconciled(oxfordshire)[1]["record"]
    assert record["walked"] == "since verification" and record["links_walked"] == 1
    assert record["verified"]["count"] == head["count"] and record["recorded"] is False
    monkeypatch.setattr(checkpoints, "SHARE", 0.0)  # any link since is most of the chain
    broken, data = reconciled(oxfordshire)
    assert not broken
    record = data["record"]
    assert record["walked"] == "whole" and record["links_walked"] == head["count"] + 1
    assert record["statement"].startswith(
        "the record: walked whole: most of the record is newer than the last verification "
        f"(link {head['count']:,}"
    )
    # That walk of every link is recorded, and the next reconcile relies on it.
    assert record["recorded"] is True
    monkeypatch.setattr(checkpoints, "SHARE", 0.5)
    record = reconciled(oxfordshire)[1]["record"]
    assert record["walked"] == "since verification" and record["links_walked"] == 0
    assert record["verified"]["count"] == head["count"] + 1


@pytest.mark.parametrize("bulk", [0.0, 1e9])
def test_identical_entries_are_counted_alike_by_content_or_from_every_key(
    grants: Grants, engine: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, bulk: float
) -> None:
    """The entries before the link that say the same as one after it are counted from every
    key up to the link read at once (a long walk) or by the keys of that content (a short
    one): the same findings either way, a key changed after the link found alike."""
    from grants.services import walk_start
    from tests.test_checkpoints import four_alike_walked

    monkeypatch.setattr(walk_start, "BULK", bulk)
    asked = _queries(monkeypatch)
    four_alike_walked(grants, engine, tmp_path)
    every_key = [sql for sql in asked if sql.startswith("SELECT key FROM entry WHERE id <=")]
    by_content = [sql for sql in asked if "WHERE key IN" in sql]
    assert (every_key, by_content)[bulk == 0.0] == []
    assert (by_content, every_key)[bulk == 0.0]


@pytest.mark.parametrize("packed", [False, True], ids=["few accounts", "many accounts"])
def test_identical_entries_are_counted_by_their_first_key_not_their_text(
    grants: Grants, engine: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, packed: bool
) -> None:
    """A walk counts the entries of each content by an integer (the key of the content's
    first occurrence), not by the text their keys say held until it ends: the four identical
    payments counted four times by the first's key, every other entry once; the findings as
    before. A ledger of many accounts (packed) counts them by the key's 20 bytes, in byte
    arrays (grants.services.seen_contents)."""
    from grants.services import account_table, record_checks
    from tests.test_checkpoints import four_alike_walked

    if packed:
        monkeypatch.setattr(account_table, "COMPACT", 0)
    kept: list[dict[Any, int]] = []
    finish = record_checks.RecordChecks.finish

    def finished(checks: record_checks.RecordChecks) -> None:
        kept.append(dict(checks.contents.items()))
        finish(checks)

    monkeypatch.setattr(record_checks.RecordChecks, "finish", finished)
    four_alike_walked(grants, engine, tmp_path)
    whole = kept[0]  # walked from before the four payments: every entry after the link
    kind = bytes if packed else int
    assert whole and all(type(counted) is kind for walk in kept for counted in walk)
    with engine.connect() as connection:
        sql = "SELECT key FROM entry WHERE kind = 'pay' ORDER BY id LIMIT 1"
        first = connection.execute(text(sql)).scalar_one()
    assert whole.pop(bytes.fromhex(first) if packed else int(first, 16)) == 4
    assert set(whole.values()) <= {1}


# -- what the walk from the link takes from before it, and when it takes nothing -------------


@pytest.mark.parametrize("attack", ["turnover", "removed"])
def test_the_last_entry_up_to_the_verified_link_changed_is_named_as_verify_names_it(
    oxfordshire: Grants, engine: Engine, attack: str
) -> None:
    """The walk from the link continues the running turnover of the last entry sealed up to
    it: that entry changed (or removed) since, its guards put back, is named as the first
    broken record, as `grants verify` names it, and not the later entries, which are whole."""
    head_of(oxfordshire)
    last = rows(engine, "SELECT MAX(id) FROM entry")[0][0]
    if attack == "turnover":  # a payment after the link: its turnover continues the last's
        assert oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1.00").exit_code == 0
    with engine.begin() as connection:
        if attack == "turnover":
            sql = "UPDATE entry SET turnover_pence = turnover_pence + 1 WHERE id = :i"
            behind(connection, "entry", sql, i=last)
        else:  # the newest entry (no gap in the ids is left) and its postings
            behind(connection, "posting", "DELETE FROM posting WHERE entry_id = :i", i=last)
            behind(connection, "entry", "DELETE FROM entry WHERE id = :i", i=last)
    verified = json.loads(oxfordshire("verify", "--json").output)["first"]
    assert (verified["table"], verified["id"]) == ("entry", last)
    broken, data = reconciled(oxfordshire)
    assert broken and data["record"]["walked"] == "whole"
    said = _record_broken(data)[0]
    assert f"the first broken record is entry {last}: {verified['message']}" in said, said
    assert data["record"]["whole_because"].startswith(f"entry {last}, whose running turnover")
    assert _record_broken(data) == _record_broken(reconciled(oxfordshire, "--whole")[1])


def test_a_verification_is_not_relied_on_when_a_guard_is_missing(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    """A guard taken off (and not put back) says the record was reached behind the ledger's
    back: a row before the verified link may have changed, so every link is walked, says
    why, and the changed row is named as the whole walk names it."""
    since = at(rolled_back, top(rolled_back))
    unguard(rolled_back, "entry")
    rolled_back.execute(text("UPDATE entry SET note = 'changed' WHERE id = 10"))
    result = verify(rolled_back, since=since)
    assert result.since is None
    assert result.whole_because is not None
    assert "a check of the whole ledger found a problem (entry: the guard " in (
        result.whole_because
    )
    whole = verify(rolled_back)
    assert [str(p) for p in result.problems] == [str(p) for p in whole.problems]
    assert result.first is not None and (result.first.table, result.first.row_id) == ("entry", 10)


def test_the_verified_link_alone_removed_is_called_missing(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    """Only the verified link removed (the chain runs on past it): it is missing, not a
    chain shorter than the verification."""
    from grants.db.seal import GENESIS, Head
    from grants.services.verification import Verification
    from grants.services.walk_start import start

    end = top(rolled_back)
    count = end - 3
    since = at(rolled_back, count)
    behind(rolled_back, "seal", "DELETE FROM seal WHERE seq = :s", s=count)
    result = Verification(Head(0, GENESIS))
    assert start(rolled_back, since, result) is None
    (said,) = [p.message for p in result.problems]
    assert said.startswith(f"the chain's link {count:,}, the last that a walk of every link found")
    assert "is missing" in said and "fewer than" not in said
    # Reconcile walks every link: the ids of the chain already say that a link is missing.
    walked = verify(rolled_back, since=since)
    assert walked.since is None and walked.whole_because is not None
    assert walked.first is not None and walked.first.seq == count


def _queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the walk's start reads with, as it reads them."""
    from grants.services import walk_balances, walk_start

    asked: list[str] = []
    real = walk_start.stream_rows

    def counted(connection: Connection, sql: str, params: Any = None) -> Any:
        asked.append(sql)
        return real(connection, sql, params)

    monkeypatch.setattr(walk_start, "stream_rows", counted)
    monkeypatch.setattr(walk_balances, "stream_rows", counted)
    return asked
