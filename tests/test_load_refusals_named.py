"""A load refused by the database for something other than a broken key or reference (a
check, a trigger's refusal) is reported as the database's own refusal, on both engines: the
message that names a clash of keys (grants.db.bulk.clashes_named) is kept for clashes."""

from __future__ import annotations

from pathlib import Path

from grants.db.engine import make_engine
from tests.conftest import Grants
from tests.helpers import books

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
