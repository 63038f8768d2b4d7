"""The web service's test ledger: two recipients' organisations, a recipient, an officer and
a viewer, served by Starlette's TestClient on each engine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from grants.web.app import create_app
from tests.conftest import PASSWORD, Grants, add_person
from tests.helpers import books
from tests.test_access import BOOKS

# Logins: Cherwell's recipient, the officer, the viewer.
RECIPIENT, OFFICER, VIEWER = "cher", "olive", "vic"


@pytest.fixture
def web_ledger(grants: Grants, tmp_path: Path) -> Grants:
    assert grants("ledger", "load", str(books(tmp_path, BOOKS))).exit_code == 0
    add_person(grants.url, RECIPIENT, ["recipient"], organisations=["CHER-CSP"])
    add_person(grants.url, OFFICER, ["officer"])
    add_person(grants.url, VIEWER, ["viewer"])
    return grants


@pytest.fixture
def client(web_ledger: Grants) -> Iterator[TestClient]:
    app = create_app(web_ledger.url)
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as c:
        yield c


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> int:
    """Sign in through the form; the response's status (303 when signed in)."""
    page = client.get("/sign-in")
    answer = client.post(
        "/sign-in", data={"login": login, "password": password, "csrf_token": token(page.text)}
    )
    return answer.status_code
