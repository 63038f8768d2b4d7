"""grants: a funding allocation and grant-monitoring ledger for UK local government."""

__version__ = "0.1.0"
