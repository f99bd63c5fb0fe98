"""The explorer's bounded resources: a gate on concurrent computations and LRU caches.

Each waiting request holds a server thread and each computation a few hundred megabytes at
most, so both are bounded here; :class:`~vidquant.apps.explore.Explorer` routes all heavy work
through a :class:`Gate` and keeps results in :class:`Lru` caches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from vidquant.apps.explore.types import Busy

V = TypeVar("V")


class Skipped(Exception):
    """A background computation left out: every slot is taken or a request waits for one."""


class Gate:
    """At most ``slots`` computations at a time, and at most ``queue`` callers waiting for a
    slot: one more gets :class:`Busy` at once, since each waiting request holds a thread and,
    once it runs, a picture's worth of memory. A computation started inside another (a frame
    read for a quantisation) runs in its caller's slot."""

    def __init__(self, slots: int, queue: int) -> None:
        self._slots = threading.Semaphore(slots)
        self._queue = queue
        self._lock = threading.Lock()
        self._local = threading.local()
        self.waiting = 0  # callers blocked on a slot now

    def run(self, compute: Callable[[], V], *, background: bool = False) -> V:
        """``compute()`` in a slot; ``background`` work raises :class:`Skipped` rather than
        take a slot a request waits for, or wait for one."""
        if getattr(self._local, "inside", False):
            return compute()
        with self._lock:
            if background and self.waiting:
                raise Skipped
            has_slot = self._slots.acquire(blocking=False)
            if background and not has_slot:
                raise Skipped
            if not has_slot:
                if self.waiting >= self._queue:
                    raise Busy(
                        f"busy: {self.waiting} request{'s' * (self.waiting != 1)} already "
                        "waiting for a computation; try again in a moment"
                    )
                self.waiting += 1
        if not has_slot:
            try:
                self._slots.acquire()
            finally:
                with self._lock:
                    self.waiting -= 1
        self._local.inside = True
        try:
            return compute()
        finally:
            self._local.inside = False
            self._slots.release()


class Lru:
    """A bounded least-recently-used cache that computes each missing value once, even when
    several threads ask for it together: the first computes, the others wait for its value."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def peek(self, key: Hashable) -> Any:
        """The value for ``key``, or None; its place in the order is left as it is."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, key: Hashable, compute: Callable[[], V]) -> tuple[V, bool]:
        """The value for ``key`` and whether it was cached; ``compute`` makes a missing one."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key], True
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:  # computed by the thread this one waited for
                    self._items.move_to_end(key)
                    return self._items[key], True
            try:
                value = compute()
                self.put(key, value)  # before the key's lock goes: a newcomer finds the value
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            return value, False
