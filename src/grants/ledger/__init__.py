"""The plain-text books: parse, check, load and export (format: ledger/README.md)."""
