"""Idempotency keys: the identity of a record derived from what it says.

Loading the same books twice recognises what is already recorded by these keys, and
`grants verify` recomputes them to check that no stored record says something other than
its key (a changed amount behind a kept key would make the original books load as
"nothing new").
"""

from __future__ import annotations

import hashlib


def record_key(*parts: object) -> str:
    """The key of a statement, match funding, plan line, agreement or stage: 40 hex digits."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


__all__ = ["record_key"]
