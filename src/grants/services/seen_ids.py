"""Where each of many texts was first seen: the ids of a 360Giving package's grants, each of
which must be its own. Ten years of a national funder's grants are some ten million ids: held
as texts in a dictionary, about 80 bytes each; here each by a 96-bit digest of it (BLAKE2b)
and the position it was first seen at, in arrays: a slot of 16 bytes, the table a third to
seven tenths full, so 23 to 46 bytes a text, and while the table doubles its old arrays
beside the new (some 70 bytes a text at that moment). Two texts share a digest with a chance
of about n^2 / 2^97 (10^-15 for ten million)."""

from __future__ import annotations

import hashlib
from array import array

from grants.services.seen_contents import slot_of

_DIGEST = 12  # bytes of a text's digest
_FULL = 0.7  # of the slots used, at most
_LAST = 2**32 - 2  # the last position held (each held plus one, in 32 bits: 0 is no text)


class FirstSeen:
    """``first(text, position)``: the position ``text`` was first given at, or None the first
    time it is given (when ``position`` is kept). Open addressing (seen_contents.slot_of)."""

    __slots__ = ("_digests", "_positions", "_size", "_used")

    def __init__(self) -> None:
        self._make(1024)

    def _make(self, size: int) -> None:
        self._size = size
        self._digests = bytearray(_DIGEST * size)
        self._positions = array("I", [0]) * size  # each position plus one; 0: empty
        self._used = 0

    def first(self, text: str, position: int) -> int | None:
        if not 0 <= position <= _LAST:
            raise ValueError(f"a position from 0 to {_LAST}")
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST)
        return self._put(digest.digest(), position)

    def _put(self, digest: bytes, position: int) -> int | None:
        slot = slot_of(digest, self._digests, self._positions, _DIGEST)
        held = self._positions[slot]
        if held:
            return held - 1
        if self._used + 1 > _FULL * self._size:
            self._grow()
            return self._put(digest, position)
        self._used += 1
        at = _DIGEST * slot
        self._digests[at : at + _DIGEST] = digest
        self._positions[slot] = position + 1
        return None

    def _grow(self) -> None:
        size, positions, digests = self._size, self._positions, self._digests
        self._make(2 * size)
        for slot in range(size):
            if positions[slot]:
                at = _DIGEST * slot
                self._put(bytes(digests[at : at + _DIGEST]), positions[slot] - 1)

    def __len__(self) -> int:
        return self._used


__all__ = ["FirstSeen"]
