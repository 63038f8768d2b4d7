"""A books file read a chunk at a time (grants.ledger.books_file): the same lines and line
numbers as the whole text split on line feeds, whatever the chunks; its SHA-256 as it was
read; a file that is not UTF-8 refused at its line; a file changed while it is read again
refused as it ends; and never the whole text held."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from grants.ledger import books_file, parser
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


def test_a_file_that_is_not_utf8_is_refused_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line of the first byte that is not UTF-8, in a chunk after the first; what comes
    after it is not read, and the directive it may belong to is not handed on."""
    monkeypatch.setattr(books_file, "CHUNK_BYTES", 64)
    path = tmp_path / "books.grants"
    good = ENTRIES.encode()
    bad_line = good.count(b"\n") + 2
    path.write_bytes(good + b"2017-05-01 award FUND 2017-18 9\n  note: caf\xe9\n" + good)
    found, reading = _read(path)
    (problem,) = reading.problems
    assert (problem.file.rsplit("/", 1)[-1], problem.line) == ("books.grants", bad_line)
    assert problem.message == "this line is not UTF-8 text; save the file as UTF-8"
    assert len(found) == 6 + 40 and found[-1][0] < bad_line


def test_a_file_changed_while_it_is_read_again_is_refused_as_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second read checks a file's digest before it reads it (a file changed since is not
    read at all) and again as it ends: a file changed in between is refused there, and its
    last directive is not handed on."""
    path = books(tmp_path, ENTRIES)
    _, first = _read(path)
    path.write_text(ENTRIES + "2017-05-01 award FUND 2017-18 9\n", encoding="utf-8")
    found, reading = _read(path, first.digests)
    assert found == [] and len(reading.problems) == 1
    assert "changed while the books were being loaded" in str(reading.problems[0])
    # Changed after the check before it was read (the check is passed here):
    monkeypatch.setattr(parser, "file_digest", lambda _: first.digests[0])
    found, reading = _read(path, first.digests)
    assert len(found) == 6 + 40 and found[-1][0] != 6 + 40 * 3 + 1
    assert "changed while the books were being loaded" in str(reading.problems[0])


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
