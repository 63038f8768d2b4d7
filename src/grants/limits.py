"""Limits on what the ledger takes from outside, in one place."""

from __future__ import annotations

# A received workbook (a filled return or plan form): large enough for any form as issued,
# small enough that a hostile file's memory stays bounded.
MAX_WORKBOOK_BYTES = 5 * 1024 * 1024

__all__ = ["MAX_WORKBOOK_BYTES"]
