"""People, roles, passwords and the audit log (`grants users`), on both engines."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from grants.config import os_login
from grants.db.engine import make_engine, make_session_factory
from grants.db.models import Credential
from grants.services import people
from tests.conftest import Grants


def _password(result_output: str) -> str:
    line = next(x for x in result_output.splitlines() if "password (shown once" in x)
    return line.rsplit(": ", 1)[1]


def _people(grants: Grants) -> dict[str, dict[str, object]]:
    result = grants("users", "list", "--json")
    assert result.exit_code == 0, result.output
    return {p["login"]: p for p in json.loads(result.output)}


def _audit(grants: Grants) -> list[dict[str, str]]:
    result = grants("users", "audit", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_db_upgrade_makes_the_os_user_the_first_person(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRANTS_USER")
    monkeypatch.delenv("GRANTS_PASSWORD")
    grants = Grants(empty_url)
    grants.env = {"GRANTS_USER": None, "GRANTS_PASSWORD": None}
    made = grants("db", "upgrade")
    assert made.exit_code == 0, made.output
    me = os_login()
    assert f"the ledger had no people: {me} (you) is its first, admin and officer" in made.output
    again = grants("db", "upgrade")
    assert "no people" not in again.output
    listed = _people(grants)
    assert list(listed) == [me] and listed[me]["roles"] == ["admin", "officer"]
    # The operating system vouches for them: no password, and none stored; nor is each
    # command's sign-in as the operating-system user written to the audit log.
    assert listed[me]["password"] is False
    assert _audit(grants) == []


def test_an_admin_manages_people_and_each_change_stands(oxfordshire: Grants) -> None:
    g = oxfordshire
    added = g("users", "add", "Cher", "--role", "recipient", "--org", "cherwell-csp",
              "--name", "Cherwell CSP")  # fmt: skip
    assert added.exit_code == 0, added.output
    password = _password(added.output)
    assert len(password) >= 12
    assert g("users", "add", "cher", "--role", "viewer").exit_code == 1  # logins ignore case
    assert g("users", "add", "vic", "--role", "viewer").exit_code == 0
    assert g("users", "grant", "CHER", "--role", "recipient", "--org", "OXFORD-CITY-CSP"
             ).exit_code == 0  # fmt: skip
    listed = _people(g)
    assert listed["Cher"]["roles"] == ["recipient"]
    assert listed["Cher"]["organisations"] == ["CHERWELL-CSP", "OXFORD-CITY-CSP"]
    assert g("users", "revoke", "cher", "--role", "recipient", "--org", "oxford-city-csp"
             ).exit_code == 0  # fmt: skip
    assert _people(g)["Cher"]["organisations"] == ["CHERWELL-CSP"]
    # The recipient signs in with the password printed once; a reset replaces it.
    cher = g.as_user("cher", password)
    assert cher("users", "list").exit_code == 1  # not an admin
    reset = g("users", "reset-password", "cher")
    assert reset.exit_code == 0
    assert cher("balance", "--summary").exit_code == 1
    assert people.WRONG in cher("balance", "--summary").output
    cher = g.as_user("cher", _password(reset.output))
    assert g("users", "disable", "cher").exit_code == 0
    # Disabled: told as a wrong password is, so that a guess cannot be confirmed.
    assert people.WRONG in cher("balance", "--summary").output
    assert _audit(g)[-1]["detail"] == "Cher is disabled"
    assert g("users", "enable", "cher").exit_code == 0
    assert g("users", "disable", "officer").exit_code == 1  # not oneself
    assert "unknown" not in g("users", "list").output


def test_failed_logins_and_refusals_are_in_the_audit_log(oxfordshire: Grants) -> None:
    g = oxfordshire
    assert g("users", "add", "vic", "--role", "viewer").exit_code == 0
    wrong = g.as_user("vic", "not-the-password")("balance", "--summary")
    assert wrong.exit_code == 1 and people.WRONG in wrong.output
    nobody = g.as_user("mallory", "whatever-it-is")("balance", "--summary")
    # The same words for a login that does not exist: they do not say who does.
    assert nobody.exit_code == 1 and nobody.output == wrong.output
    password = _password(g("users", "reset-password", "vic").output)
    refused = g.as_user("vic", password)("users", "add", "eve", "--role", "admin")
    assert refused.exit_code == 1
    assert "vic is a viewer" in refused.output and "ask an admin" in refused.output
    everyone = [(e["login"], e["kind"], e["action"]) for e in _audit(g)]
    details = [e["detail"] for e in _audit(g) if e["kind"] == "login_failed"]
    assert details == [
        "the password for vic is wrong",
        "there is no person 'mallory' in this ledger",
    ]
    assert [e for e in everyone if e[0] != "officer"] == [
        ("vic", "login_failed", "sign in"),
        ("mallory", "login_failed", "sign in"),
        ("vic", "login", "sign in"),  # with the new password, then refused
        ("vic", "refused", "users"),
    ]
    # The officer signed in with a password for each command (GRANTS_PASSWORD): the first,
    # the load, is written; the others, within the hour, continue its session.
    assert [e for e in everyone if e[0] == "officer"] == [("officer", "login", "sign in")]
    assert g("verify").exit_code == 0  # each sealed in the chain
    assert "eve" not in _people(g)


def test_passwords_are_kept_as_argon2id_hashes_never_as_given(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    g = oxfordshire
    password = _password(g("users", "add", "vic", "--role", "viewer").output)
    engine = make_engine(g.url)
    try:
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            hashes = session.scalars(select(Credential.hash)).all()
            assert hashes and all(h.startswith("$argon2id$") for h in hashes)
            tables = ["person", "person_event", "credential", "audit_event", "seal"]
            for table in tables:
                for row in session.execute(text(f"SELECT * FROM {table}")):
                    assert password not in repr(tuple(row)), table
    finally:
        engine.dispose()
    if g.url.startswith("sqlite"):
        database = Path(g.url.removeprefix("sqlite:///"))
        assert password.encode() not in database.read_bytes()
    out = tmp_path / "export"
    assert g("ledger", "export", "-o", str(out)).exit_code == 0
    exported = "".join(p.read_text() for p in out.glob("*.grants"))
    assert 'credential vic\n  hash: "$argon2id$' in exported and password not in exported


def test_books_cannot_make_people(oxfordshire: Grants, tmp_path: Path) -> None:
    """People are added with `grants users`: books that name a new one are refused."""
    sneaky = tmp_path / "sneaky.grants"
    sneaky.write_text(
        "2026-12-03 person mallory\n\n2026-12-03 person-event mallory grant\n  role: admin\n",
        encoding="utf-8",
    )
    result = oxfordshire("ledger", "load", str(sneaky))
    assert result.exit_code == 1
    assert "people are added and changed with `grants users`, not by books" in result.output
    assert "mallory" not in _people(oxfordshire)


def test_a_sign_in_is_written_when_it_starts_a_session(
    oxfordshire: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the hour a sign-in continues the person's last; after a failed sign-in under
    their login, or an hour on, it is written again."""
    g = oxfordshire

    def officer_sign_ins() -> int:
        return sum(1 for e in _audit(g) if (e["login"], e["kind"]) == ("officer", "login"))

    assert officer_sign_ins() == 1  # the load's
    assert g("balance", "--summary").exit_code == 0
    assert officer_sign_ins() == 1
    assert g.as_user("OFFICER", "not-the-password")("balance").exit_code == 1
    assert officer_sign_ins() == 2  # the success after a failure
    assert officer_sign_ins() == 2
    later = people.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(people, "now", lambda: later)
    assert officer_sign_ins() == 3
    log = _audit(g)
    assert [e["kind"] for e in log[-3:]] == ["login_failed", "login", "login"]


def test_a_new_login_cannot_look_like_another(oxfordshire: Grants) -> None:
    g = oxfordshire
    for login in ("\u0441herwell-csp", "a|b", "\ufb01le", "x-", "jo bloggs", "x" * 65):
        added = g("users", "add", login, "--role", "viewer")
        assert added.exit_code == 1 and "is not a login for a new person" in added.output, login
    assert g("users", "add", "jo.bloggs@council", "--role", "viewer").exit_code == 0


def test_a_sign_in_however_long_keeps_the_audit_log_short(oxfordshire: Grants) -> None:
    g = oxfordshire
    typed = "b" * 120_000
    result = g.as_user(typed, "whatever-it-is")("balance", "--summary")
    assert result.exit_code == 1 and people.WRONG in result.output
    failed = _audit(g)[-1]
    assert failed["kind"] == "login_failed"
    assert len(failed["login"]) <= people.MAX_LOGIN
    assert len(failed["detail"]) < 200


def test_claiming_to_be_someone_else_is_refused_and_audited(oxfordshire: Grants) -> None:
    g = oxfordshire
    claimed = g("--actor", "Chief Finance Officer", "balance", "--summary")
    assert claimed.exit_code == 1 and "is not who is signed in" in claimed.output
    last = _audit(g)[-1]
    assert (last["login"], last["kind"], last["action"]) == ("officer", "refused", "actor")


def test_a_sign_in_spends_one_password_check_whoever_the_login_is(
    grants: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How long a failed sign-in takes does not tell whether its login exists: a login of no
    person, a person with no password or with a stored hash that is not one, and a disabled
    person spend one Argon2 check, as a wrong password does, not none."""
    from argon2 import PasswordHasher

    from grants.errors import LoginFailed
    from tests.conftest import PASSWORD, add_person

    add_person(grants.url, "vic", ["viewer"])
    engine = make_engine(grants.url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            people.create(session, "nopass", ["viewer"], "officer", organisations=[])
            odd = people.create(session, "oddhash", ["viewer"], "officer", organisations=[])
            session.add(Credential(person_id=odd.id, hash="not a hash", actor="officer",
                                   recorded_at=people.now()))  # fmt: skip
        add_person(grants.url, "gone", ["viewer"])
        assert grants("users", "disable", "gone").exit_code == 0
        checks: list[str] = []
        verify = PasswordHasher.verify

        def counted(self: PasswordHasher, hash: str, password: str) -> bool:
            checks.append(hash)
            return verify(self, hash, password)

        monkeypatch.setattr(PasswordHasher, "verify", counted)
        for login, password in [("vic", "not-the-password"), ("mallory", PASSWORD),
                                ("nopass", PASSWORD), ("oddhash", PASSWORD),
                                ("gone", PASSWORD), ("vic", PASSWORD)]:  # fmt: skip
            checks.clear()
            with make_session_factory(engine, read_only=True)() as session, session.begin():
                if password == PASSWORD and login == "vic":
                    assert people.actor_for(session, login, password).login == "vic"
                else:
                    with pytest.raises(LoginFailed) as failed:
                        people.actor_for(session, login, password)
                    assert str(failed.value) == people.WRONG  # the same words for each
            made = [h for h in checks if h.startswith("$argon2id$")]  # others raise at once
            assert len(made) == 1, (login, checks)
        # The stand-in costs what a password set here costs (argon2-cffi's parameters).
        assert not people.hasher().check_needs_rehash(people._decoy())
    finally:
        engine.dispose()


def test_a_password_checked_after_its_read_must_still_stand(grants: Grants) -> None:
    """The web reads a sign-in's person and password (`claim`), checks the password once a
    place is free (`settle`, no database), then reads again (`still`): a password reset or a
    disabling in between refuses the sign-in, so a sign-in that waited with an old password
    starts no session."""
    from grants.errors import LoginFailed
    from tests.conftest import PASSWORD, add_person

    add_person(grants.url, "vic", ["viewer"])
    add_person(grants.url, "win", ["viewer"])
    engine = make_engine(grants.url)
    read = make_session_factory(engine, read_only=True)
    try:
        claims = {}
        for login in ("vic", "win"):
            with read() as session, session.begin():
                claims[login] = people.claim(session, login)
            assert people.settle(claims[login], PASSWORD).login == login
        with read() as session, session.begin():  # nothing changed: it stands
            assert people.still(session, claims["vic"]).login == "vic"
        with make_session_factory(engine)() as session, session.begin():
            people.set_password(session, people.find(session, "vic"), "another-password-1",
                                "officer")  # fmt: skip
        assert grants("users", "disable", "win").exit_code == 0
        for login, why in (("vic", "was changed"), ("win", "is disabled")):
            with read() as session, session.begin():
                with pytest.raises(LoginFailed) as refused:
                    people.still(session, claims[login])
            assert str(refused.value) == people.WRONG and why in refused.value.reason
    finally:
        engine.dispose()
