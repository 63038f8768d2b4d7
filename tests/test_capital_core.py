"""The capital programme read through SQLAlchemy Core (grants.services.capital_core): as it
stands, for the operating-system login who sees every line, `grants report
capital-programme` reads the programme without a session; its workbook is the one a session
reads, part for part (every file in the zip but docProps/core.xml, the time of writing), on
SQLite and PostgreSQL. A person signed in with a password, a day given with --as-of, or a
stream with published figures is read through a session."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grants.config import os_login
from grants.services import capital_core
from tests.conftest import Grants, add_person
from tests.test_other_council import BOOKS


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {n: book.read(n) for n in book.namelist() if n != "docProps/core.xml"}


@pytest.fixture
def council(grants: Grants) -> Grants:
    result = grants("ledger", "load", str(BOOKS))
    assert result.exit_code == 0, result.output
    return grants


def _as_login(ledger: Grants) -> Grants:
    """The same ledger as the operating-system login (an officer) runs it: no password."""
    add_person(ledger.url, os_login(), ["officer"])
    login = Grants(ledger.url)
    login.env = {"GRANTS_USER": None, "GRANTS_PASSWORD": None, "GRANTS_ACTOR": None}
    return login


def _core_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call read the programme through Core (False: it left it to a session)."""
    calls: list[bool] = []
    read = capital_core.core_programme

    def counted(*args: object, **kwargs: object) -> object:
        found = read(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(found is not None)
        return found

    monkeypatch.setattr(capital_core, "core_programme", counted)
    return calls


@pytest.mark.parametrize("span", [[], ["--from", "2022-23", "--to", "2023-24"]])
def test_the_programme_read_through_core_is_the_sessions_part_for_part(
    council: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, span: list[str]
) -> None:
    through_session = tmp_path / "session.xlsx"
    result = council("report", "capital-programme", *span, "-o", str(through_session))
    assert result.exit_code == 0, result.output
    calls = _core_reads(monkeypatch)
    through_core = tmp_path / "core.xlsx"
    result = _as_login(council)("report", "capital-programme", *span, "-o", str(through_core))
    assert result.exit_code == 0, result.output
    assert calls == [True]
    assert _parts(through_core) == _parts(through_session)


def test_as_of_a_day_and_published_figures_are_read_through_a_session(
    council: Grants, oxfordshire: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _core_reads(monkeypatch)
    login = _as_login(oxfordshire)  # the Oxfordshire capital stream has published figures
    out = tmp_path / "oxfordshire.xlsx"
    result = login("report", "capital-programme", "--stream", "CAPITAL", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert calls == [False] and out.stat().st_size > 0
    dated = login("report", "capital-programme", "--stream", "NCC-CAP", "--as-of", "2022-06-30",
                  "-o", str(tmp_path / "dated.xlsx"))  # fmt: skip
    assert dated.exit_code == 0, dated.output
    assert calls == [False]  # as of a day: not asked of Core at all


def test_a_stream_core_cannot_answer_gets_the_sessions_answer(council: Grants) -> None:
    login = _as_login(council)
    for args, says in (
        (["--stream", "nope"], "there is no funding stream 'NOPE'"),
        (["--compare", "current"], "write BASE:OTHER"),
        (["--from", "2026-27", "--to", "2021-22"], ""),
    ):
        result = login("report", "capital-programme", *args, "-o", "never.xlsx")
        assert result.exit_code != 0
        assert says in result.output
        assert not Path("never.xlsx").exists()
