"""A password in the database URL (``user:secret@`` or ``?password=secret``) never leaves the
program: not in a workbook or form (any part of the file), not in the books export, not in a
message. Workbooks name the ledger and the day they were generated instead."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.engine import make_url

from grants.db.engine import shown_url, url_secrets
from grants.formatting import long_day
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plans import FUND

SECRET = "Secr3tPw"

CALENDAR = """\
2017-04-01 due CSF 2017-18 mid-year 2017-10-31
  to: 2017-09-30
2017-06-20 plan CSF 2017-18 CHERWELL "Three IDVA posts"
  cost: 40,000
"""


def with_password(url: str, where: str) -> str:
    if where == "query":
        return f"{url}?password={SECRET}&sslpassword={SECRET}"
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{SECRET}@{host}"


def parts(path: Path) -> dict[str, bytes]:
    """Every part of a file: each member of a workbook's zip, or the file itself."""
    if path.suffix != ".xlsx":
        return {path.name: path.read_bytes()}
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.parametrize("where", ["userinfo", "query"])
@pytest.mark.filterwarnings("ignore:Query string argument")  # pysqlite ignores ?password=
def test_no_password_in_any_file_written_or_line_printed(
    db_url: str, tmp_path: Path, where: str
) -> None:
    if where == "userinfo" and db_url.startswith("sqlite"):
        pytest.skip("a SQLite URL has no user or password (refused: see below)")
    g = Grants(with_password(db_url, where))
    database = str(make_url(db_url).database)
    printed = [g("db", "upgrade").output]
    assert printed[0] == f"database {shown_url(db_url)} is up to date\n"
    assert g("ledger", "load", str(books(tmp_path, FUND + CALENDAR))).exit_code == 0
    out = tmp_path / "out"
    for args in (
        ["report", "all", "-o", str(out / "reports")],
        ["returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage", "mid-year",
         "-o", str(out / "returns")],
        ["plan", "issue", "--stream", "CSF", "--year", "2017-18", "-o", str(out / "plans")],
        ["reconcile", "--as-of", "2017-11-30", "-o", str(out / "reconcile.xlsx")],
        ["ledger", "export", "-o", str(out / "books")],
        ["ledger", "export"],
        ["journal", "--json"],
    ):  # fmt: skip
        result = g(*args)
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
        printed.append(result.output)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len([p for p in files if p.suffix == ".xlsx"]) == 4 + 1 + 1 + 1
    for path in files:
        for name, data in parts(path).items():
            assert SECRET.encode() not in data, (path.name, name)
            assert database.encode() not in data, (path.name, name)
    for text in printed:
        assert SECRET not in text
    form = openpyxl.load_workbook(out / "returns" / "csf-2017-18-mid-year-cherwell.xlsx")
    assert form["Return"].oddFooter.left.text == (f"Grants ledger: issued {long_day(date.today())}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"postgresql://postgres:{SECRET}@127.0.0.1:1/grants",
            "Error: cannot open the database postgresql://postgres@127.0.0.1:1/grants: connection "
            'failed: connection to server at "127.0.0.1", port 1 failed: Connection refused Is the '
            "server running on that host and accepting TCP/IP connections?; check --database or "
            "GRANTS_DATABASE_URL\n",
        ),
        (
            f"postgresql://postgres@127.0.0.1:1/grants?password={SECRET}&sslkey=/k/{SECRET}",
            "Error: cannot open the database postgresql://postgres@127.0.0.1:1/grants: connection",
        ),
        (
            f"postgresql://postgres:{SECRET}@127.0.0.1:port/grants?password={SECRET}",
            "Error: 'postgresql://postgres@127.0.0.1:port/grants' is not a database URL; use "
            "sqlite:///path/to/grants.db or postgresql://user@host/dbname\n",
        ),
        (
            f"postgresql://postgres:{SECRET}@x@127.0.0.1/grants",
            "Error: the database URL 'postgresql://postgres@127.0.0.1/grants' has an '@' in its "
            "password or host: write an '@' in a password as %40\n",
        ),
        (
            f"sqlite://user:{SECRET}@//tmp/grants.db?password={SECRET}",
            "Error: 'sqlite://user@//tmp/grants.db': a SQLite database is a file, with no user, "
            "password or host; write sqlite:///path/to/grants.db\n",
        ),
        (
            f"mysql://user:{SECRET}@host/db?password={SECRET}",
            "Error: 'mysql' databases are not supported; use SQLite or PostgreSQL\n",
        ),
        (
            f"user:{SECRET}@host/db?password={SECRET}",
            "Error: 'user@host/db' is not a database URL; use sqlite:///path/to/grants.db or "
            "postgresql://user@host/dbname\n",
        ),
    ],
)
def test_no_password_in_any_message(url: str, message: str) -> None:
    for args in (["balance"], ["db", "upgrade"]):
        result = Grants(url)(*args)
        assert result.exit_code == 1
        assert result.output.startswith(message)
        assert SECRET not in result.output


def test_one_function_shows_an_address_and_another_lists_its_secrets() -> None:
    url = f"postgresql://u:{SECRET}@db.example:5433/grants?sslmode=require&sslkey=/k/u.key"
    assert shown_url(url) == "postgresql://u@db.example:5433/grants"
    assert url_secrets(url) == ["%2Fk%2Fu.key", "/k/u.key", SECRET]
    assert shown_url("sqlite:////var/grants.db") == "sqlite:////var/grants.db"
    assert url_secrets("sqlite:////var/grants.db") == []
    assert url_secrets("postgresql://u:abc@h/db") == []  # too short to hide in a message
