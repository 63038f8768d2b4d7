"""A return filled in the browser: the same rows, rules, audit and receipt as an uploaded
workbook, refused field by field with nothing recorded, and tied to the form as shown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import Grants
from tests.helpers import books
from tests.test_access import BOOKS
from tests.test_returns import fill
from tests.web.conftest import OFFICER, RECIPIENT, VIEWER, sign_in, token

PAGE = "/lines/CSF/2017-18/CHERWELL/mid-year/return"
SPEND_1 = "Spend to date, line 1 (Three IDVA posts)"
# What tests.test_returns.fill puts in the workbook, as typed on the page.
GOOD = {
    "spend-1": "£1,234", "progress-1": "Two posts", "measure-1": "Victims supported",
    "target-1": "100", "actual-1": "45", "spend-2": "9,000.50", "completed-by": "Jo Bloggs",
    "completed-on": "20/10/2017",
}  # fmt: skip


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, html
    return found.group(1)


def post(client: TestClient, fields: dict[str, str], page: str = PAGE) -> Any:
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    data = {"csrf_token": token(shown.text), "form_token": hidden(shown.text, "form_token")}
    return client.post(page, data={**data, **fields})


def history(grants: Grants) -> list[dict[str, Any]]:
    return json.loads(grants("returns", "history", "--json").output)  # type: ignore[no-any-return]


def test_the_line_page_links_to_the_online_return(client: TestClient) -> None:
    assert sign_in(client, RECIPIENT) == 303
    line = client.get("/lines/CSF/2017-18/CHERWELL")
    assert f'href="{PAGE}"' in line.text and "Fill in online" in line.text
    page = client.get(PAGE)
    assert page.status_code == 200
    for shown in ("Three IDVA posts", "£40,000.00", "ASB caseworker", "£18,542.00",
                  'id="spend-2"', 'id="completed-on"', 'for="progress-1"'):  # fmt: skip
        assert shown in page.text
    assert page.text.count("<h1") == 1
    # Each label names its line for a screen reader, as a problem names the field.
    assert ('Spend to date<span class="govuk-visually-hidden">, line 1 (Three IDVA posts)'
            "</span>") in page.text  # fmt: skip


def test_a_return_filed_online_leads_to_its_receipt(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, RECIPIENT) == 303
    answer = post(client, GOOD)
    assert answer.status_code == 303, answer.text
    filed = history(web_ledger)
    assert [(h["line"], h["stage"], h["recorded_by"]) for h in filed] == [
        ("CHERWELL", "mid-year", RECIPIENT)
    ]
    receipt = filed[0]["filing"]
    assert answer.headers["location"] == f"/filings/return-{receipt}"
    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    for shown in ("Return filed", f"return #{receipt}", "CSF CHERWELL 2017-18", "mid-year",
                  "£10,234.50", f"online return by {RECIPIENT}"):  # fmt: skip
        assert shown in page.text
    assert f"online return by {RECIPIENT}" in client.get("/history").text
    # The page now shows what was filed, to be corrected; the same again changes nothing.
    again = client.get(PAGE)
    assert 'value="1,234.00"' in again.text and f"return #{receipt}" in again.text
    same = post(client, GOOD)
    assert same.status_code == 303 and same.headers["location"] == f"/filings/return-{receipt}"
    assert "nothing changed" in client.get(same.headers["location"]).text
    corrected = post(client, {**GOOD, "spend-1": "50,000", "spend-2": "9,500"})
    assert corrected.status_code == 303
    assert [h["filing"] for h in history(web_ledger)] == [receipt, receipt + 1]
    shown = client.get(corrected.headers["location"]).text
    assert f"supersedes return #{receipt}" in shown
    assert (f"{SPEND_1}: spend to date on &#39;Three IDVA posts&#39;, £50,000.00, is more than "
            "its planned cost of £40,000.00") in shown  # fmt: skip
    assert "with these to check" not in client.get(corrected.headers["location"]).text  # once


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("lots", "is not an amount: type pounds and pence"),
        ("1e3", "is written as a power of ten"),
        ("1.5E+2", "is written as a power of ten"),
        ("-12", "cannot be negative"),
        ("(12.00)", "cannot be negative"),
        ("12.345", "more than two decimal places"),
        ("£1,2345", "is not an amount"),
    ],
)
def test_a_bad_amount_is_refused_naming_the_field(
    client: TestClient, web_ledger: Grants, typed: str, said: str
) -> None:
    assert sign_in(client, RECIPIENT) == 303
    answer = post(client, {**GOOD, "spend-1": typed})
    assert answer.status_code == 400
    assert "nothing was filed" in answer.text and said in answer.text
    assert f'<a href="#spend-1">{SPEND_1}: ' in answer.text
    assert 'id="spend-1-error"' in answer.text and "govuk-input--error" in answer.text
    assert f'value="{typed.replace("&", "&amp;")}"' in answer.text  # kept as typed
    assert history(web_ledger) == []


def test_typed_values_are_kept_escaped(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, RECIPIENT) == 303
    markup = '"><script>alert(1)</script>'
    answer = post(client, {**GOOD, "spend-1": markup, "progress-1": "</textarea><b>x</b>"})
    assert answer.status_code == 400
    assert "<script>" not in answer.text and "<b>x" not in answer.text
    assert "&lt;/textarea&gt;&lt;b&gt;x&lt;/b&gt;" in answer.text
    assert history(web_ledger) == []


def test_the_same_rules_as_a_workbook_name_each_field(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, RECIPIENT) == 303
    answer = post(client, {**GOOD, "target-1": "many", "completed-on": "32/10/2017",
                           "stated-total": "5.00", "progress-2": "a\u202eb"})  # fmt: skip
    assert answer.status_code == 400
    text = answer.text
    assert '<a href="#target-1">Output target, line 1 (Three IDVA posts): ' in text
    assert '<a href="#completed-on">Date completed: ' in text
    assert "October 2017 has 31 days" in text  # the date's own reason, as everywhere
    assert '<a href="#progress-2">Progress and outcomes, line 2 (ASB caseworker): ' in text
    assert "U+202E" in text
    empty = post(client, {})
    assert empty.status_code == 400 and f"{SPEND_1}: nothing has been filled in" in empty.text
    assert history(web_ledger) == []


def test_another_organisations_line_is_not_found(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, RECIPIENT) == 303
    theirs = "/lines/CSF/2017-18/DA/mid-year/return"
    assert client.get(theirs).status_code == 404
    data = {"csrf_token": token(client.get("/").text), "form_token": "x", **GOOD}
    assert client.post(theirs, data=data).status_code == 404
    assert client.get("/lines/CSF/2017-18/NOPE/mid-year/return").status_code == 404
    assert client.get("/lines/CSF/2017-19/CHERWELL/mid-year/return").status_code == 404
    assert history(web_ledger) == []


def test_a_viewer_may_not_and_a_post_needs_its_token(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, VIEWER) == 303
    assert client.get(PAGE).status_code == 403
    client.post("/sign-out", data={"csrf_token": token(client.get("/dashboard").text)})
    assert sign_in(client, RECIPIENT) == 303
    shown = client.get(PAGE).text
    assert client.post(PAGE, data={"form_token": hidden(shown, "form_token"), **GOOD}
                       ).status_code == 403  # fmt: skip
    forged = client.post(PAGE, data={"csrf_token": token(shown), "form_token": "0" * 12 + "."
                                     + "0" * 64, **GOOD})  # fmt: skip
    assert forged.status_code == 400 and "could not be checked" in forged.text
    assert history(web_ledger) == []


def test_a_plan_changed_since_the_page_was_shown_is_refused(
    client: TestClient, web_ledger: Grants, tmp_path: Path
) -> None:
    due = "2018-04-01 due CSF 2018-19 mid-year 2018-10-31\n  to: 2018-09-30\n"
    assert web_ledger("ledger", "load", str(books(tmp_path, BOOKS + due))).exit_code == 0
    assert sign_in(client, OFFICER) == 303
    page = "/lines/CSF/2018-19/DA/mid-year/return"
    shown = client.get(page)
    assert shown.status_code == 200 and "Domestic abuse" in shown.text
    added = web_ledger("plan", "add", "CSF", "2018-19", "DA", "Posts", "--cost", "1")
    assert added.exit_code == 0, added.output
    answer = client.post(page, data={
        "csrf_token": token(shown.text), "form_token": hidden(shown.text, "form_token"),
        "spend-1": "100", "completed-by": "Olive", "completed-on": "01/10/2018",
    })  # fmt: skip
    assert answer.status_code == 400
    assert "spending plan for this line has changed since this page was opened" in answer.text
    assert "Posts" in answer.text  # the lines as they now stand
    assert history(web_ledger) == []


def test_filed_online_is_the_same_in_the_ledger_as_uploaded(
    client: TestClient, web_ledger: Grants, tmp_path: Path
) -> None:
    """The figures online, then the workbook filled as tests.test_returns.fill fills it (the
    same figures): the history shows the same filing, and the balances do not move."""
    assert sign_in(client, RECIPIENT) == 303
    before = web_ledger("balance", "--stream", "CSF", "--year", "2017-18", "--json")
    assert before.exit_code == 0, before.output
    assert post(client, GOOD).status_code == 303
    balances = web_ledger("balance", "--stream", "CSF", "--year", "2017-18", "--json").output
    assert balances != before.output and "10234.50" in balances
    form = client.get("/forms/CSF/2017-18/CHERWELL/mid-year.xlsx")
    issued = tmp_path / "issued.xlsx"
    issued.write_bytes(form.content)
    workbook = fill(issued, tmp_path / "filled.xlsx", D14=9000.5).read_bytes()
    csrf = token(client.get("/upload").text)
    uploaded = client.post("/upload", data={"csrf_token": csrf},
                           files={"file": ("cherwell.xlsx", workbook)})  # fmt: skip
    assert uploaded.status_code == 303, uploaded.text
    assert (
        web_ledger("balance", "--stream", "CSF", "--year", "2017-18", "--json").output == balances
    )
    online, upload = history(web_ledger)
    assert upload["supersedes"] == online["filing"]
    assert (online["file"], upload["file"]) == (f"online return by {RECIPIENT}", "cherwell.xlsx")
    same = ("line", "stage", "received", "recorded_by", "completed_by", "completed_on",
            "spend_to_date")  # fmt: skip
    assert {k: online[k] for k in same} == {k: upload[k] for k in same}
    assert online["spend_to_date"] == "10234.50"
    # Every figure the same: filed online again, it is the workbook's filing, unchanged.
    again = post(client, GOOD)
    assert again.headers["location"] == f"/filings/return-{upload['filing']}"
    assert "is the same as return" in client.get(again.headers["location"]).text
    journal = web_ledger("journal", "--json")  # where each entry came from
    assert f"online return by {RECIPIENT}:form!spend-1:spend-2" in journal.output
    # The record verifies, and the export holds the online return and loads back unchanged.
    assert web_ledger("verify").exit_code == 0
    exported = web_ledger("ledger", "export", "-o", str(tmp_path / "export"))
    assert exported.exit_code == 0, exported.output
    books_text = "".join(p.read_text() for p in sorted((tmp_path / "export").glob("*.grants")))
    assert f"online return by {RECIPIENT}" in books_text
    filed = history(web_ledger)
    reloaded = web_ledger("ledger", "load", str(tmp_path / "export" / "main.grants"))
    assert reloaded.exit_code == 0, reloaded.output
    assert history(web_ledger) == filed


def test_a_receipt_is_seen_by_the_filers_organisation_and_officers_only(
    client: TestClient, web_ledger: Grants, tmp_path: Path
) -> None:
    from tests.conftest import add_person

    assert sign_in(client, RECIPIENT) == 303
    receipt = post(client, GOOD).headers["location"]
    assert client.get(receipt).status_code == 200
    assert client.get("/filings/return-999").status_code == 404
    assert client.get("/filings/plan-x").status_code == 404
    client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    add_person(web_ledger.url, "dan", ["recipient"], organisations=["DA-ORG"])
    assert sign_in(client, "dan") == 303
    assert client.get(receipt).status_code == 404
    client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    assert sign_in(client, OFFICER) == 303
    assert client.get(receipt).status_code == 200
    client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    assert sign_in(client, VIEWER) == 303
    assert client.get(receipt).status_code == 403
