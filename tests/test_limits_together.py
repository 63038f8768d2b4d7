"""The limits of commitments, carry-forward and regranting taken together: nothing the
commands accept leaves the record failing its own check (`grants verify`), and a district's
underspend carried forward moves between its partnership's years with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Grants
from tests.helpers import books

BASE = """\
2017-04-01 org FUNDER "A funder"
  role: funder
2017-04-01 org OCC "Council"
  role: accountable-body
2017-04-01 org RA "Rec A"
  role: recipient
2017-04-01 org RB "Rec B"
  role: recipient
2017-04-01 stream FUND "A fund"
  kind: other
  funder: FUNDER
  accountable: OCC
2017-04-01 line FUND A "Line A"
  recipient: RA
2017-04-01 line FUND B "Line B"
  recipient: RB
2017-04-01 line FUND A1 "Child A1"
  parent: A
  recipient: RB
2017-04-01 award FUND 2017-18 1,000
2017-04-01 award FUND 2018-19 1,000
2017-04-01 allocate FUND 2017-18 A 100
2017-04-01 allocate FUND 2017-18 A1 60
"""


@pytest.fixture
def fund(grants: Grants, tmp_path: Path) -> Grants:
    loaded = grants("ledger", "load", str(books(tmp_path, BASE)))
    assert loaded.exit_code == 0, loaded.output
    return grants


def ok(g: Grants, *args: str) -> None:
    result = g(*args)
    assert result.exit_code == 0, result.output


def refused(g: Grants, *args: str) -> str:
    result = g(*args)
    assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    return result.output


def verified(g: Grants) -> None:
    result = g("verify")
    assert result.exit_code == 0, result.output


def test_a_clawback_or_virement_that_would_uncover_a_commitment_is_refused(
    fund: Grants, tmp_path: Path
) -> None:
    ok(fund, "allocate", "FUND", "2017-18", "B", "100")
    ok(fund, "commit", "FUND", "2017-18", "B", "100", "--agreement", "GA/1",
       "--from", "01/04/2017", "--to", "31/03/2018")  # fmt: skip
    virement = books(tmp_path, "2017-05-01 virement FUND 2017-18 B A 50\n", "virement.grants")
    loaded = fund("ledger", "load", str(virement))
    assert loaded.exit_code == 1 and "not yet committed" in loaded.output, loaded.output
    ok(fund, "pay", "FUND", "2017-18", "B", "100")
    said = refused(fund, "clawback", "FUND", "2017-18", "B", "30")
    assert "not yet committed" in said
    verified(fund)
    # Released first (the commitment reversed), the clawback is recorded.
    ok(fund, "reverse", _last(fund, "commit"), "--reason", "agreement ended early")
    ok(fund, "clawback", "FUND", "2017-18", "B", "30")
    verified(fund)


def test_an_underspend_brought_forward_can_be_committed(fund: Grants):
    ok(fund, "carry-forward", "FUND", "2017-18", "2018-19", "A", "40", "--approval", "X")
    ok(fund, "commit", "FUND", "2018-19", "A", "40", "--agreement", "GA/2",
       "--from", "01/04/2018", "--to", "31/03/2019")  # fmt: skip
    verified(fund)


def test_a_childs_underspend_carried_forward_moves_its_parents_allocation_with_it(fund: Grants):
    ok(fund, "carry-forward", "FUND", "2017-18", "2018-19", "A1", "60", "--approval", "AP/1")
    # 2017-18: A's branch now needs only 40; paying A all 100 would pay the carried 60 twice.
    assert "what is left to pay" in refused(fund, "pay", "FUND", "2017-18", "A", "100")
    ok(fund, "pay", "FUND", "2017-18", "A", "40")
    # 2018-19: A1 is paid what it brought, without an allocation to A that year.
    ok(fund, "pay", "FUND", "2018-19", "A1", "60")
    verified(fund)


def _last(g: Grants, kind: str) -> str:
    import json

    rows = json.loads(g("journal", "--json").output)
    return str(next(r["entry"] for r in reversed(rows) if r["kind"] == kind))


def test_the_chain_counts_an_underspend_brought_forward_as_payable(fund: Grants):
    ok(fund, "allocate", "FUND", "2017-18", "B", "300")
    ok(fund, "pay", "FUND", "2017-18", "B", "100")
    ok(fund, "carry-forward", "FUND", "2017-18", "2018-19", "B", "50", "--approval", "X")
    ok(fund, "allocate", "FUND", "2018-19", "B", "10")
    ok(fund, "pay", "FUND", "2018-19", "B", "60")
    chain = fund("chain", "--stream", "FUND", "--year", "2018-19", "--json")
    assert chain.exit_code == 0, chain.output
    assert "beyond" not in chain.output, chain.output
