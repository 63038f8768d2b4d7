"""A few results kept by key, the oldest dropped first, shared safely between threads.

The returns reader keeps what forms issued together share (their unpacked parts, the parts
that passed their checks, the parsed workbook list and stylesheet dates) so that a second form
of the same issue is not unpacked and parsed again. The web service reads uploads on a pool of
threads in one process: two threads dropping the same oldest entry at once must not turn a good
upload into a refusal, so adding and dropping happen under a lock. Reading is one dictionary
lookup, which needs none.
"""

from __future__ import annotations

import threading
import weakref
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Kept(Generic[K, V]):
    """At most ``size`` values by key; adding one more drops the one added first."""

    __slots__ = ("__weakref__", "_items", "_lock", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()
        _EVERY.add(self)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key`` and give it back."""
        with self._lock:
            if key not in self._items:
                while len(self._items) >= self._size:
                    del self._items[next(iter(self._items))]
            self._items[key] = value
        return value


_EVERY: weakref.WeakSet[Kept[object, object]] = weakref.WeakSet()


def forget_all() -> None:
    """Drop what every Kept holds, so that files read again are read as a new process reads
    them (a benchmark's rounds: a part kept from the round before is not unpacked or checked
    again, which no import of files it has not seen enjoys)."""
    for kept in list(_EVERY):
        with kept._lock:
            kept._items.clear()
