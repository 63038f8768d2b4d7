"""The 360Giving schema checked grant by grant (grants.services.giving_schema.Check) finds
what the standard's package schema, checked whole by jsonschema, finds: the same grants
broken, at the same places, and two grants alike (`uniqueItems`) through their ids. It is
stricter in one thing, as the standard is: two grants with one id and different content
break its rule that an id is the grant's own, which the package schema does not check."""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from typing import Any

import pytest

from grants.services import giving_schema
from grants.services.seen_ids import FirstSeen


def problems(package: dict[str, Any]) -> list[str]:
    """What ``package`` (grants and all) breaks, found grant by grant as the export finds it."""
    check = giving_schema.Check()
    for grant in package["grants"]:
        check.grant(grant)
    return check.problems({k: v for k, v in package.items() if k != "grants"})


def _grant(n: int) -> dict[str, Any]:
    return {
        "id": f"360G-TEST-F-2017-18-L{n}",
        "title": f"Line {n}: Fund 2017-18",
        "description": "The allocation to a line.",
        "currency": "GBP",
        "amountAwarded": Decimal("1000.00"),
        "awardDate": "2017-04-01",
        "plannedDates": [{"startDate": "2017-04-01", "endDate": "2018-03-31"}],
        "recipientOrganization": [{"id": f"360G-TEST-ORG-R{n}", "name": f"Recipient {n}"}],
        "fundingOrganization": [{"id": "GB-LAE-OXF", "name": "Oxfordshire County Council"}],
        "grantProgramme": [{"code": "F", "title": "Fund"}],
    }


def _package(grants: int = 5) -> dict[str, Any]:
    return {
        "grants": [_grant(n) for n in range(grants)],
        "version": "1.4",
        "title": "A ledger: grants (every stream)",
        "issued": "2026-12-05",
        "publisher": {"name": "A ledger"},
    }


def _whole(package: dict[str, Any]) -> set[str]:
    """Where the package schema, checked whole, finds something wrong: a grant's number, or
    the field of the package."""
    found = set()
    for error in giving_schema._validator().iter_errors(package):
        path = list(error.absolute_path)
        if path[:1] == ["grants"] and len(path) > 1:
            found.add(f"grants/{path[1]}")
        elif error.validator == "uniqueItems":
            found.add("alike")
        else:
            found.add(str(path[0]) if path else "the package")
    return found


def _by_grant(problems: list[str]) -> set[str]:
    found = set()
    for problem in problems:
        where = problem.split(":", 1)[0].split("/")
        if where[0] == "grants" and where[-1] == "id" and "is the id of" in problem:
            found.add("alike")
        elif where[0] == "grants" and len(where) > 1:
            found.add(f"grants/{where[1]}")
        else:
            found.add(where[0])
    return found


def _broken(change: str) -> dict[str, Any]:
    package = _package()
    grants = package["grants"]
    if change == "none":
        pass
    elif change == "the first grant has no id":
        del grants[0]["id"]
    elif change == "a later grant has no id":
        del grants[3]["id"]
    elif change == "a currency that is not one":
        grants[2]["currency"] = "XYZ"
    elif change == "a day that is not a day":
        grants[4]["awardDate"] = "2017-13-01"
    elif change == "an amount as text":
        grants[1]["amountAwarded"] = "1000.00"
    elif change == "a recipient with no name":
        del grants[3]["recipientOrganization"][0]["name"]
    elif change == "two grants alike":
        grants[4] = copy.deepcopy(grants[1])
    elif change == "no grants":
        grants.clear()
    elif change == "a version that is not one":
        package["version"] = "one"
    elif change == "several at once":
        grants[0]["currency"] = "XYZ"
        grants[2]["plannedDates"] = [{"startDate": "soon"}]
        grants[3] = copy.deepcopy(grants[2])
        package["issued"] = "yesterday"
    return package


CHANGES = [
    "none",
    "the first grant has no id",
    "a later grant has no id",
    "a currency that is not one",
    "a day that is not a day",
    "an amount as text",
    "a recipient with no name",
    "two grants alike",
    "no grants",
    "a version that is not one",
    "several at once",
]


@pytest.mark.parametrize("change", CHANGES)
def test_grant_by_grant_finds_what_the_whole_package_check_finds(change: str):
    package = _broken(change)
    found = problems(package)
    assert _by_grant(found) == _whole(package)
    assert (found == []) == (change == "none")


def test_each_problem_names_its_grant_and_field():
    package = _broken("several at once")
    found = problems(package)
    assert any(p.startswith("issued: ") for p in found), found
    assert any(p.startswith("grants/0/currency: 'XYZ' is not one of") for p in found), found
    assert any(p.startswith("grants/2/plannedDates/0/startDate: 'soon'") for p in found), found
    assert "grants/3/id: '360G-TEST-F-2017-18-L2' is the id of grants/2 too, and a grant's " \
        "id must be its own" in found  # fmt: skip


def test_an_unknown_regrant_type_is_found_in_any_grant():
    package = _package()
    package["grants"][3]["regrantType"] = "FRG999"
    assert problems(package) == ["grants/3/regrantType: 'FRG999' is not in the regrantType list"]


def test_two_grants_with_one_id_break_the_standard_though_not_alike():
    package = _package()
    package["grants"][3]["id"] = package["grants"][1]["id"]
    assert _whole(package) == set()  # the package schema has no rule of ids
    assert problems(package) == [
        "grants/3/id: '360G-TEST-F-2017-18-L1' is the id of grants/1 too, and a grant's id "
        "must be its own"
    ]


def test_each_id_is_found_again_with_where_it_was_first_seen() -> None:
    """The ids seen (by their digests, seen_ids.FirstSeen) answer as a dictionary of the ids
    would, through the tables' growth: each the position it was first given, none before."""
    rng = random.Random(14)
    seen, expected = FirstSeen(), {}
    texts = [f"360G-TEST-F-2017-18-L{n}" for n in range(3000)] + ["", "é", "\udc80", "L1"]
    for position in range(12_000):
        text = rng.choice(texts)
        assert seen.first(text, position) == expected.get(text), (text, position)
        expected.setdefault(text, position)
    assert len(seen) == len(expected) > 1024
    for wrong in (-1, 2**32 - 1):
        with pytest.raises(ValueError):
            seen.first("x", wrong)
    assert seen.first("far", 2**32 - 2) is None
    assert seen.first("far", 0) == 2**32 - 2
