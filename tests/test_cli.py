"""The command line, as a finance officer uses it: exact output and exit codes."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from grants.cli.main import cli
from tests.conftest import Grants

PCC_2017_18 = """\
stream / line        awarded       stated    allocated  unallocated   paid  reported
---------------  -----------  -----------  -----------  -----------  -----  --------
PCC-CSF 2017-18  £700,932.00  £700,932.00  £693,923.00    £7,009.00  £0.00     £0.00
  PH                                        £50,656.00               £0.00     £0.00
  YOS                                      £226,913.00               £0.00     £0.00
  CSP                                      £319,899.00        £0.00  £0.00     £0.00
    CHERWELL                                £58,542.00               £0.00     £0.00
    OXFORD                                 £110,685.00               £0.00     £0.00
    SOUTH-VALE                             £106,846.00               £0.00     £0.00
    WEST-OXON                               £43,826.00               £0.00     £0.00
  DA                                        £94,374.00               £0.00     £0.00
  SIA                                        £2,081.00               £0.00     £0.00

PCC-CSF 2017-18: stated £700,932.00, allocated £693,923.00: difference £7,009.00
"""


def all_commands() -> list[list[str]]:
    found: list[list[str]] = [[]]

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            found.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(cli, [])
    return found


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(c) or "grants")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"], prog_name="grants")
    assert result.exit_code == 0
    assert "Usage: grants" in result.output
    assert len(result.output.splitlines()) > 3


def test_balance_of_the_pcc_fund_2017_18(oxfordshire: Grants) -> None:
    result = oxfordshire("balance", "--stream", "PCC-CSF", "--year", "2017-18")
    assert result.exit_code == 0
    assert result.output == PCC_2017_18


def test_balance_json_amounts_are_strings(oxfordshire: Grants) -> None:
    result = oxfordshire("balance", "--stream", "PCC-CSF", "--year", "2017-18", "--json")
    rows = json.loads(result.output)
    assert rows[0] == {
        "stream": "PCC-CSF",
        "year": "2017-18",
        "line": None,
        "name": None,
        "parent": None,
        "awarded": "700932.00",
        "stated": "700932.00",
        "allocated": "693923.00",
        "unallocated": "7009.00",
        "paid": "0.00",
        "reported": "0.00",
        # Committed, and money in: the stream's; carried and brought forward are a line's.
        "committed": "0.00",
        "carried": None,
        "brought": None,
        "claimed": "0.00",
        "received": "0.00",
    }
    assert [r["line"] for r in rows[1:]] == [
        "PH", "YOS", "CSP", "CHERWELL", "OXFORD", "SOUTH-VALE", "WEST-OXON", "DA", "SIA",
    ]  # fmt: skip


def test_allocations_json(oxfordshire: Grants) -> None:
    result = oxfordshire("allocations", "--stream", "PCC-CSF", "--year", "2017-18", "--json")
    rows = json.loads(result.output)
    cherwell = next(r for r in rows if r["line"] == "CHERWELL")
    assert cherwell == {
        "line": "CHERWELL",
        "name": "Cherwell",
        "recipient": cherwell["recipient"],
        "year": "2017-18",
        "amount": "58542.00",
        "share": "18.3%",
        "parent": "CSP",
    }
    assert cherwell["recipient"]
    assert sum(float(r["amount"]) for r in rows if r["parent"] is None) == 693923


def test_officer_writes_award_allocate_pay_reverse(oxfordshire: Grants) -> None:
    g = oxfordshire
    result = g("pay", "PCC-CSF", "2017-18", "PH", "25,000", "--date", "2017-06-30", "--json")
    assert result.exit_code == 0, result.output
    pay = json.loads(result.output)
    assert (pay["kind"], pay["amount"], pay["actor"]) == ("pay", "25000.00", "officer")
    result = g(
        "allocate",
        "PCC-CSF",
        "2017-18",
        "TOPUP",
        "7,009",
        "--name",
        "Top-up",
        "--reason",
        "unallocated",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("recorded entry ")
    result = g("reverse", str(pay["entry"]), "--reason", "paid against the wrong line")
    assert result.exit_code == 0, result.output
    rows = json.loads(g("balance", "--stream", "PCC-CSF", "--year", "2017-18", "--json").output)
    assert (rows[0]["allocated"], rows[0]["unallocated"], rows[0]["paid"]) == (
        "700932.00",
        "0.00",
        "0.00",
    )
    result = g("award", "PCC-CSF", "2018-19", "650,000", "--stated", "660,000")
    assert result.exit_code == 0, result.output
    rows = json.loads(g("balance", "--stream", "PCC-CSF", "--year", "2018-19", "--json").output)
    assert (rows[0]["awarded"], rows[0]["stated"]) == ("650000.00", "660000.00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["pay", "PCC-CSF", "2017-18", "PH", "-5"],
            "Error: pay: the amount must be more than zero, not -£5.00",
        ),
        (["pay", "PCC-CSF", "2017-18", "PH", "1.005"], "Error: '1.005' has fractions of a penny"),
        (["pay", "PCC-CSF", "2017-18", "PH", "£1,00"], "Error: '£1,00' is not an amount of money"),
        (
            ["pay", "PCC-CSF", "2017-18", "PH", "50,656.01"],
            "Error: pay of £50,656.01 to PCC-CSF 2017-18 PH would take what is left to pay of the "
            "allocation to PH (PCC-CSF 2017-18) below zero, short by £0.01\n",
        ),
        (
            ["allocate", "PCC-CSF", "2017-18", "SIA", "7,009.01"],
            "Error: allocate of £7,009.01 to PCC-CSF 2017-18 SIA would take the unallocated award of "
            "PCC-CSF 2017-18 below zero, short by £0.01; if this over-allocation is intended",
        ),
        (
            ["allocate", "PCC-CSF", "2017-18", "CHERWELL", "1"],
            "Error: allocate of £1.00 to PCC-CSF 2017-18 CHERWELL would take what is left of the "
            "allocation to CSP (PCC-CSF 2017-18) below zero, short by £1.00",
        ),
        (["award", "NOPE", "2017-18", "1"], "Error: there is no funding stream 'NOPE'"),
        (["award", "PCC-CSF", "2017", "1"], "Error: '2017' is not a financial year"),
        (["pay", "PCC-CSF", "2017-18", "XX", "1"], "Error: PCC-CSF has no line 'XX'"),
        (["reverse", "99999", "--reason", "x"], "Error: there is no journal entry '99999'"),
        (["balance", "--stream", "NOPE"], "Error: there is no funding stream 'NOPE'"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    oxfordshire: Grants, args: list[str], message: str
) -> None:
    before = oxfordshire("journal", "--json").output
    result = oxfordshire(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert oxfordshire("journal", "--json").output == before


def test_over_allocation_when_intended_is_recorded_and_shown(oxfordshire: Grants) -> None:
    result = oxfordshire("allocate", "PCC-CSF", "2017-18", "SIA", "8,009", "--over-allocate")
    assert result.exit_code == 0
    assert "warning: allocate of £8,009.00 to PCC-CSF 2017-18 SIA over-allocates" in result.output
    out = oxfordshire("balance", "--stream", "PCC-CSF", "--year", "2017-18").output
    assert "PCC-CSF 2017-18: over-allocated by £1,000.00" in out


def test_commands_need_an_upgraded_database(tmp_path) -> None:
    path = tmp_path / "new.db"
    g = Grants(f"sqlite:///{path}")
    result = g("balance")
    assert result.exit_code == 1
    assert (
        f"there is no database at {path}: check --database, or run `grants db upgrade`"
        in result.output
    )
    assert not path.exists()  # a mistyped path does not leave an empty database behind
    path.touch()
    result = g("balance")
    assert "has no ledger yet: run `grants db upgrade` first" in result.output
    assert g("db", "upgrade").exit_code == 0
    assert g("balance").output == "nothing recorded yet\n"


def test_unsupported_database_url(tmp_path) -> None:
    result = Grants("mysql://x/y")("balance")
    assert result.exit_code == 1
    assert result.output == "Error: 'mysql' databases are not supported; use SQLite or PostgreSQL\n"


def test_ledger_check_of_the_oxfordshire_books(grants: Grants) -> None:
    from tests.conftest import BOOKS

    result = grants("ledger", "check", str(BOOKS), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["errors"] == []
    kinds = {w["severity"] for w in report["warnings"]}
    assert kinds <= {"warning", "discrepancy"}


def test_programme_versions_compared(oxfordshire: Grants) -> None:
    result = oxfordshire(
        "programme", "--stream", "CAPITAL", "--table", "grants", "--compare", "current:proposed"
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "CAPITAL grants, proposed compared with current (£'000)"
    basic_need = next(line for line in lines if line.startswith("Basic Need"))
    assert basic_need.split()[-2:] == ["35,984", "14,000"]
    assert lines[-2].split()[-2:] == ["263,541", "153,187"]
    assert lines[-1].split()[1:5] == ["37", "750", "-3,000", "-561"]
    data = json.loads(
        oxfordshire(
            "programme",
            "--stream",
            "CAPITAL",
            "--table",
            "annual",
            "--compare",
            "current:proposed",
            "--json",
        ).output
    )
    assert data["difference"]["2021/22"] == "17587000.00"
    assert sum(float(x["change"]) for x in data["lines"]) == 117359000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare", "current"], "write two versions as BASE:OTHER"),
        (
            ["--compare", "current:revised"],
            "CAPITAL has no programme version 'revised' (versions: current, proposed)",
        ),
        (
            ["--table", "nope"],
            "version proposed of CAPITAL has no table 'nope' (tables: annual, grants)",
        ),
        # No table is assumed by its name: with several, the command lists them.
        ([], "name the programme table with --table: CAPITAL has the tables grants, annual"),
    ],
)
def test_programme_bad_input(oxfordshire: Grants, args: list[str], message: str) -> None:
    result = oxfordshire("programme", "--stream", "CAPITAL", *args)
    assert result.exit_code == 1
    assert message in result.output
