"""written_together's last step, the renames into place: a path that cannot take a file stops
the set before anything moves, and a move that fails part way is undone, the files it
replaced put back; the folder is as it was either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from grants.cli.folders import written_together
from grants.errors import GrantsError


def _earlier_run(out: Path) -> None:
    out.mkdir()
    (out / "a.xlsx").write_bytes(b"earlier a")
    (out / "c.xlsx").write_bytes(b"earlier c")


def _contents(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() else b"<folder>" for p in out.iterdir()}


def test_a_folder_with_a_workbooks_name_stops_the_set_before_anything_moves(
    tmp_path: Path,
) -> None:
    out = tmp_path / "reports"
    _earlier_run(out)
    (out / "b.xlsx").mkdir()  # a folder where the second workbook goes
    (out / "b.xlsx" / "kept").write_bytes(b"")
    with pytest.raises(GrantsError, match=r"cannot write .*b\.xlsx: something that is not a"):
        with written_together(out) as staged:
            for name in ("a.xlsx", "b.xlsx", "c.xlsx"):
                staged(out / name).write_bytes(b"new " + name.encode())
    assert _contents(out) == {"a.xlsx": b"earlier a", "b.xlsx": b"<folder>", "c.xlsx": b"earlier c"}
    assert (out / "b.xlsx" / "kept").exists()


def test_a_move_that_fails_part_way_is_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "reports"
    _earlier_run(out)
    real = Path.replace

    def failing(self: Path, target: Path) -> Path:  # the third file's move into place fails
        if self.name == "c.xlsx" and Path(target).parent == out:
            raise OSError(5, "Input/output error")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", failing)
    with pytest.raises(GrantsError, match=r"c\.xlsx: Input/output error; nothing was written"):
        with written_together(out) as staged:
            for name in ("a.xlsx", "b.xlsx", "c.xlsx"):
                staged(out / name).write_bytes(b"new " + name.encode())
    assert _contents(out) == {"a.xlsx": b"earlier a", "c.xlsx": b"earlier c"}


def test_a_set_written_whole_replaces_the_earlier_one(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    _earlier_run(out)
    with written_together(out) as staged:
        for name in ("a.xlsx", "b.xlsx"):
            staged(out / name).write_bytes(b"new " + name.encode())
    assert _contents(out) == {
        "a.xlsx": b"new a.xlsx",
        "b.xlsx": b"new b.xlsx",
        "c.xlsx": b"earlier c",
    }
