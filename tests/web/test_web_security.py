"""The web service's defences: sign-in, its rate limit, CSRF, headers, session expiry, and
who reaches which page."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from grants.db.engine import make_engine
from grants.db.models import WebSession
from grants.services import sessions
from grants.web import auth
from grants.web.app import SESSION_COOKIE, create_app
from tests.conftest import Grants, add_person
from tests.web.conftest import OFFICER, RECIPIENT, VIEWER, sign_in, token

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def test_sign_in_with_the_right_password_and_not_the_wrong_one(
    client: TestClient, web_ledger: Grants
) -> None:
    assert client.get("/").headers["location"] == "/sign-in"
    assert sign_in(client, RECIPIENT, "not-the-password") == 400
    assert client.get("/").status_code == 303  # still no one signed in
    assert sign_in(client, "nobody-here", "not-the-password") == 400
    assert sign_in(client, RECIPIENT) == 303
    home = client.get("/")
    assert home.status_code == 200 and "CHERWELL" in home.text
    cookie = client.cookies.get("grants_session")
    assert cookie and "password" not in cookie
    log = json.loads(web_ledger("users", "audit", "--json").output)
    kinds = [(e["login"], e["kind"]) for e in log if e["login"] in (RECIPIENT, "nobody-here")]
    assert kinds == [(RECIPIENT, "login_failed"), ("nobody-here", "login_failed"),
                     (RECIPIENT, "login")]  # fmt: skip
    # The page says the same for both; the log keeps which it was.
    details = [e["detail"] for e in log if e["kind"] == "login_failed"]
    assert details[-2:] == [f"web: the password for {RECIPIENT} is wrong",
                            "web: there is no person 'nobody-here' in this ledger"]  # fmt: skip


def test_the_session_cookie_is_signed_httponly_and_samesite(client: TestClient) -> None:
    page = client.get("/sign-in")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    client.cookies.set("grants_session", "forged" + (client.cookies.get("grants_session") or ""))
    assert client.get("/").status_code == 303


def test_sign_in_is_rate_limited_per_login(client: TestClient, web_ledger: Grants) -> None:
    for _ in range(auth.FAILURES):
        assert sign_in(client, RECIPIENT, "wrong-password-1") == 400
    assert sign_in(client, RECIPIENT) == 429  # even the right password waits
    log = json.loads(web_ledger("users", "audit", "--json").output)
    failed = [e["detail"] for e in log if e["login"] == RECIPIENT and e["kind"] == "login_failed"]
    assert len(failed) == auth.FAILURES + 1 and "too many failed sign-ins" in failed[-1]
    elsewhere = TestClient(client.app, base_url="http://127.0.0.1:8000",
                           follow_redirects=False, client=("192.0.2.7", 50000))  # fmt: skip
    assert sign_in(elsewhere, RECIPIENT) == 429  # the login is held up from anywhere
    assert sign_in(elsewhere, OFFICER) == 303  # another login from elsewhere is not


def test_an_admins_new_password_lifts_the_hold_on_a_login(
    client: TestClient, web_ledger: Grants
) -> None:
    """Someone who knows a login can hold it up; the owner asks an admin for a new password,
    which signs in at once. The guesses still count against the address they came from."""
    guesser = TestClient(client.app, base_url="http://127.0.0.1:8000",
                         follow_redirects=False, client=("192.0.2.9", 50000))  # fmt: skip
    for _ in range(auth.FAILURES):
        assert sign_in(guesser, RECIPIENT, "wrong-password-1") == 400
    assert sign_in(client, RECIPIENT) == 429
    reset = web_ledger("users", "reset-password", RECIPIENT)
    assert reset.exit_code == 0, reset.output
    given = re.search(r"password[^:]*: (\S+)", reset.output, re.IGNORECASE)
    assert given is not None, reset.output
    assert sign_in(client, RECIPIENT, given.group(1)) == 303
    assert sign_in(guesser, OFFICER) == 429  # the guesser's address is still held


def test_an_admins_new_password_lifts_the_hold_on_a_login_written_with_capitals(
    client: TestClient, web_ledger: Grants
) -> None:
    """The limit counts a login folded to one case; the new password lifted only the counts
    of the login as it was written, so a login with capitals stayed held."""
    add_person(web_ledger.url, "Cara.Smith", ["viewer"])
    guesser = TestClient(client.app, base_url="http://127.0.0.1:8000",
                         follow_redirects=False, client=("192.0.2.9", 50000))  # fmt: skip
    for _ in range(auth.FAILURES):
        assert sign_in(guesser, "cara.smith", "wrong-password-1") == 400
    assert sign_in(client, "Cara.Smith") == 429
    reset = web_ledger("users", "reset-password", "Cara.Smith")
    assert reset.exit_code == 0, reset.output
    given = re.search(r"password[^:]*: (\S+)", reset.output, re.IGNORECASE)
    assert given is not None, reset.output
    assert sign_in(client, "Cara.Smith", given.group(1)) == 303


def test_sign_in_is_rate_limited_per_client(client: TestClient, monkeypatch) -> None:
    for n in range(auth.FAILURES):
        assert sign_in(client, f"guess-{n}", "wrong-password-1") == 400
    assert sign_in(client, OFFICER) == 429
    start = auth.now()
    monkeypatch.setattr(sessions, "clock", lambda: start + auth.WINDOW_SECONDS + 1)
    assert sign_in(client, OFFICER) == 303  # the failures have aged out


def test_a_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/sign-in")
    refused = client.post("/sign-in", data={"login": RECIPIENT, "password": "x" * 20})
    assert refused.status_code == 403
    assert sign_in(client, RECIPIENT) == 303
    forged = client.post("/upload", data={"csrf_token": "forged"},
                         files={"file": ("r.xlsx", b"PK")})  # fmt: skip
    assert forged.status_code == 403
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    good = client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    assert good.status_code == 303 and client.get("/").status_code == 303


@pytest.mark.parametrize("path", ["/sign-in", "/static/govuk/govuk-frontend.min.css",
                                  "/no-such-page", "/"])  # fmt: skip
def test_every_response_has_the_security_headers(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"


def test_no_page_has_inline_script(client: TestClient) -> None:
    assert sign_in(client, OFFICER) == 303
    for path in ("/", "/upload", "/history", "/dashboard", "/dashboard/CSF/2017-18",
                 "/dashboard/CSF/2017-18/chain", "/lines/CSF/2017-18/CHERWELL"):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script" not in page.text and " on" + "click=" not in page.text
        assert page.text.count("<h1") == 1 and "<title>" in page.text
        assert 'class="govuk-skip-link"' in page.text


def test_a_session_ends_when_idle_and_after_eight_hours(client: TestClient, monkeypatch) -> None:
    start = auth.now()
    moment = [start]
    monkeypatch.setattr(sessions, "clock", lambda: moment[0])
    assert sign_in(client, RECIPIENT) == 303
    moment[0] = start + auth.IDLE_SECONDS - 60
    assert client.get("/").status_code == 200  # active: the idle clock starts again
    moment[0] += auth.IDLE_SECONDS + 1
    ended = client.get("/")
    assert ended.status_code == 303 and ended.headers["location"] == "/sign-in?ended=idle"
    page = client.get(ended.headers["location"]).text
    assert "Your session ended after 30 minutes without use: sign in again" in page
    assert "govuk-notification-banner" in page
    start = moment[0]
    assert sign_in(client, RECIPIENT) == 303
    while moment[0] < start + auth.MAX_SECONDS - 600:  # in use all day
        moment[0] += 600
        assert client.get("/").status_code == 200
    moment[0] = start + auth.MAX_SECONDS + 1
    ended = client.get("/")
    assert ended.status_code == 303 and ended.headers["location"] == "/sign-in?ended=expired"
    assert "8 hours after you signed in" in client.get("/sign-in?ended=expired").text


def _cookie(client: TestClient) -> dict[str, object]:
    """What the session cookie holds (its signed part, base64 JSON)."""
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    data = value.split(".")[0]
    return json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))  # type: ignore[no-any-return]


def _ledger_sessions(url: str) -> list[tuple[str, str | None]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(WebSession.digest, WebSession.ended_why).order_by(WebSession.id)
            )
            return [(r.digest, r.ended_why) for r in rows]
    finally:
        engine.dispose()


def test_the_cookie_holds_only_a_session_id_the_ledger_keeps_hashed(
    client: TestClient, web_ledger: Grants
) -> None:
    assert sign_in(client, RECIPIENT) == 303
    held = _cookie(client)
    assert set(held) == {"sid", "csrf"}, held
    sid = str(held["sid"])
    assert _ledger_sessions(web_ledger.url) == [(hashlib.sha256(sid.encode()).hexdigest(), None)]


def test_signing_out_ends_every_copy_of_the_session(client: TestClient, web_ledger: Grants) -> None:
    assert sign_in(client, RECIPIENT) == 303
    copy = client.cookies.get(SESSION_COOKIE)
    out = client.post("/sign-out", data={"csrf_token": token(client.get("/").text)})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in?ended=signed_out"
    assert "You have been signed out" in client.get(out.headers["location"]).text
    client.cookies.set(SESSION_COOKIE, copy or "")  # a copy taken before signing out
    again = client.get("/")
    assert again.status_code == 303 and again.headers["location"] == "/sign-in?ended=signed_out"
    assert [why for _, why in _ledger_sessions(web_ledger.url)] == ["signed_out"]


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (("users", "disable", RECIPIENT), "disabled"),
        (("users", "reset-password", RECIPIENT), "password"),
        (("users", "sessions", "--end", RECIPIENT), "ended"),
    ],
)
def test_the_ledger_ends_a_persons_sessions(
    client: TestClient, web_ledger: Grants, command: tuple[str, ...], why: str
) -> None:
    """Disabling a person, giving them a new password, or ending their sessions from the
    command line signs them out of every session at once; others stay signed in."""
    other = TestClient(client.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    assert sign_in(client, RECIPIENT) == 303 and sign_in(other, OFFICER) == 303
    listed = json.loads(web_ledger("users", "sessions", "--json").output)
    assert sorted(r["login"] for r in listed) == sorted([RECIPIENT, OFFICER])
    result = web_ledger(*command)
    assert result.exit_code == 0, result.output
    ended = client.get("/")
    assert ended.status_code == 303 and ended.headers["location"] == f"/sign-in?ended={why}"
    assert "govuk-notification-banner" in client.get(ended.headers["location"]).text
    assert other.get("/").status_code == 200
    listed = json.loads(web_ledger("users", "sessions", "--json").output)
    assert [r["login"] for r in listed] == [OFFICER]


def test_a_recipient_cannot_list_or_end_sessions(web_ledger: Grants) -> None:
    recipient = web_ledger.as_user(RECIPIENT)
    assert recipient("users", "sessions").exit_code != 0
    assert recipient("users", "sessions", "--end", OFFICER).exit_code != 0


def test_the_rate_limit_is_shared_by_two_server_processes(web_ledger: Grants) -> None:
    """Two applications on one ledger (as two server processes): failures in either count
    towards the limit in both, per login and per client address."""
    first, second = create_app(web_ledger.url), create_app(web_ledger.url)
    with (
        TestClient(first, base_url="http://127.0.0.1:8000", follow_redirects=False) as a,
        TestClient(second, base_url="http://127.0.0.1:8000", follow_redirects=False) as b,
    ):
        for n in range(auth.FAILURES):
            assert sign_in(a if n % 2 else b, RECIPIENT, "wrong-password-1") == 400
        assert sign_in(a, RECIPIENT) == 429 and sign_in(b, RECIPIENT) == 429
        assert sign_in(b, OFFICER) == 429  # the same client address, too
        elsewhere = TestClient(second, base_url="http://127.0.0.1:8000",
                               follow_redirects=False, client=("192.0.2.9", 50000))  # fmt: skip
        assert sign_in(elsewhere, OFFICER) == 303
        assert sign_in(elsewhere, RECIPIENT) == 429
        # A session started in one process is good in the other, and ended in both at once.
        copy = TestClient(first, base_url="http://127.0.0.1:8000", follow_redirects=False)
        copy.cookies.set(SESSION_COOKIE, elsewhere.cookies.get(SESSION_COOKIE) or "")
        assert copy.get("/dashboard").status_code == 200
        out = elsewhere.post("/sign-out", data={"csrf_token": token(elsewhere.get("/").text)})
        assert out.status_code == 303
        assert copy.get("/dashboard").headers["location"] == "/sign-in?ended=signed_out"


def test_a_viewer_reaches_the_dashboard_and_reports_only(client: TestClient) -> None:
    assert sign_in(client, VIEWER) == 303
    assert client.get("/").headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    assert client.get("/dashboard/CSF/2017-18").status_code == 200
    assert client.get("/reports/csf-resourcing.xlsx").status_code == 200
    for path in ("/upload", "/history", "/lines/CSF/2017-18/CHERWELL",
                 "/forms/CSF/2017-18/CHERWELL/mid-year.xlsx"):  # fmt: skip
        assert client.get(path).status_code == 403, path


def test_a_recipient_does_not_reach_the_dashboard(client: TestClient) -> None:
    assert sign_in(client, RECIPIENT) == 303
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/CSF/2017-18").status_code == 403
    assert client.get("/reports/csf-resourcing.xlsx").status_code == 403


def test_a_failure_shows_no_traceback_and_keeps_the_headers(
    web_ledger: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grants.web import portal
    from grants.web.app import create_app

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(portal, "due", broken)
    with TestClient(create_app(web_ledger.url), follow_redirects=False,
                    raise_server_exceptions=False) as client:  # fmt: skip
        assert sign_in(client, RECIPIENT) == 303
        answer = client.get("/")
    assert answer.status_code == 500
    assert "secret internals" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-frame-options"] == "DENY"


def test_sessions_leave_the_record_verified_and_stay_out_of_an_export(
    client: TestClient, web_ledger: Grants, tmp_path: Path
) -> None:
    """Sessions and failed sign-ins change, so they are no record: the chain verifies with
    them, and an export does not carry them (nor any session's id or its digest)."""
    assert sign_in(client, RECIPIENT, "wrong-password-1") == 400
    assert sign_in(client, RECIPIENT) == 303
    sid = str(_cookie(client)["sid"])
    assert client.post("/sign-out", data={"csrf_token": token(client.get("/").text)}).is_redirect
    assert sign_in(client, OFFICER) == 303
    verified = web_ledger("verify")
    assert verified.exit_code == 0, verified.output
    exported = web_ledger("ledger", "export", "-o", str(tmp_path / "export"))
    assert exported.exit_code == 0, exported.output
    written = "".join(p.read_text(errors="replace") for p in (tmp_path / "export").rglob("*")
                      if p.is_file())  # fmt: skip
    digest = hashlib.sha256(sid.encode()).hexdigest()
    assert sid not in written and digest not in written
    assert "web_session" not in written and "sign_in_failure" not in written
