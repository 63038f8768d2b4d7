"""The officer's pages: the figures of the dashboard open the entries behind them (which add
up to them), the dashboard as of a day, allocations and payments recorded through forms by
the same service as `grants allocate` and `grants pay`, and every form of a stage in a zip."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest
from starlette.testclient import TestClient

from tests.conftest import Grants
from tests.web.conftest import OFFICER, RECIPIENT, VIEWER, sign_in, token

YEAR_PAGE = "/dashboard/CSF/2017-18"
LINK = re.compile(r'<a class="govuk-link" href="([^"]*/entries\?[^"]*)">'
                  r'<span class="govuk-visually-hidden">[^<]*</span>([^<]*)</a>')  # fmt: skip


def figures(page: str) -> list[tuple[str, str]]:
    """Each figure's drill-down address and the figure shown."""
    return [(html.unescape(href), shown) for href, shown in LINK.findall(page)]


def total(page: str) -> str:
    found = re.search(r"<strong>(-?£[0-9,.]+)</strong>", page)
    assert found is not None, page
    return found.group(1)


def journal(grants: Grants) -> list[dict[str, object]]:
    result = grants("journal", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.output)
    return rows


def form_values(page: str) -> dict[str, str]:
    """The form's fields as shown (hidden ones too): what a browser would send back."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", page):
        found = re.search(r'name="([^"]+)"[^>]* value="([^"]*)"', tag)
        if found and ('type="checkbox"' not in tag or " checked" in tag):
            values[found.group(1)] = html.unescape(found.group(2))
    return values


def test_every_figure_opens_the_entries_that_add_up_to_it(
    client: TestClient, web_ledger: Grants
) -> None:
    assert web_ledger("pay", "CSF", "2017-18", "CHERWELL", "1,000", "--date", "2017-09-01",
                      "--reason", "first quarter").exit_code == 0  # fmt: skip
    assert web_ledger("pay", "CSF", "2017-18", "DA", "250.50").exit_code == 0
    assert sign_in(client, OFFICER) == 303
    page = client.get(YEAR_PAGE)
    assert page.status_code == 200
    shown = figures(page.text)
    # The stream's six figures (stated has none in these books) and each line's three.
    wanted = {"awarded", "allocated", "unallocated", "paid", "reported"}
    assert {re.search(r"figure=(\w+)", h).group(1) for h, _ in shown} >= wanted  # type: ignore[union-attr]
    assert any("line=CHERWELL" in h and "figure=paid" in h for h, _ in shown)
    for href, figure in shown:
        drill = client.get(href)
        assert drill.status_code == 200, (href, drill.text)
        if "figure=stated" not in href:
            assert total(drill.text) == figure, href
    paid = client.get(f"{YEAR_PAGE}/entries?figure=paid&line=CHERWELL").text
    assert "first quarter" in paid and "£1,000.00" in paid and "command: grants pay" in paid
    assert "1 September 2017" in paid
    awarded = client.get(f"{YEAR_PAGE}/entries?figure=awarded").text
    assert total(awarded) == "£100,000.00" and "award" in awarded


def test_a_viewer_may_drill_down_and_a_recipient_may_not(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, VIEWER) == 303
    assert client.get(f"{YEAR_PAGE}/entries?figure=allocated&line=DA").status_code == 200
    page = client.get(YEAR_PAGE).text
    assert "/record/payment" not in page and "Issue forms" not in page
    for path in ("/record/payment", "/record/allocation"):
        assert client.get(path).status_code == 403
    assert client.post(f"{YEAR_PAGE}/forms", data={"csrf_token": token(page),
                       "stage": "mid-year"}).status_code == 403  # fmt: skip
    # A page the role never has answers 403 before anything is looked up.
    assert client.get("/lines/CSF/2017-18/NO-SUCH-LINE").status_code == 403
    assert client.get("/record/recorded/" + "0" * 32).status_code == 403
    client.cookies.clear()
    assert sign_in(client, RECIPIENT) == 303
    for path in (f"{YEAR_PAGE}/entries?figure=paid", "/record/payment",
                 f"{YEAR_PAGE}/entries?figure=paid&line=NOPE"):  # fmt: skip
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize(
    "query",
    [
        "figure=spent",
        "figure=awarded&line=CHERWELL",  # a line has no award
        "figure=paid&line=NO-SUCH-LINE",
        "figure=paid&line=%3Cscript%3E",
        "figure=paid&period=not-a-year",
        "figure=paid&period=2019-20",  # not of the year
        "",
    ],
)
def test_a_figure_there_is_none_of_is_not_found(
    client: TestClient, web_ledger: Grants, query: str
) -> None:
    assert sign_in(client, OFFICER) == 303
    answer = client.get(f"{YEAR_PAGE}/entries?{query}")
    assert answer.status_code == 404 and "<script>" not in answer.text


@pytest.mark.parametrize("path", ["/dashboard/NOPE/2017-18", "/dashboard/CSF/2099-00",
                                  "/dashboard/CSF/2017-18x", "/dashboard/NOPE/2017-18/entries"
                                  "?figure=paid"])  # fmt: skip
def test_a_stream_or_year_there_is_none_of_is_not_found(
    client: TestClient, web_ledger: Grants, path: str
) -> None:
    assert sign_in(client, OFFICER) == 303
    assert client.get(path).status_code == 404


def test_the_dashboard_as_of_a_day(client: TestClient, web_ledger: Grants) -> None:
    assert web_ledger("pay", "CSF", "2017-18", "CHERWELL", "500", "--date", "2017-12-01")
    assert sign_in(client, OFFICER) == 303
    before = client.get(f"{YEAR_PAGE}?as-of=2017-11-30")
    assert before.status_code == 200 and "as they stood at the end of 30 November 2017" in (
        before.text
    )
    paid = [(h, f) for h, f in figures(before.text) if "line=CHERWELL" in h and "paid" in h]
    assert paid and paid[0][1] == "£0.00" and "as-of=2017-11-30" in paid[0][0]
    drill = client.get(paid[0][0])
    assert drill.status_code == 200 and "£500.00" not in drill.text
    assert "as-of=2017-11-30" in drill.text  # the way back keeps the day
    after = client.get(f"{YEAR_PAGE}?as-of-day=1&as-of-month=12&as-of-year=2017")
    paid = [(h, f) for h, f in figures(after.text) if "line=CHERWELL" in h and "paid" in h]
    assert paid[0][1] == "£500.00"
    assert total(client.get(paid[0][0]).text) == "£500.00"
    # Before anything was recorded: the page stands, with nothing in it.
    early = client.get(f"{YEAR_PAGE}?as-of=2016-01-01")
    assert early.status_code == 200 and "Nothing was recorded" in early.text


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("as-of=2017-02-30", "February 2017 has 28 days"),
        ("as-of=yesterday", "is not a date"),
        ("as-of-day=31&as-of-month=&as-of-year=2017", "must include a month"),
        ("as-of-day=x&as-of-month=1&as-of-year=2017", "day must be a number"),
        ("as-of-day=1&as-of-month=1&as-of-year=17", "4 digits"),
        ("as-of=%3Cb%3E", "is not a date"),
    ],
)
def test_a_wrong_as_of_day_is_shown_on_the_page(
    client: TestClient, web_ledger: Grants, query: str, says: str
) -> None:
    assert sign_in(client, OFFICER) == 303
    answer = client.get(f"{YEAR_PAGE}?{query}")
    assert answer.status_code == 400, answer.text
    assert "govuk-error-summary" in answer.text and says in html.unescape(answer.text)
    assert "<title>Error:" in answer.text and "<b>" not in answer.text
    drill = client.get(f"{YEAR_PAGE}/entries?figure=paid&{query}")
    assert drill.status_code == 400 and says in html.unescape(drill.text)


def test_a_payment_through_the_form(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, OFFICER) == 303
    blank = client.get("/record/payment?stream=CSF&year=2017-18&line=CHERWELL")
    assert blank.status_code == 200 and 'name="key"' in blank.text
    values = form_values(blank.text)
    assert values["stream"] == "CSF" and values["line"] == "CHERWELL"
    entries = len(journal(web_ledger))
    values.update({"amount": "ten pounds", "reason": "<b>quarter</b>", "date-month": "13"})
    wrong = client.post("/record/payment", data=values)
    assert wrong.status_code == 400
    text = html.unescape(wrong.text)
    assert "nothing was recorded" in text and 'href="#amount"' in wrong.text
    assert 'href="#date-day"' in wrong.text and "no month 13" in text
    assert 'id="amount-error"' in wrong.text and "&lt;b&gt;quarter&lt;/b&gt;" in wrong.text
    assert len(journal(web_ledger)) == entries
    values = form_values(wrong.text)  # the same key, kept
    values.update({"amount": "1,234.56", "date-day": "2", "date-month": "10", "date-year": "2017"})
    done = client.post("/record/payment", data=values)
    assert done.status_code == 303
    assert done.headers["location"] == f"/record/recorded/{values['key']}"
    shown = client.get(done.headers["location"])
    assert shown.status_code == 200 and "govuk-panel" in shown.text
    assert "£1,234.56" in shown.text and "Paid for CHERWELL" in shown.text
    rows = journal(web_ledger)
    assert len(rows) == entries + 1
    last = rows[-1]
    assert last["origin"] == f"web: recorded by {OFFICER} on /record/payment"
    assert last["amount"] == "1234.56" and last["actor"] == OFFICER
    assert last["date"] == "2017-10-02" and last["reason"] == "<b>quarter</b>"
    # Sent again (a double click, the back button): the same entry, not a second one.
    again = client.post("/record/payment", data=values)
    assert again.status_code == 303
    assert "Already recorded" in client.get(again.headers["location"]).text
    assert len(journal(web_ledger)) == entries + 1
    # Sent again with another amount (back, changed, sent): refused, not a second entry.
    changed = client.post("/record/payment", data={**values, "amount": "99"})
    assert changed.status_code == 400 and "open a new form" in changed.text
    assert len(journal(web_ledger)) == entries + 1
    for key in ("0" * 32, "not-a-key", "%3Cb%3E"):
        assert client.get(f"/record/recorded/{key}").status_code == 404
    # The dashboard shows it, and its drill-down names the page it came from.
    page = client.get(YEAR_PAGE).text
    paid = [f for h, f in figures(page) if "line=CHERWELL" in h and "figure=paid" in h]
    assert paid == ["£1,234.56"]
    drill = client.get(f"{YEAR_PAGE}/entries?figure=paid&line=CHERWELL").text
    assert "web: recorded by olive on /record/payment" in drill


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"line": "NOPE"}, "line", "no line"),
        ({"stream": "NOPE"}, "stream", "no funding stream"),
        ({"amount": "100,000"}, "amount", ""),  # more than allocated
        ({"amount": "-5"}, "amount", "more than zero"),
        ({"amount": "1.005"}, "amount", ""),
        ({"year": "2017-19"}, "year", ""),
        ({"reason": "a\u202eb"}, "reason", "U+202E"),
        ({"key": "not-a-key"}, "stream", "damaged"),
    ],
)
def test_a_refused_payment_names_its_field_and_records_nothing(
    client: TestClient, web_ledger: Grants, change: dict[str, str], field: str, says: str
) -> None:
    assert sign_in(client, OFFICER) == 303
    values = form_values(client.get("/record/payment").text)
    values.update({"stream": "CSF", "year": "2017-18", "line": "CHERWELL", "amount": "10"})
    values.update(change)
    entries = len(journal(web_ledger))
    answer = client.post("/record/payment", data=values)
    assert answer.status_code == 400, answer.text
    assert f'href="#{field}"' in answer.text and says in html.unescape(answer.text)
    assert len(journal(web_ledger)) == entries


def test_a_form_without_its_token_is_refused(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, OFFICER) == 303
    values = form_values(client.get("/record/payment").text)
    values.pop("csrf_token")
    values.update({"stream": "CSF", "year": "2017-18", "line": "CHERWELL", "amount": "10"})
    assert client.post("/record/payment", data=values).status_code == 403


def test_an_allocation_to_a_new_line_through_the_form(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, OFFICER) == 303
    values = form_values(client.get("/record/allocation?stream=CSF&year=2017-18").text)
    values.update({"line": "new-line", "amount": "30,000", "name": "New line",
                   "recipient": "DA-ORG"})  # fmt: skip
    over = client.post("/record/allocation", data=values)  # 21,458 is left of the award
    assert over.status_code == 400 and 'href="#amount"' in over.text
    assert "over" in html.unescape(over.text)
    assert "NEW-LINE" not in web_ledger("allocations", "--stream", "CSF").output  # no line made
    values = form_values(over.text)
    values["over-allocate"] = "yes"
    done = client.post("/record/allocation", data=values)
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"]).text
    assert "Allocated for NEW-LINE" in shown and "over-allocates" in shown  # the warning
    last = journal(web_ledger)[-1]
    assert last["origin"] == f"web: recorded by {OFFICER} on /record/allocation"
    assert last["line"] == "NEW-LINE" and last["kind"] == "allocate"
    # Sent again, the line it made now there: the entry it recorded, not "already exists".
    again = client.post("/record/allocation", data=values)
    assert again.status_code == 303, again.text
    assert "Already recorded" in client.get(again.headers["location"]).text
    # Sent again without the over-allocation it was recorded with: refused, not taken as it.
    changed = client.post("/record/allocation", data={**values, "over-allocate": ""})
    assert changed.status_code == 400 and "open a new form" in changed.text
    assert len([e for e in journal(web_ledger) if e["line"] == "NEW-LINE"]) == 1
    # A name given for a line that exists under another name: refused, on the name.
    values = form_values(client.get("/record/allocation?stream=CSF&year=2017-18").text)
    values.update({"line": "DA", "amount": "1", "name": "Another name"})
    named = client.post("/record/allocation", data=values)
    assert named.status_code == 400 and 'href="#name"' in named.text
    values.update({"name": "", "share": "120%"})
    share = client.post("/record/allocation", data=values)
    assert share.status_code == 400 and 'href="#share"' in share.text


def test_every_form_of_a_stage_in_one_zip(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, OFFICER) == 303
    page = client.get(YEAR_PAGE).text
    assert 'action="/dashboard/CSF/2017-18/forms"' in page
    answer = client.post(f"{YEAR_PAGE}/forms", data={"csrf_token": token(page),
                                                     "stage": "mid-year"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(answer.content)).namelist())
    assert len(names) == 2 and all(n.endswith(".xlsx") and "mid-year" in n for n in names)
    # As `grants returns issue` names them.
    out = web_ledger("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                     "mid-year", "-o", "/tmp/officer-zip-check")  # fmt: skip
    assert out.exit_code == 0, out.output
    for name in names:
        assert name in out.output
    plans = client.post("/dashboard/CSF/2018-19/forms", data={"csrf_token": token(page),
                                                               "stage": "plan"})  # fmt: skip
    assert plans.status_code == 200 and plans.content[:2] == b"PK"
    agreed = client.post(f"{YEAR_PAGE}/forms", data={"csrf_token": token(page), "stage": "plan"})
    assert agreed.status_code == 400 and "agreed" in agreed.text
    wrong = client.post(f"{YEAR_PAGE}/forms", data={"csrf_token": token(page),
                                                    "stage": "<b>end</b>"})  # fmt: skip
    assert wrong.status_code == 400 and "<b>end" not in wrong.text


def test_a_stream_of_several_years_has_a_page_for_each(
    client: TestClient, web_ledger: Grants
) -> None:
    result = web_ledger("award", "CSF", "2019-20:2020-21", "1,000")
    assert result.exit_code == 0, result.output
    assert sign_in(client, OFFICER) == 303
    dashboard = client.get("/dashboard").text
    pages = re.findall(r'href="(/dashboard/[^"/]+/[^"/]+)"', dashboard)
    assert "/dashboard/CSF/2019-20" in pages and "/dashboard/CSF/2020-21" in pages
    for path in pages:
        assert client.get(path).status_code == 200, path
    year = client.get("/dashboard/CSF/2020-21").text
    awarded = [(h, f) for h, f in figures(year) if "figure=awarded" in h]
    assert awarded and "period=2019-20%3A2020-21" in awarded[0][0]
    assert total(client.get(awarded[0][0]).text) == "£1,000.00"


def test_every_stream_and_year_of_the_oxfordshire_books_has_a_page(oxfordshire: Grants) -> None:
    from grants.web.app import create_app
    from tests.conftest import OFFICER as FIRST  # the books' officer (and admin)

    with TestClient(create_app(oxfordshire.url), base_url="http://127.0.0.1:8000",
                    follow_redirects=False) as client:  # fmt: skip
        assert sign_in(client, FIRST) == 303
        dashboard = client.get("/dashboard").text
        pages = set(re.findall(r'href="(/dashboard/[^"/]+/[^"/]+)"', dashboard))
        capital = {f"/dashboard/CAPITAL/{y}-{(y + 1) % 100:02d}" for y in range(2018, 2028)}
        assert capital <= pages and "/dashboard/PCC-CSF/2017-18" in pages
        for path in sorted(pages):
            page = client.get(path)
            assert page.status_code == 200, path
            assert figures(page.text), f"{path}: no figure opens its entries"
