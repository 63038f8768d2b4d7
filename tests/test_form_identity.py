"""Forms that cannot be forged: a form's identity is a MAC with the ledger's own key, over
its identity and its locked display cells as issued. Another ledger holding the same books
cannot make a form this one accepts; an edited identity or display cell is refused, naming
the cell; an export keeps issued forms valid only with its key; the key is never written
into a form or the books."""

from __future__ import annotations

import base64
import dataclasses
import json
import stat
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select

from grants.db.engine import make_session_factory
from grants.db.models import FormIssue, FormKey, ReturnFiling
from grants.services import form_identity
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plan_forms import CALENDAR
from tests.test_plan_forms import FORM as PLAN_FORM
from tests.test_plan_forms import fill as fill_plan
from tests.test_plans import FUND, PLAN
from tests.test_returns import CHERWELL, fill

NOT_ISSUED = (
    "Return!B3: this form was not issued by this ledger, or its identity was altered: use the "
    "form as issued, or ask for a new form"
)


def issue_returns(grants: Grants, folder: Path, tmp_path: Path) -> Path:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    result = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "-o", str(folder))  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / CHERWELL


def other_ledger(tmp_path: Path) -> Grants:
    other = Grants(f"sqlite:///{tmp_path / 'other.db'}")
    assert other("db", "upgrade").exit_code == 0
    return other


def filings(engine: Engine) -> int:
    """How many returns the ledger holds (read as it stands, holding no lock)."""
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        return len(reading.scalars(select(ReturnFiling.id)).all())


def identity(form: Path, sheet: str = "Return") -> str:
    return str(openpyxl.load_workbook(form)[sheet]["B3"].value)


def test_a_form_of_another_ledger_with_the_same_books_is_refused(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    ours = issue_returns(grants, tmp_path / "ours", tmp_path)
    theirs = issue_returns(other_ledger(tmp_path), tmp_path / "theirs", tmp_path)
    # The same books give the same form, but for its key.
    assert identity(ours).split("|")[:-1] == identity(theirs).split("|")[:-1]
    assert identity(ours) != identity(theirs)
    result = grants("returns", "import", str(fill(theirs, tmp_path / "theirs.xlsx")))
    assert result.exit_code == 1
    assert f"theirs.xlsx:{NOT_ISSUED}" in result.output
    assert filings(engine) == 0
    result = grants("returns", "import", str(fill(ours, tmp_path / "ours.xlsx")))
    assert result.exit_code == 0, result.output
    audit = grants("users", "audit").output
    assert "refused import: theirs.xlsx" in audit and "filed import: mid-year return CSF" in audit


@pytest.mark.parametrize(
    ("field", "to"),
    [(1, "LGF"), (2, "2018-19"), (3, "ROAD"), (4, "end-year"), (5, "000000000000"),
     (6, "PCC"), (7, "2017-09-02"), (8, "-".join(["0" * 16] * 4))],
)  # fmt: skip
def test_a_form_whose_identity_was_edited_is_refused(
    grants: Grants, tmp_path: Path, engine: Engine, field: int, to: str
) -> None:
    form = issue_returns(grants, tmp_path / "forms", tmp_path)
    parts = identity(form).split("|")
    assert parts[field] != to
    parts[field] = to
    forged = fill(form, tmp_path / "f.xlsx", B3="|".join(parts))
    result = grants("returns", "import", str(forged))
    assert result.exit_code == 1
    assert f"f.xlsx:{NOT_ISSUED}" in result.output
    assert filings(engine) == 0


@pytest.mark.parametrize(
    "respell",
    [lambda p: [*p[:2], p[2].replace("-", "/"), *p[3:]],  # the year as 2017/18
     lambda p: [*p[:7], p[7].replace("-", ""), *p[8:]],  # the issue date as 20170901
     lambda p: [*p[:8], p[8].replace("-", "")],  # the MAC without its hyphens
     lambda p: [*p[:8], p[8].upper()]],  # the MAC in capitals
)  # fmt: skip
def test_an_identity_spelt_otherwise_is_refused(
    grants: Grants, tmp_path: Path, engine: Engine, respell: Any
) -> None:
    form = issue_returns(grants, tmp_path / "forms", tmp_path)
    parts = identity(form).split("|")
    forged = fill(form, tmp_path / "f.xlsx", B3="|".join(respell(parts)))
    assert identity(forged) != identity(form)
    result = grants("returns", "import", str(forged))
    assert result.exit_code == 1
    assert f"f.xlsx:{NOT_ISSUED}" in result.output
    assert filings(engine) == 0


def test_a_form_never_issued_is_refused_even_with_the_key(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    # Whoever holds the key (a stolen backup, say) still cannot make a form the ledger never
    # issued: there is no record of it, so there are no display cells as issued to hold to.
    form = issue_returns(grants, tmp_path / "forms", tmp_path)
    found = form_identity.parse("return", identity(form))
    assert found is not None
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        key = bytes.fromhex(reading.scalars(select(FormKey.secret)).one())
    made = dataclasses.replace(found[0], issued_on=date(2017, 10, 1))
    forged = fill(form, tmp_path / "f.xlsx", B3=made.text(form_identity.mac(key, made, {})),
                  B4="Anything at all", B8=1)  # fmt: skip
    result = grants("returns", "import", str(forged))
    assert result.exit_code == 1
    assert f"f.xlsx:{NOT_ISSUED}" in result.output
    assert filings(engine) == 0


@pytest.mark.parametrize(
    ("cell", "to", "was"),
    [("B4", "Oxford City", "'Cherwell'"),
     ("B5", "CSF DA: Domestic abuse", "'CSF CHERWELL: Cherwell'"),
     ("B6", "2018-19", "'2017-18'"),
     ("B7", "end-year", "'mid-year: spend from 1 April 2017 to 30 September 2017; due 31 "
                        "October 2017'"),
     ("B8", 99999, "58542")],
)  # fmt: skip
def test_a_changed_display_cell_is_refused_naming_it(
    grants: Grants, tmp_path: Path, engine: Engine, cell: str, to: object, was: str
) -> None:
    form = issue_returns(grants, tmp_path / "forms", tmp_path)
    result = grants("returns", "import", str(fill(form, tmp_path / "f.xlsx", **{cell: to})))
    assert result.exit_code == 1
    shown = repr(to) if isinstance(to, str) else str(to)
    assert (
        f"f.xlsx:Return!{cell}: this cell shows {shown} but the form was issued for {was}: "
        "this cell is the council's and locked"
    ) in result.output
    assert filings(engine) == 0
    assert "refused import: f.xlsx" in grants("users", "audit").output


def test_a_display_amount_as_issued_is_accepted_however_saved(
    grants: Grants, tmp_path: Path
) -> None:
    form = issue_returns(grants, tmp_path / "forms", tmp_path)
    result = grants("returns", "import", str(fill(form, tmp_path / "f.xlsx", B8=58542.0)))
    assert result.exit_code == 0, result.output


def issue_plans(grants: Grants, folder: Path, tmp_path: Path) -> Path:
    assert grants("ledger", "load", str(books(tmp_path, FUND + CALENDAR))).exit_code == 0
    result = grants("plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o", str(folder))
    assert result.exit_code == 0, result.output
    return folder / PLAN_FORM


def test_plan_forms_cannot_be_forged_either(grants: Grants, tmp_path: Path) -> None:
    ours = issue_plans(grants, tmp_path / "ours", tmp_path)
    theirs = issue_plans(other_ledger(tmp_path), tmp_path / "theirs", tmp_path)
    result = grants("plan", "import", str(fill_plan(theirs, tmp_path / "theirs.xlsx")))
    assert result.exit_code == 1
    assert "theirs.xlsx:Plan!B3: this form was not issued by this ledger" in result.output
    parts = identity(ours, "Plan").split("|")
    parts[4] = "0" * 12  # the fingerprint
    result = grants("plan", "import", str(fill_plan(ours, tmp_path / "f.xlsx", B3="|".join(parts))))
    assert result.exit_code == 1
    assert "f.xlsx:Plan!B3: this form was not issued by this ledger" in result.output
    result = grants("plan", "import", str(fill_plan(ours, tmp_path / "g.xlsx", B8=1)))
    assert result.exit_code == 1
    assert (
        "g.xlsx:Plan!B8: this cell shows 1 but the form was issued for 58542: this cell is "
        "the council's and locked"
    ) in result.output
    result = grants("plan", "import", str(fill_plan(ours, tmp_path / "ours.xlsx")))
    assert result.exit_code == 0, result.output


def test_issuing_records_each_form_once_a_day(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    form = issue_returns(grants, tmp_path / "forms", tmp_path)
    again = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                   "mid-year", "-o", str(tmp_path / "again"))  # fmt: skip
    assert again.exit_code == 0
    assert identity(tmp_path / "again" / CHERWELL) == identity(form)
    with make_session_factory(engine, read_only=True)() as reading, reading.begin():
        issued = reading.scalars(select(FormIssue)).all()
    assert [(f.kind, f.stage, f.mac) for f in issued] == [
        ("return", "mid-year", identity(form).split("|")[-1].replace("-", ""))
    ]
    assert json.loads(issued[0].display)["Return!B4"] == "Cherwell"


def test_a_viewer_cannot_issue_forms(grants: Grants, tmp_path: Path, db_url: str) -> None:
    from tests.conftest import add_person

    add_person(db_url, "vic", ["viewer"])
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    result = grants.as_user("vic")("returns", "issue", "--stream", "CSF", "--year", "2017-18",
                                   "--stage", "mid-year", "-o", str(tmp_path / "f"))  # fmt: skip
    assert result.exit_code == 1
    assert not (tmp_path / "f").exists()


def key_of(engine: Engine) -> str:
    with engine.connect() as connection:
        found = connection.scalar(select(FormKey.secret).order_by(FormKey.id.desc()))
    assert found is not None and len(found) == 64
    return found


def spellings(key: str) -> list[bytes]:
    raw = bytes.fromhex(key)
    return [key.encode(), key.upper().encode(), base64.b64encode(raw),
            base64.urlsafe_b64encode(raw).rstrip(b"="), raw]  # fmt: skip


def test_export_with_its_key_keeps_issued_forms_valid_and_without_it_refuses_them(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    form = fill(issue_returns(grants, tmp_path / "forms", tmp_path), tmp_path / "f.xlsx")
    key = key_of(engine)
    keyed, keyless = tmp_path / "keyed", tmp_path / "keyless"
    assert grants("ledger", "export", "-o", str(keyed)).exit_code == 0
    assert grants("ledger", "export", "-o", str(keyless), "--without-form-key").exit_code == 0
    key_file = keyed / "form-key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (keyless / "form-key").exists()
    for folder in (keyed, keyless):
        for path in folder.rglob("*"):
            if path.is_file() and path.name != "form-key":
                assert not any(s in path.read_bytes() for s in spellings(key)), path
    restored = {}
    for name, folder in (("keyed", keyed), ("keyless", keyless)):
        other = Grants(f"sqlite:///{tmp_path / f'{name}.db'}")
        assert other("db", "upgrade", "--for-restore").exit_code == 0
        loaded = other("ledger", "load", str(folder / "main.grants"))
        assert loaded.exit_code == 0, loaded.output
        assert ("has no form-key" in loaded.output) == (name == "keyless")
        restored[name] = other
    assert restored["keyed"]("verify").exit_code == 0
    result = restored["keyed"]("returns", "import", str(form))
    assert result.exit_code == 0, result.output
    result = restored["keyless"]("returns", "import", str(form))
    assert result.exit_code == 1
    assert (
        "f.xlsx:Return!B3: this form was issued by another ledger, or before this ledger was "
        "restored: ask for a new form"
    ) in result.output


def test_the_key_is_in_no_workbook_the_ledger_writes(
    grants: Grants, tmp_path: Path, engine: Engine
) -> None:
    issue_plans(grants, tmp_path / "plans", tmp_path)  # the plan not yet agreed
    assert grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                  "mid-year", "-o", str(tmp_path / "forms")).exit_code == 0  # fmt: skip
    assert grants("report", "all", "-o", str(tmp_path / "reports")).exit_code == 0
    key = key_of(engine)
    workbooks = list(tmp_path.rglob("*.xlsx"))
    assert len(workbooks) >= 3
    for path in workbooks:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                assert not any(s in data for s in spellings(key)), (path, name)
    printed = grants("ledger", "export")
    assert printed.exit_code == 0 and key not in printed.output


def test_verify_needs_the_form_key(grants: Grants, db_url: str) -> None:
    assert grants("verify").exit_code == 0
    from grants.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE form_key")
            connection.exec_driver_sql(
                "CREATE TABLE form_key (id INTEGER PRIMARY KEY, secret VARCHAR(64), "
                "recorded_at TIMESTAMP)"
            )
    finally:
        engine.dispose()
    result = grants("verify", "--json")
    assert result.exit_code == 1
    found = [(p["check"], p["message"]) for p in json.loads(result.output)["problems"]]
    assert ("form key", "holds no key: forms cannot be issued or accepted; `grants db upgrade` "
            "makes one") in found  # fmt: skip


def test_the_key_cannot_be_changed_or_removed(db_url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    from grants.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        for sql in (f"UPDATE form_key SET secret = '{'0' * 64}'", "DELETE FROM form_key"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.exec_driver_sql(sql)
        key_of(engine)
    finally:
        engine.dispose()
