"""A set of files written into a folder all or none (`report all`, `returns issue`, `plan
issue`): a stop part way, a ledger found changed behind its back at the tenth workbook or a
full disk, leaves the folder as it was, never half a new set beside or in place of an earlier
one."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from grants.cli.common import make_folder
from grants.errors import GrantsError


class _NotPutBack(GrantsError):
    """A move into place failed and so did putting back a file it had replaced: the hidden
    folder, which holds that file, is kept."""


@contextmanager
def written_together(directory: Path) -> Iterator[Callable[[Path], Path]]:
    """The block is given a function that turns each file's path in ``directory`` into one in
    a hidden folder inside it, where the file is written. When the block ends without an
    error every file is moved into place, a rename each; else the hidden folder and what was
    written in it are removed and ``directory`` is as it was. Before the first move, a path
    held by anything but a file (a folder of a workbook's name) stops the set; should a move
    fail all the same, those made are undone and the files they replaced put back."""
    make_folder(directory)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".grants-writing-", dir=directory))
    except OSError as exc:
        raise GrantsError(f"cannot write in {directory}: {exc.strerror or exc}") from exc
    keep = False
    try:
        placed: dict[Path, Path] = {}

        def stage(path: Path) -> Path:
            placed[path] = staging / path.name
            return placed[path]

        yield stage
        _in_the_way(placed)
        _move_into_place(placed, staging / ".replaced")
    except _NotPutBack:
        keep = True
        raise
    finally:
        if not keep:
            shutil.rmtree(staging, ignore_errors=True)


def _in_the_way(placed: dict[Path, Path]) -> None:
    for path in placed:
        if path.exists() and not path.is_symlink() and not path.is_file():
            raise GrantsError(
                f"cannot write {path}: something that is not a file has that name (move or "
                "rename it, and run the command again); nothing was written"
            )


def _move_into_place(placed: dict[Path, Path], aside: Path) -> None:
    """Each file from the hidden folder to its place, the one it replaces set aside first,
    so that a move that fails can be undone."""
    aside.mkdir()
    replaced: list[tuple[Path, Path]] = []
    moved: list[Path] = []
    try:
        for number, (path, written) in enumerate(placed.items()):
            if path.is_symlink() or path.exists():
                earlier = aside / str(number)
                path.replace(earlier)
                replaced.append((path, earlier))
            written.replace(path)
            moved.append(path)
    except OSError as exc:
        failed = f"cannot write {path}: {exc.strerror or exc}"
        try:
            for new in moved:
                new.unlink()
            for place, earlier in replaced:
                earlier.replace(place)
        except OSError as undoing:
            raise _NotPutBack(
                f"{failed}; putting back the files it replaced failed too "
                f"({undoing.strerror or undoing}): those not in place are in {aside}"
            ) from exc
        raise GrantsError(f"{failed}; nothing was written") from exc


__all__ = ["written_together"]
