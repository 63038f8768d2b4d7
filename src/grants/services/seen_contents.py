"""How many entries of each content `grants verify` has seen in its walk, for a ledger whose
accounts are packed (grants.services.account_table): each content by the 160 bits of its
first occurrence's key, in byte arrays (about 30 bytes a content) rather than a dictionary of
integers (about 100). A national funder's ledger has two or three entries a grant, every one
of a content of its own. Smaller ledgers count in a dictionary, which is quicker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

_DIGEST = 20  # bytes of a key
_MANY = 255  # a count held in ``_more`` from here on
_FULL = 0.7  # of the slots used, at most


def slot_of(digest: bytes, digests: bytearray, held: Sequence[int], width: int) -> int:
    """The slot of ``digest`` in a table of open addressing (its digests of ``width`` bytes
    side by side in ``digests``, one a slot; ``held`` nothing but 0 in an empty slot), or of
    the empty slot where it would go (a digest of another width is never found): the first
    from the digest's hash (random for each process, so that no books can be made to fill
    one run of slots), then the next, and so on round."""
    size = len(held)
    slot = hash(digest) % size
    while held[slot]:
        at = width * slot
        if digests[at : at + width] == digest:
            break
        slot = slot + 1 if slot + 1 < size else 0
    return slot


class ContentCounts:
    """``dict[bytes, int]``'s ``get`` and item assignment, for 20-byte keys and counts from
    1: open addressing (:func:`slot_of`)."""

    __slots__ = ("_counts", "_digests", "_last", "_more", "_size", "_slot", "_used")

    def __init__(self, expected: int = 0) -> None:
        self._make(max(1024, int(expected / _FULL) + 1))

    def _make(self, size: int) -> None:
        self._size = size
        self._digests = bytearray(_DIGEST * size)
        self._counts = bytearray(size)  # 0: an empty slot
        self._more: dict[bytes, int] = {}
        self._used = 0
        self._last: bytes | None = None  # the key last looked for, and its slot
        self._slot = 0

    def get(self, digest: bytes) -> int | None:
        slot = slot_of(digest, self._digests, self._counts, _DIGEST)
        count = self._counts[slot]
        self._last, self._slot = digest, slot
        if not count:
            return None
        return count if count < _MANY else self._more[digest]

    def __setitem__(self, digest: bytes, count: int) -> None:
        if len(digest) != _DIGEST or count < 1:
            raise ValueError("a key of 20 bytes and a count from 1")
        if digest is not self._last and digest != self._last:
            self.get(digest)
        slot = self._slot
        if not self._counts[slot]:
            if self._used + 1 > _FULL * self._size:
                self._grow()
                self[digest] = count
                return
            self._used += 1
            at = _DIGEST * slot
            self._digests[at : at + _DIGEST] = digest
        self._counts[slot] = min(count, _MANY)
        if count >= _MANY:
            self._more[digest] = count
        else:
            self._more.pop(digest, None)

    def _grow(self) -> None:
        held = list(self.items())
        self._make(2 * self._size)
        for digest, count in held:
            self[digest] = count

    def items(self) -> Iterator[tuple[bytes, int]]:
        counts, digests = self._counts, self._digests
        for slot in range(self._size):
            count = counts[slot]
            if count:
                digest = bytes(digests[_DIGEST * slot : _DIGEST * (slot + 1)])
                yield digest, count if count < _MANY else self._more[digest]

    def __len__(self) -> int:
        return self._used


__all__ = ["ContentCounts", "slot_of"]
