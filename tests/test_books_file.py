"""A books file read a chunk at a time (grants.ledger.books_file): the same lines and line
numbers as the whole text split on line feeds, whatever the chunks; its SHA-256 as it was
read; a file that is not UTF-8 refused at its line, none of it read; a file changed while it
is read refused as it ends; and never the whole text held."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from grants.ledger import books_file
from grants.ledger.parser import Reading
from tests.helpers import FUND, books

ENTRIES = FUND + "".join(
    f'2017-04-{1 + n % 28:02d} award FUND 2017-18 {n + 1:,}\n  source: "p. {n}"\n\n'
    for n in range(40)
)


def _read(path: Path, expected: list[str] | None = None) -> tuple[list[tuple], Reading]:
    reading = Reading(path, expected)
    found = [(d.line, d.keyword, d.args, dict(d.meta)) for d in reading.directives()]
    return found, reading


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_the_lines_are_the_same_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Chunks of 1 byte, 7 bytes (lines longer than a chunk, chunks ending mid-line), 64 and a
    megabyte: the same directives at the same lines, and the SHA-256 of the file's bytes; a
    byte-order mark, carriage returns and a last line with no line feed read as before."""
    text = "\ufeff" + ENTRIES.replace("\n", "\r\n", 5) + "2017-05-01 award FUND 2017-18 9"
    path = books(tmp_path, text)
    whole, _ = _read(path)  # a megabyte a chunk: the file in one
    monkeypatch.setattr(books_file, "CHUNK_BYTES", chunk)
    found, reading = _read(path)
    assert found == whole and not reading.problems
    assert len(found) == 6 + 40 + 1 and found[-1][0] == text.count("\n") + 1
    assert found[6] == (FUND.count("\n") + 1, "award", ["FUND", "2017-18", "1"], {"source": "p. 0"})
    assert reading.digests == [hashlib.sha256(path.read_bytes()).hexdigest()]
    again, second = _read(path, reading.digests)
    assert again == whole and not second.problems


@pytest.mark.parametrize("last_line_feed", [b"\n", b""])
def test_a_file_that_is_not_utf8_is_refused_at_its_line_and_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, last_line_feed: bytes
) -> None:
    """The line of the first byte that is not UTF-8, in a chunk after the first, or on a
    last line with no line feed: the file is checked whole before a line of it is read, so
    nothing of it is read (nor a file it includes), as when a file was decoded whole."""
    monkeypatch.setattr(books_file, "CHUNK_BYTES", 64)
    path = tmp_path / "books.grants"
    (tmp_path / "sub.grants").write_text("rubbish\n", encoding="utf-8")
    good = b'include "sub.grants"\n' + ENTRIES.encode()
    bad_line = good.count(b"\n") + 2
    path.write_bytes(good + b"2017-05-01 award FUND 2017-18 9\n  note: caf\xe9" + last_line_feed)
    found, reading = _read(path)
    (problem,) = reading.problems
    assert (problem.file.rsplit("/", 1)[-1], problem.line) == ("books.grants", bad_line)
    assert problem.message == "this line is not UTF-8 text; save the file as UTF-8"
    assert found == []


def _changed_once_checked(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    """``path`` rewritten with ``text`` as soon as the read has checked it, before its lines
    are read."""
    begin = Reading._begin_file

    def then_changed(reading: Reading, handle: Any, shown_path: str, *args: Any) -> Any:
        position = begin(reading, handle, shown_path, *args)
        if shown_path.endswith(path.name):
            path.write_text(text, encoding="utf-8")
        return position

    monkeypatch.setattr(Reading, "_begin_file", then_changed)


def test_a_file_changed_while_it_is_read_is_refused_as_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second read checks a file's digest before it reads it (a file changed since is not
    read at all); every read checks it again as it ends: a file changed in between is
    refused there, its last directive not handed on."""
    path = books(tmp_path, ENTRIES)
    _, first = _read(path)
    path.write_text(ENTRIES + "2017-05-01 award FUND 2017-18 9\n", encoding="utf-8")
    found, reading = _read(path, first.digests)
    assert found == [] and len(reading.problems) == 1
    assert "changed while the books were being loaded" in str(reading.problems[0])
    path.write_text(ENTRIES, encoding="utf-8")
    for expected in (first.digests, None):  # the second read, and a first
        _changed_once_checked(monkeypatch, path, ENTRIES + "2017-05-01 award FUND 2017-18 9\n")
        found, reading = _read(path, expected)
        assert len(found) == 6 + 40  # not the award added: the file ended changed
        (problem,) = reading.problems
        assert (problem.file.rsplit("/", 1)[-1], problem.line) == ("books.grants", 0)
        assert "changed while the books were being loaded" in problem.message
        path.write_text(ENTRIES, encoding="utf-8")


def test_an_included_file_changed_while_it_is_read_ends_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An included file changed after it was checked (here to bytes that are not UTF-8): the
    problem names it, and nothing after it is handed on, not even the file that includes
    it."""
    monkeypatch.setattr(books_file, "CHUNK_BYTES", 64)
    sub = books(tmp_path, ENTRIES, "sub.grants")
    main = books(tmp_path, 'include "sub.grants"\n2017-05-01 award FUND 2017-18 99,999\n')
    _, first = _read(main)
    begin = Reading._begin_file

    def to_bad_bytes(reading: Reading, handle: Any, shown_path: str, *args: Any) -> Any:
        position = begin(reading, handle, shown_path, *args)
        if shown_path.endswith("sub.grants"):
            sub.write_bytes(ENTRIES.encode() + b"  note: caf\xe9\n")
        return position

    monkeypatch.setattr(Reading, "_begin_file", to_bad_bytes)
    found, reading = _read(main, first.digests)
    # What was read of it before the bytes that changed, but its last directive; nothing of
    # the file that includes it after the include.
    assert 0 < len(found) < 6 + 40 and ["FUND", "2017-18", "99,999"] not in [d[2] for d in found]
    (problem,) = reading.problems
    assert (problem.file.rsplit("/", 1)[-1], problem.line) == ("sub.grants", 0)
    assert "changed while the books were being loaded" in problem.message


def test_a_read_holds_a_chunk_of_the_books_not_their_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading books of about eight megabytes, directive by directive, holds a few of its
    chunks (of 256 KB here): before, their bytes and then their text (twice their size, and
    the whole limit of 256 MB asked for to read them)."""
    monkeypatch.setattr(books_file, "CHUNK_BYTES", 256 * 1024)
    line = "2017-05-01 allocate FUND 2017-18 A 1,000\n"
    text = FUND + "2017-04-01 award FUND 2017-18 1,000,000\n" + line * 200_000
    path = books(tmp_path, text)
    tracemalloc.start()
    try:
        count = sum(1 for _ in Reading(path).directives())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 6 + 1 + 200_000
    assert len(text) > 8_000_000 and peak < 2_500_000, f"{peak:,} bytes at most"
