"""Hostile requests found to break the web service once, each kept as a test: every one is
answered with a page that says what is wrong, never a traceback, on both engines."""

from __future__ import annotations

import json
import threading

from starlette.testclient import TestClient

from grants.web import auth
from grants.web.pages import MAX_FORM_BYTES
from tests.conftest import PASSWORD, Grants, add_person
from tests.web.conftest import OFFICER, RECIPIENT, VIEWER, sign_in, token

YEAR_PAGE = "/dashboard/CSF/2017-18"


def quiet(client: TestClient) -> TestClient:
    """The same application, answering a failure with its 500 page instead of raising it."""
    return TestClient(client.app, base_url="http://127.0.0.1:8000", follow_redirects=False,
                      raise_server_exceptions=False)  # fmt: skip


def test_the_dashboard_as_of_the_last_day_a_date_can_be(
    client: TestClient, web_ledger: Grants
) -> None:
    client = quiet(client)
    assert sign_in(client, VIEWER) == 303
    for url in (f"{YEAR_PAGE}?as-of=9999-12-31",
                f"{YEAR_PAGE}?as-of-day=31&as-of-month=12&as-of-year=9999",
                f"{YEAR_PAGE}/entries?figure=paid&as-of=9999-12-31",
                f"{YEAR_PAGE}/entries?figure=paid&line=CHERWELL&as-of=9999-12-31"):  # fmt: skip
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.text)
    assert sign_in(client, OFFICER) == 303
    assert client.get(f"{YEAR_PAGE}?as-of=9999-12-31").status_code == 200


def test_a_nul_character_in_an_address_is_not_found(client: TestClient, web_ledger: Grants) -> None:
    client = quiet(client)
    assert sign_in(client, RECIPIENT) == 303
    for url in ("/forms/CSF/2017-18/DA%00/mid-year.xlsx", "/lines/CSF/2017-18/CHERWELL%00",
                "/lines/CSF%00/2017-18/CHERWELL/mid-year/return"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert sign_in(client, OFFICER) == 303
    for url in (f"{YEAR_PAGE}/entries?figure=paid&line=%00",
                f"{YEAR_PAGE}/entries?figure=paid&line=DA%00x",
                "/dashboard/CSF%00/2017-18", "/reports/%00.xlsx",
                "/record/payment?line=%00"):  # fmt: skip
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert "Page not found" in answer.text


def test_a_receipt_number_no_filing_can_have_is_not_found(
    client: TestClient, web_ledger: Grants
) -> None:
    client = quiet(client)
    assert sign_in(client, RECIPIENT) == 303
    for n in ("2147483648", "99999999999", "999999999999", "²", "١"):
        for kind in ("return", "plan"):
            assert client.get(f"/filings/{kind}-{n}").status_code == 404, (kind, n)


def test_a_login_with_control_characters_is_a_failed_sign_in(
    client: TestClient, web_ledger: Grants
) -> None:
    client = quiet(client)
    for login in ("a\x00", "cher\x00", "\x00", "ch\ter", "c\x1bher"):
        page = client.get("/sign-in")
        answer = client.post("/sign-in", data={"login": login, "password": "not-it",
                                                "csrf_token": token(page.text)})  # fmt: skip
        assert answer.status_code == 400, (login, answer.text)
        assert "The login or password is not right" in answer.text
    log = json.loads(web_ledger("users", "audit", "--json").output)
    failed = [e["login"] for e in log if e["kind"] == "login_failed"]
    assert len(failed) == 5 and not any("\x00" in f for f in failed)
    assert sign_in(client, "cher\x00") == 429  # the client's failures count


def test_a_form_larger_than_its_page_takes_is_refused_before_it_is_read(
    client: TestClient, web_ledger: Grants
) -> None:
    huge = "x" * (MAX_FORM_BYTES + 1)
    csrf = token(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"login": huge, "password": "p", "csrf_token": csrf})
    assert answer.status_code == 413 and "too large" in answer.text
    chunked = client.post("/sign-in", content=iter([b"login=a&password=b"]),
                          headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert chunked.status_code == 413  # no stated length: not read
    assert sign_in(client, OFFICER) == 303
    csrf = token(client.get("/dashboard").text)
    for url in ("/record/payment", "/record/allocation", "/sign-out", f"{YEAR_PAGE}/forms"):
        answer = client.post(url, data={"csrf_token": csrf, "reason": huge})
        assert answer.status_code == 413, url
    assert client.get("/dashboard").status_code == 200  # still signed in


def test_sign_ins_sent_at_once_are_held_by_the_limit_too(
    client: TestClient, web_ledger: Grants
) -> None:
    """Guesses sent together each found the limit not yet reached (each was counted only once
    its password had been checked): many more than the limit were tried."""
    guesses = 4 * auth.FAILURES
    clients = [quiet(client) for _ in range(guesses)]
    forms = [(c, token(c.get("/sign-in").text)) for c in clients]
    start = threading.Barrier(guesses)
    answers: list[int] = []

    def guess(n: int) -> None:
        c, csrf = forms[n]
        start.wait()
        data = {"login": RECIPIENT, "password": f"guess-{n}", "csrf_token": csrf}
        answers.append(c.post("/sign-in", data=data).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # However the guesses interleave, no more than the limit had their password checked
    # (when all are counted before any looks, none is); the rest were held.
    assert len(answers) == guesses and set(answers) <= {400, 429}, answers
    assert answers.count(400) <= auth.FAILURES, answers  # the passwords checked
    assert 429 in answers, answers


def test_people_signing_in_at_once_from_one_address_are_not_held(
    client: TestClient, web_ledger: Grants
) -> None:
    """A sign-in is counted against its login before its password is checked, but against
    its client's address only once the password has failed: many people signing in at the
    same moment from one address (an office behind one proxy) are all let in, and a wrong
    password among them still counts against the address."""
    people = [f"staff-{n}" for n in range(3 * auth.FAILURES)]
    for login in people:
        add_person(web_ledger.url, login, ["officer"])
    clients = [quiet(client) for _ in people]
    forms = [(c, token(c.get("/sign-in").text)) for c in clients]
    start = threading.Barrier(len(people))
    answers: list[int] = []

    def enter(n: int) -> None:
        c, csrf = forms[n]
        start.wait()
        data = {"login": people[n], "password": PASSWORD, "csrf_token": csrf}
        answers.append(c.post("/sign-in", data=data).status_code)

    threads = [threading.Thread(target=enter, args=(n,)) for n in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [303] * len(people), answers
    for n in range(auth.FAILURES):  # wrong passwords for other logins, from the same address
        assert sign_in(quiet(client), people[n], "wrong") == 400
    assert sign_in(quiet(client), people[-1]) == 429  # the address is held


def test_a_sign_in_that_succeeds_leaves_its_address_failures_counted(
    client: TestClient, web_ledger: Grants
) -> None:
    """Guesses at a login from one address still count against the address once the login's
    owner has signed in (which forgets them as the login's): otherwise the owner's sign-in
    would set the guesser free to go on at other logins."""
    client = quiet(client)
    for n in range(auth.FAILURES - 1):
        assert sign_in(client, RECIPIENT, f"guess-{n}") == 400
    assert sign_in(client, RECIPIENT) == 303  # the owner, from the same address
    assert sign_in(quiet(client), VIEWER, "one more guess") == 400
    assert sign_in(quiet(client), OFFICER) == 429  # the address has failed five times


def test_a_form_that_cannot_be_parsed_is_a_problem_with_what_was_sent(
    client: TestClient, web_ledger: Grants
) -> None:
    client = quiet(client)
    long_name = "x" * 9000 + ".xlsx"  # a part's headers longer than the parser takes
    csrf = token(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"csrf_token": csrf}, files={"login": (long_name, b"")})
    assert answer.status_code == 400, answer.text
    assert sign_in(client, RECIPIENT) == 303
    csrf = token(client.get("/upload").text)
    answer = client.post("/upload", data={"csrf_token": csrf}, files={"file": (long_name, b"PK")})
    assert answer.status_code == 400 and "could not be read" in answer.text
    page = "/lines/CSF/2017-18/CHERWELL/mid-year/return"
    answer = client.post(page, data={"csrf_token": csrf}, files={"spend-1": (long_name, b"")})
    assert answer.status_code == 400 and "could not be read" in answer.text


def test_a_viewer_is_refused_a_form_before_anything_is_looked_up(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, VIEWER) == 303
    for url in ("/forms/CSF/2017-18/CHERWELL/mid-year.xlsx", "/forms/CSF/2017-18/CHERWELL/plan.xlsx",
                "/forms/NONE/2017-18/NONE/mid-year.xlsx"):  # fmt: skip
        answer = client.get(url)
        assert answer.status_code == 403 and "may not take forms" in answer.text, url


def test_a_link_fills_in_a_recording_form_with_its_stream_year_and_line_only(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, OFFICER) == 303
    link = ("/record/allocation?stream=CSF&year=2017-18&line=DA&amount=99999&over-allocate=yes"
            "&reason=as+agreed&source=Cabinet+paper&name=Other&parent=CHERWELL&share=50"
            "&recipient=DA-ORG&date-year=2017&date-month=4&date-day=1")  # fmt: skip
    page = client.get(link).text
    assert all(f'value="{v}"' in page for v in ("CSF", "2017-18", "DA"))
    for typed in ("99999", "as agreed", "Cabinet paper", "Other", "DA-ORG", " checked"):
        assert typed not in page, typed
