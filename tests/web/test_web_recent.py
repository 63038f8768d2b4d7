"""The year page reuses what it showed while the record stands as it was: a new entry shows
at once, a sign-in does not make it work again, and a change behind the ledger's back is
reported once the last walk over the whole record is a minute old (`grants.services.recent`)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import text
from starlette.testclient import TestClient

from grants.db.engine import make_engine
from grants.services import recent as recent_module
from grants.services.recent import PEOPLE_TABLES, Recent, record_mark
from tests.conftest import Grants
from tests.web.conftest import OFFICER, VIEWER, sign_in

YEAR_PAGE = "/dashboard/CSF/2017-18"
CHANGED = "the record has been changed behind the ledger"


def test_a_new_entry_shows_at_once_and_a_sign_in_changes_nothing_shown(
    client: TestClient, web_ledger: Grants, monkeypatch
) -> None:
    walks: list[int] = []
    real = recent_module.verify

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        walks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(recent_module, "verify", counted)
    assert sign_in(client, OFFICER) == 303
    first = client.get(YEAR_PAGE).text
    assert "£1,234.56" not in first
    assert "last checked against its hash chain" in first
    engine = make_engine(web_ledger.url)
    try:
        with engine.connect() as connection:
            before = record_mark(connection, PEOPLE_TABLES)
            everything = record_mark(connection)
        # Another person signing in writes to the audit log: the figures stand as they were.
        other = TestClient(client.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
        with other:
            assert sign_in(other, VIEWER) == 303
            assert other.get(YEAR_PAGE).text.count("£") == first.count("£")
        with engine.connect() as connection:
            assert record_mark(connection, PEOPLE_TABLES) == before
            assert record_mark(connection) != everything  # the audit log did grow
        assert web_ledger("pay", "CSF", "2017-18", "CHERWELL", "1,234.56").exit_code == 0
        with engine.connect() as connection:
            assert record_mark(connection, PEOPLE_TABLES) != before
    finally:
        engine.dispose()
    after = client.get(YEAR_PAGE).text
    assert "£1,234.56" in after
    assert len(walks) == 1  # the walk within the minute was reused


def test_a_change_behind_the_ledgers_back_is_reported_once_the_walk_is_a_minute_old(
    client: TestClient, web_ledger: Grants
) -> None:
    recent: Recent = client.app.state.recent  # type: ignore[attr-defined]
    assert sign_in(client, OFFICER) == 303
    assert CHANGED not in client.get(YEAR_PAGE).text
    engine = make_engine(web_ledger.url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("DROP TRIGGER IF EXISTS stream_no_update")
            else:
                connection.exec_driver_sql("ALTER TABLE stream DISABLE TRIGGER USER")
            connection.execute(text("UPDATE stream SET name = 'Renamed' WHERE code = 'CSF'"))
    finally:
        engine.dispose()
    # Within the minute the last walk's verdict stands (the page says when it was walked) ...
    assert CHANGED not in client.get(YEAR_PAGE).text
    # ... and once it is a minute old the page walks the record again and reports it.
    recent.fresh = 0
    page = client.get(YEAR_PAGE).text
    assert CHANGED in page
    assert f"on {date.today().day}" in page


def test_the_year_page_says_what_the_record_check_walked_and_relied_on(
    client: TestClient, web_ledger: Grants
) -> None:
    """Before any `grants verify`, every link; after it, the links since its head, with
    when it ran and who ran it, and what that leaves to the next `grants verify`."""
    recent: Recent = client.app.state.recent  # type: ignore[attr-defined]
    assert sign_in(client, OFFICER) == 303
    page = client.get(YEAR_PAGE).text
    assert "The record: walked whole, all " in page
    verified = web_ledger("verify", "--json")
    assert verified.exit_code == 0
    count = json.loads(verified.output)["head"]["count"]
    assert web_ledger("pay", "CSF", "2017-18", "CHERWELL", "1,234.56").exit_code == 0
    recent.fresh = 0  # walk again now
    page = client.get(YEAR_PAGE).text
    said = f"The record: whole up to link {count:,}, as a walk of every link found it on "
    assert said in page
    assert "`" not in page  # commands are shown as code, not in backticks
    assert "UTC (officer); the 1 link since was checked now." in page
    assert "A row changed before that link since then is found by the next" in page
