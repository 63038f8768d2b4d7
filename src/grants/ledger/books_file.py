"""A books file, opened and read a chunk at a time (grants.ledger.parser reads its lines).

A file is examined (stat) before it is opened: only a regular file within MAX_FILE_BYTES is
opened, and what is opened is checked again, so nothing but that file is ever read. Its
lines are decoded a chunk of bytes at a time and handed on one by one, each byte added to
the file's SHA-256 as it is read: the books' text is never held whole (a national funder's
books run to a hundred megabytes, read twice by a load), only a chunk of it.
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


def file_digest(handle: BinaryIO) -> str:
    """The SHA-256 of an opened file's bytes (at most MAX_FILE_BYTES and one more), read
    from where it stands; the file is then read again from its start."""
    digest = hashlib.sha256()
    left = MAX_FILE_BYTES + 1
    while left > 0 and (chunk := handle.read(min(CHUNK_BYTES, left))):
        digest.update(chunk)
        left -= len(chunk)
    handle.seek(0)
    return digest.hexdigest()


class TextLines:
    """The lines of an opened books file as text, split on line feeds only, decoded a chunk
    at a time (a byte-order mark at its start left out). Each byte read is added to
    ``digest``. If the file is not UTF-8, or grows beyond MAX_FILE_BYTES while it is read,
    the lines stop before the chunk that shows it and ``problem`` says so: (the line it is
    at, or None for the file as a whole, and the message)."""

    def __init__(self, handle: BinaryIO, shown_path: str) -> None:
        self.handle = handle
        self.shown_path = shown_path
        self.digest = hashlib.sha256()
        self.problem: tuple[int | None, str] | None = None

    def __iter__(self) -> Iterator[str]:
        read, number, pending = 0, 0, bytearray()
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
                line = number + data[: exc.start].count(b"\n") + 1
                self.problem = (line, "this line is not UTF-8 text; save the file as UTF-8")
                return
            del data
            if at_start:
                at_start = False
                text = text.removeprefix("\ufeff")  # a byte-order mark, as some editors save
            lines = text.split("\n")
            if chunk:
                lines.pop()  # after the chunk's last line feed: nothing
            number += len(lines)
            yield from lines
            if not chunk:
                return
