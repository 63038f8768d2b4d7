"""What the pages say: each stage's state once, tables that scroll on their own, and the
names report workbooks download under."""

from __future__ import annotations

import re
from datetime import date

import pytest
from starlette.testclient import TestClient

from grants.web.officer import download_name
from tests.conftest import Grants
from tests.web.conftest import OFFICER, RECIPIENT, sign_in


@pytest.mark.parametrize("path", ["/", "/lines/CSF/2017-18/CHERWELL"])
def test_a_stages_state_is_said_once(client: TestClient, path: str) -> None:
    assert sign_in(client, RECIPIENT) == 303
    page = client.get(path).text
    tags = re.findall(r'<strong class="govuk-tag[^"]*">([^<]+)</strong>([^<]*)', page)
    assert tags, page
    for label, rest in tags:
        said = f"{label}{rest}".lower()
        assert said.count(label.lower().split()[0]) == 1, (label, rest)
    assert any(label == "Overdue" and re.fullmatch(r" by [\d,]+ days?", rest)
               for label, rest in tags), tags  # fmt: skip


def test_every_table_scrolls_on_its_own_in_a_named_region(client: TestClient) -> None:
    assert sign_in(client, OFFICER) == 303
    for path in ("/", "/lines/CSF/2017-18/CHERWELL", "/history", "/dashboard",
                 "/dashboard/CSF/2017-18"):  # fmt: skip
        page = client.get(path).text
        tables = page.count("<table")
        regions = re.findall(r'<div class="grants-table-scroll"([^>]*)>\s*<table', page)
        assert len(regions) == tables, path
        for attributes in regions:
            assert 'tabindex="0"' in attributes and 'role="region"' in attributes, path
            assert "aria-label=" in attributes or "aria-labelledby=" in attributes, path


def test_a_report_downloads_under_a_name_that_says_whose_what_and_when(
    client: TestClient, web_ledger: Grants
) -> None:
    assert web_ledger("ledger", "title", "Oxfordshire: Community Safety").exit_code == 0
    assert sign_in(client, OFFICER) == 303
    book = client.get("/reports/csf-resourcing.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    today = date.today().isoformat()
    assert book.headers["content-disposition"] == (
        f'attachment; filename="oxfordshire-community-safety-csf-resourcing-{today}.xlsx"'
    )


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Grants ledger", "grants-ledger-pcc-csf-resourcing-2026-12-03.xlsx"),
        ('../"Evil"\r\nSet-Cookie: x', "evil-set-cookie-x-pcc-csf-resourcing-2026-12-03.xlsx"),
        ("———", "pcc-csf-resourcing-2026-12-03.xlsx"),
        ("A" * 80, "a" * 40 + "-pcc-csf-resourcing-2026-12-03.xlsx"),
    ],
)
def test_a_download_name_is_safe_whatever_the_title(title: str, expected: str) -> None:
    assert download_name(title, "pcc-csf-resourcing", date(2026, 12, 3)) == expected
