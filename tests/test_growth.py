"""Growth-fund projects: spend profiles, claims in arrears within the intervention rate,
payments only after claims, and outputs against the indicator catalogue; every refusal at
its books line (or the command's argument) with nothing written; the export round-trips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Grants
from tests.helpers import books

BOOKS = """\
2016-04-01 org EU "European Union"
  role: funder
2016-04-01 org LEP "The partnership"
  role: recipient
2016-04-01 stream ESIF "Structural funds"
  kind: esif
  funder: EU
  intervention: 50%
2016-04-01 line ESIF BIZ "Business support"
  kind: project
  recipient: LEP
2016-04-01 line ESIF POT "A pot, not a project"
2016-04-01 award ESIF 2017-18 1,000,000
2016-04-01 allocate ESIF 2017-18 BIZ 200,000
2016-04-01 match ESIF BIZ 200,000
  form: cash
2014-01-01 indicator C1 "Number of enterprises receiving support"
  fund: erdf
  unit: enterprises
  definition: "Number of enterprises that receive support in any form from ERDF"
  source: "Regulation (EU) No 1301/2013, Annex I, CO01"
2017-04-01 spend-profile ESIF BIZ 2017-18 q1 100,000
2017-04-01 spend-profile ESIF BIZ 2017-18 q2 100,000
2017-04-01 output-target ESIF BIZ C1 250
2017-07-20 project-claim ESIF BIZ 2017-18 q1
  eligible: 80,000.01
  grant: 40,000.00
  match: 40,000.01
  match-form: in-kind
  evidence: "Claim 1, defrayal ledger"
2017-07-20 output ESIF BIZ 2017-18 q1 C1 40
2017-08-01 pay ESIF 2017-18 BIZ 40,000
"""


@pytest.fixture
def ledger(grants: Grants, tmp_path: Path) -> Grants:
    loaded = grants("ledger", "load", str(books(tmp_path, BOOKS)))
    assert loaded.exit_code == 0, loaded.output
    return grants


def _projects(g: Grants, *args: str) -> list[dict[str, object]]:
    result = g("projects", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_project_shows_profile_claim_payment_slippage_match_and_outputs(ledger: Grants) -> None:
    [row] = _projects(ledger, "--stream", "esif")
    assert row["awarded"] == "200000.00"
    assert row["profiled"] == "200000.00"
    assert (row["eligible_claimed"], row["grant_claimed"], row["paid"]) == (
        "80000.01", "40000.00", "40000.00",
    )  # fmt: skip
    # Slippage: the claimed quarter's profile (100,000) less its eligible spend (80,000.01).
    assert row["slippage"] == "19999.99"
    assert (row["match_pledged"], row["match_spent"], row["match_in_kind"], row["match_cash"]) == (
        "200000.00", "40000.01", "40000.01", "0.00",
    )  # fmt: skip
    assert [(q["quarter"], q["profile"], q["eligible"]) for q in row["quarters"]] == [
        ("q1", "100000.00", "80000.01"), ("q2", "100000.00", None),
    ]  # fmt: skip
    assert row["outputs"] == [{"indicator": "C1", "name": "Number of enterprises receiving "
                               "support", "unit": "enterprises", "target": "250",
                               "actual": "40"}]  # fmt: skip
    # A line that is not a project is not listed; the table says the same as the JSON.
    table = ledger("projects").output
    assert "BIZ" in table and "POT" not in table and "£19,999.99" in table


def _refused(g: Grants, tmp_path: Path, extra: str) -> str:
    """Load BOOKS and ``extra`` into an empty ledger: refused, nothing written."""
    result = g("ledger", "load", str(books(tmp_path, BOOKS + extra, "bad.grants")))
    assert result.exit_code == 1, result.output
    assert json.loads(g("journal", "--json").output) == []
    assert _projects(g) == []
    return result.output


LINE = BOOKS.count("\n") + 1  # the first line of ``extra``


def test_a_claim_above_the_intervention_rate_is_refused_to_the_penny(
    grants: Grants, tmp_path: Path
) -> None:
    # 60,000.01 x 50% = 30,000.005, rounded down: 30,000.00 is the most, 30,000.01 too much.
    out = _refused(grants, tmp_path, "2017-10-20 project-claim ESIF BIZ 2017-18 q2\n"
                   "  eligible: 60,000.01\n  grant: 30,000.01\n")  # fmt: skip
    assert f"bad.grants:{LINE}: grant £30,000.01 is more than ESIF's intervention rate " in out
    assert "£60,000.01 x 50% = £30,000.00 (rounded down to the penny)" in out
    ok = grants("ledger", "load", str(books(tmp_path, BOOKS + (
        "2017-10-20 project-claim ESIF BIZ 2017-18 q2\n  eligible: 60,000.01\n"
        "  grant: 30,000.00\n"), "ok.grants")))  # fmt: skip
    assert ok.exit_code == 0, ok.output


def test_a_payment_ahead_of_the_claims_is_refused(grants: Grants, tmp_path: Path) -> None:
    out = _refused(grants, tmp_path, "2017-09-01 pay ESIF 2017-18 BIZ 0.01\n")
    assert (
        f"bad.grants:{LINE}: paying £0.01 to ESIF BIZ on 2017-09-01 would pay the project "
        "ahead of its claims: by 2017-09-01 its claims claim £40,000.00" in out
    )
    # A payment dated before the claim it would rest on is refused too.
    early = BOOKS.replace("2017-08-01 pay", "2017-07-19 pay")
    result = grants("ledger", "load", str(books(tmp_path, early, "early.grants")))
    assert result.exit_code == 1
    assert "claim £0.00 of grant" in result.output


def test_a_payment_dated_back_before_later_payments_is_held_to_the_claims(
    ledger: Grants,
) -> None:
    """Dated between the claim and the payment that used it up, a payment passes the day it
    is dated but would pay the project ahead of its claims from the later payment on."""
    refused = ledger("pay", "ESIF", "2017-18", "BIZ", "1", "--date", "25/07/2017")
    assert refused.exit_code == 1, refused.output
    assert "on 2017-07-25 would pay the project ahead of its claims: by 2017-08-01" in (
        refused.output
    )


def test_the_pay_command_is_held_to_the_claims(ledger: Grants) -> None:
    refused = ledger("pay", "ESIF", "2017-18", "BIZ", "1")
    assert refused.exit_code == 1
    assert "would pay the project ahead of its claims" in refused.output
    assert [e["kind"] for e in json.loads(ledger("journal", "--json").output)].count("pay") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("2017-06-30 project-claim ESIF BIZ 2017-18 q1\n  eligible: 1\n  grant: 0.50\n",
         "a claim for 2017-18 q1 is made in arrears, after the quarter ends on 2017-06-30: "
         "date it 2017-07-01 or later"),
        ("2017-10-20 output ESIF BIZ 2017-18 q2 C9 3\n",
         "indicator 'C9' is not in the catalogue"),
        ("2017-04-01 output-target ESIF BIZ JOBS 3\n",
         "indicator 'JOBS' is not in the catalogue"),
        ("2017-04-01 spend-profile ESIF POT 2017-18 q1 5\n",
         "ESIF POT is not a project"),
        ("2017-04-01 spend-profile ESIF BIZ 2017-18 q5 5\n", "'q5' is not a quarter"),
        ("2017-10-20 project-claim ESIF BIZ 2017-18 q2\n  eligible: 10\n  grant: 11\n",
         "grant £11.00 is more than the eligible expenditure £10.00"),
        ("2017-10-20 project-claim ESIF BIZ 2017-18 q2\n  eligible: 10\n  grant: 5\n"
         "  match: 5\n", "match spent needs `match-form:` cash or in-kind"),
        ("2017-10-21 project-claim ESIF BIZ 2017-18 q1\n  eligible: 10\n  grant: 5\n",
         "has already claimed for 2017-18 q1"),
        ("2017-10-20 output ESIF BIZ 2017-18 q2 C1 1.234\n", "'1.234' is not an output figure"),
        ("2017-10-20 output ESIF BIZ 2017-18 q2 C1 1e400\n", "'1e400' is not an output figure"),
        ("2017-10-20 output ESIF BIZ 2017-18 q2 C1 1_000\n", "'1_000' is not an output figure"),
        ("2017-10-20 output ESIF BIZ 2017-18 q2 C1 ,,3,,\n", "',,3,,' is not an output figure"),
        ("2017-10-20 output ESIF BIZ 2017-18 q2 C1 \u0663\n", "is not an output figure"),
        ("2017-10-20 output-target ESIF BIZ C1 99999999999999999999999999999\n",
         "is not an output figure"),
    ],
)  # fmt: skip
def test_bad_growth_lines_are_refused_at_their_line(
    grants: Grants, tmp_path: Path, extra: str, message: str
) -> None:
    out = _refused(grants, tmp_path, extra)
    # At the directive's line, or at the metadata line that is wrong.
    where = re.search(r"bad\.grants:(\d+): ", out)
    assert where is not None and LINE <= int(where[1]) < LINE + extra.count("\n"), out
    assert message in out


def test_a_later_definition_supersedes_and_both_are_kept(ledger: Grants, tmp_path: Path) -> None:
    later = ('2018-01-01 indicator C1 "Number of enterprises receiving support"\n'
             "  fund: erdf\n  unit: enterprises\n  definition: \"A revised definition\"\n")  # fmt: skip
    assert ledger("ledger", "load", str(books(tmp_path, later, "later.grants"))).exit_code == 0
    [c1] = json.loads(ledger("indicators", "--json").output)
    assert (c1["definition"], c1["since"], c1["versions"]) == ("A revised definition",
                                                              "2018-01-01", 2)  # fmt: skip


def test_the_export_round_trips_and_loads_again_as_nothing_new(
    ledger: Grants, tmp_path: Path
) -> None:
    again = ledger("ledger", "load", str(books(tmp_path, BOOKS)))
    assert "nothing new" in again.output
    first = tmp_path / "first"
    assert ledger("ledger", "export", "-o", str(first)).exit_code == 0
    text = (first / "ledger-0001.grants").read_text()
    assert "project-claim ESIF BIZ 2017-18 q1" in text and "match-form: in-kind" in text
    other = Grants(f"sqlite:///{tmp_path / 'restored.db'}")
    assert other("db", "upgrade", "--for-restore").exit_code == 0
    restored = other("ledger", "load", str(first / "main.grants"))
    assert restored.exit_code == 0, restored.output
    second = tmp_path / "second"
    assert other("ledger", "export", "-o", str(second)).exit_code == 0
    for name in ("ledger-0001.grants",):
        assert (second / name).read_bytes() == (first / name).read_bytes()
    assert _projects(other) == _projects(ledger)
    assert other("verify").exit_code == 0
