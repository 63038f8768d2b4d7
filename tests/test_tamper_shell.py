"""Attacks on the record made as a user would make them: the sqlite3 shell on the ledger's
file, committed, then the commands (`grants verify`, `grants reconcile`, a load, a payment)
naming or refusing what was changed. Each runs on a SQLite ledger of its own holding every
kind of record (tests/full_ledger.py); the attacks made with direct SQL on both engines, in
transactions rolled back, are tests/test_tamper.py's."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Grants
from tests.full_ledger import build


@pytest.fixture
def filed(tmp_path: Path) -> tuple[Grants, Path]:
    path = tmp_path / "ledger.db"
    g = Grants(f"sqlite:///{path}")
    assert g("db", "upgrade").exit_code == 0
    build(g, tmp_path)
    return g, path


def shell(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


def test_a_change_made_with_the_sqlite3_shell_is_named_by_verify_and_reconcile(
    filed: tuple[Grants, Path],
) -> None:
    g, path = filed
    head = g("verify", "--head")
    assert head.exit_code == 0
    quoted = head.output.strip()
    with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE on entry refused"):
        shell(path, "UPDATE entry SET amount_pence = 1 WHERE id = 30")
    shell(path, "DROP TRIGGER entry_no_update", "UPDATE entry SET amount_pence = 1 WHERE id = 30")
    result = g("verify")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("the record is broken: the first broken record is entry 30: has "
                        f"changed since it was sealed (link {_link(path, 30)} of the chain)")  # fmt: skip
    assert "  entry: the guard entry_no_update on entry is missing" in lines
    against = g("verify", "--against", quoted)
    assert against.exit_code == 1
    # A verification is recorded (`grants verify --head` found the record whole), but the
    # missing guard, checked whole every time, says the record was reached behind the
    # ledger's back: reconcile does not rely on the verification, walks every link and
    # names what verify names.
    reconciled = g("reconcile", "--as-of", "2017-11-15")
    assert reconciled.exit_code == 1
    assert reconciled.output.splitlines()[0].startswith(
        "error    : the record has been changed behind the ledger's back; the first broken "
        f"record is entry 30: has changed since it was sealed (link {_link(path, 30)} of the "
        "chain)"
    )
    count = quoted.partition(":")[0]
    assert (
        "the record: walked whole: a check of the whole ledger found a problem (entry: the "
        "guard entry_no_update on entry is missing), so the links up to "
        f"{int(count):,}, found whole by a walk of every link on"
    ) in reconciled.output
    whole = g("reconcile", "--as-of", "2017-11-15", "--whole")
    assert whole.exit_code == 1
    assert whole.output.splitlines()[0].startswith(
        "error    : the record has been changed behind the ledger's back; the first broken "
        "record is entry 30: has changed since it was sealed"
    )
    upgraded = g("db", "upgrade")
    assert upgraded.exit_code == 0
    assert "warning: the guard entry_no_update on entry is missing: put back" in upgraded.output
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        shell(path, "UPDATE entry SET amount_pence = 2 WHERE id = 30")


def test_loading_the_original_books_again_does_not_hide_a_change(oxfordshire: Grants) -> None:
    """The changed entry keeps its key, so the books load as "nothing new"; verify still
    names the entry."""
    from tests.conftest import BOOKS

    if not oxfordshire.url.startswith("sqlite"):
        pytest.skip("the SQLite file is changed with the sqlite3 module")
    path = Path(oxfordshire.url.removeprefix("sqlite:///"))
    shell(path, "DROP TRIGGER entry_no_update", "UPDATE entry SET amount_pence = 1 WHERE id = 30")
    again = oxfordshire("ledger", "load", str(BOOKS))
    assert again.exit_code == 0
    assert re.search(r": nothing new; [\d,]+ already recorded$", again.output.splitlines()[-1])
    result = oxfordshire("verify")
    assert result.exit_code == 1
    assert result.output.startswith(
        "the record is broken: the first broken record is entry 30: has changed since it was sealed"
    )


def _link(path: Path, entry: int) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT seq FROM seal WHERE tbl = 'entry' AND row_id = ?", (entry,)
        ).fetchone()[0]


def test_the_ledger_records_nothing_more_after_its_newest_entry_is_deleted(
    filed: tuple[Grants, Path],
) -> None:
    """The deleted entry's id would be reused and leave no gap: the ledger refuses to write
    until the damage is dealt with, and verify names it."""
    g, path = filed
    with sqlite3.connect(path) as conn:
        newest = conn.execute("SELECT MAX(id) FROM entry").fetchone()[0]
    shell(path, "DROP TRIGGER entry_no_delete", "DROP TRIGGER posting_no_delete",
          f"DELETE FROM posting WHERE entry_id = {newest}", f"DELETE FROM entry WHERE id = {newest}")  # fmt: skip
    paid = g("pay", "PCC-CSF", "2017-18", "DA", "1", "--date", "2017-08-01")
    assert paid.exit_code == 1
    assert paid.output == (
        f"Error: the ledger has been changed behind its back (entry {newest} to {newest}, sealed "
        "in its chain, are gone): nothing was recorded. Run `grants verify` to see what "
        "changed, and restore the ledger from a backup\n"
    )
    result = g("verify", "--json")
    assert result.exit_code == 1
    import json

    data = json.loads(result.output)
    assert data["first"]["table"] == "entry" and data["first"]["id"] == newest
    assert data["first"]["check"] == "missing"
