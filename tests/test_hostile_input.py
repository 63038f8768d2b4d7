"""Careless and hostile input: every case a clear, located error or the right figure."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from grants.ledger.loader import read_books
from tests.conftest import Grants
from tests.helpers import FUND, NOW, books, row_counts

BASE = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600
2017-04-01 allocate FUND 2017-18 A1 300
  share: 50.00%
2017-05-01 pay FUND 2017-18 A1 50
  id: pay1
  source: "remittance 0041"
"""
)


def load(g: Grants, path: Path) -> dict:
    result = g("ledger", "load", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def journal(g: Grants) -> list[dict]:
    return json.loads(g("journal", "--json").output)


def test_an_export_loaded_back_changes_nothing(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    assert (
        grants("pay", "FUND", "2017-18", "A1", "10", "--reason", "top-up\nsecond line").exit_code
        == 0
    )
    assert grants("reverse", "pay1", "--reason", "wrong line").exit_code == 0
    before = journal(grants)
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    report = load(grants, out / "main.grants")
    assert report["created"].get("journal entry", 0) == 0
    assert journal(grants) == before


def test_a_second_identical_payment_with_its_own_source_is_recorded(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, books(tmp_path, BASE))
    second = BASE + '2017-05-01 pay FUND 2017-18 A1 50\n  source: "remittance 0042"\n'
    report = load(grants, books(tmp_path, second, "second.grants"))
    assert report["created"]["journal entry"] == 1
    rows = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert next(r for r in rows if r["line"] == "A1")["paid"] == "100.00"


def test_the_database_password_never_reaches_the_journal(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    assert grants("pay", "FUND", "2017-18", "A1", "1", "--date", "2017-06-01").exit_code == 0
    origin = journal(grants)[-1]["origin"]
    assert origin == "command: grants pay FUND 2017-18 A1 1 --date 2017-06-01"
    assert grants.url not in origin


def test_errors_are_located_in_the_file_being_checked(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    text = (
        (out / "ledger-0001.grants")
        .read_text()
        .replace("pay FUND 2017-18 A1 50.00", "pay FUND 2017-18 A1 5,000.00")
    )
    (out / "ledger-0001.grants").write_text(text)
    line = text.splitlines().index("2017-05-01 pay FUND 2017-18 A1 5,000.00") + 1
    result = grants("ledger", "check", str(out / "main.grants"))
    assert result.exit_code == 1
    assert (
        f"ledger-0001.grants:{line}: pay of £5,000.00 to FUND 2017-18 A1 would take"
        in result.output
    )


def test_reversing_one_entry_twice_in_a_file_is_a_located_error(
    grants: Grants, tmp_path: Path
) -> None:
    text = BASE + '2017-06-01 reverse pay1\n  reason: "x"\n2017-06-02 reverse pay1\n  reason: "y"\n'
    result = grants("ledger", "check", str(books(tmp_path, text)))
    assert result.exit_code == 1
    assert "books.grants:24: entry pay1 is reversed twice" in result.output


def test_an_id_added_to_a_recorded_entry_can_then_be_reversed(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, books(tmp_path, BASE))
    text = BASE + "2017-04-01 allocate FUND 2017-18 B 100\n"
    load(grants, books(tmp_path, text))
    named = text.replace(
        "2017-04-01 allocate FUND 2017-18 B 100\n",
        "2017-04-01 allocate FUND 2017-18 B 100\n  id: b100\n",
    )
    named += '2017-07-01 reverse b100\n  reason: "not agreed"\n'
    report = load(grants, books(tmp_path, named))
    assert report["created"] == {"journal entry": 1}
    rows = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert next(r for r in rows if r["line"] == "B")["allocated"] == "0.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["award", "FUND", "2017-18", "1" + "0" * 30], "larger than one entry may hold"),
        (["award", "FUND", "2017-18", "١٢٣"], "is not an amount of money"),
        (["award", "FUND", "２０１７-１８", "1"], "is not a financial year"),
        (["award", "FUND", "2017-18", "1", "--stated", "abc"], "'abc' is not an amount of money"),
        (
            ["award", "FUND", "2017-18", "1", "--tranche", "a+b"],
            "--tranche 'a+b' is not a valid code",
        ),
        (
            ["allocate", "FUND", "2017-18", "new line", "1", "--name", "X"],
            "line 'new line' is not a valid code",
        ),
        (["reverse", "", "--reason", "x"], "give the entry to reverse"),
        (["reverse", "²", "--reason", "x"], "there is no journal entry '²'"),
        (["reverse", "9" * 30, "--reason", "x"], "there is no journal entry"),
        (["--actor", "x" * 101, "balance"], "give a name of 1 to 100 printable characters"),
    ],
)
def test_bad_command_input(grants: Grants, tmp_path: Path, args: list[str], message: str) -> None:
    load(grants, books(tmp_path, BASE))
    before = journal(grants)
    result = grants(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "recorded entry" not in result.output
    assert journal(grants) == before


def test_a_port_that_is_not_a_number() -> None:
    result = Grants("postgresql://u@localhost:notaport/db")("balance")
    assert result.exit_code == 1
    assert "is not a database URL" in result.output


def test_byte_order_mark_and_form_feeds(tmp_path: Path) -> None:
    text = "\ufeff" + FUND.replace(
        "2017-04-01 line FUND B", "; page break\x0c\n2017-04-01 line FUND B"
    )
    text += "2017-04-01 award FUND 2017-18 1,00\n"
    problems = [str(p) for p in read_books(books(tmp_path, text), "t", NOW).problems]
    expected_line = text.count("\n")  # the award is the last line
    assert [p.rsplit("/", 1)[-1] for p in problems] == [
        f"books.grants:{expected_line}: '1,00' is not an amount of money: write it like 1234.50, "
        "£1,234.50 or (1,234.50) for a negative amount"
    ]


@pytest.mark.parametrize(
    ("assertion", "message"),
    [
        (
            "balance FUND 2017-18 awarded:NOPE 0",
            "FUND 2017-18 has no award tranche 'NOPE' (tranches: none)",
        ),
        ("balance FUND 2017-18 stated:A 0", "stated takes no target"),
        ("balance FUND 2017-18 allocated:A+A 1200", "'A+A' names the same target twice"),
        ("balance FUND 2017-18 allocated:ZZ 0", "there is no line 'ZZ' in stream FUND"),
    ],
)
def test_assertion_targets_are_checked(
    grants: Grants, tmp_path: Path, assertion: str, message: str
) -> None:
    result = grants(
        "ledger", "check", str(books(tmp_path, BASE + "2018-03-31 " + assertion + "\n"))
    )
    assert result.exit_code == 1
    assert message in result.output


def test_a_numeric_books_id_is_not_confused_with_an_entry_number(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, books(tmp_path, BASE.replace("  id: pay1", "  id: 3")))
    result = grants("reverse", "3", "--reason", "x", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["amount"] == "-50.00"


def test_reprofiling_part_of_a_tranche(grants: Grants, tmp_path: Path) -> None:
    text = (
        FUND
        + "2017-04-01 award FUND 2017-18 500\n  tranche: MAIN\n2017-10-01 reprofile FUND 2017-18 2018-19 100\n  tranche: MAIN\n"
    )
    load(grants, books(tmp_path, text))
    rows = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert [(r["year"], r["awarded"]) for r in rows if r["line"] is None] == [
        ("2017-18", "400.00"),
        ("2018-19", "100.00"),
    ]


def test_a_balance_holds_at_the_start_of_its_date(grants: Grants, tmp_path: Path) -> None:
    text = (
        BASE + "2017-04-30 balance FUND 2017-18 paid 0\n2017-05-02 balance FUND 2017-18 paid 50\n"
    )
    load(grants, books(tmp_path, text))
    # A later payment does not break the books: loading them again changes nothing.
    assert grants("pay", "FUND", "2017-18", "A1", "10", "--date", "2017-06-01").exit_code == 0
    report = load(grants, books(tmp_path, text))
    assert report["created"] == {}
    wrong = text.replace("balance FUND 2017-18 paid 0\n", "balance FUND 2017-18 paid 50\n")
    result = grants("ledger", "check", str(books(tmp_path, wrong, "wrong.grants")))
    assert result.exit_code == 1
    assert "FUND 2017-18 paid is 0.00 (£), not 50.00 as asserted" in result.output


def test_check_reports_every_refused_entry(grants: Grants, tmp_path: Path) -> None:
    text = (
        BASE
        + "2017-06-01 pay FUND 2017-18 B 1\n2017-06-02 allocate FUND 2017-18 B 500\n2017-06-03 pay FUND 2017-18 A1 1,000\n"
    )
    result = grants("ledger", "check", str(books(tmp_path, text)))
    assert result.exit_code == 1
    lines = [line.rsplit("/", 1)[-1] for line in result.output.splitlines()]
    assert lines[0].startswith("books.grants:22: pay of £1.00 to FUND 2017-18 B would take")
    assert lines[1].startswith("books.grants:23: allocate of £500.00 to FUND 2017-18 B would take")
    assert lines[2].startswith("books.grants:24: pay of £1,000.00 to FUND 2017-18 A1 would take")
    assert result.output.splitlines()[3] == f"3 errors in {tmp_path / 'books.grants'}"


def test_an_intended_over_allocation_is_reported_on_every_load(
    grants: Grants, tmp_path: Path
) -> None:
    text = BASE + "2017-06-01 allocate FUND 2017-18 B 500\n  over-allocation: yes\n"
    path = books(tmp_path, text)
    first = load(grants, path)
    again = load(grants, path)
    assert [w.rsplit("/", 1)[-1] for w in first["warnings"]] == [
        "books.grants:22: warning: allocate of £500.00 to FUND 2017-18 B over-allocates the "
        "unallocated award of FUND 2017-18 by £100.00 (marked as intended)"
    ]
    assert [w.rsplit("/", 1)[-1] for w in again["warnings"]] == [
        "books.grants:22: warning: FUND 2017-18 is over-allocated by £100.00 (marked as intended)"
    ]


# -- bounded input: every books line, command option and form cell is untrusted ------------

HOSTILE = BASE.count("\n")  # the line before the first hostile one
TOO_LARGE = (
    "is larger than one entry may hold (at most £999,999,999,999.99); check the amount, or "
    "split it into several entries"
)
CONTROL = "a control character; type it again without it"
BIDI = (
    "a bidirectional control, which can show text in another order than it is stored; "
    "type it again without it"
)
INVISIBLE = (
    "an invisible character, which can make two texts that look the same differ; "
    "type it again without it"
)
ONE_LINE = (
    "a line break, which only free text (a note, a reason, objectives) may hold; "
    "write it on one line"
)


HOSTILE_LINES = [  # (what is added to the books, its line from the first added, message)
        ("2017-06-01 pay FUND 2017-18 A1 1,000,000,000,000\n", 1,
         f"'1,000,000,000,000' {TOO_LARGE}"),
        ("2017-06-01 award FUND 2018-19 (£1,000,000,000,000.00)\n", 1,
         f"'(£1,000,000,000,000.00)' {TOO_LARGE}"),
        ('2017-04-01 line FUND C "Line C"\n  total-cost: 1000000000000\n', 2,
         f"'1000000000000' {TOO_LARGE}"),
        ("2018-03-31 printed FUND 2017-18 awarded 1,000,000\n  scale: m\n", 1,
         f"1,000,000 (£m) {TOO_LARGE}"),
        ('2017-04-01 line FUND C "Line\x00C"\n', 1,
         f"line name 'Line\\x00C' has U+0000 NULL at character 5: {CONTROL}"),
        ('2017-06-01 pay FUND 2017-18 A1 1\n  note: "paid\x1b[2J"\n', 2,
         f"note 'paid\\x1b[2J' has U+001B ESCAPE at character 5: {CONTROL}"),
        ('2017-06-01 reverse pay1\n  reason: "wrong \u202eenil"\n', 2,
         f"reason 'wrong \\u202eenil' has U+202E RIGHT-TO-LEFT OVERRIDE at character 7: {BIDI}"),
        ('2017-04-01 org CDC "Cher\u200bwell"\n', 1,
         f"organisation name 'Cher\\u200bwell' has U+200B ZERO WIDTH SPACE at character 5: "
         f"{INVISIBLE}"),
        ('2017-04-01 title "Ox\u200bford"\n', 1,
         f"the ledger's title 'Ox\\u200bford' has U+200B ZERO WIDTH SPACE at character 3: "
         f"{INVISIBLE}"),
        ("2017-06-01 pay FUND\x85 2017-18 A1 1\n", 1,
         f"pay stream 'FUND\\x85' has U+0085 NEXT LINE at character 5: {CONTROL}"),
        ('2017-06-01 pay FUND 2017-18 A1 1\n  source: "remittance\x7f"\n', 2,
         f"source 'remittance\\x7f' has U+007F DELETE at character 11: {CONTROL}"),
        ('2017-04-01 line FUND C "Line\tC"\n', 1,
         "line name 'Line\\tC' has U+0009 TAB at character 5: a tab, which only a note may "
         "hold; use spaces instead"),
        ('2017-04-01 line FUND C "Line\\nC"\n', 1,
         f"line name 'Line\\nC' has U+000A LINE FEED at character 5: {ONE_LINE}"),
        ('2017-06-01 pay FUND 2017-18 A1 1\n  source: "a\\nb"\n', 2,
         f"source 'a\\nb' has U+000A LINE FEED at character 2: {ONE_LINE}"),
        ("2017-06-01 pay FUND 2017-18 A1 1 ; \u2066paid twice\n", 1,
         f"the comment has U+2066 LEFT-TO-RIGHT ISOLATE at character 3: {BIDI}"),
        ('2017-04-01 line FUND C "' + "x" * 201 + '"\n', 1,
         "line name is 201 characters long, more than the 200 it may have: shorten it, and "
         "put any detail in a note"),
        ('2017-06-01 pay FUND 2017-18 A1 1\n  note: "' + "x" * 4001 + '"\n', 2,
         "note is 4,001 characters long, more than the 4,000 it may have: shorten it"),
        ("2017-06-01 pay FUND 2017-18 A1 1\n  actor: " + "x" * 101 + "\n", 2,
         "actor is 101 characters long, more than the 100 it may have: shorten it"),
]  # fmt: skip


def test_hostile_books_lines_are_refused_at_their_line(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    before, rows = journal(grants), row_counts(grants.url)
    for added, line, message in HOSTILE_LINES:  # one database for all: they take seconds
        result = grants("ledger", "load", str(books(tmp_path, BASE + added, "hostile.grants")))
        assert result.exit_code == 1, added
        assert f"hostile.grants:{HOSTILE + line}: {message}\n" in result.output, result.output
        assert "1 error in" in result.output and "nothing was recorded" in result.output
    assert journal(grants) == before and row_counts(grants.url) == rows


def exported(folder: Path) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.grants")))


def test_free_text_keeps_its_line_breaks_and_a_note_its_tabs(
    grants: Grants, tmp_path: Path
) -> None:
    text = BASE + '2017-06-01 pay FUND 2017-18 A1 1\n  note: "first\tline\\nsecond"\n'
    load(grants, books(tmp_path, text))
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    assert '  note: "first\\tline\\nsecond"\n' in exported(out)  # escaped, as the books read


def test_names_are_stored_composed(grants: Grants, tmp_path: Path) -> None:
    decomposed = "Cafe\u0301 project"
    load(grants, books(tmp_path, BASE + f'2017-04-01 line FUND C "{decomposed}"\n'))
    again = load(grants, books(tmp_path, BASE + '2017-04-01 line FUND C "Café project"\n'))
    assert again["created"] == {}  # the same name, typed composed
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    assert '2017-04-01 line FUND C "Café project"' in exported(out)


LOOK_ALIKE = (
    "{file}:{line}: warning: line {code} {name!r} looks the same as line {other} {other_name!r} "
    "of FUND ({where}) but is written with other characters ({chars}): if they are different "
    "lines, give them names that read differently"
)


def test_look_alike_names_are_reported_at_the_later_line(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    added = (
        '2017-04-01 line FUND CHERWELL "Cherwell"\n'
        '2017-04-01 line FUND CHERWELL-2 "Cherw\u0435ll"\n'  # a Cyrillic е
        '2017-04-01 line FUND CHERWELL-3 "\uff23herwell"\n'  # a fullwidth C
        '2017-04-01 line FUND CHERWELL-4 "cherwell"\n'  # case: told apart by eye
        '2017-04-01 line FUND CHERWELL-5 "Cher well"\n'  # spacing: told apart by eye
        '2017-04-01 org CDC "Cherwell District Council"\n'
        '2017-04-01 org CDC-2 "Cherwell D\u0456strict Council"\n'  # a Cyrillic і
    )
    path = books(tmp_path, BASE + added)
    first = HOSTILE + 1
    expected = [
        LOOK_ALIKE.format(file="books.grants", line=first + 1, code="CHERWELL-2",
                          name="Cherw\u0435ll", other="CHERWELL", other_name="Cherwell",
                          where=f"books.grants:{first}",
                          chars="U+0435 CYRILLIC SMALL LETTER IE"),
        LOOK_ALIKE.format(file="books.grants", line=first + 2, code="CHERWELL-3",
                          name="\uff23herwell", other="CHERWELL", other_name="Cherwell",
                          where=f"books.grants:{first}",
                          chars="U+FF23 FULLWIDTH LATIN CAPITAL LETTER C"),
    ]  # fmt: skip
    org = (
        f"books.grants:{first + 6}: warning: organisation CDC-2 'Cherwell D\u0456strict Council' "
        "looks the same as organisation CDC 'Cherwell District Council' "
        f"(books.grants:{first + 5}) but is written with other characters (U+0456 CYRILLIC "
        "SMALL LETTER BYELORUSSIAN-UKRAINIAN I): if they are different organisations, give "
        "them names that read differently"
    )
    checked = grants("ledger", "check", str(path))
    assert checked.exit_code == 0, checked.output
    warnings = [w for w in checked.output.splitlines() if "looks the same" in w]
    assert warnings == [org, *expected]
    report = load(grants, path)
    assert report["warnings"] == [org, *expected]
    # A line added later is compared with those already recorded.
    later = books(
        tmp_path, BASE + '2017-04-01 line FUND CHERWELL-6 "Cherwe\u217cl"\n', "more.grants"
    )
    report = load(grants, later)
    assert report["warnings"] == [
        LOOK_ALIKE.format(file="more.grants", line=first, code="CHERWELL-6",
                          name="Cherwe\u217cl", other="CHERWELL", other_name="Cherwell",
                          where="already recorded",
                          chars="U+217C SMALL ROMAN NUMERAL FIFTY")
    ]  # fmt: skip


# -- include: confined, bounded, and never a device or a pipe ------------------------------

MAX_BOOKS = 256 * 1024 * 1024
OUTSIDE = "the folder of the main books file (books) or below it"


def _include(tmp_path: Path, target: str) -> Path:
    folder = tmp_path / "books"
    folder.mkdir(exist_ok=True)
    return books(folder, BASE + f'include "{target}"\n', "main.grants")


def test_includes_are_confined_to_the_books_folder(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "books"
    (folder / "sub").mkdir(parents=True)
    secret = tmp_path / "secret.grants"
    secret.write_text('2017-04-01 org SECRET "the password is hunter2"\n')
    (folder / "out.grants").symlink_to(secret)
    (folder / "zero.grants").symlink_to("/dev/zero")
    with (folder / "big.grants").open("wb") as big:
        big.truncate(MAX_BOOKS + 1)  # sparse: nothing is written
    line = HOSTILE + 1
    cases = {
        "/etc/passwd": f"include '/etc/passwd' is an absolute path: a books file includes only "
        f"files in {OUTSIDE}; give the path relative to this file",
        "../../etc/shadow": f"include '../../etc/shadow' goes outside {OUTSIDE}: move the "
        "file there",
        "sub/../../secret.grants": f"include 'sub/../../secret.grants' goes outside {OUTSIDE}: "
        "move the file there",
        "out.grants": f"include 'out.grants' is a symbolic link to a file outside {OUTSIDE}: "
        "copy the file there instead",
        "zero.grants": f"include 'zero.grants' is a symbolic link to a file outside {OUTSIDE}: "
        "copy the file there instead",
        "/dev/zero": f"include '/dev/zero' is an absolute path: a books file includes only "
        f"files in {OUTSIDE}; give the path relative to this file",
        "sub": "books/sub is a folder, not a books file: give a text file (.grants)",
        "big.grants": f"books/big.grants is {MAX_BOOKS + 1:,} bytes, more than the "
        f"{MAX_BOOKS:,} (256 MB) a books file may have: split it into files that include "
        "each other",
        "none.grants": "no such file: books/none.grants",
    }
    load(grants, books(tmp_path, BASE))
    before = row_counts(grants.url)
    for target, message in cases.items():
        result = grants("ledger", "load", str(_include(tmp_path, target)))
        assert result.exit_code == 1, target
        assert f"books/main.grants:{line}: {message}\n" in result.output, result.output
        assert "hunter2" not in result.output and "root:" not in result.output
    assert row_counts(grants.url) == before


def test_a_named_pipe_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    main = _include(tmp_path, "pipe.grants")
    fifo = tmp_path / "books" / "pipe.grants"
    os.mkfifo(fifo)
    # Should the loader open the pipe, a writer comes after five seconds and closes it, so
    # the test fails rather than hangs.
    rescued = threading.Event()

    def rescue() -> None:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            rescued.set()
        except OSError:  # no reader: nobody opened it
            pass

    timer = threading.Timer(5, rescue)
    timer.start()
    try:
        grants = Grants(f"sqlite:///{tmp_path / 'unused.db'}")
        result = grants("ledger", "check", str(main))
        piped = grants("ledger", "check", str(fifo))
    finally:
        timer.cancel()
    assert not rescued.is_set()
    assert result.exit_code == 1
    assert (
        f"books/main.grants:{HOSTILE + 1}: books/pipe.grants is a named pipe (FIFO), not a "
        "books file: give a text file (.grants)\n"
    ) in result.output
    assert piped.exit_code == 1
    assert "books/pipe.grants:0: books/pipe.grants is a named pipe (FIFO), not a books file" in (
        piped.output
    )


def test_the_main_books_file_must_be_a_regular_file(tmp_path: Path) -> None:
    grants = Grants(f"sqlite:///{tmp_path / 'unused.db'}")
    result = grants("ledger", "check", "/dev/zero")
    assert result.exit_code == 1
    assert "/dev/zero:0: /dev/zero is a device, not a books file" in result.output


def test_includes_go_at_most_32_deep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    grants = Grants(f"sqlite:///{tmp_path / 'unused.db'}")
    folder = tmp_path / "deep"
    folder.mkdir()
    for depth in range(1, 34):
        text = f'include "d{depth + 1}.grants"\n' if depth < 33 else FUND
        (folder / f"d{depth}.grants").write_text(text)
    (folder / "d32.grants").write_text(FUND)  # main + 32 levels: fine
    (folder / "main.grants").write_text('include "d1.grants"\n')
    assert grants("ledger", "check", str(folder / "main.grants")).exit_code == 0
    (folder / "d32.grants").write_text('include "d33.grants"\n')  # a 33rd level
    result = grants("ledger", "check", str(folder / "main.grants"))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "deep/d32.grants:1: include 'd33.grants' is more than 32 files deep: includes may go "
        "at most 32 levels below the main books file"
    )


# -- command options -------------------------------------------------------------------------


HOSTILE_OPTIONS = [  # (the command, its message)
        (["pay", "FUND", "2017-18", "A1", "1", "--reason", "paid\x00"],
         f"Error: --reason 'paid\\x00' has U+0000 NULL at character 5: {CONTROL}"),
        (["pay", "FUND", "2017-18", "A1", "1", "--reason", "paid\x1b[2J"],
         f"Error: --reason 'paid\\x1b[2J' has U+001B ESCAPE at character 5: {CONTROL}"),
        (["reverse", "pay1", "--reason", "wrong \u202eenil"],
         f"Error: --reason 'wrong \\u202eenil' has U+202E RIGHT-TO-LEFT OVERRIDE at character "
         f"7: {BIDI}"),
        (["pay", "FUND", "2017-18", "A1", "1", "--reason", "pa\u200bid"],
         f"Error: --reason 'pa\\u200bid' has U+200B ZERO WIDTH SPACE at character 3: "
         f"{INVISIBLE}"),
        (["pay", "FUND", "2017-18", "A1", "1", "--source", "remittance\n0041"],
         f"Error: --source 'remittance\\n0041' has U+000A LINE FEED at character 11: {ONE_LINE}"),
        (["allocate", "FUND", "2017-18", "C", "1", "--name", "Line \u202eC"],
         f"Error: --name 'Line \\u202eC' has U+202E RIGHT-TO-LEFT OVERRIDE at character 6: "
         f"{BIDI}"),
        (["allocate", "FUND", "2017-18", "C", "1", "--name", "x" * 201],
         "Error: --name is 201 characters long, more than the 200 it may have: shorten it, and "
         "put any detail in a note"),
        (["pay", "FUND\x00", "2017-18", "A1", "1"],
         f"Error: STREAM 'FUND\\x00' has U+0000 NULL at character 5: {CONTROL}"),
        (["award", "FUND", "2017-18", "1,000,000,000,000"],
         f"Error: '1,000,000,000,000' {TOO_LARGE}"),
        (["award", "FUND", "2018-19", "1", "--stated", "-1000000000000"],
         f"Error: '-1000000000000' {TOO_LARGE}"),
        (["plan", "add", "FUND", "2017-18", "A", "Two\u200bposts", "--cost", "1"],
         f"Error: TITLE 'Two\\u200bposts' has U+200B ZERO WIDTH SPACE at character 4: "
         f"{INVISIBLE}"),
        (["plan", "add", "FUND", "2017-18", "A", "Posts", "--cost", "1", "--objectives",
          "a\tb"],
         "Error: --objectives 'a\\tb' has U+0009 TAB at character 2: a tab, which only a note "
         "may hold; use spaces instead"),
        (["--actor", "jo\x1b[2J", "balance"],
         f"--actor 'jo\\x1b[2J' has U+001B ESCAPE at character 3: {CONTROL}"),
        (["claim", "FUND", "2017-18", "Q1", "1", "--quarter", "Q1", "--eligible", "1",
          "--evidence", "form\u202e1"],
         f"Error: --evidence 'form\\u202e1' has U+202E RIGHT-TO-LEFT OVERRIDE at character 5: "
         f"{BIDI}"),
        (["claim", "FUND", "2017-18", "Q1", "1", "--quarter", "Q1", "--eligible", "0.5",
          "--evidence", "form"],
         "Error: the amount claimed (1.00) is more than the eligible expenditure (0.50)"),
        (["claim", "FUND", "2017-18", "q 1", "1", "--quarter", "Q1", "--eligible", "1",
          "--evidence", "form"],
         "Error: NAME 'Q 1' is not a valid code"),
        (["receipt", "FUND", "2017-18", "1", "--claim", "Q9"],
         "Error: --claim Q9: there is no claim Q9 of FUND 2017-18"),
        (["commit", "FUND", "2017-18", "A1", "1", "--agreement", "GA\x00", "--from",
          "2017-04-01", "--to", "2018-03-31"],
         f"Error: --agreement 'GA\\x00' has U+0000 NULL at character 3: {CONTROL}"),
        (["schedule", "FUND", "2017-18", "A1", "1", "--basis", "quarterly", "--due",
          "2017-13-01"],
         "Invalid value for '--due'"),
        (["carry-forward", "FUND", "2017-18", "2018-19", "A1", "1", "--approval", "x" * 41],
         "Error: --approval: give the funder's approval reference (at most 40 characters)"),
]  # fmt: skip


def test_hostile_command_options_are_refused_by_name(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    before, rows = journal(grants), row_counts(grants.url)
    for args, message in HOSTILE_OPTIONS:
        result = grants(*args)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
        assert "Traceback" not in result.output
    assert journal(grants) == before and row_counts(grants.url) == rows


def test_a_new_line_that_looks_like_another_is_reported(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    result = grants("allocate", "FUND", "2017-18", "C", "1", "--name", "Line \uff21")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "warning: line C 'Line \uff21' looks the same as line A 'Line A' of FUND but is written "
        "with other characters (U+FF21 FULLWIDTH LATIN CAPITAL LETTER A): if they are different "
        "lines, give them names that read differently"
    )


def test_the_ledger_title_is_checked_as_a_name(grants: Grants) -> None:
    result = grants("ledger", "title", "Oxfordshire\u202e County Council")
    assert result.exit_code == 1
    assert result.output == (
        "Error: NAME 'Oxfordshire\\u202e County Council' has U+202E RIGHT-TO-LEFT OVERRIDE at "
        f"character 12: {BIDI}\n"
    )
