"""The reader of a filed return's workbook that the commands hand to the services (see
grants.excel.return_evidence), imported only when a return's workbook is actually compared:
`grants ledger load`, `grants db backup` and a ledger with no returns need no workbook code,
and importing it (openpyxl with it) costs some 0.3 s before any of them starts work."""

from __future__ import annotations

from typing import Any


def differences(content: bytes, figures: list[list[Any]]) -> list[str]:
    """grants.excel.return_evidence.differences, imported on first use."""
    from grants.excel.return_evidence import differences as compare

    return compare(content, figures)


__all__ = ["differences"]
