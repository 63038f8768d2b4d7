"""A recipient takes its own line's form (issued to it, as an officer issues forms), never
another organisation's; and the ledger's derived secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from grants.db.engine import make_engine, make_session_factory
from grants.db.models import FormIssue
from grants.errors import GrantsError, Refused
from grants.excel import plan_form, return_form
from grants.periods import FinancialYear
from grants.services import access, form_identity, people
from grants.services.plan_forms import issue_own_plan_form
from grants.services.returns import issue_own_form
from tests.conftest import Grants, add_person
from tests.helpers import books
from tests.test_access import BOOKS

FY = FinancialYear(2017)


@pytest.fixture
def url(grants: Grants, tmp_path: Path) -> str:
    assert grants("ledger", "load", str(books(tmp_path, BOOKS))).exit_code == 0
    add_person(grants.url, "cher", ["recipient"], organisations=["CHER-CSP"])
    add_person(grants.url, "vic", ["viewer"])
    return grants.url


def as_person(url: str, login: str, work):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            access.bind(session, people.actor_for(session, login, None))
            return work(session)
    finally:
        engine.dispose()


def issued(url: str) -> list[tuple[str, str, int | None]]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine, read_only=True)() as session:
            rows = session.execute(select(FormIssue.actor, FormIssue.stage, FormIssue.line_id))
            return [(a, s, line) for a, s, line in rows]
    finally:
        engine.dispose()


def test_a_recipient_takes_its_own_lines_return_form(url: str) -> None:
    form = as_person(url, "cher", lambda s: issue_own_form(
        s, "CSF", FY, "mid-year", "CHERWELL", return_form.display_cells))  # fmt: skip
    assert form.line == "CHERWELL" and form.identity
    assert [(a, s) for a, s, _ in issued(url)] == [("cher", "mid-year")]


def test_a_recipient_is_refused_another_organisations_form(url: str) -> None:
    with pytest.raises(Refused, match="not for DA-ORG"):
        as_person(url, "cher", lambda s: issue_own_form(
            s, "CSF", FY, "mid-year", "DA", return_form.display_cells))  # fmt: skip
    with pytest.raises(Refused, match="not for DA-ORG"):
        as_person(url, "cher", lambda s: issue_own_plan_form(
            s, "CSF", FY, "DA", plan_form.display_cells))  # fmt: skip
    with pytest.raises(Refused):
        as_person(url, "vic", lambda s: issue_own_form(
            s, "CSF", FY, "mid-year", "CHERWELL", return_form.display_cells))  # fmt: skip
    assert issued(url) == []


def test_an_officer_takes_any_lines_form_and_an_agreed_plan_has_none(url: str) -> None:
    form = as_person(url, "officer", lambda s: issue_own_form(
        s, "CSF", FY, "mid-year", "DA", return_form.display_cells))  # fmt: skip
    assert form.line == "DA"
    assert [(a, s) for a, s, _ in issued(url)] == [("officer", "mid-year")]
    with pytest.raises(GrantsError, match="agreed on 30 June 2017"):
        as_person(url, "cher", lambda s: issue_own_plan_form(
            s, "CSF", FY, "CHERWELL", plan_form.display_cells))  # fmt: skip


def test_a_derived_secret_is_the_ledgers_own_and_one_per_purpose(url: str) -> None:
    def secrets(session):  # type: ignore[no-untyped-def]
        return (form_identity.derived_secret(session, "web session"),
                form_identity.derived_secret(session, "web session"),
                form_identity.derived_secret(session, "another"),
                form_identity.key_text(session))  # fmt: skip

    one, again, other, key = as_person(url, "officer", secrets)
    assert one == again and len(one) == 64
    assert other != one and key not in (one, other)
