"""What each person is shown: a recipient its own lines (and those beneath them) in every
listing, with totals of its own; what is due, as it stands on a day; and no command that
decides any of it itself."""

from __future__ import annotations

import ast
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from grants.db.engine import make_engine, make_session_factory
from grants.errors import Refused
from grants.services import access, people
from grants.services.due import due
from grants.services.listings import allocation_rows, journal_rows
from tests.conftest import ROOT, Grants, add_person
from tests.helpers import books
from tests.test_plan_forms import fill as fill_plan
from tests.test_returns import fill

# A partnership (SOP) whose line is split between two districts, and a line of its own for
# another organisation, which also has a line of another stream (with no reporting
# calendar). Cherwell has an agreed plan; the others have none.
BOOKS = """\
2017-04-01 org PCC "The Commissioner"
  role: funder
2017-04-01 org SOP "Safer Oxfordshire Partnership"
  role: recipient
2017-04-01 org CHER-CSP "Cherwell Community Safety Partnership"
  role: recipient
2017-04-01 org OX-CSP "Oxford Community Safety Partnership"
  role: recipient
2017-04-01 org DA-ORG "Domestic abuse service"
  role: recipient

2017-04-01 stream CSF "Community safety fund"
  kind: pcc-csf
  funder: PCC

2017-04-01 line CSF CSP "Community Safety Partnerships"
  recipient: SOP
2017-04-01 line CSF CHERWELL "Cherwell"
  parent: CSP
  recipient: CHER-CSP
2017-04-01 line CSF OXFORD "Oxford"
  parent: CSP
  recipient: OX-CSP
2017-04-01 line CSF DA "Domestic abuse"
  recipient: DA-ORG

2017-04-01 award CSF 2017-18 100,000
2017-04-01 allocate CSF 2017-18 CSP 60,000
2017-04-01 allocate CSF 2017-18 CHERWELL 25,000
  share: 41.7%
2017-04-01 allocate CSF 2017-18 OXFORD 35,000
  share: 58.3%
2017-04-01 allocate CSF 2017-18 DA 20,000
2017-05-02 pay CSF 2017-18 CHERWELL 1,000
2017-05-02 pay CSF 2017-18 OXFORD 2,000
2017-05-02 pay CSF 2017-18 DA 500

2017-04-01 stream LGF "Local growth fund"
  kind: lgf
  funder: PCC
2017-04-01 line LGF SKILLS "Skills capital"
  recipient: DA-ORG
2017-04-01 award LGF 2017-18 5,000
2017-04-01 allocate LGF 2017-18 SKILLS 5,000

2017-04-01 due CSF 2017-18 plan 2017-06-30
2017-04-01 due CSF 2017-18 mid-year 2017-10-31
  to: 2017-09-30
2017-04-01 due CSF 2017-18 end-year 2018-04-30
  to: 2018-03-31

2017-06-20 plan CSF 2017-18 CHERWELL "Three IDVA posts"
  cost: 15,000
  pcc-objective: 1
2017-06-20 plan CSF 2017-18 CHERWELL "ASB caseworker"
  cost: 10,000
  pcc-objective: 2
2017-06-30 agree CSF 2017-18 CHERWELL
"""

PEOPLE = {"cher": ["CHER-CSP"], "sop": ["SOP"], "vic": None}


@pytest.fixture
def ledger(grants: Grants, tmp_path: Path) -> Grants:
    assert grants("ledger", "load", str(books(tmp_path, BOOKS))).exit_code == 0
    for login, orgs in PEOPLE.items():
        add_person(grants.url, login, ["viewer"] if orgs is None else ["recipient"],
                   organisations=orgs)  # fmt: skip
    return grants


def _json(g: Grants, *args: str) -> Any:
    result = g(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _file_cherwell(ledger: Grants, tmp_path: Path, received: str) -> Path:
    """Cherwell's mid-year return, issued by the officer, filled and filed by its recipient."""
    out = tmp_path / "forms"
    issued = ledger("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "--line", "CHERWELL", "-o", str(out))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    filled = fill(out / "csf-2017-18-mid-year-cherwell.xlsx", tmp_path / "cherwell.xlsx")
    taken = ledger.as_user("cher")("returns", "import", "--received", received, str(filled))
    assert taken.exit_code == 0, taken.output
    return filled


# -- every rule in the services ----------------------------------------------------------

CHECKS = {"require", "require_line", "visible_lines", "organisations"}


def _checks_in(source: str, name: str) -> list[str]:
    """Where ``source`` calls or imports a check of grants.services.access."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in CHECKS
            and isinstance(node.value, ast.Name)
            and node.value.id == "access"
        ):
            found.append(f"{name}:{node.lineno}: .{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("access"):
            names = {a.name for a in node.names} & CHECKS
            found += [f"{name}:{node.lineno}: imports {n}" for n in sorted(names)]
    return found


def test_no_command_decides_who_may_do_what() -> None:
    """The command line only says who is signed in (cli/common.py binds them to the
    session); every check and every recipient's scoping is the services', so the web
    service calls the same rules."""
    found = []
    for path in sorted((ROOT / "src" / "grants" / "cli").glob("*.py")):
        found += _checks_in(path.read_text(encoding="utf-8"), path.name)
    assert found == []


def test_the_scan_finds_a_command_that_decides() -> None:
    written = "from grants.services import access\n\ndef f(s):\n    access.require(s, 'read')\n"
    imported = "from grants.services.access import visible_lines, bind\n"
    assert _checks_in(written, "a.py") == ["a.py:4: .require"]
    assert _checks_in(imported, "b.py") == ["b.py:1: imports visible_lines"]
    assert _checks_in("rows = [s.organisations for s in people]\n", "c.py") == []


# -- a recipient's own lines -------------------------------------------------------------


def test_a_recipients_journal_lists_only_entries_that_touch_its_lines(ledger: Grants) -> None:
    everything = _json(ledger, "journal")
    assert {e["line"] for e in everything} == {None, "CSP", "CHERWELL", "OXFORD", "DA", "SKILLS"}
    cher = _json(ledger.as_user("cher"), "journal")
    assert [(e["kind"], e["line"], e["amount"]) for e in cher] == [
        ("allocate", "CHERWELL", "25000.00"),
        ("pay", "CHERWELL", "1000.00"),
    ]
    # The partnership's recipient sees its line and the districts' beneath it.
    sop = _json(ledger.as_user("sop"), "journal")
    assert {e["line"] for e in sop} == {"CSP", "CHERWELL", "OXFORD"}
    assert [e["entry"] for e in sop] == [
        e["entry"] for e in everything if e["line"] in ("CSP", "CHERWELL", "OXFORD")
    ]
    assert [e["line"] for e in _json(ledger.as_user("cher"), "journal", "--limit", "1")] == [
        "CHERWELL"
    ]
    # A viewer reads every entry.
    assert _json(ledger.as_user("vic"), "journal") == everything


def test_the_last_entries_are_the_last_of_the_whole_journal_in_order(ledger: Grants) -> None:
    """`--limit N` is the last N of what the same person is shown without it, oldest first,
    however the journal is narrowed (a stream, a recipient's lines)."""
    for who, args in [(ledger, ()), (ledger, ("--stream", "LGF")), (ledger.as_user("cher"), ()),
                      (ledger.as_user("sop"), ("--stream", "CSF"))]:  # fmt: skip
        whole = _json(who, "journal", *args)
        assert len(whole) >= 2
        for n in range(1, len(whole) + 2):
            assert _json(who, "journal", *args, "--limit", str(n)) == whole[-n:], (args, n)
        for n in (2**63 - 1, 2**63, 10**30):  # beyond what any LIMIT holds: all of them
            assert _json(who, "journal", *args, "--limit", str(n)) == whole, (args, n)


def test_a_recipients_allocations_and_streams_are_its_own(ledger: Grants) -> None:
    every = _json(ledger, "allocations", "--stream", "CSF")
    assert {a["line"] for a in every} == {"CSP", "CHERWELL", "OXFORD", "DA"}
    cher = _json(ledger.as_user("cher"), "allocations", "--stream", "CSF")
    # Its share is of the partnership's line, which it cannot see: left out (with the share
    # and its own amount, one could work out the partnership's allocation).
    assert [(a["line"], a["amount"], a["share"], a["recipient"]) for a in cher] == [
        ("CHERWELL", "25000.00", None, "Cherwell Community Safety Partnership")
    ]
    sop = _json(ledger.as_user("sop"), "allocations", "--stream", "CSF")
    assert [a["line"] for a in sop] == ["CSP", "CHERWELL", "OXFORD"]
    assert [s["code"] for s in _json(ledger, "streams")] == ["CSF", "LGF"]
    assert [s["code"] for s in _json(ledger.as_user("cher"), "streams")] == ["CSF"]
    # With no stream named, a recipient's only stream is the one meant.
    assert _json(ledger.as_user("cher"), "allocations") == cher
    named = ledger("allocations")
    assert named.exit_code == 2 and "the ledger holds CSF, LGF" in named.output


def test_a_recipient_in_no_stream_sees_none(ledger: Grants) -> None:
    add_person(ledger.url, "nobody", ["recipient"], organisations=["PCC"])  # funds, gets none
    g = ledger.as_user("nobody")
    assert _json(g, "streams") == []
    assert _json(g, "journal") == []
    assert _json(g, "balance") == []
    assert _json(g, "returns", "due") == []
    # A stream it has no line in is one it cannot see: answered as one that is not there.
    for typed in ("CSF", "XYZ"):
        result = g("allocations", "--stream", typed)
        assert result.exit_code == 1
        assert result.output == f"Error: there is no funding stream '{typed}'; " + (
            "`grants streams` lists them\n"
        )
    named = g("allocations")
    assert named.exit_code == 1 and "you have no lines in any funding stream" in named.output


def test_a_recipients_balance_has_headings_with_its_own_totals(ledger: Grants) -> None:
    officer = _json(ledger, "balance")
    heading = next(b for b in officer if b["line"] is None)
    assert (heading["allocated"], heading["paid"]) == ("80000.00", "3500.00")  # CSP + DA
    cher = _json(ledger.as_user("cher"), "balance")
    assert [(b["stream"], b["year"], b["line"]) for b in cher] == [
        ("CSF", "2017-18", None),
        ("CSF", "2017-18", "CHERWELL"),
    ]
    head, line = cher
    assert (head["allocated"], head["paid"], head["reported"]) == (
        line["allocated"], line["paid"], line["reported"]
    )  # fmt: skip
    assert (line["allocated"], line["paid"]) == ("25000.00", "1000.00")
    # What was awarded, stated and left unallocated is the stream's, not the recipient's.
    assert (head["awarded"], head["stated"], head["unallocated"]) == (None, None, None)
    # The partnership's lines: the districts' allocations are part of its own, not added.
    sop = _json(ledger.as_user("sop"), "balance")
    head = sop[0]
    assert [b["line"] for b in sop] == [None, "CSP", "CHERWELL", "OXFORD"]
    assert (head["allocated"], head["paid"]) == ("60000.00", "3000.00")
    table = ledger.as_user("cher")("balance").output
    assert table.splitlines()[0].startswith("stream / line")
    assert "CSF 2017-18" in table and "£25,000.00" in table and "£100,000.00" not in table


def test_a_recipients_plans_and_history_are_its_own(ledger: Grants, tmp_path: Path) -> None:
    _file_cherwell(ledger, tmp_path, "2017-10-20")
    plans = _json(ledger.as_user("sop"), "plan", "show", "--stream", "CSF", "--year", "2017-18")
    assert [(p["line"], p["cost"], p["agreed"]) for p in plans] == [
        ("CHERWELL", "15000.00", "2017-06-30"),
        ("CHERWELL", "10000.00", "2017-06-30"),
    ]
    ox = ledger.as_user("sop")
    assert [h["line"] for h in _json(ox, "returns", "history")] == ["CHERWELL"]
    add_person(ledger.url, "ox", ["recipient"], organisations=["OX-CSP"])
    oxford = ledger.as_user("ox")
    assert _json(oxford, "returns", "history") == []
    assert _json(oxford, "plan", "show", "--stream", "CSF", "--year", "2017-18") == []
    # A line mistyped is answered with the recipient's own lines, never another's.
    assert "did you mean CHERWELL?" in ledger("returns", "history", "--stream", "CSF",
                                              "--line", "CHERWEL").output  # fmt: skip
    typo = oxford("returns", "history", "--stream", "CSF", "--line", "CHERWEL").output
    assert "has no line 'CHERWEL'" in typo and "CHERWELL" not in typo.replace("CHERWEL'", "")


# -- what is due -------------------------------------------------------------------------


def _due(g: Grants, *args: str) -> list[dict[str, Any]]:
    return _json(g, "returns", "due", *args)  # type: ignore[no-any-return]


def _stages(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["stage"]: s for s in line["stages"]}


def test_what_is_due_for_every_line_and_for_a_recipients_own(
    ledger: Grants, tmp_path: Path
) -> None:
    filled = _file_cherwell(ledger, tmp_path, "2017-10-20")
    as_of = date(2017, 11, 15)
    every = _due(ledger, "--as-of", "15/11/2017")
    # The partnership's line reports through its districts.
    assert [(d["stream"], d["year"], d["line"]) for d in every] == [
        ("CSF", "2017-18", "CHERWELL"), ("CSF", "2017-18", "OXFORD"), ("CSF", "2017-18", "DA"),
    ]  # fmt: skip
    assert _due(ledger.as_user("vic"), "--as-of", "2017-11-15") == every
    assert [d["line"] for d in _due(ledger.as_user("sop"), "--as-of", "2017-11-15")] == [
        "CHERWELL", "OXFORD"
    ]  # fmt: skip
    mine = _due(ledger.as_user("cher"), "--as-of", "2017-11-15")
    assert mine == every[:1]
    cher, oxford, da = every
    # The figures are the line's own for the year; the spend is what its return reported.
    history = _json(ledger, "returns", "history")
    assert (cher["recipient"], cher["allocation"], cher["paid"]) == (
        "Cherwell Community Safety Partnership", "25000.00", "1000.00"
    )  # fmt: skip
    assert Decimal(cher["reported"]) == Decimal(history[0]["spend_to_date"]) > 0
    assert (da["allocation"], da["paid"], da["reported"]) == ("20000.00", "500.00", "0.00")
    # A plan in the books meets the plan stage; the return filed is filed, with its receipt.
    stages = _stages(cher)
    assert list(stages) == ["plan", "mid-year", "end-year"]
    assert stages["plan"] | {"status": None} == {
        "stage": "plan", "due": "2017-06-30", "opens": None, "state": "filed",
        "days": (date(2017, 6, 30) - as_of).days, "filed_on": "2017-06-20", "receipt": None,
        "late": False, "status": None,
    }  # fmt: skip
    filing = history[0]["filing"]
    assert (stages["mid-year"]["state"], stages["mid-year"]["filed_on"]) == ("filed", "2017-10-20")
    assert stages["mid-year"]["receipt"] == f"return #{filing}"
    assert stages["mid-year"]["status"] == f"filed 20 October 2017 (return #{filing})"
    assert filled.name == history[0]["file"]
    # Overdue against the day asked about; a return whose period has not ended is not open.
    assert _stages(oxford)["mid-year"]["state"] == "overdue"
    assert _stages(oxford)["mid-year"]["days"] == -(as_of - date(2017, 10, 31)).days == -15
    assert _stages(oxford)["mid-year"]["status"] == "overdue by 15 days"
    assert _stages(da)["plan"]["status"] == f"overdue by {(as_of - date(2017, 6, 30)).days} days"
    end = _stages(oxford)["end-year"]
    assert (end["state"], end["opens"]) == ("not-open", "2018-04-01")
    assert end["status"] == "not yet open (opens 1 April 2018)"


def test_what_is_due_changes_with_the_day_asked_about(ledger: Grants, tmp_path: Path) -> None:
    _file_cherwell(ledger, tmp_path, "2017-10-20")

    def mid_year(line: str, day: str) -> tuple[str, int, str]:
        rows = _due(ledger, "--stream", "csf", "--year", "2017-18", "--as-of", day)
        s = _stages(next(d for d in rows if d["line"] == line))["mid-year"]
        return s["state"], s["days"], s["status"]

    assert mid_year("OXFORD", "2017-09-30") == (
        "not-open", 31, "not yet open (opens 1 October 2017)"
    )  # fmt: skip
    assert mid_year("OXFORD", "2017-10-01") == ("due", 30, "due in 30 days")
    assert mid_year("OXFORD", "2017-10-30") == ("due", 1, "due in 1 day")
    assert mid_year("OXFORD", "2017-10-31") == ("due-today", 0, "due today")
    assert mid_year("OXFORD", "2017-11-01") == ("overdue", -1, "overdue by 1 day")
    # Cherwell's return counts from the day it was received, not before.
    assert mid_year("CHERWELL", "2017-10-19")[0] == "due"
    assert mid_year("CHERWELL", "2017-10-20")[0] == "filed"
    # Before the plan was recorded, the plan stage was due.
    plan = _stages(_due(ledger, "--as-of", "2017-06-19")[0])["plan"]
    assert (plan["state"], plan["days"]) == ("due", 11)


def test_what_is_due_as_a_table_and_its_refusals(ledger: Grants, tmp_path: Path) -> None:
    _file_cherwell(ledger, tmp_path, "2017-11-02")  # two days late
    table = ledger.as_user("cher")("returns", "due", "--as-of", "2017-11-15")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "as of 15 November 2017"
    assert lines[1].split() == ["stream", "year", "line", "recipient", "allocation", "paid",
                                "reported", "stage", "due", "status"]  # fmt: skip
    assert "£25,000.00" in table.output and "£1,000.00" in table.output
    assert "31 October 2017" in table.output
    assert "filed 2 November 2017, 2 days late (return #" in lines[4]
    assert "OXFORD" not in table.output
    unknown = ledger("returns", "due", "--stream", "CFS")
    assert unknown.exit_code == 1 and "did you mean CSF?" in unknown.output
    empty = ledger("returns", "due", "--year", "2019-20")
    assert empty.exit_code == 0 and empty.output.startswith("nothing is due for 2019-20")
    bad = ledger("returns", "due", "--as-of", "31/02/2018")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_which_workbooks_to_write_is_the_services_and_a_refusal_writes_nothing(
    ledger: Grants, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    refused = ledger.as_user("cher")("report", "all", "-o", str(out))
    assert refused.exit_code == 1 and "but not run reports" in refused.output
    assert not out.exists()


def test_the_services_a_web_page_calls_scope_by_the_person_bound(ledger: Grants) -> None:
    """Called directly, as the web service will: the person bound to the session decides."""
    engine = make_engine(ledger.url)
    try:
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            access.bind(session, people.actor_for(session, "cher", None))
            (line,) = due(session, as_of=date(2017, 11, 15))
            assert (line.stream, str(line.year), line.line) == ("CSF", "2017-18", "CHERWELL")
            assert (line.allocated, line.paid, line.reported) == (
                Decimal("25000.00"), Decimal("1000.00"), Decimal("0.00")
            )  # fmt: skip
            assert [(s.stage, s.state) for s in line.stages] == [
                ("plan", "filed"), ("mid-year", "overdue"), ("end-year", "not-open")
            ]  # fmt: skip
            assert {r.line for r in journal_rows(session)} == {"CHERWELL"}
            assert [r.line for r in allocation_rows(session, "CSF")] == ["CHERWELL"]
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            with pytest.raises(Refused, match="nobody is signed in"):
                due(session)
    finally:
        engine.dispose()


def test_a_plan_form_filed_is_in_the_plan_history_and_meets_the_plan_stage(
    ledger: Grants, tmp_path: Path
) -> None:
    add_person(ledger.url, "ox", ["recipient"], organisations=["OX-CSP"])
    issued = ledger("plan", "issue", "--stream", "CSF", "--year", "2017-18", "--line", "OXFORD",
                    "-o", str(tmp_path / "plans"))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    filled = fill_plan(tmp_path / "plans" / "csf-2017-18-plan-oxford.xlsx",
                       tmp_path / "oxford.xlsx", E13="£20,000", E14=15000)  # fmt: skip
    oxford = ledger.as_user("ox")
    taken = oxford("plan", "import", "--received", "2017-07-03", str(filled))
    assert taken.exit_code == 0, taken.output
    (row,) = _json(oxford, "plan", "history")
    assert (row["line"], row["year"], row["file"], row["received"], row["recorded_by"]) == (
        "OXFORD", "2017-18", "oxford.xlsx", "2017-07-03", "ox"
    )  # fmt: skip
    assert row["lines"] == 2 and row["completed_by"] == "Jo Bloggs"
    assert _json(ledger, "plan", "history") == [row]
    assert _json(ledger.as_user("cher"), "plan", "history") == []
    assert _json(ledger, "plan", "history", "--stream", "CSF", "--line", "DA") == []
    # The plan stage is met on the day it was received, three days late, with its receipt.
    (line,) = _due(oxford, "--as-of", "2017-11-15")
    plan = _stages(line)["plan"]
    assert (plan["state"], plan["filed_on"], plan["late"]) == ("filed", "2017-07-03", True)
    assert plan["receipt"] == f"plan #{row['filing']}"
    assert plan["status"] == f"filed 3 July 2017, 3 days late (plan #{row['filing']})"
    table = ledger("plan", "history").output
    assert "oxford.xlsx" in table and "3 July 2017" in table


# -- no line a recipient cannot see is named, and no code is a probe ---------------------


def _strings(data: Any) -> set[str]:
    """Every string in a JSON document, keys and values."""
    if isinstance(data, dict):
        return set(data) | {t for v in data.values() for t in _strings(v)}
    if isinstance(data, list):
        return {t for v in data for t in _strings(v)}
    return {data} if isinstance(data, str) else set()


LISTINGS = [
    ["journal"], ["balance"], ["allocations"], ["streams"], ["returns", "due"],
    ["returns", "history"], ["plan", "show", "--year", "2017-18"], ["plan", "history"],
]  # fmt: skip


def test_a_recipient_is_not_shown_a_line_it_cannot_see_nor_a_share_of_it(
    grants: Grants, tmp_path: Path
) -> None:
    # Oxford's money moved to Cherwell: an entry that touches Cherwell's line from a line
    # Cherwell's recipient cannot see.
    extra = "2017-06-01 virement CSF 2017-18 OXFORD CHERWELL 100\n"
    loaded = grants("ledger", "load", str(books(tmp_path, BOOKS + extra)))
    assert loaded.exit_code == 0, loaded.output
    for login, orgs in PEOPLE.items():
        add_person(grants.url, login, ["viewer"] if orgs is None else ["recipient"],
                   organisations=orgs)  # fmt: skip
    cher = grants.as_user("cher")
    for args in LISTINGS:
        shown = _strings(_json(cher, *args))
        assert not shown & {"CSP", "DA", "OXFORD", "41.7%", "58.3%"}, (args, shown)
        table = cher(*args).output
        assert " CSP " not in f" {table} ".replace("\n", " "), (args, table)
        assert "41.7" not in table and "DA " not in table, (args, table)
    virement = [e for e in _json(cher, "journal") if e["kind"] == "virement"]
    assert [(e["line"], e["amount"]) for e in virement] == [(None, "100.00")]
    [line] = [b for b in _json(cher, "balance") if b["line"] == "CHERWELL"]
    assert line["parent"] is None
    # The partnership's recipient sees its line: the districts' parent and shares stand.
    sop = _json(grants.as_user("sop"), "allocations", "--stream", "CSF")
    assert [(a["line"], a["share"], a["parent"]) for a in sop] == [
        ("CSP", None, None), ("CHERWELL", "41.7%", "CSP"), ("OXFORD", "58.3%", "CSP"),
    ]  # fmt: skip
    assert {b["parent"] for b in _json(grants.as_user("sop"), "balance")} == {None, "CSP"}
    # An officer sees every line's parent and share.
    every = _json(grants, "allocations", "--stream", "CSF")
    assert ("CHERWELL", "41.7%", "CSP") in [(a["line"], a["share"], a["parent"]) for a in every]
    assert ("virement", "OXFORD") in [(e["kind"], e["line"]) for e in _json(grants, "journal")]


# What a recipient may run with a stream or line named, and how an answer names the code.
PROBES: list[list[str]] = [
    ["journal", "--stream", "{stream}"],
    ["balance", "--stream", "{stream}"],
    ["allocations", "--stream", "{stream}"],
    ["returns", "due", "--stream", "{stream}"],
    ["returns", "history", "--stream", "{stream}"],
    ["plan", "show", "--stream", "{stream}", "--year", "2017-18"],
    ["plan", "history", "--stream", "{stream}"],
]


def _answer(g: Grants, args: list[str], **codes: str) -> tuple[int, str]:
    result = g(*[a.format(**codes) for a in args])
    return result.exit_code, result.output.replace(codes.get("typed", "\0"), "CODE")


def test_a_code_a_recipient_cannot_see_is_answered_as_one_not_there(ledger: Grants) -> None:
    cher = ledger.as_user("cher")
    for args in PROBES:  # LGF exists (DA-ORG's); LGX and XYZ do not
        hidden = _answer(cher, args, stream="LGF", typed="LGF")
        assert hidden == _answer(cher, args, stream="LGX", typed="LGX"), args
        assert hidden[0] == 1 and "there is no funding stream 'CODE'" in hidden[1], hidden
        # Its near miss is drawn from what it sees: not LGF.
        assert "LGF" not in cher(*[a.format(stream="LGG") for a in args]).output
        assert _answer(ledger, args, stream="LGF", typed="LGF")[0] == 0, args
    lines = [
        ["plan", "show", "--stream", "CSF", "--year", "2017-18", "--line", "{line}"],
        ["plan", "history", "--stream", "CSF", "--line", "{line}"],
        ["returns", "history", "--stream", "CSF", "--line", "{line}"],
    ]
    for args in lines:  # CSP and OXFORD exist (the partnership's, Oxford's); NOPE does not
        for hidden_line in ("CSP", "OXFORD"):
            hidden = _answer(cher, args, line=hidden_line, typed=hidden_line)
            assert hidden == _answer(cher, args, line="NOPE", typed="NOPE"), args
            assert hidden[0] == 1 and "CSF has no line 'CODE'" in hidden[1], hidden
        near = cher(*[a.format(line="OXFORF") for a in args]).output
        assert "OXFORD" not in near and "did you mean" not in near, near
        assert "did you mean CHERWELL?" in cher(*[a.format(line="CHERWEL") for a in args]).output
        assert ledger(*[a.format(line="OXFORD") for a in args]).exit_code == 0, args
    # Work a recipient may not do is refused whatever code it types, seen or not.
    for line in ("DA", "NOPE"):
        refused = cher("plan", "add", "CSF", "2017-18", line, "Posts", "--cost", "1")
        assert refused.exit_code == 1 and "but not record" in refused.output, refused.output
    for stream in ("LGF", "XYZ"):
        refused = cher("programme", "--stream", stream)
        assert refused.exit_code == 1 and "but not run reports" in refused.output
