"""A books file, opened and read a chunk at a time (grants.ledger.parser reads its lines).

A file is examined (stat) before it is opened: only a regular file within MAX_FILE_BYTES is
opened, and what is opened is checked again, so nothing but that file is ever read. Its
lines are decoded a chunk of bytes at a time and handed on one by one, each byte added to
the file's SHA-256 as it is read: the books' text is never held whole (a national funder's
books run to a hundred megabytes, read twice by a load), only a chunk of it. A file is
checked whole (its digest, its text UTF-8, its size) before its lines are read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_FILE_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024  # read, hashed and decoded at a time


def _kind_of(mode: int) -> str | None:
    """What a file that is not a regular file is, for a message (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_books_file(path: Path, shown_path: str) -> BinaryIO | str:
    """A books file opened to be read, or why it cannot be (the caller closes it)."""
    try:
        before = os.stat(path)
    except FileNotFoundError:
        return f"no such file: {shown_path}"
    except (OSError, ValueError) as exc:
        return f"cannot read {shown_path}: {getattr(exc, 'strerror', None) or exc}"
    kind = _kind_of(before.st_mode)
    if kind is not None:
        return f"{shown_path} is {kind}, not a books file: give a text file (.grants)"
    if before.st_size > MAX_FILE_BYTES:
        return (
            f"{shown_path} is {before.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} "
            "(256 MB) a books file may have: split it into files that include each other"
        )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path.resolve(), flags)
    except (OSError, RuntimeError) as exc:
        return f"cannot read {shown_path}: {getattr(exc, 'strerror', None) or exc}"
    handle = os.fdopen(descriptor, "rb")
    opened = os.fstat(handle.fileno())
    if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino) or _kind_of(opened.st_mode):
        handle.close()
        return f"{shown_path} changed while it was being opened: check it again"
    return handle


class TextLines:
    """The lines of an opened books file as text, split on line feeds only, decoded a chunk
    at a time (a byte-order mark at its start left out). Each byte read is added to
    ``digest``. If the file is not UTF-8, or grows beyond MAX_FILE_BYTES while it is read,
    the lines stop before the chunk that shows it and ``problem`` says so: (the line it is
    at, or None for the file as a whole, and the message). :meth:`check` reads the file to
    its end without handing on its lines."""

    def __init__(self, handle: BinaryIO, shown_path: str) -> None:
        self.handle = handle
        self.shown_path = shown_path
        self.digest = hashlib.sha256()
        self.problem: tuple[int | None, str] | None = None

    def check(self) -> None:
        """Read the file to its end (its digest, and any problem), then from its start again."""
        for _ in self._texts():
            pass
        self.handle.seek(0)

    def __iter__(self) -> Iterator[str]:
        for text in self._texts():
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()  # after the last line feed: nothing
            yield from lines

    def _texts(self) -> Iterator[str]:
        """The file's text, whole lines a chunk at a time (each ending with a line feed, but
        the file's last line if it has none)."""
        read, lines_before, pending = 0, 0, bytearray()
        at_start = True
        while True:
            chunk = self.handle.read(CHUNK_BYTES)
            read += len(chunk)
            if read > MAX_FILE_BYTES:
                self.problem = (None, (
                    f"{self.shown_path} grew beyond {MAX_FILE_BYTES:,} bytes while it was "
                    "being read"
                ))  # fmt: skip
                return
            self.digest.update(chunk)
            if chunk:
                # Whole lines only are decoded: the rest waits for the next chunk (a line
                # longer than a chunk gathers its chunks first).
                end = chunk.rfind(b"\n") + 1
                if end == 0:
                    pending += chunk
                    continue
                pending += memoryview(chunk)[:end]
                data, pending = pending, bytearray(memoryview(chunk)[end:])
            else:
                data, pending = pending, bytearray()
                if not data:
                    return
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = lines_before + data[: exc.start].count(b"\n") + 1
                self.problem = (line, "this line is not UTF-8 text; save the file as UTF-8")
                return
            del data
            lines_before += text.count("\n")
            if at_start:
                at_start = False
                text = text.removeprefix("\ufeff")  # a byte-order mark, as some editors save
            yield text
            if not chunk:
                return
