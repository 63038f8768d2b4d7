"""What the returns reader keeps between uploads is shared by the web service's threads: two
uploads dropping the same oldest part at once both read, and the kept results stay bounded."""

from __future__ import annotations

import builtins
import io
import threading
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest

from grants import kept
from grants.excel.safe_read import read_sheet
from grants.services.form_rows import Received


def workbook(value: int) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Return"
    ws["B2"] = value
    wb.properties.title = f"return {value}"  # a part of its own, as each return has
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read(value: int) -> Any:
    return read_sheet(Received("return.xlsx", workbook(value)), "Return", 10, 5).at(1, 1).value


def test_two_uploads_dropping_the_same_oldest_part_both_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for value in range(100):  # as many returns as fill what is kept
        read(value)
    real_next = builtins.next
    other: dict[str, Any] = {}

    def preempted(items: Iterator[Any], *default: Any) -> Any:
        key = real_next(items, *default)
        if "thread" not in other:  # another upload's thread runs just as this one drops a part
            other["thread"] = threading.Thread(target=lambda: other.update(value=read(1000)))
            other["thread"].start()
            other["thread"].join(0.3)
        return key

    monkeypatch.setattr(kept, "next", preempted, raising=False)
    assert read(2000) == 2000
    other["thread"].join()
    assert other["value"] == 1000


def test_at_most_the_size_is_kept_the_oldest_dropped_first() -> None:
    kept_ = kept.Kept[int, str](3)
    for n in range(5):
        assert kept_.put(n, str(n)) == str(n)
    assert len(kept_) == 3 and 0 not in kept_ and 1 not in kept_
    assert kept_.get(4) == "4" and kept_.get(0) is None
    kept_.put(4, "four")  # a key kept already drops nothing
    assert len(kept_) == 3 and kept_.get(2) == "2"


def test_forget_all_empties_every_kept_as_a_new_process_has_them() -> None:
    """What the reader keeps is dropped by forget_all (a benchmark's rounds read the same files
    as a new process would), and the next read keeps afresh."""
    from grants.excel import archive, safe_read

    own: kept.Kept[str, int] = kept.Kept(4)
    own.put("a", 1)
    read_sheet(Received("a.xlsx", workbook(7)), "Return", 10, 10)
    every = (own, archive._INFLATED, archive._CHECKED, safe_read._PARSED, safe_read._STYLES)
    assert all(len(k) > 0 for k in every)
    kept.forget_all()
    assert all(len(k) == 0 for k in every)
    assert read_sheet(Received("a.xlsx", workbook(7)), "Return", 10, 10).at(1, 1).value == 7
    assert len(archive._INFLATED) > 0
