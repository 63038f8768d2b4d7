"""The recipient's portal: its own lines only, forms out and back in through the same
reader and services as `grants returns import`, and nothing typed rendered as markup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from grants.limits import MAX_WORKBOOK_BYTES
from grants.web import uploads
from tests.conftest import Grants, add_person
from tests.test_returns import fill
from tests.web.conftest import OFFICER, RECIPIENT, sign_in, token

FORM = "/forms/CSF/2017-18/CHERWELL/mid-year.xlsx"


def upload(client: TestClient, name: str, content: bytes) -> object:
    csrf = token(client.get("/upload").text)
    return client.post("/upload", data={"csrf_token": csrf}, files={"file": (name, content)})


def filled(client: TestClient, tmp_path: Path, **cells: object) -> bytes:
    form = client.get(FORM)
    assert form.status_code == 200, form.text
    assert form.headers["content-type"].startswith("application/vnd.openxmlformats")
    issued = tmp_path / "issued.xlsx"
    issued.write_bytes(form.content)
    return fill(issued, tmp_path / "filled.xlsx", **cells).read_bytes()


def test_a_recipient_sees_its_own_lines_only(client: TestClient) -> None:
    assert sign_in(client, RECIPIENT) == 303
    home = client.get("/")
    assert "CHERWELL" in home.text and "/lines/CSF/2017-18/DA" not in home.text
    assert "£58,542.00" in home.text  # its allocation in the books
    line = client.get("/lines/CSF/2017-18/CHERWELL")
    assert line.status_code == 200 and FORM in line.text


@pytest.mark.parametrize("path", [
    "/lines/CSF/2017-18/DA", "/forms/CSF/2017-18/DA/mid-year.xlsx",
    "/forms/CSF/2017-18/DA/plan.xlsx", "/lines/CSF/2017-18/NOPE", "/lines/CSF/not-a-year/DA",
    "/forms/NOPE/2017-18/DA/mid-year.xlsx",
])  # fmt: skip
def test_another_organisations_pages_and_forms_are_not_found(client: TestClient, path: str) -> None:
    assert sign_in(client, RECIPIENT) == 303
    answer = client.get(path)
    assert answer.status_code == 404
    assert "DA-ORG" not in answer.text and "Domestic abuse" not in answer.text


def test_a_recipients_refused_form_is_audited(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, RECIPIENT) == 303
    assert client.get("/forms/CSF/2017-18/DA/mid-year.xlsx").status_code == 404
    log = json.loads(web_ledger("users", "audit", "--json").output)
    refused = [e for e in log if e["kind"] == "refused" and e["login"] == RECIPIENT]
    assert len(refused) == 1 and "DA-ORG" in refused[0]["detail"]


def test_a_form_with_a_mistake_names_the_cell_and_records_nothing(
    client: TestClient, tmp_path: Path, web_ledger: Grants
) -> None:
    assert sign_in(client, RECIPIENT) == 303
    answer = upload(client, "cherwell.xlsx", filled(client, tmp_path, D13="lots"))
    assert answer.status_code == 400
    assert "govuk-error-summary" in answer.text and "Return!D13" in answer.text
    assert "nothing was filed" in answer.text
    assert json.loads(web_ledger("returns", "history", "--json").output) == []


def test_a_good_form_is_filed_and_appears_in_the_history(
    client: TestClient, tmp_path: Path, web_ledger: Grants
) -> None:
    assert sign_in(client, RECIPIENT) == 303
    answer = upload(client, "cherwell.xlsx", filled(client, tmp_path))
    assert answer.status_code == 303, answer.text  # POST, redirect, GET: the receipt's page
    history = json.loads(web_ledger("returns", "history", "--json").output)
    assert [(h["line"], h["recorded_by"], h["stage"]) for h in history] == [
        ("CHERWELL", RECIPIENT, "mid-year")
    ]
    receipt = f"return #{history[0]['filing']}"
    assert answer.headers["location"] == f"/filings/return-{history[0]['filing']}"
    shown = client.get(answer.headers["location"])
    assert "Return filed" in shown.text and receipt in shown.text and "£10,234.50" in shown.text
    assert "typed as text" in shown.text  # the warnings, once
    page = client.get("/history")
    assert receipt in page.text and "cherwell.xlsx" in page.text
    assert receipt in client.get("/").text  # the stage now says filed, with the receipt
    again = upload(client, "cherwell.xlsx", filled(client, tmp_path))
    assert again.status_code == 303
    shown = client.get(again.headers["location"]).text
    assert "nothing changed" in shown or "supersedes" in shown


def test_another_organisations_form_is_refused_on_upload(
    client: TestClient, tmp_path: Path, web_ledger: Grants
) -> None:
    assert sign_in(client, OFFICER) == 303
    form = client.get("/forms/CSF/2017-18/DA/mid-year.xlsx")
    assert form.status_code == 200
    issued = tmp_path / "da.xlsx"
    issued.write_bytes(form.content)
    theirs = fill(issued, tmp_path / "da-filled.xlsx", D13=1000, D14=500).read_bytes()
    client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    assert sign_in(client, RECIPIENT) == 303
    answer = upload(client, "da.xlsx", theirs)
    assert answer.status_code == 400 and "not for DA-ORG" in answer.text
    assert json.loads(web_ledger("returns", "history", "--json").output) == []


def test_an_oversized_upload_is_refused_before_it_is_read(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("read an oversized upload")

    monkeypatch.setattr(uploads.return_reader, "read_return", never)
    monkeypatch.setattr(uploads.plan_reader, "read_plan", never)
    assert sign_in(client, RECIPIENT) == 303
    answer = upload(client, "big.xlsx", b"PK" + b"\0" * (MAX_WORKBOOK_BYTES + 70_000))
    assert answer.status_code == 413 and "must be smaller than" in answer.text
    just = upload(client, "big.xlsx", b"PK" + b"\0" * (MAX_WORKBOOK_BYTES + 10))
    assert just.status_code == 413


def test_what_a_recipient_types_is_shown_escaped(
    client: TestClient, tmp_path: Path, web_ledger: Grants
) -> None:
    markup = "<b>cher</b>"
    add_person(web_ledger.url, markup, ["recipient"], organisations=["CHER-CSP"])
    assert sign_in(client, markup) == 303
    assert "&lt;b&gt;cher&lt;/b&gt;" in client.get("/").text
    name = "<img src=x onerror=alert(1)>.xlsx"
    answer = upload(client, name, filled(client, tmp_path, E13="<script>alert(2)</script>"))
    assert answer.status_code == 303, answer.text
    answer = client.get(answer.headers["location"])
    assert answer.status_code == 200
    history = client.get("/history").text
    for page in (answer.text, history, client.get("/").text):
        assert "<img src=x" not in page and "<b>cher" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.xlsx" in history


def test_the_officer_sees_every_line_the_dashboard_and_the_reports(
    client: TestClient, tmp_path: Path
) -> None:
    assert sign_in(client, OFFICER) == 303
    home = client.get("/")
    assert "/lines/CSF/2017-18/DA" in home.text and "/lines/CSF/2017-18/CHERWELL" in home.text
    dashboard = client.get("/dashboard")
    assert "/dashboard/CSF/2017-18" in dashboard.text
    assert "/reports/csf-resourcing.xlsx" in dashboard.text
    year = client.get("/dashboard/CSF/2017-18")
    assert year.status_code == 200 and "Reconciliation" in year.text
    assert "£78,542.00" in year.text  # allocated: 58,542 + 20,000
    book = client.get("/reports/csf-resourcing.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    assert client.get("/reports/no-such-report.xlsx").status_code == 404
    agreed = client.get("/forms/CSF/2017-18/DA/plan.xlsx")
    assert agreed.status_code == 400 and "was agreed on 30 June 2017" in agreed.text


def test_a_spending_plan_form_is_filed_through_the_same_upload(
    client: TestClient, tmp_path: Path
) -> None:
    from datetime import datetime

    from tests.test_plan_forms import fill as fill_plan

    assert sign_in(client, OFFICER) == 303
    form = client.get("/forms/CSF/2018-19/DA/plan.xlsx")
    assert form.status_code == 200, form.text
    (tmp_path / "plan.xlsx").write_bytes(form.content)
    lines = {"B13": "Outreach", "C13": "Reach rural victims", "D13": 1, "E13": 10000}
    content = fill_plan(tmp_path / "plan.xlsx", tmp_path / "da-plan.xlsx",
                        B10=datetime(2018, 5, 20), B14=None, C14=None, D14=None, E14=None,
                        G13=None, **lines).read_bytes()  # fmt: skip
    wrong = upload(client, "notes.xlsx", fill_plan(tmp_path / "plan.xlsx", tmp_path / "x.xlsx",
                                                  E13="lots").read_bytes())  # fmt: skip
    assert wrong.status_code == 400 and "Plan!E13" in wrong.text
    assert "plan #" not in client.get("/history").text
    answer = upload(client, "da-plan.xlsx", content)
    assert answer.status_code == 303, answer.text
    assert re.fullmatch(r"/filings/plan-[0-9]+", answer.headers["location"])
    receipt = client.get(answer.headers["location"])
    assert "Spending plan filed" in receipt.text and "da-plan.xlsx" in receipt.text
    number = answer.headers["location"].rsplit("-", 1)[1]
    assert f"plan #{number}" in receipt.text
    history = client.get("/history").text
    assert f"plan #{number}" in history and "da-plan.xlsx" in history
    client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    assert sign_in(client, RECIPIENT) == 303  # Cherwell's: not the DA line's receipt
    assert client.get(answer.headers["location"]).status_code == 404
