"""`grants serve --workers 2`: two server processes on one port share the ledger and its
session secret, so a session begun in one process is good in the other."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.browser import serving
from tests.conftest import PASSWORD, Grants
from tests.web.conftest import OFFICER, token


def test_two_processes_serve_one_ledger_and_share_sessions(web_ledger: Grants,
                                                          tmp_path: Path) -> None:  # fmt: skip
    with serving(web_ledger.url, tmp_path, options=("--workers", "2")) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            page = client.get("/sign-in")
            signed = client.post("/sign-in", data={"login": OFFICER, "password": PASSWORD,
                                                   "csrf_token": token(page.text)})  # fmt: skip
            assert signed.status_code == 303, signed.text
            cookies = client.cookies
        # Each request on a new connection, which either process may take.
        for _ in range(12):
            with httpx.Client(base_url=base, timeout=30, cookies=cookies) as fresh:
                answer = fresh.get("/dashboard")
                assert answer.status_code == 200, answer.text[:500]
                assert "Sign in" not in answer.text.split("<h1", 1)[1][:200]
    assert "in 2 processes" in (tmp_path / "serve.log").read_text()
