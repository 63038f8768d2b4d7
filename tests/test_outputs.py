"""Every output against the one indicator catalogue: growth projects' outputs and the PCC
returns' output measures, matched to the catalogue by name (less a bracketed remark)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from grants.services.growth import IndicatorRow
from grants.services.outputs import match
from tests.conftest import Grants
from tests.full_ledger import mid_year_returns

CATALOGUE = [
    IndicatorRow("PCC-X", "High-risk victims supported", "pcc-csf", "people", "d",
                 date(2017, 1, 1), None, 1),
    IndicatorRow("C1", "Number of enterprises receiving support", "erdf", "enterprises", "d",
                 date(2016, 1, 1), None, 1),
]  # fmt: skip


def test_a_measure_names_an_indicator_of_its_own_fund_by_name_or_code() -> None:
    assert match("High-risk  victims SUPPORTED (2016-17)", "pcc-csf", CATALOGUE) is CATALOGUE[0]
    assert match("pcc-x", "pcc-csf", CATALOGUE) is CATALOGUE[0]
    assert match("High-risk victims supported by phone", "pcc-csf", CATALOGUE) is None
    # An indicator of another fund is not the PCC fund's.
    assert match("Number of enterprises receiving support", "pcc-csf", CATALOGUE) is None


def test_the_oxfordshire_returns_and_projects_report_against_the_catalogue(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    mid_year_returns(oxfordshire, tmp_path)
    rows = json.loads(oxfordshire("outputs", "--json").output)
    returns = {(r["line"], r["indicator"], r["target"], r["actual"])
               for r in rows if r["from"] == "return"}  # fmt: skip
    # The 2016-17 figures the paper prints (004:1760, 1781, 1911), as the returns give them.
    assert returns == {
        ("PH", "PCC-REFRESH-VOLUNTEERS", "35", "81"),
        ("YOS", "PCC-CUSTODY", "12", "7"),
        ("DA", "PCC-DA-HIGH-RISK", None, "217"),
    }
    projects = {(r["line"], r["indicator"], r["actual"]) for r in rows if r["from"] == "project"}
    assert ("BBO", "PARTICIPANTS", "314") in projects  # 000:825
    only_esif = json.loads(oxfordshire("outputs", "--stream", "esif", "--json").output)
    assert {r["stream"] for r in only_esif} == {"ESIF"}
