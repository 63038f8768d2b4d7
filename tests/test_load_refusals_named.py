"""A load refused by the database for something other than a broken key or reference (a
check, a trigger's refusal) is reported as the database's own refusal, on both engines: the
message that names a clash of keys (grants.db.bulk.clashes_named) is kept for clashes, and
a clash with a row planted behind the ledger's back points at `grants verify`, which names
it."""

from __future__ import annotations

from pathlib import Path

from grants.db.bulk import HELD_ROW
from grants.db.engine import make_engine
from tests.conftest import Grants
from tests.helpers import books, plant_funder_account

_REFERENCE = """\
2017-04-01 org PCC "The Commissioner"
  role: funder

2017-04-01 stream CSF "Community safety fund"
  kind: pcc-csf
  funder: PCC
"""

_REFUSAL = "the 2017-18 accounts are closed"


def _refuse_postings(url: str) -> None:
    """A rule of the council's own on the database, not the ledger's: no posting goes in
    (on SQLite a trigger's refusal, on PostgreSQL a check constraint)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(
                    "CREATE TRIGGER year_closed BEFORE INSERT ON posting "
                    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
                )
            else:
                conn.exec_driver_sql(
                    "ALTER TABLE posting ADD CONSTRAINT year_closed CHECK (amount_pence < 0)"
                )
    finally:
        engine.dispose()


def test_a_load_refused_by_a_check_is_not_called_a_clash_of_keys(
    grants: Grants, tmp_path: Path
) -> None:
    assert grants("ledger", "load", str(books(tmp_path, _REFERENCE, "ref.grants"))).exit_code == 0
    _refuse_postings(grants.url)
    entries = books(tmp_path, "2017-04-01 award CSF 2017-18 100,000\n", "entries.grants")
    loaded = grants("ledger", "load", str(entries))
    assert loaded.exit_code == 1
    assert loaded.output.startswith("Error: database error: ")
    assert "key" not in loaded.output and "reference" not in loaded.output
    said = _REFUSAL if grants.url.startswith("sqlite") else 'check constraint "year_closed"'
    assert said in loaded.output


def test_a_clash_with_a_row_planted_behind_the_ledgers_back_points_at_verify(
    grants: Grants, tmp_path: Path
) -> None:
    """An account inserted into the database directly, under another stream, with the key a
    load then gives one of its own: the load's refusal names the clash and says that a row
    the ledger did not write may be the other, and `grants verify` does name that row."""
    reference = (
        _REFERENCE + '\n2017-04-01 stream OTHER "Other fund"\n  kind: pcc-csf\n  funder: PCC\n'
    )
    assert grants("ledger", "load", str(books(tmp_path, reference, "ref.grants"))).exit_code == 0
    engine = make_engine(grants.url)
    try:
        with engine.begin() as conn:
            plant_funder_account(conn)
    finally:
        engine.dispose()
    entries = books(tmp_path, "2017-04-01 award CSF 2017-18 100,000\n", "entries.grants")
    loaded = grants("ledger", "load", str(entries))
    assert loaded.exit_code == 1
    assert "include a row with the same value as another" in loaded.output
    assert loaded.output.rstrip("\n").endswith(HELD_ROW)
    verified = grants("verify")
    assert verified.exit_code != 0
    assert "account 1: no entry posts to it: it was added behind the ledger's back" in (
        verified.output
    )
