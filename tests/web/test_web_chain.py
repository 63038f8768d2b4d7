"""The dashboard's Chain page: the regranting chain of a stream and year, from the same
service as `grants chain`, for officers and viewers."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from grants.web.app import create_app
from tests.conftest import Grants, add_person
from tests.web.conftest import OFFICER, RECIPIENT, VIEWER, sign_in

PAGE = "/dashboard/PCC-CSF/2017-18/chain"


@pytest.fixture
def paid(oxfordshire: Grants) -> tuple[Grants, Decimal, Decimal]:
    """The council pays SOP the CSP line and SOP passes half of Cherwell's allocation on."""
    result = oxfordshire("balance", "--stream", "PCC-CSF", "--year", "2017-18", "--json")
    allocated = {r["line"]: Decimal(r["allocated"]) for r in json.loads(result.output)}
    csp, passed = allocated["CSP"], (allocated["CHERWELL"] / 2).quantize(Decimal("1"))
    assert oxfordshire("pay", "PCC-CSF", "2017-18", "CSP", str(csp),
                       "--date", "2017-06-30").exit_code == 0  # fmt: skip
    assert oxfordshire("pay", "PCC-CSF", "2017-18", "CHERWELL", str(passed), "--from", "CSP",
                       "--date", "2017-07-31").exit_code == 0  # fmt: skip
    add_person(oxfordshire.url, RECIPIENT, ["recipient"], organisations=["CHERWELL-CSP"])
    add_person(oxfordshire.url, OFFICER, ["officer"])
    add_person(oxfordshire.url, VIEWER, ["viewer"])
    return oxfordshire, csp, passed


@pytest.fixture
def client(paid: tuple[Grants, Decimal, Decimal]) -> Iterator[TestClient]:
    app = create_app(paid[0].url)
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as c:
        yield c


def _row(page: str, line: str) -> str:
    found = re.search(rf'<tr class="govuk-table__row">\s*<th scope="row" class="govuk-table__'
                      rf'header grants-depth-(\d)">(?:(?!</tr>).)*?{line} <span(?:(?!</tr>).)*'
                      rf"</tr>", page, re.S)  # fmt: skip
    assert found is not None, line
    return found.group(0)


def test_the_chain_page_shows_each_level_with_its_figures(
    client: TestClient, paid: tuple[Grants, Decimal, Decimal]
) -> None:
    _, csp, passed = paid
    assert sign_in(client, OFFICER) == 303
    year = client.get("/dashboard/PCC-CSF/2017-18").text
    assert f'href="{PAGE}"' in year
    page = client.get(PAGE)
    assert page.status_code == 200
    text = html.unescape(page.text)
    csp_row, cherwell = _row(text, "CSP"), _row(text, "CHERWELL")
    assert "grants-depth-2" in csp_row and "grants-depth-3" in cherwell
    assert "Safer Oxfordshire Partnership" in csp_row
    assert f"£{csp:,.2f}" in csp_row and f"£{passed:,.2f}" in csp_row  # paid, passed on
    assert f"£{passed:,.2f}" in cherwell
    assert "Thames Valley Police and Crime Commissioner" in text
    assert "not reconcile" not in text
    # As it stood before SOP passed the money on: Cherwell had been paid nothing.
    before = html.unescape(client.get(f"{PAGE}?as-of=2017-07-30").text)
    assert f"£{passed:,.2f}" not in _row(before, "CHERWELL")
    assert client.get(f"{PAGE}?as-of=31/02/2018").status_code == 400


def test_a_viewer_sees_the_chain_and_a_recipient_does_not(client: TestClient) -> None:
    assert sign_in(client, VIEWER) == 303
    assert client.get(PAGE).status_code == 200
    assert client.get("/dashboard/NOPE/2017-18/chain").status_code == 404
    client.cookies.clear()
    assert sign_in(client, RECIPIENT) == 303
    assert client.get(PAGE).status_code == 403


def _form_values(page: str) -> dict[str, str]:
    values = {}
    for tag in re.findall(r"<input[^>]*>", page):
        found = re.search(r'name="([^"]+)"[^>]* value="([^"]*)"', tag)
        if found and 'type="checkbox"' not in tag:
            values[found.group(1)] = html.unescape(found.group(2))
    return values


def test_a_payment_passed_on_through_the_form(
    client: TestClient, paid: tuple[Grants, Decimal, Decimal]
) -> None:
    grants, _, passed = paid
    assert sign_in(client, OFFICER) == 303
    blank = client.get("/record/payment?stream=PCC-CSF&year=2017-18&line=OXFORD")
    assert blank.status_code == 200 and 'id="from"' in blank.text
    values = _form_values(blank.text)
    values.update({"amount": "1,000", "from": "PH", "date-day": "1", "date-month": "8",
                   "date-year": "2017"})  # fmt: skip
    wrong = client.post("/record/payment", data=values)
    assert wrong.status_code == 400 and "OXFORD's parent is CSP, not PH" in html.unescape(
        wrong.text
    )
    values = _form_values(wrong.text)
    values.update({"from": "csp"})
    done = client.post("/record/payment", data=values)
    assert done.status_code == 303, done.text
    page = html.unescape(client.get(PAGE).text)
    assert f"£{passed + 1000:,.2f}" in _row(page, "CSP")  # passed on: to Cherwell and Oxford
    assert "£1,000.00" in _row(page, "OXFORD")
    journal = json.loads(grants("journal", "--json").output)
    assert journal[-1]["line"] == "OXFORD" and journal[-1]["amount"] == "1000.00"
