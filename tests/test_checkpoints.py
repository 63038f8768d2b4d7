"""`grants verify` (and `grants reconcile` walking every link) records the head it found
whole; `grants reconcile` relies on the latest, checks that its link still has its digest,
walks only the links after it, and says so."""

from __future__ import annotations

import json
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from grants.db import guards
from grants.db.records import MARKED
from grants.db.seal import Head
from grants.services.verification import Checkpoint, Verification
from grants.services.verify import verify
from tests.conftest import Grants, add_person
from tests.test_tamper import unguard

VERIFIED = "SELECT count, digest, verified_at, person_id FROM verification ORDER BY id"


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def head_of(g: Grants) -> dict[str, Any]:
    result = g("verify", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["head"]  # type: ignore[no-any-return]


def at(connection: Connection, count: int) -> Checkpoint:
    """A checkpoint at link ``count`` of the chain as it stands."""
    digest = connection.execute(
        text("SELECT digest FROM seal WHERE seq = :c"), {"c": count}
    ).scalar_one()
    return Checkpoint(
        Head(count, digest), datetime(2026, 12, 4, 21, 10), "A. Officer",
        marks=marks_at(connection, count),
    )  # fmt: skip


def marks_at(connection: Connection, count: int) -> dict[str, int]:
    """The marks `grants verify` would have recorded at link ``count``: each table of record
    to its last id sealed up to it, each table of rows that belong to a record to the
    greatest id of the rows of those records."""
    marks: dict[str, int] = {}
    for table, record in MARKED:
        sql = "SELECT COALESCE(MAX(row_id), 0) FROM seal WHERE tbl = :t AND seq <= :c"
        if table == record.table:
            marks[table] = int(connection.execute(text(sql), {"t": table, "c": count}).scalar_one())
    for table, record in MARKED:
        if table != record.table and record.child is not None:
            sql = f"SELECT COALESCE(MAX(id), 0) FROM {table} WHERE {record.child.parent} <= :a"
            marks[table] = int(
                connection.execute(text(sql), {"a": marks[record.table]}).scalar_one()
            )
    return marks


def top(connection: Connection) -> int:
    return int(connection.execute(text("SELECT MAX(seq) FROM seal")).scalar_one())


def seq_of(connection: Connection, table: str, row_id: int) -> int:
    sql = "SELECT seq FROM seal WHERE tbl = :t AND row_id = :r"
    return int(connection.execute(text(sql), {"t": table, "r": row_id}).scalar_one())


def problems(result: Verification) -> list[tuple[str, str, int | None, int | None]]:
    return [(p.check, p.table, p.row_id, p.seq) for p in result.problems if p.check != "guard"]


def reconciled(g: Grants, *args: str) -> tuple[bool, dict[str, Any]]:
    """Whether reconcile found the record broken, and its JSON."""
    result = g("reconcile", "--json", *args)
    assert result.output.startswith("{"), result.output
    data = json.loads(result.output)
    broken = [f for f in data["findings"] if f["check"] == "the record"]
    assert len(broken) <= 1
    assert result.exit_code == (1 if data["counts"]["error"] else 0)
    return bool(broken), data


def behind(connection: Connection, table: str, sql: str, **params: Any) -> None:
    """``sql`` run behind the ledger's back on ``table``, its guards taken off and put back as
    they were (a careful attacker's work: the checks of the whole ledger find no guard
    missing, and so rely on the verification)."""
    unguard(connection, table)
    connection.execute(text(sql), params)
    guards.restore(connection, [table])


def while_a_writer_holds(g: Grants, engine: Engine, *args: str) -> Any:
    """``g(*args)`` while another connection holds the writer's lock (SQLite only)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the writer is held with SQLite's BEGIN IMMEDIATE")
    import sqlite3

    with closing(sqlite3.connect(g.url.removeprefix("sqlite:///"), isolation_level=None)) as w:
        w.execute("BEGIN IMMEDIATE")
        try:
            return g(*args)
        finally:
            w.execute("ROLLBACK")


def change_entry(engine: Engine, entry_id: int) -> None:
    """A row changed behind the ledger's back, its seal left as it was and its guards put
    back as they were (a careful attacker's work: nothing but the walk can see it)."""
    with engine.begin() as connection:
        unguard(connection, "entry")
        connection.execute(text("UPDATE entry SET note = 'changed' WHERE id = :i"), {"i": entry_id})
        guards.restore(connection, ["entry"])


# -- verify records what it found whole --------------------------------------------------


def test_verify_records_the_head_it_found_whole_who_and_when(
    oxfordshire: Grants, engine: Engine
) -> None:
    assert rows(engine, VERIFIED) == []
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    head = head_of(oxfordshire)
    after = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
    ((count, digest, verified_at, person_id),) = rows(engine, VERIFIED)
    assert (count, digest) == (head["count"], head["digest"])
    if not isinstance(verified_at, datetime):
        verified_at = datetime.fromisoformat(verified_at)
    assert before <= verified_at <= after  # UTC
    officer = rows(engine, "SELECT id FROM person WHERE login = 'officer'")[0][0]
    assert person_id == officer
    assert json.loads(oxfordshire("verify", "--json").output)["recorded"] is True
    said = oxfordshire("verify")
    assert "recorded: `grants reconcile` will rely on this verification" in said.output
    assert len(rows(engine, VERIFIED)) == 3
    # Each walk that finds it whole is recorded: the latest stands.
    assert oxfordshire("verify", "--head").exit_code == 0
    assert len(rows(engine, VERIFIED)) == 4


def test_a_reader_may_verify_and_their_verification_is_recorded(
    oxfordshire: Grants, engine: Engine
) -> None:
    add_person(oxfordshire.url, "reader", ["viewer"])
    assert oxfordshire.as_user("reader")("verify").exit_code == 0
    reader = rows(engine, "SELECT id FROM person WHERE login = 'reader'")[0][0]
    assert [row[3] for row in rows(engine, VERIFIED)] == [reader]


def test_a_broken_record_is_not_recorded_as_verified(oxfordshire: Grants, engine: Engine) -> None:
    change_entry(engine, 30)
    result = oxfordshire("verify")
    assert result.exit_code == 1
    assert "entry 30" in result.output
    assert not [line for line in result.output.splitlines() if line.startswith("recorded:")]
    said = oxfordshire("verify", "--json")
    assert said.exit_code == 1 and json.loads(said.output)["recorded"] is False
    assert rows(engine, VERIFIED) == []


# -- the partial walk ------------------------------------------------------------------


def test_a_walk_from_any_link_finds_a_whole_record_whole(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    """From every kind of place in the chain (the first link, one within the journal, the
    last but one, the last): nothing found, the links after it walked, and the record's
    checks of every balance still made (an account no entry posts to is named)."""
    end = top(rolled_back)
    entry = seq_of(rolled_back, "entry", 40)
    for count in (1, entry, end - 1, end):
        result = verify(rolled_back, since=at(rolled_back, count))
        assert problems(result) == [], count
        assert result.since is not None and result.since.head.count == count
        assert result.walked == end - count
        assert result.head == verify(rolled_back).head
    # An account added behind the ledger's back (no entry posts to it) is named either way.
    behind(
        rolled_back, "account",
        "INSERT INTO account (id, key, stream_id, first_year, last_year, line_id, role) "
        "SELECT (SELECT MAX(id) + 1 FROM account), 'x', stream_id, 2099, 2099, NULL, "
        "'funder' FROM account WHERE id = 1",
    )  # fmt: skip
    result = verify(rolled_back, since=at(rolled_back, entry))
    assert result.since is not None  # relied on: no guard is missing
    walked = problems(result)
    assert ("account", "account") in [(c, t) for c, t, _, _ in walked]
    assert walked == problems(verify(rolled_back))


def test_a_row_changed_before_the_verification_is_found_by_the_whole_walk_only(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    early = seq_of(rolled_back, "entry", 10)
    since = at(rolled_back, seq_of(rolled_back, "entry", 40))
    behind(rolled_back, "entry", "UPDATE entry SET note = 'changed' WHERE id = 10")
    result = verify(rolled_back, since=since)
    assert result.since is not None and problems(result) == []
    assert problems(verify(rolled_back)) == [("chain", "entry", 10, early)]


def test_a_row_changed_after_the_verification_is_found_as_the_whole_walk_finds_it(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    since = at(rolled_back, seq_of(rolled_back, "entry", 40))
    behind(rolled_back, "entry", "UPDATE entry SET note = 'changed' WHERE id = 50")
    behind(  # postings that no longer add up: turnover and key checks follow
        rolled_back, "posting",
        "UPDATE posting SET amount_pence = amount_pence + 1 WHERE id = "
        "(SELECT MIN(id) FROM posting WHERE entry_id = 60)",
    )  # fmt: skip
    result = verify(rolled_back, since=since)
    assert result.since is not None
    found = problems(result)
    assert found == problems(verify(rolled_back))
    assert ("chain", "entry", 50, seq_of(rolled_back, "entry", 50)) in found
    assert ("postings", "entry", 60, seq_of(rolled_back, "entry", 60)) in found


def test_a_chain_rewritten_up_to_the_verification_is_reported_and_walked_whole(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    count = seq_of(rolled_back, "entry", 40)
    since = at(rolled_back, count)
    behind(rolled_back, "seal", "UPDATE seal SET digest = :d WHERE seq = :s", d="f" * 64, s=count)
    result = verify(rolled_back, since=since)
    assert result.since is None  # every link walked
    assert result.first is not None and result.first.check == "verification"
    assert "has been rewritten since" in str(result.first)
    assert ("chain", count + 1) in [(c, seq) for c, _, _, seq in problems(result)]  # the walk's


def test_a_verification_beyond_the_end_of_the_chain_is_reported(
    oxfordshire: Grants, rolled_back: Connection
) -> None:
    end = top(rolled_back)
    since = at(rolled_back, end)
    behind(rolled_back, "seal", "DELETE FROM seal WHERE seq > :s", s=end - 5)
    result = verify(rolled_back, since=since)
    assert result.since is None
    first = [p for p in result.problems if p.check == "verification"]
    assert len(first) == 1
    assert f"fewer than the {end:,} a walk of every link found whole" in first[0].message


# -- reconcile relies on it, and says so -------------------------------------------------


def test_reconcile_walks_whole_without_a_verification_says_so_and_records_it(
    oxfordshire: Grants, engine: Engine
) -> None:
    """A reconcile with no verification to rely on walks every link, as `grants verify`
    does (the same returns' workbooks compared), and records what it found whole: the next
    reconcile relies on it and walks only the links after it."""
    text_out = oxfordshire("reconcile").output
    ((count, digest, _, person_id),) = rows(engine, VERIFIED)
    assert f"the record: walked whole, all {count:,} links" in text_out
    assert "recorded: the next `grants reconcile` relies on this walk of every link" in text_out
    assert person_id == rows(engine, "SELECT id FROM person WHERE login = 'officer'")[0][0]
    broken, data = reconciled(oxfordshire)
    assert not broken
    record = data["record"]
    assert record["walked"] == "since verification" and record["links_walked"] == 0
    assert record["recorded"] is False  # a walk from a verification is not a verification
    assert (record["verified"]["count"], record["verified"]["digest"]) == (count, digest)
    assert record["head"] == {"count": count, "digest": digest}
    assert "as a walk of every link found it on" in record["statement"]
    assert len(rows(engine, VERIFIED)) == 1
    # Told to walk whole, it walks every link again and records that walk.
    broken, data = reconciled(oxfordshire, "--whole")
    assert not broken and data["record"]["walked"] == "whole" and data["record"]["recorded"]
    assert len(rows(engine, VERIFIED)) == 2


def test_a_walk_is_recorded_as_of_when_its_reading_began(
    oxfordshire: Grants, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change committed while a reconcile's walk reads (unseen by it) comes after the
    time the walk's verification gives: the time its transaction began, not the time it was
    recorded, so the statement that a later change is found by `grants verify` holds."""
    from grants.services import reconcile as reconcile_module

    walk = reconcile_module.verify

    def slow(*args: Any, **kwargs: Any) -> Verification:
        result = walk(*args, **kwargs)
        time.sleep(2.5)  # a change could be committed now, after the walk read
        return result

    monkeypatch.setattr(reconcile_module, "verify", slow)
    began = datetime.now(UTC).replace(tzinfo=None)
    result = oxfordshire("reconcile", "--json")
    ended = datetime.now(UTC).replace(tzinfo=None)
    assert json.loads(result.stdout)["record"]["recorded"] is True
    ((_, _, verified_at, _),) = rows(engine, VERIFIED)
    if not isinstance(verified_at, datetime):
        verified_at = datetime.fromisoformat(verified_at)
    assert ended - began > timedelta(seconds=2.5)
    assert began - timedelta(seconds=1) <= verified_at <= began + timedelta(seconds=1)


def test_only_a_person_who_may_verify_has_a_walk_recorded(
    oxfordshire: Grants, engine: Engine
) -> None:
    from sqlalchemy.orm import Session

    from grants.services import checkpoints
    from grants.services.access import Actor

    officer = rows(engine, "SELECT id FROM person WHERE login = 'officer'")[0][0]
    with engine.connect() as connection:
        result = verify(connection)
    assert result.ok and result.since is None
    with Session(engine) as session, session.begin():
        for roles, kept in [({"recipient"}, False), ({"viewer"}, True), ({"officer"}, True)]:
            actor = Actor(officer, "officer", frozenset(roles))
            assert checkpoints.record(session, result, actor, checkpoints.now()) is kept, roles
        session.rollback()


def test_reconcile_that_cannot_write_its_workbook_records_nothing(
    oxfordshire: Grants, engine: Engine, tmp_path: Any
) -> None:
    result = oxfordshire("reconcile", "-o", str(tmp_path / "no such folder" / "r.xlsx"))
    assert result.exit_code != 0
    assert "cannot write" in result.output and "Traceback" not in result.output
    assert rows(engine, VERIFIED) == []


def test_grants_serve_says_when_the_year_pages_will_walk_every_link(
    oxfordshire: Grants, engine: Engine, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """With no walk of every link recorded to rely on, and a chain of at least
    ``serve.WALK_NOTED`` links, `grants serve` says that the year pages walk every link;
    once one is recorded (or the chain is shorter), nothing."""
    from grants.cli import serve
    from grants.cli.common import AppContext
    from grants.services import checkpoints

    app = AppContext(database=oxfordshire.url)
    with engine.connect() as connection:
        links = checkpoints.unrelied(connection)
    assert links > 0
    monkeypatch.setattr(serve, "WALK_NOTED", links)
    said = f"the dashboard's year pages will walk all {links:,} links of the chain"
    serve._note_walks(app)
    assert said in capsys.readouterr().err
    monkeypatch.setattr(serve, "WALK_NOTED", links + 1)
    serve._note_walks(app)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(serve, "WALK_NOTED", 1)
    assert oxfordshire("verify").exit_code == 0
    with engine.connect() as connection:
        assert checkpoints.unrelied(connection) == 0
    serve._note_walks(app)
    assert capsys.readouterr().err == ""
    # A verification of too few of the links is none to rely on: said again.
    assert oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1.00").exit_code == 0
    monkeypatch.setattr(checkpoints, "SHARE", 0.0)
    serve._note_walks(app)
    assert f"will walk all {links + 1:,} links" in capsys.readouterr().err
    if engine.dialect.name == "postgresql":
        # A load building the chain's keys holds its table: the look does not wait for it.
        import threading

        with engine.connect() as holder, holder.begin():
            holder.exec_driver_sql("LOCK TABLE seal IN ACCESS EXCLUSIVE MODE")
            look = threading.Thread(target=serve._note_walks, args=(app,), daemon=True)
            look.start()
            look.join(serve.WALK_NOTE_WAIT + 5)
            waited = look.is_alive()
        look.join(30)
        assert not waited, "grants serve waited for the lock on the chain's table"
        assert capsys.readouterr().err == ""


def test_reconcile_records_no_walk_that_found_the_record_broken(
    oxfordshire: Grants, engine: Engine
) -> None:
    change_entry(engine, 30)
    broken, data = reconciled(oxfordshire)
    assert broken and data["record"]["walked"] == "whole"
    assert data["record"]["recorded"] is False
    assert rows(engine, VERIFIED) == []
    assert "recorded:" not in oxfordshire("reconcile").output
    assert rows(engine, VERIFIED) == []


def test_reconcile_says_when_its_walk_cannot_be_recorded(
    oxfordshire: Grants, engine: Engine
) -> None:
    """Another writer holds the ledger: reconcile reports as before, warns that its walk is
    not recorded, and records nothing."""
    result = while_a_writer_holds(oxfordshire, engine, "reconcile")
    assert "the record: walked whole, all " in result.output, result.output
    assert "warning: this walk of every link is not recorded" in result.output
    assert "recorded: the next" not in result.output
    assert rows(engine, VERIFIED) == []


def test_reconcile_after_verify_walks_the_later_links_only_and_says_so(
    oxfordshire: Grants, engine: Engine
) -> None:
    head = head_of(oxfordshire)
    assert oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1.00").exit_code == 0
    broken, data = reconciled(oxfordshire)
    assert not broken
    record = data["record"]
    assert record["walked"] == "since verification"
    assert record["verified"]["count"] == head["count"]
    assert record["verified"]["digest"] == head["digest"]
    assert record["verified"]["by"] == "officer"
    assert record["head"]["count"] > head["count"]
    assert record["links_walked"] == record["head"]["count"] - head["count"]
    said = oxfordshire("reconcile").output
    assert (
        f"the record: whole up to link {head['count']:,}, as a walk of every link found it" in said
    )
    assert record["links_walked"] == 1  # the payment's entry (its postings are part of it)
    assert "the 1 link since was checked now" in said
    assert "is found by the next `grants verify`" in said
    # A row changed before that link is not seen by reconcile, which says what it relied
    # on; `--whole` and `grants verify` see it.
    change_entry(engine, 30)
    broken, data = reconciled(oxfordshire)
    assert not broken, [f["message"] for f in data["findings"] if f["check"] == "the record"]
    assert data["record"]["walked"] == "since verification"
    broken, data = reconciled(oxfordshire, "--whole")
    assert broken
    assert data["record"]["walked"] == "whole"
    assert "entry 30" in next(f["message"] for f in data["findings"] if f["check"] == "the record")
    assert oxfordshire("verify").exit_code == 1


def test_reconcile_finds_a_row_changed_after_the_verification(
    oxfordshire: Grants, engine: Engine
) -> None:
    head_of(oxfordshire)
    assert oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", "1.00").exit_code == 0
    newest = rows(engine, "SELECT MAX(id) FROM entry")[0][0]
    change_entry(engine, newest)
    broken, data = reconciled(oxfordshire)
    assert broken
    assert data["record"]["walked"] == "since verification"
    message = next(f["message"] for f in data["findings"] if f["check"] == "the record")
    assert f"entry {newest}: has changed since it was sealed" in message


def test_reconcile_reports_a_chain_rebuilt_behind_the_verification(
    oxfordshire: Grants, engine: Engine
) -> None:
    head = head_of(oxfordshire)
    with engine.begin() as connection:
        sql = "UPDATE seal SET digest = :d WHERE seq = :s"
        behind(connection, "seal", sql, d="e" * 64, s=head["count"])
    broken, data = reconciled(oxfordshire)
    assert broken
    assert data["record"]["walked"] == "whole"
    message = next(f["message"] for f in data["findings"] if f["check"] == "the record")
    assert (
        f"the chain's link {head['count']:,} is not the one a walk of every link found" in message
    )


@pytest.mark.parametrize("whole", [False, True])
def test_the_workbook_says_what_the_record_check_walked(
    oxfordshire: Grants, tmp_path: Any, whole: bool
) -> None:
    import openpyxl

    head_of(oxfordshire)
    out = tmp_path / "reconcile.xlsx"
    args = ["reconcile", "-o", str(out), *(["--whole"] if whole else [])]
    assert oxfordshire(*args).exit_code in (0, 1)  # the demo ledger's own findings
    sheet = openpyxl.load_workbook(out).worksheets[0]
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    wanted = "The record: walked whole" if whole else "The record: whole up to link"
    assert any(t.startswith(wanted) for t in texts), texts
    assert not any("`" in t for t in texts if t.startswith("The record:")), texts


def test_entries_that_say_the_same_are_keyed_from_those_before_the_verification(
    grants: Grants, engine: Engine, tmp_path: Any
) -> None:
    """Four identical payments in the books are keyed as the first to fourth of their
    content: walked from between any two, each key is checked against the ones before the
    head (read from the journal, not walked); a key changed after it is found as the whole
    walk finds it."""
    four_alike_walked(grants, engine, tmp_path)


def four_alike_walked(grants: Grants, engine: Engine, tmp_path: Any) -> None:
    """Four identical payments loaded, then walked from between each two of them (in a
    transaction rolled back)."""
    from tests.helpers import books
    from tests.test_plans import FUND

    paid = "".join("2017-05-01 pay CSF 2017-18 CHERWELL 100\n" for _ in range(4))
    loaded = grants("ledger", "load", str(books(tmp_path, FUND + paid)))
    assert loaded.exit_code == 0, loaded.output
    with engine.connect() as rolled_back, rolled_back.begin() as transaction:
        _same_content(rolled_back)
        transaction.rollback()


def _same_content(rolled_back: Connection) -> None:
    ids = [row[0] for row in rolled_back.execute(
        text("SELECT id FROM entry WHERE kind = 'pay' ORDER BY id"))]  # fmt: skip
    assert len(ids) == 4
    links = [seq_of(rolled_back, "entry", i) for i in ids]
    for count in (links[0] - 1, *links):
        result = verify(rolled_back, since=at(rolled_back, count))
        assert problems(result) == [], count
    behind(rolled_back, "entry", "UPDATE entry SET key = :k WHERE id = :i", k="0" * 40, i=ids[3])
    result = verify(rolled_back, since=at(rolled_back, links[1]))
    assert result.since is not None
    found = problems(result)
    assert found == problems(verify(rolled_back))
    assert ("key", "entry", ids[3], links[3]) in found


def test_verify_still_succeeds_when_its_verification_cannot_be_recorded(
    oxfordshire: Grants, engine: Engine
) -> None:
    """Another writer holds the ledger: verify proves the record as before, says that this
    verification is not recorded, and records nothing (reconcile relies on the one before)."""
    result = while_a_writer_holds(oxfordshire, engine, "verify")
    assert result.exit_code == 0, result.output
    assert "the record holds" in result.output
    assert "warning: this verification is not recorded" in result.output
    assert not [line for line in result.output.splitlines() if line.startswith("recorded:")]
    assert rows(engine, VERIFIED) == []
    result = while_a_writer_holds(oxfordshire, engine, "verify", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output[result.output.index("{") :])["recorded"] is False
    assert rows(engine, VERIFIED) == []


def test_the_verifications_are_guarded_and_verify_names_a_guard_taken_off(
    oxfordshire: Grants, engine: Engine
) -> None:
    head_of(oxfordshire)
    with engine.connect() as connection, connection.begin() as transaction:
        with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
            connection.execute(text("UPDATE verification SET count = 1"))
        unguard(connection, "verification")
        found = [str(p) for p in verify(connection).problems if p.check == "guard"]
        transaction.rollback()
    assert found and all(p.startswith("verification: the guard verification_") for p in found)
