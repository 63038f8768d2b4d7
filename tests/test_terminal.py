"""What reaches the terminal: text from the ledger and its files can never act on it (no
escape sequence, no bidi override, no line that the ledger does not hold), and JSON stays
JSON. Hostile text is put straight into the database, as a damaged or hostile database
would hold it: the commands that record data refuse it at the door."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from grants.cli import terminal
from grants.cli.main import cli
from grants.db.engine import make_session_factory
from grants.formatting import day
from grants.periods import parse_period
from grants.services.journal import Journal, NewEntry
from grants.services.rules import Operation
from tests.conftest import ROOT, Grants
from tests.helpers import FUND as FUND_OF_LINES
from tests.helpers import books
from tests.test_plans import FUND
from tests.test_returns import KEEP, fill

# The fund of tests/helpers.py without its lines, awarded enough for hundreds.
FUND_HEAD = FUND_OF_LINES.partition('2017-04-01 line FUND A "Line A"')[0] + (
    "2017-04-01 award FUND 2017-18 1000000\n"
)

# Clear the screen, retitle the window, a C1 CSI, a right-to-left override, a zero-width space.
HOSTILE = "\x1b[2J\x1b]0;title\x07\x9b\u202e\u200b"
SHOWN = "\\x1b[2J\\x1b]0;title\\x07\\x9b<U+202E><U+200B>"
QUOTED = "\\x1b[2J\\x1b]0;title\\x07\\x9b\\u202e\\u200b"  # as a message quotes it with repr()
# What no line printed for people may hold (C0 but line feed, DEL, C1, format characters).
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

CALENDAR = """\
2017-04-01 due CSF 2017-18 mid-year 2017-10-31
  to: 2017-09-30
2017-06-20 plan CSF 2017-18 CHERWELL "Three IDVA posts"
  cost: 40,000
"""


def test_visible_shows_what_would_act_on_a_terminal() -> None:
    assert terminal.visible("plain £1,234 café") == "plain £1,234 café"
    assert terminal.visible(HOSTILE) == SHOWN
    assert terminal.visible("a\nb\r\tc\x7f\u2028\ufeff") == "a\\nb\\r\\tc\\x7f<U+2028><U+FEFF>"
    assert terminal.visible(terminal.visible(HOSTILE)) == SHOWN  # shown once, not twice
    assert terminal.visible("bad\udcff.xlsx") == "bad<U+DCFF>.xlsx"  # an undecodable name


def test_json_stays_json_with_nothing_raw() -> None:
    value = f"x{HOSTILE}\ny\x7f\U000e0001"
    shown = terminal.json_text({"reason": value, "£": "é"})
    assert json.loads(shown) == {"reason": value, "£": "é"}
    assert not RAW.search(shown)
    assert '"£": "é"' in shown
    assert "\\u001b[2J\\u001b]0;title\\u0007\\u009b\\u202e\\u200b\\ny\\u007f\\udb40\\udc01" in shown


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3),
    max_leaves=12,
)  # fmt: skip


def _printed(data: object) -> str:
    @click.command()
    def show() -> None:
        terminal.json(data)

    return CliRunner().invoke(show, catch_exceptions=False).output


@settings(max_examples=200, deadline=None)
@given(items=st.lists(_JSON_VALUES | st.just(HOSTILE + "\n\u2028\udcff"), max_size=6))
def test_a_list_printed_in_batches_is_the_whole_list_printed(items: list[object]) -> None:
    """As a list, a tuple or a generator, encoded in batches of any size: the same text as
    the whole list's JSON, character for character."""
    whole = json.dumps(items, indent=2, ensure_ascii=False)
    assert json.loads(whole) == items
    assert terminal.json_text(items) == terminal._JSON_CANDIDATE.sub(terminal._json_escape, whole)
    expected = terminal.json_text(items) + "\n"
    kept = terminal._BATCH
    try:
        for batch in (1, 2, kept):
            terminal._BATCH = batch
            assert _printed(items) == expected
            assert _printed(tuple(items)) == expected
            assert _printed(item for item in items) == expected
    finally:
        terminal._BATCH = kept
    assert not RAW.search(expected)


def test_a_list_whose_item_fails_to_be_made_prints_nothing() -> None:
    """Items are made as they are encoded, and printed once all are: an item that fails
    (a row of a ledger changed behind its back) leaves no half of the JSON printed."""

    def rows() -> Iterator[dict[str, int]]:
        for i in range(2_500):
            if i == 2_100:
                raise ValueError("a row that cannot be made")
            yield {"i": i}

    @click.command()
    def show() -> None:
        terminal.json(rows())

    result = CliRunner().invoke(show)
    assert isinstance(result.exception, ValueError) and result.output == ""


def test_a_reader_that_stops_reading_ends_the_command_quietly(
    grants: Grants, tmp_path: Path
) -> None:
    """`grants balance --json | head`: the command ends when its reader does, exit code 1
    and nothing said (click's own way), not an "unexpected failure"."""
    lines = "".join(f'2017-04-01 line FUND L{i:03d} "Line {i}"\n' for i in range(400))
    allocated = "".join(f"2017-05-01 allocate FUND 2017-18 L{i:03d} 1\n" for i in range(400))
    loaded = grants("ledger", "load", str(books(tmp_path, FUND_HEAD + lines + allocated)))
    assert loaded.exit_code == 0, loaded.output
    env = {**os.environ, "GRANTS_USER": grants.env["GRANTS_USER"] or "",
           "GRANTS_PASSWORD": grants.env["GRANTS_PASSWORD"] or ""}  # fmt: skip
    command = [sys.executable, "-c", "from grants.cli.main import cli; cli()",
               "--database", grants.url, "balance", "--json"]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as p:
        assert p.stdout is not None and p.stderr is not None
        assert p.stdout.readline() == b"[\n"  # (more than a pipe holds is still to come)
        p.stdout.close()
        error = p.stderr.read().decode()
        assert p.wait() == 1
    assert error == ""


def test_a_table_cell_is_one_line_and_the_columns_line_up() -> None:
    assert terminal.render_table(["#", "name"], [["1", "two\nlines"], ["10", "x"]], {0}) == (
        " #  name\n--  ----------\n 1  two\\nlines\n10  x"
    )


def test_error_messages_lose_the_secrets_and_stay_on_one_line() -> None:
    assert (
        terminal.error_text("cannot log in as 'u' with 'hunter22'\nDETAIL: x", ["hunter22"])
        == "cannot log in as 'u' with '***'\\nDETAIL: x"
    )


def test_every_command_prints_through_the_terminal_module() -> None:
    for path in sorted((ROOT / "src" / "grants" / "cli").glob("*.py")):
        if path.name != "terminal.py":
            source = path.read_text(encoding="utf-8")
            assert not re.search(r"\bclick\.(echo|secho)\(|\bprint\(", source), path.name


def test_a_mistake_on_the_command_line_is_shown_safely() -> None:
    result = CliRunner().invoke(cli, [f"journal{HOSTILE}\n"], prog_name="grants")
    assert result.exit_code == 2
    assert result.output.endswith(f"Error: No such command 'journal{QUOTED}\\n'.\n")
    result = CliRunner().invoke(cli, ["--database", f"sqlite:////no/{HOSTILE}\nx.db", "balance"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: there is no database at /no/{SHOWN}\\nx.db: check --database, or run "
        "`grants db upgrade` to create it\n"
    )


@pytest.fixture
def hostile(grants: Grants, tmp_path: Path, engine: Engine) -> Grants:
    """A ledger with hostile text in a line's code and name, a plan line's title, an entry's
    reason and origin (written as the database would hold them), and a reversal whose reason
    has a line break that reads like a journal line (recorded by the command)."""
    assert grants("ledger", "load", str(books(tmp_path, FUND + CALENDAR))).exit_code == 0
    with make_session_factory(engine)() as session, session.begin():
        _insert_hostile(session)
    result = grants("reverse", "2", "--date", "2017-05-02",
                    "--reason", "wrong line\n4  2017-05-02  allocate (reverses 3)")  # fmt: skip
    assert result.exit_code == 0, result.output
    return grants


def _insert_hostile(session: Session) -> None:
    stream = session.execute(text("SELECT id FROM stream WHERE code = 'CSF'")).scalar_one()
    session.execute(
        text("INSERT INTO line (stream_id, code, name, kind, day) "
             "VALUES (:stream, :code, :name, 'allocation', :day)"),
        {"stream": stream, "code": f"EVIL{HOSTILE}", "name": f"Evil{HOSTILE}\nname",
         "day": date(2017, 4, 1)},
    )  # fmt: skip
    line = session.execute(
        text("SELECT id FROM line WHERE code = :code"), {"code": f"EVIL{HOSTILE}"}
    ).scalar_one()
    session.execute(
        text("INSERT INTO plan_line (key, day, line_id, year, position, title, cost_pence) "
             "VALUES ('hostile', :day, :line, 2017, 1, :title, 10000)"),
        {"day": date(2017, 4, 1), "line": line, "title": f"Title{HOSTILE}\n2  fake"},
    )  # fmt: skip
    op = Operation("allocate", "CSF", parse_period("2017-18"), 10_000, line=f"EVIL{HOSTILE}")
    Journal(session).record(
        [NewEntry(op, date(2017, 5, 1), "officer", datetime(2017, 5, 1), key="hostile",
                  reason=f"why{HOSTILE}\nfake", origin=f"origin{HOSTILE}\nfake")]
    )  # fmt: skip


def test_hostile_text_reaches_no_command_raw(hostile: Grants, tmp_path: Path) -> None:
    g = hostile
    books_path = tmp_path / "books.grants"
    journal = g("journal").output
    assert not RAW.search(journal)
    reversal = "command: grants reverse 2 --reason 'wrong line\\n4  2017-05-02  allocate "
    reversal += "(reverses 3)' --date 2017-05-02"
    origin = max(len(f"{books_path}:13"), len(reversal))
    days = [day(date(2017, 4, 1)), day(date(2017, 5, 1)), day(date(2017, 5, 2))]
    assert [re.split(r"  +", line.strip()) for line in journal.splitlines()] == [
        ["entry", "date", "kind", "stream", "year", "line", "amount", "actor", "origin"],
        ["-----", "-" * max(map(len, days)), "---------------------", "------", "-------", "-" * len(f"EVIL{SHOWN}"),
         "-----------", "-------", "-" * origin],
        ["1", days[0], "award", "CSF", "2017-18", "£100,000.00", "officer",
         f"{books_path}:13"],
        ["2", days[0], "allocate", "CSF", "2017-18", "CHERWELL", "£58,542.00", "officer",
         f"{books_path}:14"],
        ["3", days[1], "allocate", "CSF", "2017-18", f"EVIL{SHOWN}", "£100.00", "officer",
         f"origin{SHOWN}\\nfake"],
        ["4", days[2], "allocate (reverses 2)", "CSF", "2017-18", "CHERWELL", "-£58,542.00",
         "officer", "command: grants reverse 2 --reason 'wrong line\\n4", "2017-05-02",
         "allocate (reverses 3)' --date 2017-05-02"],
    ]  # fmt: skip
    entries = json.loads(g("journal", "--json").output)
    assert entries[2]["reason"] == f"why{HOSTILE}\nfake"  # JSON keeps the text exactly
    assert entries[3]["reason"] == "wrong line\n4  2017-05-02  allocate (reverses 3)"
    assert g("balance", "--summary").output.count("\n") == 3
    assert f"\n  EVIL{SHOWN}      " in g("balance").output
    assert f"  EVIL{SHOWN}  Evil{SHOWN}\\nname  £100.00\n" in (
        g("allocations", "--stream", "CSF").output
    )
    assert g("plan", "show", "--stream", "CSF", "--year", "2017-18").output.endswith(
        f"\nEVIL{SHOWN}  1  Title{SHOWN}\\n2  fake     100.00\n"
    )
    reconciled = g("reconcile", "--as-of", "2017-11-30").output
    missing = f"error    CSF 2017-18 EVIL{SHOWN}: the mid-year return, due {day(date(2017, 10, 31))}, is missing"
    assert missing in reconciled
    forms = tmp_path / "forms"
    issued = g("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage", "mid-year",
               "-o", str(forms))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    assert sorted(p.name for p in forms.iterdir()) == [
        "csf-2017-18-mid-year-cherwell.xlsx",
        "csf-2017-18-mid-year-evil--2j--0-title----.xlsx",  # a file name never holds data raw
    ]
    outputs = [reconciled, issued.output]
    for args in (["journal"], ["balance"], ["allocations", "--stream", "CSF"], ["streams"],
                 ["plan", "show", "--stream", "CSF", "--year", "2017-18"], ["ledger", "export"],
                 ["reconcile", "--json"], ["journal", "--json"], ["balance", "--json"],
                 ["allocations", "--stream", "CSF", "--json"], ["verify"]):  # fmt: skip
        outputs.append(g(*args).output)
    for output in outputs:
        assert not RAW.search(output), output


def test_file_names_and_what_files_hold_reach_no_command_raw(
    grants: Grants, tmp_path: Path
) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND + CALENDAR))).exit_code == 0
    bad = books(tmp_path, f"2017-04-01 award NOPE{HOSTILE} 2017-18 10\n", f"b{HOSTILE}\n.grants")
    shown_path = f"{tmp_path}/b{SHOWN}\\n.grants"
    where = (
        f"{shown_path}:1: award stream 'NOPE{QUOTED}' has U+001B ESCAPE at character 5: a "
        "control character; type it again without it\n"
    )
    checked = grants("ledger", "check", str(bad))
    assert checked.exit_code == 1
    assert checked.output == f"{where}1 error in {shown_path}\n"
    loaded = grants("ledger", "load", str(bad))
    assert loaded.exit_code == 1
    assert loaded.output == f"{where}Error: 1 error in {shown_path}: nothing was recorded\n"

    forms = tmp_path / "forms"
    issued = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "-o", str(forms))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    filled = fill(forms / "csf-2017-18-mid-year-cherwell.xlsx", tmp_path / f"r{HOSTILE}\nx.xlsx",
                  D14=KEEP)  # fmt: skip
    imported = grants("returns", "import", "--received", "2017-10-27", str(filled))
    assert imported.exit_code == 0, imported.output
    assert imported.output == (
        f"r{SHOWN}\\nx.xlsx:Return!D13: spend to date was typed as text ('£1,234'); read as "
        "£1,234.00 (warning)\n"
        f"r{SHOWN}\\nx.xlsx: recorded the mid-year return for CSF CHERWELL 2017-18: 1 line, "
        "spend to date £1,234.00\n"
    )
    history = grants("returns", "history").output
    assert f"  r{SHOWN}\\nx.xlsx  {day(date(2017, 10, 27))}  " in history and not RAW.search(
        history
    )


def test_a_progress_count_keeps_its_carriage_return(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(click, "echo", lambda message, **kw: shown.append(message))
    terminal.progress(f"checked 10 entries{HOSTILE}")
    assert shown == [f"\rchecked 10 entries{SHOWN}"]
