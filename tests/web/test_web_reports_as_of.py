"""The dashboard's report workbooks as of the day the dashboard is shown as of."""

from __future__ import annotations

import html
import io
import re

import openpyxl
from starlette.testclient import TestClient

from tests.conftest import Grants
from tests.web.conftest import OFFICER, sign_in

YEAR_PAGE = "/dashboard/CSF/2017-18"
PLAN = "csf-2017-18-plan"


def report_links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(/reports/[^"]+)"', page)]


def cherwell(content: bytes) -> tuple[str, float]:
    """The template's title and Cherwell's cost."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    [cost] = [r[2].value for r in sheet.iter_rows() if r[0].value == "Cherwell"]
    return str(sheet["A1"].value), float(cost)


def test_the_report_links_carry_the_dashboards_day(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, OFFICER) == 303
    before = cherwell(client.get(f"/reports/{PLAN}.xlsx").content)[1]
    later = web_ledger("allocate", "CSF", "2017-18", "CHERWELL", "1000", "--date", "2017-12-01")
    assert later.exit_code == 0, later.output
    page = client.get(f"{YEAR_PAGE}?as-of=2017-11-30")
    assert page.status_code == 200
    links = report_links(page.text)
    assert f"/reports/{PLAN}.xlsx?as-of=2017-11-30" in links
    assert links and all(link.endswith("?as-of=2017-11-30") for link in links)
    book = client.get(f"/reports/{PLAN}.xlsx?as-of=2017-11-30")
    assert book.status_code == 200
    assert book.headers["content-disposition"].endswith(f'-{PLAN}-as-of-2017-11-30.xlsx"')
    title, cost = cherwell(book.content)
    assert cost == before and title.endswith(", as of 30 November 2017")
    # Shown as of today, the links and workbooks are today's: the later allocation counts.
    today = report_links(client.get(YEAR_PAGE).text)
    assert f"/reports/{PLAN}.xlsx" in today and not any("as-of" in t for t in today)
    title, cost = cherwell(client.get(f"/reports/{PLAN}.xlsx").content)
    assert cost == before + 1000 and "as of" not in title
    # The front dashboard as of a day: its links, to the years and the workbooks, keep it.
    front = client.get("/dashboard?as-of=2017-11-30")
    assert front.status_code == 200 and "at the end of 30 November 2017" in front.text
    assert f"/reports/{PLAN}.xlsx?as-of=2017-11-30" in report_links(front.text)
    assert f'href="{YEAR_PAGE}?as-of=2017-11-30"' in front.text


def test_a_report_as_of_a_wrong_day_or_before_the_ledger_is_refused(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, OFFICER) == 303
    wrong = client.get(f"/reports/{PLAN}.xlsx?as-of=2017-02-30")
    assert wrong.status_code == 400 and "February 2017 has 28 days" in wrong.text
    assert client.get("/dashboard?as-of=yesterday").status_code == 400
    # Nothing was allocated yet: no such workbook then.
    assert client.get(f"/reports/{PLAN}.xlsx?as-of=2016-01-01").status_code == 404
