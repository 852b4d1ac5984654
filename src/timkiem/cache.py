"""Small caches: a thread-safe least-recently-used one, and a memo that forgets
everything at once when full."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """At most ``size`` entries; the least recently used goes first (0: keeps nothing)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Memo(Generic[K, V]):
    """Values worth remembering, up to about ``size`` of them: when full, all are
    forgotten at once. No order is kept, so a look-up is one dict read and needs
    no lock (a value two threads compute at once is stored twice, harmlessly)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self.update({key: value})

    def update(self, items: Mapping[K, V]) -> None:
        """Remember ``items``, first forgetting everything if the memo is full."""
        if len(self._items) >= self.size:
            self._items.clear()
        self._items.update(items)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
