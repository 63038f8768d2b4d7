"""A record nobody can quietly lose: the export is a complete backup that restores on the
other engine to the same ledger and chain; a live SQLite ledger backs up consistently; on
PostgreSQL the working role cannot take the guards off; nothing overflows. (Readers never
waiting for a writer, and writers waiting their turn: tests/test_writers_and_readers.py.)"""

from __future__ import annotations

import json
import sqlite3
import stat
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, text

from grants.db.records import CHANGING
from grants.money import MAX_TURNOVER_PENCE
from tests.conftest import Grants, _reset_postgres, add_person
from tests.full_ledger import build
from tests.helpers import FUND, books

GRANTS = [sys.executable, "-c", "from grants.cli.main import main; main()"]


def _other_engine(request: pytest.FixtureRequest, url: str, tmp_path: Path) -> Grants:
    """An empty, upgraded ledger on the engine ``url`` is not on."""
    if url.startswith("sqlite"):
        other = request.getfixturevalue("postgres_database")
        _reset_postgres(other)
    else:
        other = f"sqlite:///{tmp_path / 'other.db'}"
    g = Grants(other)
    assert g("db", "upgrade", "--for-restore").exit_code == 0
    return g


READS = [
    ("verify", "--head"),
    ("returns", "history", "--json"),
    ("reconcile", "--json", "--as-of", "2017-11-15"),
    ("balance", "--json"),
    ("journal", "--json"),
    ("plan", "show", "--stream", "PCC-CSF", "--year", "2017-18", "--json"),
    ("ledger", "title"),
]


def test_an_export_restores_on_the_other_engine_to_the_same_ledger(
    grants: Grants, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    build(grants, tmp_path)
    before = {args: grants(*args) for args in READS}
    assert all(r.exit_code in (0, 1) for r in before.values())
    out = tmp_path / "export"
    exported = grants("ledger", "export", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    head = before[("verify", "--head")].output.strip()
    assert exported.output.endswith(f"; head {head}\n")
    workbooks = sorted(p.name for p in (out / "attachments").iterdir())
    assert len(workbooks) == 8  # the plan form and seven returns, each under its SHA-256
    other = _other_engine(request, grants.url, tmp_path)
    restored = other("ledger", "load", str(out / "main.grants"))
    assert restored.exit_code == 0, restored.output
    for args, result in before.items():
        again = other(*args)
        assert (again.exit_code, _timeless(again.output)) == (
            result.exit_code,
            _timeless(result.output),
        ), args
    # Every workbook written from the restored ledger holds what the original's holds.
    assert grants("report", "all", "-o", str(tmp_path / "a")).exit_code == 0
    assert other("report", "all", "-o", str(tmp_path / "b")).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) and names
    for name in names:
        assert _cells(tmp_path / "a" / name) == _cells(tmp_path / "b" / name), name
    history = json.loads(before[("returns", "history", "--json")].output)
    assert len(history) == 7 and sum(1 for h in history if h["superseded_by"]) == 2
    # The export loaded back into the ledger it came from changes nothing.
    again = grants("ledger", "load", str(out / "main.grants"), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["created"] == {}
    assert grants("verify", "--head").output.strip() == head


def _timeless(output: str) -> str:
    """A command's output less when the verification reconcile relied on was made (each
    ledger's own `grants verify` of the same head, a moment apart)."""
    if not output.startswith("{"):
        return output
    data = json.loads(output)
    if isinstance(data, dict) and (data.get("record") or {}).get("verified"):
        data["record"]["verified"].pop("at")
        data["record"].pop("statement")
    return json.dumps(data)


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    workbook = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def test_a_changed_export_is_refused_on_restore(grants: Grants, tmp_path: Path) -> None:
    build(grants, tmp_path, backdated=False)
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    records = out / "ledger-0001.grants"
    records.write_text(records.read_text().replace("first instalment", "second instalment"))
    fresh = Grants(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert fresh("db", "upgrade", "--for-restore").exit_code == 0
    result = fresh("ledger", "load", str(out / "main.grants"))
    assert result.exit_code == 1
    assert "they differ from what was exported, a file changed or missing since; nothing " \
        "was restored" in result.output  # fmt: skip
    assert fresh("verify", "--head").output.startswith("0:")
    # The head in an export guards against accidents, not against whoever edits the export
    # (they can take it out): a return's figures changed so are named by verify, against
    # the workbook the return came from.
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    records.write_text(records.read_text().replace("line-1-actual: 217", "line-1-actual: 999"))
    main = out / "main.grants"
    main.write_text("".join(x for x in main.read_text().splitlines(True) if " head " not in x))
    other = Grants(f"sqlite:///{tmp_path / 'other.db'}")
    assert other("db", "upgrade", "--for-restore").exit_code == 0
    assert other("ledger", "load", str(main)).exit_code == 0
    checked = other("verify")
    assert checked.exit_code == 1
    assert "is not the return its workbook holds: line 1's output actual is 999 where its " \
        "workbook has 217" in checked.output  # fmt: skip
    # A workbook swapped in attachments/ is refused too.
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    first = sorted((out / "attachments").iterdir())[0]
    first.write_bytes(first.read_bytes() + b"\0")
    result = fresh("ledger", "load", str(out / "main.grants"))
    assert result.exit_code == 1
    assert f"attachment 'attachments/{first.name}' is not the file whose SHA-256 the " \
        "directive gives: it was changed or replaced" in result.output  # fmt: skip


def test_a_broken_record_is_not_exported(grants: Grants, tmp_path: Path) -> None:
    if not grants.url.startswith("sqlite"):
        pytest.skip("the SQLite file is changed with the sqlite3 module")
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    path = Path(grants.url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER line_no_update")
        conn.execute("UPDATE line SET name = 'Line Bee' WHERE code = 'B'")
    result = grants("ledger", "export", "-o", str(tmp_path / "export"))
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: the record is broken (the first broken record is line 2: has changed since "
        "it was sealed"
    )
    assert not (tmp_path / "export").exists()


def test_sqlite_backup_is_a_verified_private_copy(grants: Grants, tmp_path: Path) -> None:
    if not grants.url.startswith("sqlite"):
        result = grants("db", "backup", str(tmp_path / "copy.db"))
        assert result.exit_code == 1
        assert "this ledger is on PostgreSQL: back it up with pg_dump" in result.output
        return
    build(grants, tmp_path)
    with closing(sqlite3.connect(grants.url.removeprefix("sqlite:///"))) as live:
        live.executescript(
            "INSERT INTO web_session (digest, person_id, created_at, seen_at) "
            "SELECT 'x', MIN(id), '2026-12-03 09:00:00', '2026-12-03 09:00:00' FROM person; "
            "INSERT INTO sign_in_failure (login, client, at) VALUES ('x', '192.0.2.1', "
            "'2026-12-03 09:00:00')"
        )
    copy = tmp_path / "copy.db"
    result = grants("db", "backup", str(copy))
    assert result.exit_code == 0, result.output
    with closing(sqlite3.connect(copy)) as backed_up:  # no one is signed in to a copy
        for table in CHANGING:
            assert backed_up.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)
    head = grants("verify", "--head").output.strip()
    count = int(head.partition(":")[0])
    assert count > 300  # the demo books and their returns, each sealed
    assert result.output == f"backed up the ledger to {copy}: {count:,} records, head {head}\n"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert copy.read_bytes()[18:20] == b"\x01\x01"  # a rollback journal: one file alone
    assert Grants(f"sqlite:///{copy}")("verify", "--head").output.strip() == head
    again = grants("db", "backup", str(copy))
    assert again.exit_code == 1
    assert f"{copy} already exists: give the name of a new file" in again.output


def test_a_new_sqlite_ledger_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    g = Grants(f"sqlite:///{path}")
    assert g("db", "upgrade").exit_code == 0
    assert g("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    with sqlite3.connect(path) as conn:  # hold the WAL open to look at it
        conn.execute("SELECT 1 FROM entry").fetchall()
        for suffix in ("", "-wal", "-shm"):
            mode = stat.S_IMODE(Path(f"{path}{suffix}").stat().st_mode)
            assert mode == 0o600, (suffix, oct(mode))
    # A ledger made before new files were private is left as it is, with a word.
    path.chmod(0o644)
    upgraded = g("db", "upgrade")
    assert upgraded.exit_code == 0
    assert (f"warning: {path} can be read or written by others (permissions 644): make it "
            f"private with `chmod 600 {path}`") in upgraded.output  # fmt: skip


# -- PostgreSQL: the working role ------------------------------------------------------


@pytest.fixture
def roles(db_url: str) -> Iterator[tuple[str, str]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("roles are PostgreSQL's")
    suffix = uuid.uuid4().hex[:8]
    owner, working = f"grants_owner_{suffix}", f"grants_app_{suffix}"
    yield owner, working
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")  # fmt: skip
    with engine.connect() as conn:
        for role in (owner, working):
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            if exists.first():
                conn.execute(text(f"REASSIGN OWNED BY {role} TO CURRENT_USER"))
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
    engine.dispose()


def test_the_working_role_records_but_cannot_take_the_guards_off(
    oxfordshire: Grants, roles: tuple[str, str]
) -> None:
    owner, working = roles
    made = oxfordshire("db", "roles", "--owner", owner, "--working", working)
    assert made.exit_code == 0, made.output
    url = oxfordshire.url.replace("postgres@", f"{working}@", 1)
    as_app = Grants(url)
    paid = as_app("pay", "PCC-CSF", "2017-18", "DA", "100", "--date", "2017-07-01")
    assert paid.exit_code == 0, paid.output
    # The working role records a verification, an officer's and a viewer's alike: no
    # warning, the row is there with who made it, and reconcile relies on it (the working
    # role reads the verifications' sequence).
    add_person(oxfordshire.url, "reader", ["viewer"])
    admin = create_engine(oxfordshire.url.replace("postgresql://", "postgresql+psycopg://", 1))
    for login in ("officer", "reader"):
        verified = Grants(url, user=login)("verify")
        assert verified.exit_code == 0, verified.output
        assert "warning" not in verified.output, verified.output
        assert "recorded: `grants reconcile` will rely on this verification" in verified.output
        with admin.connect() as conn:
            last = conn.execute(text(
                "SELECT p.login FROM verification v JOIN person p ON p.id = v.person_id "
                "ORDER BY v.id DESC LIMIT 1"
            )).scalar()  # fmt: skip
        assert last == login
        reconciled = Grants(url, user=login)("reconcile", "--json")
        assert '"walked": "since verification"' in reconciled.output, reconciled.output
    admin.dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    attempts = {
        "UPDATE entry SET amount_pence = 1 WHERE id = 1": "permission denied for table entry",
        "DELETE FROM posting": "permission denied for table posting",
        "TRUNCATE seal": "permission denied for table seal",
        "SET session_replication_role = replica": "permission denied to set parameter",
        "ALTER TABLE entry DISABLE TRIGGER USER": "must be owner of table entry",
        "DROP TRIGGER entry_append_only ON entry": "must be owner of relation entry",
    }
    for sql, refusal in attempts.items():
        with engine.connect() as conn, pytest.raises(Exception, match=refusal):
            conn.exec_driver_sql(sql)
    with engine.begin() as conn:  # the web's sessions and failed sign-ins do change
        conn.exec_driver_sql("UPDATE web_session SET ended_why = 'ended' WHERE id = 0")
        conn.exec_driver_sql("DELETE FROM sign_in_failure")
    engine.dispose()
    # The owner upgrades the schema; running db roles again brings the grants up to date.
    upgraded = Grants(oxfordshire.url.replace("postgres@", f"{owner}@", 1))("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    again = oxfordshire("db", "roles", "--owner", owner, "--working", working)
    assert again.exit_code == 0


def test_db_roles_prints_its_sql_and_refuses_bad_names(oxfordshire: Grants) -> None:
    if not oxfordshire.url.startswith("postgresql"):
        result = oxfordshire("db", "roles")
        assert result.exit_code == 1
        assert "roles are for a PostgreSQL ledger" in result.output
        return
    printed = oxfordshire("db", "roles", "--sql", "--owner", "o_x", "--working", "w_x")
    assert printed.exit_code == 0
    lines = printed.output.splitlines()
    assert lines[:2] == [
        "CREATE ROLE o_x LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS;",
        "CREATE ROLE w_x LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;",
    ]
    assert "GRANT SELECT, INSERT ON public.entry TO w_x;" in lines
    # Only the web's sessions and failed sign-ins, which are no record, change.
    changing = [line for line in lines if "UPDATE ON public." in line or "DELETE" in line]
    assert changing == [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON public.{table} TO w_x;"
        for table in sorted(CHANGING)
    ]
    bad = oxfordshire("db", "roles", "--working", "app; DROP TABLE entry")
    assert bad.exit_code == 1
    assert "is not a role name for the working role" in bad.output


# -- nothing overflows -----------------------------------------------------------------


def test_the_journal_turnover_is_bounded_so_no_sum_overflows(
    grants: Grants, tmp_path: Path
) -> None:
    """The issue's 93,000 awards of £999,999,999,999.99 would overflow 64-bit pence: the
    award that takes the journal past its bound is refused at its line, and nothing else is
    recorded."""
    count = MAX_TURNOVER_PENCE // (2 * 99_999_999_999_999) + 1
    awards = [FUND] + [f"2017-04-01 award FUND 2017-18 999,999,999,999.99\n  source: a{i}\n"
                       for i in range(count)]  # fmt: skip
    path = tmp_path / "awards.grants"
    path.write_text("".join(awards), encoding="utf-8")
    before = grants("journal", "--json").output
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1
    line = FUND.count("\n") + 2 * (count - 1) + 1
    assert (f"awards.grants:{line}: award of £999,999,999,999.99 to FUND 2017-18 would take "
            "the journal's turnover (every amount it has moved, added up) past "
            "£40,000,000,000,000,000.00, beyond which its sums could overflow; it is refused "
            "(check the amount)") in result.output  # fmt: skip
    assert grants("journal", "--json").output == before
    # Just within the bound, every balance still sums.
    within = path.read_text().rsplit("2017-04-01 award", 1)[0]
    path.write_text(within)
    assert grants("ledger", "load", str(path)).exit_code == 0
    shown = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert shown[0]["awarded"] == str(Decimal("999999999999.99") * (count - 1))


def test_an_export_printed_to_the_terminal_loads_back(grants: Grants, tmp_path: Path) -> None:
    """Without -o the export is printed: saved as it is, it restores the same chain (a tab
    or a line break in a note is written as \\t or \\n, as the books read it)."""
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    awkward = books(tmp_path, '2017-04-01 org AWKWARD "Awkward Ltd"\n  note: "a\\tb\\nc"\n',
                    "awkward.grants")  # fmt: skip
    assert grants("ledger", "load", str(awkward)).exit_code == 0
    printed = grants("ledger", "export")
    assert printed.exit_code == 0, printed.output
    assert '  note: "a\\tb\\nc"' in printed.output
    saved = tmp_path / "printed.grants"
    saved.write_text(printed.output, encoding="utf-8")
    fresh = Grants(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert fresh("db", "upgrade", "--for-restore").exit_code == 0
    restored = fresh("ledger", "load", str(saved))
    assert restored.exit_code == 0, restored.output
    assert fresh("verify", "--head").output == grants("verify", "--head").output


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("0123456789012345678901234567890123456789", "does not match what the entry says"),
        (
            "s-" + "a" * 48,
            "is a return's key, but the entry is not spending from the return its source names",
        ),
        ("r5-" + "a" * 40, "is a corrected return's key, but the entry reverses none"),
        ("made-up", "is not a key the ledger gives an entry"),
    ],
)
def test_a_key_in_the_books_must_be_one_the_ledger_gives(
    grants: Grants, tmp_path: Path, key: str, why: str
) -> None:
    """A `key:` (as an export writes for a command's entry) that says something other than
    the entry is refused at its line, so a restore never gives a ledger verify refuses."""
    text = FUND + f"2017-04-01 award FUND 2017-18 100\n  key: {key}\n"
    result = grants("ledger", "load", str(books(tmp_path, text)))
    assert result.exit_code == 1
    line = FUND.count("\n") + 2
    assert (f"books.grants:{line}: key {key!r} {why}: leave `key:` out, and the books give the "
            "entry its key") in result.output  # fmt: skip
