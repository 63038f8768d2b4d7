"""Who may do what: every role against every kind of work, on both engines.

The expected rights are written out here from the roles as the council uses them (not read
from grants.services.access), so that a wrong entry in the table of permissions fails.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import Grants, add_person
from tests.helpers import books
from tests.test_returns import fill

BOOKS = """\
2017-04-01 org PCC "The Commissioner"
  role: funder

2017-04-01 org CHER-CSP "Cherwell Community Safety Partnership"
  role: recipient

2017-04-01 org DA-ORG "Domestic abuse service"
  role: recipient

2017-04-01 stream CSF "Community safety fund"
  kind: pcc-csf
  funder: PCC

2017-04-01 line CSF CHERWELL "Cherwell"
  recipient: CHER-CSP

2017-04-01 line CSF DA "Domestic abuse"
  recipient: DA-ORG

2017-04-01 award CSF 2017-18 100,000
2017-04-01 allocate CSF 2017-18 CHERWELL 58,542
2017-04-01 allocate CSF 2017-18 DA 20,000
2017-04-01 award CSF 2018-19 50,000
2017-04-01 allocate CSF 2018-19 DA 10,000

2017-04-01 due CSF 2017-18 mid-year 2017-10-31
  to: 2017-09-30

2017-06-20 plan CSF 2017-18 CHERWELL "Three IDVA posts"
  cost: 40,000
  pcc-objective: 1
2017-06-20 plan CSF 2017-18 CHERWELL "ASB caseworker"
  cost: 18,542
  pcc-objective: 2
2017-06-30 agree CSF 2017-18 CHERWELL

2017-06-20 plan CSF 2017-18 DA "Outreach"
  cost: 15,000
  pcc-objective: 1
2017-06-20 plan CSF 2017-18 DA "Refuge"
  cost: 5,000
  pcc-objective: 1
2017-06-30 agree CSF 2017-18 DA
"""

ROLES = {"officer": "olive", "recipient": "cher", "viewer": "vic", "admin": "ada"}  # logins

# Each kind of work, the command that does it, and who may.
WORK: list[tuple[str, list[str], set[str]]] = [
    ("record a payment", ["pay", "CSF", "2017-18", "CHERWELL", "1"], {"officer"}),
    ("reverse an entry", ["reverse", "6", "--reason", "keyed twice"], {"officer"}),  # the pay
    ("pay what is then recovered", ["pay", "CSF", "2017-18", "DA", "5"], {"officer"}),
    ("record a clawback", ["clawback", "CSF", "2017-18", "DA", "5"], {"officer"}),
    ("record a claim", ["claim", "CSF", "2017-18", "Q1", "1,000", "--quarter", "Q1",
                        "--eligible", "1,000", "--evidence", "Claim form 1"], {"officer"}),
    ("record a receipt", ["receipt", "CSF", "2017-18", "600", "--claim", "Q1"], {"officer"}),
    ("record a commitment", ["commit", "CSF", "2017-18", "DA", "100", "--agreement", "GA-1",
                             "--from", "2017-06-01", "--to", "2018-03-31"], {"officer"}),
    ("carry an underspend forward", ["carry-forward", "CSF", "2017-18", "2018-19", "DA", "1",
                                     "--approval", "OPCC-CF-1"], {"officer"}),
    ("schedule a payment", ["schedule", "CSF", "2017-18", "DA", "100", "--basis", "in-advance",
                            "--due", "2017-07-01"], {"officer"}),
    ("load books", ["ledger", "load", "{books}"], {"officer"}),
    ("set the title", ["ledger", "title", "Another council"], {"officer"}),
    ("add a plan line", ["plan", "add", "CSF", "2018-19", "DA", "Posts", "--cost", "1"],
     {"officer"}),
    ("issue returns", ["returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                       "mid-year", "-o", "{out}/returns"], {"officer"}),
    ("issue plans", ["plan", "issue", "--stream", "CSF", "--year", "2018-19", "-o",
                     "{out}/plans"], {"officer"}),
    ("reconcile", ["reconcile", "--stream", "CSF", "--year", "2017-18", "--json"],
     {"officer", "viewer"}),
    ("publish 360Giving", ["export", "360giving", "--stream", "CSF", "-o", "{out}/g.json"],
     {"officer", "viewer"}),
    ("a report", ["report", "resourcing", "--years", "2017-18:2017-18", "--stream", "CSF",
                  "-o", "{out}/r.xlsx"], {"officer", "viewer"}),
    # Listings: everyone who may read; a recipient is shown its own lines (test_listings).
    ("the journal", ["journal"], {"officer", "viewer", "recipient", "admin"}),
    ("allocations", ["allocations", "--stream", "CSF"], {"officer", "viewer", "recipient",
                                                         "admin"}),
    ("streams", ["streams"], {"officer", "viewer", "recipient", "admin"}),
    ("balances", ["balance"], {"officer", "viewer", "recipient", "admin"}),
    ("the chain", ["chain"], {"officer", "viewer", "recipient", "admin"}),  # test_chain
    ("plans", ["plan", "show", "--stream", "CSF", "--year", "2017-18"], {"officer", "viewer",
                                                                         "recipient", "admin"}),
    ("returns history", ["returns", "history"], {"officer", "viewer", "recipient", "admin"}),
    ("plan history", ["plan", "history"], {"officer", "viewer", "recipient", "admin"}),
    ("what is due", ["returns", "due"], {"officer", "viewer", "recipient", "admin"}),
    # These books hold no growth project: the workbooks are refused for that, once allowed.
    ("the growth workbook", ["report", "growth", "-o", "{out}/g.xlsx"], {"officer", "viewer"}),
    ("the ESIF claim workbook", ["report", "esif-claims", "-o", "{out}/e.xlsx"],
     {"officer", "viewer"}),
    ("growth projects", ["projects"], {"officer", "viewer", "recipient", "admin"}),
    ("the indicator catalogue", ["indicators"], {"officer", "viewer", "recipient", "admin"}),
    ("every output", ["outputs"], {"officer", "viewer", "recipient", "admin"}),
    ("the title", ["ledger", "title"], {"officer", "viewer", "recipient", "admin"}),
    ("verify", ["verify"], {"officer", "viewer", "admin"}),
    ("export", ["ledger", "export", "-o", "{out}/export"], {"officer", "admin"}),
    ("back up", ["db", "backup", "{out}/copy.db"], {"officer", "admin"}),  # or pg_dump's
    ("list people", ["users", "list"], {"admin"}),
    ("add a person", ["users", "add", "new-{role}", "--role", "viewer"], {"admin"}),
    ("the audit log", ["users", "audit"], {"admin", "officer"}),
    ("who is signed in", ["users", "sessions"], {"admin", "officer"}),
]  # fmt: skip


@pytest.fixture
def ledger(grants: Grants, tmp_path: Path) -> Grants:
    assert grants("ledger", "load", str(books(tmp_path, BOOKS))).exit_code == 0
    for role, login in ROLES.items():
        orgs = ["CHER-CSP"] if role == "recipient" else None
        add_person(grants.url, login, [role], organisations=orgs)
    return grants


def _refused(output: str) -> bool:
    return output.startswith("Error: ") and "but not" in output and "ask an" in output


def test_every_role_against_every_kind_of_work(ledger: Grants, tmp_path: Path) -> None:
    path = books(tmp_path, BOOKS)
    expected_refusals = []
    for role, login in ROLES.items():
        g = ledger.as_user(login)
        out = tmp_path / role
        out.mkdir()
        for what, args, allowed in WORK:
            argv = [a.format(books=path, out=out, role=role) for a in args]
            result = g(*argv)
            if role in allowed:
                assert not _refused(result.output), (role, what, result.output)
                assert result.exit_code in (0, 1), (role, what, result.output)
                if what in ("reconcile", "verify"):  # these exit 1 while errors stand
                    continue
                if what in ("the growth workbook", "the ESIF claim workbook"):
                    assert "holds no" in result.output, (role, what, result.output)
                    continue
                if what == "back up" and ledger.url.startswith("postgresql"):
                    assert "back it up with pg_dump" in result.output
                    continue
                assert result.exit_code == 0, (role, what, result.output)
            else:
                assert result.exit_code == 1 and _refused(result.output), (role, what,
                                                                         result.output)  # fmt: skip
                assert f"{login} is a{'n' if role[0] in 'aeiou' else ''} {role}" in result.output
                expected_refusals.append(login)
    log = json.loads(ledger("users", "audit", "--json").output)
    assert [e["login"] for e in log if e["kind"] == "refused"] == expected_refusals


def test_a_recipient_files_its_own_return_and_not_another_organisations(
    ledger: Grants, tmp_path: Path
) -> None:
    out = tmp_path / "forms"
    issued = ledger("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "-o", str(out))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    own = fill(out / "csf-2017-18-mid-year-cherwell.xlsx", tmp_path / "cherwell.xlsx")
    other = fill(out / "csf-2017-18-mid-year-da.xlsx", tmp_path / "da.xlsx", D13=1000, D14=500)
    cher = ledger.as_user("cher")
    refused = cher("returns", "import", "--received", "2017-10-20", str(other))
    assert refused.exit_code == 1
    assert "not for DA-ORG, whose lines are not theirs" in refused.output
    taken = cher("returns", "import", "--received", "2017-10-20", str(own))
    assert taken.exit_code == 0, taken.output
    # The recipient's listings show its own lines only; the officer's, every line.
    history = json.loads(cher("returns", "history", "--json").output)
    assert [(h["line"], h["recorded_by"]) for h in history] == [("CHERWELL", "cher")]
    balance = json.loads(cher("balance", "--json").output)
    assert [(b["year"], b["line"]) for b in balance] == [("2017-18", None), ("2017-18", "CHERWELL")]
    plans = json.loads(
        cher("plan", "show", "--stream", "CSF", "--year", "2017-18", "--json").output
    )
    assert {p["line"] for p in plans} == {"CHERWELL"}
    everything = json.loads(ledger("balance", "--json").output)
    assert {b["line"] for b in everything} >= {"CHERWELL", "DA"}
    # The officer sees both attempts in the audit log: the refused one and the one taken,
    # with the file's SHA-256.
    log = json.loads(ledger("users", "audit", "--json").output)
    kept = [(e["login"], e["kind"], e["action"]) for e in log]
    assert [e for e in kept if e[1] != "login"] == [
        ("cher", "refused", "import"), ("cher", "filed", "import"),
    ]  # fmt: skip
    assert ("cher", "login", "sign in") in kept  # each password sign-in is kept too
    attempts = [e for e in log if e["kind"] != "login"]
    theirs = hashlib.sha256(other.read_bytes()).hexdigest()
    assert attempts[0]["detail"].startswith(f"da.xlsx (SHA-256 {theirs}): cher is a recipient")
    assert "DA-ORG" in attempts[0]["detail"]
    sha256 = hashlib.sha256((tmp_path / "cherwell.xlsx").read_bytes()).hexdigest()
    assert attempts[1]["detail"] == (
        f"mid-year return CSF 2017-18 CHERWELL from cherwell.xlsx (SHA-256 {sha256})"
    )


def test_the_actor_on_an_entry_is_who_signed_in(ledger: Grants) -> None:
    typed = ledger("--actor", "Chief Finance Officer", "pay", "CSF", "2017-18", "CHERWELL", "1")
    assert typed.exit_code == 1
    assert "is not who is signed in (officer)" in typed.output
    assert ledger("pay", "CSF", "2017-18", "CHERWELL", "2").exit_code == 0
    add_person(ledger.url, "jo", ["officer"])
    assert ledger.as_user("jo")("--actor", "JO", "pay", "CSF", "2017-18", "DA", "3").exit_code == 0
    entries = json.loads(ledger("journal", "--json").output)
    assert [(e["kind"], e["amount"], e["actor"]) for e in entries if e["kind"] == "pay"] == [
        ("pay", "2.00", "officer"),
        ("pay", "3.00", "jo"),
    ]


# Books with an error the first reading finds (no such directive).
BROKEN = "2017-04-01 NOPE CSF 2017-18 1\n"


def test_a_load_is_refused_before_the_books_are_read(ledger: Grants, tmp_path: Path) -> None:
    """Whoever may not load books is told so at once, not after the books are read (large
    books take minutes): not what is wrong with books they may not load, nor that a file is
    missing; and the refusal is audited, as any other."""
    broken = books(tmp_path, BROKEN, "broken.grants")
    assert "NOPE" in ledger("ledger", "load", str(broken)).output  # an officer is told
    for role in ("viewer", "recipient", "admin"):
        g = ledger.as_user(ROLES[role])
        for path in (broken, tmp_path / "missing.grants"):
            result = g("ledger", "load", str(path))
            assert result.exit_code == 1 and _refused(result.output), (role, result.output)
            assert "NOPE" not in result.output and "missing" not in result.output
    log = json.loads(ledger("users", "audit", "--json").output)
    refused = [(e["login"], e["action"]) for e in log if e["kind"] == "refused"]
    assert refused == [(ROLES[r], "load") for r in ("viewer", "recipient", "admin") for _ in "ab"]


def test_nobody_signed_in_is_refused_a_second_load_before_the_books_are_read(
    empty_url: str, tmp_path: Path
) -> None:
    """Into an empty ledger with no people anyone may load (an export restored brings its
    people); once it holds records, nobody signed in is refused at once, the books unread."""
    g = Grants(empty_url)
    assert g("db", "upgrade", "--for-restore").exit_code == 0
    assert g("ledger", "load", str(books(tmp_path, BOOKS))).exit_code == 0
    result = g("ledger", "load", str(books(tmp_path, BROKEN, "broken.grants")))
    assert result.exit_code == 1
    assert result.output.startswith("Error: nobody is signed in, and only a person of the ledger "
                                    "may load books into the ledger"), result.output  # fmt: skip
    assert "NOPE" not in result.output
    again = g("ledger", "load", str(tmp_path / "books.grants"))  # unchanged books: refused too
    assert again.exit_code == 1 and "nobody is signed in" in again.output
